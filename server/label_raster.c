/*
 * label_raster.c - the raster canvas: one label as a 1-bit image at a
 * thermal printer's 203 or 300 dpi, drawn from the same walk as the PDF.
 *
 * Every length the walk gives (mm, on the page or in a rotated zone's
 * frame) is mapped to the page and rounded to the nearest dot edge, so a
 * barcode whose edges the walk put on the dot grid has every module a whole
 * number of dots, with no grey and no anti-aliasing anywhere.  Glyphs come
 * from label_ft.c (FreeType, 1-bit), each placed at its own pen position
 * (font.c's advances, as the PDF measures them) rounded to a dot; in a
 * rotated zone the glyph bitmaps are turned a quarter, dot for dot.
 */
#include "common.h"

#include <math.h>
#include <stdlib.h>

#include <zint.h>

#include "font.h"
#include "label.h"
#include "label_int.h"

struct raster_canvas {
	struct canvas c;
	struct raster *r;
	struct label_ft_face *face;
	int rot;
	const struct zone *fz;
};

#define RC(c) ((struct raster_canvas *)(c))

static void dot_set(struct raster *r, int x, int y, bool ink)
{
	if (x < 0 || y < 0 || x >= r->w || y >= r->h)
		return;
	unsigned char *b = r->bits + (size_t)y * r->stride + (size_t)(x >> 3);
	unsigned char m = (unsigned char)(0x80 >> (x & 7));
	*b = ink ? (unsigned char)(*b | m) : (unsigned char)(*b & ~m);
}

/* Dots [x0, x1) x [y0, y1) of the page, clipped; a byte at a time. */
static void dots_fill(struct raster *r, int x0, int y0, int x1, int y1, bool ink)
{
	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > r->w ? r->w : x1;
	y1 = y1 > r->h ? r->h : y1;
	if (x0 >= x1)
		return;
	int b0 = x0 >> 3, b1 = (x1 - 1) >> 3;
	unsigned char m0 = (unsigned char)(0xff >> (x0 & 7));
	unsigned char m1 = (unsigned char)(0xff << (7 - ((x1 - 1) & 7)));
	if (b0 == b1)
		m0 = m1 = (unsigned char)(m0 & m1);
	for (int y = y0; y < y1; y++) {
		unsigned char *row = r->bits + (size_t)y * r->stride;
		if (ink) {
			row[b0] |= m0;
			row[b1] |= m1;
		} else {
			row[b0] &= (unsigned char)~m0;
			row[b1] &= (unsigned char)~m1;
		}
		if (b1 > b0 + 1)
			memset(row + b0 + 1, ink ? 0xff : 0, (size_t)(b1 - b0 - 1));
	}
}

/* An upright glyph's rows ORed (or cleared) into the page at dot x, y. */
static void glyph_blit(struct raster *r, const struct label_glyph *g, int x, int y, bool ink)
{
	int sh = x & 7;

	if (x < 0 || x + g->w > r->w) {
		for (int gy = 0; gy < g->h; gy++)
			for (int gx = 0; gx < g->w; gx++)
				if (g->bits[(size_t)gy * (size_t)g->pitch + (size_t)(gx >> 3)] &
				    (0x80 >> (gx & 7)))
					dot_set(r, x + gx, y + gy, ink);
		return;
	}
	for (int gy = 0; gy < g->h; gy++) {
		if (y + gy < 0 || y + gy >= r->h)
			continue;
		const unsigned char *src = g->bits + (size_t)gy * (size_t)g->pitch;
		unsigned char *dst = r->bits + (size_t)(y + gy) * r->stride + (size_t)(x >> 3);
		size_t room = r->stride - (size_t)(x >> 3);
		for (int b = 0; b < g->pitch; b++) {
			unsigned v = (unsigned)src[b] << (8 - sh);
			unsigned char hi = (unsigned char)(v >> 8), lo = (unsigned char)v;
			if (ink) {
				dst[b] |= hi;
				if ((size_t)b + 1 < room)
					dst[b + 1] |= lo;
			} else {
				dst[b] &= (unsigned char)~hi;
				if ((size_t)b + 1 < room)
					dst[b + 1] &= (unsigned char)~lo;
			}
		}
	}
}

static int to_dot(const struct canvas *c, double mm)
{
	return (int)lround(mm / c->dot);
}

/* A box of the current frame, in page dots. */
static void frame_fill(struct raster_canvas *rc, double x, double y, double w, double h, bool ink)
{
	double ax, ay, bx, by;

	label_frame_to_page(rc->fz, rc->rot, x, y, &ax, &ay);
	label_frame_to_page(rc->fz, rc->rot, x + w, y + h, &bx, &by);
	dots_fill(rc->r, to_dot(&rc->c, fmin(ax, bx)), to_dot(&rc->c, fmin(ay, by)),
		  to_dot(&rc->c, fmax(ax, bx)), to_dot(&rc->c, fmax(ay, by)), ink);
}

static void raster_page(struct canvas *c)
{
	/* the image is cleared when it is made: one page per raster */
}

static void raster_rules(struct canvas *c, const struct box *b, size_t n, double lw)
{
	struct raster *r = RC(c)->r;

	for (size_t i = 0; i < n; i++) {
		int ox0 = to_dot(c, b[i].x - lw / 2), oy0 = to_dot(c, b[i].y - lw / 2);
		int ox1 = to_dot(c, b[i].x + b[i].w + lw / 2);
		int oy1 = to_dot(c, b[i].y + b[i].h + lw / 2);
		int t = to_dot(c, lw) < 1 ? 1 : to_dot(c, lw);
		dots_fill(r, ox0, oy0, ox1, oy0 + t, true);
		dots_fill(r, ox0, oy1 - t, ox1, oy1, true);
		dots_fill(r, ox0, oy0, ox0 + t, oy1, true);
		dots_fill(r, ox1 - t, oy0, ox1, oy1, true);
	}
}

static void raster_frame(struct canvas *c, const struct zone *z)
{
	RC(c)->fz = z;
	RC(c)->rot = z ? z->rotate : 0;
}

static void raster_text(struct canvas *c, const uint32_t *cp, size_t n, double x, double base,
			double size, bool bold, bool white)
{
	struct raster_canvas *rc = RC(c);
	struct raster *r = rc->r;
	double pen = x;

	for (size_t i = 0; i < n; i++) {
		struct label_glyph g;
		double px, py;
		if (label_ft_glyph(rc->face, cp[i], size, r->dpi, bold, &g)) {
			label_frame_to_page(rc->fz, rc->rot, pen, base, &px, &py);
			int ox = to_dot(c, px), oy = to_dot(c, py);
			if (rc->rot == 0) {
				glyph_blit(r, &g, ox + g.left, oy - g.top, !white);
				pen += font_advance(c->ctx->font, cp[i]) * size / 1000.0 / MM_PT;
				continue;
			}
			for (int gy = 0; gy < g.h; gy++) {
				const unsigned char *row = g.bits + (size_t)gy * (size_t)g.pitch;
				for (int gx = 0; gx < g.w; gx++) {
					if (!(row[gx >> 3] & (0x80 >> (gx & 7))))
						continue;
					int dx = g.left + gx, dy = gy - g.top;
					if (rc->rot == 90)
						dot_set(r, ox + dy, oy - dx - 1, !white);
					else if (rc->rot == 270)
						dot_set(r, ox - dy - 1, oy + dx, !white);
					else
						dot_set(r, ox + dx, oy + dy, !white);
				}
			}
		}
		pen += font_advance(c->ctx->font, cp[i]) * size / 1000.0 / MM_PT;
	}
}

static void raster_fill(struct canvas *c, double x, double y, double w, double h)
{
	frame_fill(RC(c), x, y, w, h, true);
}

static void raster_modules(struct canvas *c, const struct zint_symbol *s, double x, double y,
			   double mw, double mh, bool one_row)
{
	int rows = one_row ? 1 : s->rows;

	for (int row = 0; row < rows; row++)
		for (int m = 0; m < s->width; m++) {
			if (!(s->encoded_data[row][m >> 3] >> (m & 7) & 1))
				continue;
			int e = m;
			while (e < s->width && s->encoded_data[row][e >> 3] >> (e & 7) & 1)
				e++;
			frame_fill(RC(c), x + m * mw, y + row * mh, (e - m) * mw, mh, true);
			m = e - 1;
		}
}

static const struct canvas_ops raster_ops = {
    .page = raster_page,
    .rules = raster_rules,
    .frame = raster_frame,
    .text = raster_text,
    .fill = raster_fill,
    .modules = raster_modules,
};

void label_raster_release(struct raster *r)
{
	if (!r)
		return;
	free(r->bits);
	memset(r, 0, sizeof(*r));
}

enum st label_raster_render(const struct label_ctx *ctx, const struct label_tmpl *t, int dpi,
			    const struct label_fields *f, struct raster *out,
			    struct label_trace *trace)
{
	struct raster_canvas rc = {.r = out};
	enum st st;

	memset(out, 0, sizeof(*out));
	if (!label_dpi_ok(dpi) || !label_fields_ok(f))
		return ST_INVALID;
	out->dpi = dpi;
	out->w = (int)lround(t->w / 25.4 * dpi);
	out->h = (int)lround(t->h / 25.4 * dpi);
	out->stride = ((size_t)out->w + 7) / 8;
	out->bits = calloc((size_t)out->h, out->stride);
	if (!out->bits)
		return ST_NOMEM;
	rc.c = (struct canvas){.ops = &raster_ops, .ctx = ctx, .t = t, .dot = 25.4 / dpi};
	rc.face = label_ft_get(ctx->ft);
	if (!rc.face) {
		label_raster_release(out);
		return ST_NOMEM;
	}
	st = label_draw_pages(&rc.c, f, 1, trace);
	label_ft_put(ctx->ft, rc.face);
	if (st != ST_OK)
		label_raster_release(out);
	return st;
}
