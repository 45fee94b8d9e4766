/*
 * auditcp.c - signed audit checkpoints (see auditcp.h for the line).
 *
 * The file is opened O_APPEND|O_CREAT, mode 0600, and only ever appended
 * to: one write() per line, then fsync.  At start the daemon reads only the
 * file's tail for the last line, so a start costs the same after a year of
 * checkpoints as after one; `waybillctl audit verify --checkpoints` reads
 * every line.
 */
#include "common.h"
#include "auditcp.h"
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TAIL_BYTES 1024 /* holds the last line whole: a line is < AUDITCP_LINE_MAX */

struct auditcp {
	char path[512];
	const struct keyring *kr;
	struct store *store;
	int fd;
	long interval_s;
	pthread_t thread;
	bool started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int64_t last_seq; /* the last checkpoint written (or found at start) */
	unsigned char last_head[HASH_BYTES];
	char last_ts[24]; /* the one found at start */
	bool lost;	  /* the chain no longer holds it: write no more */
	/* The whole walk beside the serving daemon (see auditcp_start). */
	pthread_t walker;
	bool walker_started;
	/* What /readyz reports: NULL, "audit" (a break, or lost), "store". */
	_Atomic(const char *) trouble;
	int64_t start_seq; /* the checkpoint the start walked from */
	unsigned char start_head[HASH_BYTES];
};

/* The signed part of a line: everything before " sig=". */
static int signed_part(char *out, size_t cap, int64_t seq, const unsigned char head[HASH_BYTES],
		       const char *ts)
{
	char hex[HASH_BYTES * 2 + 1];

	crypto_hex(head, HASH_BYTES, hex);
	return snprintf(out, cap, "v1 seq=%lld head=%s ts=%s", (long long)seq, hex, ts);
}

size_t auditcp_format(const struct keyring *kr, int64_t seq, const unsigned char head[HASH_BYTES],
		      int64_t now, char *line, size_t cap)
{
	unsigned char sig[SIGN_BYTES];
	char sighex[SIGN_BYTES * 2 + 1], ts[24];
	time_t t = (time_t)now;
	struct tm tm;
	int n, m;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = signed_part(line, cap, seq, head, ts);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	crypto_checkpoint_sign(kr, line, (size_t)n, sig);
	crypto_hex(sig, SIGN_BYTES, sighex);
	m = snprintf(line + n, cap - (size_t)n, " sig=%s\n", sighex);
	if (m < 0 || (size_t)m >= cap - (size_t)n)
		return 0;
	return (size_t)n + (size_t)m;
}

/* Does s (len bytes) start with the literal lit?  Advances *s and *len past it. */
static bool take(const char **s, size_t *len, const char *lit)
{
	size_t n = strlen(lit);

	if (*len < n || memcmp(*s, lit, n) != 0)
		return false;
	*s += n;
	*len -= n;
	return true;
}

static bool ts_shape_ok(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return false;
	return true;
}

enum st auditcp_parse(const char *line, size_t len, const unsigned char pk[SIGN_PK_BYTES],
		      struct auditcp_line *out, bool *sig_ok)
{
	const char *p = line, *sig_at;
	size_t left = len, digits = 0;
	int64_t seq = 0;

	*sig_ok = false;
	memset(out, 0, sizeof(*out));
	if (!take(&p, &left, "v1 seq="))
		return ST_INVALID;
	while (digits < left && p[digits] >= '0' && p[digits] <= '9')
		digits++;
	/* 1..18 digits, no leading zero: one spelling per number, no overflow. */
	if (digits == 0 || digits > 18 || p[0] == '0')
		return ST_INVALID;
	for (size_t i = 0; i < digits; i++)
		seq = seq * 10 + (p[i] - '0');
	p += digits;
	left -= digits;
	if (!take(&p, &left, " head=") || left < HASH_BYTES * 2 ||
	    !crypto_hex_parse(p, HASH_BYTES * 2, out->head, HASH_BYTES))
		return ST_INVALID;
	p += HASH_BYTES * 2;
	left -= HASH_BYTES * 2;
	if (!take(&p, &left, " ts=") || left < 20 || !ts_shape_ok(p))
		return ST_INVALID;
	memcpy(out->ts, p, 20);
	out->ts[20] = '\0';
	p += 20;
	left -= 20;
	sig_at = p;
	if (!take(&p, &left, " sig=") || left != SIGN_BYTES * 2 ||
	    !crypto_hex_parse(p, SIGN_BYTES * 2, out->sig, SIGN_BYTES))
		return ST_INVALID;
	out->seq = seq;
	*sig_ok = crypto_ed25519_verify(pk, line, (size_t)(sig_at - line), out->sig);
	return ST_OK;
}

enum st auditcp_each(const char *path, const unsigned char pk[SIGN_PK_BYTES], auditcp_fn fn,
		     void *arg, char *err, size_t errlen)
{
	char buf[AUDITCP_LINE_MAX + 2];
	FILE *f = fopen(path, "re");
	size_t lineno = 0;
	enum st res = ST_OK;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? ST_NOTFOUND : ST_IO;
	}
	while (fgets(buf, sizeof(buf), f)) {
		size_t n = strlen(buf);
		bool nl = n > 0 && buf[n - 1] == '\n', sig_ok = false, incomplete = false;
		struct auditcp_line cp;
		enum st st;

		lineno++;
		if (nl) {
			buf[--n] = '\0';
		} else if (!feof(f)) {
			/* Longer than any checkpoint: skip the rest of it. */
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			n = 0;
			buf[0] = '\0';
		} else {
			incomplete = true;
		}
		st = n ? auditcp_parse(buf, n, pk, &cp, &sig_ok) : ST_INVALID;
		if (st != ST_OK)
			memset(&cp, 0, sizeof(cp));
		if (!fn(lineno, st, &cp, sig_ok, incomplete, arg))
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		res = ST_IO;
	}
	fclose(f);
	return res;
}

/*
 * The last whole line of the file (fd open for reading) into line; *found
 * false when there is none.  *torn tells the file ends without a '\n'.
 */
static enum st last_line(int fd, char *line, size_t cap, bool *found, bool *torn)
{
	char buf[TAIL_BYTES + 1];
	struct stat sb;
	off_t from;
	ssize_t n;
	size_t end, start;

	*found = false;
	*torn = false;
	if (fstat(fd, &sb) != 0)
		return ST_IO;
	if (sb.st_size == 0)
		return ST_OK;
	from = sb.st_size > TAIL_BYTES ? sb.st_size - TAIL_BYTES : 0;
	n = pread(fd, buf, TAIL_BYTES, from);
	if (n <= 0)
		return ST_IO;
	end = (size_t)n;
	*torn = buf[end - 1] != '\n';
	while (end > 0 && buf[end - 1] != '\n')
		end--; /* drop a torn tail */
	if (end == 0)
		return *torn && from == 0 ? ST_OK : ST_INVALID;
	end--; /* the '\n' */
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (start == 0 && from > 0)
		return ST_INVALID; /* a line longer than any checkpoint */
	if (end - start >= cap)
		return ST_INVALID;
	memcpy(line, buf + start, end - start);
	line[end - start] = '\0';
	*found = true;
	return ST_OK;
}

/* Hold the chain in s to the file's last checkpoint. */
static enum st check_last(struct auditcp *cp, char *err, size_t errlen)
{
	char line[AUDITCP_LINE_MAX + 1];
	unsigned char pk[SIGN_PK_BYTES], h[HASH_BYTES];
	struct auditcp_line last;
	bool found, torn, sig_ok;
	int64_t head_seq;
	int rfd = open(cp->path, O_RDONLY | O_CLOEXEC);
	enum st st;

	if (rfd < 0) {
		snprintf(err, errlen, "audit_checkpoints %s: %s", cp->path, strerror(errno));
		return ST_IO;
	}
	st = last_line(rfd, line, sizeof(line), &found, &torn);
	close(rfd);
	if (st != ST_OK) {
		snprintf(err, errlen, "audit_checkpoints %s: %s", cp->path,
			 st == ST_INVALID ? "its last line is not a checkpoint" : "cannot read it");
		return st;
	}
	if (torn) {
		/* A write cut short: what follows must start a line of its own. */
		log_warn("audit checkpoints %s: the last line is incomplete; ignoring it",
			 cp->path);
		if (write(cp->fd, "\n", 1) != 1 || fsync(cp->fd) != 0) {
			snprintf(err, errlen, "audit_checkpoints %s: %s", cp->path,
				 strerror(errno));
			return ST_IO;
		}
	}
	if (!found)
		return ST_OK; /* none yet: check_tail walks it all, and says so */
	crypto_checkpoint_key(cp->kr, pk);
	if (auditcp_parse(line, strlen(line), pk, &last, &sig_ok) != ST_OK) {
		snprintf(err, errlen, "audit_checkpoints %s: its last line is not a checkpoint",
			 cp->path);
		return ST_INVALID;
	}
	if (!sig_ok) {
		snprintf(err, errlen,
			 "audit_checkpoints %s: the last checkpoint (seq %lld) has a bad signature "
			 "(edited, or another key)",
			 cp->path, (long long)last.seq);
		return ST_CRYPTO;
	}
	if (store_audit_head(cp->store, &head_seq, h) != ST_OK) {
		snprintf(err, errlen, "audit chain: cannot read its head");
		return ST_IO;
	}
	st = store_audit_at(cp->store, last.seq, h);
	if (st == ST_GONE) {
		/*
		 * Archived since (waybillctl audit archive): the signed archive
		 * checkpoint vouches for it, and the chain continues from there.
		 */
		if (store_audit_base(cp->store, &cp->last_seq, cp->last_head) != ST_OK) {
			snprintf(err, errlen,
				 "audit chain: its archive checkpoint does not verify");
			return ST_CRYPTO;
		}
		snprintf(cp->last_ts, sizeof(cp->last_ts), "archived");
		return ST_OK;
	}
	if (st == ST_NOTFOUND) {
		snprintf(err, errlen,
			 "audit chain is behind its last checkpoint: %s holds seq %lld, the "
			 "database ends at seq %lld (entries were deleted?)",
			 cp->path, (long long)last.seq, (long long)head_seq);
		return ST_CRYPTO;
	}
	if (st != ST_OK) {
		snprintf(err, errlen, "audit chain: cannot read it");
		return st;
	}
	if (!crypto_equal(h, last.head, HASH_BYTES)) {
		snprintf(
		    err, errlen,
		    "audit chain contradicts its last checkpoint: entry %lld's hash is not the "
		    "head %s holds",
		    (long long)last.seq, cp->path);
		return ST_CRYPTO;
	}
	cp->last_seq = last.seq;
	memcpy(cp->last_head, last.head, HASH_BYTES);
	memcpy(cp->last_ts, last.ts, sizeof(cp->last_ts));
	return ST_OK;
}

/*
 * The start's walk: only the entries after the last checkpoint (all of
 * them when there is none), so a start costs the same at any length of
 * chain.  What came before, the checkpoint's signature vouches for; the
 * whole walk runs afterwards, beside the serving daemon (walker_main).
 */
static enum st check_tail(struct auditcp *cp, char *err, size_t errlen)
{
	struct audit_check chk;
	char hex[HASH_BYTES * 2 + 1];
	enum st st = store_audit_verify_from(cp->store, cp->last_seq, cp->last_head, &chk);

	if (st != ST_OK) {
		snprintf(err, errlen, "audit chain: cannot read it");
		return st;
	}
	if (!chk.ok) {
		snprintf(err, errlen,
			 "audit chain broken at seq %lld (%lld good entries after the checkpoint "
			 "at seq %lld): %s",
			 (long long)chk.bad_seq, (long long)chk.entries, (long long)cp->last_seq,
			 chk.why);
		return ST_CRYPTO;
	}
	cp->start_seq = cp->last_seq;
	memcpy(cp->start_head, cp->last_head, HASH_BYTES);
	crypto_hex(chk.head, HASH_BYTES, hex);
	if (cp->last_seq == 0)
		log_info("audit checkpoints %s: none yet; the whole chain verified: %lld entries, "
			 "head %s",
			 cp->path, (long long)chk.entries, hex);
	else
		log_info("audit checkpoints %s: the chain holds the last one (seq %lld, %s); "
			 "audit chain verified from the checkpoint at seq %lld: %lld entries after "
			 "it, head %s",
			 cp->path, (long long)cp->last_seq, cp->last_ts, (long long)cp->last_seq,
			 (long long)chk.entries, hex);
	return ST_OK;
}

/* The whole chain, once, beside the serving daemon: a break turns /readyz to 503. */
static void *walker_main(void *arg)
{
	struct auditcp *cp = arg;
	struct audit_check chk;
	uint64_t t0, t1;
	char err[256];

	pthread_setname_np(pthread_self(), "wb-audit-walk");
	t0 = clock_mono_ns();
	/* It reads the whole file, so it runs here too, not before serving. */
	if (store_quick_check(cp->store, err, sizeof(err)) != ST_OK) {
		log_error("store: %s; /readyz answers 503 (store)", err);
		atomic_store(&cp->trouble, "store");
		return NULL;
	}
	if (store_audit_verify(cp->store, &chk) != ST_OK) {
		log_error("audit chain: the whole walk could not read it");
		atomic_store(&cp->trouble, "audit");
		return NULL;
	}
	t1 = clock_mono_ns();
	if (!chk.ok) {
		log_error("audit chain broken at seq %lld (after %lld good entries): %s; /readyz "
			  "answers 503 (audit) until it is looked into",
			  (long long)chk.bad_seq, (long long)chk.entries, chk.why);
		atomic_store(&cp->trouble, "audit");
		return NULL;
	}
	log_info("audit chain: the whole walk verified %lld entries in %.1f s",
		 (long long)chk.entries, (double)(t1 - t0) / 1e9);
	return NULL;
}

const char *auditcp_trouble(struct auditcp *cp)
{
	return cp ? atomic_load(&cp->trouble) : NULL;
}

bool auditcp_last(struct auditcp *cp, int64_t *seq, unsigned char head[HASH_BYTES], bool *held)
{
	unsigned char h[HASH_BYTES];
	enum st st;

	if (!cp)
		return false;
	pthread_mutex_lock(&cp->lock);
	*seq = cp->last_seq;
	memcpy(head, cp->last_head, HASH_BYTES);
	pthread_mutex_unlock(&cp->lock);
	if (*seq <= 0)
		return false;
	st = store_audit_at(cp->store, *seq, h);
	*held = st == ST_GONE || (st == ST_OK && crypto_equal(h, head, HASH_BYTES));
	return true;
}

/* Append a checkpoint of the chain's head: when it moved, or always (force). */
static void checkpoint_once(struct auditcp *cp, bool force)
{
	char line[AUDITCP_LINE_MAX];
	unsigned char head[HASH_BYTES];
	int64_t seq;
	size_t n;

	if (store_audit_head(cp->store, &seq, head) != ST_OK) {
		log_error("audit checkpoint: cannot read the chain's head");
		return;
	}
	if (seq == 0 && cp->last_seq == 0)
		return; /* nothing to hold yet */
	if (!force && seq == cp->last_seq && crypto_equal(head, cp->last_head, HASH_BYTES))
		return;
	/*
	 * Entries deleted (or rewritten) under the running daemon: the writer
	 * carries on from the shortened head, and a checkpoint of that would
	 * bless it.  Write none, so the next start finds the last one
	 * contradicted and refuses; audit verify --checkpoints shows where.
	 */
	if (cp->last_seq > 0) {
		unsigned char h[HASH_BYTES];
		enum st st = store_audit_at(cp->store, cp->last_seq, h);

		/* ST_GONE: archived meanwhile, under a signed archive checkpoint. */
		if (st == ST_NOTFOUND ||
		    (st == ST_OK && !crypto_equal(h, cp->last_head, HASH_BYTES)))
			cp->lost = true;
	}
	if (cp->lost) {
		atomic_store(&cp->trouble, "audit");
		log_error("audit checkpoint: the chain no longer holds the checkpoint at seq %lld "
			  "(entries deleted or rewritten while running); writing no more, and the "
			  "next start will refuse",
			  (long long)cp->last_seq);
		return;
	}
	n = auditcp_format(cp->kr, seq, head, (int64_t)time(NULL), line, sizeof(line));
	if (n == 0) {
		log_error("audit checkpoint: cannot format it");
		return;
	}
	if (write(cp->fd, line, n) != (ssize_t)n || fsync(cp->fd) != 0) {
		log_error("audit checkpoints %s: %s", cp->path, strerror(errno));
		return;
	}
	pthread_mutex_lock(&cp->lock); /* auditcp_last reads them from HTTP threads */
	cp->last_seq = seq;
	memcpy(cp->last_head, head, HASH_BYTES);
	pthread_mutex_unlock(&cp->lock);
	log_info("audit checkpoint: %.*s", (int)(n - 1), line);
}

static void *checkpoint_main(void *arg)
{
	struct auditcp *cp = arg;

	pthread_mutex_lock(&cp->lock);
	while (!cp->stopping) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += cp->interval_s;
		while (!cp->stopping &&
		       pthread_cond_timedwait(&cp->wake, &cp->lock, &until) != ETIMEDOUT)
			;
		if (cp->stopping)
			break;
		pthread_mutex_unlock(&cp->lock);
		checkpoint_once(cp, false);
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

enum st auditcp_open(const char *path, const struct keyring *kr, struct store *s,
		     struct auditcp **out, char *err, size_t errlen)
{
	struct auditcp *cp = calloc(1, sizeof(*cp));
	enum st st;

	*out = NULL;
	if (!cp)
		return ST_NOMEM;
	if ((size_t)snprintf(cp->path, sizeof(cp->path), "%s", path) >= sizeof(cp->path)) {
		snprintf(err, errlen, "audit_checkpoints: path too long");
		free(cp);
		return ST_INVALID;
	}
	cp->kr = kr;
	cp->store = s;
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->wake, NULL);
	cp->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (cp->fd < 0) {
		snprintf(err, errlen, "audit_checkpoints %s: %s", path, strerror(errno));
		st = ST_IO;
		goto out;
	}
	st = check_last(cp, err, errlen);
	if (st != ST_OK)
		goto out;
	st = check_tail(cp, err, errlen);
out:
	if (st != ST_OK) {
		auditcp_close(cp);
		return st;
	}
	*out = cp;
	return ST_OK;
}

enum st auditcp_start(struct auditcp *cp, long interval_s)
{
	cp->interval_s = interval_s > 0 ? interval_s : 60;
	if (pthread_create(&cp->thread, NULL, checkpoint_main, cp) != 0)
		return ST_INTERNAL;
	cp->started = true;
	if (pthread_create(&cp->walker, NULL, walker_main, cp) != 0)
		return ST_INTERNAL;
	cp->walker_started = true;
	return ST_OK;
}

void auditcp_close(struct auditcp *cp)
{
	if (!cp)
		return;
	if (cp->walker_started)
		pthread_join(cp->walker, NULL);
	if (cp->started) {
		pthread_mutex_lock(&cp->lock);
		cp->stopping = true;
		pthread_cond_signal(&cp->wake);
		pthread_mutex_unlock(&cp->lock);
		pthread_join(cp->thread, NULL);
		checkpoint_once(cp, true); /* the stop checkpoint, always */
	}
	if (cp->fd >= 0)
		close(cp->fd);
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->wake);
	free(cp);
}
