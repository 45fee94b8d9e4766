/*
 * fake_request.h - a daemon without a socket for handler tests: a temporary
 * store, a generated key, the real templates and limiters as main.c makes
 * them, accounts of every role in two depots (couriers with phones, sealed
 * as waybillctl seals them), and requests driven through
 * http_request_run_fake (routing, authentication, the handler, its writer
 * jobs and continuations; no libmicrohttpd).  h2o's t/00unit drives its
 * handlers the same way.
 */
#ifndef WAYBILL_FAKE_REQUEST_H
#define WAYBILL_FAKE_REQUEST_H

#include "common.h"

#include "app.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "label.h"
#include "limits.h"
#include "log.h"
#include "store.h"
#include "t.h"
#include "vnum.h"

#include <cjson/cJSON.h>
#include <unistd.h>

struct fr_acct {
	const char *name;
	enum role role;
	const char *depot;
	const char *phone; /* E.164, or NULL */
	char token[TOKEN_CHARS + 1];
};

/* The accounts; FR_* index them. */
enum { FR_C1, FR_C2, FR_C3, FR_D1, FR_D2, FR_AD, FR_AU, FR_TEL, FR_NONE };
static struct fr_acct fr_accts[] = {
    {"c1", ROLE_COURIER, "d1", "+8613700000001", ""},
    {"c2", ROLE_COURIER, "d1", "+8613700000002", ""},
    {"c3", ROLE_COURIER, "d2", "+8613700000003", ""},
    {"dep1", ROLE_DEPOT, "d1", NULL, ""},
    {"dep2", ROLE_DEPOT, "d2", NULL, ""},
    {"ad", ROLE_ADMIN, "", NULL, ""},
    {"au", ROLE_AUDITOR, "", NULL, ""},
    {"tel", ROLE_TELEPHONY, "", NULL, ""},
};

static struct app fr_app;
static char fr_dir[] = "/tmp/waybill-test-handlers.XXXXXX";

/* A made-up order (recipient phone 13900002222), client_order_id cid. */
static inline char *fr_order_body(const char *cid)
{
	static const char fmt[] =
	    "{\"client_order_id\":\"%s\",\"sender\":{\"name\":\"王小明\",\"phone\":"
	    "\"13800001111\",\"province\":\"广东省\",\"city\":\"深圳市\",\"district\":"
	    "\"南山区\",\"address\":\"科技园1号\"},\"recipient\":{\"name\":\"李雷\",\"phone\":"
	    "\"13900002222\",\"province\":\"北京市\",\"city\":\"北京市\",\"district\":"
	    "\"海淀区\",\"address\":\"中关村大街1号\"},\"parcel\":{\"weight_g\":1000,"
	    "\"count\":1}}";
	size_t n = sizeof(fmt) + strlen(cid);
	char *s = malloc(n);

	if (s)
		snprintf(s, n, fmt, cid);
	return s;
}

static inline enum st fr_job_account(struct store *s, struct wjob *j)
{
	struct fr_acct *a = j->arg;
	struct account acct;
	unsigned char hash[HASH_BYTES];

	memset(&acct, 0, sizeof(acct));
	str_copy(acct.name, sizeof(acct.name), a->name);
	acct.role = a->role;
	str_copy(acct.depot, sizeof(acct.depot), a->depot);
	crypto_token_hash(fr_app.kr, a->token, TOKEN_CHARS, hash);
	if (a->phone && account_phone_seal(fr_app.kr, &acct, a->phone) != ST_OK)
		return ST_INTERNAL;
	return store_w_account_insert(s, &acct, hash);
}

static inline enum st fr_job_pool(struct store *s, struct wjob *j)
{
	struct vnum_pool *p = j->arg;
	return store_w_vnum_sync(s, p->nums, p->n);
}

static inline enum st fr_run_job(wjob_fn fn, void *arg)
{
	struct wjob j = {0};

	j.fn = fn;
	j.arg = arg;
	j.no_audit = true;
	return store_run(fr_app.store, &j);
}

/* The whole daemon but its sockets; false (with a line on stderr) when it cannot be set up. */
static inline bool fr_setup(void)
{
	char path[256], err[512];
	struct vnum_pool pool;

	log_threshold = LOG_ERROR;
	if (crypto_init() != ST_OK || !mkdtemp(fr_dir))
		return false;
	config_defaults(&fr_app.cfg);
	snprintf(path, sizeof(path), "%s/key", fr_dir);
	if (keyring_generate(path, err, sizeof(err)) != ST_OK ||
	    keyring_load(path, &fr_app.kr, err, sizeof(err)) != ST_OK ||
	    label_ctx_new("templates", fr_app.cfg.font, &fr_app.labels, err, sizeof(err)) != ST_OK)
		goto bad;
	snprintf(path, sizeof(path), "%s/waybill.db", fr_dir);
	if (store_open(path, STORE_DAEMON, fr_app.kr, &fr_app.store, err, sizeof(err)) != ST_OK ||
	    vnum_pool_parse(fr_app.cfg.vnum_pool, &pool, err, sizeof(err)) != ST_OK)
		goto bad;
	if (fr_run_job(fr_job_pool, &pool) != ST_OK)
		return false;
	vnum_pool_release(&pool);
	fr_app.misses = limiter_new(600, (unsigned)fr_app.cfg.miss_limit, 1024);
	fr_app.call_routes = limiter_new(3600, (unsigned)fr_app.cfg.call_routes_per_hour, 1024);
	fr_app.call_tokens =
	    limiter_new(60, (unsigned)fr_app.cfg.call_routes_per_token_per_minute, 1024);
	for (size_t i = 0; i < ARRAY_SIZE(fr_accts); i++) {
		crypto_token_new(fr_accts[i].token);
		if (fr_run_job(fr_job_account, &fr_accts[i]) != ST_OK)
			return false;
	}
	return fr_app.misses && fr_app.call_routes && fr_app.call_tokens;
bad:
	fprintf(stderr, "setup: %s\n", err);
	return false;
}

static inline void fr_teardown(void)
{
	const char *files[] = {"key", "waybill.db", "waybill.db-wal", "waybill.db-shm",
			       "waybill.db-lock"};
	char path[256];

	store_close(fr_app.store);
	label_ctx_free(fr_app.labels);
	limiter_free(fr_app.misses);
	limiter_free(fr_app.call_routes);
	limiter_free(fr_app.call_tokens);
	limiter_free(fr_app.auth_fails);
	keyring_free(fr_app.kr);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", fr_dir, files[i]);
		unlink(path);
	}
	rmdir(fr_dir);
}

/* One answer, parsed when it is JSON. */
struct fr_reply {
	struct http_fake_reply raw;
	cJSON *json;
};

static inline void fr_release(struct fr_reply *rep)
{
	cJSON_Delete(rep->json);
	http_fake_reply_release(&rep->raw);
	memset(rep, 0, sizeof(*rep));
}

/*
 * One request as account who (FR_NONE: no token), with a JSON body or none;
 * rep is released first, so a test may reuse it.  Returns the status (0
 * when the request could not run).
 */
static inline unsigned fr_run(struct fr_reply *rep, int who, const char *method, const char *url,
			      const char *body)
{
	char auth[TOKEN_CHARS + 16];
	struct http_fake_header h[2] = {{"Content-Type", "application/json"},
					{"Authorization", auth}};

	fr_release(rep);
	snprintf(auth, sizeof(auth), "Bearer %s", who == FR_NONE ? "" : fr_accts[who].token);
	if (http_request_run_fake(&fr_app, method, url, h, who == FR_NONE ? 1 : 2, body,
				  body ? strlen(body) : 0, &rep->raw) != ST_OK)
		return 0;
	if (strcmp(rep->raw.ctype, "application/json") == 0)
		rep->json = cJSON_ParseWithLength(rep->raw.body, rep->raw.len);
	return rep->raw.status;
}

/* The string at a path of keys ("error", "code", NULL), or NULL. */
static inline const char *fr_str(const struct fr_reply *rep, const char *k1, const char *k2)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(rep->json, k1);

	if (k2)
		v = cJSON_GetObjectItemCaseSensitive(v, k2);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The error code of an error answer, or NULL. */
static inline const char *fr_code(const struct fr_reply *rep)
{
	return fr_str(rep, "error", "code");
}

/* Whether the raw answer holds needle (personal data must not leak). */
static inline bool fr_holds(const struct fr_reply *rep, const char *needle)
{
	return rep->raw.body && memmem(rep->raw.body, rep->raw.len, needle, strlen(needle));
}

/*
 * The result of the last audit entry for tn with this action (read as the
 * auditor would, GET /v1/audit), copied into out; false when there is none.
 * reason, when not NULL, gets the entry's reason ("" for none).
 */
static inline bool fr_audit_last(const char *tn, const char *action, char *out, size_t cap,
				 char *reason, size_t rcap)
{
	struct fr_reply a = {0};
	char url[128];
	const cJSON *e, *found = NULL;
	bool ok = false;

	snprintf(url, sizeof(url), "/v1/audit?tracking_no=%s&limit=1000", tn);
	if (fr_run(&a, FR_AU, "GET", url, NULL) == 200) {
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(a.json, "entries"))
		{
			const cJSON *act = cJSON_GetObjectItemCaseSensitive(e, "action");
			if (cJSON_IsString(act) && strcmp(act->valuestring, action) == 0)
				found = e;
		}
	}
	if (found) {
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(found, "result");
		const cJSON *rs = cJSON_GetObjectItemCaseSensitive(found, "reason");
		str_copy(out, cap, cJSON_IsString(res) ? res->valuestring : "");
		if (reason)
			str_copy(reason, rcap, cJSON_IsString(rs) ? rs->valuestring : "");
		ok = true;
	}
	fr_release(&a);
	return ok;
}

/* A new order by c1 (depot d1): its tracking number into tn, or false. */
static inline bool fr_order_new(const char *cid, char tn[TN_MAX])
{
	struct fr_reply rep = {0};
	char *body = fr_order_body(cid);
	bool ok = body && fr_run(&rep, FR_C1, "POST", "/v1/orders", body) == 201 &&
		  fr_str(&rep, "tracking_no", NULL);

	if (ok)
		str_copy(tn, TN_MAX, fr_str(&rep, "tracking_no", NULL));
	fr_release(&rep);
	free(body);
	return ok;
}

#endif
