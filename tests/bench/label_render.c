/*
 * label_render.c - the renderer's own ceiling for `make bench`: fixture
 * labels rendered in-process (no HTTP, no storage) on the calling thread
 * (a raster batch of 16 or more is cut into parts on up to 4 threads).
 *
 *   label_render SECONDS   prints "single RATE BYTES" and "batch RATE BYTES_PER_PAGE"
 *                          (PDF), then the same for ZPL and PNG at 203 dpi
 *                          ("zpl-single", "zpl-batch", "png-single")
 *   label_render SECONDS NAME   only the run called NAME (for a profiler)
 */
#define LABEL_SAMPLE_NO_MAIN 1
#include "../unit/label_sample.c"

#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *only; /* the one run to make, or all */

/* Render docs of npages each for secs; labels per second and bytes per label. */
static void run(const struct label_ctx *ctx, const struct label_tmpl *t,
		const struct label_fields *all, size_t nall, size_t npages, double secs,
		enum label_format format, const char *name)
{
	double t0, t1;
	size_t labels = 0, bytes = 0, at = 0;

	if (only && strcmp(only, name) != 0)
		return;
	t0 = now();

	do {
		unsigned char *pdf = NULL;
		size_t len = 0;

		if (at + npages > nall)
			at = 0;
		if (label_render_to(ctx, t, format, 203, all + at, npages, &pdf, &len) != ST_OK) {
			fprintf(stderr, "label_render: render failed\n");
			exit(1);
		}
		free(pdf);
		labels += npages;
		bytes += len;
		at += npages;
		t1 = now();
	} while (t1 - t0 < secs);
	printf("%s %.0f %.0f\n", name, (double)labels / (t1 - t0), (double)bytes / (double)labels);
}

int main(int argc, char **argv)
{
	struct label_ctx *ctx = NULL;
	struct sample_order *orders;
	struct label_fields *pages;
	size_t n = 0;
	char err[512];
	double secs = argc > 1 ? atof(argv[1]) : 3;
	only = argc > 2 ? argv[2] : NULL;
	(void)sample_write; /* the shared helpers include ones we do not need */
	(void)sample_sort;
	const struct label_tmpl *t;

	if (label_ctx_new(SAMPLE_TEMPLATES, SAMPLE_FONT, &ctx, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "label_render: %s\n", err);
		return 1;
	}
	t = label_tmpl_find(ctx, NULL);
	orders = sample_load(SAMPLE_FIXTURES, &n);
	if (!orders || n < 100)
		return 1;
	pages = calloc(n, sizeof(*pages));
	for (size_t i = 0; i < n; i++)
		sample_fields(&orders[i], (unsigned long)i, &pages[i]);
	run(ctx, t, pages, n, 1, secs, LABEL_PDF, "single");
	run(ctx, t, pages, n, 100, secs, LABEL_PDF, "batch");
	run(ctx, t, pages, n, 1, secs, LABEL_ZPL, "zpl-single");
	run(ctx, t, pages, n, 100, secs, LABEL_ZPL, "zpl-batch");
	run(ctx, t, pages, n, 1, secs, LABEL_PNG, "png-single");
	free(pages);
	free(orders);
	label_ctx_free(ctx);
	return 0;
}
