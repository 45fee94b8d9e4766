/*
 * oidc.h - bearer JWTs from the company's OpenID Connect provider.
 *
 * The only user of curl.h and cjose.h.  With oidc_issuer set, a bearer
 * token shaped like a compact JWS (three base64url parts) is checked here:
 * the issuer's discovery document and JWKS are fetched (http or https, only
 * from the issuer's own origin, bounded in time and size) and cached; an
 * unknown key id refreshes them at most once a minute, and while the
 * provider cannot be reached the cached keys keep working and unknown ones
 * answer ST_UNAVAILABLE.  The signature (RS256, ES256 by cjose; EdDSA over
 * Ed25519 by crypto.c) must come from a key of the matching type; iss must
 * be oidc_issuer exactly, aud must hold oidc_audience, exp, nbf and iat are
 * checked with OIDC_SKEW_S of clock skew.
 *
 * The account is not in the database: its name is "oidc:" + the
 * oidc_name_claim (the account name rule, at most 27 characters so the
 * whole fits NAME_MAX_BYTES), its role comes from oidc_role_claim (a string
 * or an array of strings) through oidc_role_map, its depot from
 * oidc_depot_claim (the depot rule).  A valid token whose identity maps to
 * no role, to more than one, or to a courier or depot role without a depot
 * yields ROLE_NONE, which every route refuses with 403.
 */
#ifndef WAYBILL_OIDC_H
#define WAYBILL_OIDC_H

#include "common.h"
#include "config.h"
#include "store.h"

#define OIDC_SKEW_S 60	     /* clock skew allowed on exp, nbf and iat */
#define OIDC_REFRESH_S 60    /* at most one refresh per this many seconds */
#define OIDC_TOKEN_MAX 8192  /* longer bearer JWTs are refused unparsed */
#define OIDC_BODY_MAX 262144 /* discovery document and JWKS size bound */
#define OIDC_KEYS_MAX 16     /* keys kept from one JWKS */
#define OIDC_NAME_PREFIX "oidc:"

struct keyring;
struct oidc;

/*
 * From the configuration; *out is NULL when oidc_issuer is empty.  Fetches
 * nothing (oidc_start does).  On a bad option writes one line to err and
 * returns ST_INVALID.  kr (borrowed, must outlive the context) keys the
 * account id derived from the subject.
 */
enum st oidc_new(const struct config *cfg, const struct keyring *kr, struct oidc **out, char *err,
		 size_t errlen);
void oidc_free(struct oidc *o);

/* The first fetch of discovery and keys; a failure is logged, not fatal. */
void oidc_start(struct oidc *o);

/* True when a bearer token has the shape of a compact JWS. */
bool oidc_token_shape_ok(const char *token, size_t len);

/*
 * Check a bearer JWT.  ST_OK fills *out (role ROLE_NONE: a valid identity
 * with no usable role), ST_UNAUTH for a token that does not check out,
 * ST_UNAVAILABLE when its key is unknown and the provider cannot be reached.
 */
enum st oidc_authenticate(struct oidc *o, const char *token, size_t len, struct account *out);

/*
 * Seconds since the person behind the Authorization header's bearer JWT
 * signed in at the provider (its auth_time claim; 0 when that is ahead),
 * for routes that want a fresh login.  The token is checked again in full.
 * ST_NOTFOUND when it carries no auth_time, ST_UNAUTH when it is no valid
 * JWT (a wb_ token included).
 */
enum st oidc_login_age(struct oidc *o, const char *authorization, long *age);

#endif
