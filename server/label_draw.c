/*
 * label_draw.c - drawing labels as PDF: libharu pages, libzint barcodes.
 *
 * The only user of hpdf.h.  See label.h for the API, label_layout.c for
 * the text layout it draws, label.c for the template format.
 *
 * Each document is rendered twice over the same code: a first pass only
 * collects the code points every page will draw, the font subset is cut
 * from that set (one subset for the whole batch), and the second pass draws.
 *
 * Barcodes are libzint's module grids drawn as filled rectangles (a greedy
 * cover of the dark modules), in a coordinate system scaled to one module,
 * so the content stream holds small integers.  Module sizes are whole
 * 203-dpi printer dots (0.125 mm), so bars print evenly on a thermal
 * printer: the Code 128 narrow bar is the template's module rounded to
 * dots, lowered (never below 3 dots = 0.375 mm) when a longer tracking
 * number would not fit its zone with 10-module quiet zones, and refused
 * (ST_INVALID) when it does not fit even so; the QR module is the largest
 * whole-dot size that fits the zone with its 4-module quiet zone.  A
 * rotated tracking zone is drawn in its own frame (a quarter-turned
 * coordinate system, text included), with the bar edges still on the page's
 * dot grid.  On a thermal printer such bars lie across the feed direction
 * ("ladder"), where heat history blurs them more than along it: where a
 * layout can spare the length, give those zones the room for 4-dot (0.5 mm)
 * modules (module=0.5: about 105 mm for a 4-letter prefix).
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

#include "buf.h"
#include "font.h"
#include "label.h"
#include "label_int.h"
#include "log.h"

/* --- UTF-8 ------------------------------------------------------------- */

/* Encode BMP code points (all a run holds: run_put() keeps only what the
 * font has) as UTF-8 into out (room for 3 * n + 1 bytes). */
static void utf8_put(const uint32_t *cp, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += utf8_encode(cp[i] < 0x10000 ? cp[i] : FALLBACK, out + o);
	out[o] = '\0';
}

/* --- rendering --------------------------------------------------------- */

/* Items a page's trace may hold: every line of every zone, and its barcode
 * or badge; a trace past it fails the render (ST_INTERNAL: a bug). */
#define TRACE_PAGE_MAX (ZONES_MAX * (LINES_MAX + 4))

struct render {
	const struct label_ctx *ctx;
	const struct label_tmpl *t;
	bool collect; /* first pass: only gather code points */
	struct font_cps *cps;
	HPDF_Doc pdf;
	HPDF_Page page;
	HPDF_Font font;
	HPDF_STATUS hpdf_err;
	struct zint_symbol *sym;
	struct label_trace *trace;
	size_t pageno;
	size_t zone;
	enum st st;
	/* The frame drawing happens in: the page, or a rotated zone's own
	 * (frame_enter): mm from its top-left corner, fh mm high. */
	int rot;	       /* 0, 90, 270: degrees counter-clockwise */
	const struct zone *fz; /* the rotated zone, on the page */
	double fh;	       /* mm: the frame's height, pdf_y()'s origin */
	char utf8[RUN_MAX * 3 + 4];
};

static void render_fail(struct render *r, enum st st)
{
	if (r->st == ST_OK)
		r->st = st;
}

/* A point of the current frame on the page (mm, top-left origin). */
static void frame_to_page(const struct render *r, double u, double v, double *x, double *y)
{
	const struct zone *z = r->fz;

	if (r->rot == 90) {
		*x = z->x + v;
		*y = z->y + z->h - u;
	} else if (r->rot == 270) {
		*x = z->x + z->w - v;
		*y = z->y + u;
	} else {
		*x = u;
		*y = v;
	}
}

/*
 * The frame's x (along the symbol and its digits) nearest to u that lies on
 * the page's dot grid: a symbol starting there and a whole number of dots
 * long has all its bar edges on printer dots, turned or not.
 */
static double frame_snap(const struct render *r, double u)
{
	const struct zone *z = r->fz;

	if (r->rot == 90)
		return z->y + z->h - round((z->y + z->h - u) / DOT_MM) * DOT_MM;
	if (r->rot == 270)
		return round((z->y + u) / DOT_MM) * DOT_MM - z->y;
	return round(u / DOT_MM) * DOT_MM;
}

/* Record an item drawn; NULL when not tracing. */
static struct label_item *trace_add(struct render *r, enum label_item_kind kind, double x0,
				    double y0, double x1, double y1)
{
	struct label_trace *tr = r->trace;

	if (!tr || r->collect || r->st != ST_OK)
		return NULL;
	struct label_item *it = buf_grow(&tr->buf, sizeof(*it));
	if (!it) {
		render_fail(r, buf_st(&tr->buf) == ST_NOMEM ? ST_NOMEM : ST_INTERNAL);
		return NULL;
	}
	tr->items = (struct label_item *)tr->buf.p;
	tr->n++;
	it->kind = kind;
	it->page = r->pageno;
	it->zone = r->zone;
	it->rotate = r->rot;
	double ax, ay, bx, by;
	frame_to_page(r, x0, y0, &ax, &ay);
	frame_to_page(r, x1, y1, &bx, &by);
	it->x0 = fmin(ax, bx);
	it->y0 = fmin(ay, by);
	it->x1 = fmax(ax, bx);
	it->y1 = fmax(ay, by);
	return it;
}

static double pdf_x(double mm)
{
	return mm * MM_PT;
}

static double pdf_y(const struct render *r, double mm)
{
	return (r->fh - mm) * MM_PT;
}

static void draw_line(struct render *r, const struct para *p, const struct line *ln, double x,
		      double base)
{
	const uint32_t *cp = p->run->cp + ln->from;
	size_t n = ln->to - ln->from;
	uint32_t ell = ELLIPSIS;

	if (r->collect) {
		for (size_t i = 0; i < n; i++)
			font_cps_add(r->cps, cp[i]);
		if (ln->ellipsis)
			font_cps_add(r->cps, ell);
		return;
	}
	if (n == 0 && !ln->ellipsis)
		return;
	utf8_put(cp, n, r->utf8);
	if (ln->ellipsis)
		utf8_put(&ell, 1, r->utf8 + strlen(r->utf8));
	if (p->bold) {
		HPDF_Page_SetTextRenderingMode(r->page, HPDF_FILL_THEN_STROKE);
		HPDF_Page_SetLineWidth(r->page, ln->size * BOLD_STROKE);
	}
	HPDF_Page_BeginText(r->page);
	HPDF_Page_SetFontAndSize(r->page, r->font, ln->size);
	HPDF_Page_TextOut(r->page, pdf_x(x), pdf_y(r, base), r->utf8);
	HPDF_Page_EndText(r->page);
	if (p->bold)
		HPDF_Page_SetTextRenderingMode(r->page, HPDF_FILL);

	/* The ink box: advances across, the glyphs' extents up and down. */
	int ymax = 0, ymin = 0;
	for (size_t i = 0; i <= n; i++) {
		int hi, lo;
		font_ink(r->ctx->font, i < n ? cp[i] : ell, &hi, &lo);
		if (i == n && !ln->ellipsis)
			break;
		ymax = hi > ymax ? hi : ymax;
		ymin = lo < ymin ? lo : ymin;
	}
	double out = p->bold ? ln->size * BOLD_STROKE / 2 / MM_PT : 0;
	struct label_item *it =
	    trace_add(r, LABEL_ITEM_TEXT, x - out, base - ymax * ln->size / 1000.0 / MM_PT - out,
		      x + ln->width + out, base - ymin * ln->size / 1000.0 / MM_PT + out);
	if (it)
		it->size = ln->size;
}

/* valign: -1 top, 0 middle, 1 bottom */
static void draw_layout(struct render *r, const struct para *p, const struct layout *lo,
			const struct box *b, int align, int valign)
{
	double top = b->y;

	if (valign == 0)
		top += (b->h - lo->height) / 2;
	else if (valign > 0)
		top += b->h - lo->height;
	for (size_t i = 0; i < lo->n; i++) {
		const struct line *ln = &lo->lines[i];
		double x = b->x;
		if (align == 0)
			x += (b->w - ln->width) / 2;
		else if (align > 0)
			x += b->w - ln->width;
		draw_line(r, &p[ln->para], ln, x, top + ln->base);
	}
}

static void draw_text_block(struct render *r, const struct para *p, size_t np, const struct box *b,
			    double max, double min, size_t max_lines, int align, int valign)
{
	struct layout lo;

	label_layout_fit(r->ctx->font, p, np, max, min, b->w, b->h, max_lines, &lo);
	draw_layout(r, p, &lo, b, align, valign);
}

/* A black square with a white character: 收 or 寄.  Returns its side. */
static double draw_badge(struct render *r, const struct box *b, double font, uint32_t ch)
{
	double side = fmin(b->h, font * 1.9 / MM_PT);
	struct run run = {{0}, 0};
	struct para p = {&run, 1.0, false};
	struct line ln;
	double size = side * MM_PT * 0.72;

	label_run_put(&run, r->ctx, ch);
	ln.para = 0;
	ln.from = 0;
	ln.to = 1;
	ln.size = size;
	ln.width = label_run_width(r->ctx->font, run.cp, 0, 1, size);
	ln.ellipsis = false;
	if (!r->collect) {
		HPDF_Page_Rectangle(r->page, pdf_x(b->x), pdf_y(r, b->y + side), side * MM_PT,
				    side * MM_PT);
		HPDF_Page_Fill(r->page);
		HPDF_Page_SetGrayFill(r->page, 1);
		(void)trace_add(r, LABEL_ITEM_FILL, b->x, b->y, b->x + side, b->y + side);
	}
	int hi, lo;
	font_ink(r->ctx->font, run.cp[0], &hi, &lo);
	double base = b->y + side / 2 + (hi + lo) / 2000.0 * size / MM_PT;
	draw_line(r, &p, &ln, b->x + (side - ln.width) / 2, base);
	if (!r->collect)
		HPDF_Page_SetGrayFill(r->page, 0);
	return side;
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
static void draw_modules(struct render *r, double x_mm, double y_mm, double mod_w, double mod_h,
			 bool one_row)
{
	const struct zint_symbol *s = r->sym;
	int rows = one_row ? 1 : s->rows, w = s->width;
	unsigned char *done = calloc((size_t)rows * (size_t)w, 1);

	if (!done) {
		render_fail(r, ST_NOMEM);
		return;
	}
	HPDF_Page_GSave(r->page);
	HPDF_Page_Concat(r->page, (HPDF_REAL)(mod_w * MM_PT), 0, 0, (HPDF_REAL)(mod_h * MM_PT),
			 (HPDF_REAL)pdf_x(x_mm), (HPDF_REAL)pdf_y(r, y_mm + rows * mod_h));
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
			HPDF_Page_Rectangle(r->page, (HPDF_REAL)x, (HPDF_REAL)(rows - y1),
					    (HPDF_REAL)(x1 - x), (HPDF_REAL)(y1 - row));
			x = x1 - 1;
		}
	}
	HPDF_Page_Fill(r->page);
	HPDF_Page_GRestore(r->page);
	free(done);
}

/*
 * Draw in zone z turned by its rotate: *local is z as its content sees it,
 * at (0, 0), W and H swapped; until frame_leave() every coordinate is in
 * that frame (text too: the CTM turns it) and the trace gets page boxes.
 */
static void frame_enter(struct render *r, const struct zone *z, struct zone *local)
{
	*local = *z;
	if (!z->rotate)
		return;
	local->x = 0;
	local->y = 0;
	local->w = z->h;
	local->h = z->w;
	r->rot = z->rotate;
	r->fz = z;
	r->fh = local->h;
	if (r->collect)
		return;
	/* frame point (X, Y) in pt, bottom-left origin -> page point */
	HPDF_Page_GSave(r->page);
	if (z->rotate == 90)
		HPDF_Page_Concat(r->page, 0, 1, -1, 0, (HPDF_REAL)((z->x + z->w) * MM_PT),
				 (HPDF_REAL)((r->t->h - z->y - z->h) * MM_PT));
	else
		HPDF_Page_Concat(r->page, 0, -1, 1, 0, (HPDF_REAL)(z->x * MM_PT),
				 (HPDF_REAL)((r->t->h - z->y) * MM_PT));
}

static void frame_leave(struct render *r)
{
	if (!r->rot)
		return;
	if (!r->collect)
		HPDF_Page_GRestore(r->page);
	r->rot = 0;
	r->fz = NULL;
	r->fh = r->t->h;
}

static void draw_tracking(struct render *r, const struct zone *pz, const struct label_fields *f)
{
	struct zone lz;
	const struct zone *z = &lz;

	frame_enter(r, pz, &lz);
	struct box in = label_zone_inner(z);
	struct run run = {{0}, 0};
	struct para p = {&run, 1.0, false};
	double bar_w = 0, module = 0, x0 = 0;

	RUN_ADD(&run, r->ctx, f->tracking_no);
	if (!r->collect) {
		int w = label_zint_width(r->sym, BARCODE_CODE128, f->tracking_no, NULL);
		if (w <= 0) {
			render_fail(r, ST_INVALID);
			frame_leave(r);
			return;
		}
		int k = (int)lround(z->module / DOT_MM);
		if (k < 3)
			k = 3;
		while (k >= 3 && (w + 2 * QUIET_C128) * k * DOT_MM > z->w - r->t->line)
			k--;
		if (k < 3) {
			render_fail(r, ST_INVALID); /* too long for this label */
			frame_leave(r);
			return;
		}
		module = k * DOT_MM;
		bar_w = w * module;
		x0 = frame_snap(r, z->x + (z->w - bar_w) / 2);
		draw_modules(r, x0, in.y, module, z->bar, true);
		struct label_item *it =
		    trace_add(r, LABEL_ITEM_CODE128, x0, in.y, x0 + bar_w, in.y + z->bar);
		if (it) {
			it->module = module;
			it->height = z->bar;
		}
	}
	struct box hrt = {in.x, in.y + z->bar + 1.0, in.w, in.h - z->bar - 1.0};
	draw_text_block(r, &p, 1, &hrt, z->font, FONT_MIN, 1, 0, -1);
	frame_leave(r);
}

static void draw_qr(struct render *r, const struct zone *z, const struct label_fields *f)
{
	if (r->collect)
		return;
	int n = label_zint_width(r->sym, BARCODE_QRCODE, f->tracking_no, NULL);
	if (n <= 0) {
		render_fail(r, ST_INVALID);
		return;
	}
	double side = fmin(z->w, z->h) - r->t->line;
	int k = (int)floor(side / ((n + 2 * QUIET_QR) * DOT_MM) + 1e-9);
	if (k * DOT_MM < fmax(z->module, 3 * DOT_MM) - 1e-9) {
		render_fail(r, ST_INVALID);
		return;
	}
	double m = k * DOT_MM, qw = n * m;
	double x0 = round((z->x + (z->w - qw) / 2) / DOT_MM) * DOT_MM;
	double y0 = round((z->y + (z->h - qw) / 2) / DOT_MM) * DOT_MM;
	draw_modules(r, x0, y0, m, m, false);
	struct label_item *it = trace_add(r, LABEL_ITEM_QR, x0, y0, x0 + qw, y0 + qw);
	if (it)
		it->module = m;
}

/* 收 / 寄 blocks: badge at the left, the text beside it. */
static void draw_party(struct render *r, const struct zone *z, const struct label_fields *f,
		       bool recipient)
{
	struct box in = label_zone_inner(z);
	struct run name_phone = {{0}, 0}, vnum = {{0}, 0}, addr = {{0}, 0};
	struct para p[PARAS_MAX];
	size_t np = 0;
	const struct masked *name = recipient ? &f->rcpt_name : &f->sndr_name;
	const struct masked *phone = recipient ? &f->rcpt_phone : &f->sndr_phone;

	RUN_ADD(&name_phone, r->ctx, name->s);
	label_run_add(&name_phone, r->ctx, "  ", 2);
	RUN_ADD(&name_phone, r->ctx, phone->s);
	p[np++] = (struct para){&name_phone, 1.0, recipient};
	if (recipient && f->vnum[0]) {
		label_run_add(&vnum, r->ctx, "隐私号 ", 16);
		RUN_ADD(&vnum, r->ctx, f->vnum);
		if (f->ext[0]) {
			label_run_add(&vnum, r->ctx, " 转 ", 8);
			RUN_ADD(&vnum, r->ctx, f->ext);
		}
		p[np++] = (struct para){&vnum, 1.0, true};
	}
	if (recipient) {
		label_run_add_region(&addr, r->ctx, &f->dest, "");
		RUN_ADD(&addr, r->ctx, f->rcpt_address.s);
	} else {
		label_run_add_region(&addr, r->ctx, &f->sndr, " ");
	}
	if (addr.n)
		p[np++] = (struct para){&addr, recipient ? 0.92 : 1.0, false};

	double side = draw_badge(r, &in, z->font, recipient ? 0x6536 : 0x5bc4);
	struct box text = {in.x + side + 1.5, in.y, in.w - side - 1.5, in.h};
	draw_text_block(r, p, np, &text, z->font, z->min, SIZE_MAX, -1, -1);
}

/* Weight and count on one line at the zone's size, or when the zone is too
 * narrow for that, weight over count (not "件" / "数" split by the wrap). */
static void draw_parcel(struct render *r, const struct zone *z, const struct label_fields *f)
{
	struct box in = label_zone_inner(z);
	struct run one = {{0}, 0}, weight = {{0}, 0}, count = {{0}, 0};
	struct para p = {&one, 1.0, false};
	struct para two[2] = {{&weight, 1.0, false}, {&count, 1.0, false}};
	struct layout lo = {.n = 0};
	char wbuf[48], cbuf[48];
	int g = f->weight_g, c100 = (g % 1000 + 5) / 10, kg = g / 1000;

	if (c100 == 100) {
		kg++;
		c100 = 0;
	}
	snprintf(wbuf, sizeof(wbuf), "重量 %d.%02d kg", kg, c100);
	snprintf(cbuf, sizeof(cbuf), "件数 %d", f->count);
	label_run_add(&one, r->ctx, wbuf, sizeof(wbuf));
	label_run_add(&one, r->ctx, "   ", 4);
	label_run_add(&one, r->ctx, cbuf, sizeof(cbuf));
	label_block_metrics(r->ctx->font, &p, 1, &lo.asc, &lo.desc);
	if (label_layout_at(r->ctx->font, &p, 1, z->font, in.w, in.h, 1, false, &lo)) {
		draw_layout(r, &p, &lo, &in, -1, 0);
		return;
	}
	label_run_add(&weight, r->ctx, wbuf, sizeof(wbuf));
	label_run_add(&count, r->ctx, cbuf, sizeof(cbuf));
	draw_text_block(r, two, 2, &in, z->font, z->min, 2, -1, 0);
}

static void draw_sign(struct render *r, const struct zone *z)
{
	static const char note[] =
	    "快件送达收件人地址，经收件人或收件人允许的代收人签字，即视为送达。";
	struct box in = label_zone_inner(z);
	struct run label_run = {{0}, 0}, note_run = {{0}, 0};
	struct para label = {&label_run, 1.0, false}, small = {&note_run, 1.0, false};
	struct layout lo;

	label_run_add(&label_run, r->ctx, "签收人：　　　　　　　　签收时间：", 64);
	label_run_add(&note_run, r->ctx, note, sizeof(note));
	label_block_metrics(r->ctx->font, &label, 1, &lo.asc, &lo.desc);
	double label_h = (lo.asc - lo.desc) * z->font / MM_PT;
	struct box top = {in.x, in.y, in.w, fmin(in.h, label_h * 2.3)};
	draw_text_block(r, &label, 1, &top, z->font, z->min, 2, -1, -1);
	struct box bottom = {in.x, in.y + top.h + 1.0, in.w, in.h - top.h - 1.0};
	label_block_metrics(r->ctx->font, &small, 1, &lo.asc, &lo.desc);
	double smax = fmax(z->min, z->font * 0.75);
	for (double s = smax; bottom.h > 0 && s >= z->min - 1e-9; s -= 0.25)
		if (label_layout_at(r->ctx->font, &small, 1, s, bottom.w, bottom.h, SIZE_MAX, false,
				    &lo)) {
			draw_layout(r, &small, &lo, &bottom, -1, 1);
			break;
		}
}

static void draw_zone(struct render *r, const struct zone *z, const struct label_fields *f)
{
	struct box in = label_zone_inner(z);

	switch (z->kind) {
	case Z_TITLE:
	case Z_SORT: {
		struct run run = {{0}, 0};
		if (z->kind == Z_TITLE)
			label_run_add(&run, r->ctx, z->text, sizeof(z->text));
		else
			label_run_add_region(&run, r->ctx, &f->dest, " ");
		struct para p = {&run, 1.0, z->kind == Z_SORT};
		draw_text_block(r, &p, 1, &in, z->font, z->min, 1, z->align, 0);
		break;
	}
	case Z_TRACKING:
		draw_tracking(r, z, f);
		break;
	case Z_RECIPIENT:
		draw_party(r, z, f, true);
		break;
	case Z_SENDER:
		draw_party(r, z, f, false);
		break;
	case Z_PARCEL:
		draw_parcel(r, z, f);
		break;
	case Z_QR:
		draw_qr(r, z, f);
		break;
	case Z_SIGN:
		draw_sign(r, z);
		break;
	case Z_N:
		break;
	}
}

static void draw_borders(struct render *r)
{
	const struct label_tmpl *t = r->t;
	bool any = false;

	HPDF_Page_SetLineWidth(r->page, (HPDF_REAL)(t->line * MM_PT));
	for (size_t i = 0; i < t->nzones; i++) {
		const struct zone *z = &t->zones[i];
		if (!z->border)
			continue;
		HPDF_Page_Rectangle(r->page, (HPDF_REAL)pdf_x(z->x),
				    (HPDF_REAL)pdf_y(r, z->y + z->h), (HPDF_REAL)(z->w * MM_PT),
				    (HPDF_REAL)(z->h * MM_PT));
		any = true;
	}
	if (any)
		HPDF_Page_Stroke(r->page);
}

static void render_page(struct render *r, const struct label_fields *f)
{
	r->fh = r->t->h;
	if (!r->collect) {
		r->page = HPDF_AddPage(r->pdf);
		if (!r->page) {
			render_fail(r, ST_NOMEM);
			return;
		}
		HPDF_Page_SetWidth(r->page, (HPDF_REAL)(r->t->w * MM_PT));
		HPDF_Page_SetHeight(r->page, (HPDF_REAL)(r->t->h * MM_PT));
		draw_borders(r);
	}
	for (size_t i = 0; i < r->t->nzones && r->st == ST_OK; i++) {
		r->zone = i;
		draw_zone(r, &r->t->zones[i], f);
	}
}

static void hpdf_on_error(HPDF_STATUS err, HPDF_STATUS detail, void *user)
{
	struct render *r = user;

	/* The codes are libharu's (hpdf_error.h); no text reaches the log. */
	if (!r->hpdf_err) {
		r->hpdf_err = err;
		log_error("label: libharu error 0x%04lX (detail %lu)", (unsigned long)err,
			  (unsigned long)detail);
	}
}

static bool fields_ok(const struct label_fields *f)
{
	size_t n = strnlen(f->tracking_no, sizeof(f->tracking_no));

	if (n == 0 || n == sizeof(f->tracking_no))
		return false;
	for (size_t i = 0; i < n; i++)
		if (f->tracking_no[i] < 0x21 || f->tracking_no[i] > 0x7e)
			return false;
	return f->weight_g > 0 && f->weight_g <= 10000000 && f->count > 0 && f->count <= 1000000;
}

static enum st pdf_take(struct render *r, unsigned char **pdf, size_t *len)
{
	HPDF_UINT32 size, got = 0;
	unsigned char *buf;

	if (HPDF_SaveToStream(r->pdf) != HPDF_OK)
		return r->hpdf_err == HPDF_FAILD_TO_ALLOC_MEM ? ST_NOMEM : ST_INTERNAL;
	size = HPDF_GetStreamSize(r->pdf);
	if (size == 0)
		return ST_INTERNAL;
	buf = malloc(size);
	if (!buf)
		return ST_NOMEM;
	while (got < size) {
		HPDF_UINT32 n = size - got;
		HPDF_STATUS s = HPDF_ReadFromStream(r->pdf, buf + got, &n);
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

enum st label_render_trace(const struct label_ctx *ctx, const struct label_tmpl *tmpl,
			   const struct label_fields *pages, size_t npages, unsigned char **pdf,
			   size_t *len, struct label_trace *trace)
{
	struct render *r = NULL;
	enum st st = ST_OK;
	int fd = -1;
	char path[32];

	if (!ctx || !tmpl || !pages || npages == 0) {
		st = ST_INVALID;
		goto out;
	}
	if (npages > LABEL_MAX_PAGES) {
		st = ST_TOOBIG;
		goto out;
	}
	for (size_t i = 0; i < npages; i++)
		if (!fields_ok(&pages[i])) {
			st = ST_INVALID;
			goto out;
		}
	r = calloc(1, sizeof(*r));
	if (!r) {
		st = ST_NOMEM;
		goto out;
	}
	r->ctx = ctx;
	r->t = tmpl;
	r->trace = trace;
	if (trace && trace->buf.max == 0)
		buf_init(&trace->buf, npages * TRACE_PAGE_MAX * sizeof(struct label_item), false);
	r->cps = calloc(1, sizeof(*r->cps));
	r->sym = ZBarcode_Create();
	if (!r->cps || !r->sym) {
		st = ST_NOMEM;
		goto out;
	}

	/* Pass 1: every code point any page will draw, for one subset. */
	r->collect = true;
	font_cps_add(r->cps, ctx->fallback);
	for (r->pageno = 0; r->pageno < npages && r->st == ST_OK; r->pageno++)
		render_page(r, &pages[r->pageno]);
	if (r->st != ST_OK) {
		st = r->st;
		goto out;
	}
	st = font_subset_fd(ctx->font, r->cps, &fd, NULL);
	if (st != ST_OK)
		goto out;

	r->pdf = HPDF_New(hpdf_on_error, r);
	if (!r->pdf) {
		st = ST_NOMEM;
		goto out;
	}
	HPDF_SetCompressionMode(r->pdf, HPDF_COMP_ALL);
	HPDF_SetInfoAttr(r->pdf, HPDF_INFO_PRODUCER, "waybill");
	HPDF_SetInfoAttr(r->pdf, HPDF_INFO_CREATOR, "waybill");
	HPDF_UseUTFEncodings(r->pdf);
	HPDF_SetCurrentEncoder(r->pdf, "UTF-8");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	const char *name = HPDF_LoadTTFontFromFile(r->pdf, path, HPDF_TRUE);
	r->font = name ? HPDF_GetFont(r->pdf, name, "UTF-8") : NULL;
	if (!r->font || r->hpdf_err) {
		st = r->hpdf_err == HPDF_FAILD_TO_ALLOC_MEM ? ST_NOMEM : ST_INTERNAL;
		goto out;
	}

	/* Pass 2: draw. */
	r->collect = false;
	for (r->pageno = 0; r->pageno < npages && r->st == ST_OK && !r->hpdf_err; r->pageno++)
		render_page(r, &pages[r->pageno]);
	if (r->st != ST_OK) {
		st = r->st;
		goto out;
	}
	if (r->hpdf_err) {
		st = r->hpdf_err == HPDF_FAILD_TO_ALLOC_MEM ? ST_NOMEM : ST_INTERNAL;
		goto out;
	}
	st = pdf_take(r, pdf, len);
out:
	if (r) {
		if (r->pdf)
			HPDF_Free(r->pdf);
		ZBarcode_Delete(r->sym);
		free(r->cps);
		free(r);
	}
	if (fd >= 0)
		close(fd);
	return st;
}

void label_trace_release(struct label_trace *tr)
{
	if (!tr)
		return;
	buf_release(&tr->buf);
	memset(tr, 0, sizeof(*tr));
}

enum st label_render(const struct label_ctx *ctx, const struct label_tmpl *tmpl,
		     const struct label_fields *pages, size_t npages, unsigned char **pdf,
		     size_t *len)
{
	return label_render_trace(ctx, tmpl, pages, npages, pdf, len, NULL);
}
