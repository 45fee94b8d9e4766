/*
 * mask.c - pure masking functions (docs/API.md "Masking", GB/T 41833-2022
 * minimums, and stricter).
 *
 * Every function walks its input one code point at a time, writes into the
 * caller's struct masked and never allocates.  Each hidden character becomes
 * exactly one '*'.  A byte sequence that is not valid UTF-8 counts as one
 * character per bad byte and is always hidden, so the output is valid UTF-8
 * whatever the input.  Control and format characters (bidi overrides,
 * zero-width marks) are never copied to the output.
 *
 * Names.  The name is cut into words at spaces (ASCII, NBSP, U+3000), at
 * hyphens ('-', U+2010, U+2011, U+FF0D) and at middle dots (U+00B7 '·',
 * U+2022, U+2027, U+30FB, U+FF65).  Between two words one separator is
 * written: "·" if the gap held a dot, else "-" if it held a hyphen, else one
 * space; separators at either end are dropped.  Then each word of n
 * characters (code points):
 *
 *   n == 1                       "*"          (the only way to hide >= 1)
 *   n >= 2                       first character and n-1 stars
 *   the name is ONE word, n >= 4, and that word does not start with a letter
 *   of an alphabetic script (Han, emoji, digits, ...)
 *                                first, n-2 stars, last
 *
 *   张 -> *   张三 -> 张*   欧阳东 -> 欧**   欧阳娜娜 -> 欧**娜   司马相如文 -> 司***文
 *   阿卜杜拉·买买提 -> 阿***·买**   John Smith -> J*** S****   Lee Min-ho -> L** M**-h*
 *
 * Every word hides at least half of its characters and at least one, so the
 * whole name does too.  Compound surnames are not special: only the first
 * character of the name is kept.  A one-letter word is hidden entirely, so
 * "J Smith" -> "* S****": the first character is kept except when hiding it
 * is the only way to hide half of a one-character word.  If the masked name
 * does not fit in MASKED_MAX it is cut back to just after its last '*' (a
 * prefix of the full mask, so it reveals no more than the full mask).
 *
 * Phones.  Input is E.164: '+', a country code and at most 15 digits in
 * all.  The digits counted are the national number: for +86 mobiles
 * (national number starting 13-19) the national number itself, for other
 * +86 numbers, the landlines, the national number with its trunk 0 (0 +
 * area + subscriber; Beijing's 10 included), for other countries the
 * digits after the country code (its length is found from the ITU
 * assignment).  Of n digits, at least 6 and all but the last 4 are hidden:
 * n >= 10 shows 4, n = 8 shows 2, n <= 6 shows none.
 * Anything else is "****".
 *
 * Addresses.  Every ASCII or full-width digit and letter becomes '*', as do
 * other letters of alphabetic scripts (accented Latin, Greek, Cyrillic) and
 * number symbols (circled digits, Roman numerals, super- and subscripts,
 * mathematical digits).  A run of Chinese numerals (零一二三四五六七八九十
 * 百千两〇 and the financial 壹贰叁肆伍陆柒捌玖拾佰仟) is hidden when it is
 * directly followed by a unit marker (号 栋 幢 座 单元 室 楼 层 户, and 弄 期),
 * directly follows 之 ("12号之三"), or ends the address; otherwise it is part
 * of a name and stays ("创业一路1号" -> "创业一路*号").  All other characters
 * stay.  The output is never longer than the input; an address longer than
 * MASKED_MAX is cut at a character boundary.
 */
#include "common.h"

#include "mask.h"

#include <stdio.h>

#define CP_BAD UTF8_INVALID /* a byte that does not start valid UTF-8 */

/* The room left for text: MASKED_MAX less the NUL. */
#define OUT_ROOM (MASKED_MAX - 1)

struct out {
	struct masked *m;
	size_t len;
	size_t star_end; /* len just after the last '*' written */
	bool full;	 /* something did not fit; nothing more is written */
};

struct range {
	uint32_t lo, hi;
};

/*
 * The code point at s (NUL-terminated): its length in bytes (>= 1), *cp set,
 * or CP_BAD for a byte that does not start valid UTF-8, whose length is then
 * 1 (utf8.h).  Never reads past the NUL.
 */
static size_t char_at(const char *s, uint32_t *cp)
{
	size_t n = strnlen(s, UTF8_MAX);

	return utf8_decode(s, n ? n : 1, cp);
}

static bool range_has(const struct range *r, size_t n, uint32_t cp)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

/*
 * A character that may be shown: valid, and neither a control nor an
 * invisible format character (bidi overrides could reorder a label).
 */
static bool cp_showable(uint32_t cp)
{
	static const struct range hidden[] = {
	    {0x00, 0x1f},     {0x7f, 0x9f},	{0xad, 0xad},	    {0x061c, 0x061c},
	    {0x180e, 0x180e}, {0x200b, 0x200f}, {0x2028, 0x202e},   {0x2060, 0x206f},
	    {0xfeff, 0xfeff}, {0xfff9, 0xfffb}, {0xe0000, 0xe007f},
	};

	return cp != CP_BAD && !range_has(hidden, ARRAY_SIZE(hidden), cp);
}

/* Letters of the alphabetic scripts: Latin (all blocks), Greek, Cyrillic. */
static bool cp_is_letter(uint32_t cp)
{
	static const struct range letters[] = {
	    {'A', 'Z'},	      {'a', 'z'},	{0x00c0, 0x00d6}, {0x00d8, 0x00f6},
	    {0x00f8, 0x024f}, {0x0370, 0x03ff}, {0x0400, 0x052f}, {0x1e00, 0x1fff},
	    {0xff21, 0xff3a}, {0xff41, 0xff5a},
	};

	return range_has(letters, ARRAY_SIZE(letters), cp);
}

/* Digits and number symbols of any kind an address may carry. */
static bool cp_is_digitlike(uint32_t cp)
{
	static const struct range digits[] = {
	    {'0', '9'},		{0x00b2, 0x00b3}, {0x00b9, 0x00b9}, {0x00bc, 0x00be},
	    {0x0660, 0x0669},	{0x06f0, 0x06f9}, {0x0966, 0x096f}, {0x2070, 0x209f},
	    {0x2150, 0x218f},	{0x2460, 0x24ff}, {0x2776, 0x2793}, {0x3021, 0x3029},
	    {0x3220, 0x3229},	{0x3280, 0x3289}, {0xff10, 0xff19}, {0x1d400, 0x1d7ff},
	    {0x1f100, 0x1f10c},
	};

	return range_has(digits, ARRAY_SIZE(digits), cp);
}

static bool cp_is_cn_numeral(uint32_t cp)
{
	static const uint32_t numerals[] = {
	    0x96f6 /* 零 */, 0x4e00 /* 一 */, 0x4e8c /* 二 */, 0x4e09 /* 三 */, 0x56db /* 四 */,
	    0x4e94 /* 五 */, 0x516d /* 六 */, 0x4e03 /* 七 */, 0x516b /* 八 */, 0x4e5d /* 九 */,
	    0x5341 /* 十 */, 0x767e /* 百 */, 0x5343 /* 千 */, 0x4e24 /* 两 */, 0x3007 /* 〇 */,
	    0x58f9 /* 壹 */, 0x8d30 /* 贰 */, 0x53c1 /* 叁 */, 0x8086 /* 肆 */, 0x4f0d /* 伍 */,
	    0x9646 /* 陆 */, 0x67d2 /* 柒 */, 0x634c /* 捌 */, 0x7396 /* 玖 */, 0x62fe /* 拾 */,
	    0x4f70 /* 佰 */, 0x4edf /* 仟 */,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(numerals); i++)
		if (cp == numerals[i])
			return true;
	return false;
}

/* Does a unit marker (号 栋 幢 座 单元 室 楼 层 户 弄 期) start at s? */
static bool addr_marker_at(const char *s)
{
	static const uint32_t markers[] = {
	    0x53f7 /* 号 */, 0x680b /* 栋 */, 0x5e62 /* 幢 */, 0x5ea7 /* 座 */, 0x5ba4 /* 室 */,
	    0x697c /* 楼 */, 0x5c42 /* 层 */, 0x6237 /* 户 */, 0x5f04 /* 弄 */, 0x671f /* 期 */,
	};
	uint32_t cp, next;
	size_t n, i;

	n = char_at(s, &cp);
	if (cp == 0x5355 /* 单 */) {
		char_at(s + n, &next);
		return next == 0x5143 /* 元 */;
	}
	for (i = 0; i < ARRAY_SIZE(markers); i++)
		if (cp == markers[i])
			return true;
	return false;
}

static void out_init(struct out *o, struct masked *m)
{
	o->m = m;
	o->len = 0;
	o->star_end = 0;
	o->full = false;
	m->s[0] = '\0';
}

/* Append n bytes, whole or not at all; after a miss, append nothing more. */
static void out_put(struct out *o, const char *p, size_t n)
{
	if (o->full || n > OUT_ROOM - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->m->s + o->len, p, n);
	o->len += n;
	o->m->s[o->len] = '\0';
}

static void out_stars(struct out *o, size_t n)
{
	while (n-- > 0 && !o->full) {
		out_put(o, "*", 1);
		if (!o->full)
			o->star_end = o->len;
	}
}

/* Copy the character at s (len bytes) if it may be shown, else hide it. */
static void out_char(struct out *o, const char *s, size_t len, uint32_t cp)
{
	if (cp_showable(cp))
		out_put(o, s, len);
	else
		out_stars(o, 1);
}

static void out_set(struct masked *m, const char *text)
{
	snprintf(m->s, sizeof(m->s), "%s", text);
}

enum name_sep {
	SEP_NONE,
	SEP_SPACE,
	SEP_HYPHEN,
	SEP_DOT,
};

static enum name_sep name_sep_of(uint32_t cp)
{
	switch (cp) {
	case ' ':
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case 0x00a0:
	case 0x3000:
		return SEP_SPACE;
	case '-':
	case 0x2010:
	case 0x2011:
	case 0xff0d:
		return SEP_HYPHEN;
	case 0x00b7:
	case 0x2022:
	case 0x2027:
	case 0x30fb:
	case 0xff65:
		return SEP_DOT;
	default:
		return SEP_NONE;
	}
}

/*
 * The word starting at s: its length in bytes, its count of characters,
 * and where its last character starts.
 */
static size_t name_word_scan(const char *s, size_t *nchars, size_t *last_off)
{
	size_t i = 0, n;
	uint32_t cp;

	*nchars = 0;
	*last_off = 0;
	while (s[i]) {
		n = char_at(s + i, &cp);
		if (name_sep_of(cp) != SEP_NONE)
			break;
		*last_off = i;
		(*nchars)++;
		i += n;
	}
	return i;
}

/* Number of words in the name, counting no further than 2. */
static int name_word_count(const char *s)
{
	size_t i = 0, n, chars, last;
	uint32_t cp;
	int words = 0;

	while (s[i] && words < 2) {
		n = char_at(s + i, &cp);
		if (name_sep_of(cp) != SEP_NONE) {
			i += n;
			continue;
		}
		i += name_word_scan(s + i, &chars, &last);
		words++;
	}
	return words;
}

static void name_word_put(struct out *o, const char *w, size_t nchars, size_t last_off, bool single)
{
	uint32_t first, lastcp;
	size_t flen, llen;

	if (nchars == 1) {
		out_stars(o, 1);
		return;
	}
	flen = char_at(w, &first);
	out_char(o, w, flen, first);
	if (single && nchars >= 4 && !cp_is_letter(first)) {
		out_stars(o, nchars - 2);
		llen = char_at(w + last_off, &lastcp);
		out_char(o, w + last_off, llen, lastcp);
	} else {
		out_stars(o, nchars - 1);
	}
}

void mask_name(const char *name, struct masked *out)
{
	static const char *const sep_text[] = {"", " ", "-", "\xc2\xb7"};
	struct out o;
	enum name_sep gap = SEP_NONE, sep;
	size_t i = 0, n, chars, last;
	uint32_t cp;
	bool single, any = false;

	if (!out)
		return;
	out_init(&o, out);
	if (!name)
		goto out;
	single = name_word_count(name) == 1;
	while (name[i] && !o.full) {
		n = char_at(name + i, &cp);
		sep = name_sep_of(cp);
		if (sep != SEP_NONE) {
			if (sep > gap)
				gap = sep;
			i += n;
			continue;
		}
		if (any)
			out_put(&o, sep_text[gap], strlen(sep_text[gap]));
		gap = SEP_NONE;
		n = name_word_scan(name + i, &chars, &last);
		name_word_put(&o, name + i, chars, last, single);
		any = true;
		i += n;
	}
out:
	if (o.full) {
		/* Keep the prefix that ends with a star: never a bare kept char. */
		o.len = o.star_end;
		out->s[o.len] = '\0';
	}
	if (o.len == 0)
		out_set(out, "*");
}

/*
 * Length of the E.164 country code at the start of digits: 1 and 7 are
 * one digit; the two-digit codes are listed; every other code has three.
 */
static size_t phone_cc_len(const char *d)
{
	static const char two[] = "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 "
				  "51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 "
				  "81 82 84 86 90 91 92 93 94 95 98 ";
	size_t i;

	if (d[0] == '1' || d[0] == '7')
		return 1;
	for (i = 0; i + 2 < sizeof(two); i += 3)
		if (two[i] == d[0] && two[i + 1] == d[1])
			return 2;
	return 3;
}

void mask_phone(const char *e164, struct masked *out)
{
	char national[24];
	size_t ndigits, cc, n = 0, shown, i;

	if (!out)
		return;
	out_set(out, "****");
	if (!e164 || e164[0] != '+' || e164[1] < '1' || e164[1] > '9')
		goto out;
	ndigits = strspn(e164 + 1, "0123456789");
	if (e164[1 + ndigits] != '\0' || ndigits > 15)
		goto out;
	cc = phone_cc_len(e164 + 1);
	if (ndigits <= cc)
		goto out;
	/*
	 * +86 landline: count the trunk 0 that the national form carries.
	 * Mobiles start 13-19; Beijing's area code 10 is a landline.
	 */
	if (cc == 2 && memcmp(e164 + 1, "86", 2) == 0 && e164[3] != '0' &&
	    !(e164[3] == '1' && e164[4] >= '3'))
		national[n++] = '0';
	memcpy(national + n, e164 + 1 + cc, ndigits - cc);
	n += ndigits - cc;
	shown = n > 6 ? n - 6 : 0;
	if (shown > 4)
		shown = 4;
	for (i = 0; i < n - shown; i++)
		out->s[i] = '*';
	memcpy(out->s + i, national + n - shown, shown);
	out->s[n] = '\0';
out:
	mem_wipe(national, sizeof(national));
}

void mask_address(const char *address, struct masked *out)
{
	struct out o;
	size_t i = 0, j, n;
	uint32_t cp, prev = 0;
	bool hide;

	if (!out)
		return;
	out_init(&o, out);
	if (!address)
		return;
	while (address[i] && !o.full) {
		n = char_at(address + i, &cp);
		if (!cp_is_cn_numeral(cp)) {
			if (cp_is_digitlike(cp) || cp_is_letter(cp))
				out_stars(&o, 1);
			else
				out_char(&o, address + i, n, cp);
			prev = cp;
			i += n;
			continue;
		}
		/* A run of Chinese numerals: a number, or part of a name? */
		for (j = i + n; address[j]; j += n) {
			uint32_t c;

			n = char_at(address + j, &c);
			if (!cp_is_cn_numeral(c))
				break;
		}
		hide = address[j] == '\0' || addr_marker_at(address + j) || prev == 0x4e4b /* 之 */;
		for (; i < j; i += n) {
			n = char_at(address + i, &cp);
			if (hide)
				out_stars(&o, 1);
			else
				out_put(&o, address + i, n);
		}
		prev = cp;
	}
}
