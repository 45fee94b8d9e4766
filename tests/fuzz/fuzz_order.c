/*
 * fuzz_order.c - libFuzzer target for order_parse.
 *
 *   clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -Iserver \
 *     tests/fuzz/fuzz_order.c server/order.c server/json.c server/util.c \
 *     server/crypto.c $(pkg-config --cflags --libs libcjson libsodium) -o fuzz_order
 *   ./fuzz_order -max_len=65536 -max_total_time=120 corpus tests/fuzz/corpus_order
 *
 * Besides memory errors it aborts when an invariant breaks:
 * - whatever the pre-scan accepts, cJSON parses (so a cJSON failure after
 *   it can only be an allocation failure);
 * - order_parse answers only ST_OK, ST_MALFORMED or ST_INVALID, and an
 *   error names a stable code and a path made only of known field names
 *   (an unknown key is never echoed, whatever it looks like);
 * - an accepted order round-trips: parse(to_json(o)) equals o, and
 *   to_json of that is byte-for-byte the same.
 */
#include "common.h"

#include "json.h"
#include "order.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const known[] = {
    "client_order_id", "sender", "recipient", "parcel",	 "note",     "name",  "phone",
    "province",	       "city",	 "district",  "address", "weight_g", "items", "count",
    "phone_submitted", NULL,
};

static void die(const char *why)
{
	fprintf(stderr, "invariant broken: %s\n", why);
	abort();
}

static bool is_known(const char *s, size_t n)
{
	for (size_t i = 0; known[i]; i++) {
		if (strlen(known[i]) == n && memcmp(known[i], s, n) == 0)
			return true;
	}
	return false;
}

static void check_error(const struct field_err *err)
{
	const char *p = err->field;

	if (!err->code || !err->message)
		die("error without code or message");
	if (memchr(err->field, '\0', sizeof(err->field)) == NULL)
		die("field not terminated");
	if (!*p)
		return;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!is_known(p, n))
			die("field path holds something that is not a field name");
		if (!dot)
			break;
		p = dot + 1;
	}
}

static void check_round_trip(const struct order *o)
{
	char *j1 = NULL, *j2 = NULL;
	size_t l1 = 0, l2 = 0;
	struct order back;

	if (order_to_json(o, &j1, &l1) != ST_OK)
		die("order_to_json failed on a parsed order");
	if (order_from_json(j1, l1, &back) != ST_OK)
		die("canonical JSON does not parse back");
	if (!order_equal(o, &back))
		die("round trip changed the order");
	if (order_to_json(&back, &j2, &l2) != ST_OK)
		die("second order_to_json failed");
	if (l1 != l2 || memcmp(j1, j2, l1) != 0)
		die("canonical JSON not stable");
	order_release(&back);
	free_wiped(j1, l1 + 1);
	free_wiped(j2, l2 + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct json_fault fault;
	struct field_err err;
	struct order o;
	enum st st;

	if (json_prescan(body, size, known, &fault) == JSON_OK) {
		cJSON *root = NULL;
		if (json_parse_tree(body, size, &root) != ST_OK)
			die("cJSON refused what the pre-scan accepted");
		json_delete_wiped(root);
	}

	st = order_parse(body, size, &o, &err);
	switch (st) {
	case ST_OK:
		if (o.weight_g < 1 || o.weight_g > ORDER_WEIGHT_MAX || o.count < 1 ||
		    o.count > ORDER_COUNT_MAX || o.sender.phone[0] != '+' ||
		    o.recipient.phone[0] != '+')
			die("accepted order breaks a rule");
		check_round_trip(&o);
		order_release(&o);
		break;
	case ST_MALFORMED:
	case ST_INVALID:
		check_error(&err);
		break;
	default:
		die("unexpected status");
	}
	return 0;
}
