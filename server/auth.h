/*
 * auth.h - bearer tokens to accounts.
 *
 * Tokens are "wb_" + 64 hex characters (256 random bits).  The database holds
 * only a keyed hash of each; the stored hash is compared in constant time.
 * A disabled account fails at once: every request looks the account up.
 */
#ifndef WAYBILL_AUTH_H
#define WAYBILL_AUTH_H

#include "common.h"
#include "store.h"

struct app;

/* From an Authorization header value; ST_UNAUTH for anything but a live account. */
enum st auth_bearer(struct app *app, const char *header, struct account *out);

/* The token of "Bearer TOKEN" (scheme case-insensitive, spaces around it
 * dropped): a pointer into header and its length; NULL for another scheme. */
const char *auth_bearer_token(const char *header, size_t *len);

/* True when a token has the right shape (checked before hashing). */
bool auth_token_shape_ok(const char *token, size_t len);

#endif
