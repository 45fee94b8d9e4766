/*
 * fuzz_http.c - libFuzzer target for the whole request path without a
 * socket: http_request_run_fake() (http.c) routes, limits, authenticates
 * and dispatches the request to its handler against a real store (SQLite
 * in a private temporary directory), a generated key, the real label
 * templates and font, and six accounts whose tokens are fixed, so every
 * authenticated path is reachable.  The input is an HTTP request:
 *
 *   METHOD " " URL "\n" ( NAME ":" VALUE "\n" )* "\n" BODY
 *
 * ("\r\n" works too).  Before it runs, "@TN0", "@TN1" and "@TN2" in the URL,
 * the headers and the body become the tracking numbers of three orders the
 * set-up created, and "@C1", "@C2", "@D1", "@AD", "@AU", "@TEL" in a header
 * value become "Bearer " and that account's token.  State builds up across
 * inputs (orders made, assigned, delivered): the limits are set high so the
 * fuzzer does not spend itself on 429s.
 *
 * Besides memory errors it aborts when an invariant breaks:
 * - every answer has a status the API lists, never 500 or 503;
 * - a JSON answer parses; an error is {"error":{"code","message","field"?,
 *   "request_id"}} with a code of [a-z0-9_] and a field made of [a-z_.] and
 *   "[N]" (no input echoed);
 * - no answer to anyone but the admin (full reveal) and the telephony
 *   account (forward_to) holds a set-up order's name or phone, in any
 *   notation the fixtures use (an audit entry's reason aside: see
 *   fz_check_secrets); an error answer holds none of its address.
 */
#include "common.h"

#include "app.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "label.h"
#include "limits.h"
#include "log.h"
#include "store.h"
#include "vnum.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_HEADERS_MAX 32
#define FZ_ORDERS 3
#define FZ_EXPAND_MAX (128 * 1024)

struct fz_acct {
	const char *tag, *name;
	enum role role;
	const char *depot;
	const char *phone; /* E.164, couriers only */
	char token[TOKEN_CHARS + 1];
};

static struct fz_acct fz_accts[] = {
    {"@C1", "c1", ROLE_COURIER, "d1", "+8613700000001", ""},
    {"@C2", "c2", ROLE_COURIER, "d1", "+8613700000002", ""},
    {"@D1", "d1", ROLE_DEPOT, "d1", NULL, ""},
    {"@AD", "ad", ROLE_ADMIN, "", NULL, ""},
    {"@AU", "au", ROLE_AUDITOR, "", NULL, ""},
    {"@TEL", "tel", ROLE_TELEPHONY, "", NULL, ""},
};

/* Three made-up people, in the notations tests/data/orders.jsonl uses. */
static const char *const fz_orders[FZ_ORDERS] = {
    "{\"client_order_id\":\"fz-0\",\"sender\":{\"name\":\"欧阳娜娜\",\"phone\":\"16776317066\","
    "\"province\":\"广东省\",\"city\":\"深圳市\",\"district\":\"宝安区\",\"address\":"
    "\"宝民二路868号\"},\"recipient\":{\"name\":\"司马相如\",\"phone\":\"188-0636-0837\","
    "\"province\":\"江苏省\",\"city\":\"镇江市\",\"district\":\"京口区\",\"address\":"
    "\"丁卯桥路457号26栋\"},\"parcel\":{\"weight_g\":1200,\"items\":\"食品\",\"count\":1},"
    "\"note\":\"工作日送达\"}",
    "{\"client_order_id\":\"fz-1\",\"sender\":{\"name\":\"Lee Minho\",\"phone\":\"+86 "
    "139 4455 6677\",\"province\":\"北京市\",\"city\":\"北京市\",\"district\":\"朝阳区\","
    "\"address\":\"建国路88号\"},\"recipient\":{\"name\":\"Wanjiru Kamau\",\"phone\":"
    "\"+8615566778899\",\"province\":\"上海市\",\"city\":\"上海市\",\"district\":\"浦东新区\","
    "\"address\":\"世纪大道1001号\"},\"parcel\":{\"weight_g\":300,\"count\":2}}",
    "{\"client_order_id\":\"fz-2\",\"sender\":{\"name\":\"诸葛孔明\",\"phone\":\"021-6234-5678\","
    "\"province\":\"上海市\",\"city\":\"上海市\",\"district\":\"黄浦区\",\"address\":"
    "\"南京东路1号\"},\"recipient\":{\"name\":\"Björk Guðmundsdóttir\",\"phone\":"
    "\"0086 177 0011 2233\",\"province\":\"四川省\",\"city\":\"成都市\",\"district\":"
    "\"武侯区\",\"address\":\"人民南路四段12号\"},\"parcel\":{\"weight_g\":5000,\"count\":1}}",
};

/* Names and phones (every digit run a reply could carry) of the orders above. */
static const char *const fz_secret[] = {
    "欧阳娜娜",	      "16776317066", "司马相如",    "18806360837", "Lee Minho",
    "13944556677",    "Wanjiru",     "15566778899", "诸葛孔明",	   "62345678",
    "Guðmundsdóttir", "17700112233", NULL,
};
static const char *const fz_address[] = {
    "宝民二路", "丁卯桥路", "建国路88号", "世纪大道", "南京东路1号", "人民南路", NULL,
};

static struct app fz_app;
static char fz_dir[256];
static char fz_tn[FZ_ORDERS][TN_MAX];

static void die(const char *why)
{
	fprintf(stderr, "invariant broken: %s\n", why);
	abort();
}

static void fz_rm(const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", fz_dir, name);
	unlink(p);
}

static void fz_cleanup(void)
{
	store_close(fz_app.store);
	fz_app.store = NULL;
	fz_rm("key");
	fz_rm("waybill.db");
	fz_rm("waybill.db-wal");
	fz_rm("waybill.db-shm");
	fz_rm("waybill.db-lock");
	rmdir(fz_dir);
}

static enum st fz_job_account(struct store *s, struct wjob *j)
{
	struct fz_acct *a = j->arg;
	struct account acct;
	unsigned char hash[HASH_BYTES];

	memset(&acct, 0, sizeof(acct));
	str_copy(acct.name, sizeof(acct.name), a->name);
	acct.role = a->role;
	str_copy(acct.depot, sizeof(acct.depot), a->depot);
	crypto_token_hash(fz_app.kr, a->token, TOKEN_CHARS, hash);
	if (a->phone && account_phone_seal(fz_app.kr, &acct, a->phone) != ST_OK)
		return ST_INTERNAL;
	return store_w_account_insert(s, &acct, hash);
}

static enum st fz_job_pool(struct store *s, struct wjob *j)
{
	struct vnum_pool *p = j->arg;
	return store_w_vnum_sync(s, p->nums, p->n);
}

static void fz_set(const char *name, const char *value)
{
	char err[256];
	if (config_set(&fz_app.cfg, name, value, err, sizeof(err)) != ST_OK)
		die(err);
}

static void fz_request(const char *method, const char *url, const struct fz_acct *who,
		       const char *body, struct http_fake_reply *rep)
{
	char auth[TOKEN_CHARS + 16];
	struct http_fake_header h[2] = {{"Authorization", auth},
					{"Content-Type", "application/json"}};

	snprintf(auth, sizeof(auth), "Bearer %s", who->token);
	if (http_request_run_fake(&fz_app, method, url, h, 2, body, body ? strlen(body) : 0, rep) !=
	    ST_OK)
		die("http_request_run_fake failed during set-up");
}

/* A store, a key, labels and limiters as main.c makes them; accounts; three orders. */
static void fz_setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char path[512], err[512];
	struct vnum_pool pool;
	struct wjob j;

	if (fz_app.store)
		return;
	log_threshold = LOG_ERROR;
	umask(077); /* as waybilld: the database and its WAL owner only */
	if (crypto_init() != ST_OK)
		die("crypto_init");
	snprintf(fz_dir, sizeof(fz_dir), "%s/waybill-fuzz-http.XXXXXX", base);
	if (!mkdtemp(fz_dir))
		die("mkdtemp");
	atexit(fz_cleanup);
	config_defaults(&fz_app.cfg);
	fz_set("templates", "templates");
	fz_set("miss_limit", "1000000");
	fz_set("auth_failures_per_minute", "1000000");
	fz_set("call_routes_per_hour", "1000000");
	fz_set("call_routes_per_token_per_minute", "1000000");
	fz_set("admin_reveals_per_day", "100000");
	fz_set("label_reprints_max", "1000");
	snprintf(path, sizeof(path), "%s/key", fz_dir);
	if (keyring_generate(path, err, sizeof(err)) != ST_OK ||
	    keyring_load(path, &fz_app.kr, err, sizeof(err)) != ST_OK)
		die(err);
	if (label_ctx_new(fz_app.cfg.templates, fz_app.cfg.font, &fz_app.labels, err,
			  sizeof(err)) != ST_OK)
		die(err);
	snprintf(path, sizeof(path), "%s/waybill.db", fz_dir);
	if (store_open(path, STORE_DAEMON, fz_app.kr, &fz_app.store, err, sizeof(err)) != ST_OK)
		die(err);
	if (vnum_pool_parse(fz_app.cfg.vnum_pool, &pool, err, sizeof(err)) != ST_OK)
		die(err);
	memset(&j, 0, sizeof(j));
	j.fn = fz_job_pool;
	j.arg = &pool;
	j.no_audit = true;
	if (store_run(fz_app.store, &j) != ST_OK)
		die("vnum pool");
	vnum_pool_release(&pool);
	fz_app.misses = limiter_new(600, (unsigned)fz_app.cfg.miss_limit, 4096);
	fz_app.call_routes = limiter_new(3600, (unsigned)fz_app.cfg.call_routes_per_hour, 4096);
	fz_app.call_tokens =
	    limiter_new(60, (unsigned)fz_app.cfg.call_routes_per_token_per_minute, 4096);
	if (!fz_app.misses || !fz_app.call_routes || !fz_app.call_tokens)
		die("limiters");
	for (size_t i = 0; i < ARRAY_SIZE(fz_accts); i++) {
		struct fz_acct *a = &fz_accts[i];
		/* "wb_" and 64 hex digits, fixed per account so a corpus can hold them */
		snprintf(a->token, sizeof(a->token), "wb_%064zx", 0xf00du + i);
		memset(&j, 0, sizeof(j));
		j.fn = fz_job_account;
		j.arg = a;
		j.no_audit = true;
		if (store_run(fz_app.store, &j) != ST_OK)
			die("account insert");
	}
	for (size_t i = 0; i < FZ_ORDERS; i++) {
		struct http_fake_reply rep;
		cJSON *v, *tn;

		fz_request("POST", "/v1/orders", &fz_accts[0], fz_orders[i], &rep);
		v = rep.status == 201 ? cJSON_ParseWithLength(rep.body, rep.len) : NULL;
		tn = cJSON_GetObjectItemCaseSensitive(v, "tracking_no");
		if (!cJSON_IsString(tn))
			die("set-up order not created");
		str_copy(fz_tn[i], sizeof(fz_tn[i]), tn->valuestring);
		cJSON_Delete(v);
		http_fake_reply_release(&rep);
	}
	{
		struct http_fake_reply rep;
		char url[96];
		snprintf(url, sizeof(url), "/v1/orders/%s/assign", fz_tn[0]);
		fz_request("POST", url, &fz_accts[2], "{\"courier\":\"c1\"}", &rep);
		if (rep.status != 200) {
			fprintf(stderr, "%u %.*s\n", rep.status, (int)rep.len, rep.body);
			die("set-up assignment refused");
		}
		http_fake_reply_release(&rep);
	}
}

/* in[0..n) with the placeholders replaced; NULL when it would grow past the maximum. */
static char *fz_expand(const char *in, size_t n, bool tokens, size_t *outlen)
{
	char *out = malloc(FZ_EXPAND_MAX + 1);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		const char *rep = NULL;
		char bearer[TOKEN_CHARS + 8];
		size_t skip = 0;

		if (in[i] == '@') {
			for (size_t k = 0; k < FZ_ORDERS && !rep; k++) {
				char tag[8];
				snprintf(tag, sizeof(tag), "@TN%zu", k);
				if (n - i >= 4 && memcmp(in + i, tag, 4) == 0) {
					rep = fz_tn[k];
					skip = 4;
				}
			}
			for (size_t k = 0; tokens && k < ARRAY_SIZE(fz_accts) && !rep; k++) {
				size_t tl = strlen(fz_accts[k].tag);
				if (n - i >= tl && memcmp(in + i, fz_accts[k].tag, tl) == 0) {
					snprintf(bearer, sizeof(bearer), "Bearer %s",
						 fz_accts[k].token);
					rep = bearer;
					skip = tl;
				}
			}
		}
		if (rep) {
			size_t rl = strlen(rep);
			if (o + rl > FZ_EXPAND_MAX)
				goto big;
			memcpy(out + o, rep, rl);
			o += rl;
			i += skip;
			continue;
		}
		if (o + 1 > FZ_EXPAND_MAX)
			goto big;
		out[o++] = in[i++];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
big:
	free(out);
	return NULL;
}

static bool fz_charset(const char *s, const char *allowed)
{
	return strspn(s, allowed) == strlen(s);
}

static void fz_check_error(const cJSON *root)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	const cJSON *field = cJSON_GetObjectItemCaseSensitive(e, "field");
	const cJSON *m;

	if (!cJSON_IsObject(e) || cJSON_GetArraySize(root) != 1)
		die("error answer is not {\"error\":{...}}");
	if (!cJSON_IsString(code) || !code->valuestring[0] ||
	    !fz_charset(code->valuestring, "abcdefghijklmnopqrstuvwxyz0123456789_"))
		die("error code is not [a-z0-9_]+");
	if (!cJSON_IsString(msg) || !msg->valuestring[0])
		die("error without a message");
	if (field && (!cJSON_IsString(field) || strlen(field->valuestring) > 64 ||
		      !fz_charset(field->valuestring, "abcdefghijklmnopqrstuvwxyz_.[]0123456789")))
		die("error field is not a field path");
	cJSON_ArrayForEach(m, e)
	{
		if (strcmp(m->string, "code") && strcmp(m->string, "message") &&
		    strcmp(m->string, "field") && strcmp(m->string, "request_id"))
			die("error holds a member it should not");
	}
}

static bool fz_contains(const char *hay, size_t n, const char *needle)
{
	size_t l = strlen(needle);
	for (size_t i = 0; l && i + l <= n; i++)
		if (memcmp(hay + i, needle, l) == 0)
			return true;
	return false;
}

/*
 * No set-up order's name or phone in the answer.  For the auditor the
 * entries' reasons are left out first: a reason is an admin's free text,
 * refused only when it holds a long number, so an admin can write a name
 * there (known; see the issue 13 report) and the fuzzer does.
 */
static void fz_check_secrets(const struct http_fake_reply *rep, bool auditor)
{
	char *text = NULL;
	size_t len = rep->len;

	if (auditor && strcmp(rep->ctype, "application/json") == 0) {
		cJSON *root = cJSON_ParseWithLength(rep->body, rep->len), *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "entries"))
		    cJSON_DeleteItemFromObjectCaseSensitive(e, "reason");
		text = root ? cJSON_PrintUnformatted(root) : NULL;
		cJSON_Delete(root);
		len = text ? strlen(text) : 0;
	}
	for (size_t i = 0; fz_secret[i]; i++)
		if (fz_contains(text ? text : rep->body, len, fz_secret[i])) {
			if (getenv("FUZZ_HTTP_VERBOSE"))
				fprintf(stderr, "%.*s\n", (int)rep->len, rep->body);
			die("a name or phone of an order in an answer");
		}
	free(text);
}

static void fz_check(const struct http_fake_reply *rep, const char *auth)
{
	static const unsigned ok[] = {200, 201, 400, 401, 403, 404, 405,
				      409, 410, 413, 415, 422, 429, 431};
	bool known = false, privileged = false;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		known |= rep->status == ok[i];
	if (!known)
		die("an answer with a status the API does not list (500? 503?)");
	if (!rep->body)
		die("an answer without a body");
	privileged = auth && (strstr(auth, fz_accts[3].token) || strstr(auth, fz_accts[5].token));
	if (!privileged)
		fz_check_secrets(rep, auth && strstr(auth, fz_accts[4].token));
	if (strcmp(rep->ctype, "application/json") == 0) {
		cJSON *root = cJSON_ParseWithLength(rep->body, rep->len);
		if (!root)
			die("a JSON answer that does not parse");
		if (rep->status >= 400)
			fz_check_error(root);
		cJSON_Delete(root);
	} else if (strcmp(rep->ctype, "application/pdf") == 0) {
		if (rep->status != 200 || rep->len < 5 || memcmp(rep->body, "%PDF-", 5) != 0)
			die("a PDF answer that is not a PDF");
	}
	if (rep->status >= 400) {
		for (size_t i = 0; fz_address[i]; i++)
			if (fz_contains(rep->body, rep->len, fz_address[i]))
				die("an address in an error answer");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_fake_header h[FZ_HEADERS_MAX];
	struct http_fake_reply rep;
	char *text = NULL, *p, *line, *sp, *url, *body, *auth = NULL;
	size_t len = 0, nh = 0, body_len;

	fz_setup();
	text = fz_expand((const char *)data, size, true, &len);
	if (!text)
		return 0;
	/* The request line. */
	line = text;
	p = memchr(text, '\n', len);
	if (!p)
		goto out;
	*p = '\0';
	if (p > line && p[-1] == '\r')
		p[-1] = '\0';
	if (strlen(line) != (size_t)(p - line) && strlen(line) + 1 != (size_t)(p - line))
		goto out; /* a NUL in the request line: no client can send it */
	sp = strchr(line, ' ');
	if (!sp)
		goto out;
	*sp = '\0';
	url = sp + 1;
	/* Headers, to the empty line. */
	for (p++; (size_t)(p - text) < len;) {
		char *nl = memchr(p, '\n', len - (size_t)(p - text)), *colon;
		if (!nl)
			nl = text + len;
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if (!*p) {
			p = nl + 1;
			break;
		}
		colon = strchr(p, ':');
		if (colon && nh < FZ_HEADERS_MAX) {
			*colon++ = '\0';
			while (*colon == ' ')
				colon++;
			h[nh].name = p;
			h[nh].value = colon;
			if (strcasecmp(p, "Authorization") == 0 && !auth)
				auth = colon;
			nh++;
		}
		p = nl + 1;
	}
	if ((size_t)(p - text) > len)
		p = text + len;
	body = p;
	body_len = len - (size_t)(p - text);
	if (http_request_run_fake(&fz_app, line, url, h, nh, body, body_len, &rep) != ST_OK)
		goto out;
	if (getenv("FUZZ_HTTP_VERBOSE")) /* what each corpus input reached */
		fprintf(stderr, "%s %.60s -> %u %s %zu bytes\n", line, url, rep.status, rep.ctype,
			rep.len);
	fz_check(&rep, auth);
	http_fake_reply_release(&rep);
out:
	free(text);
	return 0;
}
