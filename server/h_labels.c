/*
 * h_labels.c - GET /v1/orders/{tn}/label (and its alias label.pdf),
 * POST /v1/labels, GET /v1/orders/{tn}/preview.png.
 *
 * A label is PDF, PNG, ZPL or TSPL (format=), at 203 or 300 dpi (dpi=, the
 * raster formats), in one of the template sizes (size=); a query parameter
 * the route does not take, a repeated one, or a value it does not know
 * answers 400 before any order is looked at: nothing printed, nothing
 * audited.  A PNG holds one label: a batch of several as PNG is 400.
 *
 * The label is rendered first (on the HTTP thread, from masked values only),
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
	unsigned char *pdf; /* the rendered document, whatever its format */
	size_t pdf_len;
	enum label_format format;
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

/*
 * The one page of a single-label route (r->tn) into ps, for act.  A missing or
 * erased order (or one the caller may not see) is audited, then answered; any other
 * failure is answered.  False when the request has been answered.
 */
static bool page_load_one(struct request *r, enum access_action act, struct print_state *ps)
{
	bool denied;
	enum st st;

	snprintf(ps->tns[0], TN_MAX, "%s", r->tn);
	st = page_load(r, act, r->tn, &ps->pages[0], &denied);
	if (st == ST_NOTFOUND || st == ST_GONE) {
		http_audit_then_fail(r, st, denied ? "denied" : NULL, NULL);
		return false;
	}
	if (st != ST_OK) {
		http_reply_st(r, st);
		return false;
	}
	return true;
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
	http_reply_bytes(r, 200, (char *)ps->pdf, ps->pdf_len,
			 label_format_content_type(ps->format));
	ps->pdf = NULL;
	http_reply_header(r, HDR_CONTENT_DISPOSITION, "inline; filename=\"%s.%s\"",
			  ps->n == 1 ? ps->tns[0] : "labels", label_format_name(ps->format));
}

/* What a request asks the renderer for. */
struct label_want {
	const struct label_tmpl *t;
	enum label_format format;
	int dpi;
};

/*
 * Query parameters: only those in keys, each once, each with a value;
 * otherwise answered 400 (the name is not echoed: it is the caller's text).
 */
static bool query_only(struct request *r, const char *const *keys)
{
	for (size_t i = 0; i < r->nargs; i++) {
		bool known = false;
		for (size_t k = 0; keys[k] && !known; k++)
			known = strcasecmp(r->arg_key[i], keys[k]) == 0;
		if (!known) {
			http_reply_error(r, ST_MALFORMED, "unknown_parameter",
					 "this route takes no such query parameter", NULL);
			return false;
		}
		if (!r->arg_val[i]) {
			http_reply_error(r, ST_MALFORMED, "missing_value",
					 "a query parameter has no value", NULL);
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(r->arg_key[i], r->arg_key[j]) == 0) {
				http_reply_error(r, ST_MALFORMED, "duplicate_parameter",
						 "a query parameter appears twice", NULL);
				return false;
			}
	}
	return true;
}

static const struct label_tmpl *size_find(struct request *r, const char *size);

/* format (NULL: pdf), dpi (0: 203) and size (NULL: the default) into *w;
 * answered (400, 422 for a size) when one is not known. */
static bool want_parse(struct request *r, const char *size, const char *format, int dpi,
		       struct label_want *w)
{
	w->format = LABEL_PDF;
	if (format && !label_format_parse(format, &w->format)) {
		http_reply_error(r, ST_MALFORMED, "unknown_format",
				 "format must be pdf, png, zpl or tspl", "format");
		return false;
	}
	w->dpi = dpi ? dpi : LABEL_DPI_DEFAULT;
	if (!label_dpi_ok(w->dpi)) {
		http_reply_error(r, ST_MALFORMED, "unknown_dpi", "dpi must be 203 or 300", "dpi");
		return false;
	}
	w->t = size_find(r, size);
	return w->t != NULL;
}

/* dpi= of a query: "203" or "300" exactly; -1 for anything else, 0 absent. */
static int query_dpi(struct request *r)
{
	const char *v = http_query(r, "dpi");

	if (!v)
		return 0;
	return strcmp(v, "203") == 0 ? 203 : strcmp(v, "300") == 0 ? 300 : -1;
}

/* Render; on failure the request is answered. */
static enum st render(struct request *r, struct print_state *ps, const struct label_want *w)
{
	const struct label_tmpl *t = w->t;
	enum st st = label_render_to(r->app->labels, t, w->format, w->dpi, ps->pages, ps->n,
				     &ps->pdf, &ps->pdf_len);

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
		log_msg(LOG_ERROR, r->id, "label: %zu page(s) at %s as %s failed: %s", ps->n,
			label_tmpl_size(t), label_format_name(w->format), st_name(st));
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

static void label_one(struct request *r, bool pdf_only)
{
	static const char *const keys[] = {"size", "format", "dpi", NULL};
	struct label_want w;
	struct print_state *ps;

	if (!tn_path_ok(r)) {
		http_reply_st(r, ST_NOTFOUND);
		return;
	}
	if (!query_only(r, keys))
		return;
	const char *format = http_query(r, "format");
	if (pdf_only && format && strcmp(format, "pdf") != 0) {
		http_reply_error(r, ST_MALFORMED, "unknown_format",
				 "label.pdf is a PDF; GET /v1/orders/{tn}/label takes format",
				 "format");
		return;
	}
	if (!want_parse(r, http_query(r, "size"), format, query_dpi(r), &w))
		return;
	ps = print_state_new(r, 1);
	if (!ps) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	ps->format = w.format;
	if (!page_load_one(r, ACT_LABEL_PRINT, ps) || render(r, ps, &w) != ST_OK)
		return;
	http_defer(r, tx_print, ps, cont_print);
}

void h_label_one(struct request *r)
{
	label_one(r, false);
}

void h_label_pdf(struct request *r)
{
	label_one(r, true);
}

static void cont_preview(struct request *r)
{
	struct print_state *ps = r->hstate;

	if (r->job.st != ST_OK) {
		/* No durable audit entry: the label does not leave. */
		http_reply_st(r, ST_UNAVAILABLE);
		return;
	}
	http_reply_bytes(r, 200, (char *)ps->pdf, ps->pdf_len,
			 label_format_content_type(LABEL_PNG));
	ps->pdf = NULL;
	http_reply_header(r, HDR_CONTENT_DISPOSITION, "inline; filename=\"%s-preview.png\"",
			  ps->tns[0]);
}

/*
 * GET /v1/orders/{tn}/preview.png: the masked label as the depot station
 * shows it, PNG at 203 dpi.  Audited (label.preview, naming the order)
 * before it leaves, like any read; spends no print and is not counted as one.
 */
void h_label_preview(struct request *r)
{
	static const char *const keys[] = {"size", NULL};
	struct label_want w;
	struct print_state *ps;

	if (!tn_path_ok(r)) {
		http_reply_st(r, ST_NOTFOUND);
		return;
	}
	if (!query_only(r, keys) || !want_parse(r, http_query(r, "size"), "png", 203, &w))
		return;
	ps = print_state_new(r, 1);
	if (!ps) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	ps->format = LABEL_PNG;
	if (!page_load_one(r, ACT_LABEL_PREVIEW, ps) || render(r, ps, &w) != ST_OK)
		return;
	http_defer(r, NULL, NULL, cont_preview);
}

void h_label_batch(struct request *r)
{
	const char *const keys[] = {"tracking_nos", "size", "format", "dpi", NULL};
	struct label_want w;
	struct print_state *ps;
	cJSON *root, *arr, *size, *format, *dpi, *it;
	size_t n, i = 0;
	enum st st;

	if (body_object(r, keys, &root) != ST_OK)
		return;
	arr = cJSON_GetObjectItemCaseSensitive(root, "tracking_nos");
	size = cJSON_GetObjectItemCaseSensitive(root, "size");
	format = cJSON_GetObjectItemCaseSensitive(root, "format");
	dpi = cJSON_GetObjectItemCaseSensitive(root, "dpi");
	if ((format && !cJSON_IsString(format)) || (dpi && !cJSON_IsNumber(dpi))) {
		json_delete_wiped(root);
		http_reply_error(r, ST_MALFORMED, "wrong_type",
				 "format must be a string, dpi a number",
				 format && !cJSON_IsString(format) ? "format" : "dpi");
		return;
	}
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
	/* dpi: 203 or 300 exactly (300.5, 1e3 and the like are unknown values) */
	int dpi_v = !dpi ? 0 : dpi->valuedouble == 203 ? 203 : dpi->valuedouble == 300 ? 300 : -1;
	if (!want_parse(r, size ? size->valuestring : NULL, format ? format->valuestring : NULL,
			dpi_v, &w)) {
		json_delete_wiped(root);
		return;
	}
	if (w.format == LABEL_PNG && n > 1) {
		json_delete_wiped(root);
		http_reply_error(r, ST_MALFORMED, "png_batch",
				 "a PNG holds one label: ask for a batch as pdf, zpl or tspl, "
				 "or for each label on its own",
				 "format");
		return;
	}
	ps = print_state_new(r, n);
	if (!ps) {
		json_delete_wiped(root);
		http_reply_st(r, ST_NOMEM);
		return;
	}
	ps->format = w.format;
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
	if (render(r, ps, &w) != ST_OK)
		return;
	snprintf(r->job.audit.action, sizeof(r->job.audit.action), "label.batch");
	snprintf(r->job.audit.reason, sizeof(r->job.audit.reason), "%zu labels", n);
	ps->batch = true;
	http_defer(r, tx_print, ps, cont_print);
}
