/*
 * label.h - waybill labels as PDF, PNG, ZPL or TSPL (docs/API.md "Labels",
 * docs/DESIGN.md "Labels").
 *
 * One layout, several canvases: label_draw.c walks a template (positions in
 * mm, text runs, rules, barcodes) and a canvas draws what it meets:
 * label_pdf.c (the only user of hpdf.h, libharu) or label_raster.c (a 1-bit
 * image at a printer's 203 or 300 dpi, glyphs from label_ft.c, the only
 * user of FreeType), which label_encode.c turns into PNG (the only user of
 * libpng), ZPL or TSPL.  zint.h (libzint) is used by label_draw.c and
 * label.c.  Layouts come from template files, one per size
 * (templates/100x150.tmpl ...; the format is described at the top of
 * label.c); label_layout.c lays text out with the font alone.  Personal
 * fields are accepted only as struct masked, which only mask.c makes: a raw
 * phone cannot reach a label.
 *
 * A label_ctx is built once per process (templates parsed and checked, the
 * font loaded and measured) and is read-only afterwards: label_render() may
 * run in any number of threads at once on the same context.
 */
#ifndef WAYBILL_LABEL_H
#define WAYBILL_LABEL_H

#include "common.h"
#include "buf.h"
#include "mask.h"

#define LABEL_TN_MAX 24	     /* "ABCD" + 18 digits + NUL, rounded (= TN_MAX) */
#define LABEL_REGION_MAX 132 /* 32 code points of up to 4 bytes, + NUL */
#define LABEL_MAX_PAGES 1000 /* per document; the API allows 500 */
#define LABEL_DEFAULT_SIZE "100x150"
#define LABEL_SORT_MAX 24      /* sort code (三段码), "571-M3-02" + NUL, rounded */
#define LABEL_HUB_NAME_MAX 132 /* hub name (集包地), 32 code points of up to 4 bytes */
#define LABEL_HUB_CODE_MAX 24  /* hub code, printable ASCII: its small Code 128 */
#define LABEL_DPI_DEFAULT 203

/* A province, city and district, in the clear (not personal data). */
struct label_region {
	char province[LABEL_REGION_MAX]; /* "广东省" */
	char city[LABEL_REGION_MAX];	 /* "深圳市"; same as province for 北京市 etc. */
	char district[LABEL_REGION_MAX]; /* "宝安区" */
};

/* What one label shows.  Strings are UTF-8, NUL-terminated; "" when absent. */
struct label_fields {
	char tracking_no[LABEL_TN_MAX]; /* "WB123456789012345678": the barcodes */
	struct label_region dest;	/* the sort line and the address's start */
	struct masked rcpt_name;	/* mask_name() */
	struct masked rcpt_phone;	/* mask_phone() */
	struct masked rcpt_address;	/* mask_address() of the part under the district */
	char vnum[16];			/* virtual number, "" when none */
	char ext[8];			/* its extension, "" when none */
	struct masked sndr_name;
	struct masked sndr_phone;
	struct label_region sndr; /* the sender's region only: no street */
	int weight_g;		  /* grams, > 0 */
	int count;		  /* parcels, > 0 */
	/* Sorting (the routing table's answer); "" when the destination has none:
	 * the sort zone then prints the region. */
	char sort_code[LABEL_SORT_MAX];	   /* the largest type of the label */
	char hub_name[LABEL_HUB_NAME_MAX]; /* under the sort code */
	char hub_code[LABEL_HUB_CODE_MAX]; /* Code 128 in the template's hub zone */
};

/* What a label is rendered as.  PNG is one label per image. */
enum label_format { LABEL_PDF, LABEL_PNG, LABEL_ZPL, LABEL_TSPL, LABEL_FORMAT_N };

/* "pdf", "png", "zpl", "tspl" (exactly, lower case) -> *out; false otherwise. */
bool label_format_parse(const char *s, enum label_format *out);
const char *label_format_name(enum label_format f);
/* "application/pdf", "image/png", "application/vnd.zebra-zpl",
 * "application/vnd.tsc-tspl" */
const char *label_format_content_type(enum label_format f);
/* A printer resolution the raster canvas draws at: 203 or 300. */
bool label_dpi_ok(int dpi);

struct label_ctx;  /* templates + font, shared by all threads */
struct label_tmpl; /* one size, owned by its label_ctx */

/*
 * Load every "*.tmpl" file in templates_dir and the font (face 0 of
 * font_path; a TrueType font or collection with CJK glyphs, e.g.
 * /usr/share/fonts/truetype/wqy/wqy-microhei.ttc).  On ST_OK *out is the
 * caller's (label_ctx_free).  Otherwise err gets one line naming the file,
 * the line and the problem ("templates/76x130.tmpl:9: zone tracking: narrow
 * bar 0.300 mm is below 0.375 mm"); ST_INVALID for a bad template, ST_IO
 * when a file cannot be read, ST_NOMEM.
 */
enum st label_ctx_new(const char *templates_dir, const char *font_path, struct label_ctx **out,
		      char *err, size_t errlen);
void label_ctx_free(struct label_ctx *ctx);

/* The template of a size ("100x150"); NULL or "" is LABEL_DEFAULT_SIZE.
 * NULL when there is no such size.  Borrowed from ctx. */
const struct label_tmpl *label_tmpl_find(const struct label_ctx *ctx, const char *size);

/*
 * Render npages labels (1..LABEL_MAX_PAGES) as one PDF, one page per label
 * in the order given, with one embedded font subset for the whole document.
 * On ST_OK *pdf (malloc'd, the caller frees it with free()) holds *len bytes.
 * ST_INVALID when a field cannot be printed (empty or non-ASCII tracking
 * number, a tracking number too long for the barcode zone, weight or count
 * not positive; the loader has made every barcode zone fit a 4-letter
 * prefix + 18 digits, so a number of the API's format always prints);
 * ST_TOOBIG for too many pages; ST_NOMEM; ST_INTERNAL.
 * Thread-safe.  Needs about 200 KiB of stack: libharu 2.3.0 keeps a 128 KiB
 * table on it while it builds the document's font.
 */
enum st label_render(const struct label_ctx *ctx, const struct label_tmpl *tmpl,
		     const struct label_fields *pages, size_t npages, unsigned char **pdf,
		     size_t *len);

/*
 * label_render() in any format: PDF (dpi is ignored: vector, barcodes on
 * the 203 dpi grid as always), or a 1-bit raster at dpi (203 or 300) as
 * PNG (npages must be 1), ZPL (one ^XA..^XZ per label, each one ^GFA
 * graphic, Z64-compressed) or TSPL (SIZE, GAP, CLS, BITMAP, PRINT 1 per
 * label).  On ST_OK *out (malloc'd, free()) holds *len bytes.  ST_INVALID
 * as label_render(), and for a bad format or dpi or a PNG of several
 * labels; ST_TOOBIG, ST_NOMEM, ST_INTERNAL.  Thread-safe.
 */
enum st label_render_to(const struct label_ctx *ctx, const struct label_tmpl *tmpl,
			enum label_format format, int dpi, const struct label_fields *pages,
			size_t npages, unsigned char **out, size_t *len);

/* --- inspection, for tests and tools ----------------------------------- */

/* The size name ("100x150") and the page size in millimetres. */
const char *label_tmpl_size(const struct label_tmpl *t);
void label_tmpl_page(const struct label_tmpl *t, double *w_mm, double *h_mm);

/* A zone of a template, in millimetres from the page's top-left corner. */
struct label_zone_info {
	const char *kind; /* "sort", "tracking", "recipient", ... */
	double x, y, w, h;
	int rotate; /* degrees counter-clockwise its content is turned: 0, 90, 270 */
};
size_t label_tmpl_zone_count(const struct label_tmpl *t);
void label_tmpl_zone(const struct label_tmpl *t, size_t i, struct label_zone_info *out);

/* Something drawn, with the box its ink can reach (mm, top-left origin of
 * the page, whatever the item's rotation). */
enum label_item_kind {
	LABEL_ITEM_TEXT,
	LABEL_ITEM_CODE128, /* module: narrow bar width */
	LABEL_ITEM_QR,	    /* module: QR module size */
	LABEL_ITEM_FILL,    /* a filled shape, e.g. the 收/寄 badge */
};
struct label_item {
	enum label_item_kind kind;
	size_t page; /* 0-based */
	size_t zone; /* index for label_tmpl_zone() */
	double x0, y0, x1, y1;
	double module; /* barcodes, mm */
	double size;   /* text, points */
	double height; /* barcodes: bar height, mm */
	int rotate;    /* degrees counter-clockwise, 0, 90 or 270 (a turned zone's
			* Code 128 and digits); x0..y1 is still the box on the page */
};
/* Filled by label_render_trace(); start zeroed, end with label_trace_release()
 * (items is the buffer's memory: free(items) frees it too).  Bounded: a few
 * thousand items a page, more fails the render. */
struct label_trace {
	struct label_item *items; /* n of them */
	size_t n;
	struct buf buf; /* holds the items */
};
void label_trace_release(struct label_trace *tr);

/* label_render() that also records every item drawn (trace may be NULL). */
enum st label_render_trace(const struct label_ctx *ctx, const struct label_tmpl *tmpl,
			   const struct label_fields *pages, size_t npages, unsigned char **pdf,
			   size_t *len, struct label_trace *trace);

#endif
