/*
 * test_mask.c - the masking rules: explicit cases for each function, then
 * rule checks over every name, phone and address of tests/data/orders.jsonl
 * (path overridable with WAYBILL_ORDERS or argv[1]).
 */
#include "../../server/common.h"
#include "../../server/mask.h"

#include <stdio.h>
#include <stdlib.h>

#include "t.h"

#define STAR_RUN_MAX 4096

struct mcase {
	const char *in, *want;
};

/* ---- a small UTF-8 reader, independent of mask.c ---- */

/* Length of the valid sequence at s, or 0 when it is not valid UTF-8. */
static size_t u8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07u;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3fu);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

static bool u8_valid(const char *s)
{
	size_t n;

	while (*s) {
		n = u8_len((const unsigned char *)s);
		if (!n)
			return false;
		s += n;
	}
	return true;
}

static size_t u8_count(const char *s, size_t bytes)
{
	size_t i = 0, n = 0, l;

	while (i < bytes && s[i]) {
		l = u8_len((const unsigned char *)s + i);
		i += l ? l : 1;
		n++;
	}
	return n;
}

static size_t count_byte(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* ---- explicit cases ---- */

static const struct mcase name_cases[] = {
    /* docs/API.md and the brief */
    {"张三", "张*"},
    {"张小三", "张**"},
    {"欧阳娜娜", "欧**娜"},
    {"欧阳东", "欧**"},
    {"阿卜杜拉·买买提", "阿***·买**"},
    {"John Smith", "J*** S****"},
    {"Anna-Lena Schmidt", "A***-L*** S******"},
    {"Lee Min-ho", "L** M**-h*"},
    /* single characters, compound surnames, 5+ characters */
    {"张", "*"},
    {"A", "*"},
    {"司马相如", "司**如"},
    {"上官婉儿啊", "上***啊"},
    {"令狐冲", "令**"},
    {"慕容复", "慕**"},
    {"尉迟敬德", "尉**德"},
    {"东方不败求败", "东****败"},
    {"爱新觉罗溥仪", "爱****仪"},
    /* dotted names: each part keeps its first character only */
    {"古丽娜扎·艾力", "古***·艾*"},
    {"努尔兰·托合提", "努**·托**"},
    {"扎西·顿珠", "扎*·顿*"},
    {"扎西•顿珠", "扎*·顿*"},
    {"扎西・顿珠", "扎*·顿*"},
    {"扎西 · 顿珠", "扎*·顿*"},
    {"扎西·顿", "扎*·*"},
    {"·扎西·", "扎*"},
    /* Latin names */
    {"Nguyen Van An", "N***** V** A*"},
    {"Maria Garcia", "M**** G*****"},
    {"Madonna", "M******"},
    {"J Smith", "* S****"},
    {"José García", "J*** G*****"},
    {"Jean-Luc  Picard", "J***-L** P*****"},
    {"  Ann   Lee  ", "A** L**"},
    {"Иван Петров", "И*** П*****"},
    /* blanks */
    {"", "*"},
    {"   ", "*"},
    {"\xe3\x80\x80", "*"},
    {"·", "*"},
    {" - ", "*"},
    /* other scripts: each code point is one character */
    {"😀", "*"},
    {"😀😁", "😀*"},
    {"😀😁😂🤣", "😀**🤣"},
    {"𠮷野家", "𠮷**"},
    {"𠀀𠀁", "𠀀*"},
    {"𪚥𪚥𪚥𪚥𪚥", "𪚥***𪚥"},
    {"12345", "1***5"},
    {"张San", "张**n"},
    /* never show a control or bidi character, nor a bad byte */
    {"\xe2\x80\xae张三", "***"},
    {"\xe2\x80\xae张三四", "***\xe5\x9b\x9b"},
    {"\xff张", "**"},
    {"张\xff", "张*"},
    {"\x01\x02\x03\x04", "****"},
};

static const struct mcase phone_cases[] = {
    {"+8613812345678", "*******5678"},
    {"+8613987654321", "*******4321"},
    {"+862475650889", "*******0889"},	/* 024-75650889 */
    {"+8675512345678", "********5678"}, /* 0755-12345678 */
    {"+861088886666", "*******6666"},	/* 010-88886666 */
    {"+14155550123", "******0123"},
    {"+442071838750", "******8750"},
    {"+79161234567", "******4567"},
    {"+4930123456", "******56"},  /* 8 digits: 2 shown */
    {"+85212345678", "******78"}, /* 852 is a 3-digit code */
    {"+3531234567", "******7"},	  /* 7 digits: 1 shown, 6 hidden */
    {"+35312345678", "******78"},
    {"+3612345", "*****"}, /* 6 or fewer: all stars */
    {"+861381234567890", "*********7890"},
    /* invalid */
    {"", "****"},
    {"+", "****"},
    {"+86", "****"},
    {"+1", "****"},
    {"13812345678", "****"},
    {"8613812345678", "****"},
    {"++8613812345678", "****"},
    {"+86 138 1234 5678", "****"},
    {"+86-13812345678", "****"},
    {"+86138abc5678", "****"},
    {"+0123456789", "****"},
    {"+1234567890123456", "****"}, /* 16 digits */
    {"+8613812345678\n", "****"},
    {"+８613812345678", "****"},
};

static const struct mcase addr_cases[] = {
    {"学府路301号3栋502室", "学府路***号*栋***室"},
    {"A座1201", "*座****"},
    {"创业一路1号", "创业一路*号"},
    {"丁卯桥路457号26栋2单元703室", "丁卯桥路***号**栋*单元***室"},
    {"三栋", "*栋"},
    {"中山路十二号", "中山路**号"},
    {"五一广场三号楼二单元", "五一广场*号楼*单元"},
    {"建设二路18号", "建设二路**号"},
    {"新安六路5号", "新安六路*号"},
    {"二〇一室", "***室"},
    {"十二幢三座四层五户", "**幢*座*层*户"},
    {"人民路二十三号之一", "人民路***号之*"},
    {"8号之二（东）", "*号之*（东）"},
    {"长安里小区二", "长安里小区*"},
    {"金桥七弄", "金桥*弄"},
    {"阳光花园二期3栋", "阳光花园*期*栋"},
    {"陆家嘴环路1000号", "陆家嘴环路****号"},
    {"拾号", "*号"},
    {"一单", "一单"},
    {"一单元", "*单元"},
    {"桥东里3-2-501", "桥东里*-*-***"},
    {"万达广场B座20层2001", "万达广场*座**层****"},
    {"１２３号Ｂ座ｃ室", "***号*座*室"},
    {"①号楼Ⅲ区", "*号楼*区"},
    {"𝟏𝟐号", "**号"},
    {"𠀀路12号", "𠀀路**号"},
    {"Éclair路7号", "******路*号"},
    {"\xe2\x80\xae路1号", "*路*号"},
    {"\xff路", "*路"},
    {"", ""},
};

static void test_cases(void)
{
	struct masked m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(name_cases); i++) {
		mask_name(name_cases[i].in, &m);
		CHECK_STR(m.s, name_cases[i].want);
		CHECK(u8_valid(m.s));
	}
	for (i = 0; i < ARRAY_SIZE(phone_cases); i++) {
		mask_phone(phone_cases[i].in, &m);
		CHECK_STR(m.s, phone_cases[i].want);
	}
	for (i = 0; i < ARRAY_SIZE(addr_cases); i++) {
		mask_address(addr_cases[i].in, &m);
		CHECK_STR(m.s, addr_cases[i].want);
		CHECK(u8_valid(m.s));
	}
	mask_name(NULL, &m);
	CHECK_STR(m.s, "*");
	mask_phone(NULL, &m);
	CHECK_STR(m.s, "****");
	mask_address(NULL, &m);
	CHECK_STR(m.s, "");
}

/* Inputs longer than MASKED_MAX: cut at a character boundary, no more shown. */
static void test_long(void)
{
	static char in[4 * MASKED_MAX];
	struct masked m;
	size_t i, len, kept;

	/* one Han word of 600 characters: the last one no longer fits */
	for (i = 0; i < 600; i++)
		memcpy(in + 3 * i, "张", 3);
	in[1800] = '\0';
	mask_name(in, &m);
	len = strlen(m.s);
	CHECK(len == MASKED_MAX - 1);
	CHECK(memcmp(m.s, "张", 3) == 0);
	CHECK(count_byte(m.s, '*') == len - 3);

	/* one of 300 fits whole: 张 + 298 stars + 张 */
	in[900] = '\0';
	mask_name(in, &m);
	CHECK(strlen(m.s) == 304);
	CHECK(count_byte(m.s, '*') == 298);
	CHECK(memcmp(m.s + 301, "张", 3) == 0);

	/* many short Latin words: the cut lands just after a star */
	for (i = 0; i < 300; i++)
		memcpy(in + 3 * i, "Ab ", 3);
	in[900] = '\0';
	mask_name(in, &m);
	len = strlen(m.s);
	CHECK(len <= MASKED_MAX - 1 && len > MASKED_MAX - 5);
	CHECK(m.s[len - 1] == '*');
	kept = len - count_byte(m.s, '*') - count_byte(m.s, ' ');
	CHECK(count_byte(m.s, '*') >= kept);
	CHECK(u8_valid(m.s));

	/* 4-byte characters in 2-character words: "😀😁 " -> "😀* " */
	for (i = 0; i < 200; i++)
		memcpy(in + 9 * i, "😀😁 ", 9);
	in[1800] = '\0';
	mask_name(in, &m);
	len = strlen(m.s);
	CHECK(len <= MASKED_MAX - 1 && m.s[len - 1] == '*');
	CHECK(u8_valid(m.s));

	/* a long address is cut between characters, digits still hidden */
	for (i = 0; i < 400; i++)
		memcpy(in + 4 * i, "路1", 4);
	in[1600] = '\0';
	mask_address(in, &m);
	len = strlen(m.s);
	CHECK(len <= MASKED_MAX - 1 && len >= MASKED_MAX - 4);
	CHECK(u8_valid(m.s));
	CHECK(strpbrk(m.s, "0123456789") == NULL);
	CHECK(u8_count(m.s, len) == count_byte(m.s, '*') * 2 ||
	      u8_count(m.s, len) == count_byte(m.s, '*') * 2 + 1);

	memset(in, '7', 2000);
	in[2000] = '\0';
	mask_address(in, &m);
	CHECK(strlen(m.s) == MASKED_MAX - 1 && count_byte(m.s, '*') == MASKED_MAX - 1);
	mask_phone(in, &m);
	CHECK_STR(m.s, "****");
}

/* ---- the fixtures ---- */

/*
 * Decode the JSON string value of "key" found at or after *pos in line,
 * into buf; advance *pos past it.  Returns false when none is left.
 */
static bool json_next_str(const char *line, size_t *pos, const char *key, char *buf, size_t cap)
{
	char pat[32];
	const char *p;
	size_t n = 0;
	unsigned long u, lo;
	char hex[5];

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	p = strstr(line + *pos, pat);
	if (!p)
		return false;
	p += strlen(pat);
	while (*p && *p != '"' && n + 5 < cap) {
		if (*p != '\\') {
			buf[n++] = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'n':
			buf[n++] = '\n';
			break;
		case 't':
			buf[n++] = '\t';
			break;
		case 'u':
			memcpy(hex, p + 1, 4);
			hex[4] = '\0';
			u = strtoul(hex, NULL, 16);
			p += 4;
			if (u >= 0xd800 && u < 0xdc00 && p[1] == '\\' && p[2] == 'u') {
				memcpy(hex, p + 3, 4);
				lo = strtoul(hex, NULL, 16);
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			if (u < 0x80) {
				buf[n++] = (char)u;
			} else if (u < 0x800) {
				buf[n++] = (char)(0xc0 | (u >> 6));
				buf[n++] = (char)(0x80 | (u & 0x3f));
			} else if (u < 0x10000) {
				buf[n++] = (char)(0xe0 | (u >> 12));
				buf[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
				buf[n++] = (char)(0x80 | (u & 0x3f));
			} else {
				buf[n++] = (char)(0xf0 | (u >> 18));
				buf[n++] = (char)(0x80 | ((u >> 12) & 0x3f));
				buf[n++] = (char)(0x80 | ((u >> 6) & 0x3f));
				buf[n++] = (char)(0x80 | (u & 0x3f));
			}
			break;
		default:
			buf[n++] = *p;
			break;
		}
		p++;
	}
	buf[n] = '\0';
	*pos = (size_t)(p - line);
	return true;
}

/*
 * Split s at the byte string sep into at most max pieces (copied, each
 * NUL-terminated, into pieces[i] of 256 bytes).  Returns the count.
 */
static size_t split(const char *s, const char *sep, char (*pieces)[256], size_t max)
{
	size_t n = 0, len, slen = strlen(sep);
	const char *e;

	while (n < max) {
		e = strstr(s, sep);
		len = e ? (size_t)(e - s) : strlen(s);
		if (len > 255)
			len = 255;
		memcpy(pieces[n], s, len);
		pieces[n][len] = '\0';
		n++;
		if (!e)
			break;
		s = e + slen;
	}
	return n;
}

/* Split a part into words at spaces and hyphens; returns the count. */
static size_t split_words(const char *s, char (*words)[256], size_t max)
{
	size_t n = 0, len;

	while (*s && n < max) {
		while (*s == ' ' || *s == '-')
			s++;
		if (!*s)
			break;
		len = strcspn(s, " -");
		memcpy(words[n], s, len < 255 ? len : 255);
		words[n][len < 255 ? len : 255] = '\0';
		n++;
		s += len;
	}
	return n;
}

static int names_checked, phones_checked, addrs_checked;

/*
 * A masked name by rule: parts and words kept in number and length; in
 * each word the characters shown are the input's own at the same place,
 * the first is shown when the word has two or more, at least half and at
 * least one are hidden; neither the name nor any part appears whole.
 */
static void check_name(const char *name)
{
	static const char *const compound[] = {"欧阳", "司马", "上官", "东方", "令狐",
					       "慕容", "尉迟", "诸葛", "皇甫", "公孙"};
	char in_parts[8][256], out_parts[8][256], iw[8][256], ow[8][256];
	size_t np, no, p, nw, ow_n, w, i, total = 0, stars = 0;
	struct masked m;
	bool ok = true;

	mask_name(name, &m);
	CHECK(u8_valid(m.s));
	CHECK(strstr(m.s, name) == NULL);
	np = split(name, "·", in_parts, 8);
	no = split(m.s, "·", out_parts, 8);
	CHECK(np == no);
	for (p = 0; p < np && p < no; p++) {
		if (u8_count(in_parts[p], 255) >= 2)
			CHECK(strstr(m.s, in_parts[p]) == NULL);
		nw = split_words(in_parts[p], iw, 8);
		ow_n = split_words(out_parts[p], ow, 8);
		CHECK(nw == ow_n && nw >= 1);
		for (w = 0; w < nw && w < ow_n; w++) {
			size_t n = u8_count(iw[w], 255), hidden = 0;
			const char *a = iw[w], *b = ow[w];

			CHECK(u8_count(ow[w], 255) == n);
			for (i = 0; i < n && *a && *b; i++) {
				size_t la = u8_len((const unsigned char *)a);
				size_t lb = u8_len((const unsigned char *)b);

				if (*b == '*')
					hidden++;
				else if (la != lb || memcmp(a, b, la) != 0)
					ok = false;
				if (i == 0 && n >= 2 && (la != lb || memcmp(a, b, la) != 0))
					ok = false;
				a += la ? la : 1;
				b += lb ? lb : 1;
			}
			CHECK(hidden >= 1 && 2 * hidden >= n);
			total += n;
			stars += hidden;
		}
	}
	CHECK(ok);
	CHECK(stars >= 1 && 2 * stars >= total);
	CHECK(count_byte(m.s, '*') == stars);
	/* the first character of the name stays (fixture words have >= 2) */
	CHECK(memcmp(m.s, name, u8_len((const unsigned char *)name)) == 0);
	/* a compound surname is not kept whole */
	for (i = 0; i < ARRAY_SIZE(compound); i++)
		if (strncmp(name, compound[i], strlen(compound[i])) == 0)
			CHECK(m.s[u8_len((const unsigned char *)name)] == '*');
	names_checked++;
}

/*
 * Normalize a fixture phone simply: strip spaces and dashes; "+..." as is;
 * 11 digits from 1 -> +86 mobile; 0AAA... -> +86 without the 0.  The
 * national number with trunk 0 (what the mask counts) goes to national.
 */
static bool phone_normalize(const char *raw, char *e164, size_t cap, char *national, size_t ncap)
{
	char d[32];
	size_t n = 0;
	const char *p;

	for (p = raw; *p && n + 1 < sizeof(d); p++)
		if (*p != ' ' && *p != '-')
			d[n++] = *p;
	d[n] = '\0';
	if (n >= 3 && memcmp(d, "+86", 3) == 0) {
		snprintf(e164, cap, "%s", d);
		snprintf(national, ncap, "%s%s", d[3] == '1' && d[4] >= '3' ? "" : "0", d + 3);
	} else if (n == 11 && d[0] == '1') {
		snprintf(e164, cap, "+86%s", d);
		snprintf(national, ncap, "%s", d);
	} else if (d[0] == '0') {
		snprintf(e164, cap, "+86%s", d + 1);
		snprintf(national, ncap, "%s", d);
	} else {
		return false;
	}
	return true;
}

static void check_phone(const char *raw)
{
	char e164[40], national[40];
	struct masked m;
	size_t n, len, i;
	bool only_stars = true;

	CHECK(phone_normalize(raw, e164, sizeof(e164), national, sizeof(national)));
	mask_phone(e164, &m);
	n = strlen(national);
	len = strlen(m.s);
	CHECK(n >= 10);
	CHECK(len == n);
	CHECK(len >= 4 && strcmp(m.s + len - 4, national + n - 4) == 0);
	for (i = 0; i + 4 < len; i++)
		only_stars = only_stars && m.s[i] == '*';
	CHECK(only_stars);
	CHECK(count_byte(m.s, '*') >= 6);
	phones_checked++;
}

/*
 * A masked address by rule: no ASCII digit or Latin letter; the road name
 * (everything before the first digit) stays; as many characters as the
 * input; one star per digit; every unit marker follows a star.
 */
static void check_address(const char *addr)
{
	static const char *const markers[] = {"号", "栋", "单元", "室"};
	struct masked m;
	size_t road, digits = 0, i;
	const char *p;
	bool ok = true;

	mask_address(addr, &m);
	CHECK(u8_valid(m.s));
	for (p = m.s; *p; p++)
		if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= 'a' && *p <= 'z'))
			ok = false;
	CHECK(ok);
	road = strcspn(addr, "0123456789");
	CHECK(road > 0 && strncmp(m.s, addr, road) == 0);
	CHECK(u8_count(m.s, strlen(m.s)) == u8_count(addr, strlen(addr)));
	for (p = addr; *p; p++)
		digits += *p >= '0' && *p <= '9';
	CHECK(count_byte(m.s, '*') == digits);
	for (i = 0; i < ARRAY_SIZE(markers); i++)
		for (p = strstr(m.s + road, markers[i]); p; p = strstr(p + 1, markers[i]))
			CHECK(p[-1] == '*');
	addrs_checked++;
}

static void test_fixtures(const char *path)
{
	static char line[1 << 16];
	char buf[1024];
	FILE *f;
	size_t pos;

	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		pos = 0;
		while (json_next_str(line, &pos, "name", buf, sizeof(buf)))
			check_name(buf);
		pos = 0;
		while (json_next_str(line, &pos, "phone", buf, sizeof(buf)))
			check_phone(buf);
		pos = 0;
		while (json_next_str(line, &pos, "address", buf, sizeof(buf)))
			check_address(buf);
	}
	fclose(f);
	/* 500 orders, a sender and a recipient each */
	CHECK(names_checked == 1000);
	CHECK(phones_checked == 1000);
	CHECK(addrs_checked == 1000);
}

int main(int argc, char **argv)
{
	const char *path = getenv("WAYBILL_ORDERS");

	if (argc > 1)
		path = argv[1];
	if (!path)
		path = "tests/data/orders.jsonl";
	test_cases();
	test_long();
	test_fixtures(path);
	return t_done();
}
