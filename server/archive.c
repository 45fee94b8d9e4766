/*
 * archive.c - audit archives (see archive.h for the format).
 */
#include "common.h"
#include "archive.h"
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define HEADER "waybill audit archive v1"
#define LINE_MAX_BYTES 4096 /* an entry's line: its fields are bounded far below */

static void hex_field(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0 || n * 2 + 1 > cap) {
		snprintf(out, cap, "-");
		return;
	}
	crypto_hex((const unsigned char *)s, n, out);
}

static bool unhex_field(const char *hex, size_t len, char *out, size_t cap)
{
	if (len == 1 && hex[0] == '-') {
		out[0] = '\0';
		return true;
	}
	if (len == 0 || len % 2 || len / 2 >= cap ||
	    !crypto_hex_parse(hex, len, (unsigned char *)out, len / 2))
		return false;
	out[len / 2] = '\0';
	return strlen(out) == len / 2; /* no NUL inside */
}

struct writer {
	gzFile gz;
	int64_t first, last, next;
	unsigned char head[HASH_BYTES];
	bool failed;
};

static bool write_one(const struct audit_entry *e, void *arg)
{
	struct writer *w = arg;
	char f[8][REASON_MAX_BYTES * 2 + 2], prev[HASH_BYTES * 2 + 1], hash[HASH_BYTES * 2 + 1];
	const char *src[8] = {e->ts,	      e->actor,	 e->role,   e->action,
			      e->tracking_no, e->reason, e->result, e->request_id};

	if (e->seq < w->first)
		return true;
	if (e->seq > w->last)
		return false;
	if (e->seq != w->next) {
		w->failed = true;
		return false;
	}
	for (size_t i = 0; i < 8; i++)
		hex_field(src[i], f[i], sizeof(f[i]));
	crypto_hex(e->prev, HASH_BYTES, prev);
	crypto_hex(e->hash, HASH_BYTES, hash);
	if (gzprintf(w->gz, "e %lld %s %s %s %s %s %s %s %s %s %s\n", (long long)e->seq, f[0], f[1],
		     f[2], f[3], f[4], f[5], f[6], f[7], prev, hash) <= 0) {
		w->failed = true;
		return false;
	}
	memcpy(w->head, e->hash, HASH_BYTES);
	w->next++;
	return true;
}

enum st archive_write(const char *path, struct store *s, const struct keyring *kr, int64_t first,
		      int64_t last, struct archive_info *out, char *err, size_t errlen)
{
	struct writer w = {0};
	char msg[256], sighex[SIGN_BYTES * 2 + 1];
	time_t now = time(NULL);
	struct tm tm;
	size_t n;
	int fd;
	enum st st = ST_IO;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ST_IO;
	}
	w.gz = gzdopen(fd, "wb9");
	if (!w.gz) {
		close(fd);
		snprintf(err, errlen, "%s: cannot start compressing", path);
		return ST_IO;
	}
	w.first = first;
	w.last = last;
	w.next = first;
	if (gzprintf(w.gz, "%s\n", HEADER) <= 0)
		goto out;
	if (store_audit_each(s, NULL, write_one, &w) != ST_OK || w.failed || w.next != last + 1) {
		snprintf(err, errlen, "%s: the entries %lld..%lld could not all be written", path,
			 (long long)first, (long long)last);
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(out->ts, sizeof(out->ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = audit_archive_msg(msg, sizeof(msg), first, last, w.head, out->ts);
	if (n == 0)
		goto out;
	crypto_checkpoint_sign(kr, msg, n, out->sig);
	crypto_hex(out->sig, SIGN_BYTES, sighex);
	if (gzprintf(w.gz, "%s sig=%s\n", msg, sighex) <= 0 || gzflush(w.gz, Z_FINISH) != Z_OK ||
	    fsync(fd) != 0)
		goto out;
	out->ok = true;
	out->first = first;
	out->last = last;
	out->entries = last - first + 1;
	memcpy(out->head, w.head, HASH_BYTES);
	st = ST_OK;
out:
	if (gzclose(w.gz) != Z_OK && st == ST_OK)
		st = ST_IO;
	if (st != ST_OK) {
		if (!err[0])
			snprintf(err, errlen, "%s: cannot write it", path);
		unlink(path);
		out->ok = false;
	}
	return st;
}

/* Split line (no '\n') at spaces into at most max fields; their count. */
static size_t split(char *line, char **f, size_t *len, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p && n < max) {
		char *sp = strchr(p, ' ');
		f[n] = p;
		len[n] = sp ? (size_t)(sp - p) : strlen(p);
		n++;
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	return n;
}

static bool bad(struct archive_info *out, int64_t seq, const char *why)
{
	out->ok = false;
	out->bad_seq = seq;
	out->why = why;
	return false;
}

/* One "e ..." line: parsed, linked to prev, and its MAC checked. */
static bool check_entry(const struct keyring *kr, char *line, int64_t expect,
			unsigned char prev[HASH_BYTES], struct archive_info *out)
{
	char *f[13];
	size_t len[13];
	struct audit_entry e;
	char *end;
	char *dst[8];
	size_t cap[8];
	size_t n = split(line, f, len, 13);

	memset(&e, 0, sizeof(e));
	if (n != 12 || strcmp(f[0], "e") != 0)
		return bad(out, expect, "a line is not an entry");
	errno = 0;
	e.seq = strtoll(f[1], &end, 10);
	if (errno || *end || e.seq != expect)
		return bad(out, expect, "the entries are not numbered one after another");
	dst[0] = e.ts, cap[0] = sizeof(e.ts);
	dst[1] = e.actor, cap[1] = sizeof(e.actor);
	dst[2] = e.role, cap[2] = sizeof(e.role);
	dst[3] = e.action, cap[3] = sizeof(e.action);
	dst[4] = e.tracking_no, cap[4] = sizeof(e.tracking_no);
	dst[5] = e.reason, cap[5] = sizeof(e.reason);
	dst[6] = e.result, cap[6] = sizeof(e.result);
	dst[7] = e.request_id, cap[7] = sizeof(e.request_id);
	for (size_t i = 0; i < 8; i++)
		if (!unhex_field(f[2 + i], len[2 + i], dst[i], cap[i]))
			return bad(out, expect, "an entry's field is not hex");
	if (len[10] != HASH_BYTES * 2 || len[11] != HASH_BYTES * 2 ||
	    !crypto_hex_parse(f[10], len[10], e.prev, HASH_BYTES) ||
	    !crypto_hex_parse(f[11], len[11], e.hash, HASH_BYTES))
		return bad(out, expect, "an entry's hashes are not hex");
	if (!crypto_equal(e.prev, prev, HASH_BYTES) || !audit_link_ok(kr, &e))
		return bad(out, expect, "the entry does not link to the one before it");
	memcpy(prev, e.hash, HASH_BYTES);
	return true;
}

/* The last line: the archive checkpoint, exactly as audit_archive_msg spells it, signed. */
static bool check_trailer(const struct keyring *kr, const char *line, int64_t first, int64_t last,
			  const unsigned char head[HASH_BYTES], struct archive_info *out)
{
	const char *sig = strstr(line, " sig=");
	char msg[256];
	unsigned char pk[SIGN_PK_BYTES];
	size_t n;

	if (!sig)
		return bad(out, 0, "its last line is not an archive checkpoint");
	n = (size_t)(sig - line);
	if (n < 21 || n >= sizeof(msg))
		return bad(out, 0, "its last line is not an archive checkpoint");
	memcpy(out->ts, sig - 20, 20);
	out->ts[20] = '\0';
	if (audit_archive_msg(msg, sizeof(msg), first, last, head, out->ts) != n ||
	    memcmp(msg, line, n) != 0)
		return bad(out, 0,
			   "its checkpoint does not name the entries it holds (first, last, head)");
	if (strlen(sig + 5) != SIGN_BYTES * 2 ||
	    !crypto_hex_parse(sig + 5, SIGN_BYTES * 2, out->sig, SIGN_BYTES))
		return bad(out, 0, "its last line is not an archive checkpoint");
	crypto_checkpoint_key(kr, pk);
	if (!crypto_ed25519_verify(pk, msg, n, out->sig))
		return bad(out, 0,
			   "its checkpoint's signature does not verify (edited, or another "
			   "key)");
	return true;
}

enum st archive_verify(const char *path, const struct keyring *kr, int64_t first,
		       const unsigned char prev[HASH_BYTES], struct archive_info *out, char *err,
		       size_t errlen)
{
	char line[LINE_MAX_BYTES], last_line[LINE_MAX_BYTES];
	unsigned char link[HASH_BYTES];
	int64_t expect = first;
	bool have_last = false, header = false;
	gzFile gz;
	int fd;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ST_IO;
	}
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		snprintf(err, errlen, "%s: cannot read it", path);
		return ST_IO;
	}
	memcpy(link, prev, HASH_BYTES);
	while (gzgets(gz, line, sizeof(line))) {
		size_t n = strlen(line);

		if (n == 0 || line[n - 1] != '\n') {
			bad(out, expect, "a line is too long or cut short");
			break;
		}
		line[--n] = '\0';
		if (!header) {
			if (strcmp(line, HEADER) != 0) {
				bad(out, 0, "it is not a waybill audit archive");
				break;
			}
			header = true;
			continue;
		}
		/* Each line but the last is an entry; hold one back to tell. */
		if (have_last) {
			if (!check_entry(kr, last_line, expect, link, out))
				break;
			expect++;
		}
		memcpy(last_line, line, n + 1);
		have_last = true;
	}
	if (out->ok && !gzeof(gz))
		bad(out, 0, "it cannot be read to the end (damaged?)");
	if (out->ok && (!header || !have_last))
		bad(out, 0, "it is empty or not an archive");
	if (out->ok && expect == first)
		bad(out, first, "it holds no entry");
	if (out->ok && check_trailer(kr, last_line, first, expect - 1, link, out)) {
		out->first = first;
		out->last = expect - 1;
		out->entries = expect - first;
		memcpy(out->head, link, HASH_BYTES);
	}
	gzclose(gz);
	return ST_OK;
}
