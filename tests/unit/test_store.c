/*
 * test_store.c - the store (store.h) and the audit chain (audit.h) on a
 * real database in a temp directory: pragmas, migrations, accounts, orders
 * (scope, paging, status filter, idempotency), one audit entry per job
 * (kept when the job fails, whose writes roll back), tampering found on
 * open and by verify, the append-only triggers, and group commit under 8
 * submitting threads.
 *
 * It includes the backend's private header, store_int.h, to reach the
 * writer connection (struct store is private): the pragma checks run as a
 * writer job on SQ(s)->writer->db, and on the calling thread's own reader
 * connection.  Everything else comes from libwaybill.a.
 */
#include "../../server/store_int.h"

/* The SQLite backend's own struct behind a struct store. */
#define SQ(s) ((struct sq_store *)(s))

#include "../../server/audit.h"
#include "../../server/crypto.h"
#include "../../server/log.h"
#include "../../server/order.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "t.h"

static char dir[256], db_path[512], key_path[512];
static struct keyring *kr;
static struct store *S;

/* The audit entries the store should hold so far. */
static int64_t n_audit;

/* ---- helpers ----------------------------------------------------------- */

static void t_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static bool t_copy(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char buf[65536];
	size_t n;
	bool ok = in && out;

	while (ok && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = fwrite(buf, 1, n, out) == n;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		ok = false;
	return ok;
}

/* Run sql on a database through a connection of our own; the SQLite code. */
static int t_sql(const char *path, const char *sql, char *msg, size_t cap)
{
	sqlite3 *db = NULL;
	char *m = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);

	if (msg && cap)
		msg[0] = '\0';
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, &m);
	if (msg && cap)
		snprintf(msg, cap, "%s", m ? m : "");
	sqlite3_free(m);
	sqlite3_close(db);
	return rc;
}

/* One integer or text from a query on a connection. */
static int64_t t_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void t_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* err mentions "seq N" with N not followed by another digit. */
static bool t_names_seq(const char *err, int64_t seq)
{
	char want[40];
	const char *p = err;
	size_t n;

	snprintf(want, sizeof(want), "seq %lld", (long long)seq);
	n = strlen(want);
	while ((p = strstr(p, want)) != NULL) {
		if (p[n] < '0' || p[n] > '9')
			return true;
		p += n;
	}
	return false;
}

/*
 * Run one job: fn with arg, audited as actor/action on tn; result is the
 * job's own result override (NULL: "ok" or the status name).
 */
static enum st t_run(wjob_fn fn, void *arg, const char *actor, const char *action, const char *tn,
		     const char *result)
{
	struct wjob j;

	memset(&j, 0, sizeof(j));
	j.fn = fn;
	j.arg = arg;
	audit_entry_init(&j.audit, actor, "admin", action, tn, "req-test");
	snprintf(j.audit.reason, sizeof(j.audit.reason), "because %s", action);
	j.result = result;
	return store_run(S, &j);
}

/*
 * The entries appended since the last call must be exactly want (actor,
 * action, tracking number, result), in order, with consecutive seqs.
 */
struct t_want {
	const char *actor, *action, *tn, *result;
};

static void t_expect_audit(const struct t_want *want, size_t nwant, const char *where)
{
	struct audit_entry got[8];
	struct audit_query q = {NULL, NULL, NULL, n_audit, 8};
	size_t n = 0;

	CHECK(store_audit_list(S, &q, got, &n) == ST_OK);
	if (n != nwant)
		fprintf(stderr, "%s: %zu new audit entries, want %zu\n", where, n, nwant);
	CHECK(n == nwant);
	for (size_t i = 0; i < n && i < nwant; i++) {
		CHECK(got[i].seq == n_audit + 1 + (int64_t)i);
		CHECK_STR(got[i].actor, want[i].actor);
		CHECK_STR(got[i].action, want[i].action);
		CHECK_STR(got[i].tracking_no, want[i].tn ? want[i].tn : "");
		if (strcmp(got[i].result, want[i].result) != 0)
			fprintf(stderr, "%s: entry %zu result %s, want %s\n", where, i,
				got[i].result, want[i].result);
		CHECK_STR(got[i].result, want[i].result);
		CHECK(strlen(got[i].ts) >= 20 && got[i].ts[4] == '-' && got[i].ts[10] == 'T' &&
		      got[i].ts[strlen(got[i].ts) - 1] == 'Z');
	}
	n_audit += (int64_t)n;
}

/* One job and its one entry. */
static enum st t_job(wjob_fn fn, void *arg, const char *action, const char *tn, const char *result,
		     const char *want_result)
{
	enum st st = t_run(fn, arg, "tester", action, tn, result);
	struct t_want w = {"tester", action, tn, want_result};

	t_expect_audit(&w, 1, action);
	return st;
}

static void t_chain_ok(const char *where)
{
	struct audit_check chk;

	memset(&chk, 0, sizeof(chk));
	CHECK(store_audit_verify(S, &chk) == ST_OK);
	if (!chk.ok || chk.entries != n_audit)
		fprintf(stderr, "%s: chain ok=%d entries=%lld (want %lld) bad_seq=%lld\n", where,
			chk.ok, (long long)chk.entries, (long long)n_audit, (long long)chk.bad_seq);
	CHECK(chk.ok);
	CHECK(chk.entries == n_audit);
}

/* ---- writer jobs --------------------------------------------------------- */

struct t_pragmas {
	int64_t synchronous, secure_delete, foreign_keys;
	char journal[16];
};

static enum st job_pragmas(struct store *s, struct wjob *j)
{
	struct t_pragmas *p = j->arg;

	p->synchronous = t_int(SQ(s)->writer->db, "PRAGMA synchronous");
	p->secure_delete = t_int(SQ(s)->writer->db, "PRAGMA secure_delete");
	p->foreign_keys = t_int(SQ(s)->writer->db, "PRAGMA foreign_keys");
	t_text(SQ(s)->writer->db, "PRAGMA journal_mode", p->journal, sizeof(p->journal));
	return ST_OK;
}

struct t_acct {
	struct account a;
	unsigned char hash[HASH_BYTES];
	char token[TOKEN_CHARS + 1];
};

static enum st job_account_insert(struct store *s, struct wjob *j)
{
	struct t_acct *ta = j->arg;
	return store_w_account_insert(s, &ta->a, ta->hash);
}

static enum st job_account_disable(struct store *s, struct wjob *j)
{
	return store_w_account_disable(s, j->arg);
}

static enum st job_account_token(struct store *s, struct wjob *j)
{
	struct t_acct *ta = j->arg;
	return store_w_account_token(s, ta->a.name, ta->hash);
}

static enum st job_account_get(struct store *s, struct wjob *j)
{
	struct t_acct *ta = j->arg;
	char name[NAME_MAX_BYTES];

	snprintf(name, sizeof(name), "%s", ta->a.name);
	return store_w_account_get(s, name, &ta->a);
}

/* Inserts an account, then fails: the insert must not survive. */
static enum st job_insert_then_fail(struct store *s, struct wjob *j)
{
	struct t_acct *ta = j->arg;
	enum st st = store_w_account_insert(s, &ta->a, ta->hash);

	return st == ST_OK ? ST_INVALID : ST_INTERNAL;
}

/* Appends one extra entry, then returns the status it was given. */
struct t_extra {
	enum st ret;
};

static enum st job_extra_audit(struct store *s, struct wjob *j)
{
	struct t_extra *x = j->arg;
	struct audit_entry e;
	enum st st;

	audit_entry_init(&e, "tester", "admin", "extra", NULL, "req-extra");
	snprintf(e.result, sizeof(e.result), "ok");
	st = store_w_audit_append(s, &e);
	return st == ST_OK ? x->ret : ST_INTERNAL;
}

/* Runs SQL on the writer connection. */
static enum st job_exec(struct store *s, struct wjob *j)
{
	int rc = sqlite3_exec(SQ(s)->writer->db, j->arg, NULL, NULL, NULL);
	return rc == SQLITE_OK ? ST_OK : ST_CONFLICT;
}

struct t_insert {
	struct order_row *r;
	const char *idem;
	unsigned char digest[HASH_BYTES];
	int64_t id;
};

static enum st job_order_insert(struct store *s, struct wjob *j)
{
	struct t_insert *ti = j->arg;
	return store_w_order_insert(s, ti->r, ti->idem, ti->digest, &ti->id);
}

struct t_idem {
	const char *creator, *key;
	char tn[TN_MAX];
	unsigned char digest[HASH_BYTES];
};

static enum st job_order_idem(struct store *s, struct wjob *j)
{
	struct t_idem *ti = j->arg;
	return store_w_order_by_idem(s, ti->creator, ti->key, ti->tn, ti->digest);
}

struct t_change {
	const char *tn;
	const char *status;  /* set_status when not NULL */
	const char *courier; /* set_courier when not NULL */
	int prints;	     /* set_prints when > 0 */
	int64_t now, ended_at, retain_until;
};

static enum st job_order_change(struct store *s, struct wjob *j)
{
	struct t_change *c = j->arg;
	struct order_row r;
	enum st st = store_w_order_get(s, c->tn, &r);

	if (st != ST_OK)
		return st;
	if (c->status)
		st = store_w_order_set_status(s, r.id, c->status, c->now, c->ended_at,
					      c->retain_until);
	if (st == ST_OK && c->courier)
		st = store_w_order_set_courier(s, r.id, c->courier, c->now);
	if (st == ST_OK && c->prints > 0)
		st = store_w_order_set_prints(s, r.id, c->prints);
	order_row_release(&r);
	return st;
}

/* ---- open, pragmas, migrations ------------------------------------------- */

/* Depot codes as companies write them; account names stay lower case. */
static void test_names(void)
{
	static const struct {
		const char *s;
		bool depot, name;
	} cases[] = {
	    {"D1", true, false},
	    {"d1", true, true},
	    {"SZ-BA.01", true, false},
	    {"HUB_7", true, false},
	    {"a", true, true},
	    {"", false, false},
	    {"D 1", false, false},
	    {"D1/2", false, false},
	    {"\xe6\xb7\xb1", false, false},
	    {"D1\n", false, false},
	    {"d1;drop", false, false},
	    {"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", true, false},
	    {"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", false, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK(depot_valid(cases[i].s) == cases[i].depot);
		CHECK(name_valid(cases[i].s) == cases[i].name);
	}
}

static void test_open(void)
{
	char err[512] = "";
	struct t_pragmas p;
	sqlite3 *db = NULL;
	char mode[16];

	CHECK(store_open(db_path, STORE_DAEMON, kr, &S, err, sizeof(err)) == ST_OK);
	if (!S) {
		fprintf(stderr, "store_open: %s\n", err);
		return;
	}
	t_chain_ok("fresh");

	/* The file, opened on its own: WAL is a property of the database. */
	CHECK(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	t_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	CHECK_STR(mode, "wal");
	/* A fresh connection gets SQLite's defaults, so those are no evidence. */

	/* Migrations: every embedded one recorded once, in order, with a time. */
	{
		sqlite3_stmt *st = NULL;
		size_t i = 0;

		CHECK(sqlite3_prepare_v2(db,
					 "SELECT version, name, applied_at FROM schema_migrations "
					 "ORDER BY version",
					 -1, &st, NULL) == SQLITE_OK);
		while (st && sqlite3_step(st) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 1);
			CHECK(i < schema_migrations_count);
			if (i < schema_migrations_count) {
				CHECK(sqlite3_column_int(st, 0) == schema_migrations[i].version);
				CHECK_STR(name, schema_migrations[i].name);
			}
			CHECK(sqlite3_column_int64(st, 2) > 1700000000);
			i++;
		}
		sqlite3_finalize(st);
		CHECK(i == schema_migrations_count);
		CHECK(schema_migrations_count >= 1);
		/* Versions strictly increase. */
		for (size_t k = 1; k < schema_migrations_count; k++)
			CHECK(schema_migrations[k].version > schema_migrations[k - 1].version);
	}
	/* The tables and the audit triggers exist. */
	{
		static const char *const objs[] = {"accounts", "orders", "audit", "audit_no_update",
						   "audit_no_delete"};
		for (size_t i = 0; i < ARRAY_SIZE(objs); i++) {
			char sql[160];
			snprintf(sql, sizeof(sql),
				 "SELECT count(*) FROM sqlite_master WHERE name = '%s'", objs[i]);
			CHECK(t_int(db, sql) == 1);
		}
	}
	sqlite3_close(db);

	/* The writer's own connection: synchronous=FULL, secure_delete on. */
	memset(&p, 0, sizeof(p));
	CHECK(t_job(job_pragmas, &p, "pragmas", NULL, NULL, "ok") == ST_OK);
	CHECK(p.synchronous == 2);
	CHECK(p.secure_delete == 1);
	CHECK(p.foreign_keys == 1);
	CHECK_STR(p.journal, "wal");

	/* This thread's reader connection, made by its first read. */
	{
		struct account a;
		struct conn *c;

		CHECK(store_account_get(S, "nobody", &a) == ST_NOTFOUND);
		c = pthread_getspecific(SQ(S)->reader_key);
		CHECK(c != NULL);
		if (c) {
			CHECK(t_int(c->db, "PRAGMA synchronous") == 2);
			CHECK(t_int(c->db, "PRAGMA secure_delete") == 1);
			t_text(c->db, "PRAGMA journal_mode", mode, sizeof(mode));
			CHECK_STR(mode, "wal");
		}
	}
}

/* ---- accounts ------------------------------------------------------------ */

static const struct {
	const char *name;
	enum role role;
	const char *depot;
} accounts[] = {
    {"c1", ROLE_COURIER, "d1"},	 {"c2", ROLE_COURIER, "d1"},  {"c3", ROLE_COURIER, "d2"},
    {"desk1", ROLE_DEPOT, "d1"}, {"desk2", ROLE_DEPOT, "d2"}, {"root", ROLE_ADMIN, ""},
    {"aud", ROLE_AUDITOR, ""},	 {"tel", ROLE_TELEPHONY, ""},
};

static struct t_acct accts[ARRAY_SIZE(accounts)];

static void t_acct_make(struct t_acct *ta, const char *name, enum role role, const char *depot)
{
	memset(ta, 0, sizeof(*ta));
	snprintf(ta->a.name, sizeof(ta->a.name), "%s", name);
	ta->a.role = role;
	snprintf(ta->a.depot, sizeof(ta->a.depot), "%s", depot);
	crypto_token_new(ta->token);
	crypto_token_hash(kr, ta->token, TOKEN_CHARS, ta->hash);
}

static void t_acct_cmp(const struct account *got, const struct account *want)
{
	CHECK_STR(got->name, want->name);
	CHECK(got->role == want->role);
	CHECK_STR(got->depot, want->depot);
	CHECK(got->id > 0);
	CHECK(got->created_at > 1700000000);
}

static void seen_account(const struct account *a, void *arg)
{
	char *names = arg;
	size_t n = strlen(names);

	snprintf(names + n, 512 - n, "%s%s", n ? "," : "", a->name);
}

static void test_accounts(void)
{
	struct account got;

	for (size_t i = 0; i < ARRAY_SIZE(accounts); i++) {
		t_acct_make(&accts[i], accounts[i].name, accounts[i].role, accounts[i].depot);
		CHECK(t_job(job_account_insert, &accts[i], "account.add", NULL, NULL, "ok") ==
		      ST_OK);
	}
	for (size_t i = 0; i < ARRAY_SIZE(accounts); i++) {
		memset(&got, 0, sizeof(got));
		CHECK(store_account_get(S, accounts[i].name, &got) == ST_OK);
		t_acct_cmp(&got, &accts[i].a);
		CHECK(!got.disabled);
		memset(&got, 0, sizeof(got));
		CHECK(store_account_by_token(S, accts[i].hash, &got) == ST_OK);
		t_acct_cmp(&got, &accts[i].a);
	}
	/* Through the writer too. */
	{
		struct t_acct w;
		memset(&w, 0, sizeof(w));
		snprintf(w.a.name, sizeof(w.a.name), "desk2");
		CHECK(t_job(job_account_get, &w, "account.get", NULL, NULL, "ok") == ST_OK);
		t_acct_cmp(&w.a, &accts[4].a);
		snprintf(w.a.name, sizeof(w.a.name), "ghost");
		CHECK(t_job(job_account_get, &w, "account.get", NULL, NULL, "not_found") ==
		      ST_NOTFOUND);
	}
	/* Unknown name, unknown token. */
	{
		unsigned char h[HASH_BYTES];
		CHECK(store_account_get(S, "ghost", &got) == ST_NOTFOUND);
		CHECK(store_account_get(S, "", &got) == ST_NOTFOUND);
		crypto_token_hash(kr, "wb_not-a-token", 14, h);
		CHECK(store_account_by_token(S, h, &got) == ST_NOTFOUND);
	}
	/* Refused inserts: same name, same token hash, no role.  Audited with the status. */
	{
		struct t_acct dup;
		t_acct_make(&dup, "c1", ROLE_DEPOT, "d9");
		CHECK(t_job(job_account_insert, &dup, "account.add", NULL, NULL, "conflict") ==
		      ST_CONFLICT);
		CHECK(store_account_get(S, "c1", &got) == ST_OK && got.role == ROLE_COURIER);
		t_acct_make(&dup, "c9", ROLE_COURIER, "d1");
		memcpy(dup.hash, accts[0].hash, HASH_BYTES);
		CHECK(t_job(job_account_insert, &dup, "account.add", NULL, NULL, "conflict") ==
		      ST_CONFLICT);
		CHECK(store_account_get(S, "c9", &got) == ST_NOTFOUND);
		t_acct_make(&dup, "c8", ROLE_NONE, "d1");
		CHECK(t_job(job_account_insert, &dup, "account.add", NULL, NULL, "conflict") ==
		      ST_CONFLICT);
		CHECK(store_account_get(S, "c8", &got) == ST_NOTFOUND);
	}
	/* Listed in name order. */
	{
		char names[512] = "";
		CHECK(store_account_each(S, seen_account, names) == ST_OK);
		CHECK_STR(names, "aud,c1,c2,c3,desk1,desk2,root,tel");
	}
	/* Token rotation: the old token stops, the new one works. */
	{
		struct t_acct rot = accts[1];
		unsigned char old[HASH_BYTES];

		memcpy(old, rot.hash, HASH_BYTES);
		crypto_token_new(rot.token);
		crypto_token_hash(kr, rot.token, TOKEN_CHARS, rot.hash);
		CHECK(t_job(job_account_token, &rot, "token.rotate", NULL, NULL, "ok") == ST_OK);
		CHECK(store_account_by_token(S, old, &got) == ST_NOTFOUND);
		CHECK(store_account_by_token(S, rot.hash, &got) == ST_OK);
		CHECK_STR(got.name, "c2");
		accts[1] = rot;
		/* Rotating to another account's token is refused; nothing changes. */
		memcpy(rot.hash, accts[0].hash, HASH_BYTES);
		CHECK(t_job(job_account_token, &rot, "token.rotate", NULL, NULL, "conflict") ==
		      ST_CONFLICT);
		CHECK(store_account_by_token(S, accts[1].hash, &got) == ST_OK);
		CHECK_STR(got.name, "c2");
		snprintf(rot.a.name, sizeof(rot.a.name), "ghost");
		CHECK(t_job(job_account_token, &rot, "token.rotate", NULL, NULL, "not_found") ==
		      ST_NOTFOUND);
	}
	/* Disable: the flag shows on both look-ups; others untouched. */
	{
		CHECK(t_job(job_account_disable, (void *)"c3", "account.disable", NULL, NULL,
			    "ok") == ST_OK);
		CHECK(store_account_get(S, "c3", &got) == ST_OK && got.disabled);
		CHECK(store_account_by_token(S, accts[2].hash, &got) == ST_OK && got.disabled);
		CHECK(store_account_get(S, "c2", &got) == ST_OK && !got.disabled);
		CHECK(t_job(job_account_disable, (void *)"ghost", "account.disable", NULL, NULL,
			    "not_found") == ST_NOTFOUND);
	}
	t_chain_ok("accounts");
}

/* ---- jobs and their audit entries ---------------------------------------- */

/*
 * One batch of several jobs, some failing.  A gate job holds the writer
 * while the others queue, so they run together in the next transaction.
 */
static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool held, open;
	int done;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0};

static enum st job_gate(struct store *s, struct wjob *j)
{
	UNUSED(s);
	UNUSED(j);
	pthread_mutex_lock(&gate.m);
	gate.held = true;
	pthread_cond_broadcast(&gate.c);
	while (!gate.open)
		pthread_cond_wait(&gate.c, &gate.m);
	pthread_mutex_unlock(&gate.m);
	return ST_OK;
}

static void gate_done(struct wjob *j)
{
	UNUSED(j);
	pthread_mutex_lock(&gate.m);
	gate.done++;
	pthread_cond_broadcast(&gate.c);
	pthread_mutex_unlock(&gate.m);
}

/* Submit the jobs behind a gate, open it, wait for all; the batch count it took. */
static uint64_t t_one_batch(struct wjob *jobs, size_t n)
{
	struct wjob g;
	struct store_stats before, after;

	memset(&g, 0, sizeof(g));
	g.fn = job_gate;
	g.no_audit = true;
	g.done = gate_done;
	gate.held = gate.open = false;
	gate.done = 0;
	store_submit(S, &g);
	pthread_mutex_lock(&gate.m);
	while (!gate.held)
		pthread_cond_wait(&gate.c, &gate.m);
	pthread_mutex_unlock(&gate.m);
	store_stats_get(S, &before);
	for (size_t i = 0; i < n; i++) {
		jobs[i].done = gate_done;
		store_submit(S, &jobs[i]);
	}
	pthread_mutex_lock(&gate.m);
	gate.open = true;
	pthread_cond_broadcast(&gate.c);
	while (gate.done < (int)n + 1)
		pthread_cond_wait(&gate.c, &gate.m);
	pthread_mutex_unlock(&gate.m);
	store_stats_get(S, &after);
	CHECK(after.batches - before.batches == 2); /* the gate's, then all of these */
	return after.reruns - before.reruns;
}

static void test_batch_failures(void)
{
	struct t_acct ok1, bad, ok2, gone;
	struct wjob jobs[4];
	struct account got;
	struct t_want w[4] = {{"rr", "account.add", NULL, "ok"},
			      {"rr", "account.add", NULL, "invalid"},
			      {"rr", "account.add", NULL, "ok"},
			      {"rr", "account.get", NULL, "not_found"}};

	t_acct_make(&ok1, "rr-one", ROLE_COURIER, "d1");
	t_acct_make(&bad, "rr-bad", ROLE_COURIER, "d1");
	t_acct_make(&ok2, "rr-two", ROLE_COURIER, "d1");
	t_acct_make(&gone, "rr-none", ROLE_COURIER, "d1");
	memset(jobs, 0, sizeof(jobs));
	jobs[0].fn = job_account_insert, jobs[0].arg = &ok1;
	jobs[1].fn = job_insert_then_fail, jobs[1].arg = &bad;
	jobs[2].fn = job_account_insert, jobs[2].arg = &ok2;
	jobs[3].fn = job_account_get, jobs[3].arg = &gone;
	for (int i = 0; i < 4; i++)
		audit_entry_init(&jobs[i].audit, "rr", "admin", w[i].action, NULL, "req-rr");

	/* A job failed after writing: the batch ran again, with savepoints. */
	CHECK(t_one_batch(jobs, 4) == 1);
	CHECK(jobs[0].st == ST_OK && jobs[2].st == ST_OK);
	CHECK(jobs[1].st == ST_INVALID && jobs[3].st == ST_NOTFOUND);
	CHECK(store_account_get(S, "rr-one", &got) == ST_OK);
	CHECK(store_account_get(S, "rr-two", &got) == ST_OK);
	CHECK(store_account_get(S, "rr-bad", &got) == ST_NOTFOUND);
	t_expect_audit(w, 4, "a batch with a job failing after its write");

	/* Failures that wrote nothing need no second run. */
	t_acct_make(&ok1, "rr-three", ROLE_COURIER, "d1");
	memset(jobs, 0, sizeof(jobs));
	jobs[0].fn = job_account_insert, jobs[0].arg = &ok1;
	jobs[1].fn = job_account_get, jobs[1].arg = &gone;
	for (int i = 0; i < 2; i++)
		audit_entry_init(&jobs[i].audit, "rr", "admin", i ? "account.get" : "account.add",
				 NULL, "req-rr");
	CHECK(t_one_batch(jobs, 2) == 0);
	CHECK(jobs[0].st == ST_OK && jobs[1].st == ST_NOTFOUND);
	CHECK(store_account_get(S, "rr-three", &got) == ST_OK);
	{
		struct t_want w2[2] = {{"rr", "account.add", NULL, "ok"},
				       {"rr", "account.get", NULL, "not_found"}};
		t_expect_audit(w2, 2, "a batch with a job failing before any write");
	}
	t_chain_ok("batch failures");
}

static void test_jobs(void)
{
	struct account got;

	/* A failing job's writes roll back; its entry stays, with the status name. */
	{
		struct t_acct ta;
		t_acct_make(&ta, "phantom", ROLE_COURIER, "d1");
		CHECK(t_job(job_insert_then_fail, &ta, "account.add", NULL, NULL, "invalid") ==
		      ST_INVALID);
		CHECK(store_account_get(S, "phantom", &got) == ST_NOTFOUND);
		CHECK(store_account_by_token(S, ta.hash, &got) == ST_NOTFOUND);
		/* The same insert, not failing, works: nothing was left half-done. */
		CHECK(t_job(job_account_insert, &ta, "account.add", NULL, NULL, "ok") == ST_OK);
		CHECK(store_account_get(S, "phantom", &got) == ST_OK);
	}
	/* The job's own result wins over "ok" and over the status name. */
	CHECK(t_job(NULL, NULL, "order.get", "WB000000000000000097", "denied", "denied") == ST_OK);
	{
		struct t_extra x = {ST_NOTFOUND};
		CHECK(t_run(job_extra_audit, &x, "tester", "order.get", NULL, "denied") ==
		      ST_NOTFOUND);
		{
			struct t_want w = {"tester", "order.get", NULL, "denied"};
			t_expect_audit(&w, 1, "result override on failure");
		}
	}
	/* An audit-only job (no fn). */
	CHECK(t_job(NULL, NULL, "audit.read", NULL, NULL, "ok") == ST_OK);
	/* Extra entries: kept before the job's own on success, rolled back on failure. */
	{
		struct t_extra x = {ST_OK};
		struct t_want two[2] = {{"tester", "extra", NULL, "ok"},
					{"tester", "with.extra", NULL, "ok"}};
		CHECK(t_run(job_extra_audit, &x, "tester", "with.extra", NULL, NULL) == ST_OK);
		t_expect_audit(two, 2, "extra entry");
		x.ret = ST_CONFLICT;
		CHECK(t_job(job_extra_audit, &x, "with.extra", NULL, NULL, "conflict") ==
		      ST_CONFLICT);
	}
	/* Each status gets its own name in the entry. */
	{
		static const enum st sts[] = {ST_NOTFOUND, ST_CONFLICT,	 ST_LIMIT,
					      ST_GONE,	   ST_FORBIDDEN, ST_INVALID};
		for (size_t i = 0; i < ARRAY_SIZE(sts); i++) {
			struct t_extra x = {sts[i]};
			CHECK(t_job(job_extra_audit, &x, "status.names", NULL, NULL,
				    st_name(sts[i])) == sts[i]);
		}
	}
	/* A job that audits itself adds nothing of its own. */
	{
		struct wjob j;
		memset(&j, 0, sizeof(j));
		j.no_audit = true;
		audit_entry_init(&j.audit, "tester", "admin", "silent", NULL, NULL);
		CHECK(store_run(S, &j) == ST_OK);
		t_expect_audit(NULL, 0, "no_audit");
	}
	/* The triggers refuse UPDATE and DELETE, also on the writer's connection. */
	CHECK(t_job(job_exec, (void *)"UPDATE audit SET actor = 'mallory' WHERE seq = 1", "tamper",
		    NULL, NULL, "conflict") == ST_CONFLICT);
	CHECK(t_job(job_exec, (void *)"DELETE FROM audit WHERE seq = 2", "tamper", NULL, NULL,
		    "conflict") == ST_CONFLICT);
	CHECK(t_job(job_exec, (void *)"DELETE FROM audit", "tamper", NULL, NULL, "conflict") ==
	      ST_CONFLICT);
	t_chain_ok("jobs");
	/* Filters of store_audit_list. */
	{
		struct audit_entry e[64];
		size_t n = 0;
		struct audit_query q = {"WB000000000000000097", NULL, NULL, 0, 64};
		CHECK(store_audit_list(S, &q, e, &n) == ST_OK);
		CHECK(n == 1 && strcmp(e[0].result, "denied") == 0);
		q.tracking_no = NULL;
		q.actor = "nobody";
		CHECK(store_audit_list(S, &q, e, &n) == ST_OK && n == 0);
		q.actor = "tester";
		q.limit = 3;
		CHECK(store_audit_list(S, &q, e, &n) == ST_OK && n == 3);
		CHECK(e[0].seq == 1 && e[1].seq == 2 && e[2].seq == 3);
		/* The links: each prev is the hash before it. */
		CHECK(memcmp(e[1].prev, e[0].hash, HASH_BYTES) == 0);
		CHECK(memcmp(e[2].prev, e[1].hash, HASH_BYTES) == 0);
		CHECK(audit_link_ok(kr, &e[0]) && audit_link_ok(kr, &e[2]));
		q.after_seq = n_audit - 1;
		CHECK(store_audit_list(S, &q, e, &n) == ST_OK && n == 1 && e[0].seq == n_audit);
		q.after_seq = 0;
		q.limit = 64;
		q.since = "2999-01-01T00:00:00.000Z";
		CHECK(store_audit_list(S, &q, e, &n) == ST_OK && n == 0);
	}
}

/* ---- orders -------------------------------------------------------------- */

#define NORDERS 30

struct t_model {
	char tn[TN_MAX];
	char depot[NAME_MAX_BYTES], creator[NAME_MAX_BYTES], courier[NAME_MAX_BYTES];
	char status[20];
	char idem[32];
	unsigned char digest[HASH_BYTES];
	char plain[128];
	int weight, count;
};

static struct t_model model[NORDERS];

/* Who creates order i, and its depot; who is assigned (maybe nobody). */
static const char *const creators[] = {"c1", "c2", "c3"};
static const char *const depots[] = {"d1", "d1", "d2"};

/* What order m is sealed bound to, as h_orders.c seals it (store.h, order_row_bind). */
static const char *t_bind(const struct t_model *m, char out[ORDER_BIND_MAX])
{
	struct order_row r;

	memset(&r, 0, sizeof(r));
	snprintf(r.tracking_no, sizeof(r.tracking_no), "%s", m->tn);
	snprintf(r.depot, sizeof(r.depot), "%s", m->depot);
	snprintf(r.creator, sizeof(r.creator), "%s", m->creator);
	r.seal_bind = ORDER_SEAL_BOUND;
	order_row_bind(&r, out);
	return out;
}

static void t_row(struct order_row *r, const struct t_model *m, struct sealed *sd)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->tracking_no, sizeof(r->tracking_no), "%s", m->tn);
	snprintf(r->status, sizeof(r->status), "created");
	r->created_at = r->updated_at = 1790000000;
	snprintf(r->depot, sizeof(r->depot), "%s", m->depot);
	snprintf(r->creator, sizeof(r->creator), "%s", m->creator);
	snprintf(r->origin_province, sizeof(r->origin_province), "江苏省");
	snprintf(r->origin_city, sizeof(r->origin_city), "镇江市");
	snprintf(r->origin_district, sizeof(r->origin_district), "京口区");
	snprintf(r->dest_province, sizeof(r->dest_province), "广东省");
	snprintf(r->dest_city, sizeof(r->dest_city), "深圳市");
	snprintf(r->dest_district, sizeof(r->dest_district), "宝安区");
	r->weight_g = m->weight;
	r->count = m->count;
	r->kek_version = sd->kek_version;
	r->seal_version = sd->seal_version;
	memcpy(r->wrapped_dek, sd->wrapped_dek, WRAPPED_DEK_BYTES);
	r->sealed = sd->blob;
	r->sealed_len = sd->blob_len;
	r->seal_bind = ORDER_SEAL_BOUND;
}

static void t_row_cmp(const struct order_row *got, const struct t_model *m)
{
	char *plain = NULL, bind[ORDER_BIND_MAX];
	size_t len = 0;

	CHECK_STR(got->tracking_no, m->tn);
	CHECK_STR(got->status, m->status);
	CHECK_STR(got->depot, m->depot);
	CHECK_STR(got->creator, m->creator);
	CHECK_STR(got->courier, m->courier);
	CHECK_STR(got->origin_province, "江苏省");
	CHECK_STR(got->dest_district, "宝安区");
	CHECK(got->weight_g == m->weight);
	CHECK(got->count == m->count);
	CHECK(got->id > 0);
	CHECK(got->kek_version == 1 && got->seal_version == 1);
	CHECK(got->sealed && got->sealed_len == strlen(m->plain) + SEAL_OVERHEAD);
	/* What comes back opens to what went in. */
	CHECK(got->seal_bind == ORDER_SEAL_BOUND);
	order_row_bind(got, bind);
	CHECK(crypto_open(kr, bind, got->kek_version, got->seal_version, got->wrapped_dek,
			  got->sealed, got->sealed_len, &plain, &len) == ST_OK);
	if (plain) {
		CHECK_STR(plain, m->plain);
		free_wiped(plain, len + 1);
	}
}

static bool t_in_scope(const struct t_model *m, enum role scope, const char *who)
{
	if (scope == ROLE_DEPOT)
		return strcmp(m->depot, who) == 0;
	return strcmp(m->creator, who) == 0 || strcmp(m->courier, who) == 0;
}

static void test_orders(void)
{
	struct order_row got;
	char bind[ORDER_BIND_MAX];

	for (int i = 0; i < NORDERS; i++) {
		struct t_model *m = &model[i];
		struct t_insert ti;
		struct order_row r;
		struct sealed sd;

		memset(m, 0, sizeof(*m));
		tn_generate("WB", m->tn);
		snprintf(m->creator, sizeof(m->creator), "%s", creators[i % 3]);
		snprintf(m->depot, sizeof(m->depot), "%s", depots[i % 3]);
		snprintf(m->status, sizeof(m->status), "created");
		snprintf(m->plain, sizeof(m->plain),
			 "{\"recipient\":{\"name\":\"SECRET-NAME-%02d\",\"phone\":\"+86139%08d\"}}",
			 i, 87654321 - i);
		m->weight = 100 + i;
		m->count = 1 + i % 4;
		if (i % 2 == 0)
			snprintf(m->idem, sizeof(m->idem), "app-%d", i / 2);
		crypto_body_digest(kr, m->plain, strlen(m->plain), m->digest);

		CHECK(crypto_seal(kr, t_bind(m, bind), m->plain, strlen(m->plain), &sd) == ST_OK);
		t_row(&r, m, &sd);
		memset(&ti, 0, sizeof(ti));
		ti.r = &r;
		ti.idem = m->idem[0] ? m->idem : NULL;
		memcpy(ti.digest, m->digest, HASH_BYTES);
		CHECK(t_job(job_order_insert, &ti, "order.create", m->tn, NULL, "ok") == ST_OK);
		CHECK(ti.id > 0);
		sealed_release(&sd);
	}

	/* Assignments and status changes, mirrored in the model. */
	for (int i = 0; i < NORDERS; i++) {
		struct t_change c;
		memset(&c, 0, sizeof(c));
		c.tn = model[i].tn;
		c.now = 1790000100;
		if (i % 4 == 0)
			c.courier = "c2";
		else if (i % 4 == 1)
			c.courier = "c1";
		if (i % 5 == 1)
			c.status = "picked_up";
		else if (i % 5 == 3)
			c.status = "in_transit";
		else if (i % 7 == 6) {
			c.status = "cancelled";
			c.ended_at = c.now;
			c.retain_until = c.now + 30 * 86400;
		}
		if (!c.courier && !c.status)
			continue;
		CHECK(t_job(job_order_change, &c, "order.change", c.tn, NULL, "ok") == ST_OK);
		if (c.courier)
			snprintf(model[i].courier, sizeof(model[i].courier), "%s", c.courier);
		if (c.status)
			snprintf(model[i].status, sizeof(model[i].status), "%s", c.status);
	}
	{
		struct t_change c = {model[5].tn, NULL, NULL, 2, 1790000200, 0, 0};
		CHECK(t_job(job_order_change, &c, "label.print", c.tn, NULL, "ok") == ST_OK);
	}

	/* Every order reads back as the model says. */
	for (int i = 0; i < NORDERS; i++) {
		CHECK(store_order_get(S, model[i].tn, &got) == ST_OK);
		t_row_cmp(&got, &model[i]);
		if (i == 5)
			CHECK(got.print_count == 2);
		if (strcmp(model[i].status, "cancelled") == 0) {
			CHECK(got.ended_at == 1790000100);
			CHECK(got.retain_until == 1790000100 + 30 * 86400);
		} else {
			CHECK(got.ended_at == 0 && got.retain_until == 0);
		}
		CHECK(got.updated_at >= got.created_at);
		order_row_release(&got);
	}
	/* Not found, and a change to a missing order, audited as not_found. */
	{
		char tn[TN_MAX];
		struct t_change c;
		tn_generate("WB", tn);
		CHECK(store_order_get(S, tn, &got) == ST_NOTFOUND);
		CHECK(got.sealed == NULL);
		memset(&c, 0, sizeof(c));
		c.tn = tn;
		c.status = "picked_up";
		CHECK(t_job(job_order_change, &c, "order.change", tn, NULL, "not_found") ==
		      ST_NOTFOUND);
	}
	/* Conflicts: the same tracking number, the same creator and key. */
	{
		struct t_model m = model[0];
		struct t_insert ti;
		struct order_row r;
		struct sealed sd;

		CHECK(crypto_seal(kr, t_bind(&m, bind), m.plain, strlen(m.plain), &sd) == ST_OK);
		t_row(&r, &m, &sd);
		memset(&ti, 0, sizeof(ti));
		ti.r = &r;
		CHECK(t_job(job_order_insert, &ti, "order.create", m.tn, NULL, "conflict") ==
		      ST_CONFLICT);
		/* A new number, but c1's key "app-0" again. */
		tn_generate("WB", r.tracking_no);
		ti.idem = model[0].idem;
		CHECK(t_job(job_order_insert, &ti, "order.create", r.tracking_no, NULL,
			    "conflict") == ST_CONFLICT);
		CHECK(store_order_get(S, r.tracking_no, &got) == ST_NOTFOUND);
		sealed_release(&sd);
	}
	/* Idempotency look-ups: per creator. */
	{
		struct {
			const char *creator, *key;
			int order; /* -1: none */
		} ic[] = {
		    {"c1", "app-0", 0}, {"c2", "app-2", 4},	{"c3", "app-1", 2},
		    {"c1", "app-3", 6}, {"c2", "app-0", -1},	{"c1", "app-1", -1},
		    {"c1", "nope", -1}, {"ghost", "app-0", -1},
		};
		for (size_t i = 0; i < ARRAY_SIZE(ic); i++) {
			struct t_idem ti;
			int o = ic[i].order;
			enum st want = o >= 0 ? ST_OK : ST_NOTFOUND;

			/* The model agrees with the case table. */
			if (o >= 0)
				CHECK(strcmp(model[o].creator, ic[i].creator) == 0 &&
				      strcmp(model[o].idem, ic[i].key) == 0);
			memset(&ti, 0, sizeof(ti));
			ti.creator = ic[i].creator;
			ti.key = ic[i].key;
			CHECK(t_job(job_order_idem, &ti, "order.idem", NULL, NULL, st_name(want)) ==
			      want);
			if (o >= 0) {
				CHECK_STR(ti.tn, model[o].tn);
				CHECK(memcmp(ti.digest, model[o].digest, HASH_BYTES) == 0);
			}
		}
	}
	t_chain_ok("orders");
}

static void test_list(void)
{
	static const struct {
		enum role scope;
		const char *who;
	} whos[] = {
	    {ROLE_COURIER, "c1"},     {ROLE_COURIER, "c2"}, {ROLE_COURIER, "c3"},
	    {ROLE_COURIER, "nobody"}, {ROLE_DEPOT, "d1"},   {ROLE_DEPOT, "d2"},
	    {ROLE_DEPOT, "d9"},
	};
	static const char *const statuses[] = {NULL,	     "created",	  "picked_up",
					       "in_transit", "cancelled", "delivered"};
	static const int limits[] = {1, 2, 3, 7, NORDERS, 200};
	struct order_row rows[200];
	int nonempty = 0;

	for (size_t w = 0; w < ARRAY_SIZE(whos); w++)
		for (size_t s = 0; s < ARRAY_SIZE(statuses); s++)
			for (size_t l = 0; l < ARRAY_SIZE(limits); l++) {
				const char *want[NORDERS];
				size_t nwant = 0, seen = 0, pages = 0;
				char after[TN_MAX] = "";
				bool more = true;

				for (int i = 0; i < NORDERS; i++)
					if (t_in_scope(&model[i], whos[w].scope, whos[w].who) &&
					    (!statuses[s] ||
					     strcmp(model[i].status, statuses[s]) == 0))
						want[nwant++] = model[i].tn;
				nonempty += nwant > 0;
				while (more && pages++ <= NORDERS + 1) {
					struct order_query q = {whos[w].scope, whos[w].who,
								statuses[s],
								after[0] ? after : NULL, limits[l]};
					size_t n = 99;
					enum st st = store_order_list(S, &q, rows, &n, &more);

					CHECK(st == ST_OK);
					if (st != ST_OK)
						break;
					CHECK(n <= (size_t)limits[l]);
					/* A page that says more is full. */
					if (more)
						CHECK(n == (size_t)limits[l]);
					for (size_t k = 0; k < n; k++) {
						if (seen < nwant)
							CHECK_STR(rows[k].tracking_no, want[seen]);
						CHECK(seen < nwant);
						if (statuses[s])
							CHECK_STR(rows[k].status, statuses[s]);
						seen++;
					}
					if (n)
						snprintf(after, sizeof(after), "%s",
							 rows[n - 1].tracking_no);
					for (size_t k = 0; k < n; k++)
						order_row_release(&rows[k]);
					if (!n)
						break;
				}
				if (seen != nwant)
					fprintf(stderr,
						"list %s %s status %s limit %d: %zu rows, "
						"want %zu\n",
						whos[w].scope == ROLE_DEPOT ? "depot" : "courier",
						whos[w].who, statuses[s] ? statuses[s] : "any",
						limits[l], seen, nwant);
				CHECK(seen == nwant);
				CHECK(!more);
				/* Pages: ceil(nwant / limit), at least one. */
				CHECK(pages ==
				      (nwant ? (nwant + (size_t)limits[l] - 1) / (size_t)limits[l]
					     : 1));
			}
	/* The model is not trivial: some lists have rows, some are empty. */
	CHECK(nonempty > 20);

	/*
	 * The cursor: a number that is no order's is refused; so must be one
	 * that is another's order (else the answer tells the number exists).
	 */
	{
		char tn[TN_MAX];
		struct order_query q = {ROLE_COURIER, "c3", NULL, NULL, 5};
		size_t n = 99;
		bool more = true;
		enum st none, foreign;
		int other = -1;

		tn_generate("WB", tn);
		q.after = tn;
		none = store_order_list(S, &q, rows, &n, &more);
		CHECK(none != ST_OK);
		CHECK(n == 0 && !more);
		for (int i = 0; i < NORDERS && other < 0; i++)
			if (!t_in_scope(&model[i], ROLE_COURIER, "c3"))
				other = i;
		CHECK(other >= 0);
		q.after = model[other].tn;
		n = 99;
		foreign = store_order_list(S, &q, rows, &n, &more);
		if (foreign != none)
			fprintf(stderr,
				"list after another courier's order: %s; after no order: "
				"%s\n",
				st_name(foreign), st_name(none));
		CHECK(foreign == none);
		for (size_t k = 0; k < n; k++)
			order_row_release(&rows[k]);
		/* The same for a depot and another depot's order. */
		q.scope = ROLE_DEPOT;
		q.who = "d2";
		other = -1;
		for (int i = 0; i < NORDERS && other < 0; i++)
			if (!t_in_scope(&model[i], ROLE_DEPOT, "d2"))
				other = i;
		q.after = model[other].tn;
		n = 99;
		foreign = store_order_list(S, &q, rows, &n, &more);
		CHECK(foreign == none);
		for (size_t k = 0; k < n; k++)
			order_row_release(&rows[k]);
	}
}

/* ---- group commit -------------------------------------------------------- */

#define GC_THREADS 8
#define GC_PER 250

struct t_gc {
	pthread_mutex_t m;
	pthread_cond_t c;
	int done, ok;
	pthread_barrier_t start;
	struct wjob jobs[GC_THREADS][GC_PER];
};

static struct t_gc gc = {.m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER};

static void gc_done(struct wjob *j)
{
	pthread_mutex_lock(&gc.m);
	gc.done++;
	gc.ok += j->st == ST_OK;
	pthread_cond_signal(&gc.c);
	pthread_mutex_unlock(&gc.m);
}

static enum st gc_fn(struct store *s, struct wjob *j)
{
	struct account a;
	return store_w_account_get(s, "c1", &a);
}

static void *gc_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	char actor[16];

	snprintf(actor, sizeof(actor), "gc%d", t);
	for (int i = 0; i < GC_PER; i++) {
		struct wjob *j = &gc.jobs[t][i];
		memset(j, 0, sizeof(*j));
		j->fn = i % 2 ? gc_fn : NULL;
		audit_entry_init(&j->audit, actor, "courier", "gc.submit", NULL, NULL);
		snprintf(j->audit.reason, sizeof(j->audit.reason), "%d", i);
		j->done = gc_done;
	}
	pthread_barrier_wait(&gc.start);
	for (int i = 0; i < GC_PER; i++)
		store_submit(S, &gc.jobs[t][i]);
	return NULL;
}

static void test_group_commit(void)
{
	pthread_t th[GC_THREADS];
	struct store_stats before, after;
	struct timespec deadline;
	uint64_t hist = 0;
	int started = 0;

	store_stats_get(S, &before);
	pthread_barrier_init(&gc.start, NULL, GC_THREADS);
	for (int t = 0; t < GC_THREADS; t++)
		started += pthread_create(&th[t], NULL, gc_thread, (void *)(intptr_t)t) == 0;
	CHECK(started == GC_THREADS);
	if (started != GC_THREADS)
		return; /* a barrier short of threads would never open */
	for (int t = 0; t < GC_THREADS; t++)
		pthread_join(th[t], NULL);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 120;
	pthread_mutex_lock(&gc.m);
	while (gc.done < GC_THREADS * GC_PER)
		if (pthread_cond_timedwait(&gc.c, &gc.m, &deadline) != 0)
			break;
	pthread_mutex_unlock(&gc.m);
	pthread_barrier_destroy(&gc.start);

	CHECK(gc.done == GC_THREADS * GC_PER);
	CHECK(gc.ok == GC_THREADS * GC_PER);
	store_stats_get(S, &after);
	CHECK(after.jobs - before.jobs == GC_THREADS * GC_PER);
	fprintf(stderr, "group commit: %d jobs in %llu batches\n", GC_THREADS * GC_PER,
		(unsigned long long)(after.batches - before.batches));
	CHECK(after.batches > before.batches);
	CHECK(after.batches - before.batches < GC_THREADS * GC_PER);
	for (size_t i = 0; i < ARRAY_SIZE(after.batch_hist); i++)
		hist += after.batch_hist[i] - before.batch_hist[i];
	CHECK(hist == after.batches - before.batches);
	/* Some batch held more than one job. */
	{
		uint64_t multi = 0;
		for (size_t i = 1; i < ARRAY_SIZE(after.batch_hist); i++)
			multi += after.batch_hist[i] - before.batch_hist[i];
		CHECK(multi > 0);
	}

	/* 2000 entries, each thread's in the order it submitted them. */
	{
		static struct audit_entry e[GC_PER + 1];
		int64_t total = 0;

		for (int t = 0; t < GC_THREADS; t++) {
			char actor[16];
			struct audit_query q = {NULL, actor, NULL, 0, GC_PER + 1};
			size_t n = 0;
			int in_order = 1;

			snprintf(actor, sizeof(actor), "gc%d", t);
			CHECK(store_audit_list(S, &q, e, &n) == ST_OK);
			CHECK(n == GC_PER);
			for (size_t i = 0; i < n; i++) {
				char want[24];
				snprintf(want, sizeof(want), "%zu", i);
				in_order &= strcmp(e[i].reason, want) == 0 &&
					    strcmp(e[i].result, "ok") == 0 &&
					    (i == 0 || e[i].seq > e[i - 1].seq);
			}
			CHECK(in_order);
			total += (int64_t)n;
		}
		CHECK(total == GC_THREADS * GC_PER);
		n_audit += total;
	}
	t_chain_ok("group commit");
}

/* ---- the WAL under steady load ------------------------------------------ */

/*
 * Under steady writes a PASSIVE checkpoint never catches up by itself, and
 * SQLite starts the log over only once one has: without the writer's
 * checkpoint tails the -wal file grew by every frame written.  32,000 jobs,
 * each rewriting one of 2,048 pages, write ~32,000 frames (~130 MB); the
 * log must stay within its bound (CKPT_LOG_MAX frames, where the writer
 * copies the rest itself) and a batch or two.
 */
#define WAL_THREADS 8
#define WAL_PER 4000

struct t_wal {
	pthread_mutex_t m;
	pthread_cond_t c;
	int done, ok;
	struct wjob jobs[WAL_THREADS][WAL_PER];
	char sql[WAL_THREADS][WAL_PER][80];
};

static struct t_wal *wal;

static void wal_done(struct wjob *j)
{
	pthread_mutex_lock(&wal->m);
	wal->done++;
	wal->ok += j->st == ST_OK;
	pthread_cond_signal(&wal->c);
	pthread_mutex_unlock(&wal->m);
}

static void *wal_thread(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < WAL_PER; i++) {
		struct wjob *j = &wal->jobs[t][i];
		snprintf(wal->sql[t][i], sizeof(wal->sql[t][i]),
			 "UPDATE wal_fill SET b = randomblob(3500) WHERE id = %d",
			 (t * WAL_PER + i) % 2048);
		memset(j, 0, sizeof(*j));
		j->fn = job_exec;
		j->arg = wal->sql[t][i];
		j->no_audit = true;
		j->done = wal_done;
		store_submit(S, j);
	}
	return NULL;
}

static void test_wal_bounded(void)
{
	char wal_path[600];
	pthread_t th[WAL_THREADS];
	struct timespec deadline;
	struct stat st;
	int started = 0;

	wal = calloc(1, sizeof(*wal));
	CHECK(wal != NULL);
	if (!wal)
		return;
	pthread_mutex_init(&wal->m, NULL);
	pthread_cond_init(&wal->c, NULL);
	CHECK(
	    t_job(job_exec,
		  "CREATE TABLE wal_fill (id INTEGER PRIMARY KEY, b BLOB);"
		  "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 2047) "
		  "INSERT INTO wal_fill SELECT i, randomblob(3500) FROM k",
		  "test.wal", NULL, NULL, "ok") == ST_OK);
	for (int t = 0; t < WAL_THREADS; t++)
		started += pthread_create(&th[t], NULL, wal_thread, (void *)(intptr_t)t) == 0;
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 300;
	pthread_mutex_lock(&wal->m);
	while (wal->done < started * WAL_PER)
		if (pthread_cond_timedwait(&wal->c, &wal->m, &deadline) != 0)
			break;
	pthread_mutex_unlock(&wal->m);
	CHECK(started == WAL_THREADS);
	CHECK(wal->done == started * WAL_PER && wal->ok == wal->done);

	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	CHECK(stat(wal_path, &st) == 0);
	fprintf(stderr, "wal under load: %d jobs, -wal file %lld KiB\n", wal->done,
		(long long)st.st_size / 1024);
	CHECK(st.st_size > 0 && st.st_size < (CKPT_LOG_MAX + 2 * BATCH_MAX) * (4096 + 24));
	CHECK(st.st_size > CKPT_LOG_MAX / 2 * 4096); /* the load did reach a long log */
	{
		/*
		 * The writer's log writes are gathered (walbuf_file): a
		 * connection through SQLite's default VFS sees every committed
		 * page, the 7 MB first transaction's and the last job's.
		 */
		sqlite3 *db = NULL;
		int last = (WAL_THREADS * WAL_PER - 1) % 2048;
		char sql[96];
		CHECK(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
		CHECK(t_int(db, "SELECT count(*) FROM wal_fill WHERE length(b) = 3500") == 2048);
		char qc[32] = "";
		t_text(db, "PRAGMA quick_check", qc, sizeof(qc));
		CHECK_STR(qc, "ok");
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM wal_fill WHERE id = %d", last);
		CHECK(t_int(db, sql) == 1);
		sqlite3_close(db);
	}
	CHECK(t_job(job_exec, "DROP TABLE wal_fill", "test.wal", NULL, NULL, "ok") == ST_OK);
	t_chain_ok("wal under load");
	pthread_cond_destroy(&wal->c);
	pthread_mutex_destroy(&wal->m);
	free(wal);
	wal = NULL;
}

/* ---- after closing: tampering -------------------------------------------- */

struct tamper_case {
	const char *what;
	const char *sql; /* @T: the target seq; @L: the last seq */
	int target;	 /* 0 middle, 1 first, 2 last */
	int bad;	 /* the bad seq: 0 target, 1 last + 1, -1 none (chain still ok) */
};

static const struct tamper_case tampers[] = {
    {"UPDATE actor",
     "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'mallory' "
     "WHERE seq = @T;",
     0, 0},
    {"UPDATE result",
     "DROP TRIGGER audit_no_update; UPDATE audit SET result = result || 'x' "
     "WHERE seq = @T;",
     0, 0},
    {"UPDATE ts",
     "DROP TRIGGER audit_no_update; UPDATE audit SET ts = '2000-01-01T00:00:00.000Z' "
     "WHERE seq = @T;",
     0, 0},
    {"UPDATE tracking_no",
     "DROP TRIGGER audit_no_update; UPDATE audit SET tracking_no = "
     "'WB000000000000000097' WHERE seq = @T;",
     0, 0},
    {"UPDATE hash",
     "DROP TRIGGER audit_no_update; UPDATE audit SET hash = zeroblob(32) "
     "WHERE seq = @T;",
     0, 0},
    {"UPDATE prev",
     "DROP TRIGGER audit_no_update; UPDATE audit SET prev = randomblob(32) "
     "WHERE seq = @T;",
     0, 0},
    {"UPDATE first",
     "DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'x' "
     "WHERE seq = @T;",
     1, 0},
    {"DELETE middle", "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = @T;", 0, 0},
    {"DELETE first", "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = @T;", 1, 0},
    {"forged append",
     "INSERT INTO audit SELECT seq + 1, ts, 'mallory', role, action, "
     "tracking_no, reason, result, request_id, hash, randomblob(32), order_id FROM audit "
     "WHERE seq = @L;",
     2, 1},
    /* Dropping the tail leaves a shorter valid chain: only a head kept elsewhere shows it. */
    {"DELETE last", "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = @T;", 2, -1},
};

/* tmpl with @T replaced by target and @L by last. */
static void t_subst(char *out, size_t cap, const char *tmpl, int64_t target, int64_t last)
{
	size_t o = 0;

	for (const char *p = tmpl; *p && o + 24 < cap; p++) {
		if (p[0] == '@' && (p[1] == 'T' || p[1] == 'L')) {
			o += (size_t)snprintf(out + o, cap - o, "%lld",
					      (long long)(p[1] == 'T' ? target : last));
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static void test_tamper(unsigned char head[HASH_BYTES])
{
	int64_t last = n_audit, mid = n_audit / 2;
	char err[512], msg[256], copy[512];
	struct audit_check chk;
	struct store *s2 = NULL;

	/* Intact: verify_path agrees with the running store, and it reopens. */
	CHECK(store_audit_verify_path(db_path, kr, &chk, err, sizeof(err)) == ST_OK);
	CHECK(chk.ok && chk.entries == last);
	CHECK(memcmp(chk.head, head, HASH_BYTES) == 0);

	/* The triggers, from a connection of our own. */
	t_path(copy, sizeof(copy), "triggers.db");
	CHECK(t_copy(db_path, copy));
	CHECK(t_sql(copy, "UPDATE audit SET actor = 'mallory' WHERE seq = 1", msg, sizeof(msg)) !=
	      SQLITE_OK);
	CHECK(strstr(msg, "append-only") != NULL);
	CHECK(t_sql(copy, "DELETE FROM audit WHERE seq = 1", msg, sizeof(msg)) != SQLITE_OK);
	CHECK(strstr(msg, "append-only") != NULL);
	CHECK(t_sql(copy, "DELETE FROM audit", msg, sizeof(msg)) != SQLITE_OK);
	CHECK(store_audit_verify_path(copy, kr, &chk, err, sizeof(err)) == ST_OK);
	CHECK(chk.ok && chk.entries == last);

	for (size_t i = 0; i < ARRAY_SIZE(tampers); i++) {
		const struct tamper_case *tc = &tampers[i];
		int64_t target = tc->target == 0 ? mid : tc->target == 1 ? 1 : last;
		int64_t bad = tc->bad == 0 ? target : last + 1;
		char sql[512];
		enum st st;

		snprintf(copy, sizeof(copy), "%s/tamper%zu.db", dir, i);
		CHECK(t_copy(db_path, copy));
		t_subst(sql, sizeof(sql), tc->sql, target, last);
		if (t_sql(copy, sql, msg, sizeof(msg)) != SQLITE_OK) {
			fprintf(stderr, "tamper \"%s\": %s\n", tc->what, msg);
			CHECK(false);
			continue;
		}
		memset(&chk, 0, sizeof(chk));
		CHECK(store_audit_verify_path(copy, kr, &chk, err, sizeof(err)) == ST_OK);
		err[0] = '\0';
		/* A daemon's open walks nothing (auditcp walks from its checkpoint). */
		CHECK(store_open(copy, STORE_DAEMON, kr, &s2, err, sizeof(err)) == ST_OK);
		if (s2) {
			struct audit_check from0;
			static const unsigned char zero[HASH_BYTES];

			/* With no checkpoint it walks from the start, and finds the same. */
			CHECK(store_audit_verify_from(s2, 0, zero, &from0) == ST_OK);
			CHECK(from0.ok == chk.ok && (chk.ok || from0.bad_seq == chk.bad_seq));
			/* From the last entry on, only an entry added after it is checked. */
			CHECK(store_audit_verify_from(s2, last, head, &from0) == ST_OK);
			CHECK(tc->bad < 0 || bad > last || from0.ok);
			store_close(s2);
			s2 = NULL;
		}
		err[0] = '\0';
		/* A tool's open walks the whole chain and refuses a broken one. */
		st = store_open(copy, STORE_TOOL, kr, &s2, err, sizeof(err));
		if (tc->bad < 0) {
			/* Still a valid chain, one shorter, with another head. */
			CHECK(chk.ok);
			CHECK(chk.entries == last - 1);
			CHECK(memcmp(chk.head, head, HASH_BYTES) != 0);
			CHECK(st == ST_OK);
			store_close(s2);
			s2 = NULL;
			continue;
		}
		if (chk.ok || chk.bad_seq != bad)
			fprintf(stderr, "tamper \"%s\": ok=%d bad_seq=%lld, want %lld\n", tc->what,
				chk.ok, (long long)chk.bad_seq, (long long)bad);
		CHECK(!chk.ok);
		CHECK(chk.bad_seq == bad);
		CHECK(chk.entries == bad - 1);
		/* store_open (a tool's) refuses, naming the seq. */
		CHECK(st != ST_OK);
		CHECK(s2 == NULL);
		if (!t_names_seq(err, bad))
			fprintf(stderr, "tamper \"%s\": \"%s\" does not name seq %lld\n", tc->what,
				err, (long long)bad);
		CHECK(t_names_seq(err, bad));
		if (s2) {
			store_close(s2);
			s2 = NULL;
		}
	}

	/* Not a database at all. */
	{
		unsigned char junk[8192];
		FILE *f;

		t_path(copy, sizeof(copy), "junk.db");
		crypto_random(junk, sizeof(junk));
		f = fopen(copy, "wb");
		CHECK(f && fwrite(junk, 1, sizeof(junk), f) == sizeof(junk));
		if (f)
			fclose(f);
		err[0] = '\0';
		CHECK(store_open(copy, STORE_DAEMON, kr, &s2, err, sizeof(err)) != ST_OK);
		CHECK(s2 == NULL);
		CHECK(err[0] != '\0');
	}
	/* The right file with another keyring: the chain does not verify at seq 1. */
	{
		char other[512];
		struct keyring *kr2 = NULL;

		t_path(other, sizeof(other), "other.key");
		CHECK(keyring_generate(other, err, sizeof(err)) == ST_OK);
		CHECK(keyring_load(other, &kr2, err, sizeof(err)) == ST_OK);
		if (kr2) {
			t_path(copy, sizeof(copy), "otherkey.db");
			CHECK(t_copy(db_path, copy));
			CHECK(store_open(copy, STORE_TOOL, kr2, &s2, err, sizeof(err)) != ST_OK);
			CHECK(t_names_seq(err, 1));
			store_close(s2);
			s2 = NULL;
		}
		keyring_free(kr2);
	}
}

/* Nothing personal in the file: the sealed marker never appears in clear. */
/*
 * Marks (signed checkpoints' seq and head) against the chain, and the
 * order look-up aid outside the MAC: an insider who shortens the chain or
 * points an entry's order_id elsewhere is caught.
 */
static void test_marks(const unsigned char head[HASH_BYTES])
{
	int64_t last = n_audit, seq = 0;
	struct audit_mark m[3];
	struct audit_check chk;
	struct store *s2 = NULL;
	unsigned char h[HASH_BYTES];
	char err[512], msg[256], copy[512];

	m[0].seq = 1;
	CHECK(store_open(db_path, STORE_TOOL, kr, &s2, err, sizeof(err)) == ST_OK);
	if (!s2)
		return;
	CHECK(store_audit_head(s2, &seq, h) == ST_OK);
	CHECK(seq == last && memcmp(h, head, HASH_BYTES) == 0);
	CHECK(store_audit_at(s2, 1, m[0].head) == ST_OK);
	CHECK(store_audit_at(s2, last, h) == ST_OK && memcmp(h, head, HASH_BYTES) == 0);
	CHECK(store_audit_at(s2, last + 1, h) == ST_NOTFOUND);
	CHECK(store_audit_at(s2, 0, h) == ST_NOTFOUND);
	store_close(s2);

	m[1].seq = last;
	memcpy(m[1].head, head, HASH_BYTES);
	CHECK(store_audit_verify_marks(db_path, kr, m, 2, &chk, err, sizeof(err)) == ST_OK);
	CHECK(chk.ok && !chk.mark_bad);
	/* A mark past the end: the database lacks it. */
	m[2].seq = last + 1;
	memcpy(m[2].head, head, HASH_BYTES);
	CHECK(store_audit_verify_marks(db_path, kr, m, 3, &chk, err, sizeof(err)) == ST_OK);
	CHECK(chk.ok && chk.mark_bad && chk.mark_missing && chk.mark_index == 2);
	/* A mark with another head: the database contradicts it. */
	m[2].seq = last;
	m[2].head[0] ^= 1;
	CHECK(store_audit_verify_marks(db_path, kr, m, 3, &chk, err, sizeof(err)) == ST_OK);
	CHECK(chk.mark_bad && !chk.mark_missing && chk.mark_index == 2);

	/* The newest entry deleted: the chain alone still verifies; the mark does not. */
	t_path(copy, sizeof(copy), "marks-cut.db");
	CHECK(t_copy(db_path, copy));
	{
		char sql[128];
		snprintf(sql, sizeof(sql), "DELETE FROM audit WHERE seq = %lld", (long long)last);
		CHECK(t_sql(copy, "DROP TRIGGER audit_no_delete", msg, sizeof(msg)) == SQLITE_OK);
		CHECK(t_sql(copy, sql, msg, sizeof(msg)) == SQLITE_OK);
	}
	CHECK(store_audit_verify_marks(copy, kr, m, 2, &chk, err, sizeof(err)) == ST_OK);
	CHECK(chk.ok && chk.entries == last - 1);
	CHECK(chk.mark_bad && chk.mark_missing && chk.mark_index == 1);

	/* order_id pointed away from the order its tracking number names. */
	t_path(copy, sizeof(copy), "marks-orderid.db");
	CHECK(t_copy(db_path, copy));
	CHECK(t_sql(copy,
		    "DROP TRIGGER audit_no_update; UPDATE audit SET order_id = -1 WHERE seq = "
		    "(SELECT max(seq) FROM audit WHERE order_id IS NOT NULL)",
		    msg, sizeof(msg)) == SQLITE_OK);
	CHECK(store_audit_verify_path(copy, kr, &chk, err, sizeof(err)) == ST_OK);
	CHECK(!chk.ok && chk.bad_seq > 0 && chk.bad_seq <= last);
	CHECK(chk.why && strstr(chk.why, "order_id"));
	CHECK(store_open(copy, STORE_TOOL, kr, &s2, err, sizeof(err)) != ST_OK);
	CHECK(strstr(err, "order_id") != NULL);
	store_close(s2);
	s2 = NULL;
	/* And the order's own row id moved instead (no trigger guards orders). */
	t_path(copy, sizeof(copy), "marks-orderrow.db");
	CHECK(t_copy(db_path, copy));
	CHECK(t_sql(copy,
		    "UPDATE orders SET id = id + 1000000 WHERE id = (SELECT order_id FROM audit "
		    "WHERE order_id IS NOT NULL ORDER BY seq LIMIT 1)",
		    msg, sizeof(msg)) == SQLITE_OK);
	CHECK(store_audit_verify_path(copy, kr, &chk, err, sizeof(err)) == ST_OK);
	CHECK(!chk.ok && chk.why && strstr(chk.why, "order_id"));
}

static void test_at_rest(void)
{
	size_t len = 0;
	char *buf = t_slurp(db_path, &len);
	int clear = 0;

	CHECK(buf != NULL && len > 0);
	if (!buf)
		return;
	for (int i = 0; i < NORDERS; i++)
		clear += memmem(buf, len, model[i].plain, strlen(model[i].plain)) != NULL;
	CHECK(clear == 0);
	CHECK(memmem(buf, len, "SECRET-NAME", 11) == NULL);
	/* The search is not vacuous: clear columns are there. */
	CHECK(memmem(buf, len, model[0].tn, strlen(model[0].tn)) != NULL);
	CHECK(memmem(buf, len, "宝安区", strlen("宝安区")) != NULL);
	free(buf);
}

static void test_reopen(const unsigned char head[HASH_BYTES])
{
	char err[512] = "";
	struct audit_check chk;
	sqlite3 *db = NULL;
	int64_t before = -1, after = -2;

	CHECK(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	before = t_int(db, "SELECT count(*) FROM schema_migrations");
	sqlite3_close(db);

	CHECK(store_open(db_path, STORE_DAEMON, kr, &S, err, sizeof(err)) == ST_OK);
	if (!S)
		return;
	CHECK(store_audit_verify(S, &chk) == ST_OK);
	CHECK(chk.ok && chk.entries == n_audit);
	CHECK(memcmp(chk.head, head, HASH_BYTES) == 0);
	/* The chain continues from the stored head. */
	CHECK(t_job(NULL, NULL, "reopened", NULL, NULL, "ok") == ST_OK);
	t_chain_ok("reopened");
	{
		struct order_row r;
		CHECK(store_order_get(S, model[7].tn, &r) == ST_OK);
		t_row_cmp(&r, &model[7]);
		order_row_release(&r);
	}
	store_close(S);
	S = NULL;

	CHECK(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	after = t_int(db, "SELECT count(*) FROM schema_migrations");
	CHECK(t_int(db, "SELECT count(*) FROM audit") == n_audit);
	sqlite3_close(db);
	CHECK(before == after);
	CHECK(after == (int64_t)schema_migrations_count);
}

/*
 * Every statement reaches orders, audit and vnum_bindings through an index.
 * Then the check itself: without the index of held bindings, finding a free
 * extension would walk every binding, and the check must say so.
 */
static void test_plans(void)
{
	char bad[2400] = "", err[512] = "";

	CHECK(store_open(db_path, STORE_DAEMON, kr, &S, err, sizeof(err)) == ST_OK);
	if (!S)
		return;
	CHECKF(store_plans_check(S, bad, sizeof(bad)) == ST_OK, "%s", bad);
	store_close(S);
	S = NULL;

	CHECK(t_sql(db_path, "DROP INDEX vnum_bindings_held", NULL, 0) == SQLITE_OK);
	CHECK(store_open(db_path, STORE_DAEMON, kr, &S, err, sizeof(err)) == ST_OK);
	if (!S)
		return;
	bad[0] = '\0';
	CHECK(store_plans_check(S, bad, sizeof(bad)) == ST_INTERNAL);
	CHECKF(strstr(bad, "SCAN vnum_bindings") != NULL, "%s", bad);
	store_close(S);
	S = NULL;
	CHECK(t_sql(db_path,
		    "CREATE INDEX vnum_bindings_held ON vnum_bindings (vnum, ext, "
		    "recipient_index) WHERE released = 0",
		    NULL, 0) == SQLITE_OK);
}

/* ---- waybillctl beside waybilld ----------------------------------------- */

/*
 * Checkpoints and write transactions of the daemon and of waybillctl (see
 * store_writer.c, "Checkpoints").  The test plays a third process, holding byte 0
 * of "<db>-lock" through a descriptor of its own, as a tool's transaction
 * or a daemon's checkpoint does.
 */
struct t_bg {
	struct store *s;
	enum st st;
	atomic_bool done;
};

static void *t_bg_write(void *arg)
{
	struct t_bg *b = arg;
	struct wjob j;

	memset(&j, 0, sizeof(j));
	audit_entry_init(&j.audit, "tester", "admin", "beside", NULL, "req-test");
	b->st = store_run(b->s, &j);
	atomic_store(&b->done, true);
	return NULL;
}

static void *t_bg_checkpoint(void *arg)
{
	struct t_bg *b = arg;

	b->st = store_checkpoint(b->s);
	atomic_store(&b->done, true);
	return NULL;
}

static bool t_section(int fd, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};

	return fcntl(fd, type == F_UNLCK ? F_OFD_SETLK : F_OFD_SETLKW, &fl) == 0;
}

/* Run fn on another thread while the test holds the section: does it wait? */
static bool t_waits(int fd, struct store *s, void *(*fn)(void *))
{
	struct t_bg b = {s, ST_INTERNAL, false};
	pthread_t th;
	bool waited;

	CHECK(t_section(fd, F_WRLCK));
	CHECK(pthread_create(&th, NULL, fn, &b) == 0);
	for (int i = 0; i < 30 && !atomic_load(&b.done); i++)
		usleep(10000);
	waited = !atomic_load(&b.done);
	CHECK(t_section(fd, F_UNLCK));
	pthread_join(th, NULL);
	CHECK(atomic_load(&b.done) && b.st == ST_OK);
	return waited;
}

static void test_beside(void)
{
	char path[600], err[512] = "";
	struct store *T = NULL, *S2 = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s-lock", db_path);
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	{
		struct stat st;
		CHECK(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600);
	}
	/* One daemon per database. */
	CHECK(store_open(db_path, STORE_DAEMON, kr, &S2, err, sizeof(err)) == ST_UNAVAILABLE);
	CHECKF(strstr(err, "another waybilld") != NULL, "%s", err);
	CHECK(S2 == NULL);

	/* The daemon's writer never waits; its checkpoints do. */
	CHECKF(!t_waits(fd, S, t_bg_write), "the daemon's write waited");
	CHECKF(t_waits(fd, S, t_bg_checkpoint), "the daemon's checkpoint ran in the section");
	t_expect_audit(&(struct t_want){"tester", "beside", NULL, "ok"}, 1, "daemon write");

	/* A tool beside it: its transactions wait. */
	CHECK(store_open(db_path, STORE_TOOL, kr, &T, err, sizeof(err)) == ST_OK);
	if (!T) {
		close(fd);
		return;
	}
	CHECKF(t_waits(fd, T, t_bg_write), "the tool's write ran in the section");
	t_expect_audit(&(struct t_want){"tester", "beside", NULL, "ok"}, 1, "tool write");

	/*
	 * The gate: shut after each checkpoint, open once a transaction that
	 * began after it has written.  A tool's checkpoint shuts it too, at
	 * the daemon's next look, which then does not copy.
	 */
	struct conn *c = NULL;
	int log, copied;
	CHECK(conn_open(db_path, false, &c, err, sizeof(err)) == ST_OK);
	CHECK(store_checkpoint(S) == ST_OK);
	pthread_mutex_lock(&SQ(S)->lock);
	CHECK(SQ(S)->ckpt_gate);
	pthread_mutex_unlock(&SQ(S)->lock);
	CHECK(t_run(NULL, NULL, "tester", "gate", NULL, NULL) == ST_OK);
	t_expect_audit(&(struct t_want){"tester", "gate", NULL, "ok"}, 1, "gate");
	pthread_mutex_lock(&SQ(S)->lock);
	CHECK(!SQ(S)->ckpt_gate);
	while (SQ(S)->ckpt_running)
		pthread_cond_wait(&SQ(S)->ckpt_idle, &SQ(S)->lock);
	SQ(S)->ckpt_running = true; /* the thread's slot, for this test */
	pthread_mutex_unlock(&SQ(S)->lock);
	uint64_t before = guard_count(SQ(S), false);
	CHECK(store_checkpoint(T) == ST_OK);
	CHECK(guard_count(SQ(S), false) == before + 1);
	CHECK(ckpt_run(SQ(S), c, SQLITE_CHECKPOINT_PASSIVE, false, &log, &copied) == SQLITE_BUSY);
	pthread_mutex_lock(&SQ(S)->lock);
	CHECK(SQ(S)->ckpt_gate);
	pthread_mutex_unlock(&SQ(S)->lock);
	CHECK(ckpt_run(SQ(S), c, SQLITE_CHECKPOINT_PASSIVE, false, &log, &copied) == SQLITE_OK);
	pthread_mutex_lock(&SQ(S)->lock);
	SQ(S)->ckpt_running = false;
	pthread_cond_broadcast(&SQ(S)->ckpt_idle);
	pthread_mutex_unlock(&SQ(S)->lock);
	conn_close(c);
	store_close(T);
	close(fd);
	t_chain_ok("beside");
}

/* One count from a closed database. */
static int64_t t_count(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/*
 * Orders from before migration 0009: sealed bound to "TN" only, their
 * idempotency key in the clear.  store_open() reseals those it can open and
 * hashes every key; one it cannot open (a damaged blob here; a missing key
 * version in life) keeps its old binding and is tried again at each start.
 */
static void test_reseal(void)
{
	static const char *const keys[] = {"old-0", "old-1", "old-2", "old-3"};
	char path[600], err[512], sql[512];
	struct store *s = NULL;
	char tns[4][TN_MAX];

	t_path(path, sizeof(path), "reseal.db");
	CHECK(store_open(path, STORE_TOOL, kr, &s, err, sizeof(err)) == ST_OK);
	if (!s)
		return;
	for (int i = 0; i < 4; i++) {
		struct t_model m;
		struct t_insert ti;
		struct order_row r;
		struct sealed sd;
		struct wjob j = {0};

		memset(&m, 0, sizeof(m));
		tn_generate("WB", m.tn);
		str_copy(tns[i], TN_MAX, m.tn);
		snprintf(m.creator, sizeof(m.creator), "c1");
		snprintf(m.depot, sizeof(m.depot), "d1");
		snprintf(m.plain, sizeof(m.plain), "{\"n\":\"SECRET-%d\"}", i);
		/* Sealed the old way: bound to the tracking number alone. */
		CHECK(crypto_seal(kr, m.tn, m.plain, strlen(m.plain), &sd) == ST_OK);
		t_row(&r, &m, &sd);
		r.seal_bind = ORDER_SEAL_LEGACY;
		memset(&ti, 0, sizeof(ti));
		ti.r = &r;
		ti.idem = keys[i];
		crypto_body_digest(kr, m.plain, strlen(m.plain), ti.digest);
		j.fn = job_order_insert;
		j.arg = &ti;
		j.no_audit = true;
		CHECK(store_run(s, &j) == ST_OK);
		sealed_release(&sd);
	}
	store_close(s);
	s = NULL;
	/* As the old code left them: clear keys; order 2 erased, order 3 damaged. */
	for (int i = 0; i < 4; i++) {
		snprintf(
		    sql, sizeof(sql),
		    "UPDATE orders SET idem_key = '%s', seal_bind = 0 WHERE tracking_no = '%s'",
		    keys[i], tns[i]);
		CHECK(t_sql(path, sql, NULL, 0) == SQLITE_OK);
	}
	snprintf(sql, sizeof(sql),
		 "UPDATE orders SET sealed = NULL, wrapped_dek = NULL, body_digest = NULL, "
		 "erased_at = 1 WHERE tracking_no = '%s'",
		 tns[2]);
	CHECK(t_sql(path, sql, NULL, 0) == SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "UPDATE orders SET sealed = zeroblob(length(sealed)) WHERE tracking_no = '%s'",
		 tns[3]);
	CHECK(t_sql(path, sql, NULL, 0) == SQLITE_OK);

	CHECK(store_open(path, STORE_TOOL, kr, &s, err, sizeof(err)) == ST_OK);
	if (!s)
		return;
	CHECK(t_count(path, "SELECT count(*) FROM orders WHERE idem_key LIKE 'old-%'") == 0);
	CHECK(t_count(path, "SELECT count(*) FROM orders WHERE seal_bind = 1") == 3);
	for (int i = 0; i < 4; i++) {
		struct order_row got;
		struct t_idem ti = {"c1", keys[i], "", {0}};
		struct wjob j = {0};
		char bind[ORDER_BIND_MAX], *plain = NULL;
		size_t len = 0;
		enum st st;

		/* Idempotency still finds each order by its old clear key. */
		j.fn = job_order_idem;
		j.arg = &ti;
		j.no_audit = true;
		st = store_run(s, &j);
		CHECKF(st == (i == 2 ? ST_GONE : ST_OK), "order %d: %s", i, st_name(st));
		if (i != 2)
			CHECK_STR(ti.tn, tns[i]);
		CHECK(store_order_get(s, tns[i], &got) == ST_OK);
		order_row_bind(&got, bind);
		if (i < 2) {
			/* Resealed: opens under "TN|depot|creator", no longer under "TN". */
			CHECK(got.seal_bind == ORDER_SEAL_BOUND);
			CHECK(strcmp(bind, tns[i]) != 0 && strstr(bind, "|d1|c1"));
			CHECK(crypto_open(kr, bind, got.kek_version, got.seal_version,
					  got.wrapped_dek, got.sealed, got.sealed_len, &plain,
					  &len) == ST_OK);
			if (plain) {
				CHECK(strstr(plain, "SECRET-") != NULL);
				free_wiped(plain, len + 1);
				plain = NULL;
			}
			CHECK(crypto_open(kr, got.tracking_no, got.kek_version, got.seal_version,
					  got.wrapped_dek, got.sealed, got.sealed_len, &plain,
					  &len) == ST_CRYPTO);
		} else if (i == 2) {
			CHECK(got.seal_bind == ORDER_SEAL_BOUND && !got.sealed);
		} else {
			CHECK(got.seal_bind == ORDER_SEAL_LEGACY);
		}
		order_row_release(&got);
	}
	store_close(s);
	s = NULL;
	/* A second start: the damaged one is tried again, and the audit counts it. */
	CHECK(store_open(path, STORE_TOOL, kr, &s, err, sizeof(err)) == ST_OK);
	store_close(s);
	CHECK(t_count(path, "SELECT count(*) FROM orders WHERE seal_bind = 0") == 1);
	CHECK(t_count(path, "SELECT count(*) FROM audit WHERE action = 'store.reseal' AND reason "
			    "LIKE 'resealed 2 orders%1 could not be opened'") == 1);
	CHECK(t_count(path, "SELECT count(*) FROM audit WHERE action = 'store.reseal' AND reason "
			    "LIKE 'resealed 0 orders%1 could not be opened'") == 1);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char err[512] = "";
	unsigned char head[HASH_BYTES];

	log_threshold = LOG_WARN;
	snprintf(dir, sizeof(dir), "%s/waybill-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || crypto_init() != ST_OK) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	t_path(db_path, sizeof(db_path), "waybill.db");
	t_path(key_path, sizeof(key_path), "waybill.key");
	if (keyring_generate(key_path, err, sizeof(err)) != ST_OK ||
	    keyring_load(key_path, &kr, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "keyring: %s\n", err);
		return 1;
	}

	test_names();
	test_open();
	if (S) {
		struct audit_check chk;

		test_accounts();
		test_jobs();
		test_batch_failures();
		test_beside();
		test_orders();
		test_list();
		test_group_commit();
		test_wal_bounded();
		CHECK(store_audit_verify(S, &chk) == ST_OK);
		memcpy(head, chk.head, HASH_BYTES);
		store_close(S);
		S = NULL;
		test_at_rest();
		test_tamper(head);
		test_marks(head);
		test_reopen(head);
		test_plans();
		test_reseal();
	}
	keyring_free(kr);
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done();
}
