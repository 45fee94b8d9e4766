/*
 * test_raster.c - the raster canvas and its encoders (label_raster.c,
 * label_encode.c): barcode modules as whole dots at 203 and 300 dpi, every
 * size; the PNG header and pHYs; ZPL's Z64 (its CRC against a known value,
 * the stream inflating to the label's own dots) and its deflater on hostile
 * rows; TSPL's structure; formats,
 * dpis and batches refused.
 */
#define LABEL_SAMPLE_NO_MAIN
#include "label_sample.c"

#include <math.h>
#include <sys/wait.h>
#include <zlib.h>

#include "label_int.h"
#include "t.h"

static struct label_ctx *ctx;
static struct sample_order *orders;
static size_t norders;
static const char *const sizes[] = {"100x150", "100x180", "76x130"};
static const int dpis[] = {203, 300};

static bool whole(double v)
{
	return fabs(v - round(v)) < 1e-6;
}

static bool dot_at(const struct raster *r, int x, int y)
{
	return r->bits[(size_t)y * r->stride + (size_t)(x >> 3)] >> (7 - (x & 7)) & 1;
}

/* Table: the narrow bar and QR module in dots each template asks for. */
static const struct {
	const char *size;
	int dpi;
	int c128_dots; /* the first tracking zone's narrow bar */
} bars[] = {
    {"100x150", 203, 4},					  /* module=0.5: 4 dots, 0.492 mm */
    {"100x150", 300, 6},					  /* 0.508 mm */
    {"100x180", 203, 4}, {"100x180", 300, 6}, {"76x130", 203, 3}, /* module=0.375: 3 dots exactly */
    {"76x130", 300, 5}, /* 0.375 mm is 4.43 dots: 5, 0.423 mm */
};

/* Every barcode module a whole number of dots, its edges on the grid, the
 * bars' runs in the image multiples of the module; the page in dots. */
static void test_dots(void)
{
	for (size_t c = 0; c < ARRAY_SIZE(bars); c++) {
		const struct label_tmpl *t = label_tmpl_find(ctx, bars[c].size);
		double w, h, dot = 25.4 / bars[c].dpi;
		struct label_fields f;
		struct raster r;
		struct label_trace tr = {0};
		size_t n128 = 0, nqr = 0;

		label_tmpl_page(t, &w, &h);
		sample_fields(&orders[c], c, &f);
		sample_sort(c, &f);
		CHECK(label_raster_render(ctx, t, bars[c].dpi, &f, &r, &tr) == ST_OK);
		CHECKF(r.w == (int)lround(w / 25.4 * bars[c].dpi) &&
			   r.h == (int)lround(h / 25.4 * bars[c].dpi) && r.dpi == bars[c].dpi,
		       "%s %d: %d x %d dots", bars[c].size, bars[c].dpi, r.w, r.h);
		for (size_t i = 0; r.bits && i < tr.n; i++) {
			const struct label_item *it = &tr.items[i];
			struct label_zone_info z;
			label_tmpl_zone(t, it->zone, &z);
			if (it->kind != LABEL_ITEM_CODE128 && it->kind != LABEL_ITEM_QR)
				continue;
			/* the module, and the edges along the symbol (a QR's all four; a
			 * Code 128's bar ends need not be) on the dot grid */
			bool along_x = it->kind == LABEL_ITEM_QR || it->rotate == 0;
			bool along_y = it->kind == LABEL_ITEM_QR || it->rotate != 0;
			CHECKF(whole(it->module / dot) &&
				   (!along_x || (whole(it->x0 / dot) && whole(it->x1 / dot))) &&
				   (!along_y || (whole(it->y0 / dot) && whole(it->y1 / dot))),
			       "%s %d: %s module %.4f mm = %.3f dots, edges on the grid",
			       bars[c].size, bars[c].dpi, z.kind, it->module, it->module / dot);
			if (it->kind == LABEL_ITEM_QR) {
				nqr++;
				CHECK(it->module >= 0.375 - 1e-9);
				continue;
			}
			if (strcmp(z.kind, "tracking") != 0) {
				CHECKF(strcmp(z.kind, "hub") == 0 && it->module >= 0.25 - 1e-9,
				       "%s: hub code module %.3f", bars[c].size, it->module);
				continue;
			}
			int k = (int)lround(it->module / dot);
			if (n128++ == 0)
				CHECKF(k == bars[c].c128_dots, "%s %d: narrow bar %d dots, want %d",
				       bars[c].size, bars[c].dpi, k, bars[c].c128_dots);
			CHECK(it->module >= NARROW_MIN - 1e-9);
			/* across the bars, through their middle: every run k dots or more
			 * and a multiple of k (no grey, no odd dot) */
			bool turned = it->rotate != 0, runs_ok = true;
			int a0 = (int)lround((turned ? it->y0 : it->x0) / dot);
			int a1 = (int)lround((turned ? it->y1 : it->x1) / dot);
			int mid =
			    (int)lround((turned ? (it->x0 + it->x1) : (it->y0 + it->y1)) / 2 / dot);
			int run = 1;
			for (int p = a0 + 1; p <= a1; p++) {
				bool prev =
				    turned ? dot_at(&r, mid, p - 1) : dot_at(&r, p - 1, mid);
				bool cur =
				    p < a1 && (turned ? dot_at(&r, mid, p) : dot_at(&r, p, mid));
				if (p < a1 && cur == prev) {
					run++;
					continue;
				}
				runs_ok = runs_ok && run % k == 0;
				run = 1;
			}
			CHECKF(runs_ok, "%s %d: bar runs multiples of %d dots", bars[c].size,
			       bars[c].dpi, k);
			CHECKF(dot_at(&r, turned ? mid : a0, turned ? a0 : mid) &&
				   dot_at(&r, turned ? mid : a1 - 1, turned ? a1 - 1 : mid),
			       "%s %d: the symbol starts and ends with a bar", bars[c].size,
			       bars[c].dpi);
		}
		CHECKF(n128 >= 1 && nqr == 1, "%s %d: %zu Code 128, %zu QR", bars[c].size,
		       bars[c].dpi, n128, nqr);
		label_trace_release(&tr);
		label_raster_release(&r);
	}
}

static unsigned be32(const unsigned char *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

/* PNG: signature, IHDR 1-bit greyscale of the page, pHYs the dpi in dots per
 * metre, every size at every dpi. */
static void test_png(void)
{
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
		for (size_t d = 0; d < ARRAY_SIZE(dpis); d++) {
			const struct label_tmpl *t = label_tmpl_find(ctx, sizes[s]);
			struct label_fields f;
			unsigned char *png = NULL;
			size_t len = 0;
			double w, h;

			label_tmpl_page(t, &w, &h);
			sample_fields(&orders[10 + s], 10 + s, &f);
			CHECK(label_render_to(ctx, t, LABEL_PNG, dpis[d], &f, 1, &png, &len) ==
			      ST_OK);
			if (!png || len < 70)
				continue;
			CHECK(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
			CHECK(memcmp(png + 12, "IHDR", 4) == 0);
			CHECKF(be32(png + 16) == (unsigned)lround(w / 25.4 * dpis[d]) &&
				   be32(png + 20) == (unsigned)lround(h / 25.4 * dpis[d]),
			       "%s %d: IHDR %u x %u", sizes[s], dpis[d], be32(png + 16),
			       be32(png + 20));
			CHECK(png[24] == 1 && png[25] == 0); /* 1 bit, greyscale */
			bool phys = false;
			for (size_t o = 8; o + 12 <= len;) {
				unsigned n = be32(png + o);
				if (memcmp(png + o + 4, "pHYs", 4) == 0 && n == 9) {
					unsigned ppm = (unsigned)lround(dpis[d] / 0.0254);
					phys = be32(png + o + 8) == ppm &&
					       be32(png + o + 12) == ppm && png[o + 16] == 1;
				}
				CHECK(memcmp(png + o + 4, "tEXt", 4) != 0 &&
				      memcmp(png + o + 4, "tIME", 4) != 0);
				o += 12 + n;
			}
			CHECKF(phys, "%s %d: pHYs %u dots/m", sizes[s], dpis[d],
			       (unsigned)lround(dpis[d] / 0.0254));
			free(png);
		}
}

static int b64_val(char c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;
	return p ? (int)(p - tab) : -1;
}

/* ZPL: CRC-16/XMODEM of the known check string; each label's ^XA ^PW ^LL,
 * its ^GFA whose Z64 CRC is the base64's and whose stream inflates to the
 * declared bytes; ^XZ; one per label in a batch. */
static void test_zpl(void)
{
	CHECK(label_crc16_xmodem((const unsigned char *)"123456789", 9) == 0x31C3);
	CHECK(label_crc16_xmodem((const unsigned char *)"", 0) == 0);
	CHECK(label_crc16_xmodem((const unsigned char *)"A", 1) == 0x58E5);

	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
		for (size_t d = 0; d < ARRAY_SIZE(dpis); d++) {
			const struct label_tmpl *t = label_tmpl_find(ctx, sizes[s]);
			struct label_fields f[3];
			unsigned char *zpl = NULL;
			size_t len = 0, labels = 0;
			double w, h;

			label_tmpl_page(t, &w, &h);
			for (size_t i = 0; i < 3; i++)
				sample_fields(&orders[20 + i], 20 + i, &f[i]);
			CHECK(label_render_to(ctx, t, LABEL_ZPL, dpis[d], f, 3, &zpl, &len) ==
			      ST_OK);
			char *p = (char *)zpl;
			while (p && *p) {
				int pw = 0, ll = 0, used = 0;
				size_t x, y, total, total2, rb;
				if (sscanf(p, "^XA\n^PW%d\n^LL%d\n^LH0,0\n%n", &pw, &ll, &used) !=
					2 ||
				    !used)
					break;
				CHECK(pw == (int)lround(w / 25.4 * dpis[d]) &&
				      ll == (int)lround(h / 25.4 * dpis[d]));
				p += used;
				if (sscanf(p, "^FO%zu,%zu^GFA,%zu,%zu,%zu,:Z64:%n", &x, &y, &total,
					   &total2, &rb, &used) != 5)
					break;
				CHECK(total == total2 && total % rb == 0 && x % 8 == 0 &&
				      x + rb * 8 <= (size_t)pw + 7 && y + total / rb <= (size_t)ll);
				p += used;
				char *end = strchr(p, ':');
				if (!end)
					break;
				unsigned crc = 0;
				CHECK(sscanf(end, ":%4X^FS\n^XZ\n", &crc) == 1);
				CHECK(crc ==
				      label_crc16_xmodem((unsigned char *)p, (size_t)(end - p)));
				/* base64 -> zlib -> the declared bytes */
				size_t n64 = (size_t)(end - p), nz = 0;
				unsigned char *z = malloc(n64);
				for (size_t i = 0; z && i + 4 <= n64; i += 4) {
					int v[4];
					for (int k = 0; k < 4; k++)
						v[k] = p[i + k] == '=' ? 0 : b64_val(p[i + k]);
					z[nz++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
					if (p[i + 2] != '=')
						z[nz++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
					if (p[i + 3] != '=')
						z[nz++] = (unsigned char)(v[2] << 6 | v[3]);
				}
				unsigned char *raw = malloc(total + 1);
				uLongf got = total + 1;
				CHECKF(z && raw && uncompress(raw, &got, z, nz) == Z_OK &&
					   got == total,
				       "%s %d: Z64 inflates to %zu bytes", sizes[s], dpis[d],
				       total);
				/* and they are the label's own dots, row by row */
				struct raster r;
				bool same = labels < 3 && raw && got == total &&
					    label_raster_render(ctx, t, dpis[d], &f[labels], &r,
								NULL) == ST_OK;
				for (size_t row = 0; same && row < total / rb; row++)
					same =
					    y + row < (size_t)r.h &&
					    memcmp(raw + row * rb,
						   r.bits + (y + row) * r.stride + x / 8, rb) == 0;
				CHECKF(same, "%s %d: label %zu's graphic is its raster", sizes[s],
				       dpis[d], labels);
				if (labels < 3)
					label_raster_release(&r);
				free(z);
				free(raw);
				p = strstr(end, "^XZ\n");
				p = p ? p + 4 : NULL;
				labels++;
			}
			CHECKF(labels == 3 && p && *p == '\0', "%s %d: 3 labels, nothing after",
			       sizes[s], dpis[d]);
			free(zpl);
		}
}

/* A batch long enough to be rendered in parts on several threads is the
 * same bytes as its labels rendered one by one, in order, ZPL and TSPL. */
static void test_batch_parts(void)
{
	static const enum label_format fmts[] = {LABEL_ZPL, LABEL_TSPL};
	const size_t n = 45; /* parts of 11 and 12 pages on 4 processors */
	const struct label_tmpl *t = label_tmpl_find(ctx, "100x150");
	struct label_fields *f = calloc(n, sizeof(*f));

	if (!f || norders < n) {
		CHECK(false);
		free(f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		sample_fields(&orders[i], 500 + i, &f[i]);
		sample_sort(i, &f[i]);
	}
	for (size_t k = 0; k < ARRAY_SIZE(fmts); k++) {
		unsigned char *all = NULL;
		size_t len = 0, at = 0;
		bool same = label_render_to(ctx, t, fmts[k], 203, f, n, &all, &len) == ST_OK;
		for (size_t i = 0; same && i < n; i++) {
			unsigned char *one = NULL;
			size_t olen = 0;
			same =
			    label_render_to(ctx, t, fmts[k], 203, &f[i], 1, &one, &olen) == ST_OK &&
			    at + olen <= len && memcmp(all + at, one, olen) == 0;
			at += olen;
			free(one);
		}
		CHECKF(same && at == len, "%s: a batch of %zu is its labels one by one",
		       label_format_name(fmts[k]), n);
		free(all);
	}
	/* one label refused refuses the batch: nothing comes out */
	f[40].tracking_no[0] = '\0';
	unsigned char *out = NULL;
	size_t len = 0;
	CHECK(label_render_to(ctx, t, LABEL_ZPL, 203, f, n, &out, &len) == ST_INVALID && !out);
	free(f);
}

/* label_deflate_rows(rows, n, rb) inflated by zlib is rows again. */
static void deflate_round(const char *what, const unsigned char *rows, size_t n, size_t rb)
{
	unsigned char *z = NULL, *raw = malloc(n + 1);
	size_t nz = 0;
	uLongf got = n + 1;

	CHECKF(label_deflate_rows(rows, n, rb, &z, &nz) == ST_OK, "%s: deflated", what);
	CHECKF(z && raw && uncompress(raw, &got, z, nz) == Z_OK && got == n &&
		   memcmp(raw, rows, n) == 0,
	       "%s: %zu bytes in rows of %zu, %zu deflated, inflate to the same", what, n, rb, nz);
	free(z);
	free(raw);
}

/*
 * The ZPL graphics' own deflater on what a label never holds too: nothing,
 * one byte, a blank page, noise (every byte a literal), runs longer than a
 * match, rows that repeat for pages on end, rows of 1 byte and of 32 KiB;
 * rows wider than the window are refused.
 */
static void test_deflate(void)
{
	size_t n = 400000;
	unsigned char *b = calloc(n, 1), *z = NULL;
	uint32_t x = 2463534242u;
	size_t nz = 0;

	if (!b) {
		CHECK(false);
		return;
	}
	deflate_round("empty", b, 0, 100);
	deflate_round("one byte", b, 1, 100);
	deflate_round("blank page", b, 120000, 100);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	deflate_round("noise", b, n, 148);
	deflate_round("noise, rows of 1 byte", b, 5000, 1);
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i / 1000 % 3 == 0 ? 0xff : i % 7 == 0 ? b[i] : 0);
	deflate_round("runs and noise", b, n, 100);
	for (size_t i = 100; i < n; i++)
		b[i] = b[i - 100];
	deflate_round("one row repeated", b, n, 100);
	deflate_round("rows of 32 KiB", b, n, 32768);
	CHECK(label_deflate_rows(b, n, 32769, &z, &nz) == ST_INVALID && !z);
	CHECK(label_deflate_rows(b, n, 0, &z, &nz) == ST_INVALID && !z);
	free(b);
}

/* TSPL: SIZE, GAP, CLS, BITMAP of the declared bytes, PRINT 1, per label. */
static void test_tspl(void)
{
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
		for (size_t d = 0; d < ARRAY_SIZE(dpis); d++) {
			const struct label_tmpl *t = label_tmpl_find(ctx, sizes[s]);
			struct label_fields f[2];
			unsigned char *out = NULL;
			size_t len = 0, labels = 0, o = 0;
			double w, h;
			char head[96];

			label_tmpl_page(t, &w, &h);
			for (size_t i = 0; i < 2; i++)
				sample_fields(&orders[30 + i], 30 + i, &f[i]);
			CHECK(label_render_to(ctx, t, LABEL_TSPL, dpis[d], f, 2, &out, &len) ==
			      ST_OK);
			snprintf(head, sizeof(head), "SIZE %g mm,%g mm\r\nGAP 2 mm,0 mm\r\nCLS\r\n",
				 w, h);
			while (out && o < len) {
				size_t hl = strlen(head), x, y, wb, rows;
				int used = 0;
				if (len - o < hl || memcmp(out + o, head, hl) != 0)
					break;
				o += hl;
				if (sscanf((char *)out + o, "BITMAP %zu,%zu,%zu,%zu,0,%n", &x, &y,
					   &wb, &rows, &used) != 4 ||
				    !used)
					break;
				o += (size_t)used;
				CHECK(x % 8 == 0 &&
				      (x / 8 + wb) * 8 <= (size_t)lround(w / 25.4 * dpis[d]) + 7 &&
				      y + rows <= (size_t)lround(h / 25.4 * dpis[d]));
				o += wb * rows;
				if (o + 11 > len || memcmp(out + o, "\r\nPRINT 1\r\n", 11) != 0)
					break;
				o += 11;
				labels++;
			}
			CHECKF(labels == 2 && o == len,
			       "%s %d: 2 TSPL labels, %zu of %zu bytes read", sizes[s], dpis[d], o,
			       len);
			free(out);
		}
}

/* What cmd prints (the caller frees), its exit status in *code. */
static char *cmd_out(const char *cmd, int *code)
{
	FILE *p = popen(cmd, "r");
	char *buf = malloc(8192);
	size_t len = 0;

	*code = -1;
	if (!p || !buf) {
		if (p)
			pclose(p);
		free(buf);
		return NULL;
	}
	for (size_t n; len < 8191 && (n = fread(buf + len, 1, 8191 - len, p)) > 0;)
		len += n;
	buf[len] = '\0';
	int st = pclose(p);
	*code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return buf;
}

/*
 * docs/API.md: a tracking number's prefix is 2-4 capital letters.  Each one
 * prints in every size at 203 and 300 dpi with a narrow bar of at least
 * 0.375 mm (GB/T 41833-2022), and zbarimg reads the PNG's Code 128 back as
 * the number: the 76 mm label's turned symbol too, whose 4-letter number
 * at 300 dpi (5-dot modules) is 88.5 mm long with its quiet zones.
 */
static void test_prefixes(void)
{
	static const char *const prefixes[] = {"WB", "WBX", "ABCD", "ZZZZ"};
	const char *png_path = "tests/out/raster-prefix.png";

	CHECK(system("mkdir -p tests/out") == 0);
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
		for (size_t d = 0; d < ARRAY_SIZE(dpis); d++)
			for (size_t k = 0; k < ARRAY_SIZE(prefixes); k++) {
				const struct label_tmpl *t = label_tmpl_find(ctx, sizes[s]);
				struct label_fields f;
				struct raster r;
				struct label_trace tr = {0};
				unsigned char *png = NULL;
				size_t len = 0;
				char digits[19], cmd[256], want[64];
				int code;

				sample_fields(&orders[20 + k], 20 + k, &f);
				snprintf(digits, sizeof(digits), "%.18s", f.tracking_no + 2);
				snprintf(f.tracking_no, sizeof(f.tracking_no), "%.4s%s",
					 prefixes[k], digits);
				enum st st = label_raster_render(ctx, t, dpis[d], &f, &r, &tr);
				CHECKF(st == ST_OK, "%s %d, prefix %s: rendered (%d)", sizes[s],
				       dpis[d], prefixes[k], (int)st);
				double module = 0;
				for (size_t i = 0; i < tr.n; i++) {
					struct label_zone_info z;
					label_tmpl_zone(t, tr.items[i].zone, &z);
					if (tr.items[i].kind == LABEL_ITEM_CODE128 &&
					    strcmp(z.kind, "tracking") == 0)
						module = tr.items[i].module;
				}
				CHECKF(module >= NARROW_MIN - 1e-9,
				       "%s %d, prefix %s: narrow bar %.3f mm", sizes[s], dpis[d],
				       prefixes[k], module);
				label_trace_release(&tr);
				label_raster_release(&r);
				if (st != ST_OK)
					continue;
				CHECK(label_render_to(ctx, t, LABEL_PNG, dpis[d], &f, 1, &png,
						      &len) == ST_OK);
				CHECK(png && sample_write(png_path, png, len) == ST_OK);
				free(png);
				snprintf(
				    cmd, sizeof(cmd),
				    "zbarimg -q --nodbus -Sdisable -Scode128.enable %s 2>/dev/null",
				    png_path);
				char *codes = cmd_out(cmd, &code);
				snprintf(want, sizeof(want), "CODE-128:%s\n", f.tracking_no);
				CHECKF(codes && code == 0 && strstr(codes, want),
				       "%s %d, prefix %s: zbarimg reads %s", sizes[s], dpis[d],
				       prefixes[k], f.tracking_no);
				free(codes);
			}
	remove(png_path);
}

/* Formats and dpis: the names, and what is refused. */
static void test_refused(void)
{
	static const struct {
		const char *s;
		bool ok;
		enum label_format f;
	} names[] = {
	    {"pdf", true, LABEL_PDF},	{"png", true, LABEL_PNG}, {"zpl", true, LABEL_ZPL},
	    {"tspl", true, LABEL_TSPL}, {"ZPL", false, 0},	  {"", false, 0},
	    {"zpl ", false, 0},		{"pdf2", false, 0},	  {NULL, false, 0},
	};
	const struct label_tmpl *t = label_tmpl_find(ctx, "100x150");
	struct label_fields f[2];
	unsigned char *out = NULL;
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		enum label_format f0 = LABEL_FORMAT_N;
		bool ok = label_format_parse(names[i].s, &f0);
		CHECKF(ok == names[i].ok && (!ok || f0 == names[i].f), "format \"%s\"",
		       names[i].s ? names[i].s : "(null)");
		if (ok)
			CHECK_STR(label_format_name(f0), names[i].s);
	}
	CHECK_STR(label_format_content_type(LABEL_ZPL), "application/vnd.zebra-zpl");
	CHECK_STR(label_format_content_type(LABEL_TSPL), "application/vnd.tsc-tspl");
	CHECK_STR(label_format_content_type(LABEL_PNG), "image/png");
	CHECK(label_dpi_ok(203) && label_dpi_ok(300) && !label_dpi_ok(600) && !label_dpi_ok(0));
	sample_fields(&orders[40], 40, &f[0]);
	sample_fields(&orders[41], 41, &f[1]);
	CHECK(label_render_to(ctx, t, LABEL_PNG, 203, f, 2, &out, &len) == ST_INVALID);
	CHECK(label_render_to(ctx, t, LABEL_ZPL, 600, f, 1, &out, &len) == ST_INVALID);
	CHECK(label_render_to(ctx, t, LABEL_FORMAT_N, 203, f, 1, &out, &len) == ST_INVALID);
	CHECK(label_render_to(ctx, t, LABEL_PDF, 0, f, 2, &out, &len) == ST_OK); /* dpi unused */
	free(out);
	f[1].tracking_no[0] = '\0';
	CHECK(label_render_to(ctx, t, LABEL_TSPL, 300, f, 2, &out, &len) == ST_INVALID);
}

int main(void)
{
	char err[512];

	CHECK(label_ctx_new("templates", SAMPLE_FONT, &ctx, err, sizeof(err)) == ST_OK);
	orders = sample_load(SAMPLE_FIXTURES, &norders);
	if (!ctx || !orders || norders < 50) {
		fprintf(stderr, "setup failed: %s\n", err);
		CHECK(false);
		return t_done();
	}
	test_dots();
	test_png();
	test_zpl();
	test_deflate();
	test_batch_parts();
	test_tspl();
	test_refused();
	test_prefixes();
	label_ctx_free(ctx);
	free(orders);
	return t_done();
}
