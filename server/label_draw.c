/*
 * label_draw.c - the walk: one template, one label's fields, handed to a
 * canvas as text lines, filled boxes, zone borders and barcode modules.
 *
 * See label.h for the API, label_layout.c for the text layout it walks,
 * label.c for the template format, label_pdf.c and label_raster.c for the
 * two canvases.  The walk decides every position (mm), size and module; a
 * canvas only puts ink where it is told, so a PDF and a 203 or 300 dpi
 * raster of the same label have the same layout.
 *
 * Barcodes are libzint's module grids.  Module sizes are whole printer dots
 * (c->dot: 0.125 mm at 203 dpi, the PDF's grid too; 0.085 mm at 300 dpi),
 * so bars print evenly on a thermal printer: the Code 128 narrow bar is the
 * template's module rounded to dots, never under 0.375 mm (3 dots at 203
 * dpi, 5 at 300), lowered toward that when a longer tracking number would
 * not fit its zone with 10-module quiet zones, and refused (ST_INVALID) when
 * it does not fit even so; the QR module is the largest whole-dot size that
 * fits the zone with its 4-module quiet zone.  A rotated tracking zone is
 * drawn in its own frame (a quarter-turned coordinate system, text
 * included), with the bar edges still on the page's dot grid.  On a thermal
 * printer such bars lie across the feed direction ("ladder"), where heat
 * history blurs them more than along it: where a layout can spare the
 * length, give those zones the room for 4-dot (0.5 mm) modules (module=0.5:
 * about 105 mm for a 4-letter prefix).
 *
 * The sort zone prints the sort code (三段码) in its largest type with the
 * hub name (集包地) under it when the label has one, else the region; a hub
 * zone prints a small Code 128 of the hub code (2 dots at 203 dpi, 3 at
 * 300), or the code as text when it is too long for the zone.
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <zint.h>

#include "buf.h"
#include "font.h"
#include "label.h"
#include "label_int.h"

/* Items a page's trace may hold: every line of every zone, and its barcode
 * or badge; a trace past it fails the render (ST_INTERNAL: a bug). */
#define TRACE_PAGE_MAX (ZONES_MAX * (LINES_MAX + 4))
#define HUB_MODULE_MIN 0.25 /* mm: the hub code's narrow bar, 2 dots at 203 dpi */
#define SORT_HUB_SCALE 0.34 /* the hub name's size under the sort code */

struct walk {
	struct canvas *c;
	const struct label_ctx *ctx;
	const struct label_tmpl *t;
	struct zint_symbol *sym;
	struct label_trace *trace;
	size_t pageno;
	size_t zone;
	/* The frame drawing happens in: the page, or a rotated zone's own
	 * (frame_enter): mm from its top-left corner. */
	int rot;	       /* 0, 90, 270: degrees counter-clockwise */
	const struct zone *fz; /* the rotated zone, on the page */
};

void label_canvas_fail(struct canvas *c, enum st st)
{
	if (c->st == ST_OK)
		c->st = st;
}

void label_frame_to_page(const struct zone *z, int rot, double u, double v, double *x, double *y)
{
	if (rot == 90) {
		*x = z->x + v;
		*y = z->y + z->h - u;
	} else if (rot == 270) {
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
static double frame_snap(const struct walk *w, double u)
{
	const struct zone *z = w->fz;
	double dot = w->c->dot;

	if (w->rot == 90)
		return z->y + z->h - round((z->y + z->h - u) / dot) * dot;
	if (w->rot == 270)
		return round((z->y + u) / dot) * dot - z->y;
	return round(u / dot) * dot;
}

/* Whole dots of at least mm (a module never under its minimum). */
static int dots_at_least(double mm, double dot)
{
	return (int)ceil(mm / dot - 1e-6);
}

/* Record an item drawn; NULL when not tracing. */
static struct label_item *trace_add(struct walk *w, enum label_item_kind kind, double x0, double y0,
				    double x1, double y1)
{
	struct label_trace *tr = w->trace;

	if (!tr || w->c->text_only || w->c->st != ST_OK)
		return NULL;
	struct label_item *it = buf_grow(&tr->buf, sizeof(*it));
	if (!it) {
		label_canvas_fail(w->c, buf_st(&tr->buf) == ST_NOMEM ? ST_NOMEM : ST_INTERNAL);
		return NULL;
	}
	tr->items = (struct label_item *)tr->buf.p;
	tr->n++;
	it->kind = kind;
	it->page = w->pageno;
	it->zone = w->zone;
	it->rotate = w->rot;
	double ax, ay, bx, by;
	label_frame_to_page(w->fz, w->rot, x0, y0, &ax, &ay);
	label_frame_to_page(w->fz, w->rot, x1, y1, &bx, &by);
	it->x0 = fmin(ax, bx);
	it->y0 = fmin(ay, by);
	it->x1 = fmax(ax, bx);
	it->y1 = fmax(ay, by);
	return it;
}

static void draw_line(struct walk *w, const struct para *p, const struct line *ln, double x,
		      double base, bool white)
{
	const uint32_t *cp = p->run->cp + ln->from;
	size_t n = ln->to - ln->from;
	uint32_t line[RUN_MAX + 1];

	if (n == 0 && !ln->ellipsis)
		return;
	memcpy(line, cp, n * sizeof(*cp));
	if (ln->ellipsis)
		line[n] = ELLIPSIS;
	w->c->ops->text(w->c, line, n + ln->ellipsis, x, base, ln->size, p->bold, white);
	if (w->c->text_only || !w->trace)
		return;

	/* The ink box: advances across, the glyphs' extents up and down. */
	int ymax = 0, ymin = 0;
	for (size_t i = 0; i < n + ln->ellipsis; i++) {
		int hi, lo;
		font_ink(w->ctx->font, line[i], &hi, &lo);
		ymax = hi > ymax ? hi : ymax;
		ymin = lo < ymin ? lo : ymin;
	}
	double out = p->bold ? ln->size * BOLD_STROKE / 2 / MM_PT : 0;
	struct label_item *it =
	    trace_add(w, LABEL_ITEM_TEXT, x - out, base - ymax * ln->size / 1000.0 / MM_PT - out,
		      x + ln->width + out, base - ymin * ln->size / 1000.0 / MM_PT + out);
	if (it)
		it->size = ln->size;
}

/* valign: -1 top, 0 middle, 1 bottom */
static void draw_layout(struct walk *w, const struct para *p, const struct layout *lo,
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
		draw_line(w, &p[ln->para], ln, x, top + ln->base, false);
	}
}

static void draw_text_block(struct walk *w, const struct para *p, size_t np, const struct box *b,
			    double max, double min, size_t max_lines, int align, int valign)
{
	struct layout lo;

	label_layout_fit(w->ctx->font, p, np, max, min, b->w, b->h, max_lines, &lo);
	draw_layout(w, p, &lo, b, align, valign);
}

/* A black square with a white character: 收 or 寄.  Returns its side. */
static double draw_badge(struct walk *w, const struct box *b, double font, uint32_t ch)
{
	double side = fmin(b->h, font * 1.9 / MM_PT);
	struct run run = {{0}, 0};
	struct para p = {&run, 1.0, false};
	struct line ln;
	double size = side * MM_PT * 0.72;

	label_run_put(&run, w->ctx, ch);
	ln.para = 0;
	ln.from = 0;
	ln.to = 1;
	ln.size = size;
	ln.width = label_run_width(w->ctx->font, run.cp, 0, 1, size);
	ln.ellipsis = false;
	if (!w->c->text_only) {
		w->c->ops->fill(w->c, b->x, b->y, side, side);
		(void)trace_add(w, LABEL_ITEM_FILL, b->x, b->y, b->x + side, b->y + side);
	}
	int hi, lo;
	font_ink(w->ctx->font, run.cp[0], &hi, &lo);
	double base = b->y + side / 2 + (hi + lo) / 2000.0 * size / MM_PT;
	draw_line(w, &p, &ln, b->x + (side - ln.width) / 2, base, true);
	return side;
}

/*
 * Draw in zone z turned by its rotate: *local is z as its content sees it,
 * at (0, 0), W and H swapped; until frame_leave() every coordinate is in
 * that frame (text too) and the trace gets page boxes.
 */
static void frame_enter(struct walk *w, const struct zone *z, struct zone *local)
{
	*local = *z;
	if (!z->rotate)
		return;
	local->x = 0;
	local->y = 0;
	local->w = z->h;
	local->h = z->w;
	w->rot = z->rotate;
	w->fz = z;
	w->c->ops->frame(w->c, z);
}

static void frame_leave(struct walk *w)
{
	if (!w->rot)
		return;
	w->c->ops->frame(w->c, NULL);
	w->rot = 0;
	w->fz = NULL;
}

/*
 * A one-row Code 128 of data centred across z's inner box at its top, bars
 * bar mm tall, with the narrowest module of k dots (k from want mm, at
 * least kmin): the widest whole-dot module that fits the zone with its quiet
 * zones.  Returns the bars' height drawn, 0 when it does not fit (nothing
 * drawn), -1 for data libzint refuses.
 */
static double draw_code128(struct walk *w, const struct zone *z, const char *data, double want,
			   int kmin, double bar)
{
	struct box in = label_zone_inner(z);
	double dot = w->c->dot;
	int n = label_zint_width(w->sym, BARCODE_CODE128, data, NULL);

	if (n <= 0)
		return -1;
	int k = (int)lround(want / dot);
	if (k < kmin)
		k = kmin;
	while (k >= kmin && (n + 2 * QUIET_C128) * k * dot > z->w - w->t->line)
		k--;
	if (k < kmin)
		return 0;
	double module = k * dot, bar_w = n * module;
	double x0 = frame_snap(w, z->x + (z->w - bar_w) / 2);
	w->c->ops->modules(w->c, w->sym, x0, in.y, module, bar, true);
	struct label_item *it = trace_add(w, LABEL_ITEM_CODE128, x0, in.y, x0 + bar_w, in.y + bar);
	if (it) {
		it->module = module;
		it->height = bar;
	}
	return bar;
}

static void draw_tracking(struct walk *w, const struct zone *pz, const struct label_fields *f)
{
	struct zone lz;
	const struct zone *z = &lz;

	frame_enter(w, pz, &lz);
	struct box in = label_zone_inner(z);
	struct run run = {{0}, 0};
	struct para p = {&run, 1.0, false};

	RUN_ADD(&run, w->ctx, f->tracking_no);
	if (!w->c->text_only && draw_code128(w, z, f->tracking_no, z->module,
					     dots_at_least(NARROW_MIN, w->c->dot), z->bar) <= 0) {
		label_canvas_fail(w->c, ST_INVALID); /* too long for this label */
		frame_leave(w);
		return;
	}
	struct box hrt = {in.x, in.y + z->bar + 1.0, in.w, in.h - z->bar - 1.0};
	draw_text_block(w, &p, 1, &hrt, z->font, FONT_MIN, 1, 0, -1);
	frame_leave(w);
}

/* The hub code: a small Code 128 over its digits, or the code alone in the
 * zone's type when the symbol does not fit. */
static void draw_hub(struct walk *w, const struct zone *z, const struct label_fields *f)
{
	struct box in = label_zone_inner(z);
	struct run run = {{0}, 0};
	struct para p = {&run, 1.0, true};

	if (!f->hub_code[0])
		return;
	RUN_ADD(&run, w->ctx, f->hub_code);
	struct layout lo;
	label_block_metrics(w->ctx->font, &p, 1, &lo.asc, &lo.desc);
	double hrt_h = (lo.asc - lo.desc) * z->min / MM_PT * LEAD;
	double bar = in.h - hrt_h - 0.8, drawn = 0;
	if (bar >= 3.0 && !w->c->text_only) {
		drawn = draw_code128(w, z, f->hub_code, z->module,
				     dots_at_least(HUB_MODULE_MIN, w->c->dot), bar);
		if (drawn < 0)
			drawn = 0; /* not Code 128 data: the text alone */
	} else if (bar >= 3.0) {
		drawn = bar; /* the code point pass: the digits' size is all it needs */
	}
	if (drawn > 0) {
		struct box hrt = {in.x, in.y + bar + 0.8, in.w, hrt_h};
		p.bold = false;
		draw_text_block(w, &p, 1, &hrt, z->min, FONT_MIN, 1, 0, -1);
	} else {
		draw_text_block(w, &p, 1, &in, z->font, FONT_MIN, 1, 0, 0);
	}
}

static void draw_qr(struct walk *w, const struct zone *z, const struct label_fields *f)
{
	double dot = w->c->dot;

	if (w->c->text_only)
		return;
	int n = label_zint_width(w->sym, BARCODE_QRCODE, f->tracking_no, NULL);
	if (n <= 0) {
		label_canvas_fail(w->c, ST_INVALID);
		return;
	}
	double side = fmin(z->w, z->h) - w->t->line;
	int k = (int)floor(side / ((n + 2 * QUIET_QR) * dot) + 1e-9);
	if (k * dot < fmax(z->module, 3 * DOT_MM) - 1e-9) {
		label_canvas_fail(w->c, ST_INVALID);
		return;
	}
	double m = k * dot, qw = n * m;
	double x0 = round((z->x + (z->w - qw) / 2) / dot) * dot;
	double y0 = round((z->y + (z->h - qw) / 2) / dot) * dot;
	w->c->ops->modules(w->c, w->sym, x0, y0, m, m, false);
	struct label_item *it = trace_add(w, LABEL_ITEM_QR, x0, y0, x0 + qw, y0 + qw);
	if (it)
		it->module = m;
}

/* 收 / 寄 blocks: badge at the left, the text beside it. */
static void draw_party(struct walk *w, const struct zone *z, const struct label_fields *f,
		       bool recipient)
{
	struct box in = label_zone_inner(z);
	struct run name_phone = {{0}, 0}, vnum = {{0}, 0}, addr = {{0}, 0};
	struct para p[PARAS_MAX];
	size_t np = 0;
	const struct masked *name = recipient ? &f->rcpt_name : &f->sndr_name;
	const struct masked *phone = recipient ? &f->rcpt_phone : &f->sndr_phone;

	RUN_ADD(&name_phone, w->ctx, name->s);
	label_run_add(&name_phone, w->ctx, "  ", 2);
	RUN_ADD(&name_phone, w->ctx, phone->s);
	p[np++] = (struct para){&name_phone, 1.0, recipient};
	if (recipient && f->vnum[0]) {
		label_run_add(&vnum, w->ctx, "隐私号 ", 16);
		RUN_ADD(&vnum, w->ctx, f->vnum);
		if (f->ext[0]) {
			label_run_add(&vnum, w->ctx, " 转 ", 8);
			RUN_ADD(&vnum, w->ctx, f->ext);
		}
		p[np++] = (struct para){&vnum, 1.0, true};
	}
	if (recipient) {
		label_run_add_region(&addr, w->ctx, &f->dest, "");
		RUN_ADD(&addr, w->ctx, f->rcpt_address.s);
	} else {
		label_run_add_region(&addr, w->ctx, &f->sndr, " ");
	}
	if (addr.n)
		p[np++] = (struct para){&addr, recipient ? 0.92 : 1.0, false};

	double side = draw_badge(w, &in, z->font, recipient ? 0x6536 : 0x5bc4);
	struct box text = {in.x + side + 1.5, in.y, in.w - side - 1.5, in.h};
	draw_text_block(w, p, np, &text, z->font, z->min, SIZE_MAX, -1, -1);
}

/* Weight and count on one line at the zone's size, or when the zone is too
 * narrow for that, weight over count (not "件" / "数" split by the wrap). */
static void draw_parcel(struct walk *w, const struct zone *z, const struct label_fields *f)
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
	label_run_add(&one, w->ctx, wbuf, sizeof(wbuf));
	label_run_add(&one, w->ctx, "   ", 4);
	label_run_add(&one, w->ctx, cbuf, sizeof(cbuf));
	label_block_metrics(w->ctx->font, &p, 1, &lo.asc, &lo.desc);
	if (label_layout_at(w->ctx->font, &p, 1, z->font, in.w, in.h, 1, false, &lo)) {
		draw_layout(w, &p, &lo, &in, -1, 0);
		return;
	}
	label_run_add(&weight, w->ctx, wbuf, sizeof(wbuf));
	label_run_add(&count, w->ctx, cbuf, sizeof(cbuf));
	draw_text_block(w, two, 2, &in, z->font, z->min, 2, -1, 0);
}

static void draw_sign(struct walk *w, const struct zone *z)
{
	static const char note[] =
	    "快件送达收件人地址，经收件人或收件人允许的代收人签字，即视为送达。";
	struct box in = label_zone_inner(z);
	struct run label_run = {{0}, 0}, note_run = {{0}, 0};
	struct para label = {&label_run, 1.0, false}, small = {&note_run, 1.0, false};
	struct layout lo;

	label_run_add(&label_run, w->ctx, "签收人：　　　　　　　　签收时间：", 64);
	label_run_add(&note_run, w->ctx, note, sizeof(note));
	label_block_metrics(w->ctx->font, &label, 1, &lo.asc, &lo.desc);
	double label_h = (lo.asc - lo.desc) * z->font / MM_PT;
	struct box top = {in.x, in.y, in.w, fmin(in.h, label_h * 2.3)};
	draw_text_block(w, &label, 1, &top, z->font, z->min, 2, -1, -1);
	struct box bottom = {in.x, in.y + top.h + 1.0, in.w, in.h - top.h - 1.0};
	label_block_metrics(w->ctx->font, &small, 1, &lo.asc, &lo.desc);
	double smax = fmax(z->min, z->font * 0.75);
	for (double s = smax; bottom.h > 0 && s >= z->min - 1e-9; s -= 0.25)
		if (label_layout_at(w->ctx->font, &small, 1, s, bottom.w, bottom.h, SIZE_MAX, false,
				    &lo)) {
			draw_layout(w, &small, &lo, &bottom, -1, 1);
			break;
		}
}

/* The sort zone: the sort code over the hub name when the label has one,
 * else the destination's region on one line. */
static void draw_sort(struct walk *w, const struct zone *z, const struct label_fields *f)
{
	struct box in = label_zone_inner(z);
	struct run code = {{0}, 0}, hub = {{0}, 0};
	struct para p[2] = {{&code, 1.0, true}, {&hub, SORT_HUB_SCALE, false}};

	if (!f->sort_code[0]) {
		label_run_add_region(&code, w->ctx, &f->dest, " ");
		draw_text_block(w, p, 1, &in, z->font, z->min, 1, z->align, 0);
		return;
	}
	RUN_ADD(&code, w->ctx, f->sort_code);
	RUN_ADD(&hub, w->ctx, f->hub_name);
	draw_text_block(w, p, hub.n ? 2 : 1, &in, z->font, z->min, 2, z->align, 0);
}

static void draw_zone(struct walk *w, const struct zone *z, const struct label_fields *f)
{
	struct box in = label_zone_inner(z);

	switch (z->kind) {
	case Z_TITLE: {
		struct run run = {{0}, 0};
		label_run_add(&run, w->ctx, z->text, sizeof(z->text));
		struct para p = {&run, 1.0, false};
		draw_text_block(w, &p, 1, &in, z->font, z->min, 1, z->align, 0);
		break;
	}
	case Z_SORT:
		draw_sort(w, z, f);
		break;
	case Z_TRACKING:
		draw_tracking(w, z, f);
		break;
	case Z_RECIPIENT:
		draw_party(w, z, f, true);
		break;
	case Z_SENDER:
		draw_party(w, z, f, false);
		break;
	case Z_PARCEL:
		draw_parcel(w, z, f);
		break;
	case Z_QR:
		draw_qr(w, z, f);
		break;
	case Z_SIGN:
		draw_sign(w, z);
		break;
	case Z_HUB:
		draw_hub(w, z, f);
		break;
	case Z_N:
		break;
	}
}

static void draw_page(struct walk *w, const struct label_fields *f)
{
	const struct label_tmpl *t = w->t;
	struct box rules[ZONES_MAX];
	size_t n = 0;

	w->c->ops->page(w->c);
	if (w->c->st != ST_OK)
		return;
	if (!w->c->text_only) {
		for (size_t i = 0; i < t->nzones; i++)
			if (t->zones[i].border)
				rules[n++] = (struct box){t->zones[i].x, t->zones[i].y,
							  t->zones[i].w, t->zones[i].h};
		w->c->ops->rules(w->c, rules, n, t->line);
	}
	for (size_t i = 0; i < t->nzones && w->c->st == ST_OK; i++) {
		w->zone = i;
		draw_zone(w, &t->zones[i], f);
	}
}

bool label_fields_ok(const struct label_fields *f)
{
	size_t n = strnlen(f->tracking_no, sizeof(f->tracking_no));

	if (n == 0 || n == sizeof(f->tracking_no))
		return false;
	for (size_t i = 0; i < n; i++)
		if (f->tracking_no[i] < 0x21 || f->tracking_no[i] > 0x7e)
			return false;
	if (strnlen(f->sort_code, sizeof(f->sort_code)) == sizeof(f->sort_code) ||
	    strnlen(f->hub_name, sizeof(f->hub_name)) == sizeof(f->hub_name) ||
	    strnlen(f->hub_code, sizeof(f->hub_code)) == sizeof(f->hub_code))
		return false;
	for (const char *s = f->hub_code; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return f->weight_g > 0 && f->weight_g <= 10000000 && f->count > 0 && f->count <= 1000000;
}

enum st label_draw_pages(struct canvas *c, const struct label_fields *pages, size_t npages,
			 struct label_trace *trace)
{
	struct walk w = {.c = c, .ctx = c->ctx, .t = c->t, .trace = trace};

	if (trace && trace->buf.max == 0)
		buf_init(&trace->buf, npages * TRACE_PAGE_MAX * sizeof(struct label_item), false);
	w.sym = ZBarcode_Create();
	if (!w.sym) {
		label_canvas_fail(c, ST_NOMEM);
		return c->st;
	}
	for (w.pageno = 0; w.pageno < npages && c->st == ST_OK; w.pageno++)
		draw_page(&w, &pages[w.pageno]);
	ZBarcode_Delete(w.sym);
	return c->st;
}

/* --- formats ------------------------------------------------------------ */

static const struct format_info {
	const char *name, *type;
} formats[LABEL_FORMAT_N] = {
    [LABEL_PDF] = {"pdf", "application/pdf"},
    [LABEL_PNG] = {"png", "image/png"},
    [LABEL_ZPL] = {"zpl", "application/vnd.zebra-zpl"},
    [LABEL_TSPL] = {"tspl", "application/vnd.tsc-tspl"},
};

bool label_format_parse(const char *s, enum label_format *out)
{
	for (int i = 0; s && i < LABEL_FORMAT_N; i++)
		if (strcmp(s, formats[i].name) == 0) {
			*out = (enum label_format)i;
			return true;
		}
	return false;
}

const char *label_format_name(enum label_format f)
{
	return (unsigned)f < LABEL_FORMAT_N ? formats[f].name : "?";
}

const char *label_format_content_type(enum label_format f)
{
	return (unsigned)f < LABEL_FORMAT_N ? formats[f].type : "application/octet-stream";
}

bool label_dpi_ok(int dpi)
{
	return dpi == 203 || dpi == 300;
}

/*
 * Raster pages are rendered and encoded one at a time; a batch of at least
 * 2 x PART_MIN pages is cut into up to RENDER_THREADS parts (no more than
 * the machine's processors), each rendered on a thread of its own (the
 * first on the caller's) into its own buffer, and the parts joined in
 * order.  Each part takes its own FreeType face from the pool and its own
 * libzint symbol; the font and templates are only read.
 */
#define RENDER_THREADS 4
#define PART_MIN 8
/* ZPL and TSPL of a page stay well under 200 KiB (an uncompressed 300 dpi
 * TSPL bitmap of 100 x 180 mm is 260 KiB). */
#define PAGE_BYTES_MAX ((size_t)512 * 1024)

struct raster_part {
	const struct label_ctx *ctx;
	const struct label_tmpl *t;
	enum label_format format;
	int dpi;
	const struct label_fields *pages;
	size_t npages;
	struct buf doc; /* the caller's init */
	enum st st;
};

static void *raster_part_run(void *arg)
{
	struct raster_part *p = arg;

	p->st = ST_OK;
	for (size_t i = 0; i < p->npages && p->st == ST_OK; i++) {
		struct raster page;
		p->st = label_raster_render(p->ctx, p->t, p->dpi, &p->pages[i], &page, NULL);
		if (p->st == ST_OK)
			p->st = label_encode_page(p->format, &page, p->t, &p->doc);
		label_raster_release(&page);
	}
	return NULL;
}

static enum st render_raster(const struct label_ctx *ctx, const struct label_tmpl *t,
			     enum label_format format, int dpi, const struct label_fields *pages,
			     size_t npages, unsigned char **out, size_t *len)
{
	struct raster_part parts[RENDER_THREADS];
	pthread_t threads[RENDER_THREADS];
	bool started[RENDER_THREADS] = {false};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nparts = npages / PART_MIN;
	enum st st = ST_OK;

	nparts = nparts > (size_t)(cpus > 0 ? cpus : 1) ? (size_t)(cpus > 0 ? cpus : 1) : nparts;
	nparts = nparts > RENDER_THREADS ? RENDER_THREADS : nparts < 1 ? 1 : nparts;
	for (size_t k = 0, at = 0; k < nparts; k++) {
		size_t n = npages / nparts + (k < npages % nparts);
		parts[k] = (struct raster_part){ctx, t, format, dpi, pages + at, n, {0}, ST_OK};
		/* the first part's buffer takes the others at the end */
		buf_init(&parts[k].doc, (k == 0 ? npages : n) * PAGE_BYTES_MAX, false);
		at += n;
	}
	for (size_t k = 1; k < nparts; k++)
		started[k] = pthread_create(&threads[k], NULL, raster_part_run, &parts[k]) == 0;
	raster_part_run(&parts[0]);
	for (size_t k = 1; k < nparts; k++) {
		if (started[k])
			pthread_join(threads[k], NULL);
		else
			raster_part_run(&parts[k]); /* no thread: here, in turn */
	}
	for (size_t k = 0; k < nparts; k++) {
		if (st == ST_OK)
			st = parts[k].st;
		if (st == ST_OK && k > 0)
			st = buf_add(&parts[0].doc, parts[k].doc.p, parts[k].doc.len);
		if (k > 0)
			buf_release(&parts[k].doc);
	}
	if (st != ST_OK) {
		buf_release(&parts[0].doc);
		return st;
	}
	return buf_take(&parts[0].doc, out, len);
}

enum st label_render_to(const struct label_ctx *ctx, const struct label_tmpl *tmpl,
			enum label_format format, int dpi, const struct label_fields *pages,
			size_t npages, unsigned char **out, size_t *len)
{
	if (!ctx || !tmpl || !pages || npages == 0)
		return ST_INVALID;
	if (npages > LABEL_MAX_PAGES)
		return ST_TOOBIG;
	for (size_t i = 0; i < npages; i++)
		if (!label_fields_ok(&pages[i]))
			return ST_INVALID;
	switch (format) {
	case LABEL_PDF:
		return label_pdf_render(ctx, tmpl, pages, npages, out, len, NULL);
	case LABEL_PNG:
		if (npages != 1)
			return ST_INVALID;
		/* fall through */
	case LABEL_ZPL:
	case LABEL_TSPL:
		if (!label_dpi_ok(dpi))
			return ST_INVALID;
		return render_raster(ctx, tmpl, format, dpi, pages, npages, out, len);
	case LABEL_FORMAT_N:
		break;
	}
	return ST_INVALID;
}

enum st label_render_trace(const struct label_ctx *ctx, const struct label_tmpl *tmpl,
			   const struct label_fields *pages, size_t npages, unsigned char **pdf,
			   size_t *len, struct label_trace *trace)
{
	if (!ctx || !tmpl || !pages || npages == 0)
		return ST_INVALID;
	if (npages > LABEL_MAX_PAGES)
		return ST_TOOBIG;
	for (size_t i = 0; i < npages; i++)
		if (!label_fields_ok(&pages[i]))
			return ST_INVALID;
	return label_pdf_render(ctx, tmpl, pages, npages, pdf, len, trace);
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
