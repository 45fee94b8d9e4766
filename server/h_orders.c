/*
 * h_orders.c - POST /v1/orders, GET /v1/orders, GET /v1/orders/{tn},
 * POST /v1/orders/{tn}/assign, POST /v1/orders/{tn}/status.
 *
 * Creation seals the order on the HTTP thread (so the writer only inserts),
 * then hands the insert and its audit entry to the writer as one job.
 * Reads open and mask on the HTTP thread, then answer only once their audit
 * entry is durable.  The list opens nothing: its rows are summaries of the
 * clear columns (view_summary), audited once per page with their count.
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "account.h"
#include "crypto.h"
#include "json.h"
#include "log.h"
#include "mask.h"
#include "order.h"
#include "sort.h"
#include "state.h"
#include "view.h"
#include "vnum.h"

#include <ctype.h>
#include <time.h>

#define LIST_DEFAULT 50
#define LIST_MAX 200
#define IDEM_MAX 64

_Static_assert(SORT_CODE_MAX == ORDER_SORT_CODE_MAX && SORT_HUB_CODE_MAX == ORDER_HUB_CODE_MAX &&
		   SORT_HUB_NAME_MAX == ORDER_HUB_NAME_MAX,
	       "a route fits the order row's columns");

/* ---- create ------------------------------------------------------------ */

struct create_state {
	struct order o;
	struct order_row row;
	unsigned char recipient_index[HASH_BYTES];
	char idem[IDEM_MAX + 1];
	unsigned char digest[HASH_BYTES];
	bool repeat;
	bool pool_empty;
	char existing[TN_MAX];
};

static void create_state_free(void *p)
{
	struct create_state *cs = p;

	if (!cs)
		return;
	order_release(&cs->o);
	if (cs->row.sealed)
		free(cs->row.sealed);
	mem_wipe(cs, sizeof(*cs));
	free(cs);
}

static bool idem_key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > IDEM_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)k[i]) || strchr("._:-", k[i])))
			return false;
	return true;
}

static enum st tx_create(struct store *s, struct wjob *j)
{
	struct create_state *cs = j->arg;
	unsigned char digest[HASH_BYTES];
	enum st st;

	j->audit.order_id = 0; /* set below once this run inserts (a job may run twice) */
	cs->repeat = cs->pool_empty = false;
	if (cs->idem[0]) {
		st = store_w_order_by_idem(s, cs->row.creator, cs->idem, cs->existing, digest);
		if (st == ST_OK) {
			str_copy(j->audit.tracking_no, sizeof(j->audit.tracking_no), cs->existing);
			if (!crypto_equal(digest, cs->digest, HASH_BYTES))
				return ST_CONFLICT;
			cs->repeat = true;
			j->result = "repeat";
			return ST_OK;
		}
		if (st != ST_NOTFOUND)
			return st;
	}
	/* The virtual number is bound in the same transaction, so it can be printed. */
	st = vnum_binding_pick(s, cs->row.created_at, cs->recipient_index, cs->row.vnum,
			       cs->row.ext);
	if (st != ST_OK) {
		cs->pool_empty = st == ST_UNAVAILABLE;
		return st;
	}
	st = store_w_order_insert(s, &cs->row, cs->idem, cs->digest, &cs->row.id);
	/* A tracking-number collision (1 in 10^16) or a lost race: try again. */
	if (st != ST_OK)
		return st == ST_CONFLICT ? ST_UNAVAILABLE : st;
	j->audit.order_id = cs->row.id;
	return store_w_binding_insert(s, cs->row.vnum, cs->row.ext, cs->row.id, cs->recipient_index,
				      cs->row.created_at);
}

/*
 * A create or a reassignment found no free extension to bind.  Not said
 * while the store is in trouble: a statement lost with its connection (a
 * failover) fails the pick with the same ST_UNAVAILABLE, and that is the
 * plain 503 a client retries, not a pool to widen.
 */
static void reply_pool_exhausted(struct request *r)
{
	http_reply_error(r, ST_UNAVAILABLE, "vnum_pool_exhausted",
			 "no virtual number extension is free; widen vnum_pool", NULL);
}

static void cont_create(struct request *r)
{
	struct create_state *cs = r->hstate;
	struct order_row row;
	cJSON *v;
	char *json;
	enum st st = r->job.st;

	if (st == ST_CONFLICT) {
		http_reply_error(r, ST_CONFLICT, "idempotency_conflict",
				 "this idempotency key was used for a different order", NULL);
		return;
	}
	if (cs->pool_empty && !store_trouble(r->app->store)) {
		reply_pool_exhausted(r);
		return;
	}
	if (st != ST_OK) {
		http_reply_st(r, st);
		return;
	}
	if (cs->repeat) {
		st = store_order_get(r->app->store, cs->existing, &row);
		if (st == ST_OK)
			st = view_order_json(r->app, &row, &json);
		order_row_release(&row);
		if (st != ST_OK) {
			http_reply_st(r, st);
			return;
		}
		http_reply_json(r, 200, json, true);
		return;
	}
	atomic_fetch_add(&r->app->orders_created, 1);
	v = view_order(&cs->row, &cs->o);
	json = v ? cJSON_PrintUnformatted(v) : NULL;
	json_delete_wiped(v);
	http_reply_header(r, HDR_LOCATION, "/v1/orders/%s", cs->row.tracking_no);
	http_reply_json(r, 201, json, true);
}

void h_order_create(struct request *r)
{
	struct create_state *cs;
	struct field_err fe = {0};
	const char *hdr;
	char *canon = NULL;
	size_t canon_len = 0;
	enum st st;

	if (!access_may(ACT_ORDER_CREATE, &r->acct, NULL)) {
		http_reply_error(r, ST_FORBIDDEN, "no_depot",
				 "this courier account belongs to no depot", NULL);
		return;
	}
	if (!body_is_json(r)) {
		http_reply_st(r, ST_MEDIATYPE);
		return;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	r->hstate = cs;
	r->hstate_free = create_state_free;

	st = order_parse(r->body, r->body_len, &cs->o, &fe);
	if (st != ST_OK) {
		http_reply_error(r, st, fe.code, fe.message, fe.field);
		return;
	}
	hdr = http_header(r, "Idempotency-Key");
	if (cs->o.client_order_id) {
		str_copy(cs->idem, sizeof(cs->idem), cs->o.client_order_id);
		if (hdr && strcmp(hdr, cs->o.client_order_id) != 0) {
			http_reply_error(r, ST_INVALID, "idempotency_mismatch",
					 "Idempotency-Key differs from client_order_id",
					 "client_order_id");
			return;
		}
	} else if (hdr) {
		if (!idem_key_ok(hdr)) {
			http_reply_error(r, ST_INVALID, "invalid_idempotency_key",
					 "Idempotency-Key must be 1-64 of A-Z a-z 0-9 . _ : -",
					 NULL);
			return;
		}
		str_copy(cs->idem, sizeof(cs->idem), hdr);
	}

	tn_generate(r->app->cfg.tracking_prefix, cs->row.tracking_no);
	st = order_to_json(&cs->o, &canon, &canon_len);
	if (st != ST_OK) {
		http_reply_st(r, st);
		return;
	}
	crypto_body_digest(r->app->kr, canon, canon_len, cs->digest);
	/* Sealed bound to the clear columns that never change (store.h, order_row_bind). */
	str_copy(cs->row.depot, sizeof(cs->row.depot), r->acct.depot);
	str_copy(cs->row.creator, sizeof(cs->row.creator), r->acct.name);
	cs->row.seal_bind = ORDER_SEAL_BOUND;
	{
		struct sealed sl;
		char bind[ORDER_BIND_MAX];

		order_row_bind(&cs->row, bind);
		st = crypto_seal(r->app->kr, bind, canon, canon_len, &sl);
		free_wiped(canon, canon_len);
		if (st != ST_OK) {
			http_reply_st(r, st);
			return;
		}
		cs->row.kek_version = sl.kek_version;
		cs->row.seal_version = sl.seal_version;
		memcpy(cs->row.wrapped_dek, sl.wrapped_dek, WRAPPED_DEK_BYTES);
		cs->row.sealed = sl.blob;
		cs->row.sealed_len = sl.blob_len;
	}
	str_copy(cs->row.status, sizeof(cs->row.status), state_name(STATE_CREATED));
	cs->row.created_at = cs->row.updated_at = (int64_t)time(NULL);
	str_copy(cs->row.origin_province, REGION_BYTES, cs->o.sender.province);
	str_copy(cs->row.origin_city, REGION_BYTES, cs->o.sender.city);
	str_copy(cs->row.origin_district, REGION_BYTES, cs->o.sender.district);
	str_copy(cs->row.dest_province, REGION_BYTES, cs->o.recipient.province);
	str_copy(cs->row.dest_city, REGION_BYTES, cs->o.recipient.city);
	str_copy(cs->row.dest_district, REGION_BYTES, cs->o.recipient.district);
	{
		/* The route, from the table as it is now; the street address only picks it. */
		struct sort_route rt;

		if (sorter_match(r->app->sort, cs->o.recipient.province, cs->o.recipient.city,
				 cs->o.recipient.district, cs->o.recipient.address, &rt)) {
			str_copy(cs->row.sort_code, sizeof(cs->row.sort_code), rt.sort_code);
			str_copy(cs->row.hub_code, sizeof(cs->row.hub_code), rt.hub_code);
			str_copy(cs->row.hub_name, sizeof(cs->row.hub_name), rt.hub_name);
		}
	}
	cs->row.weight_g = cs->o.weight_g;
	cs->row.count = cs->o.count;
	crypto_blind_index(r->app->kr, cs->o.recipient.phone, strlen(cs->o.recipient.phone),
			   cs->recipient_index);

	str_copy(r->job.audit.tracking_no, sizeof(r->job.audit.tracking_no), cs->row.tracking_no);
	http_defer(r, tx_create, cs, cont_create);
}

/* ---- read one ---------------------------------------------------------- */

void h_order_get(struct request *r)
{
	struct order_row row;
	struct order o;
	cJSON *v;

	if (!order_for_request(r, ACT_ORDER_READ, &row, &o))
		return;
	v = view_order(&row, &o);
	order_release(&o);
	order_row_release(&row);
	reply_after_audit(r, v);
}

/* ---- list -------------------------------------------------------------- */

void h_order_list(struct request *r)
{
	struct order_query q = {0};
	struct order_row *rows;
	enum order_state filter;
	cJSON *root, *arr;
	size_t n = 0;
	bool more = false;
	enum st st;

	if (!query_limit(r, LIST_DEFAULT, LIST_MAX, &q.limit))
		return;
	q.status = http_query(r, "status");
	if (q.status && !state_parse(q.status, &filter)) {
		http_reply_error(r, ST_MALFORMED, "bad_status", "unknown status", "status");
		return;
	}
	q.after = http_query(r, "after");
	if (q.after && !tn_valid(r->app->cfg.tracking_prefix, q.after)) {
		http_reply_error(r, ST_MALFORMED, "bad_cursor", "after must be a tracking number",
				 "after");
		return;
	}
	/* The store lists two scopes: a courier's own orders, and a depot's. */
	switch (access_scope(ACT_ORDER_LIST, r->acct.role)) {
	case ACCESS_OWN:
		q.scope = ROLE_COURIER;
		q.who = r->acct.name;
		break;
	case ACCESS_DEPOT:
		q.scope = ROLE_DEPOT;
		q.who = r->acct.depot;
		break;
	default:
		http_reply_st(r, ST_FORBIDDEN);
		return;
	}

	rows = calloc((size_t)q.limit, sizeof(*rows));
	if (!rows) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	st = store_order_list(r->app->store, &q, rows, &n, &more);
	if (st != ST_OK) {
		free(rows);
		if (st == ST_MALFORMED)
			http_reply_error(r, ST_MALFORMED, "bad_cursor",
					 "after must be a tracking number from a previous page",
					 "after");
		else
			http_reply_st(r, st);
		return;
	}
	/* Summaries: the clear columns only; no sealed blob is read or opened. */
	root = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(root, "orders");
	for (size_t i = 0; i < n; i++) {
		cJSON *row = view_summary(&rows[i]);

		if (row)
			cJSON_AddItemToArray(arr, row);
	}
	if (more && n)
		cJSON_AddStringToObject(root, "next", rows[n - 1].tracking_no);
	else
		cJSON_AddNullToObject(root, "next");
	for (size_t i = 0; i < n; i++)
		order_row_release(&rows[i]);
	free(rows);
	/* One entry for the page, with its count: a summary shows no personal field. */
	snprintf(r->job.audit.reason, sizeof(r->job.audit.reason), "%zu orders", n);
	reply_after_audit(r, root);
}

/* ---- changes: assign and status ------------------------------------------ */

struct change_state {
	struct account who;
	char courier[NAME_MAX_BYTES]; /* assign */
	enum order_state to;	      /* status */
	struct order_row row;	      /* after the change */
	int64_t retention_s;
	int64_t grace_s, quarantine_s;
	bool pool_empty;
	const char *why; /* error code for the client */
	const char *why_msg;
	const char *why_field;
};

static void change_state_free(void *p)
{
	struct change_state *cs = p;

	if (!cs)
		return;
	order_row_release(&cs->row);
	free(cs);
}

/*
 * The order of the job, when the caller may take act on it; not yours is
 * ST_NOTFOUND, audited as denied.  The writer may run a job twice
 * (store.c, run_jobs): a second load lets go of the first.
 */
static enum st tx_load(struct store *s, struct wjob *j, enum access_action act)
{
	struct change_state *cs = j->arg;
	enum st st;

	order_row_release(&cs->row);
	st = store_w_order_get(s, j->audit.tracking_no, &cs->row);
	if (st == ST_OK && !access_may(act, &cs->who, &cs->row)) {
		j->result = "denied";
		return ST_NOTFOUND;
	}
	return st;
}

static enum st tx_assign(struct store *s, struct wjob *j)
{
	struct change_state *cs = j->arg;
	struct account c;
	enum order_state state;
	enum st st = tx_load(s, j, ACT_ORDER_ASSIGN);

	if (st != ST_OK)
		return st;
	if (state_parse(cs->row.status, &state) && state_final(state)) {
		cs->why = "order_closed";
		cs->why_msg = "the order is closed";
		return ST_CONFLICT;
	}
	st = store_w_account_get(s, cs->courier, &c);
	if (st == ST_NOTFOUND ||
	    (st == ST_OK && (!access_may(ACT_ORDER_ASSIGNEE, &c, &cs->row) || c.disabled))) {
		cs->why = "unknown_courier";
		cs->why_msg = "no active courier of this depot has that name";
		cs->why_field = "courier";
		return ST_INVALID;
	}
	if (st != ST_OK)
		return st;
	if (!c.has_phone) {
		cs->why = "courier_has_no_phone";
		cs->why_msg = "couriers need a phone on their account to be assigned "
			      "(waybillctl account add --phone)";
		cs->why_field = "courier";
		return ST_INVALID;
	}
	cs->row.updated_at = (int64_t)time(NULL);
	if (cs->row.courier[0] && strcmp(cs->row.courier, cs->courier) != 0 && cs->row.vnum[0]) {
		/* Reassigned: the old extension stops at once; the new courier gets a new one. */
		unsigned char rcpt[HASH_BYTES];
		int64_t now = cs->row.updated_at;

		st = store_w_binding_recipient(s, cs->row.vnum, cs->row.ext, cs->row.id, rcpt);
		if (st == ST_OK)
			st = store_w_binding_end(s, cs->row.vnum, cs->row.ext, cs->row.id, now,
						 now + cs->quarantine_s, now);
		if (st == ST_OK) {
			st = vnum_binding_pick(s, now, rcpt, cs->row.vnum, cs->row.ext);
			cs->pool_empty = st == ST_UNAVAILABLE;
		}
		if (st == ST_OK)
			st = store_w_binding_insert(s, cs->row.vnum, cs->row.ext, cs->row.id, rcpt,
						    now);
		if (st == ST_OK)
			st = store_w_order_set_binding(s, cs->row.id, cs->row.vnum, cs->row.ext);
		mem_wipe(rcpt, sizeof(rcpt));
		if (st != ST_OK)
			return st;
	}
	st = store_w_order_set_courier(s, cs->row.id, cs->courier, cs->row.updated_at);
	if (st == ST_OK)
		str_copy(cs->row.courier, sizeof(cs->row.courier), cs->courier);
	return st;
}

static enum st tx_status(struct store *s, struct wjob *j)
{
	struct change_state *cs = j->arg;
	int64_t now = (int64_t)time(NULL), ended = 0, retain = 0;
	enum order_state from;
	enum st st = tx_load(s, j, ACT_ORDER_STATUS);

	if (st != ST_OK)
		return st;
	if (!state_parse(cs->row.status, &from) || !state_transition_ok(from, cs->to)) {
		cs->why = "bad_transition";
		cs->why_msg = "the order's state does not allow this change";
		return ST_CONFLICT;
	}
	if (state_final(cs->to)) {
		ended = now;
		retain = now + cs->retention_s;
	}
	if (state_final(cs->to) && cs->row.vnum[0]) {
		/* Delivered: routes live on for the grace period; returned or cancelled: not. */
		int64_t until = cs->to == STATE_DELIVERED ? now + cs->grace_s : now;
		st = store_w_binding_end(s, cs->row.vnum, cs->row.ext, cs->row.id, until,
					 until + cs->quarantine_s, now);
		if (st != ST_OK)
			return st;
	}
	st = store_w_order_set_status(s, cs->row.id, state_name(cs->to), now, ended, retain);
	if (st == ST_OK) {
		str_copy(cs->row.status, sizeof(cs->row.status), state_name(cs->to));
		cs->row.updated_at = now;
		cs->row.ended_at = ended;
		cs->row.retain_until = retain;
	}
	return st;
}

static void cont_change(struct request *r)
{
	struct change_state *cs = r->hstate;
	char *json = NULL;
	enum st st = r->job.st;

	if (cs->pool_empty && !store_trouble(r->app->store)) {
		reply_pool_exhausted(r);
		return;
	}
	if (st != ST_OK) {
		if (cs->why && (st == ST_CONFLICT || st == ST_INVALID))
			http_reply_error(r, st, cs->why, cs->why_msg, cs->why_field);
		else
			http_reply_st(r, st);
		return;
	}
	st = view_order_json(r->app, &cs->row, &json);
	if (st != ST_OK) {
		http_reply_st(r, st);
		return;
	}
	http_reply_json(r, 200, json, true);
}

static struct change_state *change_begin(struct request *r, const char *key, char *dst, size_t cap)
{
	const char *const keys[] = {key, NULL};
	struct change_state *cs;
	cJSON *root, *v;

	if (!tn_path_ok(r)) {
		http_reply_st(r, ST_NOTFOUND);
		return NULL;
	}
	if (body_object(r, keys, &root) != ST_OK)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap) {
		json_delete_wiped(root);
		http_reply_error(r, ST_INVALID, v ? "wrong_type" : "missing_field",
				 v ? "must be a short string" : "this field is required", key);
		return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs) {
		json_delete_wiped(root);
		http_reply_st(r, ST_NOMEM);
		return NULL;
	}
	str_copy(dst == NULL ? cs->courier : dst, cap, v->valuestring);
	json_delete_wiped(root);
	cs->who = r->acct;
	cs->retention_s = r->app->cfg.retention_days * 86400;
	cs->grace_s = r->app->cfg.vnum_grace_hours * 3600;
	cs->quarantine_s = r->app->cfg.vnum_quarantine_days * 86400;
	r->hstate = cs;
	r->hstate_free = change_state_free;
	return cs;
}

void h_order_assign(struct request *r)
{
	struct change_state *cs;
	char name[NAME_MAX_BYTES];

	cs = change_begin(r, "courier", name, sizeof(name));
	if (!cs)
		return;
	if (!name_valid(name)) {
		http_reply_error(r, ST_INVALID, "unknown_courier",
				 "no active courier of this depot has that name", "courier");
		return;
	}
	str_copy(cs->courier, sizeof(cs->courier), name);
	http_defer(r, tx_assign, cs, cont_change);
}

void h_order_status(struct request *r)
{
	struct change_state *cs;
	char status[20];

	cs = change_begin(r, "status", status, sizeof(status));
	if (!cs)
		return;
	if (!state_parse(status, &cs->to)) {
		http_reply_error(r, ST_INVALID, "unknown_status", "unknown status", "status");
		return;
	}
	http_defer(r, tx_status, cs, cont_change);
}

/* ---- the assigned courier's delivery view -------------------------------- */

void h_order_delivery(struct request *r)
{
	struct order_row row;
	struct order o;
	struct masked m;
	cJSON *v, *rcp;
	char addr[REGION_BYTES * 3 + ORDER_ADDRESS_MAX * 4 + 8], ts[24];
	int64_t order_id = 0, until = 0;

	if (!order_for_request(r, ACT_ORDER_DELIVERY, &row, &o))
		return;
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "tracking_no", row.tracking_no);
	cJSON_AddStringToObject(v, "status", row.status);
	rcp = cJSON_AddObjectToObject(v, "recipient");
	mask_name(o.recipient.name, &m);
	cJSON_AddStringToObject(rcp, "name_masked", m.s);
	mem_wipe(&m, sizeof(m));
	/* The full street address: the one thing a courier needs at the door. */
	if (strcmp(o.recipient.province, o.recipient.city) == 0)
		snprintf(addr, sizeof(addr), "%s%s%s", o.recipient.province, o.recipient.district,
			 o.recipient.address);
	else
		snprintf(addr, sizeof(addr), "%s%s%s%s", o.recipient.province, o.recipient.city,
			 o.recipient.district, o.recipient.address);
	cJSON_AddStringToObject(rcp, "address", addr);
	mem_wipe(addr, sizeof(addr));
	order_release(&o);
	if (row.vnum[0] &&
	    store_binding_find(r->app->store, row.vnum, row.ext, (int64_t)time(NULL), &order_id,
			       &until) == ST_OK &&
	    order_id == row.id) {
		cJSON_AddStringToObject(v, "virtual_number", row.vnum);
		cJSON_AddStringToObject(v, "extension", row.ext);
		if (until) {
			view_time(until, ts);
			cJSON_AddStringToObject(v, "expires_at", ts);
		} else {
			cJSON_AddNullToObject(v, "expires_at");
		}
	} else {
		cJSON_AddNullToObject(v, "virtual_number");
		cJSON_AddNullToObject(v, "extension");
		cJSON_AddNullToObject(v, "expires_at");
	}
	order_row_release(&row);
	reply_after_audit(r, v);
}
