/*
 * test_order.c - order_parse's rules, canonical JSON round trips over the
 * fixtures, phone normalization, tracking numbers.
 */
#include "common.h"

#include "crypto.h"
#include "order.h"

#include "t.h"

#include <cJSON.h>
#include <stdlib.h>

/* docs/API.md's example order, compact, so that each member is one unique substring. */
#define BASE                                                                                            \
	"{\"client_order_id\":\"app-123\","                                                             \
	"\"sender\":{\"name\":\"张三\",\"phone\":\"13812345678\",\"province\":\"江苏省\","         \
	"\"city\":\"镇江市\",\"district\":\"京口区\",\"address\":\"学府路301号3栋502室\"}," \
	"\"recipient\":{\"name\":\"欧阳娜娜\",\"phone\":\"+86 139 8765 4321\","                     \
	"\"province\":\"广东省\",\"city\":\"深圳市\",\"district\":\"宝安区\","                 \
	"\"address\":\"创业一路1号\"},"                                                            \
	"\"parcel\":{\"weight_g\":1200,\"items\":\"书籍\",\"count\":1},"                              \
	"\"note\":\"放门卫室\"}"

#define BASE_CANONICAL                                                                                 \
	"{\"client_order_id\":\"app-123\","                                                            \
	"\"sender\":{\"name\":\"张三\",\"phone\":\"+8613812345678\",\"province\":\"江苏省\","     \
	"\"city\":\"镇江市\",\"district\":\"京口区\",\"address\":\"学府路301号3栋502室\"," \
	"\"phone_submitted\":\"13812345678\"},"                                                        \
	"\"recipient\":{\"name\":\"欧阳娜娜\",\"phone\":\"+8613987654321\","                       \
	"\"province\":\"广东省\",\"city\":\"深圳市\",\"district\":\"宝安区\","                \
	"\"address\":\"创业一路1号\",\"phone_submitted\":\"+86 139 8765 4321\"},"                 \
	"\"parcel\":{\"weight_g\":1200,\"items\":\"书籍\",\"count\":1},"                             \
	"\"note\":\"放门卫室\"}"

/* base with the one occurrence of old replaced by new; NULL if old is not there once. */
static char *subst(const char *base, const char *old, const char *new)
{
	const char *at = strstr(base, old);
	size_t bl = strlen(base), ol = strlen(old), nl = strlen(new);
	char *out;

	if (!at || strstr(at + 1, old))
		return NULL;
	out = malloc(bl - ol + nl + 1);
	if (!out)
		return NULL;
	memcpy(out, base, (size_t)(at - base));
	memcpy(out + (at - base), new, nl);
	memcpy(out + (at - base) + nl, at + ol, bl - (size_t)(at - base) - ol + 1);
	return out;
}

/* Error fields hold only field-name characters; messages only ASCII text. */
static bool err_is_clean(const struct field_err *e)
{
	for (const char *c = e->field; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.'))
			return false;
	}
	if (!e->code || !e->message)
		return false;
	for (const char *c = e->message; *c; c++) {
		if ((unsigned char)*c >= 0x80 || (unsigned char)*c < 0x20)
			return false;
	}
	return true;
}

/* parse(to_json(o)) equals o, and to_json is stable. */
static bool round_trips(const struct order *o)
{
	char *j1 = NULL, *j2 = NULL;
	size_t l1 = 0, l2 = 0;
	struct order back;
	bool ok = false;

	if (order_to_json(o, &j1, &l1) != ST_OK)
		return false;
	if (strlen(j1) != l1 || order_from_json(j1, l1, &back) != ST_OK)
		goto out;
	ok = order_equal(o, &back);
	if (order_to_json(&back, &j2, &l2) != ST_OK)
		ok = false;
	else
		ok = ok && l1 == l2 && memcmp(j1, j2, l1) == 0;
	order_release(&back);
out:
	free_wiped(j1, l1 + 1);
	free_wiped(j2, l2 + 1);
	return ok;
}

struct pcase {
	const char *old, *new;
	enum st st;
	const char *code, *field;
	int weight, count; /* checked on ST_OK when non-zero */
};

static const struct pcase pcases[] = {
    /* The base itself, and harmless variations. */
    {"\"count\":1", "\"count\":1", ST_OK, NULL, NULL, 1200, 1},
    {"\"weight_g\":1200", "\"weight_g\":1e3", ST_OK, NULL, NULL, 1000, 1},
    {"\"weight_g\":1200", "\"weight_g\":1.0", ST_OK, NULL, NULL, 1, 1},
    {"\"weight_g\":1200", "\"weight_g\":1200e-1", ST_OK, NULL, NULL, 120, 1},
    {"\"weight_g\":1200", "\"weight_g\":100000", ST_OK, NULL, NULL, 100000, 1},
    {"\"weight_g\":1200", "\"weight_g\":1E5", ST_OK, NULL, NULL, 100000, 1},
    {"\"weight_g\":1200", "\"weight_g\":1", ST_OK, NULL, NULL, 1, 1},
    {"\"count\":1", "\"count\":999", ST_OK, NULL, NULL, 1200, 999},
    {",\"count\":1", "", ST_OK, NULL, NULL, 1200, 1},
    {"\"count\":1", "\"count\":null", ST_OK, NULL, NULL, 1200, 1},
    {",\"items\":\"书籍\"", "", ST_OK, NULL, NULL, 1200, 1},
    {"\"items\":\"书籍\"", "\"items\":null", ST_OK, NULL, NULL, 1200, 1},
    {",\"note\":\"放门卫室\"", "", ST_OK, NULL, NULL, 1200, 1},
    {"\"note\":\"放门卫室\"", "\"note\":null", ST_OK, NULL, NULL, 1200, 1},
    {"\"client_order_id\":\"app-123\",", "", ST_OK, NULL, NULL, 1200, 1},
    {"\"client_order_id\":\"app-123\"", "\"client_order_id\":null", ST_OK, NULL, NULL, 1200, 1},
    {"app-123", "A-z.0_9:", ST_OK, NULL, NULL, 1200, 1},
    {"\"name\":\"张三\"", "\"n\\u0061me\":\"\\u5f20\\u4e09\"", ST_OK, NULL, NULL, 1200, 1},
    {"\"name\":\"张三\"", " \"name\" : \"张三\" ", ST_OK, NULL, NULL, 1200, 1},
    {"\"name\":\"张三\"", "\"name\":\" 张三\"", ST_OK, NULL, NULL, 1200, 1},
    {"\"note\":\"放门卫室\"", "\"note\":\"[[[[[[[1]]]]]]]\"", ST_OK, NULL, NULL, 1200, 1},
    {"\"name\":\"张三\"", "\"name\":\"😀\"", ST_OK, NULL, NULL, 1200, 1},
    {"\"name\":\"欧阳娜娜\"", "\"name\":\"阿卜杜拉·买买提\"", ST_OK, NULL, NULL, 1200, 1},

    /* Unknown fields at each level: only the parent path is named, never the key. */
    {"\"note\":\"放门卫室\"", "\"note\":\"a\",\"color\":\"red\"", ST_INVALID, "unknown_field", "",
     0, 0},
    {"\"name\":\"张三\"", "\"name\":\"张三\",\"color\":\"red\"", ST_INVALID, "unknown_field",
     "sender", 0, 0},
    {"\"name\":\"欧阳娜娜\"", "\"name\":\"欧阳娜娜\",\"color\":{\"x\":1}", ST_INVALID,
     "unknown_field", "recipient", 0, 0},
    {"\"count\":1", "\"count\":1,\"color\":\"red\"", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"weight\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"Count\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"13812345678\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"p13812345678\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"phone1234\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"颜色\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"a b\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"a.b\":1", ST_INVALID, "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"abcdefghijklmnopqrstuvwxyzabcdef\":1", ST_INVALID,
     "unknown_field", "parcel", 0, 0},
    {"\"count\":1", "\"count\":1,\"abcdefghijklmnopqrstuvwxyzabcdefg\":1", ST_INVALID,
     "unknown_field", "parcel", 0, 0},
    {"\"name\":\"张三\"", "\"name\":\"张三\",\"zhangsan\":1", ST_INVALID, "unknown_field", "sender",
     0, 0},
    {"\"note\":\"放门卫室\"", "\"zhangsan13812\":1", ST_INVALID, "unknown_field", "", 0, 0},
    {"\"note\":\"放门卫室\"", "\"name\":\"x\"", ST_INVALID, "unknown_field", "", 0, 0},
    {"\"count\":1", "\"count\":1,\"phone\":\"13812345678\"", ST_INVALID, "unknown_field", "parcel",
     0, 0},

    /* Duplicate keys at each level, also when spelt with escapes. */
    {"\"note\":\"放门卫室\"", "\"note\":\"a\",\"note\":\"b\"", ST_INVALID, "duplicate_key", "note",
     0, 0},
    {"\"client_order_id\":\"app-123\"", "\"client_order_id\":\"a\",\"client_order_id\":\"b\"",
     ST_INVALID, "duplicate_key", "client_order_id", 0, 0},
    {"\"name\":\"张三\"", "\"name\":\"张三\",\"name\":\"李四\"", ST_INVALID, "duplicate_key",
     "sender.name", 0, 0},
    {"\"name\":\"张三\"", "\"name\":\"张三\",\"n\\u0061me\":\"李四\"", ST_INVALID, "duplicate_key",
     "sender.name", 0, 0},
    {"\"name\":\"欧阳娜娜\"", "\"phone\":\"13812345678\",\"name\":\"欧阳娜娜\"", ST_INVALID,
     "duplicate_key", "recipient.phone", 0, 0},
    {"\"count\":1", "\"count\":1,\"count\":2", ST_INVALID, "duplicate_key", "parcel.count", 0, 0},
    {"\"count\":1", "\"count\":1,\"weight_g\":\"x\"", ST_INVALID, "duplicate_key",
     "parcel.weight_g", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":\"a\",\"parcel\":{}", ST_INVALID, "duplicate_key", "parcel",
     0, 0},

    /* Wrong types. */
    {"\"client_order_id\":\"app-123\"", "\"client_order_id\":123", ST_INVALID, "wrong_type",
     "client_order_id", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":5", ST_INVALID, "wrong_type", "note", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":[\"a\"]", ST_INVALID, "wrong_type", "note", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":[[[[[[[1]]]]]]]", ST_INVALID, "wrong_type", "note", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":true", ST_INVALID, "wrong_type", "note", 0, 0},
    {"\"name\":\"张三\"", "\"name\":1", ST_INVALID, "wrong_type", "sender.name", 0, 0},
    {"\"name\":\"张三\"", "\"name\":null", ST_INVALID, "wrong_type", "sender.name", 0, 0},
    {"\"name\":\"张三\"", "\"name\":[\"张三\"]", ST_INVALID, "wrong_type", "sender.name", 0, 0},
    {"\"phone\":\"13812345678\"", "\"phone\":13812345678", ST_INVALID, "wrong_type", "sender.phone",
     0, 0},
    {"\"address\":\"创业一路1号\"", "\"address\":{}", ST_INVALID, "wrong_type", "recipient.address",
     0, 0},
    {"\"items\":\"书籍\"", "\"items\":{}", ST_INVALID, "wrong_type", "parcel.items", 0, 0},
    {"\"weight_g\":1200", "\"weight_g\":\"1200\"", ST_INVALID, "wrong_type", "parcel.weight_g", 0,
     0},
    {"\"weight_g\":1200", "\"weight_g\":1.5", ST_INVALID, "wrong_type", "parcel.weight_g", 0, 0},
    {"\"weight_g\":1200", "\"weight_g\":12e-1", ST_INVALID, "wrong_type", "parcel.weight_g", 0, 0},
    {"\"weight_g\":1200", "\"weight_g\":100000.5", ST_INVALID, "wrong_type", "parcel.weight_g", 0,
     0},
    {"\"weight_g\":1200", "\"weight_g\":true", ST_INVALID, "wrong_type", "parcel.weight_g", 0, 0},
    {"\"weight_g\":1200", "\"weight_g\":null", ST_INVALID, "wrong_type", "parcel.weight_g", 0, 0},
    {"\"weight_g\":1200", "\"weight_g\":[1200]", ST_INVALID, "wrong_type", "parcel.weight_g", 0, 0},
    {"\"count\":1", "\"count\":\"1\"", ST_INVALID, "wrong_type", "parcel.count", 0, 0},
    {"\"count\":1", "\"count\":1.5", ST_INVALID, "wrong_type", "parcel.count", 0, 0},
    {"\"count\":1", "\"count\":false", ST_INVALID, "wrong_type", "parcel.count", 0, 0},

    /* Numbers out of range. */
    {"\"weight_g\":1200", "\"weight_g\":0", ST_INVALID, "out_of_range", "parcel.weight_g", 0, 0},
    {"\"weight_g\":1200", "\"weight_g\":-0", ST_INVALID, "out_of_range", "parcel.weight_g", 0, 0},
    {"\"weight_g\":1200", "\"weight_g\":-1", ST_INVALID, "out_of_range", "parcel.weight_g", 0, 0},
    {"\"weight_g\":1200", "\"weight_g\":100001", ST_INVALID, "out_of_range", "parcel.weight_g", 0,
     0},
    {"\"weight_g\":1200", "\"weight_g\":1.00001e5", ST_INVALID, "out_of_range", "parcel.weight_g",
     0, 0},
    {"\"weight_g\":1200", "\"weight_g\":1e400", ST_INVALID, "out_of_range", "parcel.weight_g", 0,
     0},
    {"\"weight_g\":1200", "\"weight_g\":-1e400", ST_INVALID, "out_of_range", "parcel.weight_g", 0,
     0},
    {"\"weight_g\":1200", "\"weight_g\":4294967297", ST_INVALID, "out_of_range", "parcel.weight_g",
     0, 0},
    {"\"weight_g\":1200", "\"weight_g\":1e20", ST_INVALID, "out_of_range", "parcel.weight_g", 0, 0},
    {"\"count\":1", "\"count\":0", ST_INVALID, "out_of_range", "parcel.count", 0, 0},
    {"\"count\":1", "\"count\":1000", ST_INVALID, "out_of_range", "parcel.count", 0, 0},
    {"\"count\":1", "\"count\":-5", ST_INVALID, "out_of_range", "parcel.count", 0, 0},

    /* Missing objects (each field of each party is checked in a loop). */
    {"\"parcel\":{\"weight_g\":1200,\"items\":\"书籍\",\"count\":1},", "", ST_INVALID,
     "missing_field", "parcel", 0, 0},
    {"\"weight_g\":1200,", "", ST_INVALID, "missing_field", "parcel.weight_g", 0, 0},
    {"\"parcel\":{\"weight_g\":1200,\"items\":\"书籍\",\"count\":1}", "\"parcel\":{}", ST_INVALID,
     "missing_field", "parcel.weight_g", 0, 0},

    /* Empty and blank strings. */
    {"\"note\":\"放门卫室\"", "\"note\":\"\"", ST_INVALID, "empty", "note", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":\"   \"", ST_INVALID, "empty", "note", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":\"\\u3000 \\u00a0\"", ST_INVALID, "empty", "note", 0, 0},
    {"\"name\":\"张三\"", "\"name\":\"\"", ST_INVALID, "empty", "sender.name", 0, 0},
    {"\"name\":\"张三\"", "\"name\":\"\xe3\x80\x80\"", ST_INVALID, "empty", "sender.name", 0, 0},
    {"\"city\":\"深圳市\"", "\"city\":\" \"", ST_INVALID, "empty", "recipient.city", 0, 0},
    {"\"items\":\"书籍\"", "\"items\":\"\"", ST_INVALID, "empty", "parcel.items", 0, 0},
    {"\"phone\":\"13812345678\"", "\"phone\":\"\"", ST_INVALID, "empty", "sender.phone", 0, 0},
    {"\"phone\":\"13812345678\"", "\"phone\":\"   \"", ST_INVALID, "empty", "sender.phone", 0, 0},
    {"app-123", "", ST_INVALID, "empty", "client_order_id", 0, 0},

    /* Phones. */
    {"13812345678", "12812345678", ST_INVALID, "invalid_phone", "sender.phone", 0, 0},
    {"13812345678", "1381234567", ST_INVALID, "invalid_phone", "sender.phone", 0, 0},
    {"13812345678", "138123456789", ST_INVALID, "invalid_phone", "sender.phone", 0, 0},
    {"13812345678", "138 1234 5678 ext 1", ST_INVALID, "invalid_phone", "sender.phone", 0, 0},
    {"13812345678", "+", ST_INVALID, "invalid_phone", "sender.phone", 0, 0},
    {"+86 139 8765 4321", "+86 129 8765 4321", ST_INVALID, "invalid_phone", "recipient.phone", 0,
     0},
    {"+86 139 8765 4321", "139+8765+4321", ST_INVALID, "invalid_phone", "recipient.phone", 0, 0},
    {"+86 139 8765 4321", "１３９８７６５４３２１", ST_INVALID, "invalid_phone", "recipient.phone",
     0, 0},
    {"13812345678", "13812345678                     ", ST_OK, NULL, NULL, 1200, 1},
    {"13812345678", "13812345678                      ", ST_INVALID, "too_long", "sender.phone", 0,
     0},

    /* client_order_id. */
    {"app-123", "app 123", ST_INVALID, "invalid_client_order_id", "client_order_id", 0, 0},
    {"app-123", "a/b", ST_INVALID, "invalid_client_order_id", "client_order_id", 0, 0},
    {"app-123", "订单1", ST_INVALID, "invalid_client_order_id", "client_order_id", 0, 0},
    {"app-123", "app+123", ST_INVALID, "invalid_client_order_id", "client_order_id", 0, 0},

    /* What the pre-scan finds, with the path of the field. */
    {"\"name\":\"欧阳娜娜\"", "\"name\":\"欧阳\xff\"", ST_INVALID, "invalid_utf8", "recipient.name",
     0, 0},
    {"\"name\":\"欧阳娜娜\"", "\"name\":\"\xc0\xaf\"", ST_INVALID, "invalid_utf8", "recipient.name",
     0, 0},
    {"\"name\":\"欧阳娜娜\"", "\"name\":\"\xed\xa0\x80\"", ST_INVALID, "invalid_utf8",
     "recipient.name", 0, 0},
    {"\"name\":\"张三\"", "\"na\xffme\":\"张三\"", ST_INVALID, "invalid_utf8", "sender", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":\"\\uD800\"", ST_INVALID, "invalid_utf8", "note", 0, 0},
    {"\"address\":\"创业一路1号\"", "\"address\":\"创业\\u0000一路\"", ST_INVALID, "nul_character",
     "recipient.address", 0, 0},
    {"\"items\":\"书籍\"", "\"items\":\"书\x01籍\"", ST_INVALID, "control_character",
     "parcel.items", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":\"放\\n门卫室\"", ST_INVALID, "control_character", "note",
     0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":\"放\\u202e门卫室\"", ST_INVALID, "control_character",
     "note", 0, 0},
    {"\"district\":\"京口区\"", "\"district\":\"京口\xc2\x85\"", ST_INVALID, "control_character",
     "sender.district", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":[[[[[[[[1]]]]]]]]", ST_MALFORMED, "too_deep", "note", 0, 0},
    {"\"note\":\"放门卫室\"", "\"note\":\"a\",", ST_MALFORMED, "malformed_json", "", 0, 0},
    {"\"count\":1", "\"count\":01", ST_MALFORMED, "malformed_json", "", 0, 0},
    {"\"count\":1", "\"count\":+1", ST_MALFORMED, "malformed_json", "", 0, 0},
};

static void test_parse_table(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(pcases); i++) {
		const struct pcase *c = &pcases[i];
		char *body = subst(BASE, c->old, c->new);
		struct field_err err;
		struct order o;
		enum st st;

		CHECK(body != NULL);
		if (!body)
			continue;
		memset(&err, 0x5a, sizeof(err));
		st = order_parse(body, strlen(body), &o, &err);
		if (st != c->st || (c->code && (!err.code || strcmp(err.code, c->code) != 0)))
			fprintf(stderr, "case %zu (%s): got %s/%s [%s]\n", i, c->new, st_name(st),
				st == ST_OK ? "-" : err.code, st == ST_OK ? "" : err.field);
		CHECK(st == c->st);
		if (st == ST_OK) {
			CHECK(err.code == NULL);
			CHECK_STR(err.field, "");
			if (c->weight)
				CHECK(o.weight_g == c->weight);
			if (c->count)
				CHECK(o.count == c->count);
			CHECK(round_trips(&o));
			order_release(&o);
		} else {
			CHECK_STR(err.code, c->code);
			CHECK_STR(err.field, c->field);
			CHECK(err_is_clean(&err));
			/* The struct is left empty. */
			CHECK(o.sender.name == NULL && o.client_order_id == NULL && o.note == NULL);
		}
		free(body);
	}
}

/* Optional fields that are absent (or null) come back absent; count defaults to 1. */
static void test_optional(void)
{
	static const char *drop[] = {",\"note\":\"放门卫室\"", "\"client_order_id\":\"app-123\",",
				     ",\"items\":\"书籍\"", ",\"count\":1"};
	char *body = strdup(BASE);

	for (size_t i = 0; body && i < ARRAY_SIZE(drop); i++) {
		char *next = subst(body, drop[i], "");
		free(body);
		body = next;
	}
	CHECK(body != NULL);
	if (body) {
		struct order o;
		char *json = NULL;
		size_t len = 0;

		CHECK(order_parse(body, strlen(body), &o, NULL) == ST_OK);
		CHECK(o.note == NULL && o.client_order_id == NULL && o.items == NULL);
		CHECK(o.count == 1);
		CHECK(order_to_json(&o, &json, &len) == ST_OK);
		if (json) {
			CHECK(strstr(json, "note") == NULL);
			CHECK(strstr(json, "client_order_id") == NULL);
			CHECK(strstr(json, "items") == NULL);
			CHECK(strstr(json, "\"parcel\":{\"weight_g\":1200,\"count\":1}") != NULL);
			CHECK(strncmp(json, "{\"sender\":{\"name\":", 18) == 0);
		}
		CHECK(round_trips(&o));
		free_wiped(json, len + 1);
		order_release(&o);
		/* Released twice is harmless; the struct is empty after release. */
		order_release(&o);
		CHECK(o.sender.name == NULL && o.sender.phone[0] == '\0');
	}
	free(body);
}

/*
 * The canonical form of the example: fixed key order, phones normalized,
 * each phone's notation as submitted kept beside it.
 */
static void test_canonical(void)
{
	struct order o;
	char *json = NULL;
	size_t len = 0;

	CHECK(order_parse(BASE, strlen(BASE), &o, NULL) == ST_OK);
	CHECK(order_to_json(&o, &json, &len) == ST_OK);
	CHECK_STR(json, BASE_CANONICAL);
	CHECK(json && len == strlen(json));
	free_wiped(json, len + 1);
	CHECK_STR(o.sender.phone, "+8613812345678");
	CHECK_STR(o.recipient.phone, "+8613987654321");
	CHECK_STR(o.recipient.name, "欧阳娜娜");
	CHECK_STR(o.sender.address, "学府路301号3栋502室");
	order_release(&o);

	/* Quotes and backslashes survive the writer. */
	{
		char *body = subst(BASE, "\"note\":\"放门卫室\"", "\"note\":\"a\\\"b\\\\c\\/d\"");
		CHECK(body && order_parse(body, strlen(body), &o, NULL) == ST_OK);
		if (body && o.note) {
			CHECK_STR(o.note, "a\"b\\c/d");
			CHECK(round_trips(&o));
			order_release(&o);
		}
		free(body);
	}
}

/* Whole bodies that are not an order at all. */
static void test_bodies(void)
{
	static const struct {
		const char *body;
		size_t len;
		enum st st;
		const char *code, *field;
	} cases[] = {
	    {"", 0, ST_MALFORMED, "malformed_json", ""},
	    {"[]", 2, ST_MALFORMED, "malformed_json", ""},
	    {"\"x\"", 3, ST_MALFORMED, "malformed_json", ""},
	    {"1", 1, ST_MALFORMED, "malformed_json", ""},
	    {"null", 4, ST_MALFORMED, "malformed_json", ""},
	    {"{", 1, ST_MALFORMED, "malformed_json", ""},
	    {"{}", 2, ST_INVALID, "missing_field", "sender"},
	    {"{\"sender\":{}}", 13, ST_INVALID, "missing_field", "sender.name"},
	    {BASE "x", sizeof(BASE "x") - 1, ST_MALFORMED, "trailing_data", ""},
	    {BASE "{}", sizeof(BASE "{}") - 1, ST_MALFORMED, "trailing_data", ""},
	    {BASE "\0", sizeof(BASE "\0") - 1, ST_MALFORMED, "trailing_data", ""},
	    {BASE " \r\n\t", sizeof(BASE " \r\n\t") - 1, ST_OK, NULL, NULL},
	    {"\xef\xbb\xbf" BASE, sizeof("\xef\xbb\xbf" BASE) - 1, ST_MALFORMED, "malformed_json",
	     ""},
	    /* The length given is what counts, not a NUL. */
	    {BASE "garbage", sizeof(BASE) - 1, ST_OK, NULL, NULL},
	    {BASE, sizeof(BASE) - 2, ST_MALFORMED, "malformed_json", ""},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct field_err err;
		struct order o;
		enum st st = order_parse(cases[i].body, cases[i].len, &o, &err);

		CHECK(st == cases[i].st);
		if (st == ST_OK) {
			CHECK(round_trips(&o));
			order_release(&o);
			continue;
		}
		CHECK_STR(err.code, cases[i].code);
		CHECK_STR(err.field, cases[i].field);
		CHECK(err_is_clean(&err));
	}
	{
		struct order o;
		CHECK(order_parse(NULL, 0, &o, NULL) == ST_MALFORMED);
		CHECK(order_from_json("[]", 2, &o) == ST_MALFORMED);
		CHECK(order_from_json(BASE, strlen(BASE), &o) == ST_OK);
		order_release(&o);
	}
}

/* Every required member of each party, removed in turn. */
static void test_missing_each(void)
{
	static const char *members[] = {
	    "\"name\":\"张三\"",       "\"phone\":\"13812345678\"",
	    "\"province\":\"江苏省\"", "\"city\":\"镇江市\"",
	    "\"district\":\"京口区\"", "\"address\":\"学府路301号3栋502室\"",
	    "\"name\":\"欧阳娜娜\"",   "\"phone\":\"+86 139 8765 4321\"",
	    "\"province\":\"广东省\"", "\"city\":\"深圳市\"",
	    "\"district\":\"宝安区\"", "\"address\":\"创业一路1号\"",
	};
	static const char *paths[] = {
	    "sender.name",	  "sender.phone",   "sender.province",	  "sender.city",
	    "sender.district",	  "sender.address", "recipient.name",	  "recipient.phone",
	    "recipient.province", "recipient.city", "recipient.district", "recipient.address",
	};

	for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
		char with_comma[128];
		char *body;
		struct field_err err;
		struct order o;

		snprintf(with_comma, sizeof(with_comma), "%s,", members[i]);
		body = subst(BASE, with_comma, "");
		if (!body) {
			snprintf(with_comma, sizeof(with_comma), ",%s", members[i]);
			body = subst(BASE, with_comma, "");
		}
		CHECK(body != NULL);
		if (!body)
			continue;
		CHECK(order_parse(body, strlen(body), &o, &err) == ST_INVALID);
		CHECK_STR(err.code, "missing_field");
		CHECK_STR(err.field, paths[i]);
		free(body);
	}
	/* A whole party missing. */
	{
		const char *s = strstr(BASE, "\"sender\":");
		const char *e = strstr(BASE, "\"recipient\":");
		char *body = malloc(sizeof(BASE));
		struct field_err err;
		struct order o;

		if (s && e && body) {
			size_t a = (size_t)(s - BASE), b = (size_t)(e - BASE);
			memcpy(body, BASE, a);
			memcpy(body + a, BASE + b, sizeof(BASE) - b);
			CHECK(order_parse(body, strlen(body), &o, &err) == ST_INVALID);
			CHECK_STR(err.code, "missing_field");
			CHECK_STR(err.field, "sender");
		}
		free(body);
	}
}

/* Each string field at its bound and one past it, counted in code points. */
static void test_lengths(void)
{
	static const struct {
		const char *member; /* the base's member, value included */
		const char *key;
		size_t max;
		const char *path;
	} fields[] = {
	    {"\"name\":\"张三\"", "name", ORDER_NAME_MAX, "sender.name"},
	    {"\"name\":\"欧阳娜娜\"", "name", ORDER_NAME_MAX, "recipient.name"},
	    {"\"province\":\"江苏省\"", "province", ORDER_REGION_MAX, "sender.province"},
	    {"\"city\":\"深圳市\"", "city", ORDER_REGION_MAX, "recipient.city"},
	    {"\"district\":\"京口区\"", "district", ORDER_REGION_MAX, "sender.district"},
	    {"\"address\":\"学府路301号3栋502室\"", "address", ORDER_ADDRESS_MAX, "sender.address"},
	    {"\"address\":\"创业一路1号\"", "address", ORDER_ADDRESS_MAX, "recipient.address"},
	    {"\"items\":\"书籍\"", "items", ORDER_ITEMS_MAX, "parcel.items"},
	    {"\"note\":\"放门卫室\"", "note", ORDER_NOTE_MAX, "note"},
	};
	static const char *units[] = {"张", "a", "😀", "é"};

	for (size_t f = 0; f < ARRAY_SIZE(fields); f++) {
		for (size_t u = 0; u < ARRAY_SIZE(units); u++) {
			for (size_t extra = 0; extra <= 1; extra++) {
				size_t n = fields[f].max + extra, ul = strlen(units[u]);
				size_t cap = strlen(fields[f].key) + n * ul + 8;
				char *member = malloc(cap), *body;
				struct field_err err;
				struct order o;
				enum st st;
				size_t w;

				if (!member)
					continue;
				w = (size_t)snprintf(member, cap, "\"%s\":\"", fields[f].key);
				for (size_t k = 0; k < n; k++, w += ul)
					memcpy(member + w, units[u], ul);
				memcpy(member + w, "\"", 2);
				body = subst(BASE, fields[f].member, member);
				CHECK(body != NULL);
				if (body) {
					st = order_parse(body, strlen(body), &o, &err);
					if (extra) {
						CHECK(st == ST_INVALID);
						CHECK_STR(err.code, "too_long");
						CHECK_STR(err.field, fields[f].path);
					} else {
						CHECK(st == ST_OK);
						if (st == ST_OK) {
							CHECK(round_trips(&o));
							order_release(&o);
						}
					}
				}
				free(body);
				free(member);
			}
		}
	}
	/* client_order_id is ASCII: 64 characters, then 65. */
	for (size_t n = ORDER_CLIENT_ID_MAX; n <= ORDER_CLIENT_ID_MAX + 1; n++) {
		char id[ORDER_CLIENT_ID_MAX + 2];
		char *body;
		struct field_err err;
		struct order o;

		memset(id, 'x', n);
		id[n] = '\0';
		body = subst(BASE, "app-123", id);
		CHECK(body != NULL);
		if (!body)
			continue;
		if (n == ORDER_CLIENT_ID_MAX) {
			CHECK(order_parse(body, strlen(body), &o, &err) == ST_OK);
			CHECK(o.client_order_id && strlen(o.client_order_id) == n);
			order_release(&o);
		} else {
			CHECK(order_parse(body, strlen(body), &o, &err) == ST_INVALID);
			CHECK_STR(err.code, "too_long");
			CHECK_STR(err.field, "client_order_id");
		}
		free(body);
	}
}

/* A phone as the fixtures' own notations mean it: the digits, +86 unless given. */
static void phone_reference(const char *raw, char *out, size_t cap)
{
	char digits[32];
	size_t n = 0;

	for (const char *c = raw; *c && n + 1 < sizeof(digits); c++) {
		if (*c >= '0' && *c <= '9')
			digits[n++] = *c;
	}
	digits[n] = '\0';
	if (strncmp(raw, "+86", 3) == 0)
		snprintf(out, cap, "+%s", digits);
	else if (digits[0] == '0')
		snprintf(out, cap, "+86%s", digits + 1);
	else
		snprintf(out, cap, "+86%s", digits);
}

static bool party_matches(const struct party *p, const cJSON *j)
{
	static const char *keys[] = {"name", "province", "city", "district", "address"};
	const char *mine[] = {p->name, p->province, p->city, p->district, p->address};
	const cJSON *ph = cJSON_GetObjectItemCaseSensitive(j, "phone");
	char want[64];

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
		if (!cJSON_IsString(v) || !mine[i] || strcmp(v->valuestring, mine[i]) != 0)
			return false;
	}
	if (!cJSON_IsString(ph))
		return false;
	phone_reference(ph->valuestring, want, sizeof(want));
	return strcmp(want, p->phone) == 0;
}

/* All 500 fixtures: accepted, stored as given, phones normalized, round trip. */
static void test_fixtures(void)
{
	FILE *fp = fopen("tests/data/orders.jsonl", "r");
	char line[4096];
	int lines = 0, parsed = 0, matched = 0, trips = 0, as_posted = 0;

	CHECK(fp != NULL);
	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		size_t n = strcspn(line, "\n");
		struct field_err err;
		struct order o;
		cJSON *j;

		lines++;
		if (order_parse(line, n, &o, &err) != ST_OK) {
			fprintf(stderr, "fixture %d: %s %s\n", lines, err.code, err.field);
			continue;
		}
		parsed++;
		line[n] = '\0';
		j = cJSON_Parse(line);
		if (j) {
			const cJSON *parcel = cJSON_GetObjectItemCaseSensitive(j, "parcel");
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "client_order_id");
			const cJSON *note = cJSON_GetObjectItemCaseSensitive(j, "note");
			const cJSON *items = cJSON_GetObjectItemCaseSensitive(parcel, "items");
			const cJSON *count = cJSON_GetObjectItemCaseSensitive(parcel, "count");
			const cJSON *weight = cJSON_GetObjectItemCaseSensitive(parcel, "weight_g");

			if (party_matches(&o.sender,
					  cJSON_GetObjectItemCaseSensitive(j, "sender")) &&
			    party_matches(&o.recipient,
					  cJSON_GetObjectItemCaseSensitive(j, "recipient")) &&
			    cJSON_IsNumber(weight) && weight->valueint == o.weight_g &&
			    (count ? count->valueint == o.count : o.count == 1) &&
			    (id ? o.client_order_id && !strcmp(id->valuestring, o.client_order_id)
				: !o.client_order_id) &&
			    (note ? o.note && !strcmp(note->valuestring, o.note) : !o.note) &&
			    (items ? o.items && !strcmp(items->valuestring, o.items) : !o.items))
				matched++;
			cJSON_Delete(j);
		}
		if (round_trips(&o))
			trips++;
		{
			/* What the admin reveal returns equals what was posted, key for key. */
			char *sub = NULL;
			size_t sl = 0;
			cJSON *a = cJSON_Parse(line), *b = NULL;

			if (order_to_submitted_json(&o, &sub, &sl) == ST_OK)
				b = cJSON_Parse(sub);
			if (a && b && cJSON_Compare(a, b, true))
				as_posted++;
			cJSON_Delete(a);
			cJSON_Delete(b);
			if (sub)
				free_wiped(sub, sl + 1);
		}
		order_release(&o);
	}
	fclose(fp);
	CHECK(lines == 500);
	CHECK(parsed == lines);
	CHECK(matched == lines);
	CHECK(trips == lines);
	CHECK(as_posted == lines);
}

static void test_phones(void)
{
	static const struct {
		const char *in, *want; /* want NULL: refused */
	} cases[] = {
	    /* Mainland mobiles, every notation the fixtures use and more. */
	    {"13812345678", "+8613812345678"},
	    {"138 1234 5678", "+8613812345678"},
	    {"138-1234-5678", "+8613812345678"},
	    {"138.1234.5678", "+8613812345678"},
	    {"(138) 1234-5678", "+8613812345678"},
	    {"+8613987654321", "+8613987654321"},
	    {"+86 139 8765 4321", "+8613987654321"},
	    {"+86-139-8765-4321", "+8613987654321"},
	    {"+86 (139) 8765 4321", "+8613987654321"},
	    {"(+86) 139 8765 4321", "+8613987654321"},
	    {"0086 139 8765 4321", "+8613987654321"},
	    {"008613987654321", "+8613987654321"},
	    {"8613987654321", "+8613987654321"},
	    {"86 139 8765 4321", "+8613987654321"},
	    {"14512345678", "+8614512345678"},
	    {"16212345678", "+8616212345678"},
	    {"16994082606", "+8616994082606"},
	    {"19912345678", "+8619912345678"},
	    /* Landlines: 2-digit areas 10 and 2X, 3-digit areas; 7 or 8 digits. */
	    {"010-12345678", "+861012345678"},
	    {"010 1234567", "+86101234567"},
	    {"021-04116799", "+862104116799"},
	    {"(021) 6123 4567", "+862161234567"},
	    {"024-75650889", "+862475650889"},
	    {"0755-12345678", "+8675512345678"},
	    {"0795-67172476", "+8679567172476"},
	    {"0795-6717247", "+867956717247"},
	    {"0510-1234567", "+865101234567"},
	    {"0311-12345678", "+8631112345678"},
	    {"+86 10 1234 5678", "+861012345678"},
	    {"+86 755 1234 5678", "+8675512345678"},
	    {"+86 (0)755 1234 5678", "+8675512345678"},
	    {"0086 21 6123 4567", "+862161234567"},
	    {"0086 021 6123 4567", "+862161234567"},
	    /* Other countries, E.164. */
	    {"+1 415 555 2671", "+14155552671"},
	    {"+1-415-555-2671", "+14155552671"},
	    {"+44 20 7946 0958", "+442079460958"},
	    {"+852 2123 4567", "+85221234567"},
	    {"001 415 555 2671", "+14155552671"},
	    {"+12345678", "+12345678"},
	    {"+123456789012345", "+123456789012345"},
	    /* Refused. */
	    {"", NULL},
	    {"   ", NULL},
	    {"+", NULL},
	    {"++8613812345678", NULL},
	    {"1+3812345678", NULL},
	    {"+86+13812345678", NULL},
	    {"13812345678+", NULL},
	    {"12812345678", NULL},
	    {"11812345678", NULL},
	    {"10812345678", NULL},
	    {"1381234567", NULL},
	    {"138123456789", NULL},
	    {"2381234567", NULL},
	    {"61234567", NULL},
	    {"abc", NULL},
	    {"138a1234567", NULL},
	    {"138_1234_5678", NULL},
	    {"138/1234/5678", NULL},
	    {"138,1234,5678", NULL},
	    {"138\t1234\t5678", NULL},
	    {"138 1234 5678\n", NULL},
	    {"13812345678 ext 12", NULL},
	    {"tel:13812345678", NULL},
	    {"１３８１２３４５６７８", NULL},
	    {"+86 128 1234 5678", NULL},
	    {"+86 1381234567", NULL},
	    {"+86 138123456789", NULL},
	    {"+86", NULL},
	    {"+860", NULL},
	    {"86 128 1234 5678", NULL},
	    {"0086", NULL},
	    {"00", NULL},
	    {"0", NULL},
	    {"001234567", NULL},
	    {"+0123456789", NULL},
	    {"+1234567", NULL},
	    {"+1234567890123456", NULL},
	    {"010-123456", NULL},
	    {"010-123456789", NULL},
	    {"0755-123456", NULL},
	    {"0755-123456789", NULL},
	    {"011-12345678", NULL},
	    {"012345678", NULL},
	    {"0 138 1234 5678", NULL},
	    {"013812345678", NULL},
	    {"0086 0 138 1234 5678", NULL},
	    {"+86 0 10 1234 5678", "+861012345678"},
	    {"00 0086 13812345678", NULL},
	    {"0155-1234567", NULL},
	    {"1111111111111111111111111111111111111111", NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[PHONE_E164_MAX];
		enum st st;

		memset(out, 'z', sizeof(out));
		st = phone_normalize(cases[i].in, out);
		if (cases[i].want) {
			if (st != ST_OK)
				fprintf(stderr, "phone case %zu refused\n", i);
			CHECK(st == ST_OK);
			CHECK_STR(out, cases[i].want);
		} else {
			if (st != ST_INVALID)
				fprintf(stderr, "phone case %zu accepted as %s\n", i, out);
			CHECK(st == ST_INVALID);
			CHECK(out[0] == '\0');
		}
	}
	{
		char out[PHONE_E164_MAX];
		CHECK(phone_normalize(NULL, out) == ST_INVALID);
	}
}

/* tn with its last two digits replaced by the ISO 7064 MOD 97-10 check of the 16 before. */
static void tn_fix_check(char *digits16, char *check)
{
	unsigned long long n = strtoull(digits16, NULL, 10);
	unsigned c = (unsigned)(98 - (n % 97) * 100 % 97);

	check[0] = (char)('0' + c / 10);
	check[1] = (char)('0' + c % 10);
}

static void test_tn_table(void)
{
	static const struct {
		const char *prefix, *tn;
		bool valid;
	} cases[] = {
	    /* Check digits worked out with python3: 98 - (N * 100 % 97). */
	    {"WB", "WB000000000000000098", true},
	    {"WB", "WB123456789012345611", true},
	    {"WB", "WB999999999999999912", true},
	    {"WB", "WB000000000000000195", true},
	    {"WB", "WB314159265358979394", true},
	    {"ABCD", "ABCD271828182845904572", true},
	    {"SF", "SF271828182845904572", true},
	    {"WB", "WB123456789012345612", false},
	    {"WB", "WB123456789012345610", false},
	    {"WB", "WB123456789012345601", false},
	    {"WB", "WB213456789012345611", false},
	    {"WB", "WB000000000000000097", false},
	    {"WB", "WB000000000000000099", false},
	    {"WB", "WB000000000000000000", false},
	    {"WB", "SF123456789012345611", false},
	    {"WB", "wb123456789012345611", false},
	    {"WB", "WBX123456789012345611", false},
	    {"WB", "WB12345678901234561", false},
	    {"WB", "WB1234567890123456111", false},
	    {"WB", "WB123456789012345611 ", false},
	    {"WB", " WB123456789012345611", false},
	    {"WB", "WB12345678901234561a", false},
	    {"WB", "WB+23456789012345611", false},
	    {"WB", "WB", false},
	    {"WB", "", false},
	    {"WBX", "WB123456789012345611", false},
	    {"W", "W123456789012345611", false},
	    {"ABCDE", "ABCDE123456789012345611", false},
	    {"wb", "wb123456789012345611", false},
	    {"", "123456789012345611", false},
	    {NULL, "WB123456789012345611", false},
	    {"WB", NULL, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (tn_valid(cases[i].prefix, cases[i].tn) != cases[i].valid)
			fprintf(stderr, "tn case %zu wrong\n", i);
		CHECK(tn_valid(cases[i].prefix, cases[i].tn) == cases[i].valid);
	}
}

/* Every single-digit substitution and adjacent transposition is caught. */
static void test_tn_errors(void)
{
	int substitutions = 0, caught_sub = 0, transpositions = 0, caught_tr = 0;

	for (int round = 0; round < 200; round++) {
		char tn[TN_MAX];

		if (round == 0)
			snprintf(tn, sizeof(tn), "WB123456789012345611");
		else
			tn_generate("WB", tn);
		CHECK(tn_valid("WB", tn));
		for (size_t i = 2; i < 20; i++) {
			char orig = tn[i];
			for (char d = '0'; d <= '9'; d++) {
				if (d == orig)
					continue;
				tn[i] = d;
				substitutions++;
				caught_sub += !tn_valid("WB", tn);
			}
			tn[i] = orig;
			if (i + 1 < 20 && tn[i] != tn[i + 1]) {
				char t = tn[i];
				tn[i] = tn[i + 1];
				tn[i + 1] = t;
				transpositions++;
				caught_tr += !tn_valid("WB", tn);
				tn[i + 1] = tn[i];
				tn[i] = t;
			}
		}
		CHECK(tn_valid("WB", tn));
	}
	CHECK(substitutions == 200 * 18 * 9);
	CHECK(caught_sub == substitutions);
	CHECK(transpositions > 0);
	CHECK(caught_tr == transpositions);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* 10000 generated: valid, well formed, distinct, every digit seen everywhere. */
static void test_tn_generate(void)
{
	enum { N = 10000 };
	static char tns[N][TN_MAX];
	int valid = 0, shaped = 0, checked = 0, dups = 0;
	unsigned seen[16] = {0};

	for (int i = 0; i < N; i++) {
		char check[2];
		tn_generate("WB", tns[i]);
		valid += tn_valid("WB", tns[i]);
		shaped += strlen(tns[i]) == 20 && strncmp(tns[i], "WB", 2) == 0;
		/* The check digits agree with an independent 64-bit computation. */
		{
			char digits[17];
			memcpy(digits, tns[i] + 2, 16);
			digits[16] = '\0';
			tn_fix_check(digits, check);
			checked += check[0] == tns[i][18] && check[1] == tns[i][19];
		}
		for (int k = 0; k < 16; k++)
			seen[k] |= 1u << (tns[i][2 + k] - '0');
	}
	qsort(tns, N, TN_MAX, str_cmp);
	for (int i = 1; i < N; i++)
		dups += strcmp(tns[i - 1], tns[i]) == 0;
	CHECK(valid == N);
	CHECK(shaped == N);
	CHECK(checked == N);
	CHECK(dups == 0);
	for (int k = 0; k < 16; k++)
		CHECK(seen[k] == 0x3ff);

	/* Each prefix length. */
	{
		static const char *prefixes[] = {"SF", "JDL", "ABCD"};
		for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
			char tn[TN_MAX];
			tn_generate(prefixes[i], tn);
			CHECK(strlen(tn) == strlen(prefixes[i]) + 18);
			CHECK(tn_valid(prefixes[i], tn));
			CHECK(!tn_valid("WB", tn));
		}
	}
}

int main(void)
{
	if (crypto_init() != ST_OK) {
		fprintf(stderr, "crypto_init failed\n");
		return 1;
	}
	test_parse_table();
	test_optional();
	test_canonical();
	test_bodies();
	test_missing_each();
	test_lengths();
	test_fixtures();
	test_phones();
	test_tn_table();
	test_tn_errors();
	test_tn_generate();
	return t_done();
}
