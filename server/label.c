/*
 * label.c - PDF waybill labels: templates, layout, barcodes, libharu.
 *
 * The only user of hpdf.h and zint.h.  See label.h for the API.
 *
 * TEMPLATES
 *
 * One file per size, named after it: templates/100x150.tmpl is the size
 * "100x150" and must declare a 100 x 150 mm page.  The format is line
 * based; '#' starts a comment (outside quotes); blank lines are ignored.
 * Lengths are millimetres measured from the page's top-left corner, font
 * sizes are points.
 *
 *   page   WIDTH HEIGHT        required, first
 *   margin MM                  nothing may be placed closer to the edge (2)
 *   line   MM                  width of the zone borders (0.3)
 *   zone   KIND X Y W H [key=value ...]
 *
 * Zone kinds, and the options each takes (defaults in brackets):
 *
 *   title      a fixed line of text       text="..." (required) font [10]
 *                                         min [6] align [left]
 *   sort       destination sort line:     font [26] min [12] align [center]
 *              province city district
 *   tracking   Code 128 of the tracking   module [0.5] (narrow bar, >= 0.375)
 *              number, digits under it    bar [12] (bar height, >= 9) font [10]
 *                                         rotate [0] (0, 90 or 270)
 *   recipient  收: masked name and phone, font [12] min [7]
 *              virtual number, region and masked address
 *   sender     寄: masked name and phone, font [9] min [6]
 *              region only
 *   parcel     weight and count           font [10] min [6]
 *   qr         QR code of the tracking    module [0.5] (smallest module)
 *              number only
 *   sign       signature box              font [9] min [5]
 *
 *   Every zone also takes pad [1.2] (inner margin, mm) and border [1] (0 or
 *   1).  Values may be quoted: text="waybill 标准快递".
 *
 *   rotate turns a tracking zone's content a quarter turn, for a tall narrow
 *   zone along a label too narrow for the symbol across (76 mm): 90 is
 *   counter-clockwise (the number reads bottom to top, the digits stand to
 *   the right of the bars), 270 clockwise (reads top to bottom, digits to
 *   the left).  X Y W H stay the zone's box on the page; the symbol then
 *   runs along H (its modules and quiet zones are measured there) and the
 *   bars and digits stack across W.
 *
 * The loader rejects, naming the file and line: an unknown directive or
 * option, a malformed number, a zone outside the page margins, two zones that
 * overlap (touching edges is fine), a narrow bar under 0.375 mm (3 dots at
 * 203 dpi) or a bar under 9 mm, a barcode or QR code that would not fit its
 * zone with its quiet zone (checked with the longest tracking number the API
 * allows: a 4-letter prefix and 18 digits, 22 characters; along H for a
 * rotated zone), font sizes outside 5..72 pt or
 * min above font, a zone too small for one line of its text, and a file
 * missing one of the required kinds (all but title).  Kinds may repeat (a
 * two-part label has a second tracking, recipient and sender zone).
 *
 * RENDERING
 *
 * Text is measured with the font's own advances (font.c), wrapped (at
 * spaces, and between CJK characters) and shrunk from the zone's font size
 * down to its min until it fits; if it still does not fit at min, the last
 * line that fits ends in "…".  Nothing is drawn outside its zone's inner box.
 * Code points the font lacks, and those above U+FFFF that libharu 2.3.0
 * cannot draw, print as "□".
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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hpdf.h>
#include <zint.h>

#include "font.h"
#include "label.h"
#include "log.h"

#define MM_PT (72.0 / 25.4)   /* points per millimetre */
#define DOT_MM (25.4 / 203.0) /* one dot of a 203 dpi printer */
#define NARROW_MIN 0.375      /* mm: GB/T narrow bar, 3 dots */
#define BAR_MIN 9.0	      /* mm */
#define QUIET_C128 10	      /* modules each side */
#define QUIET_QR 4
#define FONT_MIN 5.0
#define FONT_MAX 72.0
#define BOLD_STROKE 0.035 /* em: simulated bold outline width */
#define LEAD 1.22	  /* em: line pitch */
#define ELLIPSIS 0x2026
#define FALLBACK 0x25a1 /* □ */

#define ZONES_MAX 32
#define TMPL_FILE_MAX 65536
#define TMPL_LINE_MAX 512
#define TMPLS_MAX 16
#define RUN_MAX 640
#define LINES_MAX 64
#define PARAS_MAX 4

/* Reference tracking numbers the loader sizes the barcode zones with: the
 * longest the API allows (a 4-letter prefix is the widest Code 128). */
#define REF_C128 "WBXY123456789012345678"
#define REF_QR "WBXY123456789012345678"

enum zone_kind { Z_TITLE, Z_SORT, Z_TRACKING, Z_RECIPIENT, Z_SENDER, Z_PARCEL, Z_QR, Z_SIGN, Z_N };

enum opt {
	O_FONT = 1 << 0,
	O_MIN = 1 << 1,
	O_PAD = 1 << 2,
	O_BORDER = 1 << 3,
	O_ALIGN = 1 << 4,
	O_TEXT = 1 << 5,
	O_MODULE = 1 << 6,
	O_BAR = 1 << 7,
	O_ROTATE = 1 << 8,
};

static const struct kind_info {
	const char *name;
	bool required;
	unsigned opts;
	double font, min;
	int align; /* -1 left, 0 center, 1 right */
} kinds[Z_N] = {
    [Z_TITLE] = {"title", false, O_FONT | O_MIN | O_PAD | O_BORDER | O_ALIGN | O_TEXT, 10, 6, -1},
    [Z_SORT] = {"sort", true, O_FONT | O_MIN | O_PAD | O_BORDER | O_ALIGN, 26, 12, 0},
    [Z_TRACKING] = {"tracking", true, O_FONT | O_PAD | O_BORDER | O_MODULE | O_BAR | O_ROTATE, 10,
		    6, 0},
    [Z_RECIPIENT] = {"recipient", true, O_FONT | O_MIN | O_PAD | O_BORDER, 12, 7, -1},
    [Z_SENDER] = {"sender", true, O_FONT | O_MIN | O_PAD | O_BORDER, 9, 6, -1},
    [Z_PARCEL] = {"parcel", true, O_FONT | O_MIN | O_PAD | O_BORDER, 10, 6, -1},
    [Z_QR] = {"qr", true, O_PAD | O_BORDER | O_MODULE, 0, 0, 0},
    [Z_SIGN] = {"sign", true, O_FONT | O_MIN | O_PAD | O_BORDER, 9, 5, -1},
};

struct zone {
	enum zone_kind kind;
	double x, y, w, h; /* mm */
	double font, min;  /* pt */
	double pad;	   /* mm */
	double module;	   /* mm: tracking narrow bar wanted, qr smallest module */
	double bar;	   /* mm */
	bool border;
	int align;
	int rotate; /* degrees counter-clockwise: 0, 90, 270 */
	int line;
	char text[128];
};

struct label_tmpl {
	char size[16];
	double w, h, margin, line; /* mm */
	struct zone zones[ZONES_MAX];
	size_t nzones;
};

struct label_ctx {
	struct font *font;
	uint32_t fallback;
	int ref_c128; /* modules of REF_C128 */
	int ref_qr;   /* modules of REF_QR, per side */
	struct label_tmpl *tmpls;
	size_t ntmpls;
};

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

/* --- text runs: sanitized code points ---------------------------------- */

struct run {
	uint32_t cp[RUN_MAX];
	size_t n;
};

static void run_put(struct run *r, const struct label_ctx *c, uint32_t cp)
{
	if (r->n >= RUN_MAX)
		return;
	if (cp == '\t' || cp == '\n' || cp == '\r')
		cp = ' ';
	if (!font_has(c->font, cp))
		cp = c->fallback;
	r->cp[r->n++] = cp;
}

/* Append the UTF-8 string s, read up to its NUL or max bytes. */
static void run_add(struct run *r, const struct label_ctx *c, const char *s, size_t max)
{
	const char *p = s;
	size_t n = strnlen(s, max);

	while (n > 0) {
		uint32_t cp;
		size_t used = utf8_decode(p, n, &cp);
		run_put(r, c, cp);
		p += used;
		n -= used;
	}
}

#define RUN_ADD(r, c, field) run_add((r), (c), (field), sizeof(field))

/* province + city (unless the same, as for 北京市) + district, sep between */
static void run_add_region(struct run *r, const struct label_ctx *c, const struct label_region *g,
			   const char *sep)
{
	const char *parts[3] = {g->province, g->city, g->district};
	bool any = false;

	for (int i = 0; i < 3; i++) {
		if (!parts[i][0])
			continue;
		if (i == 1 && strncmp(g->city, g->province, LABEL_REGION_MAX) == 0)
			continue;
		if (any)
			run_add(r, c, sep, 8);
		run_add(r, c, parts[i], LABEL_REGION_MAX);
		any = true;
	}
}

/* --- template loading -------------------------------------------------- */

struct tmpl_src {
	const char *path;
	int line;
	char *err;
	size_t errlen;
};

static enum st tmpl_fail(struct tmpl_src *src, const char *fmt, ...) PRINTF_LIKE(2, 3);

static enum st tmpl_fail(struct tmpl_src *src, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (src->line > 0)
		snprintf(src->err, src->errlen, "%s:%d: %s", src->path, src->line, msg);
	else
		snprintf(src->err, src->errlen, "%s: %s", src->path, msg);
	return ST_INVALID;
}

/*
 * Split s into tokens at blanks; a '#' outside quotes ends the line; a '"'
 * starts a quoted part (the quotes are removed).  Returns the number of
 * tokens, or -1 for an unterminated quote, -2 for too many tokens.
 */
static int tmpl_tokenize(char *s, char **tok, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (n == max)
			return -2;
		tok[n++] = s;
		char *o = s;
		bool quoted = false;
		for (;;) {
			if (*s == '"') {
				quoted = !quoted;
				s++;
				continue;
			}
			if (*s == '\0' || (!quoted && (*s == ' ' || *s == '\t' || *s == '#')))
				break;
			*o++ = *s++;
		}
		if (quoted)
			return -1;
		char end = *s;
		if (*s)
			s++;
		*o = '\0';
		if (end == '#')
			return n;
	}
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Text metrics the loader assumes for one line: ink within [-0.25, 0.9] em. */
static double line_mm(double pt)
{
	return pt * 1.15 / MM_PT;
}

/* Width in modules of one symbol, or -1. */
static int zint_width(struct zint_symbol *sym, int symbology, const char *data, int *rows)
{
	ZBarcode_Clear(sym);
	sym->symbology = symbology;
	sym->input_mode = DATA_MODE;
	if (symbology == BARCODE_QRCODE)
		sym->option_1 = 2; /* error correction M */
	if (ZBarcode_Encode(sym, (const unsigned char *)data, (int)strlen(data)) >= ZINT_ERROR)
		return -1;
	if (rows)
		*rows = sym->rows;
	return sym->width;
}

static enum st zone_check(const struct label_ctx *ctx, const struct label_tmpl *t,
			  const struct zone *z, struct tmpl_src *src)
{
	const char *name = kinds[z->kind].name;
	double eps = 1e-6;
	double iw = z->w - 2 * z->pad, ih = z->h - 2 * z->pad;

	if (z->x < t->margin - eps || z->y < t->margin - eps ||
	    z->x + z->w > t->w - t->margin + eps || z->y + z->h > t->h - t->margin + eps)
		return tmpl_fail(
		    src,
		    "zone %s: outside the page margins (x %.2f..%.2f, y %.2f..%.2f mm; "
		    "allowed x %.2f..%.2f, y %.2f..%.2f)",
		    name, z->x, z->x + z->w, z->y, z->y + z->h, t->margin, t->w - t->margin,
		    t->margin, t->h - t->margin);
	if (iw <= 0 || ih <= 0)
		return tmpl_fail(src, "zone %s: padding %.2f mm leaves no room inside", name,
				 z->pad);
	if (kinds[z->kind].opts & O_FONT) {
		if (z->font < FONT_MIN || z->font > FONT_MAX)
			return tmpl_fail(src, "zone %s: font %.1f pt is outside %.0f..%.0f pt",
					 name, z->font, FONT_MIN, FONT_MAX);
		if (z->min < FONT_MIN || z->min > z->font)
			return tmpl_fail(src,
					 "zone %s: min %.1f pt must be %.0f pt..font (%.1f pt)",
					 name, z->min, FONT_MIN, z->font);
	}
	switch (z->kind) {
	case Z_TRACKING: {
		/* Along the symbol and across it: W and H, or H and W turned. */
		double along = z->rotate ? z->h : z->w, across = z->rotate ? z->w : z->h;
		if (z->module < NARROW_MIN)
			return tmpl_fail(src, "zone tracking: narrow bar %.3f mm is below %.3f mm",
					 z->module, NARROW_MIN);
		if (z->bar < BAR_MIN)
			return tmpl_fail(src, "zone tracking: bar height %.2f mm is below %.0f mm",
					 z->bar, BAR_MIN);
		double need_w = (ctx->ref_c128 + 2 * QUIET_C128) * 3 * DOT_MM + t->line;
		if (need_w > along + eps)
			return tmpl_fail(
			    src,
			    "zone tracking: %.2f mm %s, a %d-character tracking number "
			    "needs %.2f mm at a %.3f mm narrow bar with quiet zones",
			    along, z->rotate ? "high (rotated)" : "wide", (int)strlen(REF_C128),
			    need_w, 3 * DOT_MM);
		double need_h = z->bar + 1.0 + line_mm(z->font) + 2 * z->pad;
		if (need_h > across + eps)
			return tmpl_fail(src,
					 "zone tracking: %.2f mm %s, bars and digits need %.2f mm",
					 across, z->rotate ? "wide (rotated)" : "high", need_h);
		break;
	}
	case Z_QR: {
		double side = fmin(z->w, z->h) - t->line;
		double need = (ctx->ref_qr + 2 * QUIET_QR) * fmax(z->module, 3 * DOT_MM);
		if (z->module < NARROW_MIN)
			return tmpl_fail(src, "zone qr: module %.3f mm is below %.3f mm", z->module,
					 NARROW_MIN);
		if (need > side + eps)
			return tmpl_fail(
			    src,
			    "zone qr: %.2f mm square available, the QR code needs %.2f "
			    "mm at %.3f mm modules with its quiet zone",
			    side, need, z->module);
		break;
	}
	case Z_RECIPIENT:
	case Z_SENDER:
	case Z_TITLE:
	case Z_SORT:
	case Z_PARCEL:
	case Z_SIGN:
		if (line_mm(z->min) > ih + eps)
			return tmpl_fail(
			    src, "zone %s: %.2f mm inside is too low for one line at %.1f pt", name,
			    ih, z->min);
		if (iw < 15.0)
			return tmpl_fail(src,
					 "zone %s: %.2f mm inside is too narrow (15 mm at least)",
					 name, iw);
		break;
	case Z_N:
		break;
	}
	if (z->kind == Z_TITLE) {
		const char *p = z->text;
		size_t n = strlen(z->text);
		if (n == 0)
			return tmpl_fail(src, "zone title: text=\"...\" is required");
		while (n > 0) {
			uint32_t cp;
			size_t used = utf8_decode(p, n, &cp);
			if (cp == UTF8_INVALID)
				return tmpl_fail(src, "zone title: text is not valid UTF-8");
			if (!font_has(ctx->font, cp))
				return tmpl_fail(src, "zone title: U+%04X is not in the font",
						 (unsigned)cp);
			p += used;
			n -= used;
		}
	}
	return ST_OK;
}

static enum st zone_parse(const struct label_ctx *ctx, struct label_tmpl *t, char **tok, int ntok,
			  struct tmpl_src *src)
{
	struct zone *z;
	int k;

	if (ntok < 6)
		return tmpl_fail(src, "expected \"zone KIND X Y W H [key=value ...]\"");
	for (k = 0; k < Z_N; k++)
		if (strcmp(tok[1], kinds[k].name) == 0)
			break;
	if (k == Z_N)
		return tmpl_fail(src, "unknown zone kind \"%.32s\"", tok[1]);
	if (t->nzones == ZONES_MAX)
		return tmpl_fail(src, "more than %d zones", ZONES_MAX);
	z = &t->zones[t->nzones];
	memset(z, 0, sizeof(*z));
	z->kind = (enum zone_kind)k;
	z->line = src->line;
	z->font = kinds[k].font;
	z->min = kinds[k].min;
	z->align = kinds[k].align;
	z->pad = 1.2;
	z->border = true;
	z->module = 0.5;
	z->bar = 12;
	if (!parse_num(tok[2], 0, 1000, &z->x) || !parse_num(tok[3], 0, 1000, &z->y) ||
	    !parse_num(tok[4], 0.01, 1000, &z->w) || !parse_num(tok[5], 0.01, 1000, &z->h))
		return tmpl_fail(src, "zone %s: X Y W H must be numbers in mm (W, H > 0)",
				 kinds[k].name);
	for (int i = 6; i < ntok; i++) {
		char *key = tok[i], *val = strchr(tok[i], '=');
		unsigned opt = 0;
		double *num = NULL, lo = 0, hi = 1000;

		if (!val)
			return tmpl_fail(src, "zone %s: expected key=value, got \"%.32s\"",
					 kinds[k].name, key);
		*val++ = '\0';
		if (strcmp(key, "font") == 0)
			opt = O_FONT, num = &z->font;
		else if (strcmp(key, "min") == 0)
			opt = O_MIN, num = &z->min;
		else if (strcmp(key, "pad") == 0)
			opt = O_PAD, num = &z->pad, hi = 10;
		else if (strcmp(key, "module") == 0)
			opt = O_MODULE, num = &z->module, hi = 5;
		else if (strcmp(key, "bar") == 0)
			opt = O_BAR, num = &z->bar, hi = 100;
		else if (strcmp(key, "border") == 0)
			opt = O_BORDER;
		else if (strcmp(key, "align") == 0)
			opt = O_ALIGN;
		else if (strcmp(key, "text") == 0)
			opt = O_TEXT;
		else if (strcmp(key, "rotate") == 0)
			opt = O_ROTATE;
		else
			return tmpl_fail(src, "zone %s: unknown option \"%.32s\"", kinds[k].name,
					 key);
		if (!(kinds[k].opts & opt))
			return tmpl_fail(src, "zone %s: option \"%s\" does not apply",
					 kinds[k].name, key);
		if (num) {
			if (!parse_num(val, lo, hi, num))
				return tmpl_fail(src,
						 "zone %s: %s=\"%.32s\" is not a number in %g..%g",
						 kinds[k].name, key, val, lo, hi);
		} else if (opt == O_BORDER) {
			if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
				return tmpl_fail(src, "zone %s: border must be 0 or 1",
						 kinds[k].name);
			z->border = val[0] == '1';
		} else if (opt == O_ALIGN) {
			if (strcmp(val, "left") == 0)
				z->align = -1;
			else if (strcmp(val, "center") == 0)
				z->align = 0;
			else if (strcmp(val, "right") == 0)
				z->align = 1;
			else
				return tmpl_fail(src,
						 "zone %s: align must be left, center or right",
						 kinds[k].name);
		} else if (opt == O_ROTATE) {
			if (strcmp(val, "0") == 0)
				z->rotate = 0;
			else if (strcmp(val, "90") == 0)
				z->rotate = 90;
			else if (strcmp(val, "270") == 0)
				z->rotate = 270;
			else
				return tmpl_fail(src, "zone %s: rotate must be 0, 90 or 270",
						 kinds[k].name);
		} else if (opt == O_TEXT) {
			if (strlen(val) >= sizeof(z->text))
				return tmpl_fail(src, "zone %s: text longer than %zu bytes",
						 kinds[k].name, sizeof(z->text) - 1);
			snprintf(z->text, sizeof(z->text), "%s", val);
		}
	}
	if (!(kinds[k].opts & O_MIN) && z->min > z->font)
		z->min = z->font;
	enum st st = zone_check(ctx, t, z, src);
	if (st != ST_OK)
		return st;
	for (size_t i = 0; i < t->nzones; i++) {
		const struct zone *o = &t->zones[i];
		double ix = fmin(z->x + z->w, o->x + o->w) - fmax(z->x, o->x);
		double iy = fmin(z->y + z->h, o->y + o->h) - fmax(z->y, o->y);
		if (ix > 1e-6 && iy > 1e-6)
			return tmpl_fail(src,
					 "zone %s overlaps zone %s of line %d by %.2f x %.2f mm",
					 kinds[k].name, kinds[o->kind].name, o->line, ix, iy);
	}
	t->nzones++;
	return ST_OK;
}

static enum st tmpl_parse(const struct label_ctx *ctx, char *text, struct label_tmpl *t,
			  struct tmpl_src *src)
{
	bool have_page = false;
	char *next;

	t->margin = 2.0;
	t->line = 0.3;
	for (char *s = text; s; s = next) {
		char *tok[24];
		int ntok;

		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		src->line++;
		if (strlen(s) > TMPL_LINE_MAX)
			return tmpl_fail(src, "line longer than %d bytes", TMPL_LINE_MAX);
		size_t l = strlen(s);
		if (l && s[l - 1] == '\r')
			s[l - 1] = '\0';
		for (char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t')
				return tmpl_fail(src, "control character in line");
		ntok = tmpl_tokenize(s, tok, (int)ARRAY_SIZE(tok));
		if (ntok == -1)
			return tmpl_fail(src, "unterminated quote");
		if (ntok == -2)
			return tmpl_fail(src, "too many fields");
		if (ntok == 0)
			continue;
		if (strcmp(tok[0], "page") == 0) {
			if (have_page)
				return tmpl_fail(src, "second page line");
			if (ntok != 3 || !parse_num(tok[1], 20, 400, &t->w) ||
			    !parse_num(tok[2], 20, 400, &t->h))
				return tmpl_fail(src,
						 "expected \"page WIDTH HEIGHT\" in mm (20..400)");
			have_page = true;
		} else if (strcmp(tok[0], "margin") == 0) {
			if (ntok != 2 || !parse_num(tok[1], 0.5, 20, &t->margin))
				return tmpl_fail(src, "expected \"margin MM\" (0.5..20)");
			if (t->nzones)
				return tmpl_fail(src, "margin must come before the zones");
		} else if (strcmp(tok[0], "line") == 0) {
			if (ntok != 2 || !parse_num(tok[1], 0.05, 1, &t->line))
				return tmpl_fail(src, "expected \"line MM\" (0.05..1)");
			if (t->nzones)
				return tmpl_fail(src, "line must come before the zones");
		} else if (strcmp(tok[0], "zone") == 0) {
			if (!have_page)
				return tmpl_fail(src, "zone before the page line");
			enum st st = zone_parse(ctx, t, tok, ntok, src);
			if (st != ST_OK)
				return st;
		} else {
			return tmpl_fail(src, "unknown directive \"%.32s\"", tok[0]);
		}
	}
	src->line = 0;
	if (!have_page)
		return tmpl_fail(src, "no \"page WIDTH HEIGHT\" line");
	if (t->line / 2 > t->margin)
		return tmpl_fail(src, "border line wider than twice the margin");
	for (int k = 0; k < Z_N; k++) {
		bool found = false;
		for (size_t i = 0; i < t->nzones; i++)
			found |= t->zones[i].kind == (enum zone_kind)k;
		if (kinds[k].required && !found)
			return tmpl_fail(src, "required zone \"%s\" is missing", kinds[k].name);
	}
	char want[32];
	snprintf(want, sizeof(want), "%gx%g", t->w, t->h);
	if (strcmp(want, t->size) != 0)
		return tmpl_fail(src, "the file is named for %s but its page is %s mm", t->size,
				 want);
	return ST_OK;
}

static enum st tmpl_load(const struct label_ctx *ctx, const char *dir, const char *name,
			 struct label_tmpl *t, char *err, size_t errlen)
{
	enum st st = ST_OK;
	char path[1024];
	char *buf = NULL;
	int fd = -1;
	size_t len = 0;
	struct tmpl_src src = {path, 0, err, errlen};

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	memset(t, 0, sizeof(*t));
	size_t stem = strlen(name) - strlen(".tmpl");
	if (stem == 0 || stem >= sizeof(t->size)) {
		st = tmpl_fail(&src, "file name is not a size like 100x150.tmpl");
		goto out;
	}
	memcpy(t->size, name, stem);
	t->size[stem] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		st = ST_IO;
		goto out;
	}
	buf = malloc(TMPL_FILE_MAX + 1);
	if (!buf) {
		st = ST_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, TMPL_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			st = ST_IO;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > TMPL_FILE_MAX) {
			st = tmpl_fail(&src, "larger than %d bytes", TMPL_FILE_MAX);
			goto out;
		}
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len)) {
		st = tmpl_fail(&src, "NUL byte in file");
		goto out;
	}
	st = tmpl_parse(ctx, buf, t, &src);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return st;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum st ctx_load_tmpls(struct label_ctx *ctx, const char *dir, char *err, size_t errlen)
{
	enum st st = ST_OK;
	DIR *d = NULL;
	char *names[TMPLS_MAX];
	size_t n = 0;

	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
		st = ST_IO;
		goto out;
	}
	for (struct dirent *e; (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l <= 5 || strcmp(e->d_name + l - 5, ".tmpl") != 0)
			continue;
		if (n == TMPLS_MAX) {
			snprintf(err, errlen, "%s: more than %d templates", dir, TMPLS_MAX);
			st = ST_INVALID;
			goto out;
		}
		names[n] = strdup(e->d_name);
		if (!names[n]) {
			st = ST_NOMEM;
			goto out;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "%s: no *.tmpl files", dir);
		st = ST_INVALID;
		goto out;
	}
	qsort(names, n, sizeof(names[0]), cmp_names);
	ctx->tmpls = calloc(n, sizeof(*ctx->tmpls));
	if (!ctx->tmpls) {
		st = ST_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		st = tmpl_load(ctx, dir, names[i], &ctx->tmpls[i], err, errlen);
		if (st != ST_OK)
			goto out;
		ctx->ntmpls++;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (d)
		closedir(d);
	return st;
}

enum st label_ctx_new(const char *templates_dir, const char *font_path, struct label_ctx **out,
		      char *err, size_t errlen)
{
	enum st st = ST_OK;
	struct label_ctx *ctx = NULL;
	struct zint_symbol *sym = NULL;

	ctx = calloc(1, sizeof(*ctx));
	sym = ZBarcode_Create();
	if (!ctx || !sym) {
		st = ST_NOMEM;
		goto out;
	}
	st = font_new(font_path, 0, &ctx->font);
	if (st != ST_OK) {
		snprintf(err, errlen, "%s: %s", font_path,
			 st == ST_IO ? "cannot read the font file"
				     : "not a TrueType font (CFF outlines cannot be embedded)");
		goto out;
	}
	ctx->fallback = font_has(ctx->font, FALLBACK) ? FALLBACK : '?';
	if (!font_has(ctx->font, ELLIPSIS) || !font_has(ctx->font, 0x6536)) {
		snprintf(err, errlen, "%s: the font has no CJK glyphs", font_path);
		st = ST_INVALID;
		goto out;
	}
	ctx->ref_c128 = zint_width(sym, BARCODE_CODE128, REF_C128, NULL);
	ctx->ref_qr = zint_width(sym, BARCODE_QRCODE, REF_QR, NULL);
	if (ctx->ref_c128 <= 0 || ctx->ref_qr <= 0) {
		snprintf(err, errlen, "libzint cannot encode a tracking number");
		st = ST_INTERNAL;
		goto out;
	}
	st = ctx_load_tmpls(ctx, templates_dir, err, errlen);
	if (st != ST_OK)
		goto out;
	*out = ctx;
	ctx = NULL;
out:
	ZBarcode_Delete(sym);
	label_ctx_free(ctx);
	return st;
}

void label_ctx_free(struct label_ctx *ctx)
{
	if (!ctx)
		return;
	font_free(ctx->font);
	free(ctx->tmpls);
	free(ctx);
}

const struct label_tmpl *label_tmpl_find(const struct label_ctx *ctx, const char *size)
{
	if (!size || !*size)
		size = LABEL_DEFAULT_SIZE;
	for (size_t i = 0; i < ctx->ntmpls; i++)
		if (strcmp(ctx->tmpls[i].size, size) == 0)
			return &ctx->tmpls[i];
	return NULL;
}

const char *label_tmpl_size(const struct label_tmpl *t)
{
	return t->size;
}

void label_tmpl_page(const struct label_tmpl *t, double *w_mm, double *h_mm)
{
	*w_mm = t->w;
	*h_mm = t->h;
}

size_t label_tmpl_zone_count(const struct label_tmpl *t)
{
	return t->nzones;
}

void label_tmpl_zone(const struct label_tmpl *t, size_t i, struct label_zone_info *out)
{
	const struct zone *z = &t->zones[i];

	out->kind = kinds[z->kind].name;
	out->x = z->x;
	out->y = z->y;
	out->w = z->w;
	out->h = z->h;
	out->rotate = z->rotate;
}

/* --- rendering --------------------------------------------------------- */

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

struct box {
	double x, y, w, h; /* mm, top-left origin */
};

struct para {
	const struct run *run;
	double scale; /* of the block's size */
	bool bold;
};

struct line {
	size_t para, from, to;
	double size;  /* pt */
	double base;  /* mm below the block's top */
	double width; /* mm */
	bool ellipsis;
};

struct layout {
	struct line lines[LINES_MAX];
	size_t n;
	double height;	  /* mm */
	double asc, desc; /* em, desc negative */
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
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 256;
		struct label_item *items = realloc(tr->items, cap * sizeof(*items));
		if (!items) {
			render_fail(r, ST_NOMEM);
			return NULL;
		}
		tr->items = items;
		tr->cap = cap;
	}
	struct label_item *it = &tr->items[tr->n++];
	memset(it, 0, sizeof(*it));
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

/* Advance width of cps[from..to) in mm at size pt. */
static double run_width(const struct render *r, const uint32_t *cp, size_t from, size_t to,
			double size)
{
	unsigned long w = 0;

	for (size_t i = from; i < to; i++)
		w += font_advance(r->ctx->font, cp[i]);
	return (double)w * size / 1000.0 / MM_PT;
}

static bool is_space(uint32_t cp)
{
	return cp == ' ' || cp == 0x3000 || cp == 0xa0;
}

/* May a line break fall between a and b? */
static bool can_break(uint32_t a, uint32_t b)
{
	static const uint32_t no_start[] = {0xff0c, 0x3002, 0x3001, 0xff09, 0xff1a,
					    0xff1b, 0xff01, 0xff1f, 0x2026, 0xb7};
	if (is_space(b))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(no_start); i++)
		if (b == no_start[i])
			return false;
	return is_space(a) || a >= 0x2e80 || b >= 0x2e80;
}

/* Ink extents (em) of all the characters of the block, never less than
 * the CJK ideograph box, so lines of one size are evenly spaced. */
static void block_metrics(const struct render *r, const struct para *p, size_t np, double *asc,
			  double *desc)
{
	int ymax = 880, ymin = -140;

	for (size_t i = 0; i < np; i++)
		for (size_t j = 0; j < p[i].run->n; j++) {
			int hi, lo;
			font_ink(r->ctx->font, p[i].run->cp[j], &hi, &lo);
			if (hi > ymax)
				ymax = hi;
			if (lo < ymin)
				ymin = lo;
		}
	*asc = ymax / 1000.0 + BOLD_STROKE / 2;
	*desc = ymin / 1000.0 - BOLD_STROKE / 2;
}

/*
 * Lay the paragraphs out at size into width w; false when they take more
 * than h mm or more than max_lines lines.  With force, lay out what fits
 * and end the last line that fits with an ellipsis.
 */
static bool layout_at(const struct render *r, const struct para *p, size_t np, double size,
		      double w, double h, size_t max_lines, bool force, struct layout *lo)
{
	double y = 0;
	double pitch = fmax(LEAD, lo->asc - lo->desc + 0.06);

	lo->n = 0;
	lo->height = 0;
	for (size_t pi = 0; pi < np; pi++) {
		const uint32_t *cp = p[pi].run->cp;
		size_t n = p[pi].run->n, i = 0;
		double s = size * p[pi].scale;

		while (i < n) {
			while (i < n && is_space(cp[i]))
				i++;
			if (i == n)
				break;
			size_t j = i, brk = 0;
			double width = 0;
			while (j < n) {
				double cw = run_width(r, cp, j, j + 1, s);
				if (width + cw > w) {
					if (is_space(cp[j]))
						brk = j; /* trimmed: it needs no room */
					break;
				}
				width += cw;
				j++;
				if (j < n && can_break(cp[j - 1], cp[j]))
					brk = j;
			}
			if (j < n) {
				if (brk > i)
					j = brk;
				else if (j == i)
					j = i + 1; /* one glyph wider than the line */
			}
			size_t end = j;
			while (end > i && is_space(cp[end - 1]))
				end--;
			double bottom = y + (lo->asc - lo->desc) * s / MM_PT;
			if (lo->n == LINES_MAX || lo->n == max_lines || bottom > h + 1e-9) {
				if (!force)
					return false;
				goto truncate;
			}
			struct line *ln = &lo->lines[lo->n++];
			ln->para = pi;
			ln->from = i;
			ln->to = end;
			ln->size = s;
			ln->base = y + lo->asc * s / MM_PT;
			ln->width = run_width(r, cp, i, end, s);
			ln->ellipsis = false;
			lo->height = bottom;
			y += pitch * s / MM_PT;
			i = j;
		}
	}
	return true;
truncate:
	if (lo->n > 0) {
		struct line *ln = &lo->lines[lo->n - 1];
		const uint32_t *cp = p[ln->para].run->cp;
		uint32_t ell = ELLIPSIS;
		double ew = run_width(r, &ell, 0, 1, ln->size);
		while (ln->to > ln->from && run_width(r, cp, ln->from, ln->to, ln->size) + ew > w)
			ln->to--;
		ln->width = run_width(r, cp, ln->from, ln->to, ln->size) + ew;
		ln->ellipsis = true;
	}
	return false;
}

/* Largest size in [min, max] (quarter points) at which the block fits. */
static void layout_fit(const struct render *r, const struct para *p, size_t np, double max,
		       double min, double w, double h, size_t max_lines, struct layout *lo)
{
	block_metrics(r, p, np, &lo->asc, &lo->desc);
	for (double s = max; s >= min - 1e-9; s -= 0.25)
		if (layout_at(r, p, np, s, w, h, max_lines, false, lo))
			return;
	if (max_lines != SIZE_MAX) {
		for (double s = max; s >= min - 1e-9; s -= 0.25)
			if (layout_at(r, p, np, s, w, h, SIZE_MAX, false, lo))
				return;
	}
	layout_at(r, p, np, min, w, h, SIZE_MAX, true, lo);
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

	layout_fit(r, p, np, max, min, b->w, b->h, max_lines, &lo);
	draw_layout(r, p, &lo, b, align, valign);
}

static struct box zone_inner(const struct zone *z)
{
	struct box b = {z->x + z->pad, z->y + z->pad, z->w - 2 * z->pad, z->h - 2 * z->pad};
	return b;
}

/* A black square with a white character: 收 or 寄.  Returns its side. */
static double draw_badge(struct render *r, const struct box *b, double font, uint32_t ch)
{
	double side = fmin(b->h, font * 1.9 / MM_PT);
	struct run run = {{0}, 0};
	struct para p = {&run, 1.0, false};
	struct line ln;
	double size = side * MM_PT * 0.72;

	run_put(&run, r->ctx, ch);
	ln.para = 0;
	ln.from = 0;
	ln.to = 1;
	ln.size = size;
	ln.width = run_width(r, run.cp, 0, 1, size);
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
	struct box in = zone_inner(z);
	struct run run = {{0}, 0};
	struct para p = {&run, 1.0, false};
	double bar_w = 0, module = 0, x0 = 0;

	RUN_ADD(&run, r->ctx, f->tracking_no);
	if (!r->collect) {
		int w = zint_width(r->sym, BARCODE_CODE128, f->tracking_no, NULL);
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
	int n = zint_width(r->sym, BARCODE_QRCODE, f->tracking_no, NULL);
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
	struct box in = zone_inner(z);
	struct run name_phone = {{0}, 0}, vnum = {{0}, 0}, addr = {{0}, 0};
	struct para p[PARAS_MAX];
	size_t np = 0;
	const struct masked *name = recipient ? &f->rcpt_name : &f->sndr_name;
	const struct masked *phone = recipient ? &f->rcpt_phone : &f->sndr_phone;

	RUN_ADD(&name_phone, r->ctx, name->s);
	run_add(&name_phone, r->ctx, "  ", 2);
	RUN_ADD(&name_phone, r->ctx, phone->s);
	p[np++] = (struct para){&name_phone, 1.0, recipient};
	if (recipient && f->vnum[0]) {
		run_add(&vnum, r->ctx, "隐私号 ", 16);
		RUN_ADD(&vnum, r->ctx, f->vnum);
		if (f->ext[0]) {
			run_add(&vnum, r->ctx, " 转 ", 8);
			RUN_ADD(&vnum, r->ctx, f->ext);
		}
		p[np++] = (struct para){&vnum, 1.0, true};
	}
	if (recipient) {
		run_add_region(&addr, r->ctx, &f->dest, "");
		RUN_ADD(&addr, r->ctx, f->rcpt_address.s);
	} else {
		run_add_region(&addr, r->ctx, &f->sndr, " ");
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
	struct box in = zone_inner(z);
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
	run_add(&one, r->ctx, wbuf, sizeof(wbuf));
	run_add(&one, r->ctx, "   ", 4);
	run_add(&one, r->ctx, cbuf, sizeof(cbuf));
	block_metrics(r, &p, 1, &lo.asc, &lo.desc);
	if (layout_at(r, &p, 1, z->font, in.w, in.h, 1, false, &lo)) {
		draw_layout(r, &p, &lo, &in, -1, 0);
		return;
	}
	run_add(&weight, r->ctx, wbuf, sizeof(wbuf));
	run_add(&count, r->ctx, cbuf, sizeof(cbuf));
	draw_text_block(r, two, 2, &in, z->font, z->min, 2, -1, 0);
}

static void draw_sign(struct render *r, const struct zone *z)
{
	static const char note[] =
	    "快件送达收件人地址，经收件人或收件人允许的代收人签字，即视为送达。";
	struct box in = zone_inner(z);
	struct run label_run = {{0}, 0}, note_run = {{0}, 0};
	struct para label = {&label_run, 1.0, false}, small = {&note_run, 1.0, false};
	struct layout lo;

	run_add(&label_run, r->ctx, "签收人：　　　　　　　　签收时间：", 64);
	run_add(&note_run, r->ctx, note, sizeof(note));
	block_metrics(r, &label, 1, &lo.asc, &lo.desc);
	double label_h = (lo.asc - lo.desc) * z->font / MM_PT;
	struct box top = {in.x, in.y, in.w, fmin(in.h, label_h * 2.3)};
	draw_text_block(r, &label, 1, &top, z->font, z->min, 2, -1, -1);
	struct box bottom = {in.x, in.y + top.h + 1.0, in.w, in.h - top.h - 1.0};
	block_metrics(r, &small, 1, &lo.asc, &lo.desc);
	double smax = fmax(z->min, z->font * 0.75);
	for (double s = smax; bottom.h > 0 && s >= z->min - 1e-9; s -= 0.25)
		if (layout_at(r, &small, 1, s, bottom.w, bottom.h, SIZE_MAX, false, &lo)) {
			draw_layout(r, &small, &lo, &bottom, -1, 1);
			break;
		}
}

static void draw_zone(struct render *r, const struct zone *z, const struct label_fields *f)
{
	struct box in = zone_inner(z);

	switch (z->kind) {
	case Z_TITLE:
	case Z_SORT: {
		struct run run = {{0}, 0};
		if (z->kind == Z_TITLE)
			run_add(&run, r->ctx, z->text, sizeof(z->text));
		else
			run_add_region(&run, r->ctx, &f->dest, " ");
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

enum st label_render(const struct label_ctx *ctx, const struct label_tmpl *tmpl,
		     const struct label_fields *pages, size_t npages, unsigned char **pdf,
		     size_t *len)
{
	return label_render_trace(ctx, tmpl, pages, npages, pdf, len, NULL);
}
