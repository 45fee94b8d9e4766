/*
 * label.c - label templates: reading, parsing and checking them, and
 * the context that holds them (label_ctx_new).  See label.h for the API.
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
 *   hub        Code 128 of the hub code   font [12] (the code alone when
 *              (集包地), its characters     the symbol does not fit) min [6]
 *              under it; empty without    (its characters) module [0.25]
 *              a sort code                (narrow bar, >= 0.25)
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
 * missing one of the required kinds (all but title and hub).  Kinds may repeat (a
 * two-part label has a second tracking, recipient and sender zone).
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

#include <zint.h>

#include "font.h"
#include "label.h"
#include "label_int.h"

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
    [Z_HUB] = {"hub", false, O_FONT | O_MIN | O_PAD | O_BORDER | O_MODULE, 12, 6, 0},
};

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
int label_zint_width(struct zint_symbol *sym, int symbology, const char *data, int *rows)
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
	case Z_HUB:
		if (z->module < 0.25 - eps)
			return tmpl_fail(src, "zone hub: narrow bar %.3f mm is below 0.250 mm",
					 z->module);
		if (line_mm(z->font) > ih + eps || iw < 15.0)
			return tmpl_fail(src, "zone hub: %.2f x %.2f mm inside is too small", iw,
					 ih);
		break;
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
	z->module = k == Z_HUB ? 0.25 : 0.5;
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
	st = label_ft_new(font_path, 0, &ctx->ft);
	if (st != ST_OK) {
		snprintf(err, errlen, "%s: the glyph rasteriser cannot read the font", font_path);
		goto out;
	}
	ctx->fallback = font_has(ctx->font, FALLBACK) ? FALLBACK : '?';
	if (!font_has(ctx->font, ELLIPSIS) || !font_has(ctx->font, 0x6536)) {
		snprintf(err, errlen, "%s: the font has no CJK glyphs", font_path);
		st = ST_INVALID;
		goto out;
	}
	ctx->ref_c128 = label_zint_width(sym, BARCODE_CODE128, REF_C128, NULL);
	ctx->ref_qr = label_zint_width(sym, BARCODE_QRCODE, REF_QR, NULL);
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
	label_ft_free(ctx->ft);
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
