/*
 * label_int.h - what the files of the label module share: units, limits,
 * the parsed template and the context.  Private to label*.c; the API is
 * label.h.
 *
 *   label.c         template files: parsing and checking (libzint measures)
 *   label_layout.c  text runs and their layout, measured with the font
 *   label_draw.c    the walk: each zone's text runs, rules and barcodes
 *                   (libzint), handed to a canvas; label_render_to()
 *   label_pdf.c     the PDF canvas (libharu)
 *   label_raster.c  the 1-bit raster canvas at 203 or 300 dpi
 *   label_ft.c      glyph bitmaps (FreeType) from the same font file
 *   label_encode.c  raster pages as PNG (libpng), ZPL and TSPL
 *   label_deflate.c the zlib streams of ZPL's graphics
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

enum zone_kind {
	Z_TITLE,
	Z_SORT,
	Z_TRACKING,
	Z_RECIPIENT,
	Z_SENDER,
	Z_PARCEL,
	Z_QR,
	Z_SIGN,
	Z_HUB,
	Z_N
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

struct label_ft;

struct label_ctx {
	struct font *font;
	struct label_ft *ft; /* the same font file, for the raster canvas */
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

/* --- canvases: the walk (label_draw.c) hands each page to one -------------- */

/*
 * A canvas draws what the walk meets.  Lengths are mm from the top-left
 * corner of the current frame: the page, or between frame(c, z) and
 * frame(c, NULL) a rotated zone's own (z->rotate degrees counter-clockwise,
 * origin at the content's top-left, label_frame_to_page() maps it).  A
 * failure is kept in c->st (the first one) and ends the render.
 */
struct canvas;
struct canvas_ops {
	void (*page)(struct canvas *c); /* a new page of c->t's size */
	/* every zone border: n boxes stroked with lines lw mm wide, centred */
	void (*rules)(struct canvas *c, const struct box *b, size_t n, double lw);
	void (*frame)(struct canvas *c, const struct zone *z);
	/* a line of text: cp[0..n), its pen at x, its baseline at base; size in
	 * points; bold adds a BOLD_STROKE outline; white draws in white */
	void (*text)(struct canvas *c, const uint32_t *cp, size_t n, double x, double base,
		     double size, bool bold, bool white);
	void (*fill)(struct canvas *c, double x, double y, double w, double h);
	/* libzint's dark modules (the first row only when one_row), the symbol's
	 * top-left at x, y, each module mw x mh */
	void (*modules)(struct canvas *c, const struct zint_symbol *s, double x, double y,
			double mw, double mh, bool one_row);
};
struct canvas {
	const struct canvas_ops *ops;
	const struct label_ctx *ctx;
	const struct label_tmpl *t;
	double dot;	/* mm: the printer dot that barcodes and their modules snap to */
	bool text_only; /* a pass that only wants the text (PDF: the font subset's code points) */
	enum st st;	/* the first failure */
};

void label_canvas_fail(struct canvas *c, enum st st);
/* A point of a frame turned by rot (0, 90, 270) in zone z, on the page (mm). */
void label_frame_to_page(const struct zone *z, int rot, double u, double v, double *x, double *y);
/* Walk npages labels onto c (c->st says how it went); trace may be NULL. */
enum st label_draw_pages(struct canvas *c, const struct label_fields *pages, size_t npages,
			 struct label_trace *trace);
/* Fields every canvas refuses (see label_render()). */
bool label_fields_ok(const struct label_fields *f);

/* label_pdf.c */
enum st label_pdf_render(const struct label_ctx *ctx, const struct label_tmpl *t,
			 const struct label_fields *pages, size_t npages, unsigned char **pdf,
			 size_t *len, struct label_trace *trace);

/* --- raster (label_raster.c) ------------------------------------------------ */

/* A 1-bit page: bit 7 of byte 0 is the top-left dot, 1 is ink. */
struct raster {
	int w, h;      /* dots */
	size_t stride; /* bytes a row: (w + 7) / 8 */
	int dpi;
	unsigned char *bits; /* h * stride */
};
/* Render one label as a raster at dpi; *out is the caller's (label_raster_free). */
enum st label_raster_render(const struct label_ctx *ctx, const struct label_tmpl *t, int dpi,
			    const struct label_fields *f, struct raster *out,
			    struct label_trace *trace);
void label_raster_release(struct raster *r);

/* --- glyphs (label_ft.c, the only user of FreeType) ------------------------- */

/* A glyph as 1-bit rows (MSB first, 1 is ink), left/top from the pen: the
 * bitmap's top-left is left dots right of the pen, top dots above the
 * baseline.  Borrowed from the face until label_ft_put(). */
struct label_glyph {
	int left, top, w, h, pitch;
	const unsigned char *bits;
};
struct label_ft_face;
enum st label_ft_new(const char *path, unsigned index, struct label_ft **out);
void label_ft_free(struct label_ft *ft);
/* A face for this thread's render, and back (faces are pooled). */
struct label_ft_face *label_ft_get(struct label_ft *ft);
void label_ft_put(struct label_ft *ft, struct label_ft_face *face);
/* cp at size points and dpi, bold as the PDF's outline; false when there is
 * no glyph (nothing to draw). */
bool label_ft_glyph(struct label_ft_face *face, uint32_t cp, double size, int dpi, bool bold,
		    struct label_glyph *g);

/* --- encoders (label_encode.c) ---------------------------------------------- */

/* Append page (one label) to out in format (PNG, ZPL or TSPL); t gives the
 * size in mm for TSPL.  ST_NOMEM, ST_INTERNAL. */
enum st label_encode_page(enum label_format format, const struct raster *page,
			  const struct label_tmpl *t, struct buf *out);
/* The zlib stream of n bytes of rows row_bytes long (at most 32 KiB), in
 * *out (the caller frees).  ST_NOMEM, ST_INVALID.  label_deflate.c. */
enum st label_deflate_rows(const unsigned char *rows, size_t n, size_t row_bytes,
			   unsigned char **out, size_t *out_len);
/* Z64 of a ZPL graphic: base64 of the zlib stream, and its CRC-16/XMODEM. */
uint16_t label_crc16_xmodem(const unsigned char *p, size_t n);

#endif
