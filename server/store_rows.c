/*
 * store_rows.c - what every storage backend shares about rows: the binding
 * an order is sealed under and the idempotency key as stored.  No SQLite
 * here (store.h, "Backend-neutral").
 */
#include "common.h"
#include "store.h"

void order_bind_of(const char *tn, const char *depot, const char *creator, int seal_bind,
		   char out[ORDER_BIND_MAX])
{
	if (seal_bind == ORDER_SEAL_LEGACY)
		snprintf(out, ORDER_BIND_MAX, "%s", tn);
	else
		snprintf(out, ORDER_BIND_MAX, "%s|%s|%s", tn, depot, creator);
}

void order_row_bind(const struct order_row *r, char out[ORDER_BIND_MAX])
{
	order_bind_of(r->tracking_no, r->depot, r->creator, r->seal_bind, out);
}

void order_row_release(struct order_row *r)
{
	if (!r)
		return;
	free(r->sealed);
	r->sealed = NULL;
	r->sealed_len = 0;
}

void store_idem_hash(const struct keyring *kr, const char *key, char out[STORE_IDEM_HASH_BYTES])
{
	char in[16 + 256];
	unsigned char h[HASH_BYTES];
	int n;

	out[0] = '\0';
	if (!key || !key[0])
		return;
	n = snprintf(in, sizeof(in), "idempotency|%s", key);
	crypto_blind_index(kr, in,
			   n < 0		    ? 0
			   : (size_t)n < sizeof(in) ? (size_t)n
						    : sizeof(in) - 1,
			   h);
	mem_wipe(in, sizeof(in));
	memcpy(out, "h:", 2);
	crypto_hex(h, HASH_BYTES, out + 2);
}

bool store_idem_hashed(const char *key)
{
	return strncmp(key, "h:", 2) == 0 && strlen(key) == STORE_IDEM_HASH_BYTES - 1;
}

enum st account_phone_seal(const struct keyring *kr, struct account *a, const char *e164)
{
	char ad[ACCOUNT_AD_MAX];
	struct sealed sl;

	if (!account_seal_ad(a->name, ad, sizeof(ad)) ||
	    crypto_seal(kr, ad, e164, strlen(e164), &sl) != ST_OK)
		return ST_CRYPTO;
	if (sl.blob_len > ACCOUNT_PHONE_SEALED_MAX) {
		sealed_release(&sl);
		return ST_TOOBIG;
	}
	a->has_phone = true;
	crypto_blind_index(kr, e164, strlen(e164), a->phone_index);
	a->phone_kek_version = sl.kek_version;
	a->phone_seal_version = sl.seal_version;
	memcpy(a->phone_wrapped_dek, sl.wrapped_dek, WRAPPED_DEK_BYTES);
	memcpy(a->phone_sealed, sl.blob, sl.blob_len);
	a->phone_sealed_len = sl.blob_len;
	sealed_release(&sl);
	return ST_OK;
}
