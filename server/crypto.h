/*
 * crypto.h - the only door to libsodium: the keyring, envelope encryption,
 * token hashes, blind indexes, audit MACs, and the CSPRNG.
 *
 * Key file: one or more 32-byte root keys, version 1 first, each later
 * version appended by `waybillctl key rotate`; the last is current.  A
 * retired version is 32 zero bytes.  Mode must be 0600 or stricter.
 *
 * Envelope: each order has a random data key (DEK).  The order blob is
 * sealed with XChaCha20-Poly1305 under the DEK, associated data
 * "BINDING|seal_version"; the DEK is wrapped with XChaCha20-Poly1305 under
 * the KEK of its version, associated data "BINDING|kek_version".  An order's
 * binding is "TN|depot|creator" (store.h, order_row_bind; orders sealed
 * before migration 0009 had "TN" and are resealed at start), so a blob or
 * wrapped key moved to another row, or a row moved to another depot or
 * creator, fails to open.  Rewrapping touches only the DEK.
 *
 * Subkeys (crypto_kdf, from version 1): token hashing, audit MAC, blind index,
 * and the seed of the Ed25519 key that signs audit checkpoints: every key
 * file has one (old ones too), and it never changes with rotation.
 */
#ifndef WAYBILL_CRYPTO_H
#define WAYBILL_CRYPTO_H

#include "common.h"

#define KEY_BYTES 32
#define HASH_BYTES 32
#define WRAPPED_DEK_BYTES (24 + 32 + 16)
#define SEAL_OVERHEAD (24 + 16)
#define TOKEN_CHARS 67 /* "wb_" + 64 hex, without the NUL */
#define KEYRING_MAX_VERSIONS 255
#define SIGN_PK_BYTES 32    /* Ed25519 public key */
#define SIGN_BYTES 64	    /* Ed25519 signature */
#define CRYPTO_BIND_MAX 127 /* bytes of a binding (the "tn" arguments below) */

struct keyring;

/* Call once before anything else; ST_INTERNAL if libsodium cannot start. */
enum st crypto_init(void);

/*
 * Load a key file.  Refuses (with a one-line reason in err) a missing or
 * unreadable file, one readable or writable by group/other, or a size that
 * is not a whole number of keys.  *out is owned by the caller.
 */
enum st keyring_load(const char *path, struct keyring **out, char *err, size_t errlen);
void keyring_free(struct keyring *kr);
uint32_t keyring_current(const struct keyring *kr);
uint32_t keyring_versions(const struct keyring *kr);
bool keyring_has(const struct keyring *kr, uint32_t version);

/*
 * Take up versions added to (or retired in) the key file since it was
 * loaded, while other threads use the keyring.  *changed tells whether
 * anything did.  The one way a running keyring changes: sealing and opening
 * use the versions as loaded and never read the file.  The daemon calls it
 * from its housekeeping thread once a second (retention.c) and on SIGHUP;
 * it costs a stat() while the file's mtime stays the same.
 */
enum st keyring_refresh(struct keyring *kr, const char *path, bool *changed, char *err,
			size_t errlen);

/*
 * Key files are written to "<path>.new", created O_EXCL|O_NOFOLLOW mode 0600
 * (refused when it exists: a symlink or a leftover is never written through),
 * fsync'd, and moved into place; path itself must be a regular file or absent.
 */
/* Write a new key file with one fresh key (mode 0600); never replaces one. */
enum st keyring_generate(const char *path, char *err, size_t errlen);
/* Append a fresh key version (atomic replace); *version gets its number. */
enum st keyring_rotate(const char *path, uint32_t *version, char *err, size_t errlen);
/* Zero a version in the file (atomic replace).  Never version 1 (subkeys). */
enum st keyring_retire(const char *path, uint32_t version, char *err, size_t errlen);

/*
 * Seal an order blob for tracking number tn under a fresh DEK wrapped by the
 * current KEK.  *blob (len + SEAL_OVERHEAD bytes) is owned by the caller.
 */
struct sealed {
	uint32_t kek_version;  /* wraps the DEK now */
	uint32_t seal_version; /* bound into the blob; never changes */
	unsigned char wrapped_dek[WRAPPED_DEK_BYTES];
	unsigned char *blob;
	size_t blob_len;
};
enum st crypto_seal(const struct keyring *kr, const char *tn, const void *plain, size_t len,
		    struct sealed *out);
void sealed_release(struct sealed *s);

/*
 * Open a blob.  ST_CRYPTO when either layer fails to authenticate (wrong
 * row, tampering, retired key).  *plain (NUL-terminated, *len without it)
 * is owned by the caller and must be freed with free_wiped(*plain, *len + 1).
 */
enum st crypto_open(const struct keyring *kr, const char *tn, uint32_t kek_version,
		    uint32_t seal_version, const unsigned char *wrapped_dek,
		    const unsigned char *blob, size_t blob_len, char **plain, size_t *len);

/* Rewrap a DEK from its version to the current one. */
enum st crypto_rewrap(const struct keyring *kr, const char *tn, uint32_t from_version,
		      const unsigned char in[WRAPPED_DEK_BYTES],
		      unsigned char out[WRAPPED_DEK_BYTES], uint32_t *to_version);

/* A new bearer token: "wb_" + 64 hex chars, NUL-terminated. */
void crypto_token_new(char out[TOKEN_CHARS + 1]);
/* Keyed hash of a token (what the database stores). */
void crypto_token_hash(const struct keyring *kr, const char *token, size_t len,
		       unsigned char out[HASH_BYTES]);
/* Keyed hash for equality look-ups of personal values (e.g. a phone). */
void crypto_blind_index(const struct keyring *kr, const char *value, size_t len,
			unsigned char out[HASH_BYTES]);
/* Keyed digest of request bodies, for idempotency checks. */
void crypto_body_digest(const struct keyring *kr, const void *body, size_t len,
			unsigned char out[HASH_BYTES]);
/* Audit chain link: MAC(prev || entry). */
void crypto_audit_mac(const struct keyring *kr, const unsigned char prev[HASH_BYTES],
		      const void *entry, size_t len, unsigned char out[HASH_BYTES]);
/* The audit checkpoint key's public half (an outside verifier's). */
void crypto_checkpoint_key(const struct keyring *kr, unsigned char pk[SIGN_PK_BYTES]);
/* Ed25519 signature of msg under the audit checkpoint key. */
void crypto_checkpoint_sign(const struct keyring *kr, const void *msg, size_t len,
			    unsigned char sig[SIGN_BYTES]);
/* True when sig is pk's signature of msg. */
bool crypto_ed25519_verify(const unsigned char pk[SIGN_PK_BYTES], const void *msg, size_t len,
			   const unsigned char sig[SIGN_BYTES]);
/* Exactly 2*len lower-case hex digits into out[len]; false on anything else. */
bool crypto_hex_parse(const char *hex, size_t hexlen, unsigned char *out, size_t len);
/* Constant-time equality. */
bool crypto_equal(const void *a, const void *b, size_t len);

/* CSPRNG. */
void crypto_random(void *buf, size_t len);
uint32_t crypto_uniform(uint32_t upper); /* in [0, upper) */
/* n uniform decimal digits (not NUL-terminated), one system call. */
void crypto_random_digits(char *out, size_t n);

void crypto_hex(const unsigned char *in, size_t len, char *out /* 2*len+1 */);

#endif
