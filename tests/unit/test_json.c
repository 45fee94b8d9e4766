/*
 * test_json.c - the strict pre-scan: grammar, UTF-8, escapes, controls,
 * depth, trailing bytes, and the paths it reports.
 */
#include "../../server/json.c"

#include "t.h"

#include <stdlib.h>

#define K30 "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"

static const char *const known[] = {"sender", "recipient", "name", "phone",
				    "parcel", "items",	   K30,	   NULL};

struct scase {
	const char *in;
	size_t len;
	enum json_err err;
	const char *path;
	long offset; /* of the fault; -1: not checked */
};

/* sizeof keeps embedded NUL bytes in the length. */
#define C(s, e, p, off)                                                                            \
	{                                                                                          \
		s, sizeof(s) - 1, e, p, off                                                        \
	}

static const struct scase cases[] = {
    /* Accepted: every value kind, whitespace around, escapes, pairs. */
    C("{}", JSON_OK, "", 0),
    C("[]", JSON_OK, "", 0),
    C("0", JSON_OK, "", 0),
    C("-0", JSON_OK, "", 0),
    C("-12.5e+10", JSON_OK, "", 0),
    C("1E-2", JSON_OK, "", 0),
    C("true", JSON_OK, "", 0),
    C("false", JSON_OK, "", 0),
    C("null", JSON_OK, "", 0),
    C("\"x\"", JSON_OK, "", 0),
    C(" \t\r\n{ \"a\" : [ 1 , 2 , { \"b\" : null } ] } \n\t\r ", JSON_OK, "", 0),
    C("{\"a\":\"\\\" \\\\ \\/\"}", JSON_OK, "", 0),
    C("\"\\u00e9\\u5F20\\uFFFF\"", JSON_OK, "", 0),
    C("\"\\uD83D\\uDE00\\ud800\\udc00\\uDBFF\\uDFFF\"", JSON_OK, "", 0),
    C("\"\xc3\xa9\xe5\xbc\xa0\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\"", JSON_OK, "", 0),
    C("\"\xc2\xa0\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\"", JSON_OK, "", 0),
    C("[[[[[[[[]]]]]]]]", JSON_OK, "", 0),
    C("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":1}}}}}}}}", JSON_OK, "", 0),
    C("123456789012345678901234567890123456789012345678901234567890123", JSON_OK, "", 0),

    /* Grammar. */
    C("", JSON_ERR_SYNTAX, "", 0),
    C("   ", JSON_ERR_SYNTAX, "", 3),
    C("{", JSON_ERR_SYNTAX, "", 1),
    C("{\"a\"}", JSON_ERR_SYNTAX, "", 4),
    C("{\"a\":}", JSON_ERR_SYNTAX, "", 5),
    C("{\"a\":1,}", JSON_ERR_SYNTAX, "", 7),
    C("{,}", JSON_ERR_SYNTAX, "", 1),
    C("[1,]", JSON_ERR_SYNTAX, "", 3),
    C("[1 2]", JSON_ERR_SYNTAX, "", 3),
    C("[01]", JSON_ERR_SYNTAX, "", 2),
    C("{a:1}", JSON_ERR_SYNTAX, "", 1),
    C("{'a':1}", JSON_ERR_SYNTAX, "", 1),
    C("'x'", JSON_ERR_SYNTAX, "", 0),
    C("1.", JSON_ERR_SYNTAX, "", 0),
    C(".5", JSON_ERR_SYNTAX, "", 0),
    C("-", JSON_ERR_SYNTAX, "", 0),
    C("+1", JSON_ERR_SYNTAX, "", 0),
    C("1e", JSON_ERR_SYNTAX, "", 0),
    C("1e+", JSON_ERR_SYNTAX, "", 0),
    C("0x10", JSON_ERR_TRAILING, "", 1),
    C("tru", JSON_ERR_SYNTAX, "", 0),
    C("True", JSON_ERR_SYNTAX, "", 0),
    C("nul", JSON_ERR_SYNTAX, "", 0),
    C("NaN", JSON_ERR_SYNTAX, "", 0),
    C("Infinity", JSON_ERR_SYNTAX, "", 0),
    C("\"abc", JSON_ERR_SYNTAX, "", 4),
    C("\"\\x\"", JSON_ERR_SYNTAX, "", 1),
    C("\"\\u12\"", JSON_ERR_SYNTAX, "", 1),
    C("\"\\u12G4\"", JSON_ERR_SYNTAX, "", 1),
    C("\"\\", JSON_ERR_SYNTAX, "", 1),
    C("\xef\xbb\xbf{}", JSON_ERR_SYNTAX, "", 0), /* byte-order mark */
    C("{\x01}", JSON_ERR_SYNTAX, "", 1),	 /* control outside strings */
    C("[1,\xc3\xa9]", JSON_ERR_SYNTAX, "", 3),	 /* non-ASCII outside strings */
    C("{\"a\"\x0b:1}", JSON_ERR_SYNTAX, "", 4),	 /* VT is not JSON whitespace */
    C("1234567890123456789012345678901234567890123456789012345678901234", JSON_ERR_SYNTAX, "", 0),

    /* Trailing bytes; trailing whitespace is fine (above). */
    C("{}x", JSON_ERR_TRAILING, "", 2),
    C("{} {}", JSON_ERR_TRAILING, "", 3),
    C("{\"a\":1}}", JSON_ERR_TRAILING, "", 7),
    C("{}\0", JSON_ERR_TRAILING, "", 2),
    C("\"a\"\"b\"", JSON_ERR_TRAILING, "", 3),
    C("01", JSON_ERR_TRAILING, "", 1),

    /* Depth: 8 is fine (above), 9 is not. */
    C("[[[[[[[[[]]]]]]]]]", JSON_ERR_DEPTH, "", 8),
    C("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}", JSON_ERR_DEPTH, "", 40),
    C("{\"recipient\":{\"name\":[[[[[[[1]]]]]]]}}", JSON_ERR_DEPTH, "recipient.name", 27),

    /* UTF-8: stray, overlong, surrogates, too big, truncated. */
    C("\"\x80\"", JSON_ERR_UTF8, "", 1),
    C("\"\xbf\"", JSON_ERR_UTF8, "", 1),
    C("\"\xc0\xaf\"", JSON_ERR_UTF8, "", 1),
    C("\"\xc1\xbf\"", JSON_ERR_UTF8, "", 1),
    C("\"\xe0\x80\xaf\"", JSON_ERR_UTF8, "", 1),
    C("\"\xe0\x9f\xbf\"", JSON_ERR_UTF8, "", 1),
    C("\"\xf0\x80\x80\xaf\"", JSON_ERR_UTF8, "", 1),
    C("\"\xf0\x8f\xbf\xbf\"", JSON_ERR_UTF8, "", 1),
    C("\"\xed\xa0\x80\"", JSON_ERR_UTF8, "", 1),
    C("\"\xed\xbf\xbf\"", JSON_ERR_UTF8, "", 1),
    C("\"\xed\xa0\xbd\xed\xb8\x80\"", JSON_ERR_UTF8, "", 1), /* CESU-8 pair */
    C("\"\xf4\x90\x80\x80\"", JSON_ERR_UTF8, "", 1),
    C("\"\xf5\x80\x80\x80\"", JSON_ERR_UTF8, "", 1),
    C("\"\xf8\x88\x80\x80\x80\"", JSON_ERR_UTF8, "", 1),
    C("\"\xfe\"", JSON_ERR_UTF8, "", 1),
    C("\"\xff\"", JSON_ERR_UTF8, "", 1),
    C("\"ab\xe5\xbc\"", JSON_ERR_UTF8, "", 3),
    C("\"\xe5\xbc", JSON_ERR_UTF8, "", 1),
    C("\"\xf0\x9f\x98", JSON_ERR_UTF8, "", 1),
    C("\"\xc3", JSON_ERR_UTF8, "", 1),
    C("\"\xc3\x41\"", JSON_ERR_UTF8, "", 1),

    /* Escaped surrogates only in pairs. */
    C("\"\\uD800\"", JSON_ERR_SURROGATE, "", 1),
    C("\"\\uDBFF\"", JSON_ERR_SURROGATE, "", 1),
    C("\"\\uDC00\"", JSON_ERR_SURROGATE, "", 1),
    C("\"\\uDFFF\\uD800\"", JSON_ERR_SURROGATE, "", 1),
    C("\"x\\uD800\\u0041\"", JSON_ERR_SURROGATE, "", 2),
    C("\"\\uD800\\uD800\"", JSON_ERR_SURROGATE, "", 1),
    C("\"\\uD800x\"", JSON_ERR_SURROGATE, "", 1),
    C("\"\\uD800\\n\"", JSON_ERR_SURROGATE, "", 1),
    C("\"\\uD800\\uDC0\"", JSON_ERR_SYNTAX, "", 1),

    /* Control characters, raw and escaped; NUL apart. */
    C("\"\x01\"", JSON_ERR_CONTROL, "", 1),
    C("\"a\x1f\"", JSON_ERR_CONTROL, "", 2),
    C("\"a\nb\"", JSON_ERR_CONTROL, "", 2),
    C("\"a\tb\"", JSON_ERR_CONTROL, "", 2),
    C("\"a\x7f\"", JSON_ERR_CONTROL, "", 2),
    C("\"\\n\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\t\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\r\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\b\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\f\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\u001f\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\u007F\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\u0085\"", JSON_ERR_CONTROL, "", 1),
    C("\"\xc2\x80\"", JSON_ERR_CONTROL, "", 1),
    C("\"\xc2\x9f\"", JSON_ERR_CONTROL, "", 1),
    C("\"\xe2\x80\xa8\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\u2029\"", JSON_ERR_CONTROL, "", 1),
    C("\"\xe2\x80\xae\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\u2066\"", JSON_ERR_CONTROL, "", 1),
    C("\"\\u0000\"", JSON_ERR_NUL, "", 1),
    C("\"ab\\u0000cd\"", JSON_ERR_NUL, "", 3),
    C("\"a\0b\"", JSON_ERR_NUL, "", 2),

    /* Paths: known keys only, the parent for a fault in a key. */
    C("{\"recipient\":{\"name\":\"\xff\"}}", JSON_ERR_UTF8, "recipient.name", 22),
    C("{\"recipient\":{\"name\":1,\"phone\":\"1\x01\"}}", JSON_ERR_CONTROL, "recipient.phone", 33),
    C("{\"recipient\":{\"nom\":\"\xff\"}}", JSON_ERR_UTF8, "recipient", 21),
    C("{\"recipient\":{\"\xff\":1}}", JSON_ERR_UTF8, "recipient", 15),
    C("{\"recipient\":{\"name\\u0000\":1}}", JSON_ERR_NUL, "recipient", 19),
    C("{\"recipient\":{\"name\":\"\\u0000\"}}", JSON_ERR_NUL, "recipient.name", 22),
    C("{\"x\":{\"name\":\"\x01\"}}", JSON_ERR_CONTROL, "", 14),
    C("{\"recipient\":[{\"name\":\"\x01\"}]}", JSON_ERR_CONTROL, "recipient", 23),
    C("{\"re\\u0063ipient\":{\"name\":\"\x01\"}}", JSON_ERR_CONTROL, "recipient.name", 27),
    C("{\"sender\":{},\"recipient\":\"\\uDC00\"}", JSON_ERR_SURROGATE, "recipient", 26),
    C("{\"parcel\":{\"items\":\"a\"},\"sender\":\"a\x7f\"}", JSON_ERR_CONTROL, "sender", 35),
    C("{\"parcel\":{\"items\":\"a\" x}}", JSON_ERR_SYNTAX, "parcel.items", 23),
    C("{\"" K30 "\":{\"" K30 "\":{\"" K30 "\":\"\x01\"}}}", JSON_ERR_CONTROL, K30 "." K30, 103),
    C("{\"" K30 "k\":{\"name\":\"\x01\"}}", JSON_ERR_CONTROL, "", 44),
    C("{\"name\":{\"name\":{\"phone\":1}}} 1", JSON_ERR_TRAILING, "", 30),
};

static void test_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct scase *c = &cases[i];
		struct json_fault f;
		enum json_err e = json_prescan(c->in, c->len, known, &f);

		if (e != c->err || f.err != c->err)
			fprintf(stderr, "case %zu: got %s, want %s\n", i, json_err_code(e),
				json_err_code(c->err));
		CHECK(e == c->err);
		CHECK(f.err == e);
		if (e != JSON_OK) {
			CHECK_STR(f.path, c->path);
			if (c->offset >= 0 && f.offset != (size_t)c->offset)
				fprintf(stderr, "case %zu: offset %zu, want %ld\n", i, f.offset,
					c->offset);
			CHECK(c->offset < 0 || f.offset == (size_t)c->offset);
		}
	}
}

/* The reference: expected verdict for one code point inside a string. */
static enum json_err ref_cp(uint32_t cp)
{
	if (cp == 0)
		return JSON_ERR_NUL;
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return JSON_ERR_CONTROL;
	return JSON_OK;
}

/*
 * An independent UTF-8 check of the n bytes b[] as exactly one character:
 * length from the lead byte's bit pattern, continuation bits, then the
 * shortest-form, surrogate and range rules on the decoded value.
 */
static enum json_err ref_utf8(const unsigned char *b, size_t n)
{
	size_t want;
	uint32_t cp, min;

	if ((b[0] & 0xe0) == 0xc0) {
		want = 2, cp = b[0] & 0x1fu, min = 0x80;
	} else if ((b[0] & 0xf0) == 0xe0) {
		want = 3, cp = b[0] & 0x0fu, min = 0x800;
	} else if ((b[0] & 0xf8) == 0xf0) {
		want = 4, cp = b[0] & 0x07u, min = 0x10000;
	} else {
		return JSON_ERR_UTF8;
	}
	if (want != n)
		return JSON_ERR_UTF8;
	for (size_t i = 1; i < n; i++) {
		if ((b[i] & 0xc0) != 0x80)
			return JSON_ERR_UTF8;
		cp = (cp << 6) | (b[i] & 0x3fu);
	}
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return JSON_ERR_UTF8;
	return ref_cp(cp);
}

static int utf8_mismatches;

static void utf8_one(const unsigned char *b, size_t n)
{
	unsigned char buf[8];
	struct json_fault f;
	enum json_err got, want = ref_utf8(b, n);

	buf[0] = '"';
	memcpy(buf + 1, b, n);
	buf[n + 1] = '"';
	got = json_prescan((const char *)buf, n + 2, NULL, &f);
	if (got != want && utf8_mismatches++ < 10)
		fprintf(stderr, "utf8 %02x %02x %02x %02x (n=%zu): got %s want %s\n", b[0],
			n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n > 3 ? b[3] : 0, n, json_err_code(got),
			json_err_code(want));
}

/* Every two- and three-byte string with a non-ASCII lead; four bytes sampled. */
static void test_utf8_exhaustive(void)
{
	static const unsigned char last[] = {0x00, 0x22, 0x41, 0x7f, 0x80,
					     0x8f, 0x90, 0xbf, 0xc0, 0xff};
	unsigned char b[4];

	utf8_mismatches = 0;
	for (unsigned a = 0x80; a <= 0xff; a++) {
		b[0] = (unsigned char)a;
		utf8_one(b, 1);
		for (unsigned c = 0; c <= 0xff; c++) {
			b[1] = (unsigned char)c;
			if ((a & 0xe0) == 0xc0 || a < 0xc0 || a >= 0xf8)
				utf8_one(b, 2);
			if ((a & 0xf0) != 0xe0 && (a & 0xf8) != 0xf0)
				continue;
			for (unsigned d = 0; d <= 0xff; d++) {
				b[2] = (unsigned char)d;
				if ((a & 0xf0) == 0xe0) {
					utf8_one(b, 3);
					continue;
				}
				for (size_t k = 0; k < ARRAY_SIZE(last); k++) {
					b[3] = last[k];
					utf8_one(b, 4);
				}
			}
		}
	}
	CHECK(utf8_mismatches == 0);
}

/* A BMP code point as UTF-8, the textbook way. */
static size_t enc_utf8(uint32_t cp, unsigned char *u)
{
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 + cp / 64);
		u[1] = (unsigned char)(0x80 + cp % 64);
		return 2;
	}
	u[0] = (unsigned char)(0xe0 + cp / 4096);
	u[1] = (unsigned char)(0x80 + cp / 64 % 64);
	u[2] = (unsigned char)(0x80 + cp % 64);
	return 3;
}

/* Every BMP escape, and every BMP character raw, against the reference. */
static void test_escapes_exhaustive(void)
{
	int bad = 0;

	for (uint32_t cp = 0; cp <= 0xffff; cp++) {
		char buf[16];
		struct json_fault f;
		enum json_err want = cp >= 0xd800 && cp <= 0xdfff ? JSON_ERR_SURROGATE : ref_cp(cp);
		int n = snprintf(buf, sizeof(buf), "\"\\u%04X\"", (unsigned)cp);

		if (json_prescan(buf, (size_t)n, NULL, &f) != want)
			bad++;
		if (cp == '"' || cp == '\\' || (cp >= 0xd800 && cp <= 0xdfff))
			continue;
		/* The same character raw. */
		unsigned char u[4];
		size_t un = enc_utf8(cp, u);
		buf[0] = '"';
		memcpy(buf + 1, u, un);
		buf[un + 1] = '"';
		if (json_prescan(buf, un + 2, NULL, &f) != ref_cp(cp))
			bad++;
		if (cp >= 0x80 && ref_utf8(u, un) != ref_cp(cp))
			bad++;
	}
	/* Supplementary planes through pairs, sampled on both halves. */
	for (uint32_t hi = 0xd800; hi <= 0xdbff; hi += 0x11) {
		for (uint32_t lo = 0xdc00; lo <= 0xdfff; lo += 0x3f) {
			char buf[24];
			struct json_fault f;
			int n = snprintf(buf, sizeof(buf), "\"\\u%04x\\u%04x\"", (unsigned)hi,
					 (unsigned)lo);
			if (json_prescan(buf, (size_t)n, NULL, &f) != JSON_OK)
				bad++;
		}
	}
	CHECK(bad == 0);
}

/* Each depth from 1 to 12, arrays and objects: up to 8 passes. */
static void test_depths(void)
{
	for (int d = 1; d <= 12; d++) {
		char buf[256];
		size_t n = 0;
		struct json_fault f;
		enum json_err e;

		for (int i = 0; i < d; i++) {
			memcpy(buf + n, i % 2 ? "[" : "{\"a\":", i % 2 ? 1 : 5);
			n += i % 2 ? 1 : 5;
		}
		buf[n++] = '1';
		for (int i = d - 1; i >= 0; i--)
			buf[n++] = i % 2 ? ']' : '}';
		e = json_prescan(buf, n, NULL, &f);
		CHECK(e == (d <= JSON_DEPTH_MAX ? JSON_OK : JSON_ERR_DEPTH));
	}
}

/* Every fixture passes, and every proper prefix of one is refused. */
static void test_fixtures(void)
{
	FILE *fp = fopen("tests/data/orders.jsonl", "r");
	char line[4096];
	int lines = 0, ok = 0, prefixes_refused = 1;

	CHECK(fp != NULL);
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		size_t n = strcspn(line, "\n");
		struct json_fault f;

		lines++;
		if (json_prescan(line, n, NULL, &f) == JSON_OK)
			ok++;
		if (lines <= 20) {
			for (size_t k = 0; k < n; k++) {
				if (json_prescan(line, k, NULL, &f) == JSON_OK)
					prefixes_refused = 0;
			}
		}
	}
	fclose(fp);
	CHECK(lines == 500);
	CHECK(ok == lines);
	CHECK(prefixes_refused);
}

/* The tree parser takes what the prescan takes; wiping leaves cJSON happy. */
static void test_parse_tree(void)
{
	static const char *docs[] = {
	    "{\"a\":\"\xe5\xbc\xa0\",\"b\":[1,2.5,true,null,{\"c\":\"\\uD83D\\uDE00\"}]}",
	    "[]",
	    "\"x\"",
	    "  123456789012345678901234567890123456789012345678901234567890123  ",
	};

	for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
		struct json_fault f;
		cJSON *root = NULL;

		CHECK(json_prescan(docs[i], strlen(docs[i]), NULL, &f) == JSON_OK);
		CHECK(json_parse_tree(docs[i], strlen(docs[i]), &root) == ST_OK);
		CHECK(root != NULL);
		json_delete_wiped(root);
	}
	{
		cJSON *root = NULL;
		const char *doc = "{\"k\":\"\xe5\xbc\xa0\\u00e9\"}";

		CHECK(json_parse_tree(doc, strlen(doc), &root) == ST_OK);
		CHECK(root && cJSON_GetObjectItemCaseSensitive(root, "k"));
		if (root)
			CHECK_STR(cJSON_GetObjectItemCaseSensitive(root, "k")->valuestring,
				  "\xe5\xbc\xa0\xc3\xa9");
		json_delete_wiped(root);
	}
	json_delete_wiped(NULL);
}

static void test_codes(void)
{
	static const struct {
		enum json_err e;
		const char *code;
		enum st st;
	} want[] = {
	    {JSON_ERR_SYNTAX, "malformed_json", ST_MALFORMED},
	    {JSON_ERR_TRAILING, "trailing_data", ST_MALFORMED},
	    {JSON_ERR_DEPTH, "too_deep", ST_MALFORMED},
	    {JSON_ERR_UTF8, "invalid_utf8", ST_INVALID},
	    {JSON_ERR_SURROGATE, "invalid_utf8", ST_INVALID},
	    {JSON_ERR_CONTROL, "control_character", ST_INVALID},
	    {JSON_ERR_NUL, "nul_character", ST_INVALID},
	};

	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_STR(json_err_code(want[i].e), want[i].code);
		CHECK(json_err_status(want[i].e) == want[i].st);
		CHECK(json_err_message(want[i].e) != NULL);
	}
}

/* str_copy: what snprintf(dst, cap, "%s", src) gave, for every cap. */
static void test_str_copy(void)
{
	static const char *const srcs[] = {"", "a", "recipient.phone", "收件人", NULL};
	char got[24], want[24];

	for (size_t i = 0; i < ARRAY_SIZE(srcs); i++) {
		for (size_t cap = 1; cap <= sizeof(got); cap++) {
			memset(got, 'x', sizeof(got));
			memset(want, 'x', sizeof(want));
			str_copy(got, cap, srcs[i]);
			snprintf(want, cap, "%s", srcs[i] ? srcs[i] : "");
			CHECKF(memcmp(got, want, sizeof(got)) == 0, "src %zu cap %zu", i, cap);
		}
	}
}

int main(void)
{
	test_str_copy();
	test_table();
	test_utf8_exhaustive();
	test_escapes_exhaustive();
	test_depths();
	test_fixtures();
	test_parse_tree();
	test_codes();
	return t_done();
}
