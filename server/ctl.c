/*
 * ctl.c - waybillctl, the operator tool.  It runs on the host beside the
 * database, never over HTTP, and may run while the daemon does: its writes
 * go through the same writer code and land in the same audit chain.
 *
 *   waybillctl keygen --out PATH
 *   waybillctl [--db PATH] [--key-file PATH] [--config FILE] COMMAND ...
 *     account add --name NAME --role ROLE [--depot DEPOT] [--phone PHONE]
 *     account list | account disable NAME | token rotate NAME
 *     audit verify [--checkpoints FILE] [--archive FILE]... | audit export [--since TS]
 *     audit archive --before TS --out FILE
 *     audit checkpoint-key
 *     purge [--dry-run]
 *     key rotate | key rewrap | key retire VERSION
 *     migrate --to postgresql://... [--db SQLITE_PATH]
 */
#include "common.h"

#include <sys/stat.h>
#include "account.h"
#include "archive.h"
#include "audit.h"
#include "auditcp.h"
#include "buf.h"

#include <cJSON.h>
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "order.h"
#include "retention.h"
#include "store.h"
#include "store_ops.h"

#include <errno.h>
#include <pwd.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

struct ctl {
	struct config cfg;
	struct keyring *kr;
	struct store *store;
	char actor[NAME_MAX_BYTES];
};

NORETURN static void usage(void)
{
	fputs("usage: waybillctl keygen --out PATH\n"
	      "       waybillctl [--db PATH] [--key-file PATH] [--config FILE] COMMAND\n"
	      "commands:\n"
	      "  account add --name NAME --role ROLE [--depot DEPOT] [--phone PHONE]\n"
	      "                                                      prints the token once\n"
	      "  account list\n"
	      "  account disable NAME\n"
	      "  token rotate NAME                                     prints the new token once\n"
	      "  audit verify [--checkpoints FILE] [--archive FILE]... the chain (it must hold\n"
	      "                                                      each checkpoint in FILE,\n"
	      "                                                      and continue the archives)\n"
	      "  audit archive --before TS --out FILE                  move older entries into\n"
	      "                                                      a signed archive\n"
	      "  audit checkpoint-key                                  their public key, in hex\n"
	      "  audit export [--since TS]                             JSON lines, with hashes\n"
	      "  purge [--dry-run]                                     apply retention now\n"
	      "  key rotate                                            add a key version\n"
	      "  key rewrap                                            move data keys to it\n"
	      "  key retire VERSION                                    drop an unused version\n"
	      "  migrate --to postgresql://... [--db SQLITE_PATH]      copy the SQLite database\n"
	      "                                                      (stopped daemon) into an\n"
	      "                                                      empty PostgreSQL one\n"
	      "roles: courier depot admin auditor telephony\n",
	      stderr);
	exit(2);
}

static void ctl_open(struct ctl *c)
{
	char err[512];

	if (crypto_init() != ST_OK)
		fatal("libsodium failed to initialise");
	if (keyring_load(c->cfg.key_file, &c->kr, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (store_open(c->cfg.db, STORE_TOOL, c->kr, &c->store, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
}

static void ctl_close(struct ctl *c)
{
	store_close(c->store);
	keyring_free(c->kr);
}

/* The operator, as the audit log names them: "op.<unix user>". */
static void actor_init(struct ctl *c)
{
	struct passwd *pw = getpwuid(getuid());
	char name[NAME_MAX_BYTES];
	size_t j = 0;

	snprintf(name, sizeof(name), "op.%s", pw ? pw->pw_name : "unknown");
	for (size_t i = 0; name[i] && j < sizeof(c->actor) - 1; i++) {
		char ch = name[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || strchr("._-", ch))
			c->actor[j++] = ch;
	}
	c->actor[j] = '\0';
}

static void job_audit(struct ctl *c, struct wjob *j, const char *action)
{
	audit_entry_init(&j->audit, c->actor, "operator", action, NULL, NULL);
}

struct account_job {
	struct account a;
	unsigned char hash[HASH_BYTES];
};

static enum st tx_account_add(struct store *s, struct wjob *j)
{
	struct account_job *aj = j->arg;
	struct account existing;

	if (store_w_account_get(s, aj->a.name, &existing) == ST_OK)
		return ST_CONFLICT;
	return store_w_account_insert(s, &aj->a, aj->hash);
}

static enum st tx_account_disable(struct store *s, struct wjob *j)
{
	struct account_job *aj = j->arg;
	return store_w_account_disable(s, aj->a.name);
}

static enum st tx_token_rotate(struct store *s, struct wjob *j)
{
	struct account_job *aj = j->arg;
	return store_w_account_token(s, aj->a.name, aj->hash);
}

static const char *opt_value(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int cmd_account_add(struct ctl *c, int argc, char **argv)
{
	struct account_job aj = {0};
	struct wjob j = {0};
	char token[TOKEN_CHARS + 1];
	const char *name = opt_value(argc, argv, "--name");
	const char *role = opt_value(argc, argv, "--role");
	const char *depot = opt_value(argc, argv, "--depot");
	const char *phone = opt_value(argc, argv, "--phone");
	char e164[PHONE_E164_MAX];
	enum st st;

	for (int i = 0; i < argc; i += 2)
		if (strcmp(argv[i], "--name") && strcmp(argv[i], "--role") &&
		    strcmp(argv[i], "--depot") && strcmp(argv[i], "--phone"))
			fatal("account add: unknown option %s", argv[i]);
	if (phone && phone_normalize(phone, e164) != ST_OK)
		fatal("account add: --phone is not a phone number");
	if (!name || !role)
		usage();
	if (!name_valid(name))
		fatal("account add: name must be 1-32 of a-z 0-9 . _ -");
	if (account_name_reserved(name))
		fatal("account add: \"%s\" is reserved for system actors (see docs/API.md, "
		      "\"Account names\")",
		      name);
	aj.a.role = role_parse(role);
	if (aj.a.role == ROLE_NONE)
		fatal("account add: unknown role \"%s\"", role);
	if ((aj.a.role == ROLE_COURIER || aj.a.role == ROLE_DEPOT) && !depot)
		fatal("account add: a %s needs --depot", role);
	if (depot && !depot_valid(depot))
		fatal("account add: depot must be 1-32 of A-Z a-z 0-9 . _ -");
	snprintf(aj.a.name, sizeof(aj.a.name), "%s", name);
	snprintf(aj.a.depot, sizeof(aj.a.depot), "%s", depot ? depot : "");

	ctl_open(c);
	if (phone) {
		/* Sealed like an order, under "account:NAME"; a blind index for matching callers.
		 */
		if (account_phone_seal(c->kr, &aj.a, e164) != ST_OK)
			fatal("account add: cannot seal the phone");
		mem_wipe(e164, sizeof(e164));
	}
	crypto_token_new(token);
	crypto_token_hash(c->kr, token, TOKEN_CHARS, aj.hash);
	j.fn = tx_account_add;
	j.arg = &aj;
	job_audit(c, &j, "account.add");
	snprintf(j.audit.reason, sizeof(j.audit.reason), "%s %s", role_name(aj.a.role), aj.a.name);
	st = store_run(c->store, &j);
	ctl_close(c);
	if (st == ST_CONFLICT)
		fatal("account add: %s exists", name);
	if (st != ST_OK)
		fatal("account add: %s", st_name(st));
	printf("%s\n", token);
	mem_wipe(token, sizeof(token));
	return 0;
}

static void print_account(const struct account *a, void *arg)
{
	UNUSED(arg);
	printf("%-24s %-10s %-12s %-8s %s\n", a->name, role_name(a->role),
	       a->depot[0] ? a->depot : "-", a->disabled ? "disabled" : "active",
	       a->has_phone ? "phone" : "-");
}

static int cmd_account_list(struct ctl *c)
{
	enum st st;

	ctl_open(c);
	printf("%-24s %-10s %-12s %-8s %s\n", "NAME", "ROLE", "DEPOT", "STATE", "PHONE");
	st = store_account_each(c->store, print_account, NULL);
	ctl_close(c);
	return st == ST_OK ? 0 : 1;
}

static int cmd_account_change(struct ctl *c, const char *name, bool rotate)
{
	struct account_job aj = {0};
	struct wjob j = {0};
	char token[TOKEN_CHARS + 1];
	enum st st;

	if (!name_valid(name))
		fatal("no such account");
	snprintf(aj.a.name, sizeof(aj.a.name), "%s", name);
	ctl_open(c);
	if (rotate) {
		crypto_token_new(token);
		crypto_token_hash(c->kr, token, TOKEN_CHARS, aj.hash);
	}
	j.fn = rotate ? tx_token_rotate : tx_account_disable;
	j.arg = &aj;
	job_audit(c, &j, rotate ? "token.rotate" : "account.disable");
	snprintf(j.audit.reason, sizeof(j.audit.reason), "%s", name);
	st = store_run(c->store, &j);
	ctl_close(c);
	if (st == ST_NOTFOUND)
		fatal("no account named %s", name);
	if (st != ST_OK)
		fatal("%s", st_name(st));
	if (rotate) {
		printf("%s\n", token);
		mem_wipe(token, sizeof(token));
	} else {
		printf("%s disabled\n", name);
	}
	return 0;
}

/* The checkpoints of a file, as marks the chain must hold. */
struct cp_marks {
	struct buf marks;  /* struct audit_mark each */
	struct buf lineno; /* size_t each: the line of each mark */
	size_t n;
	int bad;
};

#define CP_MARKS_MAX ((size_t)1 << 24) /* 30 years of one a minute */

static void cp_marks_init(struct cp_marks *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->marks, CP_MARKS_MAX * sizeof(struct audit_mark), false);
	buf_init(&m->lineno, CP_MARKS_MAX * sizeof(size_t), false);
}

/* The marks as an array (NULL when none), for store_audit_verify_marks. */
static const struct audit_mark *cp_marks(const struct cp_marks *m)
{
	return (const struct audit_mark *)(const void *)m->marks.p;
}

static size_t cp_lineno(const struct cp_marks *m, size_t i)
{
	return ((const size_t *)(const void *)m->lineno.p)[i];
}

static bool cp_collect(size_t lineno, enum st st, const struct auditcp_line *cp, bool sig_ok,
		       bool incomplete, void *arg)
{
	struct cp_marks *m = arg;
	struct audit_mark *mark;
	size_t *line;

	if (st != ST_OK && incomplete) {
		printf("warning: checkpoint line %zu is incomplete (a write cut short); not "
		       "checked\n",
		       lineno);
		return true;
	}
	if (st != ST_OK) {
		printf("BAD checkpoint line %zu: not a checkpoint line\n", lineno);
		m->bad++;
		return true;
	}
	if (!sig_ok) {
		printf("BAD checkpoint line %zu (seq %lld): the signature does not verify (edited, "
		       "forged, or another key)\n",
		       lineno, (long long)cp->seq);
		m->bad++;
		return true;
	}
	mark = buf_grow(&m->marks, sizeof(*mark));
	line = buf_grow(&m->lineno, sizeof(*line));
	if (!mark || !line) {
		if (buf_st(&m->marks) == ST_TOOBIG || buf_st(&m->lineno) == ST_TOOBIG)
			fatal("audit verify: more than %zu checkpoints", CP_MARKS_MAX);
		fatal("out of memory");
	}
	mark->seq = cp->seq;
	memcpy(mark->head, cp->head, HASH_BYTES);
	*line = lineno;
	m->n++;
	return true;
}

#define ARCHIVES_MAX 256

/*
 * The archives, oldest first: each must continue the one before it (the
 * first starts at seq 1), and the live chain the last.  *last and head get
 * where the last one ends; the return is 0 when all verify.
 */
static int verify_archives(struct ctl *c, const char **files, size_t n, int64_t *last,
			   unsigned char head[HASH_BYTES])
{
	char err[512], hex[HASH_BYTES * 2 + 1];
	int rc = 0;

	*last = 0;
	memset(head, 0, HASH_BYTES);
	for (size_t i = 0; i < n; i++) {
		struct archive_info a;

		if (archive_verify(files[i], c->kr, *last + 1, head, &a, err, sizeof(err)) != ST_OK)
			fatal("audit verify: archive %s", err);
		if (!a.ok) {
			if (a.bad_seq)
				printf("BAD archive %s at seq %lld: %s\n", files[i],
				       (long long)a.bad_seq, a.why);
			else
				printf("BAD archive %s: %s\n", files[i], a.why);
			return 1;
		}
		crypto_hex(a.head, HASH_BYTES, hex);
		printf("ok: archive %s: entries %lld..%lld, head %s (signed %s)\n", files[i],
		       (long long)a.first, (long long)a.last, hex, a.ts);
		*last = a.last;
		memcpy(head, a.head, HASH_BYTES);
	}
	return rc;
}

/*
 * Each order's print count against the chain.  print_count is a clear
 * column outside every MAC: an insider who sets it back prints again past
 * label_reprints_max, and one who deletes an order's row hides it.  Every
 * print adds one ok label.print or label.reprint entry in the same
 * transaction (a print job's given-back print one ok label.unprint), so an
 * order created in the chain walked here has as many prints as those say.
 * Orders created before an archive's cut are not checked (their first
 * entries are in the archive).
 */
struct print_tally {
	char tn[TN_MAX];
	int kind; /* 0 created, +1 printed, -1 given back */
};

struct print_scan {
	struct print_tally *t;
	size_t n, cap;
	bool nomem;
};

static bool print_scan_one(const struct audit_entry *e, void *arg)
{
	struct print_scan *ps = arg;
	int kind;

	if (!e->tracking_no[0] || strcmp(e->result, "ok") != 0)
		return true;
	if (strcmp(e->action, "order.create") == 0)
		kind = 0;
	else if (strcmp(e->action, "label.print") == 0 || strcmp(e->action, "label.reprint") == 0)
		kind = 1;
	else if (strcmp(e->action, "label.unprint") == 0)
		kind = -1;
	else
		return true;
	if (ps->n == ps->cap) {
		size_t ncap = ps->cap ? ps->cap * 2 : 1024;
		struct print_tally *nt = realloc(ps->t, ncap * sizeof(*nt));

		if (!nt) {
			ps->nomem = true;
			return false;
		}
		ps->t = nt;
		ps->cap = ncap;
	}
	snprintf(ps->t[ps->n].tn, TN_MAX, "%s", e->tracking_no);
	ps->t[ps->n++].kind = kind;
	return true;
}

static int tally_cmp(const void *a, const void *b)
{
	return strcmp(((const struct print_tally *)a)->tn, ((const struct print_tally *)b)->tn);
}

/* 0 when every order created in the chain has the prints the chain says; 1 otherwise. */
static int verify_prints(struct ctl *c)
{
	struct print_scan ps = {0};
	char err[512];
	int64_t orders = 0, bad = 0;
	enum st st;

	if (store_open(c->cfg.db, STORE_TOOL, c->kr, &c->store, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	st = store_audit_each(c->store, NULL, print_scan_one, &ps);
	if (st != ST_OK || ps.nomem)
		fatal("audit verify: cannot read the chain for the print counts: %s",
		      ps.nomem ? "out of memory" : st_name(st));
	if (ps.n)
		qsort(ps.t, ps.n, sizeof(*ps.t), tally_cmp);
	for (size_t i = 0; i < ps.n;) {
		size_t j = i;
		bool created = false;
		int64_t prints = 0;
		struct order_row row;

		for (; j < ps.n && strcmp(ps.t[j].tn, ps.t[i].tn) == 0; j++) {
			if (ps.t[j].kind == 0)
				created = true;
			prints += ps.t[j].kind;
		}
		if (created) {
			orders++;
			st = store_order_get(c->store, ps.t[i].tn, &row);
			if (st == ST_NOTFOUND) {
				printf("BAD order %s: created in the chain, its row is gone\n",
				       ps.t[i].tn);
				bad++;
			} else if (st != ST_OK) {
				fatal("audit verify: order %s: %s", ps.t[i].tn, st_name(st));
			} else {
				if (row.print_count != prints) {
					printf("BAD order %s: the chain has %lld prints of it, its "
					       "row "
					       "says %d\n",
					       ps.t[i].tn, (long long)prints, row.print_count);
					bad++;
				}
				order_row_release(&row);
			}
		}
		i = j;
	}
	free(ps.t);
	store_close(c->store);
	c->store = NULL;
	if (bad == 0)
		printf("ok: %lld orders created in the chain, each with the prints it records\n",
		       (long long)orders);
	return bad ? 1 : 0;
}

static int cmd_audit_verify(struct ctl *c, int argc, char **argv)
{
	const char *cpfile = NULL, *archives[ARCHIVES_MAX];
	size_t narchives = 0;
	struct cp_marks m;
	struct audit_check chk;
	char hex[HASH_BYTES * 2 + 1];
	char err[512];
	unsigned char arch_head[HASH_BYTES];
	int64_t arch_last = 0;
	int rc = 0;
	enum st st;

	for (int i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--checkpoints") == 0 && !cpfile)
			cpfile = argv[i + 1];
		else if (strcmp(argv[i], "--archive") == 0 && narchives < ARCHIVES_MAX)
			archives[narchives++] = argv[i + 1];
		else
			usage();
	}
	/*
	 * store_open() refuses a broken chain; verify must report it instead,
	 * so it walks the chain itself on a plain reader.
	 */
	if (crypto_init() != ST_OK)
		fatal("libsodium failed to initialise");
	if (keyring_load(c->cfg.key_file, &c->kr, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	cp_marks_init(&m);
	if (cpfile) {
		unsigned char pk[SIGN_PK_BYTES];

		crypto_checkpoint_key(c->kr, pk);
		st = auditcp_each(cpfile, pk, cp_collect, &m, err, sizeof(err));
		if (st != ST_OK)
			fatal("audit verify: checkpoints %s", err);
		if (m.n == 0 && m.bad == 0)
			fatal("audit verify: %s holds no checkpoint", cpfile);
	}
	if (narchives)
		rc = verify_archives(c, archives, narchives, &arch_last, arch_head);
	st = store_audit_verify_marks(c->cfg.db, c->kr, cp_marks(&m), m.n, &chk, err, sizeof(err));
	if (st != ST_OK)
		fatal("%s", err);
	/* The print counts, on a chain that verified (a broken one cannot be opened). */
	if (chk.ok && verify_prints(c) != 0)
		rc = 1;
	keyring_free(c->kr);
	if (chk.base_seq && !narchives)
		printf("note: the live chain continues from archived entry %lld (a signed archive "
		       "checkpoint); check the archives with --archive\n",
		       (long long)chk.base_seq);
	if (narchives && rc == 0 &&
	    (chk.base_seq != arch_last || !crypto_equal(chk.base_head, arch_head, HASH_BYTES))) {
		printf("BAD: the live chain does not continue from the last archive (it continues "
		       "from seq %lld, the archive ends at seq %lld)\n",
		       (long long)chk.base_seq, (long long)arch_last);
		rc = 1;
	} else if (narchives && rc == 0) {
		printf("ok: the live chain continues from the last archive (seq %lld)\n",
		       (long long)arch_last);
	}
	if (chk.marks_archived)
		printf("note: %zu checkpoints fall in the archived part (the archive's signature "
		       "covers them)\n",
		       chk.marks_archived);
	crypto_hex(chk.head, HASH_BYTES, hex);
	if (chk.ok) {
		printf("ok: %lld entries, head %s\n", (long long)chk.entries, hex);
	} else {
		printf("BROKEN at seq %lld: %lld entries verify before it; %s\n",
		       (long long)chk.bad_seq, (long long)chk.entries, chk.why);
		rc = 1;
	}
	if (chk.mark_bad) {
		const struct audit_mark *bad = &cp_marks(&m)[chk.mark_index];
		const char *what = chk.mark_missing
				       ? "lacks it (no such entry): entries were deleted"
				       : "contradicts it (that entry has another hash)";

		printf("BAD checkpoint line %zu (seq %lld): the database %s\n",
		       cp_lineno(&m, chk.mark_index), (long long)bad->seq, what);
		rc = 1;
	}
	if (m.bad)
		rc = 1;
	if (cpfile && rc == 0)
		printf("ok: the chain holds all %zu checkpoints of %s (the last at seq %lld)\n",
		       m.n, cpfile, (long long)cp_marks(&m)[m.n - 1].seq);
	else if (cpfile)
		printf("FAILED: %s\n", cpfile);
	buf_release(&m.marks);
	buf_release(&m.lineno);
	return rc;
}

struct archive_scan {
	const char *before;
	int64_t last; /* the last entry older than before */
};

static bool archive_scan_one(const struct audit_entry *e, void *arg)
{
	struct archive_scan *a = arg;

	if (strcmp(e->ts, a->before) >= 0)
		return false;
	a->last = e->seq;
	return true;
}

struct archive_job {
	struct archive_info info;
};

static enum st tx_audit_archive(struct store *s, struct wjob *j)
{
	struct archive_job *aj = j->arg;

	return store_w_audit_archive(s, aj->info.first, aj->info.last, aj->info.head, aj->info.ts,
				     aj->info.sig);
}

/*
 * Move the entries older than --before out of the database: written to a
 * new signed archive, read back and verified, and only then deleted in one
 * transaction that records the archive checkpoint the chain continues
 * from.  The chain's newest entry always stays.  The open refuses a broken
 * chain, so only verified entries move.
 */
static int cmd_audit_archive(struct ctl *c, int argc, char **argv)
{
	const char *before = opt_value(argc, argv, "--before");
	const char *outfile = opt_value(argc, argv, "--out");
	struct archive_scan scan = {0};
	struct archive_job aj;
	struct archive_info check;
	struct wjob j = {0};
	unsigned char base_head[HASH_BYTES], head[HASH_BYTES];
	char bound[32], err[512], hex[HASH_BYTES * 2 + 1];
	int64_t base = 0, head_seq = 0;
	enum st st;

	if (argc != 4 || !before || !outfile)
		usage();
	if (!audit_since_parse(before, bound))
		fatal("audit archive: --before wants a UTC time like 2026-11-22 or "
		      "2026-11-22T10:00:00Z");
	ctl_open(c);
	if (store_audit_base(c->store, &base, base_head) != ST_OK)
		fatal("audit archive: the database's archive checkpoint does not verify");
	if (store_audit_head(c->store, &head_seq, head) != ST_OK)
		fatal("audit archive: cannot read the chain's head");
	scan.before = bound;
	scan.last = base;
	if (store_audit_each(c->store, NULL, archive_scan_one, &scan) != ST_OK)
		fatal("audit archive: cannot read the chain");
	if (scan.last >= head_seq)
		scan.last = head_seq - 1; /* the newest entry stays: the chain goes on from it */
	if (scan.last <= base) {
		printf("nothing to archive: no entry before %s but the chain's last\n", before);
		ctl_close(c);
		return 0;
	}
	memset(&aj, 0, sizeof(aj));
	err[0] = '\0';
	if (archive_write(outfile, c->store, c->kr, base + 1, scan.last, &aj.info, err,
			  sizeof(err)) != ST_OK)
		fatal("audit archive: %s", err);
	/* Read back what was written before anything is deleted. */
	if (archive_verify(outfile, c->kr, base + 1, base_head, &check, err, sizeof(err)) !=
		ST_OK ||
	    !check.ok || check.last != aj.info.last ||
	    !crypto_equal(check.head, aj.info.head, HASH_BYTES))
		fatal("audit archive: %s does not verify when read back; nothing was deleted",
		      outfile);
	j.fn = tx_audit_archive;
	j.arg = &aj;
	job_audit(c, &j, "audit.archive");
	snprintf(j.audit.reason, sizeof(j.audit.reason), "entries %lld-%lld",
		 (long long)aj.info.first, (long long)aj.info.last);
	st = store_run(c->store, &j);
	ctl_close(c);
	if (st != ST_OK)
		fatal("audit archive: the entries could not be deleted (%s); %s holds them, the "
		      "database still does too",
		      st_name(st), outfile);
	crypto_hex(aj.info.head, HASH_BYTES, hex);
	printf("archived entries %lld..%lld (%lld) to %s; the chain continues from seq %lld, head "
	       "%s\n",
	       (long long)aj.info.first, (long long)aj.info.last, (long long)aj.info.entries,
	       outfile, (long long)aj.info.last, hex);
	return 0;
}

static int cmd_audit_checkpoint_key(struct ctl *c)
{
	unsigned char pk[SIGN_PK_BYTES];
	char hex[SIGN_PK_BYTES * 2 + 1], err[512];

	if (crypto_init() != ST_OK)
		fatal("libsodium failed to initialise");
	if (keyring_load(c->cfg.key_file, &c->kr, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	crypto_checkpoint_key(c->kr, pk);
	keyring_free(c->kr);
	crypto_hex(pk, SIGN_PK_BYTES, hex);
	printf("%s\n", hex);
	return 0;
}

static bool export_one(const struct audit_entry *e, void *arg)
{
	cJSON *o = audit_entry_json(e);
	char *line = o ? cJSON_PrintUnformatted(o) : NULL;
	UNUSED(arg);

	cJSON_Delete(o);
	if (!line)
		return false;
	puts(line);
	free(line);
	return true;
}

static int cmd_audit_export(struct ctl *c, int argc, char **argv)
{
	const char *since = opt_value(argc, argv, "--since");
	char bound[32];
	enum st st;

	if (since && !audit_since_parse(since, bound))
		fatal("audit export: --since wants a UTC time like 2026-11-22 or "
		      "2026-11-22T10:00:00Z");
	ctl_open(c);
	st = store_audit_each(c->store, since ? bound : NULL, export_one, NULL);
	ctl_close(c);
	if (fflush(stdout) != 0 || st != ST_OK)
		fatal("audit export: %s", st == ST_OK ? "cannot write" : st_name(st));
	return 0;
}

static int cmd_purge(struct ctl *c, int argc, char **argv)
{
	bool dry = argc > 0 && strcmp(argv[0], "--dry-run") == 0;
	int64_t n = 0;
	struct purge_policy p;
	enum st st;

	if (argc > (dry ? 1 : 0))
		usage();
	retention_policy(&c->cfg, (int64_t)time(NULL), &p);
	ctl_open(c);
	if (dry)
		st = store_purge_due(c->store, &p, &n);
	else
		st = retention_run(c->store, &p, c->actor, "operator", &n);
	ctl_close(c);
	if (st != ST_OK)
		fatal("purge: %s", st_name(st));
	printf(dry ? "%lld orders are due for erasure\n"
		   : "erased the personal data of %lld orders\n",
	       (long long)n);
	return 0;
}

struct rewrap_job {
	int64_t n;
};

static enum st tx_rewrap(struct store *s, struct wjob *j)
{
	struct rewrap_job *rj = j->arg;
	enum st st = store_w_rewrap_batch(s, RETENTION_BATCH, &rj->n);

	snprintf(j->audit.reason, sizeof(j->audit.reason), "%lld data keys", (long long)rj->n);
	if (st == ST_OK && rj->n == 0)
		j->no_audit = true;
	return st;
}

static int cmd_key(struct ctl *c, int argc, char **argv)
{
	char err[512];
	uint32_t v = 0;

	if (argc < 1)
		usage();
	if (strcmp(argv[0], "rotate") == 0) {
		struct wjob j = {0};
		if (crypto_init() != ST_OK)
			fatal("libsodium failed to initialise");
		if (keyring_rotate(c->cfg.key_file, &v, err, sizeof(err)) != ST_OK)
			fatal("key rotate: %s", err);
		ctl_open(c);
		job_audit(c, &j, "key.rotate");
		snprintf(j.audit.reason, sizeof(j.audit.reason), "version %u", v);
		if (store_run(c->store, &j) != ST_OK)
			fatal("key rotate: the new version %u is in the key file, but the audit "
			      "entry could not be written",
			      v);
		ctl_close(c);
		printf("key version %u is current; run `waybillctl key rewrap` to move data keys "
		       "to it\n",
		       v);
		return 0;
	}
	if (strcmp(argv[0], "rewrap") == 0) {
		int64_t total = 0, left = 0;
		ctl_open(c);
		/* Batches, so the daemon's writes interleave; twice, for orders it sealed
		 * meanwhile. */
		for (int pass = 0; pass < 2; pass++) {
			for (;;) {
				struct rewrap_job rj = {0};
				struct wjob j = {0};
				enum st st;

				job_audit(c, &j, "key.rewrap");
				j.fn = tx_rewrap;
				j.arg = &rj;
				st = store_run(c->store, &j);
				if (st != ST_OK)
					fatal("key rewrap: %s after %lld data keys", st_name(st),
					      (long long)total);
				total += rj.n;
				if (rj.n == 0)
					break;
			}
			if (pass == 0)
				sleep(2); /* the daemon follows the key file within a second */
		}
		for (uint32_t old = 1; old < keyring_current(c->kr); old++) {
			int64_t n = 0;
			if (store_kek_in_use(c->store, old, &n) == ST_OK)
				left += n;
		}
		v = keyring_current(c->kr);
		ctl_close(c);
		printf("rewrapped %lld data keys to version %u; %lld left on older versions\n",
		       (long long)total, v, (long long)left);
		return left ? 1 : 0;
	}
	if (strcmp(argv[0], "retire") == 0 && argc == 2) {
		struct wjob j = {0};
		int64_t n = 0;
		char *end;
		unsigned long want = strtoul(argv[1], &end, 10);

		if (*end || want == 0 || want > KEYRING_MAX_VERSIONS)
			fatal("key retire: want a version number");
		ctl_open(c);
		if (store_kek_in_use(c->store, (uint32_t)want, &n) != ST_OK)
			fatal("key retire: cannot count the data keys on version %lu", want);
		if (n > 0)
			fatal("key retire: %lld data keys still use version %lu; run key rewrap",
			      (long long)n, want);
		if (keyring_retire(c->cfg.key_file, (uint32_t)want, err, sizeof(err)) != ST_OK)
			fatal("key retire: %s", err);
		job_audit(c, &j, "key.retire");
		snprintf(j.audit.reason, sizeof(j.audit.reason), "version %lu", want);
		store_run(c->store, &j);
		ctl_close(c);
		printf("key version %lu retired (zeroed in the key file)\n", want);
		return 0;
	}
	usage();
}

/*
 * Copy the SQLite database into an empty PostgreSQL one (store_migrate.c):
 * the daemon stopped, the source opened read-only, the target written in
 * one transaction that ends with the migration's own audit entry.
 */
static int cmd_migrate(struct ctl *c, int argc, char **argv)
{
	struct migrate_report rep;
	const char *to = NULL;
	char err[768];
	enum st st;

	for (int i = 0; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--to") == 0 && !to)
			to = argv[i + 1];
		else if (strcmp(argv[i], "--db") == 0)
			snprintf(c->cfg.db, sizeof(c->cfg.db), "%s", argv[i + 1]);
		else
			usage();
	}
	if (!to)
		usage();
	if (store_is_pg(c->cfg.db))
		fatal("migrate: the source must be an SQLite file: give it with --db PATH");
	if (crypto_init() != ST_OK)
		fatal("libsodium failed to initialise");
	if (keyring_load(c->cfg.key_file, &c->kr, err, sizeof(err)) != ST_OK)
		fatal("migrate: %s", err);
	st = store_migrate(c->cfg.db, to, c->kr, c->actor, &rep, err, sizeof(err));
	keyring_free(c->kr);
	if (st != ST_OK)
		fatal("migrate: %s", err);
	printf("migrated %lld rows from %s in %.1f s (%s)\n", (long long)rep.total, c->cfg.db,
	       rep.seconds, rep.entry.reason);
	printf("ok: the audit chain verifies on PostgreSQL: %lld entries, the migration's is seq "
	       "%lld\n",
	       (long long)rep.entries, (long long)rep.entry.seq);
	printf("next: set db to the PostgreSQL URL in waybill.conf and start waybilld; keep %s "
	       "as it is until the new database is backed up\n",
	       c->cfg.db);
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	const char *out = opt_value(argc, argv, "--out");
	struct keyring *kr = NULL;
	unsigned char pk[SIGN_PK_BYTES];
	char hex[SIGN_PK_BYTES * 2 + 1];
	char err[512];

	if (!out)
		usage();
	if (crypto_init() != ST_OK)
		fatal("libsodium failed to initialise");
	if (keyring_generate(out, err, sizeof(err)) != ST_OK)
		fatal("keygen: %s", err);
	if (keyring_load(out, &kr, err, sizeof(err)) != ST_OK)
		fatal("keygen: %s", err);
	crypto_checkpoint_key(kr, pk);
	keyring_free(kr);
	crypto_hex(pk, SIGN_PK_BYTES, hex);
	fprintf(stderr,
		"wrote a new root key to %s (mode 0600); keep a copy offline\n"
		"its audit checkpoint key (public, for outside verifiers): %s\n",
		out, hex);
	return 0;
}

int main(int argc, char **argv)
{
	static struct ctl c;
	int i = 1;
	char err[512];
	const char *cfgfile = getenv("WAYBILL_CONFIG");
	const struct rlimit no_core = {0, 0};

	log_progname = "waybillctl";
	/* No core file, no ptrace by our own user: either would hold keys and phones. */
	if (setrlimit(RLIMIT_CORE, &no_core) != 0 || prctl(PR_SET_DUMPABLE, 0) != 0)
		fatal("cannot turn core dumps off: %s", strerror(errno));
	umask(077); /* the database, its WAL and any key file: owner only */
	log_threshold = LOG_WARN;
	config_defaults(&c.cfg);
	for (int k = 1; k < argc - 1; k++)
		if (strcmp(argv[k], "--config") == 0)
			cfgfile = argv[k + 1];
	if (cfgfile && *cfgfile) {
		char *fake[] = {argv[0], "--config", (char *)cfgfile};
		bool help;
		if (config_load(&c.cfg, 3, fake, &help, err, sizeof(err)) != ST_OK)
			fatal("%s", err);
	} else {
		char *fake[] = {argv[0]};
		bool help;
		if (config_load(&c.cfg, 1, fake, &help, err, sizeof(err)) != ST_OK)
			fatal("%s", err);
	}
	while (i < argc - 1 && strncmp(argv[i], "--", 2) == 0) {
		if (strcmp(argv[i], "--db") == 0)
			snprintf(c.cfg.db, sizeof(c.cfg.db), "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--key-file") == 0)
			snprintf(c.cfg.key_file, sizeof(c.cfg.key_file), "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--config") != 0)
			break;
		i += 2;
	}
	if (i >= argc)
		usage();
	actor_init(&c);
	if (strcmp(argv[i], "keygen") == 0)
		return cmd_keygen(argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "purge") == 0)
		return cmd_purge(&c, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "migrate") == 0)
		return cmd_migrate(&c, argc - i - 1, argv + i + 1);
	if (i + 1 >= argc)
		usage();
	if (strcmp(argv[i], "account") == 0) {
		if (strcmp(argv[i + 1], "add") == 0)
			return cmd_account_add(&c, argc - i - 2, argv + i + 2);
		if (strcmp(argv[i + 1], "list") == 0)
			return cmd_account_list(&c);
		if (strcmp(argv[i + 1], "disable") == 0 && i + 2 < argc)
			return cmd_account_change(&c, argv[i + 2], false);
	}
	if (strcmp(argv[i], "token") == 0 && strcmp(argv[i + 1], "rotate") == 0 && i + 2 < argc)
		return cmd_account_change(&c, argv[i + 2], true);
	if (strcmp(argv[i], "audit") == 0 && strcmp(argv[i + 1], "verify") == 0)
		return cmd_audit_verify(&c, argc - i - 2, argv + i + 2);
	if (strcmp(argv[i], "audit") == 0 && strcmp(argv[i + 1], "checkpoint-key") == 0 &&
	    i + 2 == argc)
		return cmd_audit_checkpoint_key(&c);
	if (strcmp(argv[i], "audit") == 0 && strcmp(argv[i + 1], "export") == 0)
		return cmd_audit_export(&c, argc - i - 2, argv + i + 2);
	if (strcmp(argv[i], "audit") == 0 && strcmp(argv[i + 1], "archive") == 0)
		return cmd_audit_archive(&c, argc - i - 2, argv + i + 2);
	if (strcmp(argv[i], "key") == 0)
		return cmd_key(&c, argc - i - 1, argv + i + 1);
	usage();
}
