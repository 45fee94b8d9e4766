/*
 * http_limits.c - the limits http.c applies before any handler: 404s per
 * token (miss_limit, against enumeration) and requests without a valid
 * token per client address (auth_failures_per_minute), with the thread that
 * audits the latter once a minute.
 */
#include "common.h"
#include "http_int.h"
#include "app.h"
#include "audit.h"
#include "auth.h"
#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

/*
 * Whose 404s count towards miss_limit: every authenticated caller, the call
 * platform's token included (a sweep of extensions or phones is 404s).
 */
bool http_misses_count(const struct request *r)
{
	return r->acct.name[0] != '\0';
}

/* "Retry-After:N" for the window of l, as the answer's second extra header. */
void http_retry_after(struct request *r, const struct limiter *l)
{
	http_reply_retry_after(r, limiter_retry_after(l, time(NULL)));
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
bool http_miss_take(struct request *r)
{
	struct wjob *j;
	unsigned n = limiter_hit(r->app->misses, &r->acct.id, sizeof(r->acct.id), time(NULL));

	r->miss_taken = true;
	if (n > limiter_limit(r->app->misses)) {
		http_retry_after(r, r->app->misses);
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
/* The limiter key of a client address: family, then address bytes (IPv6: its /64). */
size_t http_addr_key(const struct sockaddr *sa, unsigned char key[LIMITER_KEY_MAX])
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
		return http_addr_key((const struct sockaddr *)(const void *)&s4, key);
	}
	if (inet_pton(AF_INET6, r->addr, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		return http_addr_key((const struct sockaddr *)(const void *)&s6, key);
	}
	return http_addr_key(NULL, key);
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

void http_auth_failed(struct request *r)
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
	http_retry_after(r, r->app->auth_fails);
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

void http_auth_fail_report(struct app *app, bool all)
{
	struct report_ctx c = {app, 0};

	limiter_report(app->auth_fails, time(NULL), all, auth_fail_report_one, &c);
	if (c.dropped)
		log_warn("auth: out of memory; %zu addresses' failure counts not audited",
			 c.dropped);
}

static void auth_fail_tick(void *arg)
{
	http_auth_fail_report(arg, false);
}

struct http_ticker *http_auth_fail_reporter_start(struct app *app)
{
	return http_ticker_start("wb-authfail", 1000, auth_fail_tick, app);
}
