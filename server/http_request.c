/*
 * http_request.c - a request's life between libmicrohttpd and the handler:
 * status mapping and the error bodies, replies, deferral to the writer (and
 * the audit entries of refusals and server errors), routing and dispatch.
 */
#include "common.h"
#include "http_int.h"
#include "app.h"
#include "auth.h"
#include "audit.h"
#include "crypto.h"
#include "order.h"

#include <assert.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

/* ---- status mapping and replies --------------------------------------- */

unsigned http_status_of(enum st st)
{
	switch (st) {
	case ST_OK:
		return 200;
	case ST_MALFORMED:
		return 400;
	case ST_UNAUTH:
		return 401;
	case ST_FORBIDDEN:
		return 403;
	case ST_NOTFOUND:
		return 404;
	case ST_CONFLICT:
		return 409;
	case ST_GONE:
		return 410;
	case ST_TOOBIG:
		return 413;
	case ST_MEDIATYPE:
		return 415;
	case ST_INVALID:
		return 422;
	case ST_LIMIT:
		return 429;
	case ST_CRYPTO:
	case ST_INTERNAL:
		return 500;
	case ST_NOMEM:
	case ST_UNAVAILABLE:
	case ST_IO:
		return 503;
	}
	return 500;
}

static const char *default_message(enum st st)
{
	switch (st) {
	case ST_MALFORMED:
		return "the request is malformed";
	case ST_UNAUTH:
		return "a valid bearer token is required";
	case ST_FORBIDDEN:
		return "your role may not use this route";
	case ST_NOTFOUND:
		return "not found";
	case ST_CONFLICT:
		return "the request conflicts with the current state";
	case ST_GONE:
		return "the personal data of this order has been erased";
	case ST_TOOBIG:
		return "the request body is too large";
	case ST_MEDIATYPE:
		return "the body must be application/json";
	case ST_INVALID:
		return "a field is invalid";
	case ST_LIMIT:
		return "too many requests; try later";
	case ST_CRYPTO:
		return "stored data failed its integrity check";
	case ST_NOMEM:
	case ST_UNAVAILABLE:
	case ST_IO:
		return "the service cannot write durably right now; try again";
	default:
		return "internal error";
	}
}

static void reply_set(struct request *r, unsigned status, char *body, size_t len, bool wipe,
		      const char *ctype)
{
	if (r->resp)
		r->resp_wipe ? free_wiped(r->resp, r->resp_len) : free(r->resp);
	r->status = status;
	r->resp = body;
	r->resp_len = len;
	r->resp_wipe = wipe;
	r->ctype = ctype;
	r->answered = true;
}

void http_reply_json(struct request *r, unsigned status, char *body, bool wipe)
{
	if (!body) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	reply_set(r, status, body, strlen(body), wipe, "application/json");
}

void http_reply_bytes(struct request *r, unsigned status, char *data, size_t len, const char *ctype)
{
	if (!data) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	reply_set(r, status, data, len, false, ctype);
}

void http_reply_metrics(struct request *r, char *text, size_t len)
{
	if (!text) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	reply_set(r, 200, text, len, false, HTTP_CTYPE_METRICS);
}

const char *const http_reply_hdr_names[HDR_COUNT] = {
    [HDR_ALLOW] = "Allow",
    [HDR_LOCATION] = "Location",
    [HDR_CONTENT_DISPOSITION] = "Content-Disposition",
    [HDR_RETRY_AFTER] = "Retry-After",
    [HDR_ETAG] = "ETag",
};

void http_reply_header(struct request *r, enum http_reply_hdr h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->header[h], sizeof(r->header[h]), fmt, ap);
	va_end(ap);
}

void http_reply_retry_after(struct request *r, unsigned seconds)
{
	http_reply_header(r, HDR_RETRY_AFTER, "%u", seconds);
}

/* The error body {"error":{"code","message","field"?,"request_id"}} with this status. */
static void reply_error_status(struct request *r, unsigned status, enum st st, const char *code,
			       const char *message, const char *field)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *e = cJSON_AddObjectToObject(root, "error");
	char *body;

	cJSON_AddStringToObject(e, "code", code ? code : st_name(st));
	cJSON_AddStringToObject(e, "message", message ? message : default_message(st));
	if (field && *field)
		cJSON_AddStringToObject(e, "field", field);
	cJSON_AddStringToObject(e, "request_id", r->id);
	r->error_st = st;
	snprintf(r->error_code, sizeof(r->error_code), "%s", code ? code : st_name(st));
	body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!body) {
		static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\"}}";
		body = strdup(oom);
	}
	reply_set(r, status, body, body ? strlen(body) : 0, false, "application/json");
}

void http_reply_error(struct request *r, enum st st, const char *code, const char *message,
		      const char *field)
{
	reply_error_status(r, http_status_of(st), st, code, message, field);
}

/*
 * The answers of the HTTP layer itself, before or around any handler: the
 * status of each is decided here, beside http_status_of, and nowhere else
 * (st is what the log and a 500's audit see: the nearest enum st).
 */
static const struct refusal {
	unsigned status;
	enum st st;
	const char *code, *message;
} refusals[] = {
    [REFUSE_METHOD] = {405, ST_MALFORMED, "method_not_allowed",
		       "this path does not take this method"},
    [REFUSE_BAD_PATH] = {400, ST_MALFORMED, "bad_path", "the path holds a NUL or an encoded slash"},
    [REFUSE_BAD_HEADER] = {400, ST_MALFORMED, "bad_header",
			   "a header holds a NUL byte or a folded line"},
    [REFUSE_BAD_CONTENT_LENGTH] = {400, ST_MALFORMED, "bad_content_length",
				   "more than one Content-Length, or one with Transfer-Encoding"},
    [REFUSE_SHUTTING_DOWN] = {503, ST_UNAVAILABLE, "shutting_down",
			      "the service is stopping; try again"},
    [REFUSE_ARGS] = {400, ST_MALFORMED, "too_many_arguments",
		     "at most 64 query arguments of 4 KiB in all"},
    [REFUSE_HEADERS] = {431, ST_MALFORMED, "headers_too_large",
			"the headers the daemon reads exceed 8 KiB"},
    [REFUSE_LIB_LINE] = {400, ST_MALFORMED, "bad_request", "the request line is malformed"},
    [REFUSE_LIB_HEAD] = {400, ST_MALFORMED, "bad_request",
			 "a header line or the Content-Length is malformed"},
    [REFUSE_LIB_BODY] = {400, ST_MALFORMED, "bad_request", "the chunked body is malformed"},
    [REFUSE_LIB_TOOBIG] = {413, ST_TOOBIG, "too_large", "the body's length is past 2^64"},
    [REFUSE_LIB_URI] = {414, ST_MALFORMED, "uri_too_long",
			"the request line does not fit the request buffer"},
    [REFUSE_LIB_HEADERS] = {431, ST_MALFORMED, "headers_too_large",
			    "the request head does not fit the request buffer"},
    [REFUSE_LIB_VERSION] = {505, ST_MALFORMED, "http_version_not_supported",
			    "only HTTP/1.0 and HTTP/1.1"},
    [REFUSE_LIB_INTERNAL] = {500, ST_INTERNAL, "internal", "the HTTP layer failed"},
};

void http_refuse(struct request *r, enum http_refusal why)
{
	const struct refusal *f = &refusals[why];

	reply_error_status(r, f->status, f->st, f->code, f->message, NULL);
}

void http_reply_st(struct request *r, enum st st)
{
	http_reply_error(r, st, NULL, NULL, NULL);
}

void http_reply_pdf(struct request *r, unsigned char *pdf, size_t len)
{
	reply_set(r, 200, (char *)pdf, len, false, "application/pdf");
}

/* ---- what the handler reads: copies made on the first call ------------- */

/* The request headers the daemon reads, and so copies (HTTP_HEADERS_READ). */
static const char *const headers_read[HTTP_HEADERS_READ] = {
    "Authorization", "Content-Type", "Expect", "Idempotency-Key", "If-None-Match"};

/* s (n bytes and a NUL) into part [base, base + cap) of r->in; NULL past cap or out of memory. */
static const char *copy_in(struct request *r, size_t base, size_t cap, size_t *used, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (!r->in) {
		r->in = malloc(HTTP_ARGS_BYTES + HTTP_HEADERS_BYTES);
		if (!r->in) {
			r->in_st = ST_NOMEM;
			return NULL;
		}
	}
	if (n > cap - *used) {
		r->in_st = ST_MALFORMED;
		return NULL;
	}
	p = r->in + base + *used;
	memcpy(p, s, n);
	*used += n;
	return p;
}

bool http_copy_arg(struct request *r, const char *key, const char *value)
{
	size_t i = r->nargs;

	if (r->in_st != ST_OK)
		return false;
	if (i == HTTP_ARGS_MAX) {
		r->in_st = ST_MALFORMED;
		return false;
	}
	r->arg_key[i] = copy_in(r, 0, HTTP_ARGS_BYTES, &r->in_args, key);
	if (r->arg_key[i] && value)
		r->arg_val[i] = copy_in(r, 0, HTTP_ARGS_BYTES, &r->in_args, value);
	if (r->in_st != ST_OK)
		return false;
	r->nargs++;
	return true;
}

bool http_copy_header(struct request *r, const char *name, const char *value)
{
	if (r->in_st != ST_OK)
		return false;
	for (size_t i = 0; i < HTTP_HEADERS_READ; i++) {
		if (r->hdr[i] || strcasecmp(name, headers_read[i]) != 0)
			continue;
		r->hdr[i] = copy_in(r, HTTP_ARGS_BYTES, HTTP_HEADERS_BYTES, &r->in_hdrs,
				    value ? value : "");
		if (r->in_st == ST_OK)
			break;
		r->in_hdrs_over = true;
		return false;
	}
	return true;
}

bool http_copy_done(struct request *r)
{
	if (r->in_st == ST_OK)
		return true;
	if (r->in_st == ST_NOMEM)
		http_reply_st(r, ST_NOMEM);
	else
		http_refuse(r, r->in_hdrs_over ? REFUSE_HEADERS : REFUSE_ARGS);
	return false;
}

const char *http_query(struct request *r, const char *key)
{
	for (size_t i = 0; i < r->nargs; i++)
		if (strcasecmp(r->arg_key[i], key) == 0)
			return r->arg_val[i];
	return NULL;
}

const char *http_header(struct request *r, const char *name)
{
	for (size_t i = 0; i < HTTP_HEADERS_READ; i++)
		if (strcasecmp(name, headers_read[i]) == 0)
			return r->hdr[i];
	assert(!"http_header: a header headers_read[] does not list");
	return NULL;
}

/* ---- deferral to the writer ------------------------------------------ */

static void job_done(struct wjob *j)
{
	struct request *r = j->ctx;

	if (!r->conn) {
		http_fake_job_done(r);
		return;
	}
	r->resumed = true;
	MHD_resume_connection(r->conn);
}

void http_defer(struct request *r, wjob_fn fn, void *arg, void (*cont)(struct request *r))
{
	struct wjob *j = &r->job;

	j->fn = fn;
	j->arg = arg;
	j->done = job_done;
	j->ctx = r;
	str_copy(j->audit.request_id, sizeof(j->audit.request_id), r->id);
	if (r->acct.name[0]) {
		str_copy(j->audit.actor, sizeof(j->audit.actor), r->acct.name);
		str_copy(j->audit.role, sizeof(j->audit.role), role_name(r->acct.role));
	} else {
		snprintf(j->audit.actor, sizeof(j->audit.actor), "-");
		snprintf(j->audit.role, sizeof(j->audit.role), "-");
	}
	if (!j->audit.action[0])
		str_copy(j->audit.action, sizeof(j->audit.action),
			 r->route && r->route->action ? r->route->action : "request");
	/* A path segment that is no tracking number (a phone, a name) is never recorded. */
	if (!j->audit.tracking_no[0] && tn_valid(r->app->cfg.tracking_prefix, r->tn))
		str_copy(j->audit.tracking_no, sizeof(j->audit.tracking_no), r->tn);
	pthread_mutex_lock(&http_defer_lock);
	if (http_closing) {
		/* The drain is over and libmicrohttpd stops: no connection may wait. */
		pthread_mutex_unlock(&http_defer_lock);
		http_refuse(r, REFUSE_SHUTTING_DOWN);
		return;
	}
	r->cont = cont;
	r->deferred = true;
	if (r->conn) /* a fake request (no socket) waits on its own */
		atomic_fetch_add(&http_suspended, 1);
	pthread_mutex_unlock(&http_defer_lock);
	if (r->conn)
		MHD_suspend_connection(r->conn);
	store_submit(r->app->store, j);
}

struct fail_state {
	enum st st;
	const char *code, *message; /* string constants; NULL for st's own */
	char field[64];
};

static void cont_fail(struct request *r)
{
	struct fail_state *f = r->hstate;

	/* If even the audit entry could not be written, say so. */
	if (r->job.st == f->st)
		http_reply_error(r, f->st, f->code, f->message, f->field);
	else
		http_reply_st(r, ST_UNAVAILABLE);
}

static enum st job_fail(struct store *s, struct wjob *j)
{
	struct fail_state *f = j->arg;
	UNUSED(s);
	return f->st; /* rolled back; the audit entry records the result */
}

void http_audit_then_fail(struct request *r, enum st st, const char *result, const char *field)
{
	http_audit_then_error(r, st, result, NULL, NULL, field);
}

void http_audit_then_error(struct request *r, enum st st, const char *result, const char *code,
			   const char *message, const char *field)
{
	struct fail_state *f = malloc(sizeof(*f));

	if (!f) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	/* A 404 is reserved against miss_limit before it is audited: past the
	 * limit it is a 429, and the entry says the request was blocked. */
	if (st == ST_NOTFOUND && http_misses_count(r) && !r->miss_taken && !http_miss_take(r)) {
		st = ST_LIMIT;
		result = "blocked";
		code = message = field = NULL;
	}
	f->st = st;
	f->code = code;
	f->message = message;
	str_copy(f->field, sizeof(f->field), field ? field : "");
	if (r->hstate_free)
		r->hstate_free(r->hstate);
	r->hstate = f;
	r->hstate_free = free;
	/* The audit entry records result (or f->st's name); the request answers f->st. */
	r->job.result = result;
	http_defer(r, job_fail, f, cont_fail);
}

/*
 * A 500 on an audited route is on record like any other outcome.  When a
 * handler answered one without an entry saying so (no job of this request
 * failed with that status), write one, result the status's name, then send
 * the answer as it stands; 503 if even that entry cannot be written.
 */
static enum st job_error(struct store *s, struct wjob *j)
{
	struct request *r = j->ctx;
	UNUSED(s);
	return r->error_st;
}

static void cont_error(struct request *r)
{
	if (r->job.st != r->error_st)
		http_reply_st(r, ST_UNAVAILABLE);
}

bool http_audit_server_error(struct request *r)
{
	if (r->status != 500 || !r->route || !r->route->action || r->error_audited ||
	    r->job.st == r->error_st)
		return false;
	r->error_audited = true;
	r->job.result = NULL;
	http_defer(r, job_error, NULL, cont_error);
	return true;
}

/* ---- routing ---------------------------------------------------------- */

/* Match path against pattern; on a {tn} segment copy it to tn. */
static bool path_match(const char *pattern, const char *path, char tn[TN_MAX])
{
	while (*pattern && *path) {
		if (pattern[0] == '*' && pattern[1] == '\0')
			return true;
		if (strncmp(pattern, "{tn}", 4) == 0) {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= TN_MAX)
				return false;
			memcpy(tn, path, n);
			tn[n] = '\0';
			path += n;
			pattern += 4;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return (*pattern == '\0' || strcmp(pattern, "*") == 0) && *path == '\0';
}

/* A GET route whose answer spends something (routes.c says which): no HEAD there. */
static bool head_refused(const struct route *rt)
{
	for (size_t i = 0; i < routes_head_refused_count; i++)
		if (rt->action && strcmp(rt->action, routes_head_refused[i]) == 0)
			return true;
	return false;
}

/*
 * The route for method and path; HEAD finds the GET route (libmicrohttpd
 * drops the body).  When none matches but the path takes other methods,
 * allow gets them ("GET, HEAD, POST") for the 405's Allow header.
 */
const struct route *http_route_find(const char *method, const char *path, char tn[TN_MAX],
				    char *allow, size_t allow_len)
{
	static const char *const methods[] = {"GET", "HEAD", "POST"};
	bool takes[ARRAY_SIZE(methods)] = {false};
	bool head = strcmp(method, "HEAD") == 0;
	size_t used = 0;

	allow[0] = '\0';
	for (size_t i = 0; i < routes_count; i++) {
		char t[TN_MAX] = "";
		bool get = strcmp(routes[i].method, "GET") == 0;

		if (!path_match(routes[i].pattern, path, t))
			continue;
		if (strcmp(routes[i].method, method) == 0 ||
		    (head && get && !head_refused(&routes[i]))) {
			memcpy(tn, t, TN_MAX);
			return &routes[i];
		}
		for (size_t m = 0; m < ARRAY_SIZE(methods); m++)
			if (strcmp(routes[i].method, methods[m]) == 0 ||
			    (get && m == 1 && !head_refused(&routes[i])))
				takes[m] = true;
	}
	for (size_t m = 0; m < ARRAY_SIZE(methods); m++) {
		int n;
		if (!takes[m])
			continue;
		n = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", methods[m]);
		if (n > 0 && (size_t)n < allow_len - used)
			used += (size_t)n;
	}
	return NULL;
}

bool http_route(struct request *r, const char *path)
{
	char allow[64];

	r->route = http_route_find(r->method, path, r->tn, allow, sizeof(allow));
	if (strlen(path) < sizeof(r->path))
		str_copy(r->path, sizeof(r->path), path);
	if (atomic_load(&http_stopping)) {
		/* Nothing new starts while the daemon drains. */
		http_refuse(r, REFUSE_SHUTTING_DOWN);
		return false;
	}
	if (r->route)
		return true;
	if (allow[0]) {
		http_reply_header(r, HDR_ALLOW, "%s", allow);
		http_refuse(r, REFUSE_METHOD);
	} else {
		http_reply_st(r, ST_NOTFOUND);
	}
	return false;
}

void http_request_free(struct request *r)
{
	if (!r)
		return;
	if (r->hstate_free)
		r->hstate_free(r->hstate);
	if (r->body)
		free_wiped(r->body, r->body_cap);
	if (r->resp)
		r->resp_wipe ? free_wiped(r->resp, r->resp_len) : free(r->resp);
	if (r->in) /* a token, a reason */
		free_wiped(r->in, HTTP_ARGS_BYTES + HTTP_HEADERS_BYTES);
	free(r);
}

void http_request_id_new(char id[REQID_BYTES])
{
	unsigned char raw[8];

	crypto_random(raw, sizeof(raw));
	crypto_hex(raw, sizeof(raw), id);
}

/* Authenticate, check the role, and run the handler. */
void http_dispatch(struct request *r)
{
	const struct route *rt = r->route;
	enum st st;

	if (r->too_big) {
		http_reply_st(r, ST_TOOBIG);
		return;
	}
	if (rt->roles) {
		st = auth_bearer(r->app, http_header(r, "Authorization"), &r->acct);
		if (st == ST_UNAVAILABLE) {
			http_reply_st(r, st);
			return;
		}
		if (st != ST_OK) {
			http_auth_failed(r);
			return;
		}
		if (!(rt->roles & (unsigned)r->acct.role)) {
			if (rt->action)
				http_audit_then_fail(r, ST_FORBIDDEN, "denied", NULL);
			else
				http_reply_st(r, ST_FORBIDDEN);
			return;
		}
		if (http_misses_count(r) &&
		    limiter_over(r->app->misses, &r->acct.id, sizeof(r->acct.id), time(NULL))) {
			/* Enumeration: this token collected miss_limit 404s in this window. */
			http_retry_after(r, r->app->misses);
			http_audit_then_fail(r, ST_LIMIT, "blocked", NULL);
			return;
		}
	}
	rt->handler(r);
}
