/*
 * order.h - the order as a courier app submits it: strict JSON parsing,
 * validation, phone normalization, canonical JSON, tracking numbers.
 *
 * cJSON is not a validating parser, so order_parse() first checks the raw
 * bytes (json.c): valid UTF-8, no control characters, no \u0000, no lone
 * surrogates, nesting no deeper than 8, nothing after the value, no
 * duplicate keys.  Then it walks the tree: unknown fields, types, lengths.
 */
#ifndef WAYBILL_ORDER_H
#define WAYBILL_ORDER_H

#include "common.h"

/* Length bounds, in Unicode code points. */
#define ORDER_NAME_MAX 32
#define ORDER_PHONE_RAW_MAX 32
#define ORDER_REGION_MAX 32   /* province, city, district, each */
#define ORDER_ADDRESS_MAX 128 /* under the district */
#define ORDER_ITEMS_MAX 64
#define ORDER_NOTE_MAX 200
#define ORDER_CLIENT_ID_MAX 64 /* ASCII [A-Za-z0-9._:-] */
#define ORDER_WEIGHT_MAX 100000
#define ORDER_COUNT_MAX 999

/* E.164: "+" and at most 15 digits. */
#define PHONE_E164_MAX 17

struct party {
	char *name;
	char phone[PHONE_E164_MAX]; /* normalized E.164, e.g. "+8613812345678" */
	char *phone_raw;	    /* as submitted, when that differs; else NULL */
	char *province;
	char *city;
	char *district;
	char *address;
};

struct order {
	char *client_order_id; /* NULL when absent */
	struct party sender;
	struct party recipient;
	int weight_g; /* 1..ORDER_WEIGHT_MAX */
	int count;    /* 1..ORDER_COUNT_MAX, default 1 */
	char *items;  /* NULL when absent */
	char *note;   /* NULL when absent */
};

/*
 * Parse and validate a request body.  On ST_OK *out is filled and owned by
 * the caller (order_release).  Otherwise returns ST_MALFORMED (not JSON,
 * trailing bytes, too deep, not an object) or ST_INVALID (a field breaks a
 * rule), with err naming the field path ("recipient.phone") when one field
 * is at fault, and leaves *out empty; ST_NOMEM leaves err->code NULL.  err
 * may be NULL.  Nothing of the input is copied into err: an unknown key is
 * reported by the path of the object holding it ("parcel").  Strings are
 * stored as given but must not be empty or blank; an optional field set to
 * null counts as absent.
 * Error codes: malformed_json trailing_data too_deep invalid_utf8
 * control_character nul_character duplicate_key unknown_field missing_field
 * wrong_type too_long empty out_of_range invalid_phone
 * invalid_client_order_id.
 */
enum st order_parse(const char *body, size_t len, struct order *out, struct field_err *err);

/* Wipe and free what order_parse allocated; the struct may be reused. */
void order_release(struct order *o);

/* Field-by-field equality (phones as normalized). */
bool order_equal(const struct order *a, const struct order *b);

/*
 * Canonical JSON of the order (fixed key order, phones normalized, absent
 * optionals left out, and each phone's notation as submitted kept as
 * "phone_submitted" when it differs).  This is what gets sealed.  Caller
 * owns *out (wipe with free_wiped).
 */
enum st order_to_json(const struct order *o, char **out, size_t *len);

/*
 * The order exactly as the courier app submitted it (phones in their
 * notation): what the admin reveal returns.  Caller owns *out (free_wiped).
 */
enum st order_to_submitted_json(const struct order *o, char **out, size_t *len);

/* The inverse, for a blob we sealed ourselves: no limits relaxed. */
enum st order_from_json(const char *json, size_t len, struct order *out);

/*
 * Phone normalization: mainland mobiles in any common notation ("+86 139
 * 8765 4321", "138-1234-5678", "0086..."), landlines "0AAA-NNNNNNN(N)",
 * or E.164 "+CC...".  Writes E.164 to out (PHONE_E164_MAX bytes).
 * ST_INVALID when it is none of those.
 */
enum st phone_normalize(const char *in, char out[PHONE_E164_MAX]);

/*
 * Tracking numbers: prefix (2-4 capitals) + 16 digits from the CSPRNG + 2
 * check digits, ISO 7064 MOD 97-10 over the 16 digits.
 */
#define TN_MAX 24 /* "ABCD" + 18 digits + NUL, rounded */
void tn_generate(const char *prefix, char out[TN_MAX]);
/* True when tn has this prefix, 18 digits and valid check digits. */
bool tn_valid(const char *prefix, const char *tn);

#endif
