/*
 * label_encode.c - raster labels in a printer's language: PNG (the only
 * user of libpng), ZPL and TSPL.
 *
 * PNG: 1-bit greyscale (0 black), the dpi in pHYs (dots per metre), no
 * text, time or other chunk: one image per label.  This file is the only
 * user of libpng.
 *
 * ZPL: per label
 *   ^XA ^PW<width dots> ^LL<length dots> ^LH0,0
 *   ^FO<x>,<y>^GFA,<bytes>,<bytes>,<bytes a row>,:Z64:<base64>:<crc>^FS ^XZ
 * one graphic holding the label's ink: the blank rows above and below and
 * the blank bytes left and right are not sent, ^FO puts the rest in place.
 * Z64 is the zlib stream (label_deflate.c: matches with the row above, for
 * these images smaller than zlib's level 9 and six times faster than its
 * level 6; docs/performance.md has the table) in base64, then
 * the CRC-16/XMODEM of the base64 text in 4 hex digits.  ^GF bits: 1 prints.
 *
 * TSPL: per label
 *   SIZE <w> mm,<h> mm  GAP 2 mm,0 mm  CLS
 *   BITMAP <x>,<y>,<bytes a row>,<rows>,0,<raw rows>  PRINT 1
 * with the same trimming; TSPL bitmaps print a 0 bit, so the rows are sent
 * inverted.  Lines end in CR LF.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>

#include <png.h>

#include "buf.h"
#include "label_int.h"

#define PNG_ZLIB_LEVEL 6

/* CRC-16/XMODEM (polynomial 0x1021, initial 0), a byte at a time. */
static const uint16_t crc16_tab[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7, 0x8108, 0x9129, 0xa14a, 0xb16b,
    0xc18c, 0xd1ad, 0xe1ce, 0xf1ef, 0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de, 0x2462, 0x3443, 0x0420, 0x1401,
    0x64e6, 0x74c7, 0x44a4, 0x5485, 0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4, 0xb75b, 0xa77a, 0x9719, 0x8738,
    0xf7df, 0xe7fe, 0xd79d, 0xc7bc, 0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b, 0x5af5, 0x4ad4, 0x7ab7, 0x6a96,
    0x1a71, 0x0a50, 0x3a33, 0x2a12, 0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41, 0xedae, 0xfd8f, 0xcdec, 0xddcd,
    0xad2a, 0xbd0b, 0x8d68, 0x9d49, 0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78, 0x9188, 0x81a9, 0xb1ca, 0xa1eb,
    0xd10c, 0xc12d, 0xf14e, 0xe16f, 0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e, 0x02b1, 0x1290, 0x22f3, 0x32d2,
    0x4235, 0x5214, 0x6277, 0x7256, 0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405, 0xa7db, 0xb7fa, 0x8799, 0x97b8,
    0xe75f, 0xf77e, 0xc71d, 0xd73c, 0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab, 0x5844, 0x4865, 0x7806, 0x6827,
    0x18c0, 0x08e1, 0x3882, 0x28a3, 0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92, 0xfd2e, 0xed0f, 0xdd6c, 0xcd4d,
    0xbdaa, 0xad8b, 0x9de8, 0x8dc9, 0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8, 0x6e17, 0x7e36, 0x4e55, 0x5e74,
    0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

uint16_t label_crc16_xmodem(const unsigned char *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++)
		crc = (uint16_t)(crc << 8 ^ crc16_tab[(crc >> 8 ^ p[i]) & 0xff]);
	return crc;
}

static enum st base64_add(struct buf *out, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = buf_grow(out, (n + 2) / 3 * 4);

	if (!o)
		return buf_st(out);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*o++ = tab[v >> 18 & 63];
		*o++ = tab[v >> 12 & 63];
		*o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? tab[v & 63] : '=';
	}
	return ST_OK;
}

/* The ink's box: rows [*y0, *y1), bytes [*b0, *b1); false when blank. */
static bool ink_box(const struct raster *r, int *y0, int *y1, size_t *b0, size_t *b1)
{
	*y0 = r->h;
	*y1 = 0;
	*b0 = r->stride;
	*b1 = 0;
	for (int y = 0; y < r->h; y++) {
		const unsigned char *row = r->bits + (size_t)y * r->stride;
		size_t a = 0, e = r->stride;
		while (a < e && !row[a])
			a++;
		if (a == e)
			continue;
		while (!row[e - 1])
			e--;
		*b0 = a < *b0 ? a : *b0;
		*b1 = e > *b1 ? e : *b1;
		*y0 = y < *y0 ? y : *y0;
		*y1 = y + 1;
	}
	return *y1 > *y0;
}

/* The box's rows, each inverted when invert, one after another. */
static unsigned char *box_rows(const struct raster *r, int y0, int y1, size_t b0, size_t b1,
			       bool invert)
{
	size_t rb = b1 - b0;
	unsigned char *d = malloc((size_t)(y1 - y0) * rb + 1);

	if (!d)
		return NULL;
	for (int y = y0; y < y1; y++) {
		unsigned char *o = d + (size_t)(y - y0) * rb;
		memcpy(o, r->bits + (size_t)y * r->stride + b0, rb);
		for (size_t i = 0; invert && i < rb; i++)
			o[i] = (unsigned char)~o[i];
	}
	return d;
}

static enum st zpl_page(const struct raster *r, struct buf *out)
{
	int y0, y1;
	size_t b0, b1;
	enum st st = ST_OK;

	buf_addf(out, "^XA\n^PW%d\n^LL%d\n^LH0,0\n", r->w, r->h);
	if (!ink_box(r, &y0, &y1, &b0, &b1))
		return buf_addf(out, "^XZ\n");
	size_t rb = b1 - b0, total = rb * (size_t)(y1 - y0);
	/* rows that span the page's width are already one block */
	bool whole = b0 == 0 && b1 == r->stride;
	unsigned char *copy = whole ? NULL : box_rows(r, y0, y1, b0, b1, false);
	const unsigned char *rows = whole ? r->bits + (size_t)y0 * r->stride : copy;
	unsigned char *z = NULL;
	size_t zlen = 0;

	st = rows ? label_deflate_rows(rows, total, rb, &z, &zlen) : ST_NOMEM;
	if (st == ST_OK) {
		buf_addf(out, "^FO%zu,%d^GFA,%zu,%zu,%zu,:Z64:", b0 * 8, y0, total, total, rb);
		size_t at = out->len;
		st = base64_add(out, z, zlen);
		if (st == ST_OK)
			buf_addf(out, ":%04X^FS\n^XZ\n",
				 label_crc16_xmodem(out->p + at, out->len - at));
	}
	free(z);
	free(copy);
	return st == ST_OK ? buf_st(out) : st;
}

static enum st tspl_page(const struct raster *r, const struct label_tmpl *t, struct buf *out)
{
	int y0, y1;
	size_t b0, b1;

	buf_addf(out, "SIZE %g mm,%g mm\r\nGAP 2 mm,0 mm\r\nCLS\r\n", t->w, t->h);
	if (ink_box(r, &y0, &y1, &b0, &b1)) {
		unsigned char *rows = box_rows(r, y0, y1, b0, b1, true);
		if (!rows)
			return ST_NOMEM;
		buf_addf(out, "BITMAP %zu,%d,%zu,%d,0,", b0 * 8, y0, b1 - b0, y1 - y0);
		buf_add(out, rows, (b1 - b0) * (size_t)(y1 - y0));
		free(rows);
		buf_addf(out, "\r\n");
	}
	return buf_addf(out, "PRINT 1\r\n");
}

struct png_out {
	struct buf *buf;
	enum st st;
};

static void png_write(png_structp png, png_bytep data, size_t n)
{
	struct png_out *po = png_get_io_ptr(png);

	if (po->st == ST_OK)
		po->st = buf_add(po->buf, data, n);
}

static void png_flush(png_structp png)
{
	(void)png;
}

static enum st png_page(const struct raster *r, struct buf *out)
{
	struct png_out po = {out, ST_OK};
	unsigned char *volatile row = malloc(r->stride);
	png_structp png = NULL;
	png_infop info = NULL;

	if (!row)
		return ST_NOMEM;
	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		free(row);
		return ST_NOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(row);
		return po.st != ST_OK ? po.st : ST_INTERNAL;
	}
	png_set_write_fn(png, &po, png_write, png_flush);
	png_set_compression_level(png, PNG_ZLIB_LEVEL);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_set_IHDR(png, info, (png_uint_32)r->w, (png_uint_32)r->h, 1, PNG_COLOR_TYPE_GRAY,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_uint_32 ppm = (png_uint_32)(r->dpi / 0.0254 + 0.5);
	png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
	png_write_info(png, info);
	for (int y = 0; y < r->h; y++) {
		const unsigned char *src = r->bits + (size_t)y * r->stride;
		for (size_t i = 0; i < r->stride; i++)
			row[i] = (unsigned char)~src[i]; /* PNG grey: 0 is black */
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(row);
	return po.st;
}

enum st label_encode_page(enum label_format format, const struct raster *page,
			  const struct label_tmpl *t, struct buf *out)
{
	switch (format) {
	case LABEL_PNG:
		return png_page(page, out);
	case LABEL_ZPL:
		return zpl_page(page, out);
	case LABEL_TSPL:
		return tspl_page(page, t, out);
	case LABEL_PDF:
	case LABEL_FORMAT_N:
		break;
	}
	return ST_INTERNAL;
}
