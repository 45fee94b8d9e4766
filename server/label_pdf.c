/*
 * label_pdf.c - the PDF canvas: libharu pages, text in the embedded font
 * subset, barcodes as filled rectangles.  The only user of hpdf.h.
 *
 * See label.h for the API and label_draw.c for the walk that calls it.
 * Each document is walked twice: a first pass (text_only) only collects the
 * code points every page will draw, the font subset is cut from that set
 * (one subset for the whole batch), and the second pass draws.
 *
 * Barcodes are libzint's module grids drawn as filled rectangles (a greedy
 * cover of the dark modules), in a coordinate system scaled to one module,
 * so the content stream holds small integers.  A rotated zone is a
 * quarter-turned coordinate system (text included).
 *
 * The PDF holds no personal data beyond the masked text drawn: Producer and
 * Creator are "waybill", there is no title, author, date, link or action.
 */
#include "common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <hpdf.h>
#include <zint.h>

#include "font.h"
#include "label.h"
#include "label_int.h"
#include "log.h"

struct pdf_canvas {
	struct canvas c;
	struct font_cps *cps;
	HPDF_Doc pdf;
	HPDF_Page page;
	HPDF_Font font;
	HPDF_STATUS hpdf_err;
	double fh; /* mm: the frame's height, pdf_y()'s origin */
	char utf8[(RUN_MAX + 1) * 3 + 4];
};

#define PC(c) ((struct pdf_canvas *)(c))

/* Encode BMP code points (all a run holds: run_put() keeps only what the
 * font has) as UTF-8 into out (room for 3 * n + 1 bytes). */
static void utf8_put(const uint32_t *cp, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += utf8_encode(cp[i] < 0x10000 ? cp[i] : FALLBACK, out + o);
	out[o] = '\0';
}

static double pdf_x(double mm)
{
	return mm * MM_PT;
}

static double pdf_y(const struct pdf_canvas *p, double mm)
{
	return (p->fh - mm) * MM_PT;
}

static void pdf_page(struct canvas *c)
{
	struct pdf_canvas *p = PC(c);

	p->fh = c->t->h;
	if (c->text_only)
		return;
	p->page = HPDF_AddPage(p->pdf);
	if (!p->page) {
		label_canvas_fail(c, ST_NOMEM);
		return;
	}
	HPDF_Page_SetWidth(p->page, (HPDF_REAL)(c->t->w * MM_PT));
	HPDF_Page_SetHeight(p->page, (HPDF_REAL)(c->t->h * MM_PT));
}

static void pdf_rules(struct canvas *c, const struct box *b, size_t n, double lw)
{
	struct pdf_canvas *p = PC(c);

	HPDF_Page_SetLineWidth(p->page, (HPDF_REAL)(lw * MM_PT));
	for (size_t i = 0; i < n; i++)
		HPDF_Page_Rectangle(p->page, (HPDF_REAL)pdf_x(b[i].x),
				    (HPDF_REAL)pdf_y(p, b[i].y + b[i].h),
				    (HPDF_REAL)(b[i].w * MM_PT), (HPDF_REAL)(b[i].h * MM_PT));
	if (n)
		HPDF_Page_Stroke(p->page);
}

static void pdf_frame(struct canvas *c, const struct zone *z)
{
	struct pdf_canvas *p = PC(c);

	if (!z) {
		if (!c->text_only)
			HPDF_Page_GRestore(p->page);
		p->fh = c->t->h;
		return;
	}
	p->fh = z->w;
	if (c->text_only)
		return;
	/* frame point (X, Y) in pt, bottom-left origin -> page point */
	HPDF_Page_GSave(p->page);
	if (z->rotate == 90)
		HPDF_Page_Concat(p->page, 0, 1, -1, 0, (HPDF_REAL)((z->x + z->w) * MM_PT),
				 (HPDF_REAL)((c->t->h - z->y - z->h) * MM_PT));
	else
		HPDF_Page_Concat(p->page, 0, -1, 1, 0, (HPDF_REAL)(z->x * MM_PT),
				 (HPDF_REAL)((c->t->h - z->y) * MM_PT));
}

static void pdf_text(struct canvas *c, const uint32_t *cp, size_t n, double x, double base,
		     double size, bool bold, bool white)
{
	struct pdf_canvas *p = PC(c);

	if (c->text_only) {
		for (size_t i = 0; i < n; i++)
			font_cps_add(p->cps, cp[i]);
		return;
	}
	utf8_put(cp, n, p->utf8);
	if (white)
		HPDF_Page_SetGrayFill(p->page, 1);
	if (bold) {
		HPDF_Page_SetTextRenderingMode(p->page, HPDF_FILL_THEN_STROKE);
		HPDF_Page_SetLineWidth(p->page, size * BOLD_STROKE);
	}
	HPDF_Page_BeginText(p->page);
	HPDF_Page_SetFontAndSize(p->page, p->font, size);
	HPDF_Page_TextOut(p->page, pdf_x(x), pdf_y(p, base), p->utf8);
	HPDF_Page_EndText(p->page);
	if (bold)
		HPDF_Page_SetTextRenderingMode(p->page, HPDF_FILL);
	if (white)
		HPDF_Page_SetGrayFill(p->page, 0);
}

static void pdf_fill(struct canvas *c, double x, double y, double w, double h)
{
	struct pdf_canvas *p = PC(c);

	HPDF_Page_Rectangle(p->page, pdf_x(x), pdf_y(p, y + h), w * MM_PT, h * MM_PT);
	HPDF_Page_Fill(p->page);
}

static bool module_dark(const struct zint_symbol *s, int row, int x)
{
	return s->encoded_data[row][x >> 3] >> (x & 7) & 1;
}

/*
 * Fill zint's grid of dark modules with as few rectangles as a greedy cover
 * gives (each rectangle costs libharu real work): from each dark module not
 * yet covered, take the longest run to the right, then grow it down while
 * the rows below are dark and uncovered across the same width.  Drawn in a
 * coordinate system of one module (Code 128: one bar height), so the
 * content stream holds small integers.
 */
static void pdf_modules(struct canvas *c, const struct zint_symbol *s, double x_mm, double y_mm,
			double mod_w, double mod_h, bool one_row)
{
	struct pdf_canvas *p = PC(c);
	int rows = one_row ? 1 : s->rows, w = s->width;
	unsigned char *done = calloc((size_t)rows * (size_t)w, 1);

	if (!done) {
		label_canvas_fail(c, ST_NOMEM);
		return;
	}
	HPDF_Page_GSave(p->page);
	HPDF_Page_Concat(p->page, (HPDF_REAL)(mod_w * MM_PT), 0, 0, (HPDF_REAL)(mod_h * MM_PT),
			 (HPDF_REAL)pdf_x(x_mm), (HPDF_REAL)pdf_y(p, y_mm + rows * mod_h));
	for (int row = 0; row < rows; row++) {
		for (int x = 0; x < w; x++) {
			if (done[row * w + x] || !module_dark(s, row, x))
				continue;
			int x1 = x, y1 = row + 1;
			while (x1 < w && !done[row * w + x1] && module_dark(s, row, x1))
				x1++;
			for (bool full = true; full && y1 < rows; y1 += full) {
				for (int k = x; k < x1 && full; k++)
					full = !done[y1 * w + k] && module_dark(s, y1, k);
			}
			for (int y = row; y < y1; y++)
				memset(done + y * w + x, 1, (size_t)(x1 - x));
			HPDF_Page_Rectangle(p->page, (HPDF_REAL)x, (HPDF_REAL)(rows - y1),
					    (HPDF_REAL)(x1 - x), (HPDF_REAL)(y1 - row));
			x = x1 - 1;
		}
	}
	HPDF_Page_Fill(p->page);
	HPDF_Page_GRestore(p->page);
	free(done);
}

static const struct canvas_ops pdf_ops = {
    .page = pdf_page,
    .rules = pdf_rules,
    .frame = pdf_frame,
    .text = pdf_text,
    .fill = pdf_fill,
    .modules = pdf_modules,
};

static void hpdf_on_error(HPDF_STATUS err, HPDF_STATUS detail, void *user)
{
	struct pdf_canvas *p = user;

	/* The codes are libharu's (hpdf_error.h); no text reaches the log. */
	if (!p->hpdf_err) {
		p->hpdf_err = err;
		log_error("label: libharu error 0x%04lX (detail %lu)", (unsigned long)err,
			  (unsigned long)detail);
		label_canvas_fail(&p->c, err == HPDF_FAILD_TO_ALLOC_MEM ? ST_NOMEM : ST_INTERNAL);
	}
}

static enum st pdf_take(struct pdf_canvas *p, unsigned char **pdf, size_t *len)
{
	HPDF_UINT32 size, got = 0;
	unsigned char *buf;

	if (HPDF_SaveToStream(p->pdf) != HPDF_OK)
		return p->hpdf_err == HPDF_FAILD_TO_ALLOC_MEM ? ST_NOMEM : ST_INTERNAL;
	size = HPDF_GetStreamSize(p->pdf);
	if (size == 0)
		return ST_INTERNAL;
	buf = malloc(size);
	if (!buf)
		return ST_NOMEM;
	while (got < size) {
		HPDF_UINT32 n = size - got;
		HPDF_STATUS s = HPDF_ReadFromStream(p->pdf, buf + got, &n);
		got += n;
		if (s == HPDF_STREAM_EOF || n == 0)
			break;
		if (s != HPDF_OK) {
			free(buf);
			return ST_INTERNAL;
		}
	}
	if (got != size) {
		free(buf);
		return ST_INTERNAL;
	}
	*pdf = buf;
	*len = size;
	return ST_OK;
}

enum st label_pdf_render(const struct label_ctx *ctx, const struct label_tmpl *t,
			 const struct label_fields *pages, size_t npages, unsigned char **pdf,
			 size_t *len, struct label_trace *trace)
{
	struct pdf_canvas *p = calloc(1, sizeof(*p));
	enum st st = ST_OK;
	int fd = -1;
	char path[32];

	if (!p)
		return ST_NOMEM;
	p->c = (struct canvas){.ops = &pdf_ops, .ctx = ctx, .t = t, .dot = DOT_MM};
	p->cps = calloc(1, sizeof(*p->cps));
	if (!p->cps) {
		st = ST_NOMEM;
		goto out;
	}

	/* Pass 1: every code point any page will draw, for one subset. */
	p->c.text_only = true;
	font_cps_add(p->cps, ctx->fallback);
	st = label_draw_pages(&p->c, pages, npages, NULL);
	if (st != ST_OK)
		goto out;
	st = font_subset_fd(ctx->font, p->cps, &fd, NULL);
	if (st != ST_OK)
		goto out;

	p->pdf = HPDF_New(hpdf_on_error, p);
	if (!p->pdf) {
		st = ST_NOMEM;
		goto out;
	}
	HPDF_SetCompressionMode(p->pdf, HPDF_COMP_ALL);
	HPDF_SetInfoAttr(p->pdf, HPDF_INFO_PRODUCER, "waybill");
	HPDF_SetInfoAttr(p->pdf, HPDF_INFO_CREATOR, "waybill");
	HPDF_UseUTFEncodings(p->pdf);
	HPDF_SetCurrentEncoder(p->pdf, "UTF-8");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	const char *name = HPDF_LoadTTFontFromFile(p->pdf, path, HPDF_TRUE);
	p->font = name ? HPDF_GetFont(p->pdf, name, "UTF-8") : NULL;
	if (!p->font || p->hpdf_err) {
		st = p->hpdf_err == HPDF_FAILD_TO_ALLOC_MEM ? ST_NOMEM : ST_INTERNAL;
		goto out;
	}

	/* Pass 2: draw. */
	p->c.text_only = false;
	st = label_draw_pages(&p->c, pages, npages, trace);
	if (st != ST_OK)
		goto out;
	st = pdf_take(p, pdf, len);
out:
	if (p->pdf)
		HPDF_Free(p->pdf);
	free(p->cps);
	free(p);
	if (fd >= 0)
		close(fd);
	return st;
}
