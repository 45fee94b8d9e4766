/*
 * http.h - requests and responses, without microhttpd in sight.
 *
 * Only the http*.c files use microhttpd.h.  A handler gets a struct request
 * whose route matched, whose body arrived within the route's limit and whose
 * caller holds one of the route's roles; it answers with one of the
 * http_reply_* calls, or hands a job to the writer with http_defer() and
 * answers from the continuation once the job is committed.
 */
#ifndef WAYBILL_HTTP_H
#define WAYBILL_HTTP_H

#include "common.h"
#include "store.h"

struct app;
struct request;

typedef void (*handler_fn)(struct request *r);

struct route {
	const char *method;
	const char *pattern; /* "/v1/orders/{tn}/status": {tn} is one path segment; a final
				"*" matches the rest of the path (r->path has it all) */
	handler_fn handler;
	unsigned roles;	    /* enum role bits; 0 = no authentication */
	size_t max_body;    /* bytes; 0 = no body accepted */
	const char *action; /* audit action for this route, NULL when not audited */
};

extern const struct route routes[];
extern const size_t routes_count;
/* Audit actions of GET routes whose answer spends something: HEAD is refused there. */
extern const char *const routes_head_refused[];
extern const size_t routes_head_refused_count;

/*
 * What a handler reads of the request is copied into it on the first call
 * (http_query, http_header read the copies, never the connection): every
 * query argument, and of the headers only those the daemon reads.  Bounded:
 * more arguments or bytes of them answer 400 too_many_arguments, more bytes
 * of those headers 431 headers_too_large.
 */
#define HTTP_ARGS_MAX 64	/* query arguments */
#define HTTP_ARGS_BYTES 4096	/* their keys and values, decoded, with a NUL each */
#define HTTP_HEADERS_BYTES 8192 /* the values of the headers read, with a NUL each */
/* Authorization, Content-Type, Expect, Idempotency-Key, If-None-Match */
#define HTTP_HEADERS_READ 5

/* The headers an answer may carry beyond the fixed ones, one slot each (http_reply_header). */
enum http_reply_hdr {
	HDR_ALLOW,
	HDR_LOCATION,
	HDR_CONTENT_DISPOSITION,
	HDR_RETRY_AFTER,
	HDR_ETAG,
	HDR_COUNT
};
#define HTTP_REPLY_HDR_MAX 96 /* a value's bytes, with its NUL */

struct request {
	struct app *app;
	const struct route *route;
	char id[REQID_BYTES];
	char method[8];
	char tn[TN_MAX];     /* the {tn} segment, when the route has one */
	char addr[48];	     /* the client, for the log: see client_addr() in http.c */
	char path[256];	     /* the path as routed (decoded); "" when longer */
	struct account acct; /* the caller, once authenticated */
	char *body;	     /* NUL-terminated; body_len without the NUL */
	size_t body_len;
	const char *arg_key[HTTP_ARGS_MAX], *arg_val[HTTP_ARGS_MAX]; /* val NULL: "?key" alone */
	size_t nargs;
	const char *hdr[HTTP_HEADERS_READ]; /* the first of each name, or NULL */

	/* the answer */
	unsigned status;
	char *resp;
	size_t resp_len;
	bool resp_wipe;	   /* wipe before free: it held personal data */
	const char *ctype; /* set by the http_reply_* calls */
	const char *csp;   /* Content-Security-Policy; NULL: default-src 'none' */
	const char *cache; /* Cache-Control; NULL: no-store */
	char header[HDR_COUNT][HTTP_REPLY_HDR_MAX]; /* "" when not sent */

	/* a job for the writer and what to do once it is committed */
	struct wjob job;
	void (*cont)(struct request *r);
	void *hstate;		      /* the handler's own state */
	void (*hstate_free)(void *p); /* frees hstate with the request */
	bool error_audited;	      /* an entry of this request records its failure: a 500 needs
					 no entry of its own (http.c audits every other one) */

	/* http.c's own */
	void *conn;
	uint64_t t0_ns;
	bool too_big, deferred, resumed, answered;
	enum st error_st;    /* of the last error answered */
	char error_code[32]; /* its body's code, for the log */
	bool miss_taken;     /* this answer's 404 is already counted towards miss_limit */
	size_t body_cap;

	size_t discarded;	 /* body bytes read and dropped after a 413 was decided */
	bool started;		 /* on_request has seen its first call */
	bool lib_sent;		 /* lib_answer (http.c) wrote the whole answer itself */
	bool bad_uri;		 /* the raw URI held %00, a NUL byte, or %2F in the path */
	uintptr_t uri_end;	 /* where the raw URI ended (NUL byte check), from on_uri */
	struct http_fake *fake;	 /* http_request_run_fake's wake-up; NULL on a connection */
	char *in;		 /* the copies' bytes: HTTP_ARGS_BYTES, then HTTP_HEADERS_BYTES */
	size_t in_args, in_hdrs; /* bytes used of each part */
	enum st in_st;		 /* ST_OK, or why a copy failed (ST_NOMEM, a bound passed) */
	bool in_hdrs_over;	 /* the bound passed was the headers' */
};

/* A query argument (key matched without case, the first wins, as microhttpd does), or NULL. */
const char *http_query(struct request *r, const char *key);
/*
 * A request header (the first of the name), or NULL.  Only the headers
 * listed in http_request.c's headers_read[] are copied: asking for another
 * is a programmer error (assert).
 */
const char *http_header(struct request *r, const char *name);

/* Answer with JSON (takes ownership of body, a malloc'd string). */
void http_reply_json(struct request *r, unsigned status, char *body, bool wipe);
/* Answer with an error body {"error":{"code","message","field"?}}. */
void http_reply_error(struct request *r, enum st st, const char *code, const char *message,
		      const char *field);
/* The usual error for a status (code = st_name). */
void http_reply_st(struct request *r, enum st st);
/* Answer with a PDF (takes ownership). */
void http_reply_pdf(struct request *r, unsigned char *pdf, size_t len);
/* Answer with len bytes of type ctype (a constant string; takes ownership of data). */
void http_reply_bytes(struct request *r, unsigned status, char *data, size_t len,
		      const char *ctype);
/* Answer 200 with Prometheus text (takes ownership of text, len bytes). */
void http_reply_metrics(struct request *r, char *text, size_t len);
/*
 * Send header h with the answer, whatever status it ends with; the value
 * (printf-style, cut to HTTP_REPLY_HDR_MAX - 1 bytes) replaces an earlier one.
 */
void http_reply_header(struct request *r, enum http_reply_hdr h, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
/* Retry-After: seconds (a 429 or 503 without one gets a default). */
void http_reply_retry_after(struct request *r, unsigned seconds);

/*
 * Hand r->job (fn, arg, audit filled by the caller) to the writer.  When it
 * is committed, cont(r) runs on an HTTP thread and must answer.  The job's
 * audit entry gets the request id and the caller here.
 */
void http_defer(struct request *r, wjob_fn fn, void *arg, void (*cont)(struct request *r));
/*
 * Audit a refused request (result: NULL for st's name, or e.g. "denied"),
 * then answer with st's error naming field (may be NULL); 503 when the
 * entry cannot be written.
 */
void http_audit_then_fail(struct request *r, enum st st, const char *result, const char *field);
/* The same with the error's code and message (string constants). */
void http_audit_then_error(struct request *r, enum st st, const char *result, const char *code,
			   const char *message, const char *field);

unsigned http_status_of(enum st st);

/* Start serving on cfg->listen; NULL and a line in err on failure. */
struct http_server;
enum st http_start(struct app *app, struct http_server **out, char *err, size_t errlen);
/*
 * Stop accepting, answer what is in flight with Connection: close (up to
 * drain_s), stop.  ST_UNAVAILABLE when requests still wait on the writer at
 * the end: the server cannot stop cleanly then, and the caller must exit.
 */
enum st http_stop(struct http_server *h, int drain_s);

/* ---- the request path without a socket (tests and fuzzers) ------------ */

struct http_fake_header {
	const char *name, *value;
};

struct http_fake_reply {
	unsigned status;
	char *body; /* malloc'd, len bytes (JSON or a PDF); wiped when released */
	size_t len;
	char ctype[32];
	char header[HDR_COUNT][HTTP_REPLY_HDR_MAX]; /* the extra headers' values, "" when unsent */
};

/*
 * Run one request as a connection would: url (the path as sent, percent-
 * escapes and all, then "?" and the query), headers (names matched without
 * case, as microhttpd does) and body_len bytes of body go through routing,
 * the size limit, authentication, the route's roles and the handler; a
 * deferred answer is waited for (every writer job and its continuation),
 * so on return the request is finished and *out holds its answer.  app is
 * set up as main.c does (keys, store, labels, limiters); app->auth_fails is
 * made on the first call when http_start has not made it: that first call
 * must not race another.  ST_NOMEM, or ST_OK with out filled
 * (http_fake_reply_release).
 */
enum st http_request_run_fake(struct app *app, const char *method, const char *url,
			      const struct http_fake_header *headers, size_t nheaders,
			      const char *body, size_t body_len, struct http_fake_reply *out);
void http_fake_reply_release(struct http_fake_reply *rep);

#endif
