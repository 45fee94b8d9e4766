/*
 * label_layout.c - what a label says and where: text runs of sanitized code points,
 * and their layout (wrapping and fitting) measured with the font alone, so
 * any canvas can draw it.  label_pdf.c draws with libharu; label.c
 * reads the templates.  See label.h for the API.
 *
 * Text is measured with the font's own advances (font.c), wrapped (at
 * spaces, and between CJK characters) and shrunk from the zone's font size
 * down to its min until it fits; if it still does not fit at min, the last
 * line that fits ends in "…".  Nothing is drawn outside its zone's inner box.
 * Code points the font lacks, and those above U+FFFF that libharu 2.3.0
 * cannot draw, print as "□".
 */
#include "common.h"

#include <math.h>

#include "font.h"
#include "label.h"
#include "label_int.h"

/* --- text runs: sanitized code points ---------------------------------- */

void label_run_put(struct run *r, const struct label_ctx *c, uint32_t cp)
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
void label_run_add(struct run *r, const struct label_ctx *c, const char *s, size_t max)
{
	const char *p = s;
	size_t n = strnlen(s, max);

	while (n > 0) {
		uint32_t cp;
		size_t used = utf8_decode(p, n, &cp);
		label_run_put(r, c, cp);
		p += used;
		n -= used;
	}
}

/* province + city (unless the same, as for 北京市) + district, sep between */
void label_run_add_region(struct run *r, const struct label_ctx *c, const struct label_region *g,
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
			label_run_add(r, c, sep, 8);
		label_run_add(r, c, parts[i], LABEL_REGION_MAX);
		any = true;
	}
}

/* --- layout ------------------------------------------------------------ */

/* Advance width of cps[from..to) in mm at size pt. */
double label_run_width(const struct font *font, const uint32_t *cp, size_t from, size_t to,
		       double size)
{
	unsigned long w = 0;

	for (size_t i = from; i < to; i++)
		w += font_advance(font, cp[i]);
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
void label_block_metrics(const struct font *font, const struct para *p, size_t np, double *asc,
			 double *desc)
{
	int ymax = 880, ymin = -140;

	for (size_t i = 0; i < np; i++)
		for (size_t j = 0; j < p[i].run->n; j++) {
			int hi, lo;
			font_ink(font, p[i].run->cp[j], &hi, &lo);
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
bool label_layout_at(const struct font *font, const struct para *p, size_t np, double size,
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
				double cw = label_run_width(font, cp, j, j + 1, s);
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
			ln->width = label_run_width(font, cp, i, end, s);
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
		double ew = label_run_width(font, &ell, 0, 1, ln->size);
		while (ln->to > ln->from &&
		       label_run_width(font, cp, ln->from, ln->to, ln->size) + ew > w)
			ln->to--;
		ln->width = label_run_width(font, cp, ln->from, ln->to, ln->size) + ew;
		ln->ellipsis = true;
	}
	return false;
}

/* Largest size in [min, max] (quarter points) at which the block fits. */
void label_layout_fit(const struct font *font, const struct para *p, size_t np, double max,
		      double min, double w, double h, size_t max_lines, struct layout *lo)
{
	label_block_metrics(font, p, np, &lo->asc, &lo->desc);
	for (double s = max; s >= min - 1e-9; s -= 0.25)
		if (label_layout_at(font, p, np, s, w, h, max_lines, false, lo))
			return;
	if (max_lines != SIZE_MAX) {
		for (double s = max; s >= min - 1e-9; s -= 0.25)
			if (label_layout_at(font, p, np, s, w, h, SIZE_MAX, false, lo))
				return;
	}
	label_layout_at(font, p, np, min, w, h, SIZE_MAX, true, lo);
}

struct box label_zone_inner(const struct zone *z)
{
	struct box b = {z->x + z->pad, z->y + z->pad, z->w - 2 * z->pad, z->h - 2 * z->pad};
	return b;
}
