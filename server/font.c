/*
 * font.c - load the label font once, measure text from tables, and cut a
 * per-document TrueType subset with hb-subset (see font.h for why).
 *
 * At load time every BMP code point is looked up once: whether the font
 * has it, its advance and its ink extents, in thousandths of an em.  After
 * that nothing here touches HarfBuzz except font_subset_fd(), which only
 * reads the shared hb_face_t (HarfBuzz objects are safe to share between
 * threads once created).
 *
 * What goes into the subset was chosen by testing what libharu 2.3.0 can
 * load and embed.  It reads OS/2 cmap glyf head hhea hmtx loca maxp name,
 * and writes the 13 tables a PDF TrueType font program needs, putting an
 * empty table where the font has none: so hinting can go (NO_HINTING drops
 * cvt, fpgm, prep and the glyph instructions), as do glyph names (post
 * format 3) and the layout and vertical tables libharu never reads.
 *
 * But the last of those 13 tables, prep, must not be empty.  libharu
 * rewrites the font into a memory stream of 4096-byte blocks and then seeks
 * to each table to checksum it; a seek to the very end of a stream whose
 * size is a multiple of 4096 fails (HPDF_INVALID_OBJECT), so a document
 * whose rewritten font happened to be 16384 bytes long failed to save.  An
 * empty trailing prep sits exactly there; sfnt_build() adds a 3-byte prep
 * that does nothing (PUSHB 0, POP), so every seek lands inside the data.
 *
 * The cmap is rewritten.  With the UTF-8 encoder, libharu 2.3.0 looks up
 * all 65,536 BMP code points in the font's cmap when a document gets its
 * font, scanning the format 4 segments linearly each time (and again for
 * every character drawn): hb-subset's cmap has a segment per run of code
 * points (74 for the 85 characters of a sample label), and that scan cost
 * ~3 ms per document.  compact_cmap() merges runs whose gaps are shorter
 * than CMAP_GAP, mapping the gap code points to glyph 0 (34 segments for
 * that label, ~2.5 KB of cmap, a few hundred bytes once deflated); larger
 * gaps measured no faster, as libharu then reads more entries.  Viewers
 * never use this cmap (the PDF's CIDToGIDMap maps CIDs to glyphs).
 */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <hb.h>
#include <hb-subset.h>

#include "buf.h"
#include "font.h"

#define BMP 65536
#define CMAP_GAP 96 /* code points: a shorter gap joins two segments */
#define CMAP_MAX 65535
#define SUBSET_SLACK (1u << 20) /* bytes a subset may add to its font: loca, cmap, prep */

struct font {
	hb_blob_t *blob;
	hb_face_t *face;
	unsigned upem;
	uint64_t has[BMP / 64];
	uint16_t adv[BMP]; /* 1/1000 em */
	int16_t ymax[BMP]; /* 1/1000 em, rounded away from the baseline */
	int16_t ymin[BMP];
};

/* Tables libharu never reads: dropping them keeps the subset small. */
static const hb_tag_t drop_tables[] = {
    HB_TAG('G', 'S', 'U', 'B'), HB_TAG('G', 'P', 'O', 'S'), HB_TAG('G', 'D', 'E', 'F'),
    HB_TAG('v', 'h', 'e', 'a'), HB_TAG('v', 'm', 't', 'x'), HB_TAG('g', 'a', 's', 'p'),
    HB_TAG('F', 'F', 'T', 'M'), HB_TAG('D', 'S', 'I', 'G'), HB_TAG('k', 'e', 'r', 'n'),
    HB_TAG('h', 'd', 'm', 'x'), HB_TAG('L', 'T', 'S', 'H'), HB_TAG('V', 'D', 'M', 'X'),
};

/* Scale font units to thousandths of an em, away from zero (ink) */
static int16_t scale_out(const struct font *f, int v)
{
	long n = (long)v * 1000;
	long q = n / (long)f->upem;
	if (n % (long)f->upem != 0)
		q += n > 0 ? 1 : -1;
	if (q > INT16_MAX)
		q = INT16_MAX;
	if (q < INT16_MIN)
		q = INT16_MIN;
	return (int16_t)q;
}

static void font_measure_all(struct font *f, hb_font_t *hf)
{
	for (uint32_t cp = 0x20; cp < BMP; cp++) {
		hb_codepoint_t gid;
		hb_glyph_extents_t ext;

		if (cp >= 0x7f && cp < 0xa0)
			continue; /* C1 controls: never drawn */
		if (cp >= 0xd800 && cp < 0xe000)
			continue; /* surrogates are not characters */
		if (!hb_font_get_nominal_glyph(hf, cp, &gid) || gid == 0)
			continue;
		f->has[cp / 64] |= UINT64_C(1) << (cp % 64);
		/* As libharu fills the PDF widths array: truncated. */
		f->adv[cp] =
		    (uint16_t)((uint32_t)hb_font_get_glyph_h_advance(hf, gid) * 1000 / f->upem);
		if (hb_font_get_glyph_extents(hf, gid, &ext)) {
			f->ymax[cp] = scale_out(f, ext.y_bearing);
			f->ymin[cp] = scale_out(f, ext.y_bearing + ext.height);
		}
	}
}

enum st font_new(const char *path, unsigned index, struct font **out)
{
	enum st st = ST_OK;
	struct font *f = NULL;
	hb_font_t *hf = NULL;
	hb_blob_t *glyf = NULL;
	struct font_cps *warm = NULL;
	int fd = -1;

	f = calloc(1, sizeof(*f));
	if (!f) {
		st = ST_NOMEM;
		goto out;
	}
	f->blob = hb_blob_create_from_file_or_fail(path);
	if (!f->blob) {
		st = ST_IO;
		goto out;
	}
	if (index >= hb_face_count(f->blob)) {
		st = ST_INVALID;
		goto out;
	}
	f->face = hb_face_create(f->blob, index);
	f->upem = hb_face_get_upem(f->face);
	glyf = hb_face_reference_table(f->face, HB_TAG('g', 'l', 'y', 'f'));
	if (hb_face_get_glyph_count(f->face) < 2 || hb_blob_get_length(glyf) == 0 || f->upem < 16) {
		st = ST_INVALID; /* no TrueType outlines (CFF), or not a font */
		goto out;
	}
	hf = hb_font_create(f->face);
	hb_font_set_scale(hf, (int)f->upem, (int)f->upem);
	font_measure_all(f, hf);
	if (!font_has(f, '?')) {
		st = ST_INVALID; /* the fallback itself must print */
		goto out;
	}
	hb_face_make_immutable(f->face);
	/* Build HarfBuzz's lazily loaded tables now, not in the first request. */
	warm = calloc(1, sizeof(*warm));
	if (!warm) {
		st = ST_NOMEM;
		goto out;
	}
	font_cps_add(warm, '?');
	font_cps_add(warm, 0x6536);
	st = font_subset_fd(f, warm, &fd, NULL);
	if (st != ST_OK)
		goto out;
	*out = f;
	f = NULL;
out:
	if (fd >= 0)
		close(fd);
	free(warm);
	hb_blob_destroy(glyf);
	hb_font_destroy(hf);
	font_free(f);
	return st;
}

void font_free(struct font *f)
{
	if (!f)
		return;
	hb_face_destroy(f->face);
	hb_blob_destroy(f->blob);
	free(f);
}

bool font_has(const struct font *f, uint32_t cp)
{
	return cp < BMP && (f->has[cp / 64] >> (cp % 64) & 1);
}

unsigned font_advance(const struct font *f, uint32_t cp)
{
	return font_has(f, cp) ? f->adv[cp] : 0;
}

void font_ink(const struct font *f, uint32_t cp, int *ymax, int *ymin)
{
	if (!font_has(f, cp)) {
		*ymax = *ymin = 0;
		return;
	}
	*ymax = f->ymax[cp];
	*ymin = f->ymin[cp];
}

void font_cps_add(struct font_cps *set, uint32_t cp)
{
	if (cp < BMP)
		set->bits[cp / 64] |= UINT64_C(1) << (cp % 64);
}

bool font_cps_has(const struct font_cps *set, uint32_t cp)
{
	return cp < BMP && (set->bits[cp / 64] >> (cp % 64) & 1);
}

/* --- the sfnt we hand to libharu ---------------------------------------- */

/* Big-endian words; a failure sticks in b (buf.h) and is looked at once. */
static void sfnt_u16(struct buf *b, unsigned v)
{
	unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
	(void)buf_add(b, x, 2);
}

static void sfnt_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};
	(void)buf_add(b, x, 4);
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t sfnt_sum(const unsigned char *p, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i += 4) {
		uint32_t w = 0;
		for (size_t j = 0; j < 4; j++)
			w = w << 8 | (i + j < n ? p[i + j] : 0);
		sum += w;
	}
	return sum;
}

/*
 * A cmap with one format 4 subtable (3, 1): segments cover runs of code
 * points joined across gaps shorter than gap; every segment maps through
 * glyphIdArray (0 for the code points in the gaps), and the last segment is
 * the 0xFFFF terminator.  cps are sorted, below 0xFFFF; seg has room for
 * 2 * (n + 1) entries.
 */
static void compact_cmap(struct buf *b, const uint32_t *cps, const uint16_t *gids, size_t n,
			 unsigned gap, uint32_t *seg)
{
	size_t nseg = 0, entries = 0;

	for (size_t i = 0; i < n; i++) {
		if (i == 0 || cps[i] - cps[i - 1] - 1 >= gap)
			seg[2 * nseg++] = cps[i];
		seg[2 * nseg - 1] = cps[i];
	}
	for (size_t k = 0; k < nseg; k++)
		entries += seg[2 * k + 1] - seg[2 * k] + 1;
	seg[2 * nseg] = seg[2 * nseg + 1] = 0xffff;
	nseg++;

	unsigned sr = 1, es = 0;
	while (sr * 2 <= nseg) {
		sr *= 2;
		es++;
	}
	sfnt_u16(b, 0); /* cmap version */
	sfnt_u16(b, 1); /* one subtable: Windows Unicode BMP */
	sfnt_u16(b, 3);
	sfnt_u16(b, 1);
	sfnt_u32(b, 12);
	sfnt_u16(b, 4); /* format */
	sfnt_u16(b, (unsigned)(16 + 8 * nseg + 2 * entries));
	sfnt_u16(b, 0); /* language */
	sfnt_u16(b, (unsigned)(2 * nseg));
	sfnt_u16(b, 2 * sr);
	sfnt_u16(b, es);
	sfnt_u16(b, (unsigned)(2 * nseg - 2 * sr));
	for (size_t k = 0; k < nseg; k++)
		sfnt_u16(b, seg[2 * k + 1]); /* endCode */
	sfnt_u16(b, 0);			     /* reservedPad */
	for (size_t k = 0; k < nseg; k++)
		sfnt_u16(b, seg[2 * k]); /* startCode */
	for (size_t k = 0; k < nseg; k++)
		sfnt_u16(b, k + 1 == nseg ? 1 : 0); /* idDelta: 0xFFFF + 1 = glyph 0 */
	for (size_t k = 0, at = 0; k < nseg; k++) {
		/* idRangeOffset: from this word to the segment's first entry */
		sfnt_u16(b, k + 1 == nseg ? 0 : (unsigned)(2 * (nseg - k) + 2 * at));
		at += seg[2 * k + 1] - seg[2 * k] + 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && cps[i] - cps[i - 1] - 1 < gap)
			for (uint32_t c = cps[i - 1] + 1; c < cps[i]; c++)
				sfnt_u16(b, 0);
		sfnt_u16(b, gids[i]);
	}
}

#define PREP HB_TAG('p', 'r', 'e', 'p')

/* PUSHB[0] 0, POP: a control value program that changes nothing (see the
 * top of the file for why there is one at all). */
static const unsigned char prep_noop[] = {0xb0, 0x00, 0x21};

static bool table_present(hb_face_t *face, hb_tag_t tag)
{
	hb_blob_t *t = hb_face_reference_table(face, tag);
	bool has = hb_blob_get_length(t) > 0;

	hb_blob_destroy(t);
	return has;
}

/* Insert tag into the sorted tags[0..n) unless it is there; the new count.
 * tags has room for one more. */
static unsigned tags_add_sorted(hb_tag_t *tags, unsigned n, hb_tag_t tag)
{
	unsigned i = 0;

	while (i < n && tags[i] < tag)
		i++;
	if (i < n && tags[i] == tag)
		return n;
	memmove(tags + i + 1, tags + i, (n - i) * sizeof(*tags));
	tags[i] = tag;
	return n + 1;
}

/* The subset's tables, its cmap replaced and a prep added, as one TrueType
 * file. */
static enum st sfnt_build(hb_face_t *built, const struct font *f, const struct font_cps *set,
			  struct buf *out)
{
	enum st st = ST_OK;
	hb_tag_t tags[64];
	unsigned ntags = ARRAY_SIZE(tags);
	struct buf cmap;
	uint32_t *cps = NULL, *seg = NULL;
	uint16_t *gids = NULL;
	/* The subsetter's face cannot list its tables: reparse its bytes. */
	hb_blob_t *blob = hb_face_reference_blob(built);
	hb_face_t *sub = hb_face_create(blob, 0);
	hb_font_t *sf = hb_font_create(sub);
	size_t n = 0, head_at = 0;

	buf_init(&cmap, 12 + CMAP_MAX, false); /* the header and one format 4 subtable */
	cps = malloc(BMP * sizeof(*cps));
	gids = malloc(BMP * sizeof(*gids));
	seg = malloc(2 * (BMP + 1) * sizeof(*seg));
	if (!cps || !gids || !seg) {
		st = ST_NOMEM;
		goto out;
	}
	for (size_t w = 0; w < ARRAY_SIZE(set->bits); w++) {
		uint64_t bits = set->bits[w] & f->has[w];
		while (bits) {
			uint32_t cp = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(bits));
			hb_codepoint_t gid = 0;
			bits &= bits - 1;
			if (cp == 0xffff || !hb_font_get_nominal_glyph(sf, cp, &gid) ||
			    gid > 0xffff)
				continue;
			cps[n] = cp;
			gids[n++] = (uint16_t)gid;
		}
	}
	/* Short gaps are cheap zeros; a format 4 table must stay under 64 KiB. */
	for (unsigned gap = CMAP_GAP;; gap /= 2) {
		buf_reset(&cmap);
		compact_cmap(&cmap, cps, gids, n, gap, seg);
		if (buf_st(&cmap) == ST_OK)
			break;
		if (buf_st(&cmap) != ST_TOOBIG) {
			st = ST_NOMEM;
			goto out;
		}
		if (gap == 1) {
			st = ST_INTERNAL;
			goto out;
		}
	}

	hb_face_get_table_tags(sub, 0, &ntags, tags);
	if (ntags == 0 || ntags >= ARRAY_SIZE(tags) - 1) {
		st = ST_INTERNAL;
		goto out;
	}
	ntags = tags_add_sorted(tags, ntags, PREP);
	unsigned sr = 1, es = 0;
	while (sr * 2 <= ntags) {
		sr *= 2;
		es++;
	}
	sfnt_u32(out, 0x00010000);
	sfnt_u16(out, ntags);
	sfnt_u16(out, 16 * sr);
	sfnt_u16(out, es);
	sfnt_u16(out, 16 * ntags - 16 * sr);
	size_t dir = out->len;
	for (unsigned i = 0; i < ntags; i++) {
		unsigned char zero[16] = {0};
		(void)buf_add(out, zero, sizeof(zero));
	}
	for (unsigned i = 0; i < ntags && buf_st(out) == ST_OK; i++) {
		hb_blob_t *t = NULL;
		const unsigned char *data;
		unsigned len;
		if (tags[i] == HB_TAG('c', 'm', 'a', 'p')) {
			data = cmap.p;
			len = (unsigned)cmap.len;
		} else if (tags[i] == PREP && !table_present(sub, PREP)) {
			data = prep_noop;
			len = sizeof(prep_noop);
		} else {
			t = hb_face_reference_table(sub, tags[i]);
			data = (const unsigned char *)hb_blob_get_data(t, &len);
		}
		size_t at = out->len;
		if (tags[i] == HB_TAG('h', 'e', 'a', 'd'))
			head_at = at;
		(void)buf_add(out, data, len);
		hb_blob_destroy(t);
		static const unsigned char pad[3];
		if (buf_add(out, pad, (4 - len % 4) % 4) != ST_OK)
			break;
		if (tags[i] == HB_TAG('h', 'e', 'a', 'd') && len >= 12)
			put_u32(out->p + at + 8, 0); /* checkSumAdjustment, below */
		unsigned char *rec = out->p + dir + 16 * i;
		put_u32(rec, tags[i]);
		put_u32(rec + 4, sfnt_sum(out->p + at, len));
		put_u32(rec + 8, (uint32_t)at);
		put_u32(rec + 12, len);
	}
	if (buf_st(out) != ST_OK) {
		/* past the bound: bigger than the font it was cut from, a bug */
		st = buf_st(out) == ST_NOMEM ? ST_NOMEM : ST_INTERNAL;
		goto out;
	}
	if (head_at)
		put_u32(out->p + head_at + 8, 0xb1b0afbaU - sfnt_sum(out->p, out->len));
out:
	hb_font_destroy(sf);
	hb_face_destroy(sub);
	hb_blob_destroy(blob);
	buf_release(&cmap);
	free(cps);
	free(gids);
	free(seg);
	return st;
}

static enum st write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ST_IO;
		p += w;
		n -= (size_t)w;
	}
	return ST_OK;
}

enum st font_subset_fd(const struct font *f, const struct font_cps *set, int *fd, size_t *size)
{
	enum st st = ST_OK;
	hb_subset_input_t *in = NULL;
	hb_face_t *sub = NULL;
	struct buf sfnt;
	int mfd = -1;

	/* A subset is never larger than the font file it is cut from, give or take
	 * a rebuilt loca and cmap. */
	buf_init(&sfnt, hb_blob_get_length(f->blob) + SUBSET_SLACK, false);

	in = hb_subset_input_create_or_fail();
	if (!in) {
		st = ST_NOMEM;
		goto out;
	}
	hb_set_t *unicodes = hb_subset_input_unicode_set(in);
	for (size_t w = 0; w < ARRAY_SIZE(set->bits); w++) {
		uint64_t bits = set->bits[w] & f->has[w];
		while (bits) {
			unsigned b = (unsigned)__builtin_ctzll(bits);
			hb_set_add(unicodes, (hb_codepoint_t)(w * 64 + b));
			bits &= bits - 1;
		}
	}
	hb_set_t *drop = hb_subset_input_set(in, HB_SUBSET_SETS_DROP_TABLE_TAG);
	for (size_t i = 0; i < ARRAY_SIZE(drop_tables); i++)
		hb_set_add(drop, drop_tables[i]);
	hb_subset_input_set_flags(in, HB_SUBSET_FLAGS_NO_HINTING);
	if (!hb_set_allocation_successful(unicodes) || !hb_set_allocation_successful(drop)) {
		st = ST_NOMEM;
		goto out;
	}

	/* hb_face_t is thread-safe: the subsetter only reads the shared face. */
	sub = hb_subset_or_fail(f->face, in);
	if (!sub) {
		st = ST_INTERNAL;
		goto out;
	}
	st = sfnt_build(sub, f, set, &sfnt);
	if (st != ST_OK)
		goto out;
	mfd = memfd_create("waybill-font", MFD_CLOEXEC);
	if (mfd < 0) {
		st = errno == ENOMEM ? ST_NOMEM : ST_IO;
		goto out;
	}
	st = write_all(mfd, sfnt.p, sfnt.len);
	if (st != ST_OK)
		goto out;
	if (size)
		*size = sfnt.len;
	*fd = mfd;
	mfd = -1;
out:
	if (mfd >= 0)
		close(mfd);
	buf_release(&sfnt);
	hb_face_destroy(sub);
	hb_subset_input_destroy(in);
	return st;
}
