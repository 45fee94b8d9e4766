/*
 * order.c - a request body to struct order and back: the strict pre-scan
 * (json.c), cJSON, then a walk over a table of the fields each object may
 * hold; phone normalization; tracking numbers.
 *
 * Rules the walk applies, besides the ones order.h lists:
 * - Every object may hold only its known keys, each at most once.  An
 *   unknown key is never copied into the error: its path names the object
 *   holding it, since any key a client invents (a name, a phone number) may
 *   be personal data.
 * - Strings must be non-empty and not blank (only spaces, including the
 *   Unicode ones), and are stored exactly as given otherwise.
 * - An optional field whose value is null counts as absent.
 * - Integers may be written in any JSON notation with an integral value
 *   (1200, 1.2e3); 1.5 is not an integer.
 */
#include "common.h"

#include "order.h"

#include "crypto.h"
#include "json.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TN_DIGITS 16
#define TN_PREFIX_MIN 2
#define TN_PREFIX_MAX 4
#define PHONE_DIGITS_MAX 20 /* "0086" + "0" + 3 + 8 = 16, E.164 15 */

/* Every key the order has, at any level: the only names json_prescan may report. */
static const char *const order_keys[] = {
    "client_order_id", "sender", "recipient", "parcel",	 "note",     "name",  "phone",
    "province",	       "city",	 "district",  "address", "weight_g", "items", "count",
    "phone_submitted", NULL,
};

enum fkind {
	FK_TEXT,      /* char *, code points in [1, max], not blank */
	FK_PHONE,     /* char[PHONE_E164_MAX], normalized */
	FK_CLIENT_ID, /* char *, [A-Za-z0-9._:-]{1,max} */
	FK_INT,	      /* int in [min, max] */
	FK_OBJECT,    /* nested fields, filled at base + off */
};

struct fspec {
	const char *name;
	enum fkind kind;
	bool required;
	size_t off;  /* in the struct the enclosing object fills */
	size_t off2; /* FK_PHONE: where the notation as submitted goes */
	long min, max, def;
	const struct fspec *sub; /* FK_OBJECT */
	size_t nsub;
};

#define FIELDS_MAX 7 /* most fields one object has */

#define PARTY_FIELDS                                                                               \
	{"name", FK_TEXT, true, offsetof(struct party, name), 0, 1, ORDER_NAME_MAX, 0, NULL, 0},   \
	    {"phone",                                                                              \
	     FK_PHONE,                                                                             \
	     true,                                                                                 \
	     offsetof(struct party, phone),                                                        \
	     offsetof(struct party, phone_raw),                                                    \
	     1,                                                                                    \
	     ORDER_PHONE_RAW_MAX,                                                                  \
	     0,                                                                                    \
	     NULL,                                                                                 \
	     0},                                                                                   \
	    {"province", FK_TEXT, true, offsetof(struct party, province), 0, 1, ORDER_REGION_MAX,  \
	     0,		 NULL,	  0},                                                              \
	    {"city", FK_TEXT, true, offsetof(struct party, city), 0, 1, ORDER_REGION_MAX,          \
	     0,	     NULL,    0},                                                                  \
	    {"district", FK_TEXT, true, offsetof(struct party, district), 0, 1, ORDER_REGION_MAX,  \
	     0,		 NULL,	  0},                                                              \
	{                                                                                          \
		"address", FK_TEXT, true, offsetof(struct party, address), 0, 1,                   \
		    ORDER_ADDRESS_MAX, 0, NULL, 0                                                  \
	}

static const struct fspec party_fields[] = {PARTY_FIELDS};

/* A sealed blob also keeps each phone's notation as submitted. */
static const struct fspec party_fields_sealed[] = {
    PARTY_FIELDS,
    {"phone_submitted", FK_TEXT, false, offsetof(struct party, phone_raw), 0, 1,
     ORDER_PHONE_RAW_MAX, 0, NULL, 0},
};

/* The parcel's fields live in struct order itself. */
static const struct fspec parcel_fields[] = {
    {"weight_g", FK_INT, true, offsetof(struct order, weight_g), 0, 1, ORDER_WEIGHT_MAX, 0, NULL,
     0},
    {"items", FK_TEXT, false, offsetof(struct order, items), 0, 1, ORDER_ITEMS_MAX, 0, NULL, 0},
    {"count", FK_INT, false, offsetof(struct order, count), 0, 1, ORDER_COUNT_MAX, 1, NULL, 0},
};

#define ORDER_FIELDS(party)                                                                        \
	{"client_order_id",                                                                        \
	 FK_CLIENT_ID,                                                                             \
	 false,                                                                                    \
	 offsetof(struct order, client_order_id),                                                  \
	 0,                                                                                        \
	 1,                                                                                        \
	 ORDER_CLIENT_ID_MAX,                                                                      \
	 0,                                                                                        \
	 NULL,                                                                                     \
	 0},                                                                                       \
	    {"sender", FK_OBJECT,	 true, offsetof(struct order, sender), 0, 0, 0, 0,         \
	     party,    ARRAY_SIZE(party)},                                                         \
	    {"recipient", FK_OBJECT,	    true, offsetof(struct order, recipient), 0, 0, 0, 0,   \
	     party,	  ARRAY_SIZE(party)},                                                      \
	    {"parcel", FK_OBJECT, true, 0, 0, 0, 0, 0, parcel_fields, ARRAY_SIZE(parcel_fields)},  \
	{                                                                                          \
		"note", FK_TEXT, false, offsetof(struct order, note), 0, 1, ORDER_NOTE_MAX, 0,     \
		    NULL, 0                                                                        \
	}

static const struct fspec order_fields[] = {ORDER_FIELDS(party_fields)};
static const struct fspec order_fields_sealed[] = {ORDER_FIELDS(party_fields_sealed)};

/* --- errors ------------------------------------------------------------- */

static enum st fail(struct field_err *err, enum st st, const char *code, const char *message,
		    const char *path)
{
	field_err_set(err, code, message, path);
	return st;
}

/* "parent.name", or parent alone when that would not fit (it is shorter). */
static void path_join(char out[JSON_PATH_MAX], const char *parent, const char *name)
{
	size_t p = strlen(parent), dot = p > 0, n = strlen(name);

	if (p + dot + n >= JSON_PATH_MAX) {
		str_copy(out, JSON_PATH_MAX, parent);
		return;
	}
	memmove(out, parent, p);
	out[p] = '.';
	memcpy(out + p + dot, name, n + 1);
}

/* --- strings ------------------------------------------------------------ */

static bool cp_is_space(uint32_t cp)
{
	return cp == ' ' || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200b) ||
	       cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
}

static bool text_is_blank(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		i += utf8_decode(s + i, len - i, &cp);
		if (!cp_is_space(cp))
			return false;
	}
	return true;
}

static bool client_id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

/* Type, emptiness, length and blankness of a string field. */
static enum st string_check(const cJSON *v, const struct fspec *f, const char *path,
			    struct field_err *err)
{
	size_t len;

	if (!cJSON_IsString(v) || !v->valuestring)
		return fail(err, ST_INVALID, "wrong_type", "field must be a string", path);
	len = strlen(v->valuestring);
	if (len == 0)
		return fail(err, ST_INVALID, "empty", "field must not be empty", path);
	if (utf8_count(v->valuestring, len) > (size_t)f->max)
		return fail(err, ST_INVALID, "too_long", "string is longer than allowed", path);
	if (text_is_blank(v->valuestring, len))
		return fail(err, ST_INVALID, "empty", "field must not be blank", path);
	return ST_OK;
}

static enum st dup_string(const char *s, char **out)
{
	size_t n = strlen(s) + 1;

	*out = malloc(n);
	if (!*out)
		return ST_NOMEM;
	memcpy(*out, s, n);
	return ST_OK;
}

static enum st field_fill(const cJSON *v, const struct fspec *f, char *base, const char *path,
			  struct field_err *err);

/*
 * One object against its table: unknown and repeated keys first, in the
 * order they appear, then each field in table order.
 */
static enum st object_fill(const cJSON *obj, const struct fspec *fields, size_t nfields, char *base,
			   const char *path, struct field_err *err)
{
	const cJSON *found[FIELDS_MAX] = {NULL};
	char sub[JSON_PATH_MAX];
	const cJSON *m;
	enum st st;

	assert(nfields <= FIELDS_MAX);
	cJSON_ArrayForEach(m, obj)
	{
		size_t i;

		for (i = 0; i < nfields; i++) {
			if (strcmp(m->string, fields[i].name) == 0)
				break;
		}
		if (i == nfields)
			return fail(err, ST_INVALID, "unknown_field", "field is not allowed here",
				    path);
		if (found[i]) {
			path_join(sub, path, fields[i].name);
			return fail(err, ST_INVALID, "duplicate_key",
				    "field appears more than once", sub);
		}
		found[i] = m;
	}
	for (size_t i = 0; i < nfields; i++) {
		const struct fspec *f = &fields[i];

		path_join(sub, path, f->name);
		if (!found[i] || (!f->required && cJSON_IsNull(found[i]))) {
			if (f->required)
				return fail(err, ST_INVALID, "missing_field",
					    "required field is missing", sub);
			if (f->kind == FK_INT)
				*(int *)(void *)(base + f->off) = (int)f->def;
			continue;
		}
		st = field_fill(found[i], f, base, sub, err);
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

static enum st field_fill(const cJSON *v, const struct fspec *f, char *base, const char *path,
			  struct field_err *err)
{
	enum st st;
	double d;

	switch (f->kind) {
	case FK_OBJECT:
		if (!cJSON_IsObject(v))
			return fail(err, ST_INVALID, "wrong_type", "field must be an object", path);
		return object_fill(v, f->sub, f->nsub, base + f->off, path, err);
	case FK_INT:
		if (!cJSON_IsNumber(v))
			return fail(err, ST_INVALID, "wrong_type", "field must be an integer",
				    path);
		d = v->valuedouble;
		if (d > -1e15 && d < 1e15 && d != (double)(long long)d)
			return fail(err, ST_INVALID, "wrong_type", "field must be an integer",
				    path);
		if (!isfinite(d) || d < (double)f->min || d > (double)f->max)
			return fail(err, ST_INVALID, "out_of_range", "number is out of range",
				    path);
		*(int *)(void *)(base + f->off) = (int)d;
		return ST_OK;
	case FK_TEXT:
		st = string_check(v, f, path, err);
		if (st != ST_OK)
			return st;
		return dup_string(v->valuestring, (char **)(void *)(base + f->off));
	case FK_PHONE:
		st = string_check(v, f, path, err);
		if (st != ST_OK)
			return st;
		if (phone_normalize(v->valuestring, (char *)(base + f->off)) != ST_OK)
			return fail(err, ST_INVALID, "invalid_phone", "not a valid phone number",
				    path);
		if (strcmp(v->valuestring, (char *)(base + f->off)) == 0)
			return ST_OK;
		return dup_string(v->valuestring, (char **)(void *)(base + f->off2));
	case FK_CLIENT_ID:
		st = string_check(v, f, path, err);
		if (st != ST_OK)
			return st;
		for (const char *c = v->valuestring; *c; c++) {
			if (!client_id_char_ok(*c))
				return fail(err, ST_INVALID, "invalid_client_order_id",
					    "client_order_id allows only A-Z a-z 0-9 . _ : -",
					    path);
		}
		return dup_string(v->valuestring, (char **)(void *)(base + f->off));
	}
	return ST_INTERNAL;
}

/* --- parse, release, compare -------------------------------------------- */

static enum st parse_with(const char *body, size_t len, const struct fspec *fields, size_t nfields,
			  struct order *out, struct field_err *err)
{
	struct field_err scratch;
	struct json_fault fault;
	cJSON *root = NULL;
	enum json_err je;
	enum st st;

	if (!err)
		err = &scratch;
	memset(out, 0, sizeof(*out));
	err->code = NULL;
	err->message = NULL;
	err->field[0] = '\0';

	je = json_prescan(body, len, order_keys, &fault);
	if (je != JSON_OK) {
		/* A syntax fault is the body's, not the field's where the scan stopped. */
		bool body_fault = je == JSON_ERR_SYNTAX || je == JSON_ERR_TRAILING;
		st = fail(err, json_err_status(je), json_err_code(je), json_err_message(je),
			  body_fault ? "" : fault.path);
		goto out;
	}
	st = json_parse_tree(body, len, &root);
	if (st != ST_OK)
		goto out;
	if (!cJSON_IsObject(root)) {
		st =
		    fail(err, ST_MALFORMED, "malformed_json", "the body must be a JSON object", "");
		goto out;
	}
	st = object_fill(root, fields, nfields, (char *)out, "", err);
out:
	json_delete_wiped(root);
	if (st != ST_OK)
		order_release(out);
	return st;
}

enum st order_parse(const char *body, size_t len, struct order *out, struct field_err *err)
{
	return parse_with(body, len, order_fields, ARRAY_SIZE(order_fields), out, err);
}

static void string_release(char **s)
{
	if (*s)
		free_wiped(*s, strlen(*s) + 1);
	*s = NULL;
}

static void party_release(struct party *p)
{
	string_release(&p->name);
	string_release(&p->phone_raw);
	string_release(&p->province);
	string_release(&p->city);
	string_release(&p->district);
	string_release(&p->address);
}

void order_release(struct order *o)
{
	if (!o)
		return;
	string_release(&o->client_order_id);
	party_release(&o->sender);
	party_release(&o->recipient);
	string_release(&o->items);
	string_release(&o->note);
	mem_wipe(o, sizeof(*o));
}

static bool string_equal(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool party_equal(const struct party *a, const struct party *b)
{
	return string_equal(a->name, b->name) && strcmp(a->phone, b->phone) == 0 &&
	       string_equal(a->phone_raw, b->phone_raw) && string_equal(a->province, b->province) &&
	       string_equal(a->city, b->city) && string_equal(a->district, b->district) &&
	       string_equal(a->address, b->address);
}

bool order_equal(const struct order *a, const struct order *b)
{
	return string_equal(a->client_order_id, b->client_order_id) &&
	       party_equal(&a->sender, &b->sender) && party_equal(&a->recipient, &b->recipient) &&
	       a->weight_g == b->weight_g && a->count == b->count &&
	       string_equal(a->items, b->items) && string_equal(a->note, b->note);
}

/* --- canonical JSON ----------------------------------------------------- */

/*
 * A writer that first measures (buf NULL), then writes into a buffer of
 * exactly that size: no reallocation leaves copies of personal data behind.
 */
struct jw {
	char *buf;
	size_t len, cap;
	bool submitted; /* phones as submitted, no "phone_submitted" */
};

static void jw_raw(struct jw *w, const char *s, size_t n)
{
	if (w->buf && w->len + n <= w->cap)
		memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void jw_string(struct jw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	jw_raw(w, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			jw_raw(w, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			jw_raw(w, e, 6);
		} else {
			jw_raw(w, (const char *)&c, 1);
		}
	}
	jw_raw(w, "\"", 1);
}

static void jw_key(struct jw *w, bool first, const char *key)
{
	if (!first)
		jw_raw(w, ",", 1);
	jw_string(w, key);
	jw_raw(w, ":", 1);
}

static void jw_int(struct jw *w, int v)
{
	char num[16];
	int n = snprintf(num, sizeof(num), "%d", v);

	jw_raw(w, num, (size_t)n);
}

static void jw_party(struct jw *w, const struct party *p)
{
	jw_raw(w, "{", 1);
	jw_key(w, true, "name");
	jw_string(w, p->name);
	jw_key(w, false, "phone");
	jw_string(w, w->submitted && p->phone_raw ? p->phone_raw : p->phone);
	jw_key(w, false, "province");
	jw_string(w, p->province);
	jw_key(w, false, "city");
	jw_string(w, p->city);
	jw_key(w, false, "district");
	jw_string(w, p->district);
	jw_key(w, false, "address");
	jw_string(w, p->address);
	if (!w->submitted && p->phone_raw) {
		jw_key(w, false, "phone_submitted");
		jw_string(w, p->phone_raw);
	}
	jw_raw(w, "}", 1);
}

static void jw_order(struct jw *w, const struct order *o)
{
	bool first = true;

	jw_raw(w, "{", 1);
	if (o->client_order_id) {
		jw_key(w, first, "client_order_id");
		jw_string(w, o->client_order_id);
		first = false;
	}
	jw_key(w, first, "sender");
	jw_party(w, &o->sender);
	jw_key(w, false, "recipient");
	jw_party(w, &o->recipient);
	jw_key(w, false, "parcel");
	jw_raw(w, "{", 1);
	jw_key(w, true, "weight_g");
	jw_int(w, o->weight_g);
	if (o->items) {
		jw_key(w, false, "items");
		jw_string(w, o->items);
	}
	jw_key(w, false, "count");
	jw_int(w, o->count);
	jw_raw(w, "}", 1);
	if (o->note) {
		jw_key(w, false, "note");
		jw_string(w, o->note);
	}
	jw_raw(w, "}", 1);
}

static bool party_complete(const struct party *p)
{
	return p->name && p->province && p->city && p->district && p->address &&
	       memchr(p->phone, '\0', sizeof(p->phone));
}

static enum st to_json(const struct order *o, bool submitted, char **out, size_t *len)
{
	struct jw w = {0};
	enum st st = ST_OK;

	w.submitted = submitted;
	*out = NULL;
	*len = 0;
	if (!party_complete(&o->sender) || !party_complete(&o->recipient)) {
		st = ST_INTERNAL;
		goto out;
	}
	jw_order(&w, o);
	w.cap = w.len;
	w.len = 0;
	w.buf = malloc(w.cap + 1);
	if (!w.buf) {
		st = ST_NOMEM;
		goto out;
	}
	jw_order(&w, o);
	assert(w.len == w.cap);
	w.buf[w.len] = '\0';
	*out = w.buf;
	*len = w.len;
out:
	return st;
}

enum st order_to_json(const struct order *o, char **out, size_t *len)
{
	return to_json(o, false, out, len);
}

enum st order_to_submitted_json(const struct order *o, char **out, size_t *len)
{
	return to_json(o, true, out, len);
}

enum st order_from_json(const char *json, size_t len, struct order *out)
{
	return parse_with(json, len, order_fields_sealed, ARRAY_SIZE(order_fields_sealed), out,
			  NULL);
}

/* --- phones -------------------------------------------------------------
 *
 * Spaces, hyphens, dots and parentheses are dropped; a "+" may only come
 * first; anything else but digits is refused.  Then:
 *   1[3-9]xxxxxxxxx                       mainland mobile
 *   0 + area + 7 or 8 digits              landline; area 10, 2X, or [3-9]XX
 *   +86 / 0086 + either of those          the trunk 0 optional ("+86 (0)755...")
 *   86 + mobile (13 digits)               a "+" left out
 *   +CC... / 00CC...                      other E.164: 8-15 digits, CC not 0
 */

static enum st phone_emit(const char *cc, const char *d, size_t n, char out[PHONE_E164_MAX])
{
	int w = snprintf(out, PHONE_E164_MAX, "+%s%.*s", cc, (int)n, d);

	if (w < 0 || w >= PHONE_E164_MAX) {
		out[0] = '\0';
		return ST_INVALID;
	}
	return ST_OK;
}

static bool is_mobile(const char *d, size_t n)
{
	return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9';
}

/*
 * A mainland number after "+86" (cc true: the trunk 0 is optional) or as
 * dialled at home (a mobile, or a landline with its trunk 0).
 */
static enum st phone_cn(const char *d, size_t n, bool cc, char out[PHONE_E164_MAX])
{
	size_t area;

	if (is_mobile(d, n))
		return phone_emit("86", d, n, out);
	if (n && d[0] == '0') {
		d++;
		n--;
	} else if (!cc) {
		return ST_INVALID;
	}
	if (n < 2)
		return ST_INVALID;
	if (d[0] == '1')
		area = d[1] == '0' ? 2 : 0; /* 10 Beijing; other 1x are mobiles */
	else if (d[0] == '2')
		area = 2;
	else if (d[0] >= '3' && d[0] <= '9')
		area = 3;
	else
		area = 0;
	if (!area || n < area + 7 || n > area + 8)
		return ST_INVALID;
	return phone_emit("86", d, n, out);
}

/* E.164 after "+" or "00": 8 to 15 digits, country code not starting with 0. */
static enum st phone_intl(const char *d, size_t n, char out[PHONE_E164_MAX])
{
	if (n < 8 || n > 15 || d[0] == '0')
		return ST_INVALID;
	return phone_emit("", d, n, out);
}

enum st phone_normalize(const char *in, char out[PHONE_E164_MAX])
{
	char d[PHONE_DIGITS_MAX];
	size_t n = 0;
	bool plus = false;
	enum st st = ST_INVALID;

	out[0] = '\0';
	if (!in)
		goto out;
	for (const char *p = in; *p; p++) {
		char c = *p;
		if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
			continue;
		if (c == '+') {
			if (plus || n)
				goto out;
			plus = true;
			continue;
		}
		if (c < '0' || c > '9' || n == sizeof(d))
			goto out;
		d[n++] = c;
	}
	if (plus) {
		if (n >= 2 && d[0] == '8' && d[1] == '6')
			st = phone_cn(d + 2, n - 2, true, out);
		else
			st = phone_intl(d, n, out);
	} else if (n >= 2 && d[0] == '0' && d[1] == '0') {
		if (n >= 4 && d[2] == '8' && d[3] == '6')
			st = phone_cn(d + 4, n - 4, true, out);
		else
			st = phone_intl(d + 2, n - 2, out);
	} else if (n == 13 && d[0] == '8' && d[1] == '6' && is_mobile(d + 2, 11)) {
		st = phone_cn(d + 2, 11, true, out);
	} else {
		st = phone_cn(d, n, false, out);
	}
out:
	mem_wipe(d, sizeof(d));
	if (st != ST_OK)
		out[0] = '\0';
	return st;
}

/* --- tracking numbers --------------------------------------------------- */

static size_t tn_prefix_len(const char *prefix)
{
	size_t n = 0;

	if (!prefix)
		return 0;
	while (n <= TN_PREFIX_MAX && prefix[n] >= 'A' && prefix[n] <= 'Z')
		n++;
	if (prefix[n] != '\0' || n < TN_PREFIX_MIN || n > TN_PREFIX_MAX)
		return 0;
	return n;
}

/* The remainder mod 97 of r followed by the decimal digits s[0..n). */
static unsigned tn_mod97(unsigned r, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		r = (r * 10 + (unsigned)(s[i] - '0')) % 97;
	return r;
}

void tn_generate(const char *prefix, char out[TN_MAX])
{
	size_t pl = tn_prefix_len(prefix);
	unsigned check;

	assert(pl);
	out[0] = '\0';
	if (!pl)
		return;
	memcpy(out, prefix, pl);
	crypto_random_digits(out + pl, TN_DIGITS);
	check = 98 - (tn_mod97(0, out + pl, TN_DIGITS) * 100) % 97;
	out[pl + TN_DIGITS] = (char)('0' + check / 10);
	out[pl + TN_DIGITS + 1] = (char)('0' + check % 10);
	out[pl + TN_DIGITS + 2] = '\0';
}

bool tn_valid(const char *prefix, const char *tn)
{
	size_t pl = tn_prefix_len(prefix);

	if (!pl || !tn || strncmp(tn, prefix, pl) != 0)
		return false;
	tn += pl;
	for (size_t i = 0; i < TN_DIGITS + 2; i++) {
		if (tn[i] < '0' || tn[i] > '9')
			return false;
	}
	if (tn[TN_DIGITS + 2] != '\0')
		return false;
	return tn_mod97(0, tn, TN_DIGITS + 2) == 1;
}
