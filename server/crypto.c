/*
 * crypto.c - the only user of sodium.h.  See crypto.h for the scheme.
 *
 * Keys live in sodium_malloc'd memory (guard pages, mlock'd where the
 * system allows, wiped by sodium_free).
 */
#include "common.h"
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#define KDF_CTX_KEK "wbKEK---"
#define KDF_CTX_SUB "wbSUBKEY"
enum { SUB_TOKEN = 1, SUB_AUDIT = 2, SUB_BLIND = 3, SUB_BODY = 4, SUB_CHECKPOINT = 5 };

struct keyring {
	pthread_mutex_t refresh_lock; /* one keyring_refresh() at a time */
	struct timespec mtime;	      /* the key file's, when last read */
	uint32_t nversions;	      /* versions 1..nversions */
	uint32_t current;	      /* the highest version not retired */
	unsigned char token_key[KEY_BYTES];
	unsigned char audit_key[KEY_BYTES];
	crypto_auth_hmacsha256_state audit_mac; /* keyed once: each entry starts from a copy */
	unsigned char blind_key[KEY_BYTES];
	unsigned char body_key[KEY_BYTES];
	/* Ed25519, from a seed derived like the subkeys: signs audit checkpoints. */
	unsigned char cp_pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char cp_sk[crypto_sign_SECRETKEYBYTES];
	/* KEK of version v at kek[v - 1]; all-zero when retired. */
	unsigned char kek[KEYRING_MAX_VERSIONS][KEY_BYTES];
	bool retired[KEYRING_MAX_VERSIONS];
};

enum st crypto_init(void)
{
	return sodium_init() < 0 ? ST_INTERNAL : ST_OK;
}

static enum st read_key_file(const char *path, unsigned char **buf, size_t *len, char *err,
			     size_t errlen)
{
	struct stat sb;
	enum st st = ST_IO;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*buf = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
		return ST_IO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "key file %s: not a regular file", path);
		goto out;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
			 "key file %s: mode %03o lets group or others in; chmod 600 it", path,
			 (unsigned)(sb.st_mode & 0777));
		st = ST_INVALID;
		goto out;
	}
	if (sb.st_size <= 0 || sb.st_size % KEY_BYTES != 0 ||
	    sb.st_size > (off_t)KEY_BYTES * KEYRING_MAX_VERSIONS) {
		snprintf(err, errlen,
			 "key file %s: %lld bytes; want a multiple of %d (at most %d keys)", path,
			 (long long)sb.st_size, KEY_BYTES, KEYRING_MAX_VERSIONS);
		st = ST_INVALID;
		goto out;
	}
	*len = (size_t)sb.st_size;
	*buf = sodium_malloc(*len);
	if (!*buf) {
		st = ST_NOMEM;
		goto out;
	}
	n = read(fd, *buf, *len);
	if (n < 0 || (size_t)n != *len) {
		snprintf(err, errlen, "key file %s: short read", path);
		sodium_free(*buf);
		*buf = NULL;
		goto out;
	}
	st = ST_OK;
out:
	close(fd);
	return st;
}

enum st keyring_load(const char *path, struct keyring **out, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct keyring *kr;
	enum st st;

	*out = NULL;
	st = read_key_file(path, &buf, &len, err, errlen);
	if (st != ST_OK)
		return st;
	kr = sodium_malloc(sizeof(*kr));
	if (!kr) {
		sodium_free(buf);
		return ST_NOMEM;
	}
	memset(kr, 0, sizeof(*kr));
	pthread_mutex_init(&kr->refresh_lock, NULL);
	{
		struct stat sb;
		if (stat(path, &sb) == 0)
			kr->mtime = sb.st_mtim;
	}
	kr->nversions = (uint32_t)(len / KEY_BYTES);
	if (sodium_is_zero(buf, KEY_BYTES)) {
		snprintf(err, errlen, "key file %s: version 1 is empty", path);
		st = ST_INVALID;
		goto out;
	}
	crypto_kdf_derive_from_key(kr->token_key, KEY_BYTES, SUB_TOKEN, KDF_CTX_SUB, buf);
	crypto_kdf_derive_from_key(kr->audit_key, KEY_BYTES, SUB_AUDIT, KDF_CTX_SUB, buf);
	crypto_auth_hmacsha256_init(&kr->audit_mac, kr->audit_key, KEY_BYTES);
	crypto_kdf_derive_from_key(kr->blind_key, KEY_BYTES, SUB_BLIND, KDF_CTX_SUB, buf);
	crypto_kdf_derive_from_key(kr->body_key, KEY_BYTES, SUB_BODY, KDF_CTX_SUB, buf);
	{
		unsigned char seed[crypto_sign_SEEDBYTES];
		crypto_kdf_derive_from_key(seed, sizeof(seed), SUB_CHECKPOINT, KDF_CTX_SUB, buf);
		crypto_sign_seed_keypair(kr->cp_pk, kr->cp_sk, seed);
		mem_wipe(seed, sizeof(seed));
	}
	for (uint32_t v = 1; v <= kr->nversions; v++) {
		const unsigned char *root = buf + (size_t)(v - 1) * KEY_BYTES;
		if (sodium_is_zero(root, KEY_BYTES)) {
			kr->retired[v - 1] = true;
			continue;
		}
		crypto_kdf_derive_from_key(kr->kek[v - 1], KEY_BYTES, v, KDF_CTX_KEK, root);
		kr->current = v;
	}
	st = ST_OK;
out:
	sodium_free(buf);
	if (st != ST_OK)
		sodium_free(kr);
	else
		*out = kr;
	return st;
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	pthread_mutex_destroy(&kr->refresh_lock);
	sodium_free(kr);
}

static enum st keyring_reload(struct keyring *kr, const char *path, bool *changed, char *err,
			      size_t errlen);

/*
 * A refresh may add versions while other threads read: it fills kek[] first
 * and publishes nversions and current last (release); readers acquire.
 */
uint32_t keyring_current(const struct keyring *kr)
{
	return __atomic_load_n(&kr->current, __ATOMIC_ACQUIRE);
}

uint32_t keyring_versions(const struct keyring *kr)
{
	return __atomic_load_n(&kr->nversions, __ATOMIC_ACQUIRE);
}

bool keyring_has(const struct keyring *kr, uint32_t v)
{
	return v >= 1 && v <= keyring_versions(kr) &&
	       !__atomic_load_n(&kr->retired[v - 1], __ATOMIC_ACQUIRE);
}

enum st keyring_refresh(struct keyring *kr, const char *path, bool *changed, char *err,
			size_t errlen)
{
	struct stat sb;
	enum st st;

	*changed = false;
	pthread_mutex_lock(&kr->refresh_lock);
	if (stat(path, &sb) == 0 && sb.st_mtim.tv_sec == kr->mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == kr->mtime.tv_nsec) {
		pthread_mutex_unlock(&kr->refresh_lock);
		return ST_OK; /* unchanged since we last read it */
	}
	st = keyring_reload(kr, path, changed, err, errlen);
	if (st == ST_OK && stat(path, &sb) == 0)
		kr->mtime = sb.st_mtim;
	pthread_mutex_unlock(&kr->refresh_lock);
	return st;
}

/* Read the file again and take up added or retired versions (refresh_lock held). */
static enum st keyring_reload(struct keyring *kr, const char *path, bool *changed, char *err,
			      size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	uint32_t n, cur = 0;
	enum st st;

	st = read_key_file(path, &buf, &len, err, errlen);
	if (st != ST_OK)
		return st;
	n = (uint32_t)(len / KEY_BYTES);
	if (n < kr->nversions) {
		snprintf(err, errlen, "key file %s lost versions; keeping the loaded keys", path);
		sodium_free(buf);
		return ST_INVALID;
	}
	for (uint32_t v = 1; v <= n; v++) {
		const unsigned char *root = buf + (size_t)(v - 1) * KEY_BYTES;
		if (sodium_is_zero(root, KEY_BYTES)) {
			if (!kr->retired[v - 1]) {
				__atomic_store_n(&kr->retired[v - 1], true, __ATOMIC_RELEASE);
				*changed = true;
			}
			continue;
		}
		if (v > kr->nversions) {
			crypto_kdf_derive_from_key(kr->kek[v - 1], KEY_BYTES, v, KDF_CTX_KEK, root);
			*changed = true;
		}
		cur = v;
	}
	sodium_free(buf);
	__atomic_store_n(&kr->nversions, n, __ATOMIC_RELEASE);
	if (cur && cur != kr->current) {
		__atomic_store_n(&kr->current, cur, __ATOMIC_RELEASE);
		*changed = true;
	}
	return ST_OK;
}

/* fsync the directory holding path, so a rename or link in it survives a crash. */
static void sync_dir_of(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int dfd;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

/*
 * Write len bytes to path atomically: "<path>.new" is created afresh
 * (O_EXCL|O_NOFOLLOW, 0600: never through a symlink, never a file someone
 * else made or left there), written, fsync'd, then moved into place and
 * the directory fsync'd.  excl: a new key file (keygen), linked into place
 * so an existing one is never replaced; else rename over the old one.
 */
static enum st write_key_file(const char *path, const unsigned char *buf, size_t len, bool excl,
			      char *err, size_t errlen)
{
	char tmp[4096];
	struct stat old;
	bool have_old;
	enum st st = ST_IO;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "key file path too long");
		return ST_INVALID;
	}
	have_old = lstat(path, &old) == 0;
	if (have_old && !S_ISREG(old.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (a symlink?); refusing to write it",
			 path);
		return ST_INVALID;
	}
	if (excl && have_old) {
		snprintf(err, errlen, "%s: exists; refusing to overwrite a key file", path);
		return ST_IO;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST || errno == ELOOP)
			snprintf(err, errlen,
				 "%s exists (a symlink, or left by a run that died): refusing to "
				 "write through it; check it and remove it",
				 tmp);
		else
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return ST_IO;
	}
	/* The new file keeps the old one's owner: the daemon's user must still read it. */
	if (have_old && geteuid() == 0 && fchown(fd, old.st_uid, old.st_gid) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || write(fd, buf, len) != (ssize_t)len || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (excl ? link(tmp, path) != 0 : rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	sync_dir_of(path);
	st = ST_OK;
out:
	close(fd);
	/* Renamed: gone already.  Linked or failed: the temporary name goes. */
	if (st != ST_OK || excl)
		unlink(tmp);
	return st;
}

enum st keyring_generate(const char *path, char *err, size_t errlen)
{
	unsigned char *key = sodium_malloc(KEY_BYTES);
	enum st st;

	if (!key)
		return ST_NOMEM;
	randombytes_buf(key, KEY_BYTES);
	st = write_key_file(path, key, KEY_BYTES, true, err, errlen);
	sodium_free(key);
	return st;
}

enum st keyring_rotate(const char *path, uint32_t *version, char *err, size_t errlen)
{
	unsigned char *buf = NULL, *nbuf = NULL;
	size_t len = 0;
	enum st st = read_key_file(path, &buf, &len, err, errlen);

	if (st != ST_OK)
		return st;
	if (len / KEY_BYTES >= KEYRING_MAX_VERSIONS) {
		snprintf(err, errlen, "key file %s already holds %d versions", path,
			 KEYRING_MAX_VERSIONS);
		st = ST_INVALID;
		goto out;
	}
	nbuf = sodium_malloc(len + KEY_BYTES);
	if (!nbuf) {
		st = ST_NOMEM;
		goto out;
	}
	memcpy(nbuf, buf, len);
	randombytes_buf(nbuf + len, KEY_BYTES);
	st = write_key_file(path, nbuf, len + KEY_BYTES, false, err, errlen);
	if (st == ST_OK)
		*version = (uint32_t)(len / KEY_BYTES) + 1;
out:
	if (nbuf)
		sodium_free(nbuf);
	sodium_free(buf);
	return st;
}

enum st keyring_retire(const char *path, uint32_t version, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	enum st st = read_key_file(path, &buf, &len, err, errlen);

	if (st != ST_OK)
		return st;
	if (version < 2 || version >= len / KEY_BYTES) {
		snprintf(err, errlen,
			 "version %u cannot be retired: version 1 anchors the token and audit "
			 "keys, and the current version is in use",
			 version);
		st = ST_INVALID;
		goto out;
	}
	mem_wipe(buf + (size_t)(version - 1) * KEY_BYTES, KEY_BYTES);
	st = write_key_file(path, buf, len, false, err, errlen);
out:
	sodium_free(buf);
	return st;
}

/*
 * "BINDING|version" - the associated data binding a ciphertext to its row:
 * for an order "TN|depot|creator" (store.h, order_row_bind), for an
 * account's phone "account:NAME".  A binding longer than CRYPTO_BIND_MAX is
 * refused by every caller below, never cut: a cut one would bind less.
 */
#define AD_MAX (CRYPTO_BIND_MAX + 12)
static size_t ad_make(char *ad, size_t adlen, const char *tn, uint32_t version)
{
	int n = snprintf(ad, adlen, "%s|%u", tn, version);
	return n < 0 ? 0 : (size_t)n < adlen ? (size_t)n : adlen - 1;
}

static bool bind_ok(const char *bind)
{
	return strlen(bind) <= CRYPTO_BIND_MAX;
}

static const unsigned char *kek_of(const struct keyring *kr, uint32_t v)
{
	if (!keyring_has(kr, v))
		return NULL;
	return kr->kek[v - 1];
}

static void dek_wrap(const unsigned char *kek, const char *tn, uint32_t v,
		     const unsigned char dek[KEY_BYTES], unsigned char out[WRAPPED_DEK_BYTES])
{
	char ad[AD_MAX];
	size_t adlen = ad_make(ad, sizeof(ad), tn, v);

	randombytes_buf(out, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, dek, KEY_BYTES,
	    (const unsigned char *)ad, adlen, NULL, out, kek);
}

static enum st dek_unwrap(const unsigned char *kek, const char *tn, uint32_t v,
			  const unsigned char in[WRAPPED_DEK_BYTES], unsigned char dek[KEY_BYTES])
{
	char ad[AD_MAX];
	size_t adlen = ad_make(ad, sizeof(ad), tn, v);

	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		dek, NULL, NULL, in + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		WRAPPED_DEK_BYTES - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		(const unsigned char *)ad, adlen, in, kek) != 0)
		return ST_CRYPTO;
	return ST_OK;
}

enum st crypto_seal(const struct keyring *kr, const char *tn, const void *plain, size_t len,
		    struct sealed *out)
{
	unsigned char dek[KEY_BYTES];
	char ad[AD_MAX];
	size_t adlen;
	uint32_t v;
	const unsigned char *kek;

	v = keyring_current(kr);
	kek = kek_of(kr, v);
	memset(out, 0, sizeof(*out));
	if (!kek || !bind_ok(tn))
		return ST_CRYPTO;
	out->blob_len = len + SEAL_OVERHEAD;
	out->blob = malloc(out->blob_len);
	if (!out->blob)
		return ST_NOMEM;
	crypto_aead_xchacha20poly1305_ietf_keygen(dek);
	adlen = ad_make(ad, sizeof(ad), tn, v);
	randombytes_buf(out->blob, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out->blob + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, plain, len,
	    (const unsigned char *)ad, adlen, NULL, out->blob, dek);
	dek_wrap(kek, tn, v, dek, out->wrapped_dek);
	out->kek_version = v;
	out->seal_version = v;
	mem_wipe(dek, sizeof(dek));
	return ST_OK;
}

void sealed_release(struct sealed *s)
{
	free(s->blob);
	memset(s, 0, sizeof(*s));
}

enum st crypto_open(const struct keyring *kr, const char *tn, uint32_t kek_version,
		    uint32_t seal_version, const unsigned char *wrapped_dek,
		    const unsigned char *blob, size_t blob_len, char **plain, size_t *len)
{
	const unsigned char *kek;
	unsigned char dek[KEY_BYTES];
	char ad[AD_MAX];
	size_t adlen, plen;
	char *p;
	enum st st;

	*plain = NULL;
	kek = kek_of(kr, kek_version);
	if (!kek || blob_len < SEAL_OVERHEAD || !bind_ok(tn))
		return ST_CRYPTO;
	st = dek_unwrap(kek, tn, kek_version, wrapped_dek, dek);
	if (st != ST_OK)
		goto out;
	plen = blob_len - SEAL_OVERHEAD;
	p = malloc(plen + 1);
	if (!p) {
		st = ST_NOMEM;
		goto out;
	}
	adlen = ad_make(ad, sizeof(ad), tn, seal_version);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		(unsigned char *)p, NULL, NULL, blob + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
		blob_len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, (const unsigned char *)ad,
		adlen, blob, dek) != 0) {
		free_wiped(p, plen + 1);
		st = ST_CRYPTO;
		goto out;
	}
	p[plen] = '\0';
	*plain = p;
	*len = plen;
out:
	mem_wipe(dek, sizeof(dek));
	return st;
}

enum st crypto_rewrap(const struct keyring *kr, const char *tn, uint32_t from_version,
		      const unsigned char in[WRAPPED_DEK_BYTES],
		      unsigned char out[WRAPPED_DEK_BYTES], uint32_t *to_version)
{
	const unsigned char *from = kek_of(kr, from_version);
	uint32_t cur = keyring_current(kr);
	const unsigned char *to = kek_of(kr, cur);
	unsigned char dek[KEY_BYTES];
	enum st st;

	if (!from || !to || !bind_ok(tn))
		return ST_CRYPTO;
	st = dek_unwrap(from, tn, from_version, in, dek);
	if (st == ST_OK) {
		dek_wrap(to, tn, cur, dek, out);
		*to_version = cur;
	}
	mem_wipe(dek, sizeof(dek));
	return st;
}

void crypto_token_new(char out[TOKEN_CHARS + 1])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, "wb_", 3);
	sodium_bin2hex(out + 3, TOKEN_CHARS + 1 - 3, raw, sizeof(raw));
	mem_wipe(raw, sizeof(raw));
}

static void keyed_hash(const unsigned char *key, const void *in, size_t len,
		       unsigned char out[HASH_BYTES])
{
	crypto_generichash(out, HASH_BYTES, in, len, key, KEY_BYTES);
}

void crypto_token_hash(const struct keyring *kr, const char *token, size_t len,
		       unsigned char out[HASH_BYTES])
{
	keyed_hash(kr->token_key, token, len, out);
}

void crypto_blind_index(const struct keyring *kr, const char *value, size_t len,
			unsigned char out[HASH_BYTES])
{
	keyed_hash(kr->blind_key, value, len, out);
}

void crypto_body_digest(const struct keyring *kr, const void *body, size_t len,
			unsigned char out[HASH_BYTES])
{
	keyed_hash(kr->body_key, body, len, out);
}

void crypto_audit_mac(const struct keyring *kr, const unsigned char prev[HASH_BYTES],
		      const void *entry, size_t len, unsigned char out[HASH_BYTES])
{
	crypto_auth_hmacsha256_state st = kr->audit_mac;

	crypto_auth_hmacsha256_update(&st, prev, HASH_BYTES);
	crypto_auth_hmacsha256_update(&st, entry, len);
	crypto_auth_hmacsha256_final(&st, out);
	mem_wipe(&st, sizeof(st));
}

void crypto_checkpoint_key(const struct keyring *kr, unsigned char pk[SIGN_PK_BYTES])
{
	memcpy(pk, kr->cp_pk, SIGN_PK_BYTES);
}

void crypto_checkpoint_sign(const struct keyring *kr, const void *msg, size_t len,
			    unsigned char sig[SIGN_BYTES])
{
	crypto_sign_detached(sig, NULL, msg, len, kr->cp_sk);
}

bool crypto_ed25519_verify(const unsigned char pk[SIGN_PK_BYTES], const void *msg, size_t len,
			   const unsigned char sig[SIGN_BYTES])
{
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

bool crypto_hex_parse(const char *hex, size_t hexlen, unsigned char *out, size_t len)
{
	size_t got = 0;

	if (hexlen != len * 2)
		return false;
	for (size_t i = 0; i < hexlen; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return false; /* lower case only: one spelling per value */
	return sodium_hex2bin(out, len, hex, hexlen, NULL, &got, NULL) == 0 && got == len;
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

void crypto_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

void crypto_random_digits(char *out, size_t n)
{
	unsigned char buf[64];
	size_t have = 0, used = 0;

	/* One system call for many digits; bytes >= 250 are rejected (no bias). */
	while (n) {
		if (used == have) {
			randombytes_buf(buf, sizeof(buf));
			have = sizeof(buf);
			used = 0;
		}
		if (buf[used] < 250) {
			*out++ = (char)('0' + buf[used] % 10);
			n--;
		}
		used++;
	}
	mem_wipe(buf, sizeof(buf));
}

uint32_t crypto_uniform(uint32_t upper)
{
	return randombytes_uniform(upper);
}

void crypto_hex(const unsigned char *in, size_t len, char *out)
{
	sodium_bin2hex(out, len * 2 + 1, in, len);
}
