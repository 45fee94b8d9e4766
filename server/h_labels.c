/*
 * h_labels.c - GET /v1/orders/{tn}/label.pdf and POST /v1/labels.
 *
 * The PDF is rendered first (on the HTTP thread, from masked values only),
 * then one writer job checks and moves each order's print count and appends
 * one audit entry per label naming its order (in a batch, one-label batches
 * included, next to the request's own entry); only once that commit is
 * durable does the PDF leave.  Past label_reprints_max the job fails with
 * 429 and nothing is sent.  A batch is all or nothing: an unknown or foreign tracking number
 * fails the whole request with its index, and prints nothing.
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "account.h"
#include "audit.h"
#include "json.h"
#include "label.h"
#include "log.h"
#include "mask.h"
#include "order.h"
#include "view.h"

struct print_state {
	size_t n;
	char (*tns)[TN_MAX];
	struct label_fields *pages;
	unsigned char *pdf;
	size_t pdf_len;
	long max_prints;  /* first print + reprints */
	size_t bad_index; /* the label over its limit, for the error */
	size_t unsorted;  /* labels whose order has no sort code (waybill_labels_unsorted_total) */
	bool batch;	  /* POST /v1/labels: an entry per label, the job's is the request */
	char actor[NAME_MAX_BYTES], role[12], request_id[REQID_BYTES];
};

static void print_state_free(void *p)
{
	struct print_state *ps = p;

	if (!ps)
		return;
	free(ps->tns);
	if (ps->pages)
		free_wiped(ps->pages, ps->n * sizeof(*ps->pages));
	free(ps->pdf);
	free(ps);
}

static struct print_state *print_state_new(struct request *r, size_t n)
{
	struct print_state *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->n = n;
	ps->tns = calloc(n, sizeof(*ps->tns));
	ps->pages = calloc(n, sizeof(*ps->pages));
	if (!ps->tns || !ps->pages) {
		print_state_free(ps);
		return NULL;
	}
	ps->max_prints = 1 + r->app->cfg.label_reprints_max;
	snprintf(ps->actor, sizeof(ps->actor), "%s", r->acct.name);
	snprintf(ps->role, sizeof(ps->role), "%s", role_name(r->acct.role));
	snprintf(ps->request_id, sizeof(ps->request_id), "%s", r->id);
	r->hstate = ps;
	r->hstate_free = print_state_free;
	return ps;
}

/*
 * Load, scope-check and mask one order.  ST_NOTFOUND (with *denied when it
 * exists but is not the caller's), ST_GONE, or an error.
 */
static enum st page_load(struct request *r, enum access_action act, const char *tn,
			 struct label_fields *f, bool *denied)
{
	struct order_row row;
	struct order o;
	enum st st;

	*denied = false;
	if (!tn_valid(r->app->cfg.tracking_prefix, tn))
		return ST_NOTFOUND;
	st = store_order_get(r->app->store, tn, &row);
	if (st != ST_OK)
		return st;
	if (!access_may(act, &r->acct, &row)) {
		order_row_release(&row);
		*denied = true;
		return ST_NOTFOUND;
	}
	st = view_open(r->app, &row, &o);
	if (st == ST_OK) {
		view_label_fields(f, &row, &o);
		order_release(&o);
		if (!row.sort_code[0] && r->hstate)
			((struct print_state *)r->hstate)->unsorted++;
	}
	order_row_release(&row);
	return st;
}

static enum st tx_print(struct store *s, struct wjob *j)
{
	struct print_state *ps = j->arg;
	struct order_row row;
	enum st st = ST_OK;

	for (size_t i = 0; i < ps->n && st == ST_OK; i++) {
		struct audit_entry e;

		st = store_w_order_get(s, ps->tns[i], &row);
		if (st != ST_OK)
			break;
		if (row.print_count >= ps->max_prints) {
			ps->bad_index = i;
			st = ST_LIMIT;
		} else {
			st = store_w_order_set_prints(s, row.id, row.print_count + 1);
		}
		if (st == ST_OK && ps->batch) {
			/* One entry per label, a one-label batch too; the job's own is the request.
			 */
			audit_entry_init(&e, ps->actor, ps->role,
					 row.print_count ? "label.reprint" : "label.print",
					 row.tracking_no, ps->request_id);
			snprintf(e.result, sizeof(e.result), "ok");
			st = store_w_audit_append(s, &e);
			if (st != ST_OK)
				st = ST_UNAVAILABLE;
		} else if (st == ST_OK && row.print_count) {
			snprintf(j->audit.action, sizeof(j->audit.action), "label.reprint");
		}
		order_row_release(&row);
	}
	return st;
}

static void cont_print(struct request *r)
{
	struct print_state *ps = r->hstate;

	if (r->job.st == ST_LIMIT) {
		char field[48];
		snprintf(field, sizeof(field), ps->batch ? "tracking_nos[%zu]" : "", ps->bad_index);
		http_reply_error(r, ST_LIMIT, "reprint_limit",
				 "this label was printed as often as allowed", field);
		return;
	}
	if (r->job.st != ST_OK) {
		http_reply_st(r, r->job.st);
		return;
	}
	atomic_fetch_add(&r->app->labels_printed, ps->n);
	atomic_fetch_add(&r->app->labels_unsorted, ps->unsorted);
	http_reply_pdf(r, ps->pdf, ps->pdf_len);
	ps->pdf = NULL;
	http_reply_header(r, HDR_CONTENT_DISPOSITION, "inline; filename=\"%s.pdf\"",
			  ps->n == 1 ? ps->tns[0] : "labels");
}

/* Render; on failure the request is answered. */
static enum st render(struct request *r, struct print_state *ps, const struct label_tmpl *t)
{
	enum st st = label_render(r->app->labels, t, ps->pages, ps->n, &ps->pdf, &ps->pdf_len);

	/* The masked fields are not needed once drawn. */
	mem_wipe(ps->pages, ps->n * sizeof(*ps->pages));
	/* A template the start-up check warned about (the loader sizes zones for 4-letter
	 * prefixes). */
	if (st == ST_INVALID)
		http_reply_error(r, ST_INVALID, "size_too_small",
				 "this label size cannot print this service's tracking numbers "
				 "(a longer tracking_prefix); use a larger size",
				 "size");
	else if (st != ST_OK) {
		atomic_fetch_add(&r->app->label_failures, 1);
		log_msg(LOG_ERROR, r->id, "label: %zu page(s) at %s failed: %s", ps->n,
			label_tmpl_size(t), st_name(st));
		http_reply_st(r, st);
	}
	return st;
}

static const struct label_tmpl *size_find(struct request *r, const char *size)
{
	const struct label_tmpl *t = label_tmpl_find(r->app->labels, size);

	if (!t)
		http_reply_error(r, ST_INVALID, "unknown_size",
				 "size must be one of the label templates (100x150, 100x180, "
				 "76x130)",
				 "size");
	return t;
}

void h_label_one(struct request *r)
{
	const struct label_tmpl *t;
	struct print_state *ps;
	bool denied;
	enum st st;

	if (!tn_path_ok(r)) {
		http_reply_st(r, ST_NOTFOUND);
		return;
	}
	t = size_find(r, http_query(r, "size"));
	if (!t)
		return;
	ps = print_state_new(r, 1);
	if (!ps) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	snprintf(ps->tns[0], TN_MAX, "%s", r->tn);
	st = page_load(r, ACT_LABEL_PRINT, r->tn, &ps->pages[0], &denied);
	if (st == ST_NOTFOUND || st == ST_GONE) {
		http_audit_then_fail(r, st, denied ? "denied" : NULL, NULL);
		return;
	}
	if (st != ST_OK) {
		http_reply_st(r, st);
		return;
	}
	if (render(r, ps, t) != ST_OK)
		return;
	http_defer(r, tx_print, ps, cont_print);
}

void h_label_batch(struct request *r)
{
	const char *const keys[] = {"tracking_nos", "size", NULL};
	const struct label_tmpl *t;
	struct print_state *ps;
	cJSON *root, *arr, *size, *it;
	size_t n, i = 0;
	enum st st;

	if (body_object(r, keys, &root) != ST_OK)
		return;
	arr = cJSON_GetObjectItemCaseSensitive(root, "tracking_nos");
	size = cJSON_GetObjectItemCaseSensitive(root, "size");
	if (!cJSON_IsArray(arr) || (size && !cJSON_IsString(size))) {
		json_delete_wiped(root);
		http_reply_error(r, ST_INVALID, arr ? "wrong_type" : "missing_field",
				 arr ? "tracking_nos must be an array of strings, size a string"
				     : "tracking_nos is required",
				 arr && cJSON_IsArray(arr) ? "size" : "tracking_nos");
		return;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		json_delete_wiped(root);
		http_reply_error(r, ST_INVALID, "empty", "tracking_nos is empty", "tracking_nos");
		return;
	}
	if (n > (size_t)r->app->cfg.max_batch_labels) {
		json_delete_wiped(root);
		http_reply_error(r, ST_TOOBIG, "too_many_labels",
				 "more labels than max_batch_labels in one request",
				 "tracking_nos");
		return;
	}
	t = size_find(r, size ? size->valuestring : NULL);
	ps = t ? print_state_new(r, n) : NULL;
	if (!ps) {
		json_delete_wiped(root);
		if (t)
			http_reply_st(r, ST_NOMEM);
		return;
	}
	cJSON_ArrayForEach(it, arr)
	{
		char field[48];

		snprintf(field, sizeof(field), "tracking_nos[%zu]", i);
		if (!cJSON_IsString(it)) {
			json_delete_wiped(root);
			http_reply_error(r, ST_INVALID, "wrong_type",
					 "tracking numbers must be strings", field);
			return;
		}
		if (strlen(it->valuestring) >= TN_MAX) {
			json_delete_wiped(root);
			http_reply_error(r, ST_NOTFOUND, "not_found", "no such order", field);
			return;
		}
		snprintf(ps->tns[i], TN_MAX, "%s", it->valuestring);
		for (size_t k = 0; k < i; k++)
			if (strcmp(ps->tns[k], ps->tns[i]) == 0) {
				json_delete_wiped(root);
				http_reply_error(r, ST_INVALID, "duplicate",
						 "a tracking number appears twice", field);
				return;
			}
		i++;
	}
	json_delete_wiped(root);

	for (i = 0; i < n; i++) {
		bool denied;

		st = page_load(r, ACT_LABEL_BATCH, ps->tns[i], &ps->pages[i], &denied);
		if (st != ST_OK) {
			char field[48];
			snprintf(field, sizeof(field), "tracking_nos[%zu]", i);
			/* The refusal or the failure is audited against that order. */
			snprintf(r->job.audit.tracking_no, sizeof(r->job.audit.tracking_no), "%s",
				 tn_valid(r->app->cfg.tracking_prefix, ps->tns[i]) ? ps->tns[i]
										   : "");
			if (st == ST_NOTFOUND || st == ST_GONE) {
				snprintf(r->job.audit.action, sizeof(r->job.audit.action),
					 "label.batch");
				http_audit_then_fail(r, st, denied ? "denied" : NULL, field);
			} else {
				http_reply_error(r, st, NULL, NULL, field);
			}
			return;
		}
	}
	if (render(r, ps, t) != ST_OK)
		return;
	snprintf(r->job.audit.action, sizeof(r->job.audit.action), "label.batch");
	snprintf(r->job.audit.reason, sizeof(r->job.audit.reason), "%zu labels", n);
	ps->batch = true;
	http_defer(r, tx_print, ps, cont_print);
}
