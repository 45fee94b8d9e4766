/*
 * oidc.c - bearer JWTs from an OpenID Connect provider (see oidc.h).
 *
 * The key set is immutable once built and reference counted: a request
 * takes a reference under the lock and verifies without it, a refresh
 * builds a new set and swaps it in.  Refreshes are serialised by their own
 * lock, so a burst of unknown key ids makes one fetch, not one each.
 */
#include "common.h"
#include "oidc.h"
#include "auth.h"
#include "buf.h"
#include "crypto.h"
#include "json.h"
#include "log.h"

#include <cjose/cjose.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

enum key_type { KEY_RSA, KEY_EC, KEY_OKP };

struct okey {
	char kid[128];
	enum key_type type;
	cjose_jwk_t *jwk;		      /* RSA, EC P-256 */
	unsigned char ed25519[SIGN_PK_BYTES]; /* OKP Ed25519 */
};

struct keyset {
	atomic_int refs;
	size_t n;
	struct okey keys[OIDC_KEYS_MAX];
};

struct role_map {
	char group[128];
	enum role role;
};

#define ROLE_MAP_MAX 32

struct oidc {
	char issuer[512];
	char audience[256];
	char role_claim[64], depot_claim[64], name_claim[64];
	struct role_map map[ROLE_MAP_MAX];
	size_t nmap;
	const struct keyring *kr;

	pthread_mutex_t lock; /* keys */
	struct keyset *keys;
	pthread_mutex_t fetch_lock; /* jwks_uri, last_refresh, fetch_ok; one fetch at a time */
	char jwks_uri[512];
	time_t last_refresh; /* last refresh asked for by an unknown kid */
	bool fetch_ok;	     /* whether the last fetch reached the provider */
};

/* ---- the key set ---------------------------------------------------------- */

static void keyset_put(struct keyset *ks)
{
	if (!ks || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ks->n; i++)
		cjose_jwk_release(ks->keys[i].jwk);
	free(ks);
}

static struct keyset *keyset_get(struct oidc *o)
{
	struct keyset *ks;

	pthread_mutex_lock(&o->lock);
	ks = o->keys;
	if (ks)
		atomic_fetch_add(&ks->refs, 1);
	pthread_mutex_unlock(&o->lock);
	return ks;
}

static void keyset_swap(struct oidc *o, struct keyset *ks)
{
	struct keyset *old;

	pthread_mutex_lock(&o->lock);
	old = o->keys;
	o->keys = ks;
	pthread_mutex_unlock(&o->lock);
	keyset_put(old);
}

static const struct okey *keyset_find(const struct keyset *ks, const char *kid)
{
	for (size_t i = 0; ks && i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return &ks->keys[i];
	return NULL;
}

/* ---- small helpers -------------------------------------------------------- */

static const char *json_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A base64url part (no padding) decoded by cjose; *out is freed with free_b64. */
static bool b64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
	cjose_err e;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return len > 0 && cjose_base64url_decode(s, len, out, outlen, &e);
}

static void free_b64(uint8_t *p)
{
	if (p)
		cjose_get_dealloc()(p);
}

/*
 * A name twice in an object: parsers disagree on which one counts (cJSON
 * takes the first, cjose's jansson the last), so a header or claim set
 * with one is refused.
 */
static bool dup_keys(const cJSON *obj)
{
	for (const cJSON *a = obj ? obj->child : NULL; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (a->string && b->string && strcmp(a->string, b->string) == 0)
				return true;
	return false;
}

/* Strict JSON (json.h's pre-scan, then cJSON) of len bytes. */
static cJSON *parse_json(const char *buf, size_t len)
{
	struct json_fault f;
	cJSON *root = NULL;

	if (json_prescan(buf, len, NULL, &f) != JSON_OK ||
	    json_parse_tree(buf, len, &root) != ST_OK)
		return NULL;
	return root;
}

/* The scheme, host and port of an http(s) URL, with the "/" after them. */
static size_t url_origin_len(const char *url)
{
	const char *p;

	if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else
		return 0;
	if (!*p || *p == '/')
		return 0;
	while (*p && *p != '/' && *p != '?' && *p != '#' && *p != '@')
		p++;
	if (*p == '@' || *p == '?' || *p == '#')
		return 0; /* no user info, query or fragment in an issuer */
	return (size_t)(p - url);
}

/* ---- fetching ------------------------------------------------------------- */

/* curl's write callback: the body into a struct buf of OIDC_BODY_MAX bytes. */
static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;

	return buf_add(b, data, add) == ST_OK ? add : 0;
}

/*
 * GET url (http or https only, no redirects, no proxy from the environment,
 * 2 s to connect, 5 s in all, OIDC_BODY_MAX bytes) into b, which the caller
 * releases on ST_OK.  Only 200 counts.
 */
static enum st http_get(const char *url, struct buf *b)
{
	CURL *c = curl_easy_init();
	long code = 0;
	CURLcode rc;

	buf_init(b, OIDC_BODY_MAX, false);
	if (!c)
		return ST_NOMEM;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)OIDC_BODY_MAX);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "waybilld");
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || code != 200 || !b->p) {
		log_warn("oidc: fetching %s failed: %s", url,
			 rc != CURLE_OK		  ? curl_easy_strerror(rc)
			 : buf_st(b) == ST_TOOBIG ? "too large"
						  : "not 200");
		buf_release(b);
		return ST_UNAVAILABLE;
	}
	return ST_OK;
}

/* One JWK of a JWKS into k; false to skip it (not a signing key we can use). */
static bool key_load(const cJSON *jwk, struct okey *k)
{
	const char *kty = json_str(jwk, "kty"), *kid = json_str(jwk, "kid");
	const char *use = json_str(jwk, "use"), *alg = json_str(jwk, "alg");
	cjose_err e;

	memset(k, 0, sizeof(*k));
	if (!kty || !kid || !*kid || strlen(kid) >= sizeof(k->kid) || (use && strcmp(use, "sig")))
		return false;
	str_copy(k->kid, sizeof(k->kid), kid);
	if (strcmp(kty, "OKP") == 0) {
		const char *crv = json_str(jwk, "crv"), *x = json_str(jwk, "x");
		uint8_t *raw = NULL;
		size_t rawlen = 0;
		bool good;

		if (!crv || strcmp(crv, "Ed25519") || !x || (alg && strcmp(alg, "EdDSA")) ||
		    !b64_decode(x, strlen(x), &raw, &rawlen))
			return false;
		good = rawlen == SIGN_PK_BYTES;
		if (good)
			memcpy(k->ed25519, raw, SIGN_PK_BYTES);
		free_b64(raw);
		k->type = KEY_OKP;
		return good;
	}
	if (strcmp(kty, "RSA") == 0 && (!alg || strcmp(alg, "RS256") == 0))
		k->type = KEY_RSA;
	else if (strcmp(kty, "EC") == 0 && (!alg || strcmp(alg, "ES256") == 0))
		k->type = KEY_EC;
	else
		return false;
	{
		char *text = cJSON_PrintUnformatted(jwk);
		if (!text)
			return false;
		k->jwk = cjose_jwk_import(text, strlen(text), &e);
		free(text);
	}
	if (!k->jwk)
		return false;
	if (k->type == KEY_EC && cjose_jwk_EC_get_curve(k->jwk, &e) != CJOSE_JWK_EC_P_256) {
		cjose_jwk_release(k->jwk);
		k->jwk = NULL;
		return false;
	}
	return true;
}

/* A key set from a JWKS document; NULL when it holds no usable key. */
static struct keyset *keyset_parse(const char *buf, size_t len)
{
	cJSON *root = parse_json(buf, len), *keys, *jwk;
	struct keyset *ks = NULL;

	keys = root ? cJSON_GetObjectItemCaseSensitive(root, "keys") : NULL;
	if (!cJSON_IsArray(keys) || !(ks = calloc(1, sizeof(*ks))))
		goto out;
	atomic_init(&ks->refs, 1);
	cJSON_ArrayForEach(jwk, keys)
	{
		if (ks->n == OIDC_KEYS_MAX)
			break;
		if (cJSON_IsObject(jwk) &&
		    !keyset_find(ks, json_str(jwk, "kid") ? json_str(jwk, "kid") : "") &&
		    key_load(jwk, &ks->keys[ks->n]))
			ks->n++;
	}
	if (ks->n == 0) {
		keyset_put(ks);
		ks = NULL;
	}
out:
	json_delete_wiped(root);
	return ks;
}

/* The discovery document's jwks_uri, which must be on the issuer's origin. */
static enum st discover(struct oidc *o)
{
	char url[600];
	struct buf b;
	cJSON *doc;
	const char *iss, *jwks;
	size_t origin = url_origin_len(o->issuer);
	enum st st;

	snprintf(url, sizeof(url), "%s%s.well-known/openid-configuration", o->issuer,
		 o->issuer[strlen(o->issuer) - 1] == '/' ? "" : "/");
	if ((st = http_get(url, &b)) != ST_OK)
		return st;
	doc = parse_json((const char *)b.p, b.len);
	buf_release(&b);
	iss = doc ? json_str(doc, "issuer") : NULL;
	jwks = doc ? json_str(doc, "jwks_uri") : NULL;
	if (!iss || strcmp(iss, o->issuer) != 0 || !jwks || strlen(jwks) >= sizeof(o->jwks_uri) ||
	    url_origin_len(jwks) != origin || strncmp(jwks, o->issuer, origin) != 0) {
		log_warn(
		    "oidc: the discovery document of %s names another issuer, or no jwks_uri on "
		    "its origin",
		    o->issuer);
		json_delete_wiped(doc);
		return ST_INVALID;
	}
	str_copy(o->jwks_uri, sizeof(o->jwks_uri), jwks);
	json_delete_wiped(doc);
	return ST_OK;
}

/* Fetch discovery (when not yet known) and the keys; fetch_lock held. */
static void refresh_locked(struct oidc *o)
{
	struct keyset *ks;
	struct buf b;
	enum st st = ST_OK;

	if (!o->jwks_uri[0])
		st = discover(o);
	if (st == ST_OK)
		st = http_get(o->jwks_uri, &b);
	if (st != ST_OK) {
		o->fetch_ok = false;
		o->jwks_uri[0] = '\0'; /* discover again next time */
		return;
	}
	o->fetch_ok = true;
	ks = keyset_parse((const char *)b.p, b.len);
	buf_release(&b);
	if (!ks) {
		log_warn("oidc: the JWKS of %s holds no RS256, ES256 or EdDSA signing key",
			 o->issuer);
		return;
	}
	log_info("oidc: %zu signing keys from %s", ks->n, o->issuer);
	keyset_swap(o, ks);
}

void oidc_start(struct oidc *o)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->fetch_lock);
	refresh_locked(o);
	pthread_mutex_unlock(&o->fetch_lock);
}

/*
 * The key with this kid, refreshing once per OIDC_REFRESH_S when it is not
 * cached.  *ks holds a reference on ST_OK.  ST_UNAUTH: the provider does
 * not know it either; ST_UNAVAILABLE: the provider cannot be asked.
 */
static enum st key_lookup(struct oidc *o, const char *kid, time_t now, struct keyset **ks,
			  const struct okey **key)
{
	bool reachable;

	*ks = keyset_get(o);
	if ((*key = keyset_find(*ks, kid)))
		return ST_OK;
	keyset_put(*ks);
	pthread_mutex_lock(&o->fetch_lock);
	*ks = keyset_get(o); /* another request may have refreshed meanwhile */
	*key = keyset_find(*ks, kid);
	if (!*key && (o->last_refresh == 0 || now - o->last_refresh >= OIDC_REFRESH_S)) {
		o->last_refresh = now;
		refresh_locked(o);
		keyset_put(*ks);
		*ks = keyset_get(o);
		*key = keyset_find(*ks, kid);
	}
	reachable = o->fetch_ok;
	pthread_mutex_unlock(&o->fetch_lock);
	if (*key)
		return ST_OK;
	keyset_put(*ks);
	*ks = NULL;
	return reachable ? ST_UNAUTH : ST_UNAVAILABLE;
}

/* ---- configuration -------------------------------------------------------- */

static enum st map_parse(struct oidc *o, const char *spec, char *err, size_t errlen)
{
	const char *p = spec;

	while (*p) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char role[16];
		struct role_map *m;

		eq = memchr(p, '=', len);
		if (!eq || eq == p || (size_t)(eq - p) >= sizeof(m->group) ||
		    len - (size_t)(eq - p) - 1 >= sizeof(role) || o->nmap == ROLE_MAP_MAX) {
			snprintf(
			    err, errlen,
			    "oidc_role_map: want GROUP=ROLE pairs joined by commas (at most %d)",
			    ROLE_MAP_MAX);
			return ST_INVALID;
		}
		m = &o->map[o->nmap++];
		memcpy(m->group, p, (size_t)(eq - p));
		m->group[eq - p] = '\0';
		memcpy(role, eq + 1, len - (size_t)(eq - p) - 1);
		role[len - (size_t)(eq - p) - 1] = '\0';
		m->role = role_parse(role);
		if (m->role == ROLE_NONE) {
			snprintf(err, errlen, "oidc_role_map: \"%s\" is no role", role);
			return ST_INVALID;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return ST_OK;
}

enum st oidc_new(const struct config *cfg, const struct keyring *kr, struct oidc **out, char *err,
		 size_t errlen)
{
	struct oidc *o;
	size_t origin;

	*out = NULL;
	if (!cfg->oidc_issuer[0])
		return ST_OK;
	origin = url_origin_len(cfg->oidc_issuer);
	if (!origin || strlen(cfg->oidc_issuer) >= sizeof(o->issuer)) {
		snprintf(err, errlen,
			 "oidc_issuer: want an http:// or https:// URL without user, "
			 "query or fragment");
		return ST_INVALID;
	}
	if (!cfg->oidc_audience[0] && !cfg->oidc_client_id[0]) {
		snprintf(err, errlen, "oidc_issuer is set: set oidc_client_id or oidc_audience");
		return ST_INVALID;
	}
	if (!cfg->oidc_role_claim[0] || !cfg->oidc_depot_claim[0] || !cfg->oidc_name_claim[0]) {
		snprintf(err, errlen,
			 "oidc_role_claim, oidc_depot_claim and oidc_name_claim must "
			 "name claims");
		return ST_INVALID;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return ST_NOMEM;
	}
	str_copy(o->issuer, sizeof(o->issuer), cfg->oidc_issuer);
	str_copy(o->audience, sizeof(o->audience),
		 cfg->oidc_audience[0] ? cfg->oidc_audience : cfg->oidc_client_id);
	str_copy(o->role_claim, sizeof(o->role_claim), cfg->oidc_role_claim);
	str_copy(o->depot_claim, sizeof(o->depot_claim), cfg->oidc_depot_claim);
	str_copy(o->name_claim, sizeof(o->name_claim), cfg->oidc_name_claim);
	o->kr = kr;
	if (map_parse(o, cfg->oidc_role_map, err, errlen) != ST_OK) {
		free(o);
		return ST_INVALID;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl failed to initialise");
		free(o);
		return ST_INTERNAL;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->fetch_lock, NULL);
	*out = o;
	return ST_OK;
}

void oidc_free(struct oidc *o)
{
	if (!o)
		return;
	keyset_put(o->keys);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->fetch_lock);
	free(o);
	curl_global_cleanup();
}

/* ---- verification --------------------------------------------------------- */

bool oidc_token_shape_ok(const char *token, size_t len)
{
	size_t dots = 0, part = 0;

	if (len < 10 || len > OIDC_TOKEN_MAX || memcmp(token, "eyJ", 3) != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = token[i];
		if (c == '.') {
			if (part == 0 || ++dots > 2)
				return false;
			part = 0;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
		part++;
	}
	return dots == 2; /* the signature may be empty: alg none, refused later */
}

/* The role the claim's values map to; ROLE_NONE for none or several. */
static enum role role_of(const struct oidc *o, const cJSON *claim)
{
	bool many = cJSON_IsArray(claim);
	int n = many ? cJSON_GetArraySize(claim) : claim ? 1 : 0;
	enum role found = ROLE_NONE;

	for (int i = 0; i < n; i++) {
		const cJSON *v = many ? cJSON_GetArrayItem(claim, i) : claim;
		enum role r = ROLE_NONE;

		if (!cJSON_IsString(v))
			continue;
		if (o->nmap == 0) {
			r = role_parse(v->valuestring);
		} else {
			for (size_t m = 0; m < o->nmap; m++)
				if (strcmp(o->map[m].group, v->valuestring) == 0)
					r = o->map[m].role;
		}
		if (r == ROLE_NONE)
			continue;
		if (found != ROLE_NONE && found != r)
			return ROLE_NONE; /* two roles: which one is meant is not ours to guess */
		found = r;
	}
	return found;
}

static bool aud_holds(const cJSON *aud, const char *want)
{
	const cJSON *v;

	if (cJSON_IsString(aud))
		return strcmp(aud->valuestring, want) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	cJSON_ArrayForEach(v, aud) if (cJSON_IsString(v) &&
				       strcmp(v->valuestring, want) == 0) return true;
	return false;
}

static bool num_claim(const cJSON *claims, const char *name, bool required, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, name);

	if (!v)
		return !required;
	if (!cJSON_IsNumber(v))
		return false;
	*out = v->valuedouble;
	return true;
}

/*
 * The claims, checked, into an account; why says what failed (no token
 * bytes).  *auth_time (may be NULL) gets the auth_time claim, -1 without one.
 */
static enum st claims_check(const struct oidc *o, const cJSON *claims, time_t now,
			    struct account *out, const char **why, double *auth_time)
{
	const char *iss = json_str(claims, "iss"), *sub = json_str(claims, "sub");
	const char *name = json_str(claims, o->name_claim);
	const char *depot = json_str(claims, o->depot_claim);
	double exp = 0, nbf = 0, iat = 0;
	unsigned char h[HASH_BYTES];
	uint64_t id = 0;
	char key[600];

	if (!iss || strcmp(iss, o->issuer) != 0)
		return *why = "wrong issuer", ST_UNAUTH;
	if (!aud_holds(cJSON_GetObjectItemCaseSensitive(claims, "aud"), o->audience))
		return *why = "wrong audience", ST_UNAUTH;
	if (!num_claim(claims, "exp", true, &exp))
		return *why = "no exp", ST_UNAUTH;
	if ((double)now > exp + OIDC_SKEW_S)
		return *why = "expired", ST_UNAUTH;
	nbf = (double)now;
	if (!num_claim(claims, "nbf", false, &nbf) || nbf > (double)now + OIDC_SKEW_S)
		return *why = "not yet valid (nbf)", ST_UNAUTH;
	iat = (double)now;
	if (!num_claim(claims, "iat", false, &iat) || iat > (double)now + OIDC_SKEW_S)
		return *why = "issued in the future (iat)", ST_UNAUTH;
	if (!sub || !*sub || strlen(sub) > 255)
		return *why = "no sub", ST_UNAUTH;
	if (auth_time) {
		*auth_time = -1;
		if (!num_claim(claims, "auth_time", false, auth_time))
			return *why = "auth_time not a number", ST_UNAUTH;
	}
	if (!name || strlen(name) + strlen(OIDC_NAME_PREFIX) >= NAME_MAX_BYTES || !name_valid(name))
		return *why = "name claim missing or not an account name", ST_UNAUTH;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s%s", OIDC_NAME_PREFIX, name);
	/* A stable id per subject, apart from the database's (positive) ones, for the limiters. */
	snprintf(key, sizeof(key), "oidc\n%s\n%s", o->issuer, sub);
	crypto_token_hash(o->kr, key, strlen(key), h);
	memcpy(&id, h, sizeof(id));
	out->id = -(int64_t)(id >> 1) - 1;
	out->role = role_of(o, cJSON_GetObjectItemCaseSensitive(claims, o->role_claim));
	if (out->role == ROLE_COURIER || out->role == ROLE_DEPOT) {
		if (!depot || !depot_valid(depot)) {
			*why = "courier or depot role without a valid depot claim";
			out->role = ROLE_NONE;
		} else {
			str_copy(out->depot, sizeof(out->depot), depot);
		}
	} else if (out->role == ROLE_NONE) {
		*why = "no role, or several, mapped from the role claim";
	}
	return ST_OK;
}

/* Check the compact JWS and its claims at time now (auth_time: see claims_check). */
static enum st verify_full(struct oidc *o, const char *token, size_t len, time_t now,
			   struct account *out, const char **why, double *auth_time)
{
	const char *dot1, *dot2, *alg, *kid;
	uint8_t *hdr_raw = NULL, *pay_raw = NULL, *sig = NULL;
	size_t hdr_len = 0, pay_len = 0, sig_len = 0;
	cJSON *hdr = NULL, *claims = NULL;
	struct keyset *ks = NULL;
	const struct okey *key = NULL;
	cjose_jws_t *jws = NULL;
	cjose_err e;
	enum st st = ST_UNAUTH;

	*why = "malformed";
	if (!oidc_token_shape_ok(token, len))
		return ST_UNAUTH;
	dot1 = memchr(token, '.', len);
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (!b64_decode(token, (size_t)(dot1 - token), &hdr_raw, &hdr_len) ||
	    !(hdr = parse_json((const char *)hdr_raw, hdr_len)) || !cJSON_IsObject(hdr) ||
	    dup_keys(hdr))
		goto out;
	alg = json_str(hdr, "alg");
	kid = json_str(hdr, "kid");
	if (!alg || (strcmp(alg, "RS256") && strcmp(alg, "ES256") && strcmp(alg, "EdDSA"))) {
		*why = "alg not RS256, ES256 or EdDSA";
		goto out;
	}
	if (cJSON_GetObjectItemCaseSensitive(hdr, "crit")) {
		*why = "crit header";
		goto out;
	}
	if (!kid || !*kid) {
		*why = "no kid";
		goto out;
	}
	st = key_lookup(o, kid, now, &ks, &key);
	if (st != ST_OK) {
		*why = st == ST_UNAVAILABLE ? "unknown kid, provider unreachable" : "unknown kid";
		goto out;
	}
	st = ST_UNAUTH;
	if ((strcmp(alg, "RS256") == 0 && key->type != KEY_RSA) ||
	    (strcmp(alg, "ES256") == 0 && key->type != KEY_EC) ||
	    (strcmp(alg, "EdDSA") == 0 && key->type != KEY_OKP)) {
		*why = "alg does not match the key's type";
		goto out;
	}
	*why = "bad signature";
	if (key->type == KEY_OKP) {
		if (dot2 + 1 == token + len ||
		    !b64_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &sig_len) ||
		    sig_len != SIGN_BYTES ||
		    !crypto_ed25519_verify(key->ed25519, token, (size_t)(dot2 - token), sig) ||
		    !b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &pay_raw, &pay_len))
			goto out;
	} else {
		uint8_t *plain = NULL;
		size_t plain_len = 0;

		jws = cjose_jws_import(token, len, &e);
		if (!jws || !cjose_jws_verify(jws, key->jwk, &e) ||
		    !cjose_jws_get_plaintext(jws, &plain, &plain_len, &e))
			goto out;
		/* A copy, so both paths free the same way. */
		if (!b64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &pay_raw, &pay_len) ||
		    pay_len != plain_len || memcmp(pay_raw, plain, plain_len) != 0)
			goto out;
	}
	*why = "claims not a JSON object, or a claim twice";
	claims = parse_json((const char *)pay_raw, pay_len);
	if (!cJSON_IsObject(claims) || dup_keys(claims))
		goto out;
	st = claims_check(o, claims, now, out, why, auth_time);
out:
	if (st != ST_OK)
		memset(out, 0, sizeof(*out));
	cjose_jws_release(jws);
	keyset_put(ks);
	json_delete_wiped(claims);
	json_delete_wiped(hdr);
	free_b64(sig);
	free_b64(pay_raw);
	free_b64(hdr_raw);
	return st;
}

static enum st verify_at(struct oidc *o, const char *token, size_t len, time_t now,
			 struct account *out, const char **why)
{
	return verify_full(o, token, len, now, out, why, NULL);
}

enum st oidc_authenticate(struct oidc *o, const char *token, size_t len, struct account *out)
{
	const char *why = NULL;
	enum st st = verify_at(o, token, len, time(NULL), out, &why);

	if (st != ST_OK)
		log_info("oidc: token refused: %s", why);
	else if (out->role == ROLE_NONE)
		log_info("oidc: %s has no usable role: %s", out->name, why);
	return st;
}

enum st oidc_login_age(struct oidc *o, const char *authorization, long *age)
{
	const char *token, *why = NULL;
	struct account a;
	double at = -1;
	time_t now = time(NULL);
	size_t len;
	enum st st;

	token = auth_bearer_token(authorization, &len);
	if (!o || !token)
		return ST_UNAUTH;
	st = verify_full(o, token, len, now, &a, &why, &at);
	memset(&a, 0, sizeof(a));
	if (st != ST_OK)
		return st;
	if (at < 0)
		return ST_NOTFOUND;
	*age = at >= (double)now ? 0 : (long)((double)now - at);
	return ST_OK;
}
