/*
 * label_sample.c - render sample labels from fixture orders, without the
 * daemon, in any format and dpi.
 *
 *   label_sample [-v] [-S] [-s SIZE] [-F pdf|png|zpl|tspl] [-d 203|300]
 *                [-i FIRST] [-n COUNT] [-t TEMPLATES] [-f FONT] [-o OUT]
 *                [FIXTURES.jsonl]
 *
 * Takes COUNT orders from line FIRST (0-based) of the fixtures
 * (tests/data/orders.jsonl), masks them as the daemon does (mask.c), gives
 * each a made-up tracking number and virtual number (and with -S a made-up
 * sort code, hub name and hub code), and renders them through
 * label_render_to(): one PDF, ZPL or TSPL document with a label per order,
 * or for PNG one image per order (COUNT > 1: OUT is a prefix, the files are
 * OUT0000.png, OUT0001.png ... by position).  `make docs` uses it for
 * docs/label-*.png.  With -v it prints, per label, the tracking number, the
 * masked recipient name and phone, the sort code and the destination's
 * district (tab-separated): what the label should show.
 *
 * test_label.c includes this file (with LABEL_SAMPLE_NO_MAIN) for the same
 * fixture helpers.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "label.h"
#include "mask.h"
#include "order.h"

#define SAMPLE_FONT "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#define SAMPLE_FIXTURES "tests/data/orders.jsonl"
#define SAMPLE_TEMPLATES "templates"

/* The raw order as the fixture has it (what the label must not show). */
struct sample_party {
	char name[160], phone[40], e164[24];
	char province[132], city[132], district[132], address[520];
};
struct sample_order {
	struct sample_party sndr, rcpt;
	int weight_g, count;
};

/* Phones to E.164 for mask_phone(), exactly as order.c stores them. */
static bool sample_phone_e164(const char *raw, char out[24])
{
	char e164[PHONE_E164_MAX];

	if (phone_normalize(raw, e164) != ST_OK)
		return false;
	snprintf(out, 24, "%s", e164);
	return true;
}

static bool sample_str(const cJSON *obj, const char *key, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= len)
		return false;
	snprintf(out, len, "%s", v->valuestring);
	return true;
}

static bool sample_party_parse(const cJSON *obj, struct sample_party *p)
{
	return sample_str(obj, "name", p->name, sizeof(p->name)) &&
	       sample_str(obj, "phone", p->phone, sizeof(p->phone)) &&
	       sample_str(obj, "province", p->province, sizeof(p->province)) &&
	       sample_str(obj, "city", p->city, sizeof(p->city)) &&
	       sample_str(obj, "district", p->district, sizeof(p->district)) &&
	       sample_str(obj, "address", p->address, sizeof(p->address)) &&
	       sample_phone_e164(p->phone, p->e164);
}

/* Read all orders of a JSON-lines file; *n gets their number. */
static struct sample_order *sample_load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	struct sample_order *v = NULL;
	size_t cap = 0;
	char *line = NULL;
	size_t linecap = 0;

	*n = 0;
	if (!f)
		return NULL;
	while (getline(&line, &linecap, f) > 0) {
		cJSON *j = cJSON_Parse(line);
		if (!j)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 512;
			struct sample_order *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				cJSON_Delete(j);
				break;
			}
			v = nv;
		}
		struct sample_order *o = &v[*n];
		memset(o, 0, sizeof(*o));
		const cJSON *parcel = cJSON_GetObjectItemCaseSensitive(j, "parcel");
		const cJSON *w = cJSON_GetObjectItemCaseSensitive(parcel, "weight_g");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(parcel, "count");
		o->weight_g = cJSON_IsNumber(w) ? w->valueint : 0;
		o->count = cJSON_IsNumber(c) ? c->valueint : 1;
		if (sample_party_parse(cJSON_GetObjectItemCaseSensitive(j, "sender"), &o->sndr) &&
		    sample_party_parse(cJSON_GetObjectItemCaseSensitive(j, "recipient"),
				       &o->rcpt) &&
		    o->weight_g > 0)
			(*n)++;
		cJSON_Delete(j);
	}
	free(line);
	fclose(f);
	return v;
}

/* "WB" + 16 digits + ISO 7064 MOD 97-10 check digits, made from seed. */
static void sample_tracking_no(unsigned long seed, char out[LABEL_TN_MAX])
{
	char d[17];
	unsigned long long x = 6364136223846793005ULL * (seed + 1) + 1442695040888963407ULL;
	unsigned rem = 0;

	for (int i = 0; i < 16; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		d[i] = (char)('0' + (x >> 33) % 10);
	}
	d[16] = '\0';
	for (int i = 0; i < 16; i++)
		rem = (rem * 10 + (unsigned)(d[i] - '0')) % 97;
	rem = (rem * 100) % 97;
	snprintf(out, LABEL_TN_MAX, "WB%s%02u", d, 98 - rem);
}

static void sample_region(const struct sample_party *p, struct label_region *g)
{
	snprintf(g->province, sizeof(g->province), "%s", p->province);
	snprintf(g->city, sizeof(g->city), "%s", p->city);
	snprintf(g->district, sizeof(g->district), "%s", p->district);
}

/* What the daemon would hand the renderer for this order. */
static void sample_fields(const struct sample_order *o, unsigned long seed, struct label_fields *f)
{
	memset(f, 0, sizeof(*f));
	sample_tracking_no(seed, f->tracking_no);
	sample_region(&o->rcpt, &f->dest);
	mask_name(o->rcpt.name, &f->rcpt_name);
	mask_phone(o->rcpt.e164, &f->rcpt_phone);
	mask_address(o->rcpt.address, &f->rcpt_address);
	snprintf(f->vnum, sizeof(f->vnum), "170%08lu", 1234 + seed * 7919 % 100000000);
	snprintf(f->ext, sizeof(f->ext), "%04lu", (seed * 37 + 42) % 10000);
	mask_name(o->sndr.name, &f->sndr_name);
	mask_phone(o->sndr.e164, &f->sndr_phone);
	sample_region(&o->sndr, &f->sndr);
	f->weight_g = o->weight_g;
	f->count = o->count > 0 ? o->count : 1;
}

/* A made-up routing answer (-S): what the sort table would give. */
static void sample_sort(unsigned long seed, struct label_fields *f)
{
	static const char lanes[] = "ABCDEFGHJKLMNPQRSTUVWXYZ";

	snprintf(f->sort_code, sizeof(f->sort_code), "%03lu-%c%lu-%02lu", 200 + seed * 53 % 800,
		 lanes[seed % (sizeof(lanes) - 1)], seed / 7 % 9 + 1, seed * 31 % 100);
	int n = snprintf(f->hub_name, sizeof(f->hub_name), "%.80s转运中心", f->dest.city);
	if (n < 0 || (size_t)n >= sizeof(f->hub_name))
		snprintf(f->hub_name, sizeof(f->hub_name), "转运中心");
	snprintf(f->hub_code, sizeof(f->hub_code), "H%04lu", seed * 7 % 10000);
}

static enum st sample_write(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	enum st st = ST_OK;

	if (!f)
		return ST_IO;
	if (fwrite(buf, 1, len, f) != len)
		st = ST_IO;
	if (fclose(f) != 0)
		st = ST_IO;
	return st;
}

#ifndef LABEL_SAMPLE_NO_MAIN
static void usage(void)
{
	fprintf(stderr, "usage: label_sample [-v] [-S] [-s SIZE] [-F pdf|png|zpl|tspl] "
			"[-d 203|300] [-i FIRST] [-n COUNT] [-t TEMPLATES] [-f FONT] [-o OUT] "
			"[FIXTURES.jsonl]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *size = LABEL_DEFAULT_SIZE, *tdir = SAMPLE_TEMPLATES, *font = SAMPLE_FONT;
	const char *outp = "label.pdf", *fixtures = SAMPLE_FIXTURES;
	long first = 0, count = 1, dpi = LABEL_DPI_DEFAULT;
	bool verbose = false, sort = false;
	enum label_format format = LABEL_PDF;
	char err[512];
	struct label_ctx *ctx = NULL;
	struct sample_order *orders = NULL;
	struct label_fields *pages = NULL;
	unsigned char *pdf = NULL;
	size_t norders = 0, len = 0;
	enum st st;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-') {
			fixtures = a;
			continue;
		}
		if (strcmp(a, "-v") == 0) {
			verbose = true;
			continue;
		}
		if (strcmp(a, "-S") == 0) {
			sort = true;
			continue;
		}
		if (i + 1 == argc || a[2] != '\0')
			usage();
		const char *v = argv[++i];
		switch (a[1]) {
		case 's':
			size = v;
			break;
		case 't':
			tdir = v;
			break;
		case 'f':
			font = v;
			break;
		case 'o':
			outp = v;
			break;
		case 'i':
			first = strtol(v, NULL, 10);
			break;
		case 'n':
			count = strtol(v, NULL, 10);
			break;
		case 'd':
			dpi = strtol(v, NULL, 10);
			break;
		case 'F':
			if (!label_format_parse(v, &format))
				usage();
			break;
		default:
			usage();
		}
	}
	st = label_ctx_new(tdir, font, &ctx, err, sizeof(err));
	if (st != ST_OK) {
		fprintf(stderr, "label_sample: %s\n", err);
		goto out;
	}
	const struct label_tmpl *t = label_tmpl_find(ctx, size);
	if (!t) {
		fprintf(stderr, "label_sample: no template for size %s\n", size);
		goto out;
	}
	orders = sample_load(fixtures, &norders);
	if (!orders || first < 0 || count < 1 || count > LABEL_MAX_PAGES ||
	    (size_t)(first + count) > norders) {
		fprintf(stderr, "label_sample: %s: cannot take %ld orders from %ld (%zu there)\n",
			fixtures, count, first, norders);
		goto out;
	}
	pages = calloc((size_t)count, sizeof(*pages));
	if (!pages)
		goto out;
	for (long i = 0; i < count; i++) {
		sample_fields(&orders[first + i], (unsigned long)(first + i), &pages[i]);
		if (sort)
			sample_sort((unsigned long)(first + i), &pages[i]);
	}
	/* PNG: an image per label; the others: one document. */
	size_t per = format == LABEL_PNG ? 1 : (size_t)count;
	for (size_t i = 0; i < (size_t)count; i += per) {
		char path[4096];
		if (per == 1 && count > 1)
			snprintf(path, sizeof(path), "%s%04zu.png", outp, i);
		else
			snprintf(path, sizeof(path), "%s", outp);
		st = label_render_to(ctx, t, format, (int)dpi, pages + i, per, &pdf, &len);
		if (st != ST_OK) {
			fprintf(stderr, "label_sample: render %s at %ld dpi: %s\n",
				label_format_name(format), dpi, st_name(st));
			goto out;
		}
		if (sample_write(path, pdf, len) != ST_OK) {
			fprintf(stderr, "label_sample: %s: %s\n", path, strerror(errno));
			goto out;
		}
		free(pdf);
		pdf = NULL;
	}
	for (long i = 0; verbose && i < count; i++)
		printf("%s\t%s\t%s\t%s\t%s\n", pages[i].tracking_no, pages[i].rcpt_name.s,
		       pages[i].rcpt_phone.s, pages[i].sort_code[0] ? pages[i].sort_code : "-",
		       pages[i].dest.district);
	rc = 0;
out:
	free(pdf);
	free(pages);
	free(orders);
	label_ctx_free(ctx);
	return rc;
}
#endif
