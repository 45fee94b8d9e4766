/*
 * json.c - the strict pre-validator over raw request bytes (see json.h),
 * and helpers for cJSON trees that hold personal data.
 *
 * The scanner is a recursive descent whose depth is bounded by
 * JSON_DEPTH_MAX, so its whole state is one small struct on the stack.
 */
#include "common.h"

#include "json.h"

#include <stdlib.h>

/* cJSON copies a number into a 64-byte buffer: refuse what it cannot read. */
#define JSON_NUMBER_MAX 63

struct scan {
	const unsigned char *start, *p, *end;
	const char *const *known;
	int depth;		  /* containers open */
	int keys[JSON_DEPTH_MAX]; /* per container: index in known of the member, or -1 */
	char key[JSON_KEY_MAX];	  /* the key being scanned, decoded */
	size_t key_len;
	bool key_long;
	struct json_fault *fault;
};

static void path_build(const struct scan *s, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = 0; i < s->depth; i++) {
		if (s->keys[i] < 0)
			break;
		const char *k = s->known[s->keys[i]];
		size_t kl = strlen(k);
		size_t need = kl + (n ? 1 : 0);
		if (n + need + 1 > cap)
			break;
		if (n)
			out[n++] = '.';
		memcpy(out + n, k, kl);
		n += kl;
		out[n] = '\0';
	}
}

static enum json_err scan_fail(struct scan *s, enum json_err err, const unsigned char *at)
{
	s->fault->err = err;
	s->fault->offset = (size_t)(at - s->start);
	path_build(s, s->fault->path, sizeof(s->fault->path));
	return err;
}

static void scan_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* C0, DEL, C1, line/paragraph separators, bidi embeddings/overrides/isolates. */
static bool cp_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

static bool scan_hex4(struct scan *s, uint32_t *out)
{
	uint32_t v = 0;

	if (s->end - s->p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return false;
	}
	s->p += 4;
	*out = v;
	return true;
}

/* After a backslash: one escape, as a code point.  s->p is past the backslash. */
static enum json_err scan_escape(struct scan *s, const unsigned char *at, uint32_t *cp)
{
	uint32_t lo;

	if (s->p >= s->end)
		return scan_fail(s, JSON_ERR_SYNTAX, at);
	switch (*s->p++) {
	case '"':
		*cp = '"';
		return JSON_OK;
	case '\\':
		*cp = '\\';
		return JSON_OK;
	case '/':
		*cp = '/';
		return JSON_OK;
	case 'b':
		*cp = '\b';
		return JSON_OK;
	case 'f':
		*cp = '\f';
		return JSON_OK;
	case 'n':
		*cp = '\n';
		return JSON_OK;
	case 'r':
		*cp = '\r';
		return JSON_OK;
	case 't':
		*cp = '\t';
		return JSON_OK;
	case 'u':
		break;
	default:
		return scan_fail(s, JSON_ERR_SYNTAX, at);
	}
	if (!scan_hex4(s, cp))
		return scan_fail(s, JSON_ERR_SYNTAX, at);
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return scan_fail(s, JSON_ERR_SURROGATE, at);
	if (*cp < 0xd800 || *cp > 0xdbff)
		return JSON_OK;
	/* A high surrogate: a low one must follow at once. */
	if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
		return scan_fail(s, JSON_ERR_SURROGATE, at);
	s->p += 2;
	if (!scan_hex4(s, &lo))
		return scan_fail(s, JSON_ERR_SYNTAX, at);
	if (lo < 0xdc00 || lo > 0xdfff)
		return scan_fail(s, JSON_ERR_SURROGATE, at);
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return JSON_OK;
}

static void key_append(struct scan *s, uint32_t cp)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (s->key_long || s->key_len + n > sizeof(s->key)) {
		s->key_long = true;
		return;
	}
	memcpy(s->key + s->key_len, b, n);
	s->key_len += n;
}

static int key_lookup(const struct scan *s)
{
	if (s->key_long || !s->known)
		return -1;
	for (int i = 0; s->known[i]; i++) {
		if (strlen(s->known[i]) == s->key_len &&
		    memcmp(s->known[i], s->key, s->key_len) == 0)
			return i;
	}
	return -1;
}

/* A string; s->p is at the opening quote.  Keys are decoded into s->key. */
static enum json_err scan_string(struct scan *s, bool is_key)
{
	enum json_err e;

	s->p++;
	if (is_key) {
		s->key_len = 0;
		s->key_long = false;
	}
	for (;;) {
		const unsigned char *at = s->p;
		uint32_t cp;
		size_t n;

		if (s->p >= s->end)
			return scan_fail(s, JSON_ERR_SYNTAX, at);
		if (*s->p == '"') {
			s->p++;
			return JSON_OK;
		}
		if (*s->p == '\\') {
			s->p++;
			e = scan_escape(s, at, &cp);
			if (e != JSON_OK)
				return e;
		} else if (*s->p < 0x80) {
			cp = *s->p++;
		} else {
			n = utf8_decode((const char *)s->p, (size_t)(s->end - s->p), &cp);
			if (cp == UTF8_INVALID)
				return scan_fail(s, JSON_ERR_UTF8, at);
			s->p += n;
		}
		if (cp == 0)
			return scan_fail(s, JSON_ERR_NUL, at);
		if (cp_is_control(cp))
			return scan_fail(s, JSON_ERR_CONTROL, at);
		if (is_key)
			key_append(s, cp);
	}
}

static bool is_digit(const struct scan *s)
{
	return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

static enum json_err scan_number(struct scan *s)
{
	const unsigned char *at = s->p;

	if (*s->p == '-')
		s->p++;
	if (!is_digit(s))
		return scan_fail(s, JSON_ERR_SYNTAX, at);
	if (*s->p == '0') {
		s->p++;
	} else {
		while (is_digit(s))
			s->p++;
	}
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		if (!is_digit(s))
			return scan_fail(s, JSON_ERR_SYNTAX, at);
		while (is_digit(s))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!is_digit(s))
			return scan_fail(s, JSON_ERR_SYNTAX, at);
		while (is_digit(s))
			s->p++;
	}
	if (s->p - at > JSON_NUMBER_MAX)
		return scan_fail(s, JSON_ERR_SYNTAX, at);
	return JSON_OK;
}

static enum json_err scan_literal(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return scan_fail(s, JSON_ERR_SYNTAX, s->p);
	s->p += n;
	return JSON_OK;
}

static enum json_err scan_value(struct scan *s);

/* An object or an array; s->p is at its opening bracket. */
static enum json_err scan_container(struct scan *s)
{
	bool is_object = *s->p == '{';
	char close = is_object ? '}' : ']';
	enum json_err e;

	if (s->depth >= JSON_DEPTH_MAX)
		return scan_fail(s, JSON_ERR_DEPTH, s->p);
	s->keys[s->depth++] = -1;
	s->p++;
	scan_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		s->depth--;
		return JSON_OK;
	}
	for (;;) {
		if (is_object) {
			s->keys[s->depth - 1] = -1;
			if (s->p >= s->end || *s->p != '"')
				return scan_fail(s, JSON_ERR_SYNTAX, s->p);
			e = scan_string(s, true);
			if (e != JSON_OK)
				return e;
			s->keys[s->depth - 1] = key_lookup(s);
			scan_ws(s);
			if (s->p >= s->end || *s->p != ':')
				return scan_fail(s, JSON_ERR_SYNTAX, s->p);
			s->p++;
			scan_ws(s);
		}
		e = scan_value(s);
		if (e != JSON_OK)
			return e;
		scan_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			scan_ws(s);
			continue;
		}
		if (s->p < s->end && *s->p == close) {
			s->p++;
			s->depth--;
			return JSON_OK;
		}
		return scan_fail(s, JSON_ERR_SYNTAX, s->p);
	}
}

static enum json_err scan_value(struct scan *s)
{
	if (s->p >= s->end)
		return scan_fail(s, JSON_ERR_SYNTAX, s->p);
	switch (*s->p) {
	case '{':
	case '[':
		return scan_container(s);
	case '"':
		return scan_string(s, false);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
			return scan_number(s);
		return scan_fail(s, JSON_ERR_SYNTAX, s->p);
	}
}

enum json_err json_prescan(const char *buf, size_t len, const char *const *known,
			   struct json_fault *fault)
{
	struct scan s = {0};
	enum json_err e;

	fault->err = JSON_OK;
	fault->offset = 0;
	fault->path[0] = '\0';
	s.start = (const unsigned char *)buf;
	s.p = s.start;
	s.end = s.start + (buf ? len : 0);
	s.known = known;
	s.fault = fault;

	scan_ws(&s);
	e = scan_value(&s);
	if (e != JSON_OK)
		return e;
	scan_ws(&s);
	if (s.p != s.end)
		return scan_fail(&s, JSON_ERR_TRAILING, s.p);
	return JSON_OK;
}

const char *json_err_code(enum json_err e)
{
	switch (e) {
	case JSON_OK:
		return "ok";
	case JSON_ERR_SYNTAX:
		return "malformed_json";
	case JSON_ERR_TRAILING:
		return "trailing_data";
	case JSON_ERR_DEPTH:
		return "too_deep";
	case JSON_ERR_UTF8:
		return "invalid_utf8";
	case JSON_ERR_SURROGATE:
		return "invalid_utf8";
	case JSON_ERR_CONTROL:
		return "control_character";
	case JSON_ERR_NUL:
		return "nul_character";
	}
	return "malformed_json";
}

const char *json_err_message(enum json_err e)
{
	switch (e) {
	case JSON_OK:
		return "ok";
	case JSON_ERR_SYNTAX:
		return "the body is not valid JSON";
	case JSON_ERR_TRAILING:
		return "unexpected data after the JSON value";
	case JSON_ERR_DEPTH:
		return "JSON nested too deeply";
	case JSON_ERR_UTF8:
		return "string is not valid UTF-8";
	case JSON_ERR_SURROGATE:
		return "string holds an unpaired surrogate escape";
	case JSON_ERR_CONTROL:
		return "string holds a control character";
	case JSON_ERR_NUL:
		return "string holds a NUL character";
	}
	return "the body is not valid JSON";
}

enum st json_err_status(enum json_err e)
{
	switch (e) {
	case JSON_OK:
		return ST_OK;
	case JSON_ERR_SYNTAX:
	case JSON_ERR_TRAILING:
	case JSON_ERR_DEPTH:
		return ST_MALFORMED;
	case JSON_ERR_UTF8:
	case JSON_ERR_SURROGATE:
	case JSON_ERR_CONTROL:
	case JSON_ERR_NUL:
		return ST_INVALID;
	}
	return ST_MALFORMED;
}

enum st json_parse_tree(const char *buf, size_t len, cJSON **out)
{
	enum st st = ST_OK;
	char *copy = NULL;
	cJSON *root;

	*out = NULL;
	if (len == SIZE_MAX) {
		st = ST_MALFORMED;
		goto out;
	}
	copy = malloc(len + 1);
	if (!copy) {
		st = ST_NOMEM;
		goto out;
	}
	if (len)
		memcpy(copy, buf, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1);
	if (!root) {
		/*
		 * json_prescan() accepted it and cJSON reads every document
		 * that passes the prescan, so this is its allocator failing.
		 */
		st = ST_NOMEM;
		goto out;
	}
	*out = root;
out:
	free_wiped(copy, len + 1);
	return st;
}

static void tree_wipe(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->valuestring && !(item->type & cJSON_IsReference))
			mem_wipe(item->valuestring, strlen(item->valuestring));
		if (item->string && !(item->type & cJSON_StringIsConst))
			mem_wipe(item->string, strlen(item->string));
		if (item->child && !(item->type & cJSON_IsReference))
			tree_wipe(item->child);
	}
}

void json_delete_wiped(cJSON *root)
{
	if (!root)
		return;
	tree_wipe(root);
	cJSON_Delete(root);
}
