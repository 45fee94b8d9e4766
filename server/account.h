/*
 * account.h - roles and the rules for account names and depot codes: what
 * an account may be called and what it may be, independent of where
 * accounts are stored (struct account is store.h's row).
 */
#ifndef WAYBILL_ACCOUNT_H
#define WAYBILL_ACCOUNT_H

#include "common.h"

#define NAME_MAX_BYTES 33 /* account names [a-z0-9._-]{1,32}, depot codes [A-Za-z0-9._-]{1,32} */

enum role {
	ROLE_NONE = 0,
	ROLE_COURIER = 1 << 0,
	ROLE_DEPOT = 1 << 1,
	ROLE_ADMIN = 1 << 2,
	ROLE_AUDITOR = 1 << 3,
	ROLE_TELEPHONY = 1 << 4,
};

const char *role_name(enum role r);
enum role role_parse(const char *s);
/* [a-z0-9._-]{1,32}: account names. */
bool name_valid(const char *s);
/* [A-Za-z0-9._-]{1,32}: depot codes, as companies write them (D1), compared exactly. */
bool depot_valid(const char *s);

/*
 * Names the audit log gives to actors that are not accounts ("-", "waybilld",
 * "op.<user>", ...) and names that read as if they were: waybillctl refuses
 * them for new accounts (docs/API.md, "Account names").
 */
bool account_name_reserved(const char *name);

/*
 * The binding an account's phone is sealed under (the "tn" argument of
 * crypto_seal, crypto_open and crypto_rewrap): "account:NAME", so a sealed
 * phone copied to another account fails to open.  Built here only.
 * Returns its length; 0 (and "" in out) when it does not fit cap, which
 * ACCOUNT_AD_MAX always does for a valid name.
 */
#define ACCOUNT_AD_MAX (NAME_MAX_BYTES + 8)
size_t account_seal_ad(const char *name, char *out, size_t cap);

#endif
