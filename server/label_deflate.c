/*
 * label_deflate.c - the zlib stream (RFC 1950, 1951) of a ZPL graphic: a
 * 1-bit page's rows, compressed for what they hold.
 *
 * A label's rows are mostly the row above (rules, the bars of a barcode,
 * blank space between strokes) or runs of one byte.  A general compressor
 * hashes every position of the page, blank or not, and spent most of a
 * single ZPL label's time there (one 100 x 150 mm page at 203 dpi, 120 KB:
 * zlib's level 6 1.13 ms for 9,353 bytes, libdeflate's level 6 0.43 ms for
 * 9,763 and 0.41 ms on a blank page).  This one tries three matches at each
 * position: the bytes straight above (distance: a row), the byte before
 * (distance 1) and, when neither is 3 bytes long, the row above that; takes
 * the longest of at least 3 bytes (up to 258), else a literal; and codes
 * them in blocks of ~64 KB of the page, each with its own Huffman codes:
 * 0.19 ms (CPU) for 8,962 bytes, smaller than zlib's level 9
 * (docs/performance.md has the table).
 *
 * Any inflater reads it: tests/unit/test_raster.c inflates it with zlib
 * and compares every byte, and 61-label-formats renders the ZPL with a
 * renderer nobody here wrote.
 */
#include "common.h"

#include <stdlib.h>

#include "label_int.h"

#define LITLEN_N 286 /* 0-255 literals, 256 end of block, 257-285 lengths */
#define DIST_N 30
#define CLEN_N 19
#define MAX_BITS 15
#define CLEN_BITS 7
#define MATCH_MIN 3
#define MATCH_MAX 258
#define WINDOW 32768
#ifndef BLOCK_BYTES
#define BLOCK_BYTES 65536 /* of the page a block covers */
#endif

static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,	 9,   10,  11, 13,
				      15, 17, 19, 23,  27,  31,	 35,  43,  51, 59,
				      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
				      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[DIST_N] = {
    1,	 2,   3,   4,	5,   7,	   9,	 13,   17,   25,   33,	 49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[DIST_N] = {0, 0, 0, 0, 1, 1, 2, 2,  3,	3,  4,	4,  5,	5,  6,
					   6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
static const uint8_t clen_order[CLEN_N] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
					   11, 4,  12, 3, 13, 2, 14, 1, 15};

/* A token: a literal byte (len 0), or a match of len bytes dist back and
 * the symbols that code them. */
struct tok {
	uint16_t len, dist;
	uint8_t lit; /* the byte, or the length's symbol less 257 */
	uint8_t dsym;
};

static int len_code(unsigned len)
{
	int i = 28;
	while (len_base[i] > len)
		i--;
	return i;
}

static int dist_code(unsigned dist)
{
	int i = DIST_N - 1;
	while (dist_base[i] > dist)
		i--;
	return i;
}

/* How many of a[0..max) equal b[0..max), 8 bytes at a time. */
static size_t same(const unsigned char *a, const unsigned char *b, size_t max)
{
	size_t k = 0;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	while (k + 8 <= max) {
		uint64_t u, v;
		memcpy(&u, a + k, 8);
		memcpy(&v, b + k, 8);
		if (u != v)
			return k + (size_t)(__builtin_ctzll(u ^ v) >> 3);
		k += 8;
	}
#endif
	while (k < max && a[k] == b[k])
		k++;
	return k;
}

/* --- Huffman code lengths, at most limit bits -------------------------- */

struct node {
	uint32_t freq;
	int16_t sym;	/* a leaf's symbol, -1 for an inner node */
	int16_t parent; /* index in the node array, -1 for the root */
};

static int by_freq(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	if (x->freq != y->freq)
		return x->freq < y->freq ? -1 : 1;
	return x->sym - y->sym;
}

/*
 * Code lengths for freq[0..n): every symbol with a frequency gets one, at
 * most limit bits.  At least two symbols must have a frequency (the caller
 * makes sure): a complete code, as every inflater accepts.  Too deep a tree
 * halves the frequencies and builds again.
 */
static void huff_lengths(const uint32_t *freq_in, size_t n, int limit, uint8_t *len)
{
	uint32_t freq[LITLEN_N];
	struct node nodes[2 * LITLEN_N];

	if (n > LITLEN_N)
		return;
	memcpy(freq, freq_in, n * sizeof(*freq));
	for (;;) {
		int leaves = 0;
		for (size_t i = 0; i < n; i++)
			if (freq[i])
				nodes[leaves++] = (struct node){freq[i], (int16_t)i, -1};
		qsort(nodes, (size_t)leaves, sizeof(*nodes), by_freq);
		/* two queues: the sorted leaves, and inner nodes as they are made
		 * (made in order of frequency) */
		int next_leaf = 0, next_inner = leaves, made = leaves;
		for (int k = 0; k < leaves - 1; k++) {
			int pick[2];
			for (int j = 0; j < 2; j++) {
				if (next_leaf < leaves &&
				    (next_inner >= made ||
				     nodes[next_leaf].freq <= nodes[next_inner].freq))
					pick[j] = next_leaf++;
				else
					pick[j] = next_inner++;
			}
			nodes[made] =
			    (struct node){nodes[pick[0]].freq + nodes[pick[1]].freq, -1, -1};
			nodes[pick[0]].parent = nodes[pick[1]].parent = (int16_t)made;
			made++;
		}
		memset(len, 0, n);
		int deepest = 0;
		for (int i = 0; i < leaves; i++) {
			int d = 0;
			for (int p = nodes[i].parent; p >= 0; p = nodes[p].parent)
				d++;
			len[nodes[i].sym] = (uint8_t)d;
			deepest = d > deepest ? d : deepest;
		}
		if (deepest <= limit)
			return;
		for (size_t i = 0; i < n; i++)
			freq[i] = freq[i] ? (freq[i] + 1) / 2 : 0;
	}
}

/* Canonical codes for the lengths, bit-reversed (deflate sends them LSB first). */
static void huff_codes(const uint8_t *len, int n, uint16_t *code)
{
	uint16_t count[MAX_BITS + 1] = {0}, next[MAX_BITS + 2];

	for (int i = 0; i < n; i++)
		count[len[i]]++;
	count[0] = 0;
	next[1] = 0;
	for (int b = 1; b <= MAX_BITS; b++)
		next[b + 1] = (uint16_t)((next[b] + count[b]) << 1);
	for (int i = 0; i < n; i++) {
		if (!len[i])
			continue;
		unsigned c = next[len[i]]++, r = 0;
		for (int b = 0; b < len[i]; b++)
			r |= (c >> b & 1) << (len[i] - 1 - b);
		code[i] = (uint16_t)r;
	}
}

/* --- bits out ------------------------------------------------------------ */

struct bits {
	unsigned char *p, *end;
	uint64_t acc;
	int n;
};

/* n bits of v (n <= 16); whole bytes go out 4 at a time. */
static inline void put(struct bits *o, unsigned v, int n)
{
	o->acc |= (uint64_t)v << o->n;
	o->n += n;
	if (o->n < 32)
		return;
	if (o->end - o->p >= 4) {
		for (int i = 0; i < 4; i++)
			o->p[i] = (unsigned char)(o->acc >> (8 * i));
		o->p += 4;
	} else {
		o->p = o->end; /* full: the caller sees it */
	}
	o->acc >>= 32;
	o->n -= 32;
}

/* Out to the last whole byte, padded with 0 bits. */
static void flush_bits(struct bits *o)
{
	while (o->n > 0) {
		if (o->p < o->end)
			*o->p++ = (unsigned char)o->acc;
		else
			o->p = o->end;
		o->acc >>= 8;
		o->n = o->n > 8 ? o->n - 8 : 0;
	}
	o->acc = 0;
}

/* --- the code lengths' own code (RFC 1951 3.2.7: 16, 17, 18 repeat) ------ */

/* lens[0..n) as code-length symbols: sym[i], extra[i]; returns how many. */
static size_t clen_symbols(const uint8_t *lens, size_t n, uint8_t *sym, uint8_t *extra)
{
	size_t out = 0;

	for (size_t i = 0; i < n;) {
		uint8_t l = lens[i];
		size_t run = 1;
		while (i + run < n && lens[i + run] == l)
			run++;
		i += run;
		if (l == 0) {
			while (run >= 11) {
				size_t r = run > 138 ? 138 : run;
				sym[out] = 18;
				extra[out++] = (uint8_t)(r - 11);
				run -= r;
			}
			if (run >= 3) {
				sym[out] = 17;
				extra[out++] = (uint8_t)(run - 3);
				run = 0;
			}
		} else {
			sym[out] = l;
			extra[out++] = 0;
			run--;
			while (run >= 3) {
				size_t r = run > 6 ? 6 : run;
				sym[out] = 16;
				extra[out++] = (uint8_t)(r - 3);
				run -= r;
			}
		}
		for (; run > 0; run--) {
			sym[out] = l;
			extra[out++] = 0;
		}
	}
	return out;
}

/* Adler-32 of p[0..n), 8 bytes a step (8 zero bytes, most of a page, leave
 * a as it is and add 8 a to b). */
static uint32_t adler32(const unsigned char *p, size_t n)
{
	uint32_t a = 1, b = 0;

	while (n > 0) {
		size_t k = n < 5552 ? n : 5552; /* no overflow before the modulo */
		n -= k;
		for (; k >= 8; k -= 8, p += 8) {
			uint64_t w;
			memcpy(&w, p, 8);
			b += 8 * a;
			if (!w)
				continue;
			/* eight steps at once: b gains 8 a and each byte weighted by
			 * the steps it is in, a their sum */
			b += 8u * p[0] + 7u * p[1] + 6u * p[2] + 5u * p[3] + 4u * p[4] + 3u * p[5] +
			     2u * p[6] + p[7];
			a += (uint32_t)p[0] + p[1] + p[2] + p[3] + p[4] + p[5] + p[6] + p[7];
		}
		for (; k > 0; k--) {
			a += *p++;
			b += a;
		}
		a %= 65521;
		b %= 65521;
	}
	return b << 16 | a;
}

/* One block of tokens t[0..nt) with its own codes; final sets BFINAL. */
static void emit_block(struct bits *o, const struct tok *t, size_t nt, bool final)
{
	uint32_t lf[LITLEN_N] = {0}, df[DIST_N] = {0}, cf[CLEN_N] = {0};
	uint8_t ll[LITLEN_N + DIST_N], dlen[DIST_N] = {0}, cl[CLEN_N];
	uint16_t lc[LITLEN_N] = {0}, dc[DIST_N] = {0}, cc[CLEN_N] = {0};
	uint8_t csym[LITLEN_N + DIST_N], cext[LITLEN_N + DIST_N];

	for (size_t i = 0; i < nt; i++)
		if (t[i].len) {
			lf[257 + t[i].lit]++;
			df[t[i].dsym]++;
		} else {
			lf[t[i].lit]++;
		}
	lf[256] = 1;
	/* complete codes: at least two symbols in each */
	if (!lf[0])
		lf[0] = 1;
	df[0] = df[0] ? df[0] : 1;
	df[1] = df[1] ? df[1] : 1;

	huff_lengths(lf, LITLEN_N, MAX_BITS, ll);
	huff_lengths(df, DIST_N, MAX_BITS, dlen);
	int nlit = LITLEN_N, ndist = DIST_N;
	while (nlit > 257 && !ll[nlit - 1])
		nlit--;
	while (ndist > 1 && !dlen[ndist - 1])
		ndist--;
	huff_codes(ll, LITLEN_N, lc);
	huff_codes(dlen, DIST_N, dc);
	/* the literal/length and distance lengths are sent as one sequence */
	memcpy(ll + nlit, dlen, (size_t)ndist);
	size_t ncs = clen_symbols(ll, (size_t)(nlit + ndist), csym, cext);
	for (size_t i = 0; i < ncs; i++)
		cf[csym[i]]++;
	int used = 0;
	for (int i = 0; i < CLEN_N; i++)
		used += cf[i] != 0;
	for (int i = 0; used < 2 && i < CLEN_N; i++)
		if (!cf[i]) {
			cf[i] = 1;
			used++;
		}
	huff_lengths(cf, CLEN_N, CLEN_BITS, cl);
	huff_codes(cl, CLEN_N, cc);
	int nclen = CLEN_N;
	while (nclen > 4 && !cl[clen_order[nclen - 1]])
		nclen--;

	put(o, final, 1); /* BFINAL */
	put(o, 2, 2);	  /* BTYPE: dynamic Huffman codes */
	put(o, (unsigned)(nlit - 257), 5);
	put(o, (unsigned)(ndist - 1), 5);
	put(o, (unsigned)(nclen - 4), 4);
	for (int i = 0; i < nclen; i++)
		put(o, cl[clen_order[i]], 3);
	for (size_t i = 0; i < ncs; i++) {
		put(o, cc[csym[i]], cl[csym[i]]);
		if (csym[i] == 16)
			put(o, cext[i], 2);
		else if (csym[i] == 17)
			put(o, cext[i], 3);
		else if (csym[i] == 18)
			put(o, cext[i], 7);
	}
	for (size_t i = 0; i < nt; i++) {
		if (!t[i].len) {
			put(o, lc[t[i].lit], ll[t[i].lit]);
			continue;
		}
		int l = t[i].lit, d = t[i].dsym;
		put(o, lc[257 + l], ll[257 + l]);
		put(o, t[i].len - len_base[l], len_extra[l]);
		put(o, dc[d], dlen[d]);
		put(o, t[i].dist - dist_base[d], dist_extra[d]);
	}
	put(o, lc[256], ll[256]);
}

enum st label_deflate_rows(const unsigned char *rows, size_t n, size_t row_bytes,
			   unsigned char **out, size_t *out_len)
{
	size_t ntok = 0;

	*out = NULL;
	*out_len = 0;
	if (row_bytes == 0 || row_bytes > WINDOW)
		return ST_INVALID;
	struct tok *tok = malloc((n + 1) * sizeof(*tok));
	/* a literal costs at most 15 bits, a match of 3 or more at most 48;
	 * each block's codes at most 3 + 14 + 19 * 3 + 316 * 14 bits */
	size_t cap = n * 2 + (n / BLOCK_BYTES + 1) * 640 + 64;
	unsigned char *buf = malloc(cap);
	if (!tok || !buf) {
		free(tok);
		free(buf);
		return ST_NOMEM;
	}
	tok[0] = (struct tok){0, 0, 0, 0}; /* n == 0: no token, nothing read */

	uint8_t lsym[MATCH_MAX + 1];
	for (unsigned l = MATCH_MIN; l <= MATCH_MAX; l++)
		lsym[l] = (uint8_t)len_code(l);
	uint8_t dsym_row = (uint8_t)dist_code((unsigned)row_bytes);
	uint8_t dsym_row2 =
	    2 * row_bytes <= WINDOW ? (uint8_t)dist_code((unsigned)(2 * row_bytes)) : 0;
	for (size_t p = 0; p < n;) {
		size_t max = n - p < MATCH_MAX ? n - p : MATCH_MAX, up = 0, left = 0;
		if (p >= row_bytes && rows[p] == rows[p - row_bytes])
			up = same(rows + p, rows + p - row_bytes, max);
		if (p >= 1 && rows[p] == rows[p - 1])
			left = same(rows + p, rows + p - 1, max);
		size_t best = up >= left ? up : left;
		size_t dist = up >= left ? row_bytes : 1;
		uint8_t ds = up >= left ? dsym_row : 0;
		if (best < MATCH_MIN && p >= 2 * row_bytes && 2 * row_bytes <= WINDOW &&
		    rows[p] == rows[p - 2 * row_bytes]) {
			size_t up2 = same(rows + p, rows + p - 2 * row_bytes, max);
			if (up2 > best) {
				best = up2;
				dist = 2 * row_bytes;
				ds = dsym_row2;
			}
		}
		if (best >= MATCH_MIN) {
			tok[ntok++] = (struct tok){(uint16_t)best, (uint16_t)dist, lsym[best], ds};
			p += best;
		} else {
			tok[ntok++] = (struct tok){0, 0, rows[p], 0};
			p++;
		}
	}

	struct bits o = {buf, buf + cap, 0, 0};
	put(&o, 0x78, 8); /* CMF: deflate, 32 KiB window */
	put(&o, 0x01, 8); /* FLG: no dictionary, check bits: 0x7801 % 31 == 0 */
	/* blocks of about BLOCK_BYTES of the page each, their codes their own */
	size_t from = 0, covered = 0;
	for (size_t i = 0; i < ntok; i++) {
		covered += tok[i].len ? tok[i].len : 1;
		if (covered >= BLOCK_BYTES && i + 1 < ntok) {
			emit_block(&o, tok + from, i + 1 - from, false);
			from = i + 1;
			covered = 0;
		}
	}
	emit_block(&o, tok + from, ntok - from, true);
	flush_bits(&o);
	uint32_t ad = adler32(rows, n);
	for (int s = 24; s >= 0; s -= 8)
		put(&o, ad >> s & 0xff, 8);
	flush_bits(&o);
	free(tok);
	if (o.p >= o.end) { /* cannot be: cap is above the worst case */
		free(buf);
		return ST_INTERNAL;
	}
	*out = buf;
	*out_len = (size_t)(o.p - buf);
	return ST_OK;
}
