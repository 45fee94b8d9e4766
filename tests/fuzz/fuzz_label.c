/*
 * fuzz_label.c - libFuzzer target for label.c: the template parser and the
 * renderer.  The input is
 *
 *   SIZE "\n" TEMPLATE-TEXT [ "\0" FIELD ( "\n" FIELD )* ]
 *
 * SIZE is the name the template file would have ("100x150"); the fields,
 * in order, are the recipient's name, phone and address, province, city,
 * district, the tracking number, virtual number, extension, the sender's
 * name and phone, weight and count as decimal numbers, and the sort code,
 * hub name and hub code (absent: none).  The personal
 * ones go through mask.c first, as every caller must.  The template is
 * parsed as tmpl_load does after reading a file; when fields are given,
 * one label is rendered with it (with the stock 100x150 when it was
 * refused), so inputs without fields stay fast.  The context (the real
 * templates and font) is built once.
 *
 * Besides memory errors it aborts when an invariant breaks:
 * - a refused template says why in one terminated line that names the file;
 * - an accepted one has a page in 20..400 mm, and every zone inside it;
 * - rendering answers ST_OK with a whole PDF ("%PDF-" ... "%%EOF") in
 *   which everything drawn lies inside its zone (the renderer's trace), or
 *   ST_INVALID for a field that cannot be printed: nothing else;
 * - the raster canvas prints at 203 dpi what the PDF printed (at 300 dpi
 *   it may refuse a number too long for the size), inside its zones too,
 *   and its ZPL is one ^XA..^XZ.
 */
#include "label.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_FONT "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#define FZ_TEMPLATES "templates"
#define FZ_FIELDS 16

static struct label_ctx *fz_ctx;

static void die(const char *why)
{
	fprintf(stderr, "invariant broken: %s\n", why);
	abort();
}

static void fz_setup(void)
{
	char err[512];

	if (fz_ctx)
		return;
	if (label_ctx_new(FZ_TEMPLATES, FZ_FONT, &fz_ctx, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "fuzz_label: run from the source tree: %s\n", err);
		abort();
	}
}

static int fz_int(const char *s, int def)
{
	char *end;
	long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < -1000000000L || v > 1000000000L)
		return def;
	return (int)v;
}

static void fz_fields(char *text, struct label_fields *f)
{
	const char *v[FZ_FIELDS] = {"张三",
				    "13812345678",
				    "科技园路1号",
				    "广东省",
				    "深圳市",
				    "南山区",
				    "WB1234567890123456",
				    "17000000001",
				    "0042",
				    "李四",
				    "+8613900000000",
				    "1200",
				    "1",
				    "",
				    "",
				    ""};

	for (int i = 0; text && i < FZ_FIELDS; i++) {
		char *nl = strchr(text, '\n');
		if (nl)
			*nl = '\0';
		v[i] = text;
		text = nl ? nl + 1 : NULL;
	}
	memset(f, 0, sizeof(*f));
	mask_name(v[0], &f->rcpt_name);
	mask_phone(v[1], &f->rcpt_phone);
	mask_address(v[2], &f->rcpt_address);
	str_copy(f->dest.province, sizeof(f->dest.province), v[3]);
	str_copy(f->dest.city, sizeof(f->dest.city), v[4]);
	str_copy(f->dest.district, sizeof(f->dest.district), v[5]);
	str_copy(f->tracking_no, sizeof(f->tracking_no), v[6]);
	str_copy(f->vnum, sizeof(f->vnum), v[7]);
	str_copy(f->ext, sizeof(f->ext), v[8]);
	mask_name(v[9], &f->sndr_name);
	mask_phone(v[10], &f->sndr_phone);
	str_copy(f->sndr.province, sizeof(f->sndr.province), v[3]);
	str_copy(f->sndr.city, sizeof(f->sndr.city), v[4]);
	f->weight_g = fz_int(v[11], 1200);
	f->count = fz_int(v[12], 1);
	str_copy(f->sort_code, sizeof(f->sort_code), v[13]);
	str_copy(f->hub_name, sizeof(f->hub_name), v[14]);
	str_copy(f->hub_code, sizeof(f->hub_code), v[15]);
}

static void fz_check_tmpl(const struct label_tmpl *t)
{
	if (t->w < 20 || t->w > 400 || t->h < 20 || t->h > 400)
		die("accepted page outside 20..400 mm");
	for (size_t i = 0; i < t->nzones; i++) {
		struct label_zone_info z;
		label_tmpl_zone(t, i, &z);
		if (z.x < 0 || z.y < 0 || z.w <= 0 || z.h <= 0 || z.x + z.w > t->w + 1e-6 ||
		    z.y + z.h > t->h + 1e-6)
			die("accepted zone outside the page");
	}
}

/* Everything drawn lies inside its zone, so no field spills over another or off the label. */
static void fz_check_trace(const struct label_tmpl *t, const struct label_trace *tr)
{
	const double eps = 1e-3; /* mm */
	size_t nz = label_tmpl_zone_count(t);

	for (size_t i = 0; i < tr->n; i++) {
		const struct label_item *it = &tr->items[i];
		struct label_zone_info z;

		if (it->page != 0 || it->zone >= nz)
			die("an item on no page or zone of the label");
		label_tmpl_zone(t, it->zone, &z);
		if (!(it->x0 >= z.x - eps && it->y0 >= z.y - eps && it->x1 <= z.x + z.w + eps &&
		      it->y1 <= z.y + z.h + eps && it->x0 <= it->x1 && it->y0 <= it->y1)) {
			fprintf(stderr, "item %zu (kind %d) outside zone %s\n", i, (int)it->kind,
				z.kind);
			die("an item drawn outside its zone");
		}
	}
}

static void fz_render(const struct label_tmpl *t, const struct label_fields *f)
{
	struct label_trace tr = {0};
	unsigned char *pdf = NULL;
	size_t len = 0;
	enum st st = label_render_trace(fz_ctx, t, f, 1, &pdf, &len, &tr);

	if (st == ST_INVALID) {
		label_trace_release(&tr);
		if (pdf)
			die("a refused render left a PDF");
		return;
	}
	if (st == ST_OK)
		fz_check_trace(t, &tr);
	label_trace_release(&tr);
	if (st != ST_OK)
		die("render answers neither ST_OK nor ST_INVALID");
	if (!pdf || len < 16 || memcmp(pdf, "%PDF-", 5) != 0)
		die("render output is not a PDF");
	{
		struct raster r;
		struct label_trace rt = {0};
		unsigned char *zpl = NULL;
		size_t zlen = 0;
		/* 203 dpi is the PDF's own dot grid: what it printed, the raster
		 * prints; 300 dpi has a wider narrow bar (5 dots), which a long
		 * number may not have room for */
		for (int dpi = 203; dpi <= 300; dpi += 97) {
			enum st rs = label_raster_render(fz_ctx, t, dpi, f, &r, &rt);
			if (rs != ST_OK && (dpi == 203 || rs != ST_INVALID))
				die("the raster canvas refused what the PDF printed");
			if (rs == ST_OK)
				fz_check_trace(t, &rt);
			label_trace_release(&rt);
			label_raster_release(&r);
		}
		if (label_render_to(fz_ctx, t, LABEL_ZPL, 203, f, 1, &zpl, &zlen) != ST_OK ||
		    zlen < 8 || memcmp(zpl, "^XA\n", 4) != 0 ||
		    memcmp(zpl + zlen - 4, "^XZ\n", 4) != 0)
			die("ZPL is not one ^XA..^XZ");
		free(zpl);
	}
	{
		size_t tail = len > 32 ? 32 : len;
		bool eof = false;
		for (size_t i = len - tail; i + 5 <= len; i++)
			eof |= memcmp(pdf + i, "%%EOF", 5) == 0;
		if (!eof)
			die("render output has no %%EOF at its end");
	}
	free(pdf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct label_tmpl *t = NULL;
	struct label_fields f;
	struct tmpl_src src;
	char err[512], *buf, *text, *fields = NULL, *nl;
	size_t tlen;
	enum st st;

	fz_setup();
	if (size > TMPL_FILE_MAX)
		return 0;
	buf = malloc(size + 1);
	t = calloc(1, sizeof(*t));
	if (!buf || !t)
		goto out;
	memcpy(buf, data, size);
	buf[size] = '\0';
	tlen = strlen(buf);
	if (tlen < size)
		fields = buf + tlen + 1;
	nl = strchr(buf, '\n');
	if (!nl)
		goto out;
	*nl = '\0';
	text = nl + 1;
	str_copy(t->size, sizeof(t->size), buf);
	src = (struct tmpl_src){"fuzz.tmpl", 0, err, sizeof(err)};
	memset(err, 0xa5, sizeof(err));
	st = tmpl_parse(fz_ctx, text, t, &src);
	if (st != ST_OK) {
		if (st != ST_INVALID)
			die("template parse answers neither ST_OK nor ST_INVALID");
		if (!memchr(err, '\0', sizeof(err)) || strncmp(err, "fuzz.tmpl", 9) != 0 ||
		    strchr(err, '\n'))
			die("template error is not one line naming the file");
		if (!fields)
			goto out;
		fz_fields(fields, &f);
		fz_render(label_tmpl_find(fz_ctx, NULL), &f);
		goto out;
	}
	fz_check_tmpl(t);
	if (!fields)
		goto out; /* rendering is most of the time: only when fields are given */
	fz_fields(fields, &f);
	fz_render(t, &f);
out:
	free(t);
	free(buf);
	return 0;
}
