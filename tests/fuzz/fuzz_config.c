/*
 * fuzz_config.c - libFuzzer target for the two files the daemon reads at
 * start: the config file (config.c, "key = value" lines) and the root key
 * file (crypto.c's keyring_load).  The first input byte picks which; the
 * rest is the file, written to a private temporary directory (mode 0600)
 * and loaded through the public functions, as waybilld does.
 *
 * Besides memory errors it aborts when an invariant breaks:
 * - a refused config leaves one non-empty line in err; an accepted one has
 *   every string terminated within its field, a prefix of 2-4 capitals, a
 *   listen address with a port, and tls_cert and tls_key set together;
 * - a refused key file loads nothing and says why in one line; an accepted
 *   one has 1..255 versions, a current version it holds, and seals and
 *   opens a blob under it (and refuses it for another tracking number).
 */
#include "common.h"

#include "config.h"
#include "crypto.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern char **environ;

static char fz_dir[64];
static char fz_path[128];

static void die(const char *why)
{
	fprintf(stderr, "invariant broken: %s\n", why);
	abort();
}

static void fz_cleanup(void)
{
	if (fz_path[0])
		unlink(fz_path);
	if (fz_dir[0])
		rmdir(fz_dir);
}

/* Once: libsodium, a private directory, and no WAYBILL_* variable to mix in. */
static void fz_setup(void)
{
	if (fz_dir[0])
		return;
	if (crypto_init() != ST_OK)
		die("crypto_init");
	str_copy(fz_dir, sizeof(fz_dir), "/tmp/waybill-fuzz-config.XXXXXX");
	if (!mkdtemp(fz_dir))
		die("mkdtemp");
	snprintf(fz_path, sizeof(fz_path), "%s/file", fz_dir);
	atexit(fz_cleanup);
	for (size_t i = 0; environ[i];) {
		char name[128];
		size_t n = strcspn(environ[i], "=");
		if (strncmp(environ[i], "WAYBILL_", 8) == 0 && n < sizeof(name)) {
			memcpy(name, environ[i], n);
			name[n] = '\0';
			unsetenv(name);
			continue;
		}
		i++;
	}
}

static void fz_write(const uint8_t *data, size_t size)
{
	int fd;

	unlink(fz_path);
	fd = open(fz_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die("cannot create the temporary file");
	if (size && write(fd, data, size) != (ssize_t)size)
		die("short write");
	close(fd);
}

static void err_check(const char *err, size_t cap)
{
	if (!memchr(err, '\0', cap) || !err[0])
		die("a refusal without a reason");
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void fuzz_config_file(const uint8_t *data, size_t size)
{
	char *argv[] = {"waybilld", "--config", fz_path, NULL};
	struct config c;
	char err[1024];
	bool help = false;
	size_t n;

	fz_write(data, size);
	config_defaults(&c);
	memset(err, 0xa5, sizeof(err));
	if (config_load(&c, 3, argv, &help, err, sizeof(err)) != ST_OK) {
		err_check(err, sizeof(err));
		return;
	}
	if (help)
		die("--help set from a file");
	if (!terminated(c.listen, sizeof(c.listen)) || !terminated(c.db, sizeof(c.db)) ||
	    !terminated(c.key_file, sizeof(c.key_file)) ||
	    !terminated(c.audit_checkpoints, sizeof(c.audit_checkpoints)) ||
	    !terminated(c.tls_cert, sizeof(c.tls_cert)) ||
	    !terminated(c.tls_key, sizeof(c.tls_key)) ||
	    !terminated(c.templates, sizeof(c.templates)) || !terminated(c.font, sizeof(c.font)) ||
	    !terminated(c.tracking_prefix, sizeof(c.tracking_prefix)) ||
	    !terminated(c.vnum_pool, sizeof(c.vnum_pool)) ||
	    !terminated(c.log_level, sizeof(c.log_level)))
		die("a string option is not terminated");
	n = strlen(c.tracking_prefix);
	if (n < 2 || n > 4 || strspn(c.tracking_prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n)
		die("tracking_prefix accepted that is not 2-4 capitals");
	if (!strrchr(c.listen, ':'))
		die("listen accepted without a port");
	if (!c.tls_cert[0] != !c.tls_key[0])
		die("only one of tls_cert and tls_key");
	if (c.threads < 0 || c.threads > 64 || c.max_batch_labels < 1 || c.max_batch_labels > 500)
		die("an integer option out of its range");
}

static void fuzz_key_file(const uint8_t *data, size_t size)
{
	static const char plain[] = "{\"recipient\":{\"name\":\"fuzz\"}}";
	struct keyring *kr = (struct keyring *)1;
	struct sealed s;
	char err[1024], *back = NULL;
	size_t back_len = 0;
	uint32_t cur;

	fz_write(data, size);
	memset(err, 0xa5, sizeof(err));
	if (keyring_load(fz_path, &kr, err, sizeof(err)) != ST_OK) {
		if (kr)
			die("a refused key file left a keyring");
		err_check(err, sizeof(err));
		if (strchr(err, '\n'))
			die("key file error is not one line");
		return;
	}
	cur = keyring_current(kr);
	if (keyring_versions(kr) < 1 || keyring_versions(kr) > KEYRING_MAX_VERSIONS ||
	    keyring_versions(kr) != size / KEY_BYTES || cur < 1 || cur > keyring_versions(kr) ||
	    !keyring_has(kr, cur) || !keyring_has(kr, 1))
		die("accepted keyring has no usable current version");
	if (crypto_seal(kr, "WB0000000000000001", plain, sizeof(plain) - 1, &s) != ST_OK)
		die("cannot seal under an accepted keyring");
	if (crypto_open(kr, "WB0000000000000001", s.kek_version, s.seal_version, s.wrapped_dek,
			s.blob, s.blob_len, &back, &back_len) != ST_OK ||
	    back_len != sizeof(plain) - 1 || memcmp(back, plain, back_len) != 0)
		die("a sealed blob does not open");
	free_wiped(back, back_len + 1);
	back = NULL;
	if (crypto_open(kr, "WB0000000000000002", s.kek_version, s.seal_version, s.wrapped_dek,
			s.blob, s.blob_len, &back, &back_len) != ST_CRYPTO)
		die("a blob opened for another tracking number");
	sealed_release(&s);
	keyring_free(kr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_setup();
	if (size == 0)
		return 0;
	if (data[0] & 1)
		fuzz_key_file(data + 1, size - 1);
	else
		fuzz_config_file(data + 1, size - 1);
	return 0;
}
