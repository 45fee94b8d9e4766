/*
 * h_common.c - what the handlers share: scope, small bodies, and "audit
 * first, then answer".
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "json.h"
#include "order.h"
#include "view.h"

#include <strings.h>

bool tn_path_ok(struct request *r)
{
	return tn_valid(r->app->cfg.tracking_prefix, r->tn);
}

bool query_number(struct request *r, const char *name, int64_t min, int64_t max, const char *code,
		  const char *message, int64_t *out)
{
	const char *v = http_query(r, name);
	char *end;
	long long n;

	if (!v)
		return true;
	n = strtoll(v, &end, 10);
	if (*end || end == v || n < min || n > max) {
		http_reply_error(r, ST_MALFORMED, code, message, name);
		return false;
	}
	*out = (int64_t)n;
	return true;
}

bool query_limit(struct request *r, int def, int max, int *out)
{
	char message[40];
	int64_t n = def;

	snprintf(message, sizeof(message), "limit must be 1 to %d", max);
	if (!query_number(r, "limit", 1, max, "bad_limit", message, &n))
		return false;
	*out = (int)n;
	return true;
}

bool body_is_json(struct request *r)
{
	const char *ct = http_header(r, "Content-Type");

	if (!ct)
		return false;
	ct += strspn(ct, " \t");
	if (strncasecmp(ct, "application/json", 16) != 0)
		return false;
	ct += 16;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

enum st body_object(struct request *r, const char *const *keys, cJSON **out)
{
	struct json_fault fault;
	enum json_err je;
	cJSON *root = NULL, *it;
	enum st st;

	*out = NULL;
	if (!body_is_json(r)) {
		http_reply_st(r, ST_MEDIATYPE);
		return ST_MEDIATYPE;
	}
	je = json_prescan(r->body, r->body_len, keys, &fault);
	if (je != JSON_OK) {
		st = json_err_status(je);
		http_reply_error(r, st, json_err_code(je), json_err_message(je), fault.path);
		return st;
	}
	st = json_parse_tree(r->body, r->body_len, &root);
	if (st != ST_OK) {
		http_reply_st(r, st);
		return st;
	}
	if (!cJSON_IsObject(root)) {
		json_delete_wiped(root);
		http_reply_error(r, ST_MALFORMED, "not_an_object", "the body must be a JSON object",
				 NULL);
		return ST_MALFORMED;
	}
	cJSON_ArrayForEach(it, root)
	{
		bool known = false;
		size_t i;

		for (i = 0; keys[i]; i++)
			if (strcmp(it->string, keys[i]) == 0) {
				known = true;
				break;
			}
		if (!known) {
			json_delete_wiped(root);
			http_reply_error(r, ST_INVALID, "unknown_field",
					 "the body holds a field this route does not take", NULL);
			return ST_INVALID;
		}
		for (cJSON *o = it->next; o; o = o->next)
			if (strcmp(o->string, it->string) == 0) {
				json_delete_wiped(root);
				http_reply_error(r, ST_INVALID, "duplicate_key",
						 "a key appears twice in one object", keys[i]);
				return ST_INVALID;
			}
	}
	*out = root;
	return ST_OK;
}

static void pending_free(void *p)
{
	struct pending_body *b = p;

	if (!b)
		return;
	if (b->json)
		free_wiped(b->json, b->len);
	free(b);
}

static void cont_send(struct request *r)
{
	struct pending_body *b = r->hstate;

	if (r->job.st != ST_OK) {
		/* No durable audit entry: no personal byte leaves. */
		http_reply_st(r, ST_UNAVAILABLE);
		return;
	}
	http_reply_json(r, 200, b->json, true);
	b->json = NULL;
}

void reply_after_audit(struct request *r, cJSON *tree)
{
	char *json = tree ? cJSON_PrintUnformatted(tree) : NULL;
	struct pending_body *b = json ? calloc(1, sizeof(*b)) : NULL;

	json_delete_wiped(tree);
	if (!b) {
		if (json)
			free_wiped(json, strlen(json));
		http_reply_st(r, ST_NOMEM);
		return;
	}
	b->json = json;
	b->len = strlen(json);
	if (r->hstate_free)
		r->hstate_free(r->hstate);
	r->hstate = b;
	r->hstate_free = pending_free;
	http_defer(r, NULL, NULL, cont_send);
}

bool order_for_request(struct request *r, enum access_action act, struct order_row *row,
		       struct order *o)
{
	enum st st;

	memset(row, 0, sizeof(*row));
	if (!tn_path_ok(r)) {
		http_reply_st(r, ST_NOTFOUND);
		return false;
	}
	st = store_order_get(r->app->store, r->tn, row);
	if (st == ST_NOTFOUND || (st == ST_OK && !access_may(act, &r->acct, row))) {
		bool denied = st == ST_OK;
		order_row_release(row);
		http_audit_then_fail(r, ST_NOTFOUND, denied ? "denied" : "not_found", NULL);
		return false;
	}
	if (st != ST_OK) {
		http_reply_st(r, st);
		return false;
	}
	if (!o)
		return true;
	st = view_open(r->app, row, o);
	if (st != ST_OK) {
		order_row_release(row);
		if (st == ST_GONE || st == ST_CRYPTO)
			http_audit_then_fail(r, st, NULL, NULL);
		else
			http_reply_st(r, st);
		return false;
	}
	return true;
}
