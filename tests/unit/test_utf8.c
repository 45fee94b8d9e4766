/*
 * test_utf8.c - the one UTF-8 decoder against a table of well-formed and
 * ill-formed sequences (Unicode table 3-7 and its edges), the encoder
 * against the decoder, and counting and validation.
 */
#include "../../server/common.h"
#include "../../server/utf8.h"

#include "t.h"

struct dcase {
	const char *s; /* the bytes, NUL-terminated */
	size_t n;      /* how many of them the decoder may read */
	uint32_t cp;   /* UTF8_INVALID for a bad sequence */
	size_t len;    /* bytes used */
};

static const struct dcase dcases[] = {
    /* ASCII, NUL included */
    {"A", 1, 'A', 1},
    {"\0", 1, 0, 1},
    {"\x7f", 1, 0x7f, 1},
    /* two bytes */
    {"\xc2\x80", 2, 0x80, 2},
    {"\xc3\xa9", 2, 0xe9, 2},
    {"\xdf\xbf", 2, 0x7ff, 2},
    /* three bytes, the BMP */
    {"\xe0\xa0\x80", 3, 0x800, 3},
    {"\xe5\xbc\xa0", 3, 0x5f20, 3}, /* 张 */
    {"\xed\x9f\xbf", 3, 0xd7ff, 3},
    {"\xee\x80\x80", 3, 0xe000, 3},
    {"\xef\xbf\xbd", 3, 0xfffd, 3},
    {"\xef\xbf\xbf", 3, 0xffff, 3},
    /* four bytes */
    {"\xf0\x90\x80\x80", 4, 0x10000, 4},
    {"\xf0\x9f\x98\x80", 4, 0x1f600, 4},
    {"\xf4\x8f\xbf\xbf", 4, 0x10ffff, 4},
    /* overlongs */
    {"\xc0\x80", 2, UTF8_INVALID, 1},
    {"\xc1\xbf", 2, UTF8_INVALID, 1},
    {"\xe0\x80\x80", 3, UTF8_INVALID, 1},
    {"\xe0\x9f\xbf", 3, UTF8_INVALID, 1},
    {"\xf0\x80\x80\x80", 4, UTF8_INVALID, 1},
    {"\xf0\x8f\xbf\xbf", 4, UTF8_INVALID, 1},
    /* surrogates */
    {"\xed\xa0\x80", 3, UTF8_INVALID, 1},
    {"\xed\xbf\xbf", 3, UTF8_INVALID, 1},
    /* above U+10FFFF */
    {"\xf4\x90\x80\x80", 4, UTF8_INVALID, 1},
    {"\xf5\x80\x80\x80", 4, UTF8_INVALID, 1},
    {"\xff", 1, UTF8_INVALID, 1},
    /* continuation bytes alone, a lead without its continuation */
    {"\x80", 1, UTF8_INVALID, 1},
    {"\xbf", 1, UTF8_INVALID, 1},
    {"\xc3"
     "A",
     2, UTF8_INVALID, 1},
    {"\xe5\xbc"
     "A",
     3, UTF8_INVALID, 1},
    {"\xf0\x9f\x98"
     "A",
     4, UTF8_INVALID, 1},
    /* truncated: by the end of the string (NUL) or by n */
    {"\xc3", 1, UTF8_INVALID, 1},
    {"\xe5\xbc", 2, UTF8_INVALID, 1},
    {"\xf0\x9f\x98", 3, UTF8_INVALID, 1},
    {"\xe5\xbc\xa0", 2, UTF8_INVALID, 1},
    {"\xf0\x9f\x98\x80", 3, UTF8_INVALID, 1},
    {"\xc3\xa9", 1, UTF8_INVALID, 1},
};

static void test_decode(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(dcases); i++) {
		const struct dcase *c = &dcases[i];
		uint32_t cp = 0x12345;
		size_t len = utf8_decode(c->s, c->n, &cp);
		CHECKF(len == c->len && cp == c->cp, "case %zu: len %zu cp %#x", i, len,
		       (unsigned)cp);
		CHECKF(utf8_valid(c->s, c->n) == (c->cp != UTF8_INVALID && c->len == c->n),
		       "case %zu: valid", i);
	}
}

/* Every scalar value encodes and decodes back; the rest encode to nothing. */
static void test_encode(void)
{
	size_t bad = 0;

	for (uint32_t cp = 0; cp <= 0x110000; cp++) {
		char out[UTF8_MAX];
		uint32_t back = UTF8_INVALID;
		size_t n = utf8_encode(cp, out);
		bool scalar = cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
		size_t want = !scalar ? 0 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (n != want || (n && (utf8_decode(out, n, &back) != n || back != cp)))
			bad++;
	}
	CHECKF(bad == 0, "%zu code points do not round-trip", bad);
	char out[UTF8_MAX];
	CHECK(utf8_encode(0x2026, out) == 3 && memcmp(out, "\xe2\x80\xa6", 3) == 0); /* … */
	CHECK(utf8_encode(0xd800, out) == 0);
	CHECK(utf8_encode(0x110000, out) == 0);
}

static void test_count_valid(void)
{
	static const struct {
		const char *s;
		size_t n;
	} want[] = {
	    {"", 0},
	    {"abc", 3},
	    {"\xe5\xbc\xa0\xe4\xb8\x89", 2},
	    {"a\xc3\xa9\xf0\x9f\x98\x80z", 4},
	    {"\xff\xfe", 2}, /* one per bad byte */
	};

	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		CHECK(utf8_count(want[i].s, strlen(want[i].s)) == want[i].n);
	CHECK(utf8_valid("", 0));
	CHECK(utf8_valid("\xe6\xac\xa7\xe9\x98\xb3", 6));
	CHECK(!utf8_valid("ok\xed\xa0\x80", 5));
	CHECK(!utf8_valid("ok\xe6\xac", 4));
	/* a NUL inside the range is a character, not an end */
	CHECK(utf8_valid("a\0b", 3));
	CHECK(utf8_count("a\0b", 3) == 3);
}

int main(void)
{
	test_decode();
	test_encode();
	test_count_valid();
	return t_done();
}
