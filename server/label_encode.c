/*
 * label_encode.c - raster labels in a printer's language: PNG, ZPL and
 * TSPL, written here (their zlib streams by label_deflate.c).
 *
 * PNG: signature, IHDR (1-bit greyscale, 0 black), pHYs (the dpi in dots
 * per metre), one IDAT, IEND; no text, time or other chunk: one image per
 * label.  Every row has filter type 0 (none): label_deflate.c's match with
 * the row above does what PNG's "up" filter would.
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

#include "buf.h"
#include "label_int.h"

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

/* CRC-32 (ISO-HDLC, as PNG's chunks), reflected, a byte at a time. */
static const uint32_t crc32_tab[256] = {
    0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f, 0xe963a535, 0x9e6495a3,
    0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988, 0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91,
    0x1db71064, 0x6ab020f2, 0xf3b97148, 0x84be41de, 0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
    0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec, 0x14015c4f, 0x63066cd9, 0xfa0f3d63, 0x8d080df5,
    0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172, 0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b,
    0x35b5a8fa, 0x42b2986c, 0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
    0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423, 0xcfba9599, 0xb8bda50f,
    0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924, 0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d,
    0x76dc4190, 0x01db7106, 0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
    0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb, 0x086d3d2d, 0x91646c97, 0xe6635c01,
    0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e, 0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457,
    0x65b0d9c6, 0x12b7e950, 0x8bbeb8ea, 0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
    0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7, 0xa4d1c46d, 0xd3d6f4fb,
    0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0, 0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9,
    0x5005713c, 0x270241aa, 0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
    0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81, 0xb7bd5c3b, 0xc0ba6cad,
    0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a, 0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683,
    0xe3630b12, 0x94643b84, 0x0d6d6a3e, 0x7a6a5aa8, 0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
    0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe, 0xf762575d, 0x806567cb, 0x196c3671, 0x6e6b06e7,
    0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc, 0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5,
    0xd6d6a3e8, 0xa1d1937e, 0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
    0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55, 0x316e8eef, 0x4669be79,
    0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236, 0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f,
    0xc5ba3bbe, 0xb2bd0b28, 0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
    0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a, 0x9c0906a9, 0xeb0e363f, 0x72076785, 0x05005713,
    0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38, 0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21,
    0x86d3d2d4, 0xf1d4e242, 0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
    0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69, 0x616bffd3, 0x166ccf45,
    0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2, 0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db,
    0xaed16a4a, 0xd9d65adc, 0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
    0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605, 0xcdd70693, 0x54de5729, 0x23d967bf,
    0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94, 0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

static void be32_put(unsigned char *o, uint32_t v)
{
	o[0] = (unsigned char)(v >> 24);
	o[1] = (unsigned char)(v >> 16);
	o[2] = (unsigned char)(v >> 8);
	o[3] = (unsigned char)v;
}

/* One chunk: length, type, data, the CRC-32 of type and data. */
static enum st png_chunk(struct buf *out, const char *type, const unsigned char *data, size_t n)
{
	unsigned char word[4];

	if (n > 0x7fffffffu)
		return ST_TOOBIG;
	be32_put(word, (uint32_t)n);
	buf_add(out, word, 4);
	size_t at = out->len;
	buf_add(out, type, 4);
	if (n)
		buf_add(out, data, n);
	if (buf_st(out) != ST_OK)
		return buf_st(out);
	uint32_t crc = 0xffffffffu;
	for (size_t i = at; i < out->len; i++)
		crc = crc32_tab[(crc ^ out->p[i]) & 0xff] ^ crc >> 8;
	be32_put(word, ~crc);
	return buf_add(out, word, 4);
}

static enum st png_page(const struct raster *r, struct buf *out)
{
	size_t line = r->stride + 1, total = line * (size_t)r->h;
	unsigned char *img = malloc(total ? total : 1), *z = NULL;
	unsigned char ihdr[13], phys[9];
	size_t zlen = 0;
	enum st st;

	if (!img)
		return ST_NOMEM;
	/* each row: filter type 0 (none), then the dots, PNG grey: 0 is black */
	for (int y = 0; y < r->h; y++) {
		unsigned char *o = img + (size_t)y * line;
		const unsigned char *src = r->bits + (size_t)y * r->stride;
		o[0] = 0;
		for (size_t i = 0; i < r->stride; i++)
			o[1 + i] = (unsigned char)~src[i];
	}
	st = label_deflate_rows(img, total, line, &z, &zlen);
	free(img);
	if (st != ST_OK)
		return st;
	be32_put(ihdr, (uint32_t)r->w);
	be32_put(ihdr + 4, (uint32_t)r->h);
	ihdr[8] = 1;  /* bit depth */
	ihdr[9] = 0;  /* greyscale */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* adaptive filtering (each row says which: none) */
	ihdr[12] = 0; /* not interlaced */
	uint32_t ppm = (uint32_t)(r->dpi / 0.0254 + 0.5);
	be32_put(phys, ppm);
	be32_put(phys + 4, ppm);
	phys[8] = 1; /* the unit is the metre */
	buf_add(out, "\x89PNG\r\n\x1a\n", 8);
	png_chunk(out, "IHDR", ihdr, sizeof(ihdr));
	png_chunk(out, "pHYs", phys, sizeof(phys));
	png_chunk(out, "IDAT", z, zlen);
	st = png_chunk(out, "IEND", NULL, 0);
	free(z);
	return st;
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
