/*
 * h_admin.c - GET /v1/admin/orders/{tn}?reason=TEXT: one order in full, for
 * an admin, with a reason, under a daily quota.
 *
 * The quota is counted, and the audit entry carrying the reason written, in
 * one writer job; the order is opened only after that commit, so no
 * personal byte is sent unless the reveal is on record.  When the open (or
 * the answer) then fails, a second job gives the quota back and writes a
 * second entry, result "open_failed:<status>": a reveal costs quota only
 * when it is sent, and the log never shows a failed one as only "ok".
 * There is still no route that searches by phone, name or address.
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "json.h"
#include "oidc.h"
#include "order.h"
#include "reason.h"
#include "view.h"

#include <time.h>

struct reveal_state {
	char day[16];
	long quota;
	char actor[NAME_MAX_BYTES];
	enum st failed;	 /* why the open or the answer failed, once it did */
	char result[32]; /* the second entry's result */
};

static enum st tx_reveal(struct store *s, struct wjob *j)
{
	struct reveal_state *rs = j->arg;
	return store_w_reveal_take(s, rs->actor, rs->day, rs->quota);
}

/* The reveal failed after it was on record: give its quota back. */
static enum st tx_unreveal(struct store *s, struct wjob *j)
{
	struct reveal_state *rs = j->arg;
	return store_w_reveal_give(s, rs->actor, rs->day);
}

static void cont_unreveal(struct request *r)
{
	struct reveal_state *rs = r->hstate;

	/* This request's second entry records the failure: http.c need not. */
	r->error_audited = true;
	if (r->job.st != ST_OK) {
		http_reply_st(r, ST_UNAVAILABLE);
		return;
	}
	http_reply_st(r, rs->failed);
}

static void reveal_failed(struct request *r, enum st st)
{
	struct reveal_state *rs = r->hstate;

	rs->failed = st;
	snprintf(rs->result, sizeof(rs->result), "open_failed:%s", st_name(st));
	r->job.result = rs->result;
	http_defer(r, tx_unreveal, rs, cont_unreveal);
}

static void cont_reveal(struct request *r)
{
	struct order_row row;
	struct order o;
	cJSON *root, *v, *sub;
	char *as_posted = NULL, *json;
	size_t len = 0;
	enum st st = r->job.st;

	if (st == ST_LIMIT) {
		http_reply_error(r, ST_LIMIT, "reveal_quota",
				 "this account has used its reveals for today", NULL);
		return;
	}
	if (st != ST_OK) {
		http_reply_st(r, st);
		return;
	}
	/* On record: now open it. */
	st = store_order_get(r->app->store, r->tn, &row);
	if (st == ST_OK)
		st = view_open(r->app, &row, &o);
	if (st != ST_OK) {
		order_row_release(&row);
		reveal_failed(r, st);
		return;
	}
	st = order_to_submitted_json(&o, &as_posted, &len);
	v = view_order(&row, &o);
	order_release(&o);
	order_row_release(&row);
	if (st != ST_OK || !v) {
		json_delete_wiped(v);
		if (as_posted)
			free_wiped(as_posted, len + 1);
		reveal_failed(r, st != ST_OK ? st : ST_NOMEM);
		return;
	}
	root = cJSON_CreateObject();
	sub = cJSON_Parse(as_posted);
	free_wiped(as_posted, len + 1);
	cJSON_AddStringToObject(root, "tracking_no", r->tn);
	cJSON_AddItemToObject(root, "order", sub);
	cJSON_AddItemToObject(root, "view", v);
	json = cJSON_PrintUnformatted(root);
	json_delete_wiped(root);
	if (!json) {
		reveal_failed(r, ST_NOMEM);
		return;
	}
	http_reply_json(r, 200, json, true);
}

/*
 * admin_max_auth_age_s: an admin signed in through the OpenID provider
 * reveals only within that long of the sign-in (the token's auth_time).
 * Otherwise answers 401 fresh_login_required, audited, and returns false.
 */
static bool admin_login_fresh(struct request *r)
{
	long max = r->app->cfg.admin_max_auth_age_s, age = 0;
	enum st st;

	if (max == 0 || strncmp(r->acct.name, OIDC_NAME_PREFIX, strlen(OIDC_NAME_PREFIX)) != 0)
		return true;
	st = oidc_login_age(r->app->oidc, http_header(r, "Authorization"), &age);
	if (st == ST_OK && age <= max)
		return true;
	if (st == ST_UNAVAILABLE) {
		http_reply_st(r, st);
		return false;
	}
	http_audit_then_error(r, ST_UNAUTH, "login_too_old", "fresh_login_required",
			      "an admin reveal needs a recent sign-in; sign in again", NULL);
	return false;
}

void h_admin_reveal(struct request *r)
{
	const char *reason = http_query(r, "reason");
	const char *problem;
	struct reveal_state *rs;
	struct order_row row;
	struct tm tm;
	time_t now = time(NULL);
	bool gone;

	if (!tn_path_ok(r)) {
		http_reply_st(r, ST_NOTFOUND);
		return;
	}
	problem = reason_problem(reason);
	if (problem) {
		http_reply_error(r, ST_MALFORMED, "reason_required", problem, "reason");
		return;
	}
	if (!admin_login_fresh(r))
		return;
	/* Every outcome from here on is audited with the reason. */
	snprintf(r->job.audit.reason, sizeof(r->job.audit.reason), "%s", reason);
	if (!order_for_request(r, ACT_ADMIN_REVEAL, &row, NULL))
		return;
	gone = !row.sealed || row.erased_at;
	order_row_release(&row);
	if (gone) {
		http_audit_then_fail(r, ST_GONE, NULL, NULL);
		return;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(rs->day, sizeof(rs->day), "%Y-%m-%d", &tm);
	rs->quota = r->app->cfg.admin_reveals_per_day;
	snprintf(rs->actor, sizeof(rs->actor), "%s", r->acct.name);
	r->hstate = rs;
	r->hstate_free = free;
	http_defer(r, tx_reveal, rs, cont_reveal);
}
