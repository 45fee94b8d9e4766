/*
 * test_oidc.c - bearer JWTs: tokens forged here with keys made here (RSA and
 * EC P-256 by cjose, Ed25519 by the keyring's checkpoint key) against a key
 * set loaded as a JWKS.  A table of claim sets, each with the status, role
 * and depot it must give; every algorithm and header trick that must fail;
 * the key set's parser; and the refresh rules with a provider that cannot
 * be reached (port 1 on loopback: refused at once).
 */
#include "../../server/oidc.c"

#include <unistd.h>

#include "t.h"

#define ISS "http://127.0.0.1:1"
#define AUD "urn:waybill:api"

static char dir[256];
static cjose_jwk_t *rsa, *ec;
static struct keyring *kr;

static char *b64(const void *buf, size_t len)
{
	char *out = NULL;
	size_t outlen = 0;
	cjose_err e;

	if (!cjose_base64url_encode(buf, len, &out, &outlen, &e))
		return NULL;
	return out;
}

/* A compact JWS of payload, header {"alg":alg,"kid":kid}, signed by the key of kid's type. */
static char *sign(const char *alg, const char *kid, const char *payload)
{
	static char out[OIDC_TOKEN_MAX];
	cjose_err e;

	if (strcmp(alg, "EdDSA") == 0 || strcmp(alg, "none") == 0 || strcmp(alg, "HS256") == 0) {
		char hdr[128], input[OIDC_TOKEN_MAX];
		unsigned char sig[SIGN_BYTES];
		char *h, *p, *s = NULL;
		int n;

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
		h = b64(hdr, strlen(hdr));
		p = b64(payload, strlen(payload));
		snprintf(input, sizeof(input), "%s.%s", h, p);
		if (strcmp(alg, "EdDSA") == 0) {
			crypto_checkpoint_sign(kr, input, strlen(input), sig);
			s = b64(sig, sizeof(sig));
		}
		/* HS256: any MAC; the algorithm alone must refuse it */
		n = snprintf(out, sizeof(out), "%s.%s", input,
			     s				 ? s
			     : strcmp(alg, "HS256") == 0 ? "c2lnbmF0dXJlc2lnbmF0dXJl"
							 : "");
		free(h), free(p), free(s);
		return n < (int)sizeof(out) ? out : NULL;
	}
	{
		cjose_header_t *hdr = cjose_header_new(&e);
		cjose_jws_t *jws;
		const char *ser = NULL;

		cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &e);
		cjose_header_set(hdr, CJOSE_HDR_KID, kid, &e);
		jws = cjose_jws_sign(strcmp(alg, "ES256") == 0 ? ec : rsa, hdr,
				     (const uint8_t *)payload, strlen(payload), &e);
		if (!jws || !cjose_jws_export(jws, &ser, &e)) {
			fprintf(stderr, "cjose_jws_sign %s: %s\n", alg, e.message);
			exit(1);
		}
		snprintf(out, sizeof(out), "%s", ser);
		cjose_jws_release(jws);
		cjose_header_release(hdr);
		return out;
	}
}

static const char *pub_json(cjose_jwk_t *k, const char *kid)
{
	cjose_err e;

	cjose_jwk_set_kid(k, kid, strlen(kid), &e);
	return cjose_jwk_to_json(k, false, &e);
}

static struct oidc *make(const char *map)
{
	struct config c;
	struct oidc *o = NULL;
	char err[256] = "";

	config_defaults(&c);
	str_copy(c.oidc_issuer, sizeof(c.oidc_issuer), ISS);
	str_copy(c.oidc_audience, sizeof(c.oidc_audience), AUD);
	str_copy(c.oidc_role_map, sizeof(c.oidc_role_map), map);
	if (oidc_new(&c, kr, &o, err, sizeof(err)) != ST_OK || !o) {
		fprintf(stderr, "oidc_new: %s\n", err);
		exit(1);
	}
	return o;
}

/* Valid claims for name (sub "s-" + name) with groups (JSON) and extra members. */
static const char *claims_of(const char *name, const char *groups, const char *extra, time_t now)
{
	static char out[1024];

	snprintf(out, sizeof(out),
		 "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"s-%s\",\"preferred_username\":"
		 "\"%s\",\"iat\":%lld,\"exp\":%lld,\"groups\":%s%s}",
		 name, name, (long long)now, (long long)now + 300, groups, extra);
	return out;
}

/* The test's JWKS: RSA "r1", EC "e1", Ed25519 "d1", and keys that must be skipped. */
static struct keyset *test_keys(void)
{
	unsigned char pk[SIGN_PK_BYTES];
	char jwks[8192], *x;
	struct keyset *ks;
	const char *r = pub_json(rsa, "r1"), *e = pub_json(ec, "e1");

	crypto_checkpoint_key(kr, pk);
	x = b64(pk, sizeof(pk));
	snprintf(
	    jwks, sizeof(jwks),
	    "{\"keys\":[%s,%s,{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"d1\","
	    "\"use\":\"sig\"},"
	    "{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"h1\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\",\"kid\":\"x1\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",\"kid\":\"enc1\",\"use\":\"enc\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\",\"kid\":\"short\"},"
	    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}]}",
	    r, e, x, x, x, x);
	free((void *)r), free((void *)e), free(x);
	ks = keyset_parse(jwks, strlen(jwks));
	CHECK(ks != NULL);
	if (!ks)
		exit(1);
	return ks;
}

/* curl's write callback takes a document up to OIDC_BODY_MAX bytes, and no byte more. */
static void test_body_limit(void)
{
	static char chunk[16384];
	struct buf b;
	size_t n = 0;

	memset(chunk, '{', sizeof(chunk));
	buf_init(&b, OIDC_BODY_MAX, false);
	while (n + sizeof(chunk) <= OIDC_BODY_MAX) {
		CHECK(body_write(chunk, 1, sizeof(chunk), &b) == sizeof(chunk));
		n += sizeof(chunk);
	}
	CHECK(b.len == n && b.p && b.p[n] == '\0');
	CHECK(body_write(chunk, 1, OIDC_BODY_MAX - n, &b) == OIDC_BODY_MAX - n);
	CHECK(b.len == OIDC_BODY_MAX);
	CHECK(body_write(chunk, 1, 1, &b) == 0); /* one past: curl aborts the transfer */
	CHECK(buf_st(&b) == ST_TOOBIG && b.p == NULL);
	CHECK(body_write(chunk, 1, 1, &b) == 0); /* and it sticks */
	buf_release(&b);
}

static void test_keyset(void)
{
	struct keyset *ks = test_keys();

	CHECK(ks->n == 3);
	CHECK(keyset_find(ks, "r1") && keyset_find(ks, "r1")->type == KEY_RSA);
	CHECK(keyset_find(ks, "e1") && keyset_find(ks, "e1")->type == KEY_EC);
	CHECK(keyset_find(ks, "d1") && keyset_find(ks, "d1")->type == KEY_OKP);
	CHECK(!keyset_find(ks, "h1"));	  /* a symmetric key: never */
	CHECK(!keyset_find(ks, "x1"));	  /* not a signing curve */
	CHECK(!keyset_find(ks, "enc1"));  /* use enc */
	CHECK(!keyset_find(ks, "short")); /* 3 bytes */
	keyset_put(ks);
	CHECK(keyset_parse("{\"keys\":[]}", 11) == NULL);
	CHECK(keyset_parse("{\"keys\":{}}", 11) == NULL);
	CHECK(keyset_parse("not json", 8) == NULL);
}

struct row {
	const char *name;
	const char *claims; /* %1$lld is now */
	enum st st;
	enum role role;
	const char *depot;
};

#define ISSC "\"iss\":\"" ISS "\""
#define AUDC "\"aud\":\"" AUD "\""
#define SUBC "\"sub\":\"s-1\""
#define NAMEC "\"preferred_username\":\"alice\""
#define BASE ISSC "," AUDC "," SUBC ",\"iat\":%1$lld"
#define ALICE BASE "," NAMEC
#define NOAUD ISSC "," SUBC "," NAMEC
#define ADMIN ",\"exp\":1e12,\"groups\":\"admins\"}"

static const struct row rows[] = {
    {"a courier", "{" ALICE ",\"exp\":%1$lld+300,\"groups\":[\"couriers\"],\"depot\":\"D1\"}",
     ST_OK, ROLE_COURIER, "D1"},
    {"aud in an array", "{" NOAUD ",\"aud\":[\"x\",\"" AUD "\"]" ADMIN, ST_OK, ROLE_ADMIN, ""},
    {"aud array without ours", "{" NOAUD ",\"aud\":[\"x\"]" ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"aud another app's", "{" NOAUD ",\"aud\":\"other\"" ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"aud a prefix of ours", "{" NOAUD ",\"aud\":\"urn:waybill\"" ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"no aud", "{" NOAUD ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"iss with a slash more", "{\"iss\":\"" ISS "/\"," AUDC "," SUBC "," NAMEC ADMIN, ST_UNAUTH,
     ROLE_NONE, ""},
    {"iss another host", "{\"iss\":\"http://127.0.0.2:1\"," AUDC "," SUBC "," NAMEC ADMIN,
     ST_UNAUTH, ROLE_NONE, ""},
    {"no iss", "{" AUDC "," SUBC "," NAMEC ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"no exp", "{" ALICE ",\"groups\":\"admins\"}", ST_UNAUTH, ROLE_NONE, ""},
    {"exp a string", "{" ALICE ",\"exp\":\"99999999999\",\"groups\":\"admins\"}", ST_UNAUTH,
     ROLE_NONE, ""},
    {"expired 61 s ago", "{" ALICE ",\"exp\":%1$lld-61,\"groups\":\"admins\"}", ST_UNAUTH,
     ROLE_NONE, ""},
    {"expired 59 s ago: within the skew", "{" ALICE ",\"exp\":%1$lld-59,\"groups\":\"admins\"}",
     ST_OK, ROLE_ADMIN, ""},
    {"nbf in 61 s", "{" ALICE ",\"nbf\":%1$lld+61" ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"nbf in 59 s", "{" ALICE ",\"nbf\":%1$lld+59" ADMIN, ST_OK, ROLE_ADMIN, ""},
    {"nbf not a number", "{" ALICE ",\"nbf\":null" ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"iat two minutes ahead", "{" NOAUD "," AUDC ",\"iat\":%1$lld+120" ADMIN, ST_UNAUTH, ROLE_NONE,
     ""},
    {"no iat", "{" NOAUD "," AUDC ADMIN, ST_OK, ROLE_ADMIN, ""},
    {"no sub", "{" ISSC "," AUDC "," NAMEC ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"empty sub", "{" ISSC "," AUDC ",\"sub\":\"\"," NAMEC ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"sub a number", "{" ISSC "," AUDC ",\"sub\":7," NAMEC ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"no name claim", "{" BASE ADMIN, ST_UNAUTH, ROLE_NONE, ""},
    {"a name with capitals", "{" BASE ",\"preferred_username\":\"Alice\"" ADMIN, ST_UNAUTH,
     ROLE_NONE, ""},
    {"a name that is an e-mail address", "{" BASE ",\"preferred_username\":\"a@b.example\"" ADMIN,
     ST_UNAUTH, ROLE_NONE, ""},
    {"a 27-character name",
     "{" BASE ",\"preferred_username\":\"abcdefghijklmnopqrstuvwxyz0\"" ADMIN, ST_OK, ROLE_ADMIN,
     ""},
    {"a 28-character name: oidc: would not fit",
     "{" BASE ",\"preferred_username\":\"abcdefghijklmnopqrstuvwxyz01\"" ADMIN, ST_UNAUTH,
     ROLE_NONE, ""},
    {"depot staff, groups a string",
     "{" ALICE ",\"exp\":1e12,\"groups\":\"depot-staff\",\"depot\":\"north.1\"}", ST_OK, ROLE_DEPOT,
     "north.1"},
    {"two roles", "{" ALICE ",\"exp\":1e12,\"groups\":[\"couriers\",\"admins\"],\"depot\":\"D1\"}",
     ST_OK, ROLE_NONE, ""},
    {"one role twice, other groups beside",
     "{" ALICE ",\"exp\":1e12,\"groups\":[\"staff\",\"couriers\",\"couriers\",7],\"depot\":"
     "\"D1\"}",
     ST_OK, ROLE_COURIER, "D1"},
    {"no mapped group", "{" ALICE ",\"exp\":1e12,\"groups\":[\"staff\"]}", ST_OK, ROLE_NONE, ""},
    {"a role name that is not mapped", "{" ALICE ",\"exp\":1e12,\"groups\":[\"admin\"]}", ST_OK,
     ROLE_NONE, ""},
    {"no groups claim", "{" ALICE ",\"exp\":1e12}", ST_OK, ROLE_NONE, ""},
    {"groups a number", "{" ALICE ",\"exp\":1e12,\"groups\":42}", ST_OK, ROLE_NONE, ""},
    {"a courier without depot", "{" ALICE ",\"exp\":1e12,\"groups\":[\"couriers\"]}", ST_OK,
     ROLE_NONE, ""},
    {"a courier with a bad depot",
     "{" ALICE ",\"exp\":1e12,\"groups\":[\"couriers\"],\"depot\":\"D 1\"}", ST_OK, ROLE_NONE, ""},
    {"an admin's depot claim is ignored",
     "{" ALICE ",\"exp\":1e12,\"groups\":[\"admins\"],\"depot\":\"D1\"}", ST_OK, ROLE_ADMIN, ""},
    {"claims an array", "[1]", ST_UNAUTH, ROLE_NONE, ""},
    {"a claim twice", "{" ALICE ",\"exp\":1e12,\"groups\":\"staff\",\"groups\":\"admins\"}",
     ST_UNAUTH, ROLE_NONE, ""},
    {"claims with a NUL", "{" ALICE ",\"exp\":1e12,\"groups\":\"admins\\u0000\"}", ST_UNAUTH,
     ROLE_NONE, ""},
};

static void expand(const char *tmpl, time_t now, char *out, size_t cap)
{
	size_t n = 0;

	while (*tmpl && n + 32 < cap) {
		if (strncmp(tmpl, "%1$lld", 6) == 0) {
			long long v = (long long)now;
			char *end;
			tmpl += 6;
			if (*tmpl == '+' || *tmpl == '-') {
				long d = strtol(tmpl + 1, &end, 10);
				v += *tmpl == '+' ? d : -d;
				tmpl = end;
			}
			n += (size_t)snprintf(out + n, cap - n, "%lld", v);
		} else {
			out[n++] = *tmpl++;
		}
	}
	out[n] = '\0';
}

static void test_claims(struct oidc *o, time_t now)
{
	static const char *algs[][2] = {{"RS256", "r1"}, {"ES256", "e1"}, {"EdDSA", "d1"}};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char claims[2048];
		struct account a;
		const char *why = NULL;
		enum st st;

		expand(rows[i].claims, now, claims, sizeof(claims));
		{
			const char *alg = algs[i % 3][0], *kid = algs[i % 3][1];
			const char *tok = sign(alg, kid, claims);
			st = verify_at(o, tok, strlen(tok), now, &a, &why);
		}
		CHECKF(st == rows[i].st, "%s: status %s (%s)", rows[i].name, st_name(st),
		       why ? why : "-");
		if (st == ST_OK) {
			CHECKF(a.role == rows[i].role, "%s: role %s", rows[i].name,
			       role_name(a.role));
			CHECKF(strcmp(a.depot, rows[i].depot) == 0, "%s: depot \"%s\"",
			       rows[i].name, a.depot);
			CHECKF(strncmp(a.name, "oidc:", 5) == 0 && a.id < 0, "%s: name %s",
			       rows[i].name, a.name);
		} else {
			CHECKF(a.name[0] == '\0' && a.role == ROLE_NONE, "%s: account cleared",
			       rows[i].name);
		}
	}
}

static void test_signatures(struct oidc *o, time_t now)
{
	char claims[1024], bad[OIDC_TOKEN_MAX];
	struct account a, b;
	const char *why, *tok;
	char *dot;

	str_copy(claims, sizeof(claims), claims_of("bob", "\"admins\"", "", now));
	tok = sign("RS256", "r1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_OK);
	CHECK_STR(a.name, "oidc:bob");
	tok = sign("ES256", "e1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &b, &why) == ST_OK);
	CHECK(a.id == b.id); /* the same subject is the same account, whatever signed */
	tok = sign("EdDSA", "d1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_OK && a.role == ROLE_ADMIN);

	/* alg none, with and without a signature part; HS256; RS512 */
	tok = sign("none", "r1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAUTH);
	snprintf(bad, sizeof(bad), "%sAAAA", sign("none", "r1", claims));
	CHECK(verify_at(o, bad, strlen(bad), now, &a, &why) == ST_UNAUTH);
	tok = sign("HS256", "r1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAUTH);
	tok = sign("RS512", "r1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAUTH);
	/* an algorithm named on a key of another type */
	tok = sign("RS256", "e1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAUTH);
	tok = sign("EdDSA", "r1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAUTH);
	tok = sign("ES256", "d1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAUTH);
	/* the right kid, another key's signature */
	{
		char hdr_swap[OIDC_TOKEN_MAX];
		const char *rs = sign("RS256", "r1", claims);
		const char *es;

		str_copy(hdr_swap, sizeof(hdr_swap), rs);
		es = sign("EdDSA", "d1", claims);
		/* EdDSA header and payload with the RSA token's signature */
		snprintf(bad, sizeof(bad), "%.*s%s", (int)(strrchr(es, '.') - es), es,
			 strrchr(hdr_swap, '.'));
		CHECK(verify_at(o, bad, strlen(bad), now, &a, &why) == ST_UNAUTH);
	}
	/* a payload changed after signing, for each algorithm */
	{
		static const char *algs[][2] = {{"RS256", "r1"}, {"ES256", "e1"}, {"EdDSA", "d1"}};
		char *p2 = b64("{\"iss\":\"" ISS "\",\"aud\":\"" AUD
			       "\",\"sub\":\"s-2\",\"preferred_username\":\"bob\","
			       "\"exp\":99999999999,\"groups\":\"admins\"}",
			       strlen("{\"iss\":\"" ISS "\",\"aud\":\"" AUD
				      "\",\"sub\":\"s-2\",\"preferred_username\":\"bob\","
				      "\"exp\":99999999999,\"groups\":\"admins\"}"));
		for (size_t i = 0; i < 3; i++) {
			const char *t = sign(algs[i][0], algs[i][1], claims);
			const char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
			snprintf(bad, sizeof(bad), "%.*s%s%s", (int)(d1 - t + 1), t, p2, d2);
			CHECKF(verify_at(o, bad, strlen(bad), now, &a, &why) == ST_UNAUTH,
			       "tampered %s", algs[i][0]);
			/* one signature character changed */
			str_copy(bad, sizeof(bad), t);
			dot = strrchr(bad, '.') + 5;
			*dot = *dot == 'A' ? 'B' : 'A';
			CHECKF(verify_at(o, bad, strlen(bad), now, &a, &why) == ST_UNAUTH,
			       "signature %s", algs[i][0]);
			/* no signature */
			str_copy(bad, sizeof(bad), t);
			strrchr(bad, '.')[1] = '\0';
			CHECKF(verify_at(o, bad, strlen(bad), now, &a, &why) == ST_UNAUTH,
			       "unsigned %s", algs[i][0]);
		}
		free(p2);
	}
	/* headers: no kid, a crit parameter, not JSON */
	{
		const char *hdrs[] = {"{\"alg\":\"RS256\"}",
				      "{\"alg\":\"RS256\",\"kid\":\"\"}",
				      "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}",
				      "{\"alg\":\"RS256\",\"kid\":\"r1\"",
				      "{\"alg\":\"RS256\",\"kid\":\"r1\",\"alg\":\"HS256\"}",
				      "[]"};
		for (size_t i = 0; i < ARRAY_SIZE(hdrs); i++) {
			char *h = b64(hdrs[i], strlen(hdrs[i]));
			const char *t = sign("RS256", "r1", claims);
			snprintf(bad, sizeof(bad), "%s%s", h, strchr(t, '.'));
			CHECKF(verify_at(o, bad, strlen(bad), now, &a, &why) == ST_UNAUTH,
			       "header %s", hdrs[i]);
			free(h);
		}
	}
}

static void test_shape(void)
{
	CHECK(oidc_token_shape_ok("eyJhbGciOi.eyJzdWIi.c2ln", 24));
	CHECK(oidc_token_shape_ok("eyJhbGciOi.eyJzdWIi.", 20)); /* alg none: refused later */
	CHECK(!oidc_token_shape_ok("eyJhbGciOi.eyJzdWIi", 19));
	CHECK(!oidc_token_shape_ok("eyJhbGciOi..c2ln", 16));
	CHECK(!oidc_token_shape_ok("eyJhbGciOi.eyJ.zdWIi.c2ln", 25));
	CHECK(!oidc_token_shape_ok("eyJhbGciOi.eyJzdWIi.c2l=", 24));
	CHECK(!oidc_token_shape_ok("eyJhbGciOi.eyJz+WIi.c2ln", 24));
	CHECK(!oidc_token_shape_ok("wb_0123456789abcdef", 19));
	{
		static char big[OIDC_TOKEN_MAX + 8];
		memset(big, 'A', sizeof(big) - 1);
		memcpy(big, "eyJ", 3);
		big[100] = '.', big[200] = '.';
		CHECK(oidc_token_shape_ok(big, OIDC_TOKEN_MAX));
		CHECK(!oidc_token_shape_ok(big, OIDC_TOKEN_MAX + 1));
	}
}

static void test_config(void)
{
	static const struct {
		const char *issuer, *client, *aud, *map;
		bool ok;
	} cases[] = {
	    {"https://sso.example.com/realms/x", "waybill", "", "", true},
	    {"http://127.0.0.1:8081", "", "api", "a=courier,b=depot", true},
	    {"https://sso.example.com", "", "", "", false},	 /* no audience */
	    {"ftp://sso.example.com", "w", "", "", false},	 /* not http(s) */
	    {"https://", "w", "", "", false},			 /* no host */
	    {"https://u:p@sso.example.com", "w", "", "", false}, /* user info */
	    {"https://sso.example.com?x=1", "w", "", "", false},
	    {"https://sso.example.com", "w", "", "x", false},
	    {"https://sso.example.com", "w", "", "=courier", false},
	    {"https://sso.example.com", "w", "", "a=boss", false},
	    {"https://sso.example.com", "w", "", "a=courier,", true},
	};
	struct config c;
	struct oidc *o;
	char err[256];

	config_defaults(&c);
	CHECK(oidc_new(&c, kr, &o, err, sizeof(err)) == ST_OK && o == NULL); /* unset: off */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		config_defaults(&c);
		str_copy(c.oidc_issuer, sizeof(c.oidc_issuer), cases[i].issuer);
		str_copy(c.oidc_client_id, sizeof(c.oidc_client_id), cases[i].client);
		str_copy(c.oidc_audience, sizeof(c.oidc_audience), cases[i].aud);
		str_copy(c.oidc_role_map, sizeof(c.oidc_role_map), cases[i].map);
		err[0] = '\0';
		enum st st = oidc_new(&c, kr, &o, err, sizeof(err));
		CHECKF((st == ST_OK) == cases[i].ok, "issuer %s map %s: %s", cases[i].issuer,
		       cases[i].map, err);
		CHECKF(cases[i].ok || err[0], "an error message for %s", cases[i].issuer);
		if (st == ST_OK && i == 0)
			CHECK_STR(o->audience, "waybill"); /* aud defaults to the client id */
		oidc_free(o);
	}
}

/* The provider at ISS cannot be reached: cached keys work, unknown kids are 503. */
static void test_refresh(struct oidc *o, time_t now)
{
	char claims[1024];
	struct account a;
	const char *why, *tok;

	str_copy(claims, sizeof(claims), claims_of("carol", "\"admins\"", "", now));
	tok = sign("RS256", "r9", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAVAILABLE);
	CHECK(o->last_refresh == now && !o->fetch_ok);
	o->last_refresh = now - 10;
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAVAILABLE);
	CHECK(o->last_refresh == now - 10); /* within the minute: no new fetch */
	tok = sign("RS256", "r1", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_OK); /* cached */
	/* The provider answered last time and the kid is still unknown: 401. */
	o->fetch_ok = true;
	tok = sign("RS256", "r9", claims);
	CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_UNAUTH);
	/* A minute on, the next unknown kid fetches again (and finds no provider). */
	CHECK(verify_at(o, tok, strlen(tok), now + OIDC_REFRESH_S, &a, &why) == ST_UNAVAILABLE);
	CHECK(o->last_refresh == now + OIDC_REFRESH_S);
	/* A failed fetch keeps the cached keys. */
	CHECK(o->keys && o->keys->n == 3);
}

static void test_login_age(struct oidc *o, time_t now)
{
	static const struct {
		const char *extra, *prefix, *alg, *kid;
		enum st st;
		long lo, hi;
	} cases[] = {
	    {",\"auth_time\":%1$lld-100", "bearer  ", "EdDSA", "d1", ST_OK, 100, 109},
	    {",\"auth_time\":%1$lld-100", "Bearer ", "RS256", "r1", ST_OK, 100, 109},
	    {",\"auth_time\":1e13", "Bearer ", "ES256", "e1", ST_OK, 0, 0}, /* ahead: just now */
	    {"", "Bearer ", "RS256", "r1", ST_NOTFOUND, 0, 0},
	    {",\"auth_time\":\"yesterday\"", "Bearer ", "RS256", "r1", ST_UNAUTH, 0, 0},
	    {",\"auth_time\":%1$lld-100", "Basic ", "RS256", "r1", ST_UNAUTH, 0, 0},
	};
	char extra[64], hdr[OIDC_TOKEN_MAX + 32];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		long age = -1;
		enum st st;

		expand(cases[i].extra, now, extra, sizeof(extra));
		snprintf(
		    hdr, sizeof(hdr), "%s%s ", cases[i].prefix,
		    sign(cases[i].alg, cases[i].kid, claims_of("erin", "\"admins\"", extra, now)));
		st = oidc_login_age(o, hdr, &age);
		CHECKF(st == cases[i].st, "case %zu: %s", i, st_name(st));
		CHECKF(st != ST_OK || (age >= cases[i].lo && age <= cases[i].hi),
		       "case %zu: age %ld", i, age);
	}
	CHECK(oidc_login_age(o, "Bearer wb_0123", (long[]){0}) == ST_UNAUTH);
	CHECK(oidc_login_age(o, NULL, (long[]){0}) == ST_UNAUTH);
	CHECK(oidc_login_age(NULL, hdr, (long[]){0}) == ST_UNAUTH);
}

int main(void)
{
	static const uint8_t e65537[] = {1, 0, 1};
	char path[512], err[512];
	cjose_err e;
	struct oidc *o;
	time_t now = time(NULL);

	snprintf(dir, sizeof(dir), "/tmp/test_oidc.XXXXXX");
	if (!mkdtemp(dir) || crypto_init() != ST_OK)
		return 1;
	snprintf(path, sizeof(path), "%s/key", dir);
	if (keyring_generate(path, err, sizeof(err)) != ST_OK ||
	    keyring_load(path, &kr, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	rsa = cjose_jwk_create_RSA_random(2048, e65537, sizeof(e65537), &e);
	ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &e);
	if (!rsa || !ec)
		return 1;

	test_shape();
	test_config();
	test_body_limit();
	test_keyset();
	o = make("couriers=courier,depot-staff=depot,admins=admin");
	keyset_swap(o, test_keys());
	test_claims(o, now);
	test_signatures(o, now);
	test_login_age(o, now);
	test_refresh(o, now);
	oidc_free(o);

	{
		/* Without a map, the claim's values are our role names. */
		struct account a;
		const char *why, *tok;

		o = make("");
		keyset_swap(o, test_keys());
		tok = sign("ES256", "e1", claims_of("dave", "[\"staff\",\"auditor\"]", "", now));
		CHECK(verify_at(o, tok, strlen(tok), now, &a, &why) == ST_OK &&
		      a.role == ROLE_AUDITOR);
		oidc_free(o);
	}

	cjose_jwk_release(rsa);
	cjose_jwk_release(ec);
	keyring_free(kr);
	unlink(path);
	rmdir(dir);
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}
