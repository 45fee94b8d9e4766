/*
 * test_utf8.c - the one UTF-8 decoder against a table of well-formed and
 * ill-formed sequences (Unicode table 3-7 and its edges), the encoder
 * against the decoder, and counting and validation.
 */
#include "../../server/common.h"
#include "../../server/utf8.h"

#include "t.h"

/* Well-formed: each decodes whole, to its code point (the edges of every
 * length, the surrogates' neighbours, U+10FFFF). */
static const struct {
	const char *s;
	uint32_t cp;
} good[] = {{"A", 'A'},
	    {"\x7f", 0x7f},
	    {"\xc2\x80", 0x80},
	    {"\xc3\xa9", 0xe9},
	    {"\xdf\xbf", 0x7ff},
	    {"\xe0\xa0\x80", 0x800},
	    {"\xe5\xbc\xa0", 0x5f20 /* 张 */},
	    {"\xed\x9f\xbf", 0xd7ff},
	    {"\xee\x80\x80", 0xe000},
	    {"\xef\xbf\xbd", 0xfffd},
	    {"\xef\xbf\xbf", 0xffff},
	    {"\xf0\x90\x80\x80", 0x10000},
	    {"\xf0\x9f\x98\x80", 0x1f600},
	    {"\xf4\x8f\xbf\xbf", 0x10ffff}};

/* Ill-formed, read to their end: each is one bad byte (length 1). */
static const char *const bad[] = {
    /* overlongs */
    "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
    /* surrogates; above U+10FFFF */
    "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff",
    /* continuation bytes alone; a lead whose continuation is missing */
    "\x80", "\xbf", "\xc3\x41", "\xe5\xbc\x41", "\xf0\x9f\x98\x41",
    /* truncated by the end of the string */
    "\xc3", "\xe5\xbc", "\xf0\x9f\x98"};

static void test_decode(void)
{
	uint32_t cp;
	size_t len;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		size_t n = strlen(good[i].s);
		cp = 0x12345;
		len = utf8_decode(good[i].s, n, &cp);
		CHECKF(len == n && cp == good[i].cp, "good %zu: len %zu cp %#x", i, len,
		       (unsigned)cp);
		CHECKF(utf8_valid(good[i].s, n), "good %zu: valid", i);
		/* the same sequence cut short by n is one bad byte */
		len = utf8_decode(good[i].s, n - 1 ? n - 1 : 1, &cp);
		CHECKF(n == 1 ? cp == good[i].cp : (len == 1 && cp == UTF8_INVALID),
		       "good %zu cut short", i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t n = strlen(bad[i]);
		cp = 0x12345;
		len = utf8_decode(bad[i], n, &cp);
		CHECKF(len == 1 && cp == UTF8_INVALID, "bad %zu: len %zu cp %#x", i, len,
		       (unsigned)cp);
		CHECKF(!utf8_valid(bad[i], n), "bad %zu: valid", i);
	}
	/* NUL is a character; the decoder stops at it inside a sequence */
	CHECK(utf8_decode("\0", 1, &cp) == 1 && cp == 0);
	CHECK(utf8_decode("\xe5\0\xa0", 3, &cp) == 1 && cp == UTF8_INVALID);
}

/* Every scalar value encodes and decodes back; the rest encode to nothing. */
static void test_encode(void)
{
	size_t wrong = 0;

	for (uint32_t cp = 0; cp <= 0x110000; cp++) {
		char out[UTF8_MAX];
		uint32_t back = UTF8_INVALID;
		size_t n = utf8_encode(cp, out);
		bool scalar = cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
		size_t want = !scalar ? 0 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (n != want || (n && (utf8_decode(out, n, &back) != n || back != cp)))
			wrong++;
	}
	CHECKF(wrong == 0, "%zu code points do not round-trip", wrong);
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
