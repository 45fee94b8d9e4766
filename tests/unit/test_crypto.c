/*
 * test_crypto.c - the keyring (files, modes, sizes, rotation, retirement),
 * envelope encryption (round trips, rows swapped, bits flipped, versions),
 * keyed hashes, audit MACs, the audit checkpoint key and the CSPRNG helpers
 * of crypto.h.
 */
#include "../../server/common.h"
#include "../../server/crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"

static char dir[256];

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Write exactly these bytes with exactly this mode (umask does not apply). */
static bool write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd;
	bool ok;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return false;
	ok = (len == 0 || write(fd, buf, len) == (ssize_t)len) && fchmod(fd, mode) == 0;
	close(fd);
	return ok;
}

/* Read a whole small file; returns its size or -1. */
static long read_file(const char *path, unsigned char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap);
	close(fd);
	return (long)n;
}

static bool copy_file(const char *from, const char *to)
{
	unsigned char buf[KEY_BYTES * 16];
	long n = read_file(from, buf, sizeof(buf));

	return n >= 0 && write_file(to, buf, (size_t)n, 0600);
}

static mode_t mode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (sb.st_mode & 07777) : (mode_t)-1;
}

static long size_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static struct keyring *load(const char *path)
{
	struct keyring *kr = NULL;
	char err[512] = "";

	if (keyring_load(path, &kr, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "keyring_load %s: %s\n", path, err);
		return NULL;
	}
	return kr;
}

/* A fresh key file at dir/name, loaded. */
static struct keyring *fresh(const char *name, char *path, size_t cap)
{
	char err[512] = "";

	path_of(path, cap, name);
	if (keyring_generate(path, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "keyring_generate %s: %s\n", path, err);
		return NULL;
	}
	return load(path);
}

/* Open and compare with the expected plaintext; returns the status. */
static enum st open_cmp(const struct keyring *kr, const char *tn, uint32_t kv, uint32_t sv,
			const unsigned char *wdek, const unsigned char *blob, size_t blob_len,
			const void *want, size_t want_len)
{
	char *plain = (char *)1;
	size_t len = (size_t)-1;
	enum st st = crypto_open(kr, tn, kv, sv, wdek, blob, blob_len, &plain, &len);

	if (st != ST_OK) {
		/* Nothing handed out on failure. */
		CHECK(plain == NULL);
		return st;
	}
	if (!plain || len != want_len || memcmp(plain, want, want_len) != 0 || plain[len] != '\0') {
		fprintf(stderr, "%s: opened, but not the plaintext sealed (%zu vs %zu bytes)\n", tn,
			len, want_len);
		st = ST_INTERNAL;
	}
	if (plain)
		free_wiped(plain, len + 1);
	return st;
}

/* ---- key files --------------------------------------------------------- */

static void test_keygen(void)
{
	char path[512], err[512] = "";
	unsigned char a[64], b[64];
	struct keyring *kr;

	path_of(path, sizeof(path), "gen.key");
	CHECK(keyring_generate(path, err, sizeof(err)) == ST_OK);
	CHECK(size_of(path) == KEY_BYTES);
	CHECK(mode_of(path) == 0600);
	CHECK(read_file(path, a, sizeof(a)) == KEY_BYTES);
	{
		static const unsigned char zero[KEY_BYTES];
		CHECK(memcmp(a, zero, KEY_BYTES) != 0);
	}

	/* A second keygen on the same path refuses and leaves the key alone. */
	err[0] = '\0';
	CHECK(keyring_generate(path, err, sizeof(err)) != ST_OK);
	CHECK(err[0] != '\0');
	CHECK(read_file(path, b, sizeof(b)) == KEY_BYTES);
	CHECK(memcmp(a, b, KEY_BYTES) == 0);
	CHECK(mode_of(path) == 0600);

	/* Two keygens make two different keys. */
	{
		char p2[512];
		path_of(p2, sizeof(p2), "gen2.key");
		CHECK(keyring_generate(p2, err, sizeof(err)) == ST_OK);
		CHECK(read_file(p2, b, sizeof(b)) == KEY_BYTES);
		CHECK(memcmp(a, b, KEY_BYTES) != 0);
	}

	/* Into a directory that does not exist: refused with a reason. */
	{
		char p3[512];
		path_of(p3, sizeof(p3), "no/such/dir.key");
		err[0] = '\0';
		CHECK(keyring_generate(p3, err, sizeof(err)) != ST_OK);
		CHECK(err[0] != '\0');
	}

	kr = load(path);
	CHECK(kr != NULL);
	if (kr) {
		CHECK(keyring_versions(kr) == 1);
		CHECK(keyring_current(kr) == 1);
		CHECK(keyring_has(kr, 1));
		CHECK(!keyring_has(kr, 0));
		CHECK(!keyring_has(kr, 2));
	}
	keyring_free(kr);
	keyring_free(NULL);
}

struct load_case {
	const char *what;
	size_t size; /* (size_t)-1: no file */
	mode_t mode;
	bool zero_first; /* version 1 all zero */
	bool ok;
	uint32_t versions;
};

static const struct load_case load_cases[] = {
    {"missing file", (size_t)-1, 0600, false, false, 0},
    {"mode 0640", 32, 0640, false, false, 0},
    {"mode 0644", 32, 0644, false, false, 0},
    {"mode 0604", 32, 0604, false, false, 0},
    {"mode 0620", 32, 0620, false, false, 0},
    {"mode 0602", 32, 0602, false, false, 0},
    {"mode 0660", 64, 0660, false, false, 0},
    {"mode 0610", 32, 0610, false, false, 0},
    {"size 0", 0, 0600, false, false, 0},
    {"size 31", 31, 0600, false, false, 0},
    {"size 33", 33, 0600, false, false, 0},
    {"size 65", 65, 0600, false, false, 0},
    {"size 63", 63, 0600, false, false, 0},
    {"size 1", 1, 0600, false, false, 0},
    {"256 keys, one too many", 32 * 256, 0600, false, false, 0},
    {"version 1 all zero", 32, 0600, true, false, 0},
    {"size 32", 32, 0600, false, true, 1},
    {"size 64", 64, 0600, false, true, 2},
    {"size 96", 96, 0600, false, true, 3},
    {"mode 0400", 32, 0400, false, true, 1},
    {"mode 0700", 32, 0700, false, true, 1},
    {"255 keys", 32 * 255, 0600, false, true, 255},
};

static void test_load(void)
{
	static unsigned char buf[32 * 256];

	for (size_t i = 0; i < ARRAY_SIZE(load_cases); i++) {
		const struct load_case *c = &load_cases[i];
		char path[512], err[512] = "";
		struct keyring *kr = (struct keyring *)1;
		enum st st;

		snprintf(path, sizeof(path), "%s/load%zu.key", dir, i);
		if (c->size != (size_t)-1) {
			crypto_random(buf, c->size);
			if (c->zero_first)
				memset(buf, 0, KEY_BYTES);
			CHECK(write_file(path, buf, c->size, c->mode));
		}
		st = keyring_load(path, &kr, err, sizeof(err));
		if ((st == ST_OK) != c->ok)
			fprintf(stderr, "keyring_load \"%s\": %s (%s)\n", c->what, st_name(st),
				err);
		CHECK((st == ST_OK) == c->ok);
		if (c->ok && st == ST_OK) {
			CHECK(kr != NULL);
			CHECK(keyring_versions(kr) == c->versions);
			CHECK(keyring_current(kr) == c->versions);
			keyring_free(kr);
		} else if (st != ST_OK) {
			/* One line naming the file; nothing handed out. */
			CHECK(kr == NULL);
			CHECK(strstr(err, path) != NULL);
			CHECK(strchr(err, '\n') == NULL);
		} else {
			keyring_free(kr);
		}
	}

	/* A symlink to a good key file is not followed. */
	{
		char target[512], link_path[512], err[512] = "";
		struct keyring *kr = NULL;
		path_of(target, sizeof(target), "target.key");
		path_of(link_path, sizeof(link_path), "link.key");
		crypto_random(buf, KEY_BYTES);
		CHECK(write_file(target, buf, KEY_BYTES, 0600));
		CHECK(symlink(target, link_path) == 0);
		CHECK(keyring_load(link_path, &kr, err, sizeof(err)) != ST_OK);
		CHECK(kr == NULL);
		keyring_free(kr);
	}
}

/* ---- envelope ---------------------------------------------------------- */

static const size_t seal_sizes[] = {0,	 1,   2,   15,	16,   17,   23,	  24,	31,   32,   33,
				    39,	 40,  41,  63,	64,   65,   100,  127,	128,  255,  256,
				    257, 511, 512, 513, 1000, 1023, 1024, 1025, 2048, 4095, 4096};

static void test_roundtrip(const struct keyring *kr)
{
	static unsigned char plain[4096];
	const char *tn = "WB123456789012345678";

	for (size_t i = 0; i < ARRAY_SIZE(seal_sizes); i++) {
		size_t n = seal_sizes[i];
		struct sealed s;
		enum st st;

		crypto_random(plain, n);
		if (n > 2)
			plain[n / 2] = '\0'; /* binary-safe: an inner NUL survives */
		CHECK(crypto_seal(kr, tn, plain, n, &s) == ST_OK);
		CHECK(s.blob_len == n + SEAL_OVERHEAD);
		CHECK(s.kek_version == keyring_current(kr));
		CHECK(s.seal_version == keyring_current(kr));
		/* The plaintext does not appear in the blob. */
		if (n >= 16)
			CHECK(memmem(s.blob, s.blob_len, plain, n) == NULL);
		st = open_cmp(kr, tn, s.kek_version, s.seal_version, s.wrapped_dek, s.blob,
			      s.blob_len, plain, n);
		if (st != ST_OK)
			fprintf(stderr, "round trip of %zu bytes: %s\n", n, st_name(st));
		CHECK(st == ST_OK);
		sealed_release(&s);
		CHECK(s.blob == NULL);
	}

	/* Two seals of the same plaintext differ (fresh nonce and DEK). */
	{
		struct sealed a, b;
		memcpy(plain, "same plaintext, twice", 21);
		CHECK(crypto_seal(kr, tn, plain, 21, &a) == ST_OK);
		CHECK(crypto_seal(kr, tn, plain, 21, &b) == ST_OK);
		CHECK(memcmp(a.blob, b.blob, a.blob_len) != 0);
		CHECK(memcmp(a.wrapped_dek, b.wrapped_dek, WRAPPED_DEK_BYTES) != 0);
		sealed_release(&a);
		sealed_release(&b);
	}
}

static void test_moved(const struct keyring *kr)
{
	static const char *const tns[] = {"WB123456789012345678",  "WB123456789012345679",
					  "XX123456789012345678",  "WB12345678901234567",
					  "WB1234567890123456789", ""};
	const char *pa = "order A's blob", *pb = "order B's other blob";
	struct sealed a, b;
	uint32_t v = keyring_current(kr);

	CHECK(crypto_seal(kr, tns[0], pa, strlen(pa), &a) == ST_OK);
	CHECK(crypto_seal(kr, tns[1], pb, strlen(pb), &b) == ST_OK);
	CHECK(open_cmp(kr, tns[0], v, v, a.wrapped_dek, a.blob, a.blob_len, pa, strlen(pa)) ==
	      ST_OK);
	CHECK(open_cmp(kr, tns[1], v, v, b.wrapped_dek, b.blob, b.blob_len, pb, strlen(pb)) ==
	      ST_OK);
	/* A's row moved to any other tracking number. */
	for (size_t i = 1; i < ARRAY_SIZE(tns); i++)
		CHECK(open_cmp(kr, tns[i], v, v, a.wrapped_dek, a.blob, a.blob_len, pa,
			       strlen(pa)) == ST_CRYPTO);
	/* A's blob with B's key in B's row, and the other way round. */
	CHECK(open_cmp(kr, tns[1], v, v, b.wrapped_dek, a.blob, a.blob_len, pa, strlen(pa)) ==
	      ST_CRYPTO);
	CHECK(open_cmp(kr, tns[0], v, v, b.wrapped_dek, a.blob, a.blob_len, pa, strlen(pa)) ==
	      ST_CRYPTO);
	CHECK(open_cmp(kr, tns[0], v, v, a.wrapped_dek, b.blob, b.blob_len, pb, strlen(pb)) ==
	      ST_CRYPTO);
	CHECK(open_cmp(kr, tns[1], v, v, a.wrapped_dek, b.blob, b.blob_len, pb, strlen(pb)) ==
	      ST_CRYPTO);
	/* Truncated or short blobs. */
	CHECK(open_cmp(kr, tns[0], v, v, a.wrapped_dek, a.blob, a.blob_len - 1, pa, strlen(pa)) ==
	      ST_CRYPTO);
	CHECK(open_cmp(kr, tns[0], v, v, a.wrapped_dek, a.blob, SEAL_OVERHEAD, pa, 0) == ST_CRYPTO);
	CHECK(open_cmp(kr, tns[0], v, v, a.wrapped_dek, a.blob, SEAL_OVERHEAD - 1, pa, 0) ==
	      ST_CRYPTO);
	CHECK(open_cmp(kr, tns[0], v, v, a.wrapped_dek, a.blob, 0, pa, 0) == ST_CRYPTO);
	sealed_release(&a);
	sealed_release(&b);
}

static void test_bitflips(const struct keyring *kr)
{
	const char *tn = "WB000000000000000097";
	unsigned char plain[64];
	struct sealed s;
	uint32_t v = keyring_current(kr);
	int opened = 0, tried = 0;

	crypto_random(plain, sizeof(plain));
	CHECK(crypto_seal(kr, tn, plain, sizeof(plain), &s) == ST_OK);
	CHECK(open_cmp(kr, tn, v, v, s.wrapped_dek, s.blob, s.blob_len, plain, sizeof(plain)) ==
	      ST_OK);
	for (size_t bit = 0; bit < s.blob_len * 8; bit++) {
		s.blob[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		opened += open_cmp(kr, tn, v, v, s.wrapped_dek, s.blob, s.blob_len, plain,
				   sizeof(plain)) != ST_CRYPTO;
		tried++;
		s.blob[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < WRAPPED_DEK_BYTES * 8; bit++) {
		s.wrapped_dek[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		opened += open_cmp(kr, tn, v, v, s.wrapped_dek, s.blob, s.blob_len, plain,
				   sizeof(plain)) != ST_CRYPTO;
		tried++;
		s.wrapped_dek[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	if (opened)
		fprintf(stderr, "%d of %d one-bit flips were not refused\n", opened, tried);
	CHECK(opened == 0);
	CHECK(tried == (int)((sizeof(plain) + SEAL_OVERHEAD + WRAPPED_DEK_BYTES) * 8));
	/* Every flip undone: it opens again. */
	CHECK(open_cmp(kr, tn, v, v, s.wrapped_dek, s.blob, s.blob_len, plain, sizeof(plain)) ==
	      ST_OK);
	sealed_release(&s);
}

/* Version numbers given to crypto_open must be the ones sealed with. */
static void test_versions(const struct keyring *kr2)
{
	const char *tn = "WB555555555555555555", *p = "versioned";
	struct sealed s;
	struct {
		uint32_t kv, sv;
		bool ok;
	} cases[] = {
	    {2, 2, true},  {1, 2, false},	   {2, 1, false},	   {1, 1, false},
	    {3, 2, false}, {2, 3, false},	   {0, 2, false},	   {2, 0, false},
	    {0, 0, false}, {UINT32_MAX, 2, false}, {2, UINT32_MAX, false}, {256, 2, false},
	};

	CHECK(keyring_current(kr2) == 2);
	CHECK(crypto_seal(kr2, tn, p, strlen(p), &s) == ST_OK);
	CHECK(s.kek_version == 2 && s.seal_version == 2);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum st st = open_cmp(kr2, tn, cases[i].kv, cases[i].sv, s.wrapped_dek, s.blob,
				      s.blob_len, p, strlen(p));
		if ((st == ST_OK) != cases[i].ok)
			fprintf(stderr, "open with kek %u seal %u: %s\n", cases[i].kv, cases[i].sv,
				st_name(st));
		CHECK((st == ST_OK) == cases[i].ok);
		if (!cases[i].ok)
			CHECK(st == ST_CRYPTO);
	}
	sealed_release(&s);
}

static void test_rotate_retire(void)
{
	char orig[512], path[512], err[512] = "";
	unsigned char before[KEY_BYTES * 4], after[KEY_BYTES * 4];
	const char *tn = "WB111111111111111111", *p1 = "sealed under version 1";
	const char *tn2 = "WB222222222222222222", *p2 = "sealed under version 2";
	struct keyring *kr1 = fresh("rot-orig.key", orig, sizeof(orig)), *kr2 = NULL, *kr3 = NULL;
	struct sealed s1, s2;
	unsigned char re[WRAPPED_DEK_BYTES], re3[WRAPPED_DEK_BYTES], re_b[WRAPPED_DEK_BYTES];
	uint32_t v = 0, to = 0;

	CHECK(kr1 != NULL);
	if (!kr1)
		return;
	path_of(path, sizeof(path), "rot.key");
	CHECK(copy_file(orig, path));
	CHECK(crypto_seal(kr1, tn, p1, strlen(p1), &s1) == ST_OK);
	CHECK(s1.kek_version == 1);

	/* Rotate: version 2 appended, version 1 bytes untouched, still 0600. */
	CHECK(read_file(path, before, sizeof(before)) == KEY_BYTES);
	CHECK(keyring_rotate(path, &v, err, sizeof(err)) == ST_OK);
	CHECK(v == 2);
	CHECK(size_of(path) == 2 * KEY_BYTES);
	CHECK(mode_of(path) == 0600);
	CHECK(read_file(path, after, sizeof(after)) == 2 * KEY_BYTES);
	CHECK(memcmp(before, after, KEY_BYTES) == 0);
	CHECK(memcmp(after, after + KEY_BYTES, KEY_BYTES) != 0);
	/* The original file is not touched by rotating the copy. */
	CHECK(size_of(orig) == KEY_BYTES);

	kr2 = load(path);
	CHECK(kr2 != NULL);
	if (!kr2)
		goto out;
	CHECK(keyring_current(kr2) == 2);
	CHECK(keyring_versions(kr2) == 2);
	CHECK(keyring_has(kr2, 1) && keyring_has(kr2, 2));
	test_versions(kr2);

	/* The old blob still opens with its version under the new keyring. */
	CHECK(open_cmp(kr2, tn, 1, 1, s1.wrapped_dek, s1.blob, s1.blob_len, p1, strlen(p1)) ==
	      ST_OK);
	/* New seals use version 2; the old keyring cannot open them. */
	CHECK(crypto_seal(kr2, tn2, p2, strlen(p2), &s2) == ST_OK);
	CHECK(s2.kek_version == 2 && s2.seal_version == 2);
	CHECK(open_cmp(kr1, tn2, 2, 2, s2.wrapped_dek, s2.blob, s2.blob_len, p2, strlen(p2)) ==
	      ST_CRYPTO);

	/* Rewrap moves the DEK to version 2; the blob keeps seal_version 1. */
	CHECK(crypto_rewrap(kr2, tn, 1, s1.wrapped_dek, re, &to) == ST_OK);
	CHECK(to == 2);
	CHECK(memcmp(re, s1.wrapped_dek, WRAPPED_DEK_BYTES) != 0);
	CHECK(open_cmp(kr2, tn, 2, 1, re, s1.blob, s1.blob_len, p1, strlen(p1)) == ST_OK);
	CHECK(open_cmp(kr2, tn, 1, 1, re, s1.blob, s1.blob_len, p1, strlen(p1)) == ST_CRYPTO);
	CHECK(open_cmp(kr1, tn, 1, 1, re, s1.blob, s1.blob_len, p1, strlen(p1)) == ST_CRYPTO);
	CHECK(open_cmp(kr2, tn, 2, 2, re, s1.blob, s1.blob_len, p1, strlen(p1)) == ST_CRYPTO);
	/* A rewrapped key moved to another row does not open there. */
	CHECK(open_cmp(kr2, tn2, 2, 1, re, s1.blob, s1.blob_len, p1, strlen(p1)) == ST_CRYPTO);
	/* Rewrap refuses a wrong source version, a wrong row, a tampered key. */
	to = 0;
	CHECK(crypto_rewrap(kr2, tn, 2, s1.wrapped_dek, re_b, &to) == ST_CRYPTO);
	CHECK(crypto_rewrap(kr2, tn2, 1, s1.wrapped_dek, re_b, &to) == ST_CRYPTO);
	CHECK(crypto_rewrap(kr2, tn, 3, s1.wrapped_dek, re_b, &to) == ST_CRYPTO);
	CHECK(to == 0);
	{
		unsigned char bad[WRAPPED_DEK_BYTES];
		memcpy(bad, s1.wrapped_dek, sizeof(bad));
		bad[30] ^= 0x01;
		CHECK(crypto_rewrap(kr2, tn, 1, bad, re_b, &to) == ST_CRYPTO);
	}

	/* Version 3; then retire version 2. */
	CHECK(keyring_rotate(path, &v, err, sizeof(err)) == ST_OK);
	CHECK(v == 3);
	kr3 = load(path);
	CHECK(kr3 != NULL);
	if (!kr3)
		goto out;
	CHECK(keyring_current(kr3) == 3);
	/* s2's DEK rewrapped to 3 before 2 retires. */
	CHECK(crypto_rewrap(kr3, tn2, 2, s2.wrapped_dek, re3, &to) == ST_OK);
	CHECK(to == 3);
	keyring_free(kr3);
	kr3 = NULL;

	{
		struct {
			uint32_t v;
			bool ok;
		} rc[] = {{0, false}, {1, false},	   {3, false},
			  {4, false}, {UINT32_MAX, false}, {2, true}};
		for (size_t i = 0; i < ARRAY_SIZE(rc); i++) {
			enum st st;
			CHECK(read_file(path, before, sizeof(before)) == 3 * KEY_BYTES);
			err[0] = '\0';
			st = keyring_retire(path, rc[i].v, err, sizeof(err));
			if ((st == ST_OK) != rc[i].ok)
				fprintf(stderr, "retire %u: %s (%s)\n", rc[i].v, st_name(st), err);
			CHECK((st == ST_OK) == rc[i].ok);
			CHECK(size_of(path) == 3 * KEY_BYTES);
			CHECK(mode_of(path) == 0600);
			CHECK(read_file(path, after, sizeof(after)) == 3 * KEY_BYTES);
			if (!rc[i].ok) {
				CHECK(err[0] != '\0');
				CHECK(memcmp(before, after, 3 * KEY_BYTES) == 0);
			} else {
				static const unsigned char zero[KEY_BYTES];
				CHECK(memcmp(after, before, KEY_BYTES) == 0);
				CHECK(memcmp(after + KEY_BYTES, zero, KEY_BYTES) == 0);
				CHECK(memcmp(after + 2 * KEY_BYTES, before + 2 * KEY_BYTES,
					     KEY_BYTES) == 0);
			}
		}
	}

	kr3 = load(path);
	CHECK(kr3 != NULL);
	if (!kr3)
		goto out;
	CHECK(keyring_versions(kr3) == 3);
	CHECK(keyring_current(kr3) == 3);
	CHECK(keyring_has(kr3, 1));
	CHECK(!keyring_has(kr3, 2));
	CHECK(keyring_has(kr3, 3));
	/* A DEK still on version 2 no longer opens; neither rewrap nor open. */
	CHECK(open_cmp(kr3, tn2, 2, 2, s2.wrapped_dek, s2.blob, s2.blob_len, p2, strlen(p2)) ==
	      ST_CRYPTO);
	CHECK(open_cmp(kr3, tn, 2, 1, re, s1.blob, s1.blob_len, p1, strlen(p1)) == ST_CRYPTO);
	CHECK(crypto_rewrap(kr3, tn2, 2, s2.wrapped_dek, re_b, &to) == ST_CRYPTO);
	/* The one rewrapped to 3 in time still opens; so does version 1's. */
	CHECK(open_cmp(kr3, tn2, 3, 2, re3, s2.blob, s2.blob_len, p2, strlen(p2)) == ST_OK);
	CHECK(open_cmp(kr3, tn, 1, 1, s1.wrapped_dek, s1.blob, s1.blob_len, p1, strlen(p1)) ==
	      ST_OK);
	/* Version 2 stays retired after another rotate. */
	CHECK(keyring_rotate(path, &v, err, sizeof(err)) == ST_OK);
	CHECK(v == 4);
	keyring_free(kr3);
	kr3 = load(path);
	CHECK(kr3 && keyring_current(kr3) == 4 && !keyring_has(kr3, 2) && keyring_has(kr3, 3));

	/* Subkeys come from version 1: token hashes survive rotation. */
	{
		unsigned char h1[HASH_BYTES], h3[HASH_BYTES];
		crypto_token_hash(kr1, "wb_token", 8, h1);
		if (kr3)
			crypto_token_hash(kr3, "wb_token", 8, h3);
		CHECK(kr3 && memcmp(h1, h3, HASH_BYTES) == 0);
	}

	/* Rotate and retire refuse a file that keyring_load would refuse. */
	{
		char loose[512];
		path_of(loose, sizeof(loose), "loose.key");
		CHECK(write_file(loose, before, KEY_BYTES, 0644));
		CHECK(keyring_rotate(loose, &v, err, sizeof(err)) != ST_OK);
		CHECK(size_of(loose) == KEY_BYTES);
		path_of(loose, sizeof(loose), "absent.key");
		CHECK(keyring_rotate(loose, &v, err, sizeof(err)) != ST_OK);
		CHECK(keyring_retire(loose, 2, err, sizeof(err)) != ST_OK);
	}
	sealed_release(&s2);
out:
	sealed_release(&s1);
	keyring_free(kr1);
	keyring_free(kr2);
	keyring_free(kr3);
}

/* ---- keyed hashes, tokens, MACs ---------------------------------------- */

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int cmp_token(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_tokens(const struct keyring *ka, const char *path_a, const struct keyring *kb)
{
	enum { N = 1000 };
	static char toks[N][TOKEN_CHARS + 1];
	unsigned char h1[HASH_BYTES], h2[HASH_BYTES], h3[HASH_BYTES];
	struct keyring *ka2 = load(path_a);
	int shape_bad = 0, dups = 0;

	for (int i = 0; i < N; i++) {
		memset(toks[i], 'X', sizeof(toks[i]));
		crypto_token_new(toks[i]);
		if (strlen(toks[i]) != TOKEN_CHARS || strncmp(toks[i], "wb_", 3) != 0)
			shape_bad++;
		for (int k = 3; k < TOKEN_CHARS; k++)
			if (!is_lower_hex(toks[i][k]))
				shape_bad++;
	}
	CHECK(shape_bad == 0);
	qsort(toks, N, sizeof(toks[0]), cmp_token);
	for (int i = 1; i < N; i++)
		dups += strcmp(toks[i - 1], toks[i]) == 0;
	CHECK(dups == 0);

	/* Deterministic per keyring, also across loads of the same file. */
	CHECK(ka2 != NULL);
	for (int i = 0; i < 20 && ka2; i++) {
		crypto_token_hash(ka, toks[i], TOKEN_CHARS, h1);
		crypto_token_hash(ka, toks[i], TOKEN_CHARS, h2);
		CHECK(memcmp(h1, h2, HASH_BYTES) == 0);
		crypto_token_hash(ka2, toks[i], TOKEN_CHARS, h2);
		CHECK(memcmp(h1, h2, HASH_BYTES) == 0);
		/* Different across keyrings. */
		crypto_token_hash(kb, toks[i], TOKEN_CHARS, h3);
		CHECK(memcmp(h1, h3, HASH_BYTES) != 0);
		/* Different tokens, different hashes. */
		crypto_token_hash(ka, toks[i + 1], TOKEN_CHARS, h3);
		CHECK(memcmp(h1, h3, HASH_BYTES) != 0);
		/* The length given counts: a prefix hashes differently. */
		crypto_token_hash(ka, toks[i], TOKEN_CHARS - 1, h3);
		CHECK(memcmp(h1, h3, HASH_BYTES) != 0);
	}
	keyring_free(ka2);

	/* The keyed hashes are separate: the same input, four different outputs. */
	{
		const char *in = "+8613812345678";
		unsigned char hs[4][HASH_BYTES], again[HASH_BYTES];
		static const unsigned char zero[HASH_BYTES];
		unsigned char prev[HASH_BYTES] = {0};

		crypto_token_hash(ka, in, strlen(in), hs[0]);
		crypto_blind_index(ka, in, strlen(in), hs[1]);
		crypto_body_digest(ka, in, strlen(in), hs[2]);
		crypto_audit_mac(ka, prev, in, strlen(in), hs[3]);
		for (int i = 0; i < 4; i++) {
			CHECK(memcmp(hs[i], zero, HASH_BYTES) != 0);
			for (int k = i + 1; k < 4; k++)
				CHECK(memcmp(hs[i], hs[k], HASH_BYTES) != 0);
		}
		crypto_blind_index(ka, in, strlen(in), again);
		CHECK(memcmp(again, hs[1], HASH_BYTES) == 0);
		crypto_blind_index(kb, in, strlen(in), again);
		CHECK(memcmp(again, hs[1], HASH_BYTES) != 0);
		crypto_body_digest(ka, in, strlen(in), again);
		CHECK(memcmp(again, hs[2], HASH_BYTES) == 0);
		crypto_body_digest(kb, in, strlen(in), again);
		CHECK(memcmp(again, hs[2], HASH_BYTES) != 0);
	}
}

static void test_audit_mac(const struct keyring *ka, const struct keyring *kb)
{
	const char *entry = "\0\0\0\x01"
			    "1\0\0\0\x03"
			    "abc";
	size_t elen = 12;
	unsigned char prev[HASH_BYTES], base[HASH_BYTES], m[HASH_BYTES];
	unsigned char e2[64];
	int same = 0;

	crypto_random(prev, sizeof(prev));
	crypto_audit_mac(ka, prev, entry, elen, base);
	crypto_audit_mac(ka, prev, entry, elen, m);
	CHECK(memcmp(base, m, HASH_BYTES) == 0);
	crypto_audit_mac(kb, prev, entry, elen, m);
	CHECK(memcmp(base, m, HASH_BYTES) != 0);

	/* Any one bit of prev changes the MAC. */
	for (size_t bit = 0; bit < HASH_BYTES * 8; bit++) {
		prev[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		crypto_audit_mac(ka, prev, entry, elen, m);
		same += memcmp(base, m, HASH_BYTES) == 0;
		prev[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	/* Any one bit of the entry changes it. */
	for (size_t bit = 0; bit < elen * 8; bit++) {
		memcpy(e2, entry, elen);
		e2[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		crypto_audit_mac(ka, prev, e2, elen, m);
		same += memcmp(base, m, HASH_BYTES) == 0;
	}
	CHECK(same == 0);
	/* So do a shorter or a longer entry. */
	crypto_audit_mac(ka, prev, entry, elen - 1, m);
	CHECK(memcmp(base, m, HASH_BYTES) != 0);
	memcpy(e2, entry, elen);
	e2[elen] = 0;
	crypto_audit_mac(ka, prev, e2, elen + 1, m);
	CHECK(memcmp(base, m, HASH_BYTES) != 0);
	crypto_audit_mac(ka, prev, entry, 0, m);
	CHECK(memcmp(base, m, HASH_BYTES) != 0);
	/* prev is hashed in full, not as a string: bytes after a zero count. */
	{
		unsigned char p0[HASH_BYTES] = {0}, p1[HASH_BYTES] = {0}, m0[HASH_BYTES];
		p1[HASH_BYTES - 1] = 1;
		crypto_audit_mac(ka, p0, entry, elen, m0);
		crypto_audit_mac(ka, p1, entry, elen, m);
		CHECK(memcmp(m0, m, HASH_BYTES) != 0);
	}
}

/* ---- randomness and helpers -------------------------------------------- */

static void test_digits(void)
{
	enum { N = 100000 };
	static char buf[N + 8];
	long count[10] = {0};
	int nondigit = 0;
	double chi = 0, expect = N / 10.0;

	memset(buf, '#', sizeof(buf));
	crypto_random_digits(buf, N);
	for (size_t i = 0; i < N; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			nondigit++;
		else
			count[buf[i] - '0']++;
	}
	CHECK(nondigit == 0);
	/* Exactly n written, nothing past the end (not NUL-terminated). */
	for (size_t i = N; i < sizeof(buf); i++)
		CHECK(buf[i] == '#');
	for (int d = 0; d < 10; d++)
		chi += (count[d] - expect) * (count[d] - expect) / expect;
	/* 9 degrees of freedom: P(chi2 > 40) is about 7e-6. */
	if (chi >= 40.0)
		fprintf(stderr, "digits chi-square %.1f\n", chi);
	CHECK(chi < 40.0);
	/* And not suspiciously perfect (P(chi2 < 0.3) is about 1e-6). */
	CHECK(chi > 0.3);

	/* Small n, many calls: each call writes exactly n digits. */
	{
		size_t ns[] = {0, 1, 2, 4, 16, 63, 64, 65, 200};
		for (size_t k = 0; k < ARRAY_SIZE(ns); k++) {
			memset(buf, '#', 256);
			crypto_random_digits(buf, ns[k]);
			for (size_t i = 0; i < ns[k]; i++)
				CHECK(buf[i] >= '0' && buf[i] <= '9');
			CHECK(buf[ns[k]] == '#');
		}
	}

	/* crypto_uniform stays in range and reaches every value. */
	{
		int seen[7] = {0}, out_of_range = 0;
		for (int i = 0; i < 7000; i++) {
			uint32_t u = crypto_uniform(7);
			if (u >= 7)
				out_of_range++;
			else
				seen[u]++;
		}
		CHECK(out_of_range == 0);
		for (int i = 0; i < 7; i++)
			CHECK(seen[i] > 700);
	}
}

static void test_equal_hex(void)
{
	struct {
		const char *a, *b;
		size_t len;
		bool eq;
	} cases[] = {
	    {"abcdef", "abcdef", 6, true},	{"abcdef", "xbcdef", 6, false},
	    {"abcdef", "abcdex", 6, false},	{"abcdef", "abXdef", 6, false},
	    {"abcdef", "abcdeX", 5, true},	{"", "", 0, true},
	    {"a\0b", "a\0c", 3, false},		{"a\0b", "a\0b", 3, true},
	    {"\xff\x00", "\xfe\x00", 2, false},
	};
	struct {
		unsigned char in[4];
		size_t len;
		const char *hex;
	} hx[] = {
	    {{0x00, 0xff, 0x0a, 0xb7}, 4, "00ff0ab7"},
	    {{0x12}, 1, "12"},
	    {{0}, 0, ""},
	};
	unsigned char big1[HASH_BYTES], big2[HASH_BYTES];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECK(crypto_equal(cases[i].a, cases[i].b, cases[i].len) == cases[i].eq);
	crypto_random(big1, sizeof(big1));
	memcpy(big2, big1, sizeof(big2));
	CHECK(crypto_equal(big1, big2, HASH_BYTES));
	for (size_t i = 0; i < HASH_BYTES; i++) {
		big2[i] ^= 0x80;
		CHECK(!crypto_equal(big1, big2, HASH_BYTES));
		big2[i] ^= 0x80;
	}
	for (size_t i = 0; i < ARRAY_SIZE(hx); i++) {
		char out[16];
		memset(out, 'Z', sizeof(out));
		crypto_hex(hx[i].in, hx[i].len, out);
		CHECK_STR(out, hx[i].hex);
	}
}

/*
 * The audit checkpoint key: one per key file, derived from version 1, so a
 * key file written before it existed has one, and rotation keeps it.
 */
static void test_checkpoint_key(const struct keyring *ka, const struct keyring *kb)
{
	static const char msg[] = "v1 seq=42 head=00 ts=2026-12-01T00:00:00Z";
	unsigned char pa[SIGN_PK_BYTES], pb[SIGN_PK_BYTES], pc[SIGN_PK_BYTES], sig[SIGN_BYTES];
	unsigned char bad[sizeof(msg)], raw[4];
	char path[512], err[512];
	struct keyring *kc, *kc2;
	uint32_t v = 0;

	crypto_checkpoint_key(ka, pa);
	crypto_checkpoint_key(kb, pb);
	CHECK(memcmp(pa, pb, SIGN_PK_BYTES) != 0);
	crypto_checkpoint_sign(ka, msg, strlen(msg), sig);
	CHECK(crypto_ed25519_verify(pa, msg, strlen(msg), sig));
	CHECK(!crypto_ed25519_verify(pb, msg, strlen(msg), sig));
	CHECK(!crypto_ed25519_verify(pa, msg, strlen(msg) - 1, sig));
	for (size_t i = 0; i < strlen(msg); i++) {
		memcpy(bad, msg, sizeof(msg));
		bad[i] ^= 1;
		CHECKF(!crypto_ed25519_verify(pa, bad, strlen(msg), sig), "byte %zu", i);
	}
	sig[7] ^= 0x40;
	CHECK(!crypto_ed25519_verify(pa, msg, strlen(msg), sig));

	/* Rotation adds KEKs; the checkpoint key stays, so old checkpoints still verify. */
	kc = fresh("cp.key", path, sizeof(path));
	CHECK(kc != NULL);
	if (!kc)
		return;
	crypto_checkpoint_key(kc, pc);
	CHECK(keyring_rotate(path, &v, err, sizeof(err)) == ST_OK && v == 2);
	kc2 = load(path);
	CHECK(kc2 != NULL);
	if (kc2) {
		crypto_checkpoint_key(kc2, pb);
		CHECK(memcmp(pb, pc, SIGN_PK_BYTES) == 0);
		CHECK(keyring_current(kc2) == 2);
	}
	keyring_free(kc2);
	keyring_free(kc);

	/* Hex in: lower case, exact length. */
	CHECK(crypto_hex_parse("00ff7a10", 8, raw, 4) && raw[1] == 0xff && raw[2] == 0x7a);
	CHECK(!crypto_hex_parse("00FF7a10", 8, raw, 4));
	CHECK(!crypto_hex_parse("00ff7a1", 7, raw, 4));
	CHECK(!crypto_hex_parse("00ff7a10aa", 10, raw, 4));
	CHECK(!crypto_hex_parse("00ff7a1g", 8, raw, 4));
	CHECK(!crypto_hex_parse("00 f7a10", 8, raw, 4));
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char pa[512], pb[512];
	struct keyring *ka, *kb;

	snprintf(dir, sizeof(dir), "%s/waybill-crypto-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || crypto_init() != ST_OK) {
		fprintf(stderr, "setup: %s\n", strerror(errno));
		return 1;
	}
	test_keygen();
	test_load();

	ka = fresh("a.key", pa, sizeof(pa));
	kb = fresh("b.key", pb, sizeof(pb));
	CHECK(ka && kb);
	if (ka && kb) {
		test_roundtrip(ka);
		test_moved(ka);
		test_bitflips(ka);
		test_tokens(ka, pa, kb);
		test_audit_mac(ka, kb);
		test_checkpoint_key(ka, kb);
	}
	keyring_free(ka);
	keyring_free(kb);
	test_rotate_retire();
	test_digits();
	test_equal_hex();

	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done();
}
