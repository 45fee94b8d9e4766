/*
 * label_int.h - what the files of the label module share: units, limits,
 * the parsed template and the context.  Private to label*.c; the API is
 * label.h.
 *
 *   label.c         template files: parsing and checking (libzint measures)
 *   label_layout.c  text runs and their layout, measured with the font
 *   label_draw.c     drawing: pages, text and barcodes (libharu, libzint)
 */
#ifndef WAYBILL_LABEL_INT_H
#define WAYBILL_LABEL_INT_H

#include "common.h"

#include "font.h"
#include "label.h"

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

/* --- text runs and layout (label_layout.c) ------------------------------------- */

/* Code points to draw: tabs and newlines made spaces, what the font lacks
 * made the fallback glyph. */
struct run {
	uint32_t cp[RUN_MAX];
	size_t n;
};

/* Append one code point; past RUN_MAX nothing more is taken. */
void label_run_put(struct run *r, const struct label_ctx *c, uint32_t cp);
/* Append the UTF-8 string s, read up to its NUL or max bytes. */
void label_run_add(struct run *r, const struct label_ctx *c, const char *s, size_t max);
#define RUN_ADD(r, c, field) label_run_add((r), (c), (field), sizeof(field))
/* province + city (unless the same, as for 北京市) + district, sep between */
void label_run_add_region(struct run *r, const struct label_ctx *c, const struct label_region *g,
			  const char *sep);

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

/* Advance width of cps[from..to) in mm at size pt. */
double label_run_width(const struct font *font, const uint32_t *cp, size_t from, size_t to,
		       double size);
/* Ink extents (em) of the block's characters, never less than the CJK box. */
void label_block_metrics(const struct font *font, const struct para *p, size_t np, double *asc,
			 double *desc);
/* Lay the paragraphs out at size into w x h mm (see label_layout.c). */
bool label_layout_at(const struct font *font, const struct para *p, size_t np, double size,
		     double w, double h, size_t max_lines, bool force, struct layout *lo);
/* Largest size in [min, max] (quarter points) at which the block fits. */
void label_layout_fit(const struct font *font, const struct para *p, size_t np, double max,
		      double min, double w, double h, size_t max_lines, struct layout *lo);
/* A zone's box less its padding. */
struct box label_zone_inner(const struct zone *z);

struct zint_symbol;

/* Width in modules of one symbol (libzint's symbology: Code 128 or QR), or
 * -1; *rows (may be NULL) gets its rows.  label.c. */
int label_zint_width(struct zint_symbol *sym, int symbology, const char *data, int *rows);

#endif
