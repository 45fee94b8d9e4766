/*
 * test_auditcp.c - the signed checkpoint line: it round-trips, any change to
 * any byte of it is refused (not a line, or a bad signature), only one
 * spelling of each line parses, and the file reader numbers lines and
 * notices one cut short.
 */
#include "../../server/common.h"
#include "../../server/auditcp.h"
#include "../../server/crypto.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "t.h"

static char dir[256];

static struct keyring *key_new(const char *name)
{
	char path[512], err[512];
	struct keyring *kr = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (keyring_generate(path, err, sizeof(err)) != ST_OK ||
	    keyring_load(path, &kr, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "%s: %s\n", path, err);
		return NULL;
	}
	return kr;
}

static void test_line(const struct keyring *ka, const struct keyring *kb)
{
	unsigned char head[HASH_BYTES], pa[SIGN_PK_BYTES], pb[SIGN_PK_BYTES];
	char line[AUDITCP_LINE_MAX], bad[AUDITCP_LINE_MAX], hex[HASH_BYTES * 2 + 1];
	struct auditcp_line cp;
	size_t n;
	bool sig_ok;

	for (size_t i = 0; i < HASH_BYTES; i++)
		head[i] = (unsigned char)(i * 7 + 1);
	crypto_hex(head, HASH_BYTES, hex);
	crypto_checkpoint_key(ka, pa);
	crypto_checkpoint_key(kb, pb);
	n = auditcp_format(ka, 123456, head, 1764547200, line, sizeof(line));
	CHECK(n > 0 && line[n - 1] == '\n' && strlen(line) == n);
	CHECK(strncmp(line, "v1 seq=123456 head=", 19) == 0);
	CHECK(strncmp(line + 19, hex, 64) == 0);
	CHECK(strncmp(line + 83, " ts=2025-12-01T00:00:00Z sig=", 29) == 0);

	CHECK(auditcp_parse(line, n - 1, pa, &cp, &sig_ok) == ST_OK);
	CHECK(sig_ok && cp.seq == 123456 && memcmp(cp.head, head, HASH_BYTES) == 0);
	CHECK(strcmp(cp.ts, "2025-12-01T00:00:00Z") == 0);
	/* Another key file's daemon did not sign it. */
	CHECK(auditcp_parse(line, n - 1, pb, &cp, &sig_ok) == ST_OK && !sig_ok);

	/* Any byte changed: either no longer a line, or its signature fails. */
	for (size_t i = 0; i < n - 1; i++) {
		static const char subst[] = {'0', '1', 'f', 'a', ' ', 'Z'};
		for (size_t k = 0; k < sizeof(subst); k++) {
			if (line[i] == subst[k])
				continue;
			memcpy(bad, line, n);
			bad[i] = subst[k];
			CHECKF(auditcp_parse(bad, n - 1, pa, &cp, &sig_ok) != ST_OK || !sig_ok,
			       "byte %zu -> %c", i, subst[k]);
		}
	}
	/* Cut short, or something after it. */
	for (size_t len = 0; len < n - 1; len++)
		CHECKF(auditcp_parse(line, len, pa, &cp, &sig_ok) != ST_OK, "length %zu", len);
	memcpy(bad, line, n - 1);
	memcpy(bad + n - 1, " x", 3);
	CHECK(auditcp_parse(bad, n + 1, pa, &cp, &sig_ok) != ST_OK);

	/* One spelling: no leading zero, no capitals, no seq 0. */
	memcpy(bad, "v1 seq=0123456", 14);
	memcpy(bad + 14, line + 13, n - 13);
	CHECK(auditcp_parse(bad, n, pa, &cp, &sig_ok) != ST_OK);
	memcpy(bad, line, n);
	for (size_t i = 19; i < 83; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f')
			bad[i] = (char)(bad[i] - 'a' + 'A');
	CHECK(auditcp_parse(bad, n - 1, pa, &cp, &sig_ok) != ST_OK);
	n = auditcp_format(ka, 0, head, 1764547200, line, sizeof(line));
	CHECK(n > 0 && auditcp_parse(line, n - 1, pa, &cp, &sig_ok) != ST_OK);

	/* The longest seq still fits a line. */
	n = auditcp_format(ka, 999999999999999999LL, head, 1764547200, line, sizeof(line));
	CHECK(n > 0 && n < AUDITCP_LINE_MAX);
	CHECK(auditcp_parse(line, n - 1, pa, &cp, &sig_ok) == ST_OK && sig_ok);
}

struct seen {
	size_t lines, good, invalid, badsig, incomplete;
	int64_t last_seq;
};

static bool count(size_t lineno, enum st st, const struct auditcp_line *cp, bool sig_ok,
		  bool incomplete, void *arg)
{
	struct seen *s = arg;

	s->lines = lineno;
	if (incomplete)
		s->incomplete++;
	if (st != ST_OK)
		s->invalid++;
	else if (!sig_ok)
		s->badsig++;
	else {
		s->good++;
		s->last_seq = cp->seq;
	}
	return true;
}

static void test_file(const struct keyring *ka, const struct keyring *kb)
{
	unsigned char head[HASH_BYTES] = {1}, pa[SIGN_PK_BYTES];
	char path[512], line[AUDITCP_LINE_MAX], err[512];
	struct seen s = {0};
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/cp", dir);
	crypto_checkpoint_key(ka, pa);
	CHECK(auditcp_each(path, pa, count, &s, err, sizeof(err)) == ST_NOTFOUND);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	n = auditcp_format(ka, 5, head, 1764547200, line, sizeof(line));
	fwrite(line, 1, n, f);
	n = auditcp_format(kb, 6, head, 1764547260, line, sizeof(line)); /* another key */
	fwrite(line, 1, n, f);
	fputs("not a checkpoint\n", f);
	for (int i = 0; i < 600; i++) /* a line longer than any checkpoint */
		fputc('x', f);
	fputc('\n', f);
	n = auditcp_format(ka, 7, head, 1764547320, line, sizeof(line));
	fwrite(line, 1, n, f);
	fwrite(line, 1, n / 2, f); /* a write cut short */
	fclose(f);
	CHECK(auditcp_each(path, pa, count, &s, err, sizeof(err)) == ST_OK);
	CHECK(s.lines == 6);
	CHECK(s.good == 2 && s.last_seq == 7);
	CHECK(s.badsig == 1);
	CHECK(s.invalid == 3);
	CHECK(s.incomplete == 1);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	struct keyring *ka, *kb;

	snprintf(dir, sizeof(dir), "%s/waybill-auditcp-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || crypto_init() != ST_OK) {
		fprintf(stderr, "setup: %s\n", strerror(errno));
		return 1;
	}
	ka = key_new("a.key");
	kb = key_new("b.key");
	CHECK(ka && kb);
	if (ka && kb) {
		test_line(ka, kb);
		test_file(ka, kb);
	}
	keyring_free(ka);
	keyring_free(kb);
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done();
}
