/*
 * http_int.h - what the http files share, and nothing outside them sees:
 * http.c (the libmicrohttpd glue: callbacks, answers, start and stop),
 * http_request.c (status mapping, replies, deferral, routing, dispatch),
 * http_conn.c (connections per address, deadlines), http_accept.c (the
 * listening socket and its accept thread), http_limits.c
 * (authentication failures per address, 404s per token) and http_fake.c
 * (the request path without a socket).  Handlers see http.h only.
 */
#ifndef WAYBILL_HTTP_INT_H
#define WAYBILL_HTTP_INT_H

#include "common.h"
#include "http.h"
#include "limits.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include <microhttpd.h>

struct app;
struct config;

/* Set by http_stop: new requests answer 503, every answer closes its connection. */
extern atomic_bool http_stopping;
/* Requests waiting on the writer (their connections suspended). */
extern atomic_int http_suspended;
/* Set at the end of the drain, under defer_lock: no request may wait on the writer now. */
extern pthread_mutex_t http_defer_lock;
extern bool http_closing;

/* ---- http_request.c ---------------------------------------------------- */

#define HTTP_CTYPE_METRICS "text/plain; version=0.0.4"
/* The names of enum http_reply_hdr's headers. */
extern const char *const http_reply_hdr_names[HDR_COUNT];

/* The HTTP layer's own answers, which no enum st names (status and body: http_request.c). */
enum http_refusal {
	REFUSE_METHOD,		   /* 405 method_not_allowed (the caller sets Allow) */
	REFUSE_BAD_PATH,	   /* 400 bad_path: %00, a NUL byte, %2F in a segment */
	REFUSE_BAD_HEADER,	   /* 400 bad_header: a NUL byte or a folded line */
	REFUSE_BAD_CONTENT_LENGTH, /* 400: two Content-Lengths, or one with chunked */
	REFUSE_SHUTTING_DOWN,	   /* 503 shutting_down: the daemon drains */
	REFUSE_ARGS,		   /* 400 too_many_arguments: past HTTP_ARGS_MAX or _BYTES */
	REFUSE_HEADERS,		   /* 431 headers_too_large: past HTTP_HEADERS_BYTES */
	/* libmicrohttpd's own answers (see lib_answer in http.c), by status and stage: */
	REFUSE_LIB_LINE,     /* 400 bad_request: the request line */
	REFUSE_LIB_HEAD,     /* 400 bad_request: a header line, Content-Length */
	REFUSE_LIB_BODY,     /* 400 bad_request: the chunked framing */
	REFUSE_LIB_TOOBIG,   /* 413 too_large: a Content-Length or chunk past 2^64 */
	REFUSE_LIB_URI,	     /* 414 uri_too_long */
	REFUSE_LIB_HEADERS,  /* 431 headers_too_large: past libmicrohttpd's buffer */
	REFUSE_LIB_VERSION,  /* 505 http_version_not_supported */
	REFUSE_LIB_INTERNAL, /* 500 internal */
};
void http_refuse(struct request *r, enum http_refusal why);

/*
 * Copy a query argument (value NULL when it has none) or a header (kept
 * only when it is one the daemon reads and the first of its name) into r;
 * false once a bound is passed or memory runs out: stop copying then.
 */
bool http_copy_arg(struct request *r, const char *key, const char *value);
bool http_copy_header(struct request *r, const char *name, const char *value);
/* After the copies: true, or false with r answered (400, 431, 503). */
bool http_copy_done(struct request *r);

void http_request_free(struct request *r);
void http_request_id_new(char id[REQID_BYTES]);
/*
 * The route for method and path; HEAD finds the GET route (libmicrohttpd
 * drops the body).  When none matches but the path takes other methods,
 * allow gets them ("GET, HEAD, POST") for the 405's Allow header.
 */
const struct route *http_route_find(const char *method, const char *path, char tn[TN_MAX],
				    char *allow, size_t allow_len);
/*
 * r->route for r->method and path; false when r is answered instead: 503
 * while the daemon drains, 405 with Allow when the path takes other
 * methods, else 404.
 */
bool http_route(struct request *r, const char *path);
/* Authenticate, check the role, and run the handler. */
void http_dispatch(struct request *r);
/* An unaudited 500 on an audited route: its entry is deferred (true), or none is due. */
bool http_audit_server_error(struct request *r);

/* ---- http_conn.c ------------------------------------------------------- */

/*
 * A background thread that runs tick(arg) every period_ms, outside its own
 * lock, until http_ticker_stop; NULL when it cannot start.  name is the
 * thread's (15 bytes at most).
 */
struct http_ticker;
struct http_ticker *http_ticker_start(const char *name, long period_ms, void (*tick)(void *arg),
				      void *arg);
/* Stop it (a tick under way ends first), join, free; NULL is a no-op. */
void http_ticker_stop(struct http_ticker *t);

enum http_conn_phase { PH_HEADERS, PH_BODY, PH_HANDLED };
struct conns;

void http_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode code);
/*
 * The accept thread's check (the per-address share and max_connections);
 * true counts it as pending under its address until libmicrohttpd starts it.
 */
bool http_conns_admit(struct conns *cs, const struct sockaddr *addr, socklen_t addrlen);
/* libmicrohttpd refused a connection http_conns_admit let in. */
void http_conns_unadmit(struct conns *cs, const struct sockaddr *addr);
/* The connection's request entered phase ph now. */
void http_conn_phase(struct MHD_Connection *c, enum http_conn_phase ph);
/*
 * The request on_uri began on c, until on_completed ends it (set and read
 * by c's worker only); NULL when there is none, or c is not the API's.
 */
void http_conn_set_request(struct MHD_Connection *c, struct request *r);
struct request *http_conn_request(struct MHD_Connection *c);
/*
 * The counts and the watchdog for at most limit connections (see
 * http_conn_limit); NULL with a line in err when they cannot start.
 */
struct conns *http_conns_new(const struct config *cfg, unsigned limit, char *err, size_t errlen);
void http_conns_free(struct conns *cs);
/* max_connections, lowered to fit the open-file limit. */
unsigned http_conn_limit(long want);

/* ---- http_accept.c ----------------------------------------------------- */

struct http_acceptor;
/* A nonblocking socket listening on ss; -1 with the reason in err. */
int http_listen_socket(const struct sockaddr_storage *ss, char *err, size_t errlen);
/* Accept on lfd (it is the acceptor's now) and hand each connection to d; NULL on failure. */
struct http_acceptor *http_acceptor_start(int lfd, struct MHD_Daemon *d, struct conns *cs);
/* Stop accepting and close the listening socket: new clients are refused. */
void http_acceptor_stop(struct http_acceptor *a);

/* ---- http_limits.c ----------------------------------------------------- */

/* Addresses the authentication-failure tally holds. */
#define AUTH_FAIL_KEYS 16384

/* Whose 404s count towards miss_limit. */
bool http_misses_count(const struct request *r);
/* Reserve one more 404 for this token; false when past miss_limit (answer 429). */
bool http_miss_take(struct request *r);
/* Retry-After for the window of l. */
void http_retry_after(struct request *r, const struct limiter *l);
/* The limiter key of a client address: family, then address bytes (IPv6: its /64). */
size_t http_addr_key(const struct sockaddr *sa, unsigned char key[LIMITER_KEY_MAX]);
/* A request without a valid token: 401, or 429 past auth_failures_per_minute. */
void http_auth_failed(struct request *r);
/* Audit the finished minutes' failure counts (all: every count, at stop). */
void http_auth_fail_report(struct app *app, bool all);
/* The thread that audits the finished minutes' counts; NULL when it cannot start. */
struct http_ticker *http_auth_fail_reporter_start(struct app *app);

/* ---- http_fake.c ------------------------------------------------------- */

void http_fake_job_done(struct request *r);

#endif
