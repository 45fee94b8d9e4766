/*
 * http.c - the libmicrohttpd glue: listening, the callbacks, body limits,
 * request ids, answers on the wire and access logs, start and stop.  The
 * rest of the request path is in the other http_*.c files (http_int.h says
 * which holds what); they and this file are the only users of microhttpd.h.
 * The counters behind /metrics are metrics.c's.
 *
 * Threads: libmicrohttpd's internal pool (one thread per core, epoll), fed
 * by the daemon's own accept thread (http_accept.c says why).
 * Handlers never wait for the writer: a request that needs a commit is
 * suspended, and the writer resumes it once the batch holding its job is
 * durable.  So a few threads keep many requests in flight, and the writer
 * sees them together (group commit).
 */
#include "common.h"
#include "http.h"
#include "http_int.h"
#include "app.h"
#include "auth.h"
#include "audit.h"
#include "crypto.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "order.h"

#include <arpa/inet.h>
#include <dlfcn.h>
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
#include <gnutls/gnutls.h>
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
/* No answer may be framed, or leak its URL onward; the pages set their own policy. */
#define CSP_DEFAULT "default-src 'none'; frame-ancestors 'none'"

/*
 * libmicrohttpd's own MHD_queue_response, which our answers go to directly;
 * the definition of that name in this file is for the library's own calls
 * (see lib_answer).
 */
typedef enum MHD_Result (*queue_fn)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
static queue_fn lib_queue;

/* Set by http_stop: new requests answer 503, every answer closes its connection. */
atomic_bool http_stopping;
/* Requests waiting on the writer (their connections suspended). */
atomic_int http_suspended;
/* Set at the end of the drain, under defer_lock: no request may wait on the writer now. */
pthread_mutex_t http_defer_lock = PTHREAD_MUTEX_INITIALIZER;
bool http_closing;

/* ---- the libmicrohttpd callbacks -------------------------------------- */

struct http_server {
	struct MHD_Daemon *d;
	struct MHD_Daemon *md; /* metrics_listen's, when set */
	struct app *app;
	char *tls_cert, *tls_key;
	struct http_ticker *rep;   /* writes the authentication failures' audit entries */
	struct conns *conns;	   /* counts per address, the header and body deadlines */
	struct http_acceptor *acc; /* accepts on the API's socket (http_accept.c) */
	int lfd;		   /* that socket until the acceptor owns it, else -1 */
};

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

	http_conn_phase(c, PH_HANDLED);
	if (!r->answered)
		http_reply_st(r, ST_INTERNAL);
	/* The last moment a 404 can be counted before it leaves: past miss_limit
	 * it leaves as a 429, so no token ever gets more than miss_limit 404s,
	 * however many requests it has in flight. */
	if (r->status == 404 && http_misses_count(r) && !r->miss_taken && !http_miss_take(r))
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
	MHD_add_response_header(resp, "Cache-Control", r->cache ? r->cache : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", r->csp ? r->csp : CSP_DEFAULT);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"waybill\"");
	if (atomic_load(&http_stopping))
		MHD_add_response_header(resp, "Connection", "close");
	for (size_t i = 0; i < HDR_COUNT; i++)
		if (r->header[i][0])
			MHD_add_response_header(resp, http_reply_hdr_names[i], r->header[i]);
	/* Every 429 and 503 says when to come back: the limiter's own window when
	 * one set it, else a default (a quota, a full disk, an empty pool). */
	if ((r->status == 429 || r->status == 503) && !r->header[HDR_RETRY_AFTER][0])
		MHD_add_response_header(resp, "Retry-After",
					r->status == 429 ? RETRY_AFTER_429 : RETRY_AFTER_503);
	ret = lib_queue(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
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

/* The peer's address into r->addr ("-" when unknown); the peer, NULL when unknown. */
static const struct sockaddr *peer_addr(struct request *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(r->addr, sizeof(r->addr), "-");
	if (!sa)
		return NULL;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  r->addr, sizeof(r->addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  r->addr, sizeof(r->addr));
	return sa;
}

/*
 * The client's address, for the log: the TCP peer; when the peer is the
 * trusted_proxy, the last address of its X-Forwarded-For instead (the one
 * the proxy wrote: whatever stands before it came from the client).  A
 * header from any other peer, or one that is no address, is ignored.
 */
static void client_addr(struct request *r, struct MHD_Connection *c)
{
	const struct sockaddr *sa = peer_addr(r, c);
	unsigned char bin[16];
	const char *xff, *last;
	char cand[48];
	size_t n;

	if (!sa || !addr_is_proxy(r->app, sa))
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
	r->t0_ns = clock_mono_ns();
	atomic_fetch_add(&app->inflight, 1);
	http_request_id_new(r->id);
	http_conn_set_request(c, r);
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
		http_refuse(r, REFUSE_BAD_PATH);
		return false;
	}
	MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, header_scan_one, &hs);
	if (hs.end && hs.end[1] != '\0') /* the last header: the empty line follows */
		hs.nul = true;
	if (hs.nul) {
		http_refuse(r, REFUSE_BAD_HEADER);
		return false;
	}
	if (hs.content_lengths > 1 || (hs.content_lengths && hs.chunked)) {
		http_refuse(r, REFUSE_BAD_CONTENT_LENGTH);
		return false;
	}
	return true;
}

static enum MHD_Result copy_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	UNUSED(kind);
	return http_copy_arg(cls, key, value) ? MHD_YES : MHD_NO;
}

static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	UNUSED(kind);
	return http_copy_header(cls, key, value) ? MHD_YES : MHD_NO;
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
		const char *cl;

		r->started = true;
		client_addr(r, c);
		str_copy(r->method, sizeof(r->method), method);
		http_conn_phase(c, PH_BODY);
		if (!request_head_ok(r, version))
			return send_answer(c, r);
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, copy_arg, r);
		MHD_get_connection_values(c, MHD_HEADER_KIND, copy_header, r);
		if (!http_copy_done(r) || !http_route(r, url))
			return send_answer(c, r);
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
		atomic_fetch_sub(&http_suspended, 1);
		r->cont(r);
		if (r->deferred || http_audit_server_error(r)) /* handed on another job */
			return MHD_YES;
		return send_answer(c, r);
	}
	if (r->deferred) /* spurious call while suspended */
		return MHD_YES;
	http_conn_phase(c, PH_HANDLED);
	if (!r->body) {
		r->body = calloc(1, 1);
		r->body_cap = 1;
		if (!r->body)
			return MHD_NO;
	}
	http_dispatch(r);
	if (r->deferred || http_audit_server_error(r))
		return MHD_YES;
	return send_answer(c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct app *app = cls;
	struct request *r = *con_cls;
	double ms;

	http_conn_phase(c, PH_HEADERS); /* the next request's line and headers start now */
	if (!r)
		return;
	if (!r->started) /* libmicrohttpd refused its head (lib_answer) */
		snprintf(r->method, sizeof(r->method), "-");
	ms = (double)(clock_mono_ns() - r->t0_ns) / 1e6;
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
		bool done = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || r->lib_sent;

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
	/*
	 * Its client left while it waited on the writer: the job is done (it
	 * resumed the connection), but libmicrohttpd closed it without calling
	 * the handler again, where a resumed request stops counting as waiting.
	 */
	if (r->deferred && r->resumed)
		atomic_fetch_sub(&http_suspended, 1);
	if (http_conn_request(c) == r)
		http_conn_set_request(c, NULL);
	http_request_free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&app->inflight, 1);
}

/* ---- libmicrohttpd's own answers, made ours ----------------------------- */

/*
 * libmicrohttpd 0.9.75 answers some requests itself, before or instead of
 * any callback of ours: a Content-Length that is no number (400) or past
 * 2^64 (413), a request line or head past its buffer (414, 431), a
 * malformed request line, header line or chunk (400), an HTTP version it
 * does not speak (505), a body it has no room for (500).  Its page is HTML
 * without a request id, no option replaces it, and after an error in the
 * headers its state machine sends the head a second time: the client reads
 * that as the body.
 *
 * It queues the page through MHD_queue_response, which it exports and calls
 * through its own PLT, so the definition below interposes on it (ld.so
 * looks in the executable first; the Makefile exports the symbol).  Our own
 * answers never come that way (they go to lib_queue), and a response
 * without a Content-Type is the library's.  For it, the JSON error body
 * with X-Request-Id goes out here, written to the socket (or the TLS
 * session) at once, and the queueing fails: libmicrohttpd then closes the
 * connection, which it was about to do anyway, and sends nothing more.  The
 * answer is small and the connection's previous answer is wholly in the
 * kernel by now, so one nonblocking write takes it; when it does not, the
 * client sees the close.  http_start checks that the interposition is in
 * effect.
 */
static struct app *lib_app;	       /* the API's, for a request no callback began */
static _Thread_local bool lib_closing; /* the next "Closing connection" line is lib_answer's */

/* Whether the interposition works: false with the reason in err. */
static bool lib_queue_bind(struct app *app, char *err, size_t errlen)
{
	void *ours = dlsym(RTLD_DEFAULT, "MHD_queue_response");

	lib_queue = (queue_fn)dlsym(RTLD_NEXT, "MHD_queue_response");
	if (!lib_queue || ours != (void *)&MHD_queue_response) {
		snprintf(err, errlen,
			 "http: MHD_queue_response is not interposed (link with "
			 "-Wl,--export-dynamic-symbol=MHD_queue_response)");
		return false;
	}
	lib_app = app;
	return true;
}

/* The refusal for libmicrohttpd's status; r is the request on_uri began, if any. */
static enum http_refusal lib_refusal(unsigned status, const struct request *r)
{
	switch (status) {
	case 400:
		return !r ? REFUSE_LIB_LINE : r->started ? REFUSE_LIB_BODY : REFUSE_LIB_HEAD;
	case 413:
		return REFUSE_LIB_TOOBIG;
	case 414:
		return REFUSE_LIB_URI;
	case 431:
		return REFUSE_LIB_HEADERS;
	case 505:
		return REFUSE_LIB_VERSION;
	default:
		return REFUSE_LIB_INTERNAL;
	}
}

/* Write r's answer, head and body, to c's socket in one go; true when all of it went. */
static bool lib_send(struct MHD_Connection *c, const struct request *r)
{
	const union MHD_ConnectionInfo *tls =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const union MHD_ConnectionInfo *fd =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	const char *reason = MHD_get_reason_phrase_for(r->status);
	char all[1536], date[40];
	struct tm tm;
	time_t now = time(NULL);
	int len;
	ssize_t sent;

	if (!gmtime_r(&now, &tm) || !strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm))
		date[0] = '\0';
	/* The refusals' bodies are a code, a fixed message and the id: well under 1 KiB. */
	len = snprintf(all, sizeof(all),
		       "HTTP/1.1 %u %s\r\nDate: %s\r\nConnection: close\r\n"
		       "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		       "X-Request-Id: %s\r\nCache-Control: no-store\r\n"
		       "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: %s\r\n"
		       "Referrer-Policy: no-referrer\r\n\r\n%.*s",
		       r->status, reason && *reason ? reason : "Error", date, r->resp_len, r->id,
		       CSP_DEFAULT, (int)r->resp_len, r->resp ? r->resp : "");
	if (len <= 0 || (size_t)len >= sizeof(all))
		return false;
	if (tls && tls->tls_session)
		sent = gnutls_record_send(tls->tls_session, all, (size_t)len);
	else
		sent =
		    fd ? send(fd->connect_fd, all, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) : -1;
	return sent == len;
}

/*
 * Answer what libmicrohttpd refused with our error body.  Its buffers may
 * be gone by now (it drops the read buffer first), so nothing of the
 * request is read: the peer's address, not X-Forwarded-For.  A request no
 * callback began (a request line past the buffer) is begun and ended here:
 * libmicrohttpd will not complete it.
 */
static enum MHD_Result lib_answer(struct MHD_Connection *c, unsigned status)
{
	struct request *r = http_conn_request(c);
	void *own = NULL;

	if (!r) {
		own = on_uri(lib_app, NULL, c);
		r = own;
		if (!r) /* no memory: the connection closes without an answer */
			return MHD_NO;
		r->bad_uri = false;
	}
	if (!r->started)
		peer_addr(r, c);
	http_refuse(r, lib_refusal(status, own ? NULL : r));
	r->lib_sent = lib_send(c, r);
	if (own)
		on_completed(lib_app, c, &own, MHD_REQUEST_TERMINATED_COMPLETED_OK);
	lib_closing = true;
	return MHD_NO;
}

/*
 * Only libmicrohttpd calls this (our answers go to lib_queue): its error
 * pages, which have no Content-Type.  Anything else it queues itself one day
 * passes through untouched.
 */
enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
				   struct MHD_Response *response)
{
	if (!lib_queue)
		return MHD_NO;
	if (!response || MHD_get_response_header(response, "Content-Type"))
		return lib_queue(connection, status_code, response);
	return lib_answer(connection, status_code);
}

/* ---- start and stop --------------------------------------------------- */

/*
 * The TLS we speak (GnuTLS priority string): TLS 1.3 and 1.2 only, ECDHE key
 * exchange (forward secrecy: a stolen key does not open recorded traffic),
 * AEAD ciphers only (AES-GCM, ChaCha20-Poly1305; no CBC, no RC4, no 3DES),
 * no compression, safe renegotiation.  No RSA key exchange, no DHE.  Every
 * maintained client (curl, Android 5+, iOS 9+, browsers since 2016) speaks
 * it.  docs/operations.md's TLS section repeats it.
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

/*
 * libmicrohttpd's messages, one line each.  What lib_answer stands in for
 * (its "Error processing request" with the HTML page, and the "Closing
 * connection" after the failed queueing) is left out: the access log line
 * says what was answered.  The message before them, its reason, stays.
 */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static const char err_line[] = "Error processing request (HTTP response code is";
	static const char close_line[] = "Closing connection";
	char line[512];
	size_t n;
	UNUSED(cls);

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (strncmp(line, err_line, sizeof(err_line) - 1) == 0)
		return;
	if (lib_closing && strncmp(line, close_line, sizeof(close_line) - 1) == 0) {
		lib_closing = false;
		return;
	}
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
	const char *ctype = HTTP_CTYPE_METRICS;
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
	ret = lib_queue(c, status, resp);
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

/* Undo a start that failed part way; returns st. */
static enum st start_fail(struct http_server *h, enum st st)
{
	http_acceptor_stop(h->acc);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->d)
		MHD_stop_daemon(h->d);
	if (h->md)
		MHD_stop_daemon(h->md);
	free(h->tls_cert);
	free(h->tls_key);
	http_conns_free(h->conns);
	free(h);
	return st;
}

enum st http_start(struct app *app, struct http_server **out, char *err, size_t errlen)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET;
	long threads = app->cfg.threads;
	unsigned limit;

	*out = NULL;
	if (!h)
		return ST_NOMEM;
	h->app = app;
	h->lfd = -1;
	if (!lib_queue_bind(app, err, errlen))
		return start_fail(h, ST_INTERNAL);
	app->auth_fails =
	    limiter_new_tally(60, (unsigned)app->cfg.auth_failures_per_minute, AUTH_FAIL_KEYS);
	if (!app->auth_fails)
		return start_fail(h, ST_NOMEM);
	if (routes_count > METRICS_MAX_ROUTES) {
		snprintf(err, errlen, "too many routes for the metrics table");
		return start_fail(h, ST_INTERNAL);
	}
	if (!listen_addr(app->cfg.listen, &ss, err, errlen))
		return start_fail(h, ST_INVALID);
	{
		enum st mst = metrics_listener_start(h, &ss, err, errlen);
		if (mst != ST_OK)
			return start_fail(h, mst);
	}
	limit = http_conn_limit(app->cfg.max_connections);
	h->conns = http_conns_new(&app->cfg, limit, err, errlen);
	if (!h->conns)
		return start_fail(h, ST_NOMEM);
	if (threads <= 0)
		threads = sysconf(_SC_NPROCESSORS_ONLN);
	if (threads <= 0)
		threads = 1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	{
		char why[128];
		h->lfd = http_listen_socket(&ss, why, sizeof(why));
		if (h->lfd < 0) {
			snprintf(err, errlen, "cannot listen on %s (in use, or not allowed): %s",
				 app->cfg.listen, why);
			return start_fail(h, ST_IO);
		}
	}
	if (app->cfg.tls_cert[0]) {
		h->tls_cert = read_file(app->cfg.tls_cert, err, errlen);
		h->tls_key = h->tls_cert ? read_file(app->cfg.tls_key, err, errlen) : NULL;
		if (!h->tls_cert || !h->tls_key)
			return start_fail(h, ST_INVALID);
		flags |= MHD_USE_TLS;
	}
	{
		/* The TLS options ride at the end of the array, or are its end. */
		struct MHD_OptionItem tls[] = {
		    {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
		    {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
		    {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
		    {MHD_OPTION_END, 0, NULL},
		};
		struct MHD_OptionItem *extra = (flags & MHD_USE_TLS) ? tls : tls + 3;

		h->d = MHD_start_daemon(
		    flags, 0, NULL, NULL, on_request, app, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
		    NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)app->cfg.conn_timeout_s,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)app->cfg.max_conns_per_ip,
		    MHD_OPTION_CONNECTION_LIMIT,
		    /* each worker's share of it is the whole: http_conns_admit limits */
		    limit * (unsigned)threads, MHD_OPTION_NOTIFY_CONNECTION, http_on_connection,
		    h->conns, MHD_OPTION_NOTIFY_COMPLETED, on_completed, app,
		    MHD_OPTION_URI_LOG_CALLBACK, on_uri, app, MHD_OPTION_ARRAY, extra,
		    MHD_OPTION_END);
	}
	if (!h->d) {
		snprintf(err, errlen, "cannot start the HTTP server for %s", app->cfg.listen);
		return start_fail(h, ST_IO);
	}
	h->acc = http_acceptor_start(h->lfd, h->d, h->conns);
	if (!h->acc) {
		snprintf(err, errlen, "cannot start the accept thread");
		return start_fail(h, ST_NOMEM);
	}
	h->lfd = -1;
	h->rep = http_auth_fail_reporter_start(app);
	if (!h->rep) {
		snprintf(err, errlen, "cannot start the authentication-failure reporter");
		return start_fail(h, ST_NOMEM);
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
	int waiting;

	if (!h)
		return ST_OK;
	atomic_store(&http_stopping, true);
	http_acceptor_stop(h->acc);
	h->acc = NULL;
	deadline = clock_mono_ns() + (uint64_t)drain_s * 1000000000ull;
	while (atomic_load(&h->app->inflight) > 0 && clock_mono_ns() < deadline)
		usleep(5000);
	/* From here on a request that would wait on the writer answers 503 instead. */
	pthread_mutex_lock(&http_defer_lock);
	http_closing = true;
	waiting = atomic_load(&http_suspended);
	pthread_mutex_unlock(&http_defer_lock);
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
	http_ticker_stop(h->rep);
	http_auth_fail_report(h->app, true);
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
	http_conns_free(h->conns);
	free(h);
	return ST_OK;
}
