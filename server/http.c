/*
 * http.c - the only user of microhttpd.h: listening, body limits, the
 * authentication gate, dispatch, status mapping, request ids and access logs
 * (the counters behind /metrics are metrics.c's).
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
#include "metrics.h"
#include "order.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define BODY_CHUNK 4096
/*
 * A body over the route's limit, sent without "Expect: 100-continue" (so
 * the client is already sending it), is read and dropped up to this many
 * bytes before the 413 goes out: closing with unread data makes the kernel
 * reset the connection, and the client sees a broken pipe instead of the
 * answer (nginx's lingering close).  Beyond it the connection is closed.
 */
#define DISCARD_MAX (8u << 20)
#define RETRY_AFTER_429 "60" /* seconds, when no limiter window says otherwise */
#define RETRY_AFTER_503 "5"

/* Set by http_stop: new requests answer 503, every answer closes its connection. */
static atomic_bool stopping;
/* Requests waiting on the writer (their connections suspended). */
static atomic_int suspended;
/* Set at the end of the drain, under defer_lock: no request may wait on the writer now. */
static pthread_mutex_t defer_lock = PTHREAD_MUTEX_INITIALIZER;
static bool closing;

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
	snprintf(r->error_code, sizeof(r->error_code), "%s", code ? code : st_name(st));
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
	pthread_mutex_lock(&defer_lock);
	if (closing) {
		/* The drain is over and libmicrohttpd stops: no connection may wait. */
		pthread_mutex_unlock(&defer_lock);
		http_reply_error(r, ST_UNAVAILABLE, "shutting_down",
				 "the service is stopping; try again", NULL);
		return;
	}
	r->cont = cont;
	r->deferred = true;
	if (r->conn) /* a fake request (no socket) waits on its own */
		atomic_fetch_add(&suspended, 1);
	pthread_mutex_unlock(&defer_lock);
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
static const struct route *route_find(const char *method, const char *path, char tn[TN_MAX],
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

/* ---- the libmicrohttpd callbacks -------------------------------------- */

struct reporter;

struct http_server {
	struct MHD_Daemon *d;
	struct MHD_Daemon *md; /* metrics_listen's, when set */
	struct app *app;
	char *tls_cert, *tls_key;
	struct reporter *rep; /* writes the authentication failures' audit entries */
	struct conns *conns;  /* counts per address, the header and body deadlines */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- connections: counts per address, total deadlines ----------------- */

/*
 * libmicrohttpd's own limits are a per-address cap, a total and an idle
 * timeout.  Alone they let a few addresses (each under its cap) take every
 * connection, and a request trickled a byte at a time never time out.  So
 * each connection is counted here by client address (IPv6 by its /64):
 * past CONN_SHARE_PCT of max_connections, an address holding CONN_FEW or
 * more gets no new one, which keeps the rest for addresses holding few.
 * And a watchdog closes a connection whose request line and headers take
 * longer than header_timeout_s in all (counted from the connection's start
 * or its previous answer), or whose body takes longer than body_timeout_s
 * once the headers are in.
 */
#define CONN_SHARE_PCT 80
#define CONN_FEW 8
#define CONN_BUCKETS 1024
#define CONN_FD_RESERVE 64 /* files kept for the database, logs and keys */

static size_t addr_key(const struct sockaddr *sa, unsigned char key[LIMITER_KEY_MAX]);

enum conn_phase { PH_HEADERS, PH_BODY, PH_HANDLED };

struct conn_slot {
	struct conn_slot *prev, *next;
	struct addr_count *addr;
	int fd;
	bool cut;
	atomic_int phase;
	atomic_ullong since_ns;
};

struct addr_count {
	struct addr_count *next;
	unsigned char key[LIMITER_KEY_MAX];
	size_t len;
	unsigned n;
};

struct conns {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stop, started;
	struct conn_slot *live;
	struct addr_count *bucket[CONN_BUCKETS];
	unsigned total, share_at;
	unsigned long long refused, refused_logged;
	uint64_t header_ns, body_ns;
};

static size_t addr_bucket(const unsigned char *key, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % CONN_BUCKETS;
}

/* The count of key; with create, made when missing (NULL when out of memory). */
static struct addr_count *addr_find(struct conns *cs, const unsigned char *key, size_t len,
				    bool create)
{
	size_t b = addr_bucket(key, len);
	struct addr_count *a;

	for (a = cs->bucket[b]; a; a = a->next)
		if (a->len == len && memcmp(a->key, key, len) == 0)
			return a;
	if (!create)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	memcpy(a->key, key, len);
	a->len = len;
	a->next = cs->bucket[b];
	cs->bucket[b] = a;
	return a;
}

static void addr_drop(struct conns *cs, struct addr_count *a)
{
	struct addr_count **pp = &cs->bucket[addr_bucket(a->key, a->len)];

	while (*pp && *pp != a)
		pp = &(*pp)->next;
	if (*pp)
		*pp = a->next;
	free(a);
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct conns *cs = cls;
	unsigned char key[LIMITER_KEY_MAX];
	size_t len = addr_key(addr, key);
	bool ok = true;
	UNUSED(addrlen);

	if (atomic_load(&stopping))
		return MHD_NO;
	pthread_mutex_lock(&cs->lock);
	if (cs->total >= cs->share_at) {
		const struct addr_count *a = addr_find(cs, key, len, false);
		if (a && a->n >= CONN_FEW) {
			ok = false;
			cs->refused++;
		}
	}
	pthread_mutex_unlock(&cs->lock);
	return ok ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct conns *cs = cls;
	struct conn_slot *slot = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ai =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const union MHD_ConnectionInfo *fi =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		unsigned char key[LIMITER_KEY_MAX];
		size_t len = addr_key(ai ? ai->client_addr : NULL, key);

		slot = calloc(1, sizeof(*slot));
		if (!slot)
			return; /* not counted, no deadline: only when memory runs out */
		slot->fd = fi ? fi->connect_fd : -1;
		atomic_store(&slot->phase, PH_HEADERS);
		atomic_store(&slot->since_ns, now_ns());
		pthread_mutex_lock(&cs->lock);
		slot->addr = addr_find(cs, key, len, true);
		if (slot->addr)
			slot->addr->n++;
		slot->next = cs->live;
		if (cs->live)
			cs->live->prev = slot;
		cs->live = slot;
		cs->total++;
		pthread_mutex_unlock(&cs->lock);
		*socket_context = slot;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_CLOSED || !slot)
		return;
	/* Before libmicrohttpd closes the socket: the watchdog never sees a stale fd. */
	pthread_mutex_lock(&cs->lock);
	if (slot->prev)
		slot->prev->next = slot->next;
	else
		cs->live = slot->next;
	if (slot->next)
		slot->next->prev = slot->prev;
	if (slot->addr && --slot->addr->n == 0)
		addr_drop(cs, slot->addr);
	cs->total--;
	pthread_mutex_unlock(&cs->lock);
	free(slot);
	*socket_context = NULL;
}

/* The connection's request entered phase ph now. */
static void conn_phase(struct MHD_Connection *c, enum conn_phase ph)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_slot *slot = ci ? ci->socket_context : NULL;

	if (!slot || atomic_load(&slot->phase) == (int)ph)
		return;
	atomic_store(&slot->since_ns, now_ns());
	atomic_store(&slot->phase, (int)ph);
}

static void *watchdog_main(void *arg)
{
	struct conns *cs = arg;

	pthread_setname_np(pthread_self(), "wb-conns");
	pthread_mutex_lock(&cs->lock);
	while (!cs->stop) {
		struct timespec ts;
		uint64_t now = now_ns();
		unsigned cut_h = 0, cut_b = 0;

		for (struct conn_slot *s = cs->live; s; s = s->next) {
			int ph = atomic_load(&s->phase);
			uint64_t since = atomic_load(&s->since_ns);
			/* A phase that began after this pass took the time is no age at all. */
			uint64_t age = since < now ? now - since : 0;

			if (s->cut || s->fd < 0 || ph == PH_HANDLED)
				continue;
			if (ph == PH_HEADERS && age > cs->header_ns)
				cut_h++;
			else if (ph == PH_BODY && age > cs->body_ns)
				cut_b++;
			else
				continue;
			/* Its next read sees the end: libmicrohttpd closes it. */
			shutdown(s->fd, SHUT_RDWR);
			s->cut = true;
		}
		if (cut_h || cut_b)
			log_warn("http: closed %u connections past header_timeout_s, %u past "
				 "body_timeout_s",
				 cut_h, cut_b);
		if (cs->refused - cs->refused_logged >= 1 &&
		    (cs->refused_logged == 0 || cs->refused - cs->refused_logged >= 1000)) {
			log_warn("http: %llu connections refused so far: past %u%% of "
				 "max_connections, from addresses holding %u or more",
				 cs->refused, CONN_SHARE_PCT, CONN_FEW);
			cs->refused_logged = cs->refused;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cs->wake, &cs->lock, &ts);
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

static struct conns *conns_new(const struct config *cfg)
{
	struct conns *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->wake, NULL);
	cs->header_ns = (uint64_t)cfg->header_timeout_s * 1000000000ull;
	cs->body_ns = (uint64_t)cfg->body_timeout_s * 1000000000ull;
	return cs;
}

static void conns_free(struct conns *cs)
{
	if (!cs)
		return;
	if (cs->started) {
		pthread_mutex_lock(&cs->lock);
		cs->stop = true;
		pthread_cond_signal(&cs->wake);
		pthread_mutex_unlock(&cs->lock);
		pthread_join(cs->thread, NULL);
	}
	for (size_t b = 0; b < CONN_BUCKETS; b++)
		while (cs->bucket[b]) {
			struct addr_count *a = cs->bucket[b];
			cs->bucket[b] = a->next;
			free(a);
		}
	pthread_cond_destroy(&cs->wake);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

/* max_connections, lowered to fit the open-file limit. */
static unsigned conn_limit(long want)
{
	struct rlimit rl;
	unsigned long long n = (unsigned long long)want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		unsigned long long fit =
		    rl.rlim_cur > CONN_FD_RESERVE + 16 ? rl.rlim_cur - CONN_FD_RESERVE : 16;
		if (fit < n) {
			log_warn("http: max_connections %ld lowered to %llu to fit the open-file "
				 "limit (%llu)",
				 want, fit, (unsigned long long)rl.rlim_cur);
			n = fit;
		}
	}
	return (unsigned)n;
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

	conn_phase(c, PH_HANDLED);
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
	if (atomic_load(&stopping))
		MHD_add_response_header(resp, "Connection", "close");
	for (size_t i = 0; i < ARRAY_SIZE(r->extra_header); i++) {
		char *colon = strchr(r->extra_header[i], ':');
		if (colon) {
			*colon = '\0';
			MHD_add_response_header(resp, r->extra_header[i], colon + 1);
		}
	}
	/* Every 429 and 503 says when to come back: the limiter's own window when
	 * one set it, else a default (a quota, a full disk, an empty pool). */
	if ((r->status == 429 || r->status == 503) && !MHD_get_response_header(resp, "Retry-After"))
		MHD_add_response_header(resp, "Retry-After",
					r->status == 429 ? RETRY_AFTER_429 : RETRY_AFTER_503);
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

/* The limiter key of a client address: family, then address bytes (IPv6: its /64). */
static size_t addr_key(const struct sockaddr *sa, unsigned char key[LIMITER_KEY_MAX])
{
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

/*
 * The limiter key of the request's client address (r->addr: the TCP peer,
 * or the client behind trusted_proxy).
 */
static size_t client_key(struct request *r, unsigned char key[LIMITER_KEY_MAX])
{
	struct sockaddr_in s4 = {0};
	struct sockaddr_in6 s6 = {0};

	if (inet_pton(AF_INET, r->addr, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return addr_key((const struct sockaddr *)(const void *)&s4, key);
	}
	if (inet_pton(AF_INET6, r->addr, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		return addr_key((const struct sockaddr *)(const void *)&s6, key);
	}
	return addr_key(NULL, key);
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
	j->done = audit_job_free;
	store_submit(c->app->store, j);
}

static void auth_fail_report(struct app *app, bool all)
{
	struct report_ctx c = {app, 0};

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

/* Whether sa is the configured trusted_proxy (an IPv4 peer may come IPv4-mapped). */
static bool addr_is_proxy(const struct app *app, const struct sockaddr *sa)
{
	unsigned char want[16], got[16];
	size_t n;

	if (!app->cfg.trusted_proxy[0])
		return false;
	if (inet_pton(AF_INET, app->cfg.trusted_proxy, want) == 1)
		n = 4;
	else if (inet_pton(AF_INET6, app->cfg.trusted_proxy, want) == 1)
		n = 16;
	else
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(got, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		return n == 4 && memcmp(want, got, 4) == 0;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	memcpy(got, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	if (n == 4)
		return memcmp(got, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 &&
		       memcmp(got + 12, want, 4) == 0;
	return memcmp(want, got, 16) == 0;
}

/*
 * The client's address, for the log: the TCP peer; when the peer is the
 * trusted_proxy, the last address of its X-Forwarded-For instead (the one
 * the proxy wrote: whatever stands before it came from the client).  A
 * header from any other peer, or one that is no address, is ignored.
 */
static void client_addr(struct request *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	unsigned char bin[16];
	const char *xff, *last;
	char cand[48];
	size_t n;

	snprintf(r->addr, sizeof(r->addr), "-");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  r->addr, sizeof(r->addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  r->addr, sizeof(r->addr));
	if (!addr_is_proxy(r->app, sa))
		return;
	xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
	if (!xff)
		return;
	last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	last += strspn(last, " \t");
	n = strcspn(last, " \t");
	if (n == 0 || n >= sizeof(cand) || last[n + strspn(last + n, " \t")] != '\0')
		return;
	memcpy(cand, last, n);
	cand[n] = '\0';
	if (inet_pton(AF_INET, cand, bin) == 1 || inet_pton(AF_INET6, cand, bin) == 1)
		str_copy(r->addr, sizeof(r->addr), cand);
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

/*
 * libmicrohttpd's URI log callback: it runs on the raw request line, before
 * the path is unescaped, so it sees what the handler cannot (%00 and %2F are
 * decoded by then, a NUL byte cuts the string short).  The request is born
 * here, so even an answer libmicrohttpd gives itself completes it.
 */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct app *app = cls;
	struct request *r = calloc(1, sizeof(*r));
	size_t path_len;

	if (!r)
		return NULL;
	r->app = app;
	r->conn = c;
	r->t0_ns = now_ns();
	atomic_fetch_add(&app->inflight, 1);
	request_id_new(r->id);
	if (!uri) {
		r->bad_uri = true;
		return r;
	}
	/* The version follows the URI and one space: a NUL byte ends it early. */
	r->uri_end = (uintptr_t)(uri + strlen(uri));
	path_len = strcspn(uri, "?");
	for (const char *p = uri; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '0' && p[2] == '0')
			r->bad_uri = true; /* a NUL, anywhere */
		else if ((size_t)(p - uri) < path_len && p[1] == '2' &&
			 (p[2] == 'F' || p[2] == 'f'))
			r->bad_uri = true; /* a slash inside a path segment */
	}
	return r;
}

struct header_scan {
	unsigned content_lengths;
	bool nul, chunked;
	const char *end; /* where the previous header's value ended */
};

/*
 * libmicrohttpd keeps header lines where they arrived in its read buffer,
 * each line's CR and LF overwritten with NULs, and measures a value with
 * strlen: a NUL byte inside a value ("Bearer <token>\0junk") is invisible in
 * the value.  It shows in what follows it: after a value's end come one or
 * two NULs and then the next header's name (or the empty line's NULs), never
 * other bytes.  Nothing else in the buffer is read.  A folded line (obs-fold,
 * which RFC 9112 lets a server refuse with 400) is joined in place and
 * fails the same test.
 */
static bool header_followed_by(const char *end, const char *next)
{
	return next == end + 1 || (next == end + 2 && end[1] == '\0');
}

static enum MHD_Result header_scan_one(void *cls, enum MHD_ValueKind kind, const char *key,
				       size_t key_size, const char *value, size_t value_size)
{
	struct header_scan *hs = cls;
	UNUSED(kind);

	if (strlen(key) != key_size || (value && strlen(value) != value_size))
		hs->nul = true;
	if (hs->end && !header_followed_by(hs->end, key))
		hs->nul = true;
	hs->end = value ? value + value_size : NULL;
	if (strcasecmp(key, "Content-Length") == 0)
		hs->content_lengths++;
	if (strcasecmp(key, "Transfer-Encoding") == 0)
		hs->chunked = true;
	return MHD_YES;
}

/*
 * What the request line and headers must not hold, whatever the route: a NUL
 * (a token "abc\0xyz" would otherwise be read as "abc"), a slash smuggled into
 * a segment as %2F, more than one Content-Length, or one beside
 * Transfer-Encoding (the two ways a proxy and this daemon could disagree on
 * where the body ends).  Answers 400 and returns false.
 */
static bool request_head_ok(struct request *r, const char *version)
{
	struct header_scan hs = {0, false, false, NULL};

	if (r->bad_uri || (uintptr_t)version != r->uri_end + 1) {
		http_reply_error(r, ST_MALFORMED, "bad_path",
				 "the path holds a NUL or an encoded slash", NULL);
		return false;
	}
	MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, header_scan_one, &hs);
	if (hs.end && hs.end[1] != '\0') /* the last header: the empty line follows */
		hs.nul = true;
	if (hs.nul) {
		http_reply_error(r, ST_MALFORMED, "bad_header",
				 "a header holds a NUL byte or a folded line", NULL);
		return false;
	}
	if (hs.content_lengths > 1 || (hs.content_lengths && hs.chunked)) {
		http_reply_error(r, ST_MALFORMED, "bad_content_length",
				 "more than one Content-Length, or one with Transfer-Encoding",
				 NULL);
		return false;
	}
	return true;
}

/* The client waits for "100 Continue" before it sends the body. */
static bool expects_continue(struct request *r)
{
	const char *e = http_header(r, "Expect");

	return e && strcasecmp(e, "100-continue") == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct request *r = *con_cls;
	UNUSED(cls);

	if (!r) /* on_uri found no memory */
		return MHD_NO;
	if (!r->started) {
		char allow[64];
		const char *cl;

		r->started = true;
		client_addr(r, c);
		str_copy(r->method, sizeof(r->method), method);
		conn_phase(c, PH_BODY);
		if (!request_head_ok(r, version))
			return send_answer(c, r);
		r->route = route_find(method, url, r->tn, allow, sizeof(allow));
		if (atomic_load(&stopping)) {
			/* Nothing new starts while the daemon drains. */
			http_reply_error(r, ST_UNAVAILABLE, "shutting_down",
					 "the service is stopping; try again", NULL);
			return send_answer(c, r);
		}
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
				/* Already on its way: read it, drop it, then answer. */
				if (!*end && n <= DISCARD_MAX && !expects_continue(r)) {
					r->too_big = true;
					return MHD_YES;
				}
				http_reply_st(r, ST_TOOBIG);
				return send_answer(c, r);
			}
		}
		return MHD_YES;
	}

	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->too_big || r->answered) {
			/* Dropped, up to a bound (a chunked body has none of its own). */
			r->discarded += n;
			return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		if (r->body_len + n > r->route->max_body) {
			r->too_big = true;
			r->discarded = r->body_len + n;
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
		atomic_fetch_sub(&suspended, 1);
		r->cont(r);
		if (r->deferred || audit_server_error(r)) /* handed on another job */
			return MHD_YES;
		return send_answer(c, r);
	}
	if (r->deferred) /* spurious call while suspended */
		return MHD_YES;
	conn_phase(c, PH_HANDLED);
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

	conn_phase(c, PH_HEADERS); /* the next request's line and headers start now */
	if (!r)
		return;
	if (!r->started) /* libmicrohttpd answered it itself (a bad Content-Length) */
		snprintf(r->method, sizeof(r->method), "-");
	ms = (double)(now_ns() - r->t0_ns) / 1e6;
	metrics_count(r->route, r->status, ms);
	/* Method, route pattern, tracking number, status, time, caller, address, error code:
	 * never a body, a query or a path. */
	/* The tracking number only when it is one: a path may carry anything. */
	if (r->tn[0] && !tn_valid(app->cfg.tracking_prefix, r->tn))
		snprintf(r->tn, sizeof(r->tn), "(invalid)");
	if (!(r->route && r->route->roles == 0 && r->status == 200)) {
		char status[8], msbuf[24];
		const char *kv[20];
		size_t n = 0;
		bool done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;

		snprintf(status, sizeof(status), "%u", r->status);
		snprintf(msbuf, sizeof(msbuf), "%.2f", ms);
		kv[n++] = "method", kv[n++] = r->method;
		kv[n++] = "route", kv[n++] = r->route ? r->route->pattern : "(unmatched)";
		if (r->tn[0])
			kv[n++] = "tn", kv[n++] = r->tn;
		kv[n++] = "status", kv[n++] = status;
		kv[n++] = "ms", kv[n++] = msbuf;
		kv[n++] = "actor", kv[n++] = r->acct.name[0] ? r->acct.name : "-";
		kv[n++] = "ip", kv[n++] = r->addr[0] ? r->addr : "-";
		kv[n++] = "code",
		kv[n++] = r->status >= 400 && r->error_code[0] ? r->error_code : "-";
		if (!done)
			kv[n++] = "aborted", kv[n++] = "true";
		log_fields(done ? LOG_INFO : LOG_WARN, r->id, kv, n);
	}
	request_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&app->inflight, 1);
}

/* ---- start and stop --------------------------------------------------- */

/*
 * The TLS we speak (GnuTLS priority string): TLS 1.3 and 1.2 only, ECDHE key
 * exchange (forward secrecy: a stolen key does not open recorded traffic),
 * AEAD ciphers only (AES-GCM, ChaCha20-Poly1305; no CBC, no RC4, no 3DES),
 * no compression, safe renegotiation.  No RSA key exchange, no DHE.  Every
 * maintained client (curl, Android 5+, iOS 9+, browsers since 2016) speaks
 * it.  The README's TLS section repeats it.
 */
#define TLS_PRIORITIES                                                                             \
	"NONE:+VERS-TLS1.3:+VERS-TLS1.2:+ECDHE-ECDSA:+ECDHE-RSA:+AES-256-GCM:+AES-128-GCM:"        \
	"+CHACHA20-POLY1305:+AEAD:+SIGN-ALL:+GROUP-ALL:+COMP-NULL:%SAFE_RENEGOTIATION"

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

/* ---- the metrics listener --------------------------------------------- */

/*
 * metrics_listen: a daemon of its own that answers GET /metrics and nothing
 * else (404 for any other path, 405 for another method), in plain HTTP, with
 * no authentication: it is meant for a private address.  Its scrapes are not
 * API requests: no request id, no log line, not in waybill_http_*.
 */
static enum MHD_Result on_metrics_request(void *cls, struct MHD_Connection *c, const char *url,
					  const char *method, const char *version,
					  const char *upload_data, size_t *upload_data_size,
					  void **con_cls)
{
	static int started;
	struct app *app = cls;
	struct MHD_Response *resp;
	unsigned status = 200;
	const char *ctype = "text/plain; version=0.0.4";
	char *text = NULL;
	size_t len = 0;
	enum MHD_Result ret;
	UNUSED(version);
	UNUSED(upload_data);

	if (!*con_cls) { /* the headers: answer once the body, if any, is gone */
		*con_cls = &started;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0) {
		status = 404;
		text = strdup("{\"error\":{\"code\":\"not_found\",\"message\":\"not found\"}}");
	} else if (strcmp(method, "GET") != 0) {
		status = 405;
		text = strdup("{\"error\":{\"code\":\"method_not_allowed\","
			      "\"message\":\"only GET /metrics here\"}}");
	} else {
		text = metrics_text(app, &len);
	}
	if (!text)
		return MHD_NO;
	if (status != 200) {
		len = strlen(text);
		ctype = "application/json";
	}
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (status == 405)
		MHD_add_response_header(resp, "Allow", "GET");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Start metrics_listen's daemon when it is set; the API's address is not allowed. */
static enum st metrics_listener_start(struct http_server *h, const struct sockaddr_storage *api,
				      char *err, size_t errlen)
{
	struct app *app = h->app;
	struct sockaddr_storage ms;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (!app->cfg.metrics_listen[0])
		return ST_OK;
	if (!listen_addr(app->cfg.metrics_listen, &ms, err, errlen))
		return ST_INVALID;
	if (ms.ss_family == api->ss_family &&
	    memcmp(&ms, api,
		   ms.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					    : sizeof(struct sockaddr_in)) == 0) {
		snprintf(err, errlen, "metrics_listen: must not be listen's address (%s)",
			 app->cfg.listen);
		return ST_INVALID;
	}
	if (ms.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->md = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_metrics_request, app, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
	    NULL, MHD_OPTION_SOCK_ADDR, &ms, MHD_OPTION_CONNECTION_LIMIT, 16u,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app->cfg.conn_timeout_s, MHD_OPTION_END);
	if (!h->md) {
		snprintf(err, errlen, "cannot listen on %s for metrics (in use, or not allowed)",
			 app->cfg.metrics_listen);
		return ST_IO;
	}
	log_info("http: metrics on %s (plain HTTP, /metrics only)", app->cfg.metrics_listen);
	return ST_OK;
}

enum st http_start(struct app *app, struct http_server **out, char *err, size_t errlen)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG | MHD_USE_ITC;
	long threads = app->cfg.threads;
	unsigned limit;

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
	if (routes_count > METRICS_MAX_ROUTES) {
		snprintf(err, errlen, "too many routes for the metrics table");
		free(h);
		return ST_INTERNAL;
	}
	if (!listen_addr(app->cfg.listen, &ss, err, errlen)) {
		free(h);
		return ST_INVALID;
	}
	{
		enum st mst = metrics_listener_start(h, &ss, err, errlen);
		if (mst != ST_OK) {
			free(h);
			return mst;
		}
	}
	h->conns = conns_new(&app->cfg);
	if (!h->conns) {
		if (h->md)
			MHD_stop_daemon(h->md);
		free(h);
		return ST_NOMEM;
	}
	limit = conn_limit(app->cfg.max_connections);
	h->conns->share_at = limit / 100 * CONN_SHARE_PCT + limit % 100 * CONN_SHARE_PCT / 100;
	h->conns->started = pthread_create(&h->conns->thread, NULL, watchdog_main, h->conns) == 0;
	if (!h->conns->started) {
		snprintf(err, errlen, "cannot start the connection watchdog");
		if (h->md)
			MHD_stop_daemon(h->md);
		conns_free(h->conns);
		free(h);
		return ST_NOMEM;
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
			if (h->md)
				MHD_stop_daemon(h->md);
			free(h->tls_cert);
			conns_free(h->conns);
			free(h);
			return ST_INVALID;
		}
		flags |= MHD_USE_TLS;
	}
	if (flags & MHD_USE_TLS)
		h->d = MHD_start_daemon(
		    flags, 0, on_accept, h->conns, on_request, app, MHD_OPTION_EXTERNAL_LOGGER,
		    mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE,
		    (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)app->cfg.conn_timeout_s, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (unsigned)app->cfg.max_conns_per_ip, MHD_OPTION_CONNECTION_LIMIT, limit,
		    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h->conns,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_URI_LOG_CALLBACK,
		    on_uri, app, MHD_OPTION_HTTPS_MEM_KEY, h->tls_key, MHD_OPTION_HTTPS_MEM_CERT,
		    h->tls_cert, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_END);
	else
		h->d = MHD_start_daemon(
		    flags, 0, on_accept, h->conns, on_request, app, MHD_OPTION_EXTERNAL_LOGGER,
		    mhd_log, NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_THREAD_POOL_SIZE,
		    (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)app->cfg.conn_timeout_s, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		    (unsigned)app->cfg.max_conns_per_ip, MHD_OPTION_CONNECTION_LIMIT, limit,
		    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h->conns,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, app, MHD_OPTION_URI_LOG_CALLBACK,
		    on_uri, app, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot listen on %s (in use, or not allowed)",
			 app->cfg.listen);
		if (h->md)
			MHD_stop_daemon(h->md);
		free(h->tls_cert);
		free(h->tls_key);
		conns_free(h->conns);
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
		if (h->md)
			MHD_stop_daemon(h->md);
		free(h->rep);
		free(h->tls_cert);
		free(h->tls_key);
		conns_free(h->conns);
		free(h);
		return ST_NOMEM;
	}
	log_info("http: listening on %s%s with %ld threads", app->cfg.listen,
		 (flags & MHD_USE_TLS) ? " (TLS)" : "", threads);
	*out = h;
	return ST_OK;
}

/*
 * The drain: the listener closes (a client is refused at once, not left in
 * the backlog), a request that starts on an open connection answers 503
 * shutting_down, every answer says Connection: close, and the requests in
 * flight (those waiting on the writer too) run to their answers.  Then no
 * connection is suspended and libmicrohttpd may stop.  When drain_s ends
 * first with some still waiting on the writer, it must not stop (it would
 * abort): ST_UNAVAILABLE, and the caller exits without a clean stop.
 */
enum st http_stop(struct http_server *h, int drain_s)
{
	uint64_t deadline;
	MHD_socket lfd;
	int waiting;

	if (!h)
		return ST_OK;
	atomic_store(&stopping, true);
	lfd = MHD_quiesce_daemon(h->d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	else
		log_warn("http: the listener could not be closed for the drain");
	deadline = now_ns() + (uint64_t)drain_s * 1000000000ull;
	while (atomic_load(&h->app->inflight) > 0 && now_ns() < deadline)
		usleep(5000);
	/* From here on a request that would wait on the writer answers 503 instead. */
	pthread_mutex_lock(&defer_lock);
	closing = true;
	waiting = atomic_load(&suspended);
	pthread_mutex_unlock(&defer_lock);
	if (waiting > 0) {
		log_error("http: %d requests still wait on the writer after drain_s (%d s)",
			  waiting, drain_s);
		return ST_UNAVAILABLE;
	}
	if (atomic_load(&h->app->inflight) > 0)
		log_warn("http: %d requests still arriving at the end of drain_s are cut off",
			 atomic_load(&h->app->inflight));
	MHD_stop_daemon(h->d);
	if (h->md)
		MHD_stop_daemon(h->md);
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
	{
		/*
		 * Those entries (and any enumeration entry of the last requests) were
		 * only queued: an empty job behind them returns once they are durable,
		 * so the stop checkpoint that follows covers them.
		 */
		struct wjob barrier = {0};
		barrier.no_audit = true;
		store_run(h->app->store, &barrier);
	}
	limiter_free(h->app->auth_fails);
	h->app->auth_fails = NULL;
	if (h->tls_key)
		free_wiped(h->tls_key, strlen(h->tls_key));
	free(h->tls_cert);
	conns_free(h->conns);
	free(h);
	return ST_OK;
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
