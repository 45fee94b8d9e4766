/*
 * http.c - the only user of microhttpd.h: listening, body limits, the
 * authentication gate, dispatch, status mapping, request ids, access logs,
 * and the counters behind /metrics.
 *
 * Threads: libmicrohttpd's internal pool (one thread per core, epoll).
 * Handlers never wait for the writer: a request that needs a commit is
 * suspended, and the writer resumes it once the batch holding its job is
 * durable.  So a few threads keep many requests in flight, and the writer
 * sees them together (group commit).
 */
#include "common.h"
#include "http.h"
#include "app.h"
#include "auth.h"
#include "audit.h"
#include "crypto.h"
#include "limits.h"
#include "log.h"
#include "order.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define BODY_CHUNK 4096

/* ---- metrics --------------------------------------------------------- */

static const unsigned metric_codes[] = {200, 201, 400, 401, 403, 404, 405, 409,
					410, 413, 415, 422, 429, 500, 503};
#define NCODES ARRAY_SIZE(metric_codes)
#define MAX_ROUTES 32
static const double latency_bounds_ms[] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
#define NBUCKETS (ARRAY_SIZE(latency_bounds_ms) + 1)

static atomic_ullong req_count[MAX_ROUTES + 1][NCODES + 1];
static atomic_ullong lat_bucket[NBUCKETS];
static atomic_ullong lat_sum_us;
static atomic_ullong lat_count;

static size_t code_index(unsigned code)
{
	for (size_t i = 0; i < NCODES; i++)
		if (metric_codes[i] == code)
			return i;
	return NCODES;
}

static void metrics_count(const struct route *rt, unsigned code, double ms)
{
	size_t ri = rt ? (size_t)(rt - routes) : MAX_ROUTES;
	size_t b = 0;

	if (ri > MAX_ROUTES)
		ri = MAX_ROUTES;
	atomic_fetch_add(&req_count[ri][code_index(code)], 1);
	while (b < ARRAY_SIZE(latency_bounds_ms) && ms > latency_bounds_ms[b])
		b++;
	atomic_fetch_add(&lat_bucket[b], 1);
	atomic_fetch_add(&lat_sum_us, (unsigned long long)(ms * 1000));
	atomic_fetch_add(&lat_count, 1);
}

struct strbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!sb->p)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < sb->cap - sb->len) {
			sb->len += (size_t)n;
			return;
		}
		{
			char *np = realloc(sb->p, sb->cap * 2 + (size_t)n);
			if (!np) {
				free(sb->p);
				sb->p = NULL;
				return;
			}
			sb->p = np;
			sb->cap = sb->cap * 2 + (size_t)n;
		}
	}
}

char *http_metrics_text(struct app *app, size_t *len)
{
	struct strbuf sb = {malloc(8192), 0, 8192};
	struct store_stats ss;
	unsigned long long cum = 0;

	sb_printf(&sb, "# HELP waybill_http_requests_total HTTP requests by route and status.\n"
		       "# TYPE waybill_http_requests_total counter\n");
	for (size_t r = 0; r <= MAX_ROUTES; r++) {
		if (r < MAX_ROUTES && r >= routes_count)
			continue;
		for (size_t c = 0; c <= NCODES; c++) {
			unsigned long long v = atomic_load(&req_count[r][c]);
			if (!v)
				continue;
			sb_printf(&sb,
				  "waybill_http_requests_total{method=\"%s\",route=\"%s\","
				  "code=\"%u\"} %llu\n",
				  r < MAX_ROUTES ? routes[r].method : "-",
				  r < MAX_ROUTES ? routes[r].pattern : "unmatched",
				  c < NCODES ? metric_codes[c] : 0, v);
		}
	}
	sb_printf(&sb, "# HELP waybill_http_request_duration_seconds Time from first byte "
		       "to answer.\n# TYPE waybill_http_request_duration_seconds histogram\n");
	for (size_t b = 0; b < NBUCKETS; b++) {
		cum += atomic_load(&lat_bucket[b]);
		if (b < ARRAY_SIZE(latency_bounds_ms))
			sb_printf(&sb,
				  "waybill_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				  latency_bounds_ms[b] / 1000.0, cum);
		else
			sb_printf(
			    &sb, "waybill_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			    cum);
	}
	sb_printf(&sb, "waybill_http_request_duration_seconds_sum %.6f\n",
		  (double)atomic_load(&lat_sum_us) / 1e6);
	sb_printf(&sb, "waybill_http_request_duration_seconds_count %llu\n",
		  atomic_load(&lat_count));
	sb_printf(&sb,
		  "# HELP waybill_orders_created_total Orders created.\n"
		  "# TYPE waybill_orders_created_total counter\n"
		  "waybill_orders_created_total %llu\n",
		  atomic_load(&app->orders_created));
	sb_printf(&sb,
		  "# HELP waybill_labels_printed_total Label pages printed.\n"
		  "# TYPE waybill_labels_printed_total counter\n"
		  "waybill_labels_printed_total %llu\n",
		  atomic_load(&app->labels_printed));
	store_stats_get(app->store, &ss);
	sb_printf(&sb,
		  "# HELP waybill_store_commits_total Write transactions committed (group "
		  "commits).\n# TYPE waybill_store_commits_total counter\n"
		  "waybill_store_commits_total %llu\n"
		  "# HELP waybill_store_jobs_total Writes and audit entries carried by them.\n"
		  "# TYPE waybill_store_jobs_total counter\nwaybill_store_jobs_total %llu\n"
		  "# HELP waybill_store_commit_failures_total Batches that failed to commit.\n"
		  "# TYPE waybill_store_commit_failures_total counter\n"
		  "waybill_store_commit_failures_total %llu\n"
		  "# HELP waybill_store_batch_reruns_total Batches run again with a savepoint "
		  "per job, after a job failed having written.\n"
		  "# TYPE waybill_store_batch_reruns_total counter\n"
		  "waybill_store_batch_reruns_total %llu\n",
		  (unsigned long long)ss.batches, (unsigned long long)ss.jobs,
		  (unsigned long long)ss.commit_fail, (unsigned long long)ss.reruns);
	sb_printf(&sb,
		  "# HELP waybill_store_exec_seconds_total Writer time running jobs.\n"
		  "# TYPE waybill_store_exec_seconds_total counter\n"
		  "waybill_store_exec_seconds_total %.6f\n"
		  "# HELP waybill_store_commit_seconds_total Writer time committing (fsync).\n"
		  "# TYPE waybill_store_commit_seconds_total counter\n"
		  "waybill_store_commit_seconds_total %.6f\n"
		  "# HELP waybill_store_wal_pages_total Pages the commits wrote to the "
		  "write-ahead log.\n# TYPE waybill_store_wal_pages_total counter\n"
		  "waybill_store_wal_pages_total %llu\n",
		  (double)ss.exec_ns / 1e9, (double)ss.commit_ns / 1e9,
		  (unsigned long long)ss.wal_pages);
	{
		struct vnum_stats vs;
		if (store_vnum_stats(app->store, (int64_t)time(NULL), &vs) == ST_OK)
			sb_printf(
			    &sb,
			    "# HELP waybill_vnum_bindings_active Virtual-number bindings that "
			    "route calls now.\n# TYPE waybill_vnum_bindings_active gauge\n"
			    "waybill_vnum_bindings_active %lld\n"
			    "# HELP waybill_vnum_free_capacity Extensions free for new orders "
			    "(neither active nor resting).\n"
			    "# TYPE waybill_vnum_free_capacity gauge\n"
			    "waybill_vnum_free_capacity %lld\n",
			    (long long)vs.active, (long long)(vs.capacity - vs.held));
	}
	sb_printf(&sb, "# HELP waybill_store_batch_jobs Jobs per commit, by power of two.\n"
		       "# TYPE waybill_store_batch_jobs counter\n");
	for (size_t i = 0; i < ARRAY_SIZE(ss.batch_hist); i++)
		sb_printf(&sb, "waybill_store_batch_jobs{ge=\"%zu\"} %llu\n", (size_t)1 << i,
			  (unsigned long long)ss.batch_hist[i]);
	{
		uint64_t n = 0;
		sb_printf(&sb, "# HELP waybill_store_commit_duration_seconds Time in COMMIT "
			       "(writing the log and fsync).\n"
			       "# TYPE waybill_store_commit_duration_seconds histogram\n");
		for (size_t i = 0; i <= STORE_COMMIT_BUCKETS; i++) {
			n += ss.commit_hist[i];
			if (i < STORE_COMMIT_BUCKETS)
				sb_printf(&sb,
					  "waybill_store_commit_duration_seconds_bucket{le=\"%g\"} "
					  "%llu\n",
					  store_commit_bounds_us[i] / 1e6, (unsigned long long)n);
			else
				sb_printf(
				    &sb,
				    "waybill_store_commit_duration_seconds_bucket{le=\"+Inf\"} "
				    "%llu\n",
				    (unsigned long long)n);
		}
		sb_printf(&sb,
			  "waybill_store_commit_duration_seconds_sum %.6f\n"
			  "waybill_store_commit_duration_seconds_count %llu\n",
			  (double)ss.commit_ns / 1e9, (unsigned long long)n);
	}
	if (!sb.p)
		return NULL;
	*len = sb.len;
	return sb.p;
}

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

void http_reply_error(struct request *r, enum st st, const char *code, const char *message,
		      const char *field)
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
	body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!body) {
		static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\"}}";
		body = strdup(oom);
	}
	reply_set(r, http_status_of(st), body, body ? strlen(body) : 0, false, "application/json");
}

void http_reply_st(struct request *r, enum st st)
{
	http_reply_error(r, st, NULL, NULL, NULL);
}

void http_reply_pdf(struct request *r, unsigned char *pdf, size_t len)
{
	reply_set(r, 200, (char *)pdf, len, false, "application/pdf");
}

static const char *fake_query(const struct request *r, const char *key);
static const char *fake_header(const struct request *r, const char *name);

const char *http_query(struct request *r, const char *key)
{
	if (!r->conn)
		return fake_query(r, key);
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(struct request *r, const char *name)
{
	if (!r->conn)
		return fake_header(r, name);
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* ---- deferral to the writer ------------------------------------------ */

static void fake_job_done(struct request *r);

static void job_done(struct wjob *j)
{
	struct request *r = j->ctx;

	if (!r->conn) {
		fake_job_done(r);
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
	r->cont = cont;
	r->deferred = true;
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

static bool misses_count(const struct request *r);
static bool miss_take(struct request *r);

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
	if (st == ST_NOTFOUND && misses_count(r) && !r->miss_taken && !miss_take(r)) {
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

static bool audit_server_error(struct request *r)
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
	return *pattern == '\0' && *path == '\0';
}

/*
 * The route for method and path.  When none matches but the path takes other
 * methods, allow gets them ("GET, POST") for the 405's Allow header.
 */
static const struct route *route_find(const char *method, const char *path, char tn[TN_MAX],
				      char *allow, size_t allow_len)
{
	static const char *const methods[] = {"GET", "POST"};
	bool takes[ARRAY_SIZE(methods)] = {false};
	size_t used = 0;

	allow[0] = '\0';
	for (size_t i = 0; i < routes_count; i++) {
		char t[TN_MAX] = "";

		if (!path_match(routes[i].pattern, path, t))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			memcpy(tn, t, TN_MAX);
			return &routes[i];
		}
		for (size_t m = 0; m < ARRAY_SIZE(methods); m++)
			if (strcmp(routes[i].method, methods[m]) == 0)
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

/* ---- the libmicrohttpd callbacks -------------------------------------- */

struct reporter;

struct http_server {
	struct MHD_Daemon *d;
	struct app *app;
	char *tls_cert, *tls_key;
	struct reporter *rep; /* writes the authentication failures' audit entries */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void request_free(struct request *r)
{
	if (!r)
		return;
	if (r->hstate_free)
		r->hstate_free(r->hstate);
	if (r->body)
		free_wiped(r->body, r->body_cap);
	if (r->resp)
		r->resp_wipe ? free_wiped(r->resp, r->resp_len) : free(r->resp);
	free(r);
}

struct resp_buf {
	size_t len;
	bool wipe;
	char *p;
};

static void resp_buf_free(void *cls)
{
	struct resp_buf *b = cls;

	if (b->wipe)
		free_wiped(b->p, b->len);
	else
		free(b->p);
	free(b);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, struct request *r)
{
	struct MHD_Response *resp;
	struct resp_buf *b;
	enum MHD_Result ret;

	if (!r->answered)
		http_reply_st(r, ST_INTERNAL);
	/* The last moment a 404 can be counted before it leaves: past miss_limit
	 * it leaves as a 429, so no token ever gets more than miss_limit 404s,
	 * however many requests it has in flight. */
	if (r->status == 404 && misses_count(r) && !r->miss_taken && !miss_take(r))
		http_reply_st(r, ST_LIMIT);
	b = malloc(sizeof(*b));
	if (!b)
		return MHD_NO;
	b->len = r->resp_len;
	b->wipe = r->resp_wipe;
	b->p = r->resp;
	r->resp = NULL;
	resp =
	    MHD_create_response_from_buffer_with_free_callback_cls(b->len, b->p, resp_buf_free, b);
	if (!resp) {
		resp_buf_free(b);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"waybill\"");
	for (size_t i = 0; i < ARRAY_SIZE(r->extra_header); i++) {
		char *colon = strchr(r->extra_header[i], ':');
		if (colon) {
			*colon = '\0';
			MHD_add_response_header(resp, r->extra_header[i], colon + 1);
		}
	}
	ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void request_id_new(char id[REQID_BYTES])
{
	unsigned char raw[8];

	crypto_random(raw, sizeof(raw));
	crypto_hex(raw, sizeof(raw), id);
}

/*
 * Whose 404s count towards miss_limit: every authenticated caller, the call
 * platform's token included (a sweep of extensions or phones is 404s).
 */
static bool misses_count(const struct request *r)
{
	return r->acct.name[0] != '\0';
}

/* "Retry-After:N" for the window of l, as the answer's second extra header. */
static void retry_after(struct request *r, const struct limiter *l)
{
	snprintf(r->extra_header[1], sizeof(r->extra_header[1]), "Retry-After:%u",
		 limiter_retry_after(l, time(NULL)));
}

static void audit_job_free(struct wjob *j)
{
	free(j);
}

/*
 * Reserve one more 404 for this token, before it is answered (or audited);
 * false when that would pass miss_limit: then it must answer 429.  At the
 * limit, the event itself is audited.
 */
static bool miss_take(struct request *r)
{
	struct wjob *j;
	unsigned n = limiter_hit(r->app->misses, &r->acct.id, sizeof(r->acct.id), time(NULL));

	r->miss_taken = true;
	if (n > limiter_limit(r->app->misses)) {
		retry_after(r, r->app->misses);
		return false;
	}
	if (n != limiter_limit(r->app->misses))
		return true;
	log_warn("enumeration: %s reached miss_limit; 429 for the rest of the window",
		 r->acct.name);
	j = calloc(1, sizeof(*j));
	if (!j)
		return true;
	audit_entry_init(&j->audit, r->acct.name, role_name(r->acct.role), "enumeration", NULL,
			 r->id);
	snprintf(j->audit.reason, sizeof(j->audit.reason), "miss_limit reached");
	j->result = "blocked";
	j->done = audit_job_free;
	store_submit(r->app->store, j);
	return true;
}

/* ---- authentication failures, per client address ----------------------- */

/*
 * Requests without a valid token are counted per client address (IPv6 by
 * its /64) in a tally limiter, not audited one by one: a flood of them
 * would otherwise write an audit entry (and a commit) each.  The report
 * thread writes one "auth.fail" entry per address and minute, with the
 * count, once the minute is over (and at stop).  Past
 * auth_failures_per_minute the address gets 429 with Retry-After instead of
 * 401.  A valid token from the same address is never refused for them.
 */
#define AUTH_FAIL_KEYS 16384

/* The limiter key of the request's client address: family, then address bytes. */
static size_t client_key(struct request *r, unsigned char key[LIMITER_KEY_MAX])
{
	const union MHD_ConnectionInfo *ci =
	    r->conn ? MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(key, 0, LIMITER_KEY_MAX);
	if (sa && sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return 5;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const unsigned char *a =
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
			return 5;
		}
		key[0] = 6;
		memcpy(key + 1, a, 8);
		return 9;
	}
	return 1; /* unknown: all such requests share one count */
}

static void client_key_format(const unsigned char *key, size_t len, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	if (len == 5 && key[0] == 4 && inet_ntop(AF_INET, key + 1, a, sizeof(a))) {
		snprintf(out, cap, "%s", a);
	} else if (len == 9 && key[0] == 6) {
		unsigned char full[16] = {0};
		memcpy(full, key + 1, 8);
		if (inet_ntop(AF_INET6, full, a, sizeof(a)))
			snprintf(out, cap, "%s/64", a);
		else
			snprintf(out, cap, "unknown");
	} else {
		snprintf(out, cap, "unknown");
	}
}

static void auth_failed(struct request *r)
{
	unsigned char key[LIMITER_KEY_MAX];
	size_t len = client_key(r, key);
	unsigned n = limiter_hit(r->app->auth_fails, key, len, time(NULL));

	if (n <= limiter_limit(r->app->auth_fails)) {
		http_reply_st(r, ST_UNAUTH);
		return;
	}
	if (n == limiter_limit(r->app->auth_fails) + 1) {
		char a[INET6_ADDRSTRLEN + 4];
		client_key_format(key, len, a, sizeof(a));
		log_warn("auth: %s passed auth_failures_per_minute; 429 for the rest of the minute",
			 a);
	}
	retry_after(r, r->app->auth_fails);
	http_reply_error(r, ST_LIMIT, "too_many_auth_failures",
			 "too many requests without a valid token; try later", NULL);
}

struct report_ctx {
	struct app *app;
	size_t dropped;
	bool wait; /* at stop: each entry committed before the stop checkpoint is taken */
};

static void auth_fail_report_one(const void *key, size_t len, time_t start, unsigned count,
				 void *arg)
{
	struct report_ctx *c = arg;
	unsigned limit = limiter_limit(c->app->auth_fails);
	char a[INET6_ADDRSTRLEN + 4], minute[24];
	struct wjob *j = calloc(1, sizeof(*j));
	struct tm tm;

	if (!j) {
		c->dropped++;
		return;
	}
	client_key_format(key, len, a, sizeof(a));
	gmtime_r(&start, &tm);
	strftime(minute, sizeof(minute), "%Y-%m-%dT%H:%MZ", &tm);
	audit_entry_init(&j->audit, "-", "-", "auth.fail", NULL, "");
	snprintf(j->audit.reason, sizeof(j->audit.reason), "addr=%s minute=%s count=%u limited=%u",
		 a, minute, count, count > limit ? count - limit : 0);
	j->result = "unauthorized";
	if (c->wait) {
		store_run(c->app->store, j);
		free(j);
		return;
	}
	j->done = audit_job_free;
	store_submit(c->app->store, j);
}

static void auth_fail_report(struct app *app, bool all)
{
	struct report_ctx c = {app, 0, all};

	limiter_report(app->auth_fails, time(NULL), all, auth_fail_report_one, &c);
	if (c.dropped)
		log_warn("auth: out of memory; %zu addresses' failure counts not audited",
			 c.dropped);
}

struct reporter {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop, started;
	struct app *app;
};

static void *reporter_main(void *arg)
{
	struct reporter *rp = arg;

	pthread_setname_np(pthread_self(), "wb-authfail");
	pthread_mutex_lock(&rp->lock);
	while (!rp->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&rp->wake, &rp->lock, &ts);
		if (rp->stop)
			break;
		pthread_mutex_unlock(&rp->lock);
		auth_fail_report(rp->app, false);
		pthread_mutex_lock(&rp->lock);
	}
	pthread_mutex_unlock(&rp->lock);
	return NULL;
}

/* Authenticate, check the role, and run the handler. */
static void dispatch(struct request *r)
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
			auth_failed(r);
			return;
		}
		if (!(rt->roles & (unsigned)r->acct.role)) {
			if (rt->action)
				http_audit_then_fail(r, ST_FORBIDDEN, "denied", NULL);
			else
				http_reply_st(r, ST_FORBIDDEN);
			return;
		}
		if (misses_count(r) &&
		    limiter_over(r->app->misses, &r->acct.id, sizeof(r->acct.id), time(NULL))) {
			/* Enumeration: this token collected miss_limit 404s in this window. */
			retry_after(r, r->app->misses);
			http_audit_then_fail(r, ST_LIMIT, "blocked", NULL);
			return;
		}
	}
	rt->handler(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct app *app = cls;
	struct request *r = *con_cls;
	UNUSED(version);

	if (!r) {
		char allow[64];
		const char *cl;

		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		r->app = app;
		r->conn = c;
		r->t0_ns = now_ns();
		atomic_fetch_add(&app->inflight, 1);
		request_id_new(r->id);
		str_copy(r->method, sizeof(r->method), method);
		r->route = route_find(method, url, r->tn, allow, sizeof(allow));
		if (!r->route) {
			if (allow[0]) {
				snprintf(r->extra_header[0], sizeof(r->extra_header[0]), "Allow:%s",
					 allow);
				http_reply_error(r, ST_MALFORMED, "method_not_allowed",
						 "this path does not take this method", NULL);
				r->status = 405;
			} else {
				http_reply_st(r, ST_NOTFOUND);
			}
			return send_answer(c, r);
		}
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl) {
			char *end;
			unsigned long long n = strtoull(cl, &end, 10);
			if (*end || n > r->route->max_body) {
				http_reply_st(r, ST_TOOBIG);
				return send_answer(c, r);
			}
		}
		return MHD_YES;
	}

	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->too_big || r->answered)
			return MHD_YES;
		if (r->body_len + n > r->route->max_body) {
			r->too_big = true;
			return MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap * 2 : BODY_CHUNK;
			char *nb;
			while (cap < r->body_len + n + 1)
				cap *= 2;
			if (cap > r->route->max_body + 1)
				cap = r->route->max_body + 1;
			nb = malloc(cap);
			if (!nb)
				return MHD_NO;
			if (r->body) {
				memcpy(nb, r->body, r->body_len);
				free_wiped(r->body, r->body_cap);
			}
			r->body = nb;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload_data, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}

	if (r->answered && !r->deferred)
		return send_answer(c, r);
	if (r->resumed) {
		r->resumed = false;
		r->deferred = false;
		r->cont(r);
		if (r->deferred || audit_server_error(r)) /* handed on another job */
			return MHD_YES;
		return send_answer(c, r);
	}
	if (r->deferred) /* spurious call while suspended */
		return MHD_YES;
	if (!r->body) {
		r->body = calloc(1, 1);
		r->body_cap = 1;
		if (!r->body)
			return MHD_NO;
	}
	dispatch(r);
	if (r->deferred || audit_server_error(r))
		return MHD_YES;
	return send_answer(c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct app *app = cls;
	struct request *r = *con_cls;
	double ms;
	UNUSED(c);

	if (!r)
		return;
	ms = (double)(now_ns() - r->t0_ns) / 1e6;
	metrics_count(r->route, r->status, ms);
	/* Method, route pattern, tracking number, status, time, caller: never a body or a query. */
	/* The tracking number only when it is one: a path may carry anything. */
	if (r->tn[0] && !tn_valid(app->cfg.tracking_prefix, r->tn))
		snprintf(r->tn, sizeof(r->tn), "(invalid)");
	if (!(r->route && r->route->roles == 0 && r->status == 200))
		log_msg(toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? LOG_INFO : LOG_WARN, r->id,
			"%s %s%s%s %u %.2fms actor=%s%s", r->method,
			r->route ? r->route->pattern : "(unmatched)", r->tn[0] ? " tn=" : "", r->tn,
			r->status, ms, r->acct.name[0] ? r->acct.name : "-",
			toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
	request_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&app->inflight, 1);
}

/* ---- start and stop --------------------------------------------------- */

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1 << 20) &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	if (!buf)
		snprintf(err, errlen, "%s: cannot read", path);
	return buf;
}

static bool listen_addr(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	unsigned port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (!colon || sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535)
		goto bad;
	n = (size_t)(colon - listen);
	if (n >= sizeof(host))
		goto bad;
	memcpy(host, listen, n);
	host[n] = '\0';
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		host[n - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			goto bad;
		return true;
	}
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (strcmp(host, "localhost") == 0)
			snprintf(host, sizeof(host), "127.0.0.1");
		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
	}
	return true;
bad:
	snprintf(err, errlen, "listen: want HOST:PORT with a numeric address, got \"%s\"", listen);
	return false;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	UNUSED(cls);
	vsnprintf(line, sizeof(line), fmt, ap);
	log_warn("http: %s", line);
}

enum st http_start(struct app *app, struct http_server **out, char *err, size_t errlen)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	unsigned flags =
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	long threads = app->cfg.threads;

	*out = NULL;
	if (!h)
		return ST_NOMEM;
	h->app = app;
	app->auth_fails =
	    limiter_new_tally(60, (unsigned)app->cfg.auth_failures_per_minute, AUTH_FAIL_KEYS);
	if (!app->auth_fails) {
		free(h);
		return ST_NOMEM;
	}
	if (routes_count > MAX_ROUTES) {
		snprintf(err, errlen, "too many routes for the metrics table");
		free(h);
		return ST_INTERNAL;
	}
	if (!listen_addr(app->cfg.listen, &ss, err, errlen)) {
		free(h);
		return ST_INVALID;
	}
	if (threads <= 0)
		threads = sysconf(_SC_NPROCESSORS_ONLN);
	if (threads <= 0)
		threads = 1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (app->cfg.tls_cert[0]) {
		h->tls_cert = read_file(app->cfg.tls_cert, err, errlen);
		h->tls_key = h->tls_cert ? read_file(app->cfg.tls_key, err, errlen) : NULL;
		if (!h->tls_cert || !h->tls_key) {
			free(h->tls_cert);
			free(h);
			return ST_INVALID;
		}
		flags |= MHD_USE_TLS;
	}
	if (flags & MHD_USE_TLS)
		h->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, on_request, app, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		    NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app->cfg.conn_timeout_s,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)app->cfg.max_conns_per_ip,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_HTTPS_MEM_KEY,
		    h->tls_key, MHD_OPTION_HTTPS_MEM_CERT, h->tls_cert, MHD_OPTION_END);
	else
		h->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, on_request, app, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		    NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app->cfg.conn_timeout_s,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)app->cfg.max_conns_per_ip,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen on %s (in use, or not allowed)",
			 app->cfg.listen);
		free(h->tls_cert);
		free(h->tls_key);
		free(h);
		return ST_IO;
	}
	h->rep = calloc(1, sizeof(*h->rep));
	if (h->rep) {
		h->rep->app = app;
		pthread_mutex_init(&h->rep->lock, NULL);
		pthread_cond_init(&h->rep->wake, NULL);
		h->rep->started = pthread_create(&h->rep->thread, NULL, reporter_main, h->rep) == 0;
	}
	if (!h->rep || !h->rep->started) {
		snprintf(err, errlen, "cannot start the authentication-failure reporter");
		MHD_stop_daemon(h->d);
		free(h->rep);
		free(h->tls_cert);
		free(h->tls_key);
		free(h);
		return ST_NOMEM;
	}
	log_info("http: listening on %s%s with %ld threads", app->cfg.listen,
		 (flags & MHD_USE_TLS) ? " (TLS)" : "", threads);
	*out = h;
	return ST_OK;
}

void http_stop(struct http_server *h, int drain_timeout_s)
{
	uint64_t deadline;

	if (!h)
		return;
	MHD_quiesce_daemon(h->d); /* no new connections */
	deadline = now_ns() + (uint64_t)drain_timeout_s * 1000000000ull;
	while (atomic_load(&h->app->inflight) > 0 && now_ns() < deadline)
		usleep(10000);
	if (atomic_load(&h->app->inflight) > 0)
		log_warn("http: %d requests still in flight at shutdown",
			 atomic_load(&h->app->inflight));
	MHD_stop_daemon(h->d);
	/* No request runs now: the last counts, this minute's too, go to the audit log. */
	pthread_mutex_lock(&h->rep->lock);
	h->rep->stop = true;
	pthread_cond_signal(&h->rep->wake);
	pthread_mutex_unlock(&h->rep->lock);
	pthread_join(h->rep->thread, NULL);
	pthread_cond_destroy(&h->rep->wake);
	pthread_mutex_destroy(&h->rep->lock);
	free(h->rep);
	auth_fail_report(h->app, true);
	limiter_free(h->app->auth_fails);
	h->app->auth_fails = NULL;
	if (h->tls_key)
		free_wiped(h->tls_key, strlen(h->tls_key));
	free(h->tls_cert);
	free(h);
}

/* ---- the request path without a socket (tests and fuzzers) ------------ */

/*
 * http_request_run_fake() builds the struct request a connection would, with
 * copies of what microhttpd would otherwise be asked for (headers, query
 * arguments), and runs it through the same route_find, dispatch and
 * continuations as on_request; job_done wakes it instead of resuming a
 * connection.  Nothing here touches microhttpd.
 */
#define FAKE_ARGS_MAX 64

struct http_fake {
	const struct http_fake_header *headers;
	size_t nheaders;
	char *query; /* decoded in place: the arguments point into it */
	const char *arg_key[FAKE_ARGS_MAX], *arg_val[FAKE_ARGS_MAX];
	size_t nargs;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static const char *fake_query(const struct request *r, const char *key)
{
	if (!r->fake)
		return NULL;
	for (size_t i = 0; i < r->fake->nargs; i++)
		if (strcmp(r->fake->arg_key[i], key) == 0)
			return r->fake->arg_val[i];
	return NULL;
}

static const char *fake_header(const struct request *r, const char *name)
{
	if (!r->fake)
		return NULL;
	for (size_t i = 0; i < r->fake->nheaders; i++)
		if (r->fake->headers[i].name && strcasecmp(r->fake->headers[i].name, name) == 0)
			return r->fake->headers[i].value;
	return NULL;
}

static void fake_job_done(struct request *r)
{
	pthread_mutex_lock(&r->fake->lock);
	r->resumed = true;
	r->fake->done = true;
	pthread_cond_signal(&r->fake->cond);
	pthread_mutex_unlock(&r->fake->lock);
}

static int fake_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX decoded in place (an invalid escape stays as it is), '+' too when plus. */
static void fake_unescape(char *s, bool plus)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '%' && fake_hex(s[1]) >= 0 && fake_hex(s[2]) >= 0) {
			*o++ = (char)(fake_hex(s[1]) * 16 + fake_hex(s[2]));
			s += 2;
		} else {
			*o++ = plus && *s == '+' ? ' ' : *s;
		}
	}
	*o = '\0';
}

/* "a=1&b&c=%32" -> the arguments microhttpd would list (b without a value is NULL). */
static void fake_args(struct http_fake *f)
{
	for (char *p = f->query, *next; p && *p && f->nargs < FAKE_ARGS_MAX; p = next) {
		char *eq;

		next = strchr(p, '&');
		if (next)
			*next++ = '\0';
		eq = strchr(p, '=');
		if (eq)
			*eq++ = '\0';
		fake_unescape(p, true);
		if (eq)
			fake_unescape(eq, true);
		f->arg_key[f->nargs] = p;
		f->arg_val[f->nargs] = eq;
		f->nargs++;
	}
}

static void fake_wait(struct request *r)
{
	pthread_mutex_lock(&r->fake->lock);
	while (!r->fake->done)
		pthread_cond_wait(&r->fake->cond, &r->fake->lock);
	r->fake->done = false;
	pthread_mutex_unlock(&r->fake->lock);
}

static void fake_run(struct request *r, const char *path, const char *body, size_t body_len)
{
	char allow[64];

	r->route = route_find(r->method, path, r->tn, allow, sizeof(allow));
	if (!r->route) {
		if (allow[0]) {
			snprintf(r->extra_header[0], sizeof(r->extra_header[0]), "Allow:%s", allow);
			http_reply_error(r, ST_MALFORMED, "method_not_allowed",
					 "this path does not take this method", NULL);
			r->status = 405;
		} else {
			http_reply_st(r, ST_NOTFOUND);
		}
		return;
	}
	if (body_len > r->route->max_body) {
		http_reply_st(r, ST_TOOBIG);
		return;
	}
	r->body = malloc(body_len + 1);
	if (!r->body) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	r->body_cap = body_len + 1;
	if (body_len)
		memcpy(r->body, body, body_len);
	r->body[body_len] = '\0';
	r->body_len = body_len;
	dispatch(r);
	while (r->deferred || audit_server_error(r)) {
		fake_wait(r);
		r->resumed = false;
		r->deferred = false;
		r->cont(r);
	}
}

enum st http_request_run_fake(struct app *app, const char *method, const char *url,
			      const struct http_fake_header *headers, size_t nheaders,
			      const char *body, size_t body_len, struct http_fake_reply *out)
{
	struct http_fake f = {.headers = headers, .nheaders = nheaders};
	struct request *r = NULL;
	char *path = NULL;
	const char *q;
	enum st st = ST_NOMEM;

	memset(out, 0, sizeof(*out));
	if (!app->auth_fails) {
		app->auth_fails = limiter_new_tally(60, (unsigned)app->cfg.auth_failures_per_minute,
						    AUTH_FAIL_KEYS);
		if (!app->auth_fails)
			return ST_NOMEM;
	}
	q = strchr(url, '?');
	path = strndup(url, q ? (size_t)(q - url) : strlen(url));
	f.query = q ? strdup(q + 1) : NULL;
	r = calloc(1, sizeof(*r));
	if (!path || (q && !f.query) || !r)
		goto out;
	fake_unescape(path, false);
	fake_args(&f);
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	r->app = app;
	r->fake = &f;
	r->t0_ns = now_ns();
	request_id_new(r->id);
	str_copy(r->method, sizeof(r->method), method);
	fake_run(r, path, body, body_len);
	if (!r->answered)
		http_reply_st(r, ST_INTERNAL);
	/* As send_answer: past miss_limit a 404 leaves as a 429. */
	if (r->status == 404 && misses_count(r) && !r->miss_taken && !miss_take(r))
		http_reply_st(r, ST_LIMIT);
	out->status = r->status;
	out->body = r->resp;
	out->len = r->resp_len;
	r->resp = NULL;
	str_copy(out->ctype, sizeof(out->ctype), r->ctype ? r->ctype : "application/json");
	for (size_t i = 0; i < ARRAY_SIZE(out->extra_header); i++)
		str_copy(out->extra_header[i], sizeof(out->extra_header[i]), r->extra_header[i]);
	pthread_cond_destroy(&f.cond);
	pthread_mutex_destroy(&f.lock);
	st = ST_OK;
out:
	request_free(r);
	free(path);
	free(f.query);
	return st;
}

void http_fake_reply_release(struct http_fake_reply *rep)
{
	if (rep->body)
		free_wiped(rep->body, rep->len);
	memset(rep, 0, sizeof(*rep));
}
