/*
 * auth.c - the authentication gate's one function.  Roles are checked by
 * http.c against the route table; scope (own orders, own depot) by the
 * handlers asking access.h's table, and they answer "not yours" with the
 * same 404 as "not found".
 */
#include "common.h"
#include "auth.h"
#include "app.h"
#include "crypto.h"
#include "oidc.h"

#include <strings.h>

bool auth_token_shape_ok(const char *token, size_t len)
{
	if (len != TOKEN_CHARS || memcmp(token, "wb_", 3) != 0)
		return false;
	for (size_t i = 3; i < len; i++) {
		char c = token[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

const char *auth_bearer_token(const char *header, size_t *len)
{
	const char *token;
	size_t n;

	/* The scheme name is case-insensitive (RFC 9110 11.1). */
	if (!header || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	for (token = header + 7; *token == ' ';)
		token++;
	for (n = strlen(token); n && token[n - 1] == ' ';)
		n--;
	*len = n;
	return token;
}

enum st auth_bearer(struct app *app, const char *header, struct account *out)
{
	unsigned char hash[HASH_BYTES];
	const char *token;
	size_t len;
	enum st st;

	memset(out, 0, sizeof(*out));
	token = auth_bearer_token(header, &len);
	if (!token)
		return ST_UNAUTH;
	/* A JWT from the OpenID provider, when one is configured (oidc.h). */
	if (app->oidc && oidc_token_shape_ok(token, len))
		return oidc_authenticate(app->oidc, token, len, out);
	if (!auth_token_shape_ok(token, len))
		return ST_UNAUTH;
	crypto_token_hash(app->kr, token, len, hash);
	st = store_account_by_token(app->store, hash, out);
	if (st == ST_NOTFOUND) {
		memset(out, 0, sizeof(*out));
		return ST_UNAUTH;
	}
	if (st != ST_OK)
		return ST_UNAVAILABLE;
	if (out->disabled || out->role == ROLE_NONE) {
		memset(out, 0, sizeof(*out));
		return ST_UNAUTH;
	}
	return ST_OK;
}
