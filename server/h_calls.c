/*
 * h_calls.c - POST /v1/calls/route, for the telephony role: the only way a
 * real phone number leaves the service.
 *
 *   caller = the assigned courier's phone, called = number, extension = the
 *            order's  -> forward_to the recipient's phone;
 *   caller = the recipient's phone, called = number, no extension -> the
 *            assigned courier's phone, when exactly one active binding of
 *            that number has this recipient and the order is out for
 *            delivery (or delivered, within the binding's grace period);
 *   anything else, or an ended binding -> 404.
 *
 * The answer is what a switch needs and no more: {"forward_to","call_id"}.
 * The call id is random and the route's audit entry holds it (reason
 * "call_id=..."), next to the order's tracking number, so a call on the
 * platform's side can be traced to the order without the platform ever
 * learning the tracking number.
 *
 * Limits: every request counts against call_routes_per_token_per_minute for
 * the telephony token, before anything else (a sweep of extensions or of
 * phones runs into it whatever callers it claims); every one with a valid
 * caller also against call_routes_per_hour for that caller; and its 404s
 * count towards the token's miss_limit like anyone's (http.c).  Every
 * request with a JSON body is audited (tracking number and result, never a
 * phone) before it answers, invalid phones included.
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "account.h"
#include "crypto.h"
#include "json.h"
#include "limits.h"
#include "order.h"
#include "retention.h"
#include "state.h"
#include "view.h"
#include "vnum.h"

#include <time.h>

#define CALL_ID_BYTES 16
/* "9f3a-01bc-...": hex in groups of four, so no run of digits looks like a phone. */
#define CALL_ID_CHARS (CALL_ID_BYTES * 2 + CALL_ID_BYTES / 2 - 1)

struct route_req {
	char caller[PHONE_E164_MAX];
	char called[VNUM_BYTES];
	char ext[8];
};

/* The courier's phone, opened from its account. */
static enum st courier_phone(struct app *app, const struct account *a, char out[PHONE_E164_MAX])
{
	char ad[NAME_MAX_BYTES + 16], *plain = NULL;
	size_t len = 0;
	enum st st;

	account_seal_ad(a->name, ad, sizeof(ad));
	retention_keys_need(app, a->phone_kek_version);
	st = crypto_open(app->kr, ad, a->phone_kek_version, a->phone_seal_version,
			 a->phone_wrapped_dek, a->phone_sealed, a->phone_sealed_len, &plain, &len);
	if (st != ST_OK)
		return st;
	snprintf(out, PHONE_E164_MAX, "%s", plain);
	free_wiped(plain, len + 1);
	return ST_OK;
}

/* An assigned courier who can take calls, or ST_NOTFOUND. */
static enum st assigned_courier(struct app *app, const struct order_row *row, struct account *c)
{
	/* Ended bindings never got here: cancellation and return end them at once. */
	if (!row->courier[0])
		return ST_NOTFOUND;
	if (store_account_get(app->store, row->courier, c) != ST_OK || c->disabled ||
	    !c->has_phone || !access_may(ACT_CALL_ANSWER, c, row))
		return ST_NOTFOUND;
	return ST_OK;
}

/* The order behind a binding (named in the audit entry) and its courier. */
static enum st binding_order(struct request *r, int64_t order_id, struct order_row *row,
			     struct account *c)
{
	enum st st = store_order_get_id(r->app->store, order_id, row);

	if (st != ST_OK)
		return st;
	snprintf(r->job.audit.tracking_no, sizeof(r->job.audit.tracking_no), "%s",
		 row->tracking_no);
	return assigned_courier(r->app, row, c);
}

static enum st route_courier_to_recipient(struct request *r, const struct route_req *q,
					  const unsigned char caller_idx[HASH_BYTES],
					  char forward[PHONE_E164_MAX], struct order_row *row)
{
	struct account c;
	struct order o;
	int64_t id, until;
	enum st st;

	st = store_binding_find(r->app->store, q->called, q->ext, (int64_t)time(NULL), &id, &until);
	if (st != ST_OK)
		return st;
	st = binding_order(r, id, row, &c);
	if (st != ST_OK)
		return st;
	if (!crypto_equal(c.phone_index, caller_idx, HASH_BYTES))
		return ST_NOTFOUND;
	st = view_open(r->app, row, &o);
	if (st != ST_OK)
		return st;
	snprintf(forward, PHONE_E164_MAX, "%s", o.recipient.phone);
	order_release(&o);
	return ST_OK;
}

static enum st route_recipient_to_courier(struct request *r, const struct route_req *q,
					  const unsigned char caller_idx[HASH_BYTES],
					  char forward[PHONE_E164_MAX], struct order_row *row)
{
	struct account c;
	enum order_state state;
	int64_t ids[1];
	size_t n = 0;
	enum st st;

	st = store_binding_callback(r->app->store, q->called, caller_idx, (int64_t)time(NULL), ids,
				    1, &n);
	if (st != ST_OK)
		return st;
	if (n != 1)
		return ST_NOTFOUND;
	st = binding_order(r, ids[0], row, &c);
	if (st != ST_OK)
		return st;
	if (!state_parse(row->status, &state) || !state_recipient_may_call(state))
		return ST_NOTFOUND;
	return courier_phone(r->app, &c, forward);
}

/* A fresh call id from the CSPRNG, formatted as CALL_ID_CHARS characters. */
static void call_id_new(char out[CALL_ID_CHARS + 1])
{
	unsigned char raw[CALL_ID_BYTES];
	char hex[CALL_ID_BYTES * 2 + 1];
	size_t o = 0;

	crypto_random(raw, sizeof(raw));
	crypto_hex(raw, sizeof(raw), hex);
	for (size_t i = 0; i < CALL_ID_BYTES * 2; i++) {
		if (i && i % 4 == 0)
			out[o++] = '-';
		out[o++] = hex[i];
	}
	out[o] = '\0';
}

void h_call_route(struct request *r)
{
	const char *const keys[] = {"caller", "called", "extension", NULL};
	struct route_req q = {0};
	unsigned char caller_idx[HASH_BYTES];
	char forward[PHONE_E164_MAX] = "", call_id[CALL_ID_CHARS + 1];
	struct order_row row = {0};
	cJSON *root, *caller, *called, *ext, *resp;
	enum st st;

	if (limiter_hit(r->app->call_tokens, &r->acct.id, sizeof(r->acct.id), time(NULL)) >
	    limiter_limit(r->app->call_tokens)) {
		http_reply_retry_after(r, limiter_retry_after(r->app->call_tokens, time(NULL)));
		http_audit_then_fail(r, ST_LIMIT, NULL, NULL);
		return;
	}
	if (body_object(r, keys, &root) != ST_OK)
		return;
	caller = cJSON_GetObjectItemCaseSensitive(root, "caller");
	called = cJSON_GetObjectItemCaseSensitive(root, "called");
	ext = cJSON_GetObjectItemCaseSensitive(root, "extension");
	if (!cJSON_IsString(caller) || phone_normalize(caller->valuestring, q.caller) != ST_OK) {
		json_delete_wiped(root);
		http_audit_then_error(r, ST_INVALID, NULL, "invalid_phone",
				      "caller is not a phone number", "caller");
		return;
	}
	if (!cJSON_IsString(called) || !vnum_called_parse(called->valuestring, q.called)) {
		json_delete_wiped(root);
		http_audit_then_error(r, ST_INVALID, NULL, "invalid_phone",
				      "called is not a phone number", "called");
		return;
	}
	if (ext && !cJSON_IsNull(ext)) {
		if (!cJSON_IsString(ext) || vnum_ext_parse(ext->valuestring) < 0) {
			json_delete_wiped(root);
			http_audit_then_error(r, ST_INVALID, NULL, "invalid_extension",
					      "extension must be four digits", "extension");
			return;
		}
		snprintf(q.ext, sizeof(q.ext), "%s", ext->valuestring);
	}
	json_delete_wiped(root);

	crypto_blind_index(r->app->kr, q.caller, strlen(q.caller), caller_idx);
	if (limiter_hit(r->app->call_routes, caller_idx, HASH_BYTES, time(NULL)) >
	    limiter_limit(r->app->call_routes)) {
		mem_wipe(&q, sizeof(q));
		http_reply_retry_after(r, limiter_retry_after(r->app->call_routes, time(NULL)));
		http_audit_then_fail(r, ST_LIMIT, NULL, "caller");
		return;
	}
	st = q.ext[0] ? route_courier_to_recipient(r, &q, caller_idx, forward, &row)
		      : route_recipient_to_courier(r, &q, caller_idx, forward, &row);
	mem_wipe(&q, sizeof(q));
	mem_wipe(caller_idx, sizeof(caller_idx));
	if (st != ST_OK) {
		order_row_release(&row);
		if (st == ST_NOTFOUND || st == ST_GONE)
			http_audit_then_fail(r, ST_NOTFOUND, NULL, NULL);
		else
			http_reply_st(r, st);
		return;
	}
	call_id_new(call_id);
	snprintf(r->job.audit.reason, sizeof(r->job.audit.reason), "call_id=%s", call_id);
	resp = cJSON_CreateObject();
	cJSON_AddStringToObject(resp, "forward_to", forward);
	cJSON_AddStringToObject(resp, "call_id", call_id);
	mem_wipe(forward, sizeof(forward));
	order_row_release(&row);
	reply_after_audit(r, resp);
}
