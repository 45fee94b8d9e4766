/*
 * http_fake.c - the request path without a socket, for tests and fuzzers
 * (http_request_run_fake in http.h).
 */
#include "common.h"
#include "http_int.h"
#include "app.h"

#include <strings.h>

/* ---- the request path without a socket (tests and fuzzers) ------------ */

/*
 * http_request_run_fake() builds the struct request a connection would, with
 * copies of what microhttpd would otherwise be asked for (headers, query
 * arguments), and runs it through the same route_find, dispatch and
 * continuations as on_request; job_done wakes it instead of resuming a
 * connection.  Nothing here touches microhttpd.
 */
struct http_fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

void http_fake_job_done(struct request *r)
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

/* "a=1&b&c=%32" (decoded in place) -> the arguments microhttpd would list (b's value NULL). */
static void fake_args(struct request *r, char *query)
{
	for (char *p = query, *next; p && *p; p = next) {
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
		if (!http_copy_arg(r, p, eq))
			return;
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
	if (!http_copy_done(r) || !http_route(r, path))
		return;
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
	http_dispatch(r);
	while (r->deferred || http_audit_server_error(r)) {
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
	struct http_fake f = {.done = false};
	struct request *r = NULL;
	char *path = NULL, *query = NULL;
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
	query = q ? strdup(q + 1) : NULL;
	r = calloc(1, sizeof(*r));
	if (!path || (q && !query) || !r)
		goto out;
	fake_unescape(path, false);
	fake_args(r, query);
	for (size_t i = 0; i < nheaders; i++)
		if (headers[i].name && !http_copy_header(r, headers[i].name, headers[i].value))
			break;
	pthread_mutex_init(&f.lock, NULL);
	pthread_cond_init(&f.cond, NULL);
	r->app = app;
	r->fake = &f;
	r->t0_ns = clock_mono_ns();
	http_request_id_new(r->id);
	str_copy(r->method, sizeof(r->method), method);
	fake_run(r, path, body, body_len);
	if (!r->answered)
		http_reply_st(r, ST_INTERNAL);
	/* As send_answer: past miss_limit a 404 leaves as a 429. */
	if (r->status == 404 && http_misses_count(r) && !r->miss_taken && !http_miss_take(r))
		http_reply_st(r, ST_LIMIT);
	out->status = r->status;
	out->body = r->resp;
	out->len = r->resp_len;
	r->resp = NULL;
	str_copy(out->ctype, sizeof(out->ctype), r->ctype ? r->ctype : "application/json");
	memcpy(out->header, r->header, sizeof(out->header));
	pthread_cond_destroy(&f.cond);
	pthread_mutex_destroy(&f.lock);
	st = ST_OK;
out:
	http_request_free(r);
	free(path);
	free(query);
	return st;
}

void http_fake_reply_release(struct http_fake_reply *rep)
{
	if (rep->body)
		free_wiped(rep->body, rep->len);
	memset(rep, 0, sizeof(*rep));
}
