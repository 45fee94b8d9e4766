/*
 * font.h - the one label font: loaded once per process, measured from
 * tables built at load time, and cut per document into a small TrueType
 * subset that libharu can embed.  The only user of hb.h and hb-subset.h.
 *
 * Why a subset per document: libharu 2.3.0 reads TrueType component glyph
 * ids as signed 16-bit numbers, so with a large CJK font (WenQuanYi Micro
 * Hei has ~49,500 glyphs) most Chinese characters print blank or broken.
 * A subset renumbers the glyphs it keeps from 0, and it is also much
 * smaller than the whole font.
 *
 * Only the Basic Multilingual Plane is drawable: libharu 2.3.0 prints code
 * points above U+FFFF as spaces, so font_has() is false for them and the
 * renderer replaces them with a visible fallback.
 *
 * Thread safety: after font_new() returns, a struct font is read-only and
 * may be used from any number of threads at once.
 */
#ifndef WAYBILL_FONT_H
#define WAYBILL_FONT_H

#include "common.h"

struct font;

/* A set of BMP code points: what one document draws. */
struct font_cps {
	uint64_t bits[65536 / 64];
};

/*
 * Load face `index` of the TrueType (or TrueType collection) file at path.
 * On ST_OK *out is the caller's (font_free).  ST_IO when the file cannot be
 * read, ST_INVALID when it is not a font with TrueType outlines (CFF fonts
 * such as Noto CJK are refused: libharu cannot embed them).
 */
enum st font_new(const char *path, unsigned index, struct font **out);
void font_free(struct font *f);

/* True when the font has a glyph for cp and libharu can draw it. */
bool font_has(const struct font *f, uint32_t cp);

/*
 * Horizontal advance of cp in thousandths of an em, computed as libharu
 * computes the PDF widths array, so a measured line is as wide as the drawn
 * one.  0 when !font_has(f, cp).
 */
unsigned font_advance(const struct font *f, uint32_t cp);

/* Ink extents of cp's glyph in thousandths of an em above (ymax) and below
 * (ymin, usually negative) the baseline; 0, 0 for a blank glyph. */
void font_ink(const struct font *f, uint32_t cp, int *ymax, int *ymin);

void font_cps_add(struct font_cps *set, uint32_t cp);
bool font_cps_has(const struct font_cps *set, uint32_t cp);

/*
 * Write a TrueType subset holding the glyphs of the code points in set that
 * the font has (plus .notdef) to a new anonymous memory file.  On ST_OK *fd
 * is the caller's to close; libharu can open it as "/proc/self/fd/N".
 * *size, when not NULL, gets the subset's size in bytes.
 */
enum st font_subset_fd(const struct font *f, const struct font_cps *set, int *fd, size_t *size);

#endif
