/*
 * label_encode.c - raster labels in a printer's language: PNG (the only
 * user of libpng), ZPL and TSPL.
 *
 * PNG: 1-bit greyscale (0 black), the dpi in pHYs (dots per metre), no
 * text, time or other chunk: one image per label.
 *
 * ZPL: per label
 *   ^XA ^PW<width dots> ^LL<length dots> ^LH0,0
 *   ^FO<x>,<y>^GFA,<bytes>,<bytes>,<bytes a row>,:Z64:<base64>:<crc>^FS ^XZ
 * one graphic holding the label's ink: the blank rows above and below and
 * the blank bytes left and right are not sent, ^FO puts the rest in place.
 * Z64 is the zlib stream (level 6: within 3 % of level 9's size for these
 * images at a fifth of its time) in base64, then
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

#include "archive.h"
#include "buf.h"
#include "label_int.h"

#define ZLIB_LEVEL 6
#define PNG_ZLIB_LEVEL 6

uint16_t label_crc16_xmodem(const unsigned char *p, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int k = 0; k < 8; k++)
			crc = (uint16_t)(crc & 0x8000 ? crc << 1 ^ 0x1021 : crc << 1);
	}
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
	enum st st;

	buf_addf(out, "^XA\n^PW%d\n^LL%d\n^LH0,0\n", r->w, r->h);
	if (!ink_box(r, &y0, &y1, &b0, &b1))
		return buf_addf(out, "^XZ\n");
	size_t rb = b1 - b0, total = rb * (size_t)(y1 - y0);
	unsigned char *rows = box_rows(r, y0, y1, b0, b1, false);
	struct buf z;

	if (!rows)
		return ST_NOMEM;
	buf_init(&z, total + total / 2 + 1024, false);
	st = archive_deflate(rows, total, ZLIB_LEVEL, &z);
	free(rows);
	if (st == ST_OK) {
		buf_addf(out, "^FO%zu,%d^GFA,%zu,%zu,%zu,:Z64:", b0 * 8, y0, total, total, rb);
		size_t at = out->len;
		st = base64_add(out, z.p, z.len);
		if (st == ST_OK)
			buf_addf(out, ":%04X^FS\n^XZ\n",
				 label_crc16_xmodem(out->p + at, out->len - at));
	}
	buf_release(&z);
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
