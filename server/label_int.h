/*
 * label_int.h - what the files of the label module share: units, limits,
 * the parsed template and the context.  Private to label*.c; the API is
 * label.h.
 *
 *   label_tmpl.c  template files: parsing and checking (libzint measures)
 *   label.c       text runs, layout and drawing (libharu, libzint)
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

struct zint_symbol;

/* Width in modules of one symbol (libzint's symbology: Code 128 or QR), or
 * -1; *rows (may be NULL) gets its rows.  label_tmpl.c. */
int label_zint_width(struct zint_symbol *sym, int symbology, const char *data, int *rows);

#endif
