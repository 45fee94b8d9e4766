/*
 * h_audit.c - GET /v1/audit and GET /v1/audit/verify, for auditors.  The
 * entries hold no personal data; reading them is itself audited.
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "account.h"
#include "audit.h"
#include "auditcp.h"
#include "crypto.h"
#include "json.h"
#include "oidc.h"

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 1000

/* An actor the filter may name: an account, a person of the provider (oidc:NAME), or "-". */
static bool actor_filter_ok(const char *a)
{
	size_t n = strlen(OIDC_NAME_PREFIX);

	if (strcmp(a, "-") == 0 || name_valid(a))
		return true;
	return strncmp(a, OIDC_NAME_PREFIX, n) == 0 && strlen(a) < NAME_MAX_BYTES &&
	       name_valid(a + n);
}

void h_audit_list(struct request *r)
{
	struct audit_query q = {0};
	struct audit_entry *entries;
	char since[32];
	size_t n = 0;
	cJSON *root, *arr;
	enum st st;

	q.tracking_no = http_query(r, "tracking_no");
	q.actor = http_query(r, "actor");
	q.since = http_query(r, "since");
	if ((q.tracking_no && (!*q.tracking_no || strlen(q.tracking_no) >= TN_MAX)) ||
	    (q.actor && !actor_filter_ok(q.actor))) {
		http_reply_error(r, ST_MALFORMED, "bad_filter", "a filter is malformed", NULL);
		return;
	}
	if (q.since && !audit_since_parse(q.since, since)) {
		http_reply_error(r, ST_MALFORMED, "bad_since", "since must be an ISO 8601 UTC time",
				 "since");
		return;
	}
	if (q.since)
		q.since = since;
	if (!query_limit(r, AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, &q.limit) ||
	    !query_number(r, "after_seq", 0, INT64_MAX, "bad_after_seq",
			  "after_seq must be a sequence number", &q.after_seq))
		return;
	entries = calloc((size_t)q.limit, sizeof(*entries));
	if (!entries) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	st = store_audit_list(r->app->store, &q, entries, &n);
	if (st != ST_OK) {
		free(entries);
		http_reply_st(r, st);
		return;
	}
	root = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(root, "entries");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, audit_entry_json(&entries[i]));
	if (n == (size_t)q.limit)
		cJSON_AddNumberToObject(root, "next_after_seq", (double)entries[n - 1].seq);
	free(entries);
	reply_after_audit(r, root);
}

void h_audit_verify(struct request *r)
{
	struct audit_check chk;
	char hex[HASH_BYTES * 2 + 1];
	cJSON *root;
	enum st st = store_audit_verify(r->app->store, &chk);

	if (st != ST_OK) {
		http_reply_st(r, st);
		return;
	}
	root = cJSON_CreateObject();
	cJSON_AddBoolToObject(root, "ok", chk.ok);
	cJSON_AddNumberToObject(root, "entries", (double)chk.entries);
	crypto_hex(chk.head, HASH_BYTES, hex);
	cJSON_AddStringToObject(root, "head", hex);
	if (!chk.ok)
		cJSON_AddNumberToObject(root, "bad_seq", (double)chk.bad_seq);
	{
		/* The last signed checkpoint, and whether the chain still holds it. */
		unsigned char cph[HASH_BYTES];
		int64_t cps;
		bool held = false;

		if (auditcp_last(r->app->audit_cp, &cps, cph, &held)) {
			cJSON *cp = cJSON_AddObjectToObject(root, "checkpoint");
			cJSON_AddNumberToObject(cp, "seq", (double)cps);
			crypto_hex(cph, HASH_BYTES, hex);
			cJSON_AddStringToObject(cp, "head", hex);
			cJSON_AddBoolToObject(cp, "held", held);
		} else {
			cJSON_AddNullToObject(root, "checkpoint");
		}
	}
	reply_after_audit(r, root);
}
