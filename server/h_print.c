/*
 * h_print.c - GET /v1/printers, POST /v1/print-jobs, GET /v1/print-jobs/{id},
 * POST /v1/print-jobs/{id}/retry (docs/API.md "Printers", "Print jobs").
 *
 * A depot sees and prints on its own printers only: another depot's printer
 * answers the same 404 as one that does not exist, and so does another
 * depot's job.  Accepting a job is one writer job: the depot's bound of
 * open jobs, the job's row, and one print reserved and audited per label
 * (printjob_w_reserve); the senders (printjob.c) do the rest.  Job rows and
 * answers hold no personal data: tracking numbers, a printer's name, states.
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "json.h"
#include "log.h"
#include "order.h"
#include "printer.h"
#include "printjob.h"
#include "view.h"

#include <time.h>

/* ---- the job as the API shows it --------------------------------------- */

static cJSON *job_view(const struct print_job_row *j)
{
	cJSON *v = cJSON_CreateObject(), *arr;
	char(*tns)[TN_MAX] = calloc(PRINT_JOB_LABELS_MAX, sizeof(*tns));
	char ts[24];
	size_t n;

	if (!v || !tns) {
		cJSON_Delete(v);
		free(tns);
		return NULL;
	}
	cJSON_AddNumberToObject(v, "id", (double)j->id);
	cJSON_AddStringToObject(v, "printer", j->printer);
	cJSON_AddStringToObject(v, "status", j->status);
	if (j->reason[0]) {
		cJSON_AddStringToObject(v, "reason", j->reason);
		cJSON_AddStringToObject(v, "detail", j->detail);
	} else {
		cJSON_AddNullToObject(v, "reason");
		cJSON_AddNullToObject(v, "detail");
	}
	cJSON_AddNumberToObject(v, "labels", j->labels);
	arr = cJSON_AddArrayToObject(v, "tracking_nos");
	n = printjob_tns_split(j->tracking_nos, tns, PRINT_JOB_LABELS_MAX);
	for (size_t i = 0; arr && i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(tns[i]));
	free(tns);
	cJSON_AddNumberToObject(v, "attempts", j->attempts);
	cJSON_AddNumberToObject(v, "bytes_sent", (double)j->bytes_sent);
	view_time(j->created_at, ts);
	cJSON_AddStringToObject(v, "created_at", ts);
	view_time(j->updated_at, ts);
	cJSON_AddStringToObject(v, "updated_at", ts);
	return v;
}

/* ---- GET /v1/printers ---------------------------------------------------- */

void h_printers_list(struct request *r)
{
	struct printer *ps = NULL;
	size_t n = 0;
	cJSON *v, *arr;

	if (!access_may(ACT_PRINTER_LIST, &r->acct, NULL)) {
		http_reply_error(r, ST_FORBIDDEN, "no_depot", "this account belongs to no depot",
				 NULL);
		return;
	}
	if (printers_of_depot(r->app->printers, r->acct.depot, &ps, &n) != ST_OK) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	v = cJSON_CreateObject();
	arr = v ? cJSON_AddArrayToObject(v, "printers") : NULL;
	for (size_t i = 0; arr && i < n; i++) {
		cJSON *p = cJSON_CreateObject();

		if (!p)
			break;
		cJSON_AddStringToObject(p, "name", ps[i].name);
		cJSON_AddStringToObject(p, "language", printer_lang_name(ps[i].lang));
		cJSON_AddNumberToObject(p, "dpi", ps[i].dpi);
		cJSON_AddStringToObject(p, "size", ps[i].size);
		cJSON_AddItemToArray(arr, p);
	}
	free(ps);
	snprintf(r->job.audit.reason, sizeof(r->job.audit.reason), "%zu printers", n);
	reply_after_audit(r, v);
}

/* ---- POST /v1/print-jobs ------------------------------------------------- */

struct job_state {
	struct print_job_row *job;
	char (*tns)[TN_MAX];
	size_t n;
	long max_prints;
	long per_depot;
	size_t bad; /* the label over its limit */
	bool queue_full, limit;
	bool retry_wrong_state;
	int64_t id;
};

static void job_state_free(void *p)
{
	struct job_state *js = p;

	if (!js)
		return;
	free(js->job);
	free(js->tns);
	free(js);
}

static struct job_state *job_state_new(struct request *r)
{
	struct job_state *js = calloc(1, sizeof(*js));

	if (js) {
		js->job = calloc(1, sizeof(*js->job));
		js->tns = calloc(PRINT_JOB_LABELS_MAX, sizeof(*js->tns));
	}
	if (!js || !js->job || !js->tns) {
		job_state_free(js);
		http_reply_st(r, ST_NOMEM);
		return NULL;
	}
	js->max_prints = 1 + r->app->cfg.label_reprints_max;
	js->per_depot = r->app->cfg.print_jobs_per_depot;
	r->hstate = js;
	r->hstate_free = job_state_free;
	return js;
}

static enum st tx_job_create(struct store *s, struct wjob *j)
{
	struct job_state *js = j->arg;
	int64_t open = 0;
	enum st st;

	js->queue_full = js->limit = false;
	st = store_w_job_open_count(s, js->job->depot, &open);
	if (st != ST_OK)
		return st;
	if (open >= js->per_depot) {
		js->queue_full = true;
		return ST_LIMIT;
	}
	st = store_w_job_insert(s, js->job, &js->id);
	if (st != ST_OK)
		return st;
	st = printjob_w_reserve(s, (const char(*)[TN_MAX])js->tns, js->n, js->max_prints, &j->audit,
				js->id, &js->bad);
	if (st == ST_LIMIT)
		js->limit = true;
	if (st == ST_OK)
		snprintf(j->audit.reason, sizeof(j->audit.reason), "job %lld: %zu labels on %s",
			 (long long)js->id, js->n, js->job->printer);
	return st;
}

/* The two 429s of accepting (or retrying) a job; false when st was another. */
static bool reply_limit(struct request *r, const struct job_state *js)
{
	char field[48];

	if (js->queue_full) {
		http_reply_error(r, ST_LIMIT, "print_queue_full",
				 "this depot has print_jobs_per_depot jobs queued or sending",
				 NULL);
		return true;
	}
	if (js->limit) {
		snprintf(field, sizeof(field), "tracking_nos[%zu]", js->bad);
		http_reply_error(r, ST_LIMIT, "reprint_limit",
				 "this label was printed as often as allowed", field);
		return true;
	}
	return false;
}

static void reply_job(struct request *r, unsigned status, struct job_state *js)
{
	struct print_job_row *row = js->job;
	cJSON *v;
	char *json;

	row->id = js->id;
	v = job_view(row);
	json = v ? cJSON_PrintUnformatted(v) : NULL;
	cJSON_Delete(v);
	if (!json) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	http_reply_header(r, HDR_LOCATION, "/v1/print-jobs/%lld", (long long)js->id);
	http_reply_json(r, status, json, false);
	printq_wake(r->app->printq, js->id);
}

static void cont_job_create(struct request *r)
{
	struct job_state *js = r->hstate;

	if (r->job.st == ST_LIMIT && reply_limit(r, js))
		return;
	if (r->job.st != ST_OK) {
		http_reply_st(r, r->job.st);
		return;
	}
	reply_job(r, 202, js);
}

void h_print_job_create(struct request *r)
{
	const char *const keys[] = {"printer", "tracking_nos", NULL};
	struct job_state *js;
	struct printer p;
	cJSON *root, *pr, *arr, *it;
	size_t n, i = 0, used = 0;

	if (!access_may(ACT_PRINT_JOB_CREATE, &r->acct, NULL)) {
		http_reply_error(r, ST_FORBIDDEN, "no_depot", "this account belongs to no depot",
				 NULL);
		return;
	}
	if (body_object(r, keys, &root) != ST_OK)
		return;
	pr = cJSON_GetObjectItemCaseSensitive(root, "printer");
	arr = cJSON_GetObjectItemCaseSensitive(root, "tracking_nos");
	if (!pr || !arr) {
		json_delete_wiped(root);
		http_reply_error(r, ST_INVALID, "missing_field",
				 "printer and tracking_nos are required",
				 pr ? "tracking_nos" : "printer");
		return;
	}
	if (!cJSON_IsString(pr) || !cJSON_IsArray(arr)) {
		json_delete_wiped(root);
		http_reply_error(r, ST_INVALID, "wrong_type",
				 "printer must be a string, tracking_nos an array of strings",
				 cJSON_IsString(pr) ? "tracking_nos" : "printer");
		return;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	if (n == 0) {
		json_delete_wiped(root);
		http_reply_error(r, ST_INVALID, "empty", "tracking_nos is empty", "tracking_nos");
		return;
	}
	if (n > (size_t)r->app->cfg.max_batch_labels || n > PRINT_JOB_LABELS_MAX) {
		json_delete_wiped(root);
		http_reply_error(r, ST_TOOBIG, "too_many_labels",
				 "more labels than max_batch_labels in one job", "tracking_nos");
		return;
	}
	js = job_state_new(r);
	if (!js) {
		json_delete_wiped(root);
		return;
	}
	/* Another depot's printer is no printer at all: the same 404, audited as denied. */
	if (strlen(pr->valuestring) >= sizeof(p.name) ||
	    !printers_find(r->app->printers, r->acct.depot, pr->valuestring, &p)) {
		struct printer any;
		bool other = strlen(pr->valuestring) < sizeof(p.name) &&
			     printers_find_any(r->app->printers, pr->valuestring, &any);

		json_delete_wiped(root);
		http_audit_then_error(r, ST_NOTFOUND, other ? "denied" : "not_found",
				      "printer_not_found", "no such printer", "printer");
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
		if (strlen(it->valuestring) >= TN_MAX ||
		    !tn_valid(r->app->cfg.tracking_prefix, it->valuestring)) {
			json_delete_wiped(root);
			http_reply_error(r, ST_NOTFOUND, "not_found", "no such order", field);
			return;
		}
		str_copy(js->tns[i], TN_MAX, it->valuestring);
		for (size_t k = 0; k < i; k++)
			if (strcmp(js->tns[k], js->tns[i]) == 0) {
				json_delete_wiped(root);
				http_reply_error(r, ST_INVALID, "duplicate",
						 "a tracking number appears twice", field);
				return;
			}
		i++;
	}
	json_delete_wiped(root);
	js->n = n;
	/* Each order must be the depot's own: another's is the same 404 as none. */
	for (i = 0; i < n; i++) {
		struct order_row row = {0};
		char field[48];
		enum st st = store_order_get(r->app->store, js->tns[i], &row);
		bool denied = st == ST_OK && !access_may(ACT_PRINT_JOB_CREATE, &r->acct, &row);
		bool erased = st == ST_OK && (!row.sealed || row.erased_at);

		order_row_release(&row);
		snprintf(field, sizeof(field), "tracking_nos[%zu]", i);
		if (st == ST_NOTFOUND || denied || erased) {
			str_copy(r->job.audit.tracking_no, sizeof(r->job.audit.tracking_no),
				 js->tns[i]);
			http_audit_then_fail(r, erased && !denied ? ST_GONE : ST_NOTFOUND,
					     denied ? "denied" : NULL, field);
			return;
		}
		if (st != ST_OK) {
			http_reply_error(r, st, NULL, NULL, field);
			return;
		}
	}
	str_copy(js->job->depot, sizeof(js->job->depot), r->acct.depot);
	str_copy(js->job->printer, sizeof(js->job->printer), p.name);
	str_copy(js->job->actor, sizeof(js->job->actor), r->acct.name);
	str_copy(js->job->role, sizeof(js->job->role), role_name(r->acct.role));
	for (i = 0; i < n; i++) {
		size_t k = strlen(js->tns[i]);
		if (used)
			js->job->tracking_nos[used++] = ' ';
		memcpy(js->job->tracking_nos + used, js->tns[i], k);
		used += k;
	}
	js->job->tracking_nos[used] = '\0';
	js->job->labels = (int)n;
	js->job->created_at = js->job->updated_at = (int64_t)time(NULL);
	str_copy(js->job->status, sizeof(js->job->status), printjob_state_name(PJ_QUEUED));
	http_defer(r, tx_job_create, js, cont_job_create);
}

/* ---- GET /v1/print-jobs/{id}, POST .../retry --------------------------------- */

/* The {id} segment: 1 to 18 digits, no leading zero. */
static bool job_id_parse(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	int64_t v = 0;

	if (n == 0 || n > 18 || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* The caller's job named by the path into *out; on false the request is answered. */
static bool job_for_request(struct request *r, struct print_job_row *out)
{
	int64_t id;
	enum st st;

	if (!job_id_parse(r->tn, &id)) {
		http_reply_error(r, ST_NOTFOUND, "not_found", "no such print job", NULL);
		return false;
	}
	st = store_job_get(r->app->store, id, out);
	if (st == ST_NOTFOUND || (st == ST_OK && strcmp(out->depot, r->acct.depot) != 0)) {
		http_audit_then_error(r, ST_NOTFOUND, st == ST_OK ? "denied" : "not_found",
				      "not_found", "no such print job", NULL);
		return false;
	}
	if (st != ST_OK) {
		http_reply_st(r, st);
		return false;
	}
	return true;
}

void h_print_job_get(struct request *r)
{
	struct print_job_row *job = calloc(1, sizeof(*job));

	if (!job) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	if (job_for_request(r, job)) {
		snprintf(r->job.audit.reason, sizeof(r->job.audit.reason), "job %lld",
			 (long long)job->id);
		reply_after_audit(r, job_view(job));
	}
	free(job);
}

static enum st tx_job_retry(struct store *s, struct wjob *j)
{
	struct job_state *js = j->arg;
	enum pj_state from, to;
	int64_t open = 0;
	enum st st;

	js->queue_full = js->limit = js->retry_wrong_state = false;
	st = store_w_job_get(s, js->id, js->job);
	if (st != ST_OK)
		return st;
	if (!printjob_state_parse(js->job->status, &from) ||
	    !printjob_next(from, PJ_EV_RETRY, &to)) {
		js->retry_wrong_state = true;
		return ST_CONFLICT;
	}
	st = store_w_job_open_count(s, js->job->depot, &open);
	if (st != ST_OK)
		return st;
	if (open >= js->per_depot) {
		js->queue_full = true;
		return ST_LIMIT;
	}
	js->n = printjob_tns_split(js->job->tracking_nos, js->tns, PRINT_JOB_LABELS_MAX);
	if (js->n == 0)
		return ST_INTERNAL;
	/* Printing again spends a print again: each label's is reserved anew. */
	st = printjob_w_reserve(s, (const char(*)[TN_MAX])js->tns, js->n, js->max_prints, &j->audit,
				js->id, &js->bad);
	if (st == ST_LIMIT)
		js->limit = true;
	if (st != ST_OK)
		return st;
	st = store_w_job_set(s, js->id, printjob_state_name(to), "", "", js->job->attempts, 0,
			     (int64_t)time(NULL));
	if (st == ST_OK) {
		snprintf(js->job->status, sizeof(js->job->status), "%s", printjob_state_name(to));
		js->job->reason[0] = js->job->detail[0] = '\0';
		js->job->bytes_sent = 0;
		js->job->updated_at = (int64_t)time(NULL);
		snprintf(j->audit.reason, sizeof(j->audit.reason), "job %lld: %zu labels on %s",
			 (long long)js->id, js->n, js->job->printer);
	}
	return st;
}

static void cont_job_retry(struct request *r)
{
	struct job_state *js = r->hstate;

	if (r->job.st == ST_LIMIT && reply_limit(r, js))
		return;
	if (r->job.st == ST_CONFLICT && js->retry_wrong_state) {
		http_reply_error(r, ST_CONFLICT, "not_retryable",
				 "only a failed or interrupted job can be retried", NULL);
		return;
	}
	if (r->job.st != ST_OK) {
		http_reply_st(r, r->job.st);
		return;
	}
	reply_job(r, 202, js);
}

void h_print_job_retry(struct request *r)
{
	struct job_state *js;

	if (r->body_len) {
		http_reply_error(r, ST_INVALID, "unknown_field", "this route takes no body", NULL);
		return;
	}
	js = job_state_new(r);
	if (!js || !job_for_request(r, js->job))
		return;
	js->id = js->job->id;
	http_defer(r, tx_job_retry, js, cont_job_retry);
}
