/*
 * test_store_pg.c - the PostgreSQL backend against a real server: a
 * throw-away cluster (tests/pg.sh) with two stores on one database, as two
 * daemons would have.  What each promise of store.h looks like there: a
 * unique key taken is ST_CONFLICT and the batch goes on, a failed job
 * leaves only its audit entry, the reveal quota and the idempotency key
 * hold across both stores, one slot is never bound twice, one chain
 * verifies from either, and a lost connection answers ST_UNAVAILABLE at
 * once and comes back.  Without a PostgreSQL server it says so and passes
 * nothing else.
 */
#include "t.h"
#include "../../server/store_pg.h"
#include "../../server/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static struct keyring *kr;
static struct store *A, *B;
static char dir[64], url[512];

static enum st t_job(struct store *s, wjob_fn fn, void *arg, const char *action)
{
	struct wjob j;

	memset(&j, 0, sizeof(j));
	j.fn = fn;
	j.arg = arg;
	audit_entry_init(&j.audit, "tester", "admin", action, NULL, "req-pg");
	return store_run(s, &j);
}

static enum st job_account(struct store *s, struct wjob *j)
{
	struct account a;
	unsigned char h[HASH_BYTES];

	memset(&a, 0, sizeof(a));
	str_copy(a.name, sizeof(a.name), j->arg);
	a.role = ROLE_COURIER;
	str_copy(a.depot, sizeof(a.depot), "d1");
	crypto_random(h, sizeof(h));
	return store_w_account_insert(s, &a, h);
}

/* Writes, then fails: nothing but its audit entry may stay. */
static enum st job_write_then_fail(struct store *s, struct wjob *j)
{
	enum st st = job_account(s, j);
	return st == ST_OK ? ST_INVALID : ST_INTERNAL;
}

static void t_order(struct order_row *r, const char *tn)
{
	memset(r, 0, sizeof(*r));
	str_copy(r->tracking_no, sizeof(r->tracking_no), tn);
	str_copy(r->status, sizeof(r->status), "created");
	r->created_at = r->updated_at = (int64_t)time(NULL);
	str_copy(r->depot, sizeof(r->depot), "d1");
	str_copy(r->creator, sizeof(r->creator), "c1");
	str_copy(r->origin_province, sizeof(r->origin_province), "p");
	str_copy(r->origin_city, sizeof(r->origin_city), "c");
	str_copy(r->origin_district, sizeof(r->origin_district), "d");
	str_copy(r->dest_province, sizeof(r->dest_province), "p");
	str_copy(r->dest_city, sizeof(r->dest_city), "c");
	str_copy(r->dest_district, sizeof(r->dest_district), "d");
	r->weight_g = 100;
	r->count = 1;
	r->kek_version = r->seal_version = 1;
	r->seal_bind = ORDER_SEAL_BOUND;
	r->sealed = (unsigned char *)"sealed-bytes";
	r->sealed_len = 12;
}

struct t_ins {
	const char *tn, *idem;
	int64_t id;
	enum st by_idem;
	char seen[TN_MAX];
};

static enum st job_order(struct store *s, struct wjob *j)
{
	struct t_ins *x = j->arg;
	struct order_row r;
	unsigned char digest[HASH_BYTES] = {1};

	x->by_idem = store_w_order_by_idem(s, "c1", x->idem, x->seen, digest);
	if (x->by_idem == ST_OK)
		return ST_OK;
	t_order(&r, x->tn);
	return store_w_order_insert(s, &r, x->idem, digest, &x->id);
}

struct t_rev {
	long limit;
};

static enum st job_reveal(struct store *s, struct wjob *j)
{
	struct t_rev *x = j->arg;
	return store_w_reveal_take(s, "adm1", "2026-12-02", x->limit);
}

struct t_bind {
	int64_t order_id;
};

static enum st job_bind(struct store *s, struct wjob *j)
{
	struct t_bind *x = j->arg;
	unsigned char rcpt[HASH_BYTES] = {7};
	return store_w_binding_insert(s, "17000000000", "0042", x->order_id, rcpt, time(NULL));
}

struct t_async {
	struct store *s;
	struct t_ins *ins;
	enum st st;
	atomic_int done;
};

static void *async_order(void *arg)
{
	struct t_async *a = arg;

	a->st = t_job(a->s, job_order, a->ins, "order.create");
	atomic_store(&a->done, 1);
	return NULL;
}

static int sh(const char *cmd)
{
	int rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

int main(void)
{
	char err[512] = "", cmd[2048], key[128];
	struct account a;
	struct order_row o;
	struct audit_check ca, cb;
	struct t_ins ins = {"WB000000000000000001", "key-1", 0, ST_OK, ""};
	struct t_ins again = {"WB000000000000000002", "key-1", 0, ST_OK, ""};
	struct t_ins dup_tn = {"WB000000000000000001", "key-2", 0, ST_OK, ""};
	struct t_rev rv = {2};
	struct t_bind bd;
	int64_t seq_a, seq_b;
	unsigned char ha[HASH_BYTES], hb[HASH_BYTES];
	enum st st;

	log_threshold = LOG_ERROR;
	snprintf(dir, sizeof(dir), "/tmp/waybill-pgunit-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s && chmod 755 %s && sh tests/pg.sh start %s/c >/dev/null", dir, dir,
		 dir);
	if (access("/usr/lib/postgresql", F_OK) != 0 || sh(cmd) != 0) {
		printf("skip: no PostgreSQL server to start (apt-get install postgresql)\n");
		t_pass++;
		printf("%d passed, %d failed\n", t_pass, t_fail);
		return 0;
	}
	snprintf(url, sizeof(url), "postgresql:///waybill?host=%s/c&user=waybill", dir);
	snprintf(key, sizeof(key), "%s/key", dir);
	CHECK(crypto_init() == ST_OK);
	CHECK(keyring_generate(key, err, sizeof(err)) == ST_OK);
	CHECK(keyring_load(key, &kr, err, sizeof(err)) == ST_OK);
	CHECK(store_is_pg(url));
	CHECK(!store_is_pg("/var/lib/waybill/waybill.db"));

	/* Two daemons on one database: both open (SQLite refuses the second). */
	CHECKF(store_open(url, STORE_DAEMON, kr, &A, err, sizeof(err)) == ST_OK, "%s", err);
	CHECKF(store_open(url, STORE_DAEMON, kr, &B, err, sizeof(err)) == ST_OK, "%s", err);
	if (!A || !B)
		goto out;

	/* A name taken is ST_CONFLICT through the other store, and the writer goes on. */
	CHECK(t_job(A, job_account, "c1", "account.add") == ST_OK);
	CHECK(t_job(B, job_account, "c1", "account.add") == ST_CONFLICT);
	CHECK(t_job(B, job_account, "c2", "account.add") == ST_OK);
	CHECK(store_account_get(A, "c2", &a) == ST_OK && strcmp(a.depot, "d1") == 0);

	/* A job that wrote and failed leaves no row, only its entry. */
	CHECK(t_job(A, job_write_then_fail, "c9", "account.add") == ST_INVALID);
	CHECK(store_account_get(B, "c9", &a) == ST_NOTFOUND);

	/* Idempotency across stores; a tracking number taken is a conflict. */
	CHECK(t_job(A, job_order, &ins, "order.create") == ST_OK && ins.by_idem == ST_NOTFOUND);
	CHECK(t_job(B, job_order, &again, "order.create") == ST_OK && again.by_idem == ST_OK);
	CHECK_STR(again.seen, ins.tn);
	CHECK(t_job(B, job_order, &dup_tn, "order.create") == ST_CONFLICT);
	CHECK(store_order_get(B, ins.tn, &o) == ST_OK);
	CHECK(o.sealed_len == 12 && o.sealed && memcmp(o.sealed, "sealed-bytes", 12) == 0);
	CHECK(o.id == ins.id && o.weight_g == 100 && o.seal_bind == ORDER_SEAL_BOUND);
	order_row_release(&o);
	CHECK(store_order_get(A, "WB000000000000000009", &o) == ST_NOTFOUND);

	/* The day's reveals are the database's: two in all, whichever store. */
	CHECK(t_job(A, job_reveal, &rv, "admin.reveal") == ST_OK);
	CHECK(t_job(B, job_reveal, &rv, "admin.reveal") == ST_OK);
	CHECK(t_job(A, job_reveal, &rv, "admin.reveal") == ST_LIMIT);
	CHECK(t_job(B, job_reveal, &rv, "admin.reveal") == ST_LIMIT);

	/* One open binding per slot, whichever store binds. */
	bd.order_id = ins.id;
	CHECK(t_job(A, job_bind, &bd, "bind") == ST_OK);
	CHECK(t_job(B, job_bind, &bd, "bind") == ST_CONFLICT);

	/* One chain, written by both, verified from either. */
	CHECK(store_audit_verify(A, &ca) == ST_OK && ca.ok);
	CHECK(store_audit_verify(B, &cb) == ST_OK && cb.ok);
	CHECK(ca.entries == cb.entries && ca.entries >= 13);
	CHECK(store_audit_head(A, &seq_a, ha) == ST_OK && store_audit_head(B, &seq_b, hb) == ST_OK);
	CHECK(seq_a == seq_b && memcmp(ha, hb, HASH_BYTES) == 0 && seq_a == ca.entries);
	CHECK(store_trouble(A) == NULL);

	/* The server drops every connection: 503 at once, then back by itself. */
	snprintf(cmd, sizeof(cmd),
		 "psql -qAtX '%s' -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
		 "WHERE application_name = 'waybilld'\" >/dev/null",
		 url);
	CHECK(sh(cmd) == 0);
	/*
	 * Whether a store sees the end before its next statement (it reads the
	 * server's goodbye and reconnects) or on it (that one fails) depends on
	 * when the server's message arrives: either is right, nothing else is.
	 */
	st = store_account_get(A, "c1", &a);
	CHECKF(st == ST_OK || st == ST_UNAVAILABLE, "read after the drop: %s", st_name(st));
	st = t_job(A, job_account, "c3", "account.add");
	CHECKF(st == ST_OK || st == ST_UNAVAILABLE, "write after the drop: %s", st_name(st));
	if (st == ST_UNAVAILABLE)
		CHECK(store_trouble(A) != NULL && strcmp(store_trouble(A), "store") == 0);
	nanosleep(&(struct timespec){1, 100000000}, NULL);
	CHECK(store_account_get(A, "c1", &a) == ST_OK);
	if (st != ST_OK)
		CHECK(t_job(A, job_account, "c3", "account.add") == ST_OK);
	CHECK(store_trouble(A) == NULL);
	st = store_account_get(B, "c3", &a);
	if (st != ST_OK) {
		CHECK(st == ST_UNAVAILABLE);
		st = store_account_get(B, "c3", &a);
	}
	CHECK(st == ST_OK);
	CHECK(store_audit_verify(B, &cb) == ST_OK && cb.ok);

	/*
	 * A commit whose wait for the synchronous standby is cancelled (an
	 * operator's pg_cancel_backend on a COMMIT stuck while the standby is down)
	 * comes back as success with a WARNING: it is on this server only, and a
	 * failover would lose it.  It must not be answered OK; the client's retry
	 * with the same key finds the one order.  The standby named here never
	 * connects, so the commit waits until it is cancelled.
	 */
	{
		static const char *const tns[] = {"WB000000000000000003", "WB000000000000000005",
						  "WB000000000000000006", "WB000000000000000007"};
		static const char *const keys[] = {"key-sync-0", "key-sync-1", "key-sync-2",
						   "key-sync-3"};
		struct t_ins sync_ins = {NULL, NULL, 0, ST_OK, ""};
		struct t_ins sync_again = {"WB000000000000000004", NULL, 0, ST_OK, ""};
		struct t_async as = {NULL, &sync_ins, ST_OK, 0};
		struct store *C = NULL;
		char curl[600];
		pthread_t th;
		bool waited = false;

		snprintf(curl, sizeof(curl), "%s&options=-csynchronous_commit%%3Don", url);
		CHECKF(store_open(curl, STORE_DAEMON, kr, &C, err, sizeof(err)) == ST_OK, "%s",
		       err);
		snprintf(cmd, sizeof(cmd),
			 "psql -qAtX '%s' -c \"ALTER SYSTEM SET synchronous_standby_names = "
			 "'ghost'\" -c 'SELECT pg_reload_conf()' >/dev/null",
			 url);
		CHECK(sh(cmd) == 0);
		as.s = C;
		/*
		 * The setting reaches the server's processes a moment after the
		 * reload: a job that committed without waiting came too early, and
		 * another key is tried (a few times at most).
		 */
		for (size_t k = 0; C && k < ARRAY_SIZE(tns) && !waited; k++) {
			sync_ins.tn = tns[k];
			sync_ins.idem = keys[k];
			atomic_store(&as.done, 0);
			if (pthread_create(&th, NULL, async_order, &as) != 0)
				break;
			snprintf(cmd, sizeof(cmd),
				 "psql -qAtX '%s' -c \"SELECT count(*) FROM pg_stat_activity WHERE "
				 "wait_event = 'SyncRep'\" | grep -qx 1",
				 url);
			for (int i = 0; i < 100 && !waited && !atomic_load(&as.done); i++) {
				waited = sh(cmd) == 0;
				if (!waited)
					nanosleep(&(struct timespec){0, 100000000}, NULL);
			}
			if (waited) {
				snprintf(
				    cmd, sizeof(cmd),
				    "psql -qAtX '%s' -c \"SELECT pg_cancel_backend(pid) FROM "
				    "pg_stat_activity WHERE wait_event = 'SyncRep'\" >/dev/null",
				    url);
				CHECK(sh(cmd) == 0);
			}
			pthread_join(th, NULL);
		}
		CHECK(waited);
		if (waited) {
			CHECKF(as.st == ST_UNAVAILABLE, "a commit the standby never confirmed: %s",
			       st_name(as.st));
			CHECK(store_trouble(C) != NULL && strcmp(store_trouble(C), "store") == 0);
		}
		snprintf(cmd, sizeof(cmd),
			 "psql -qAtX '%s' -c 'ALTER SYSTEM RESET synchronous_standby_names' "
			 "-c 'SELECT pg_reload_conf()' >/dev/null && sleep 1",
			 url);
		CHECK(sh(cmd) == 0);
		sync_again.idem = sync_ins.idem;
		if (C && waited) {
			/* The retry: its key names the order the cancelled commit left. */
			CHECK(t_job(C, job_order, &sync_again, "order.create") == ST_OK);
			CHECK(sync_again.by_idem == ST_OK);
			CHECK_STR(sync_again.seen, sync_ins.tn);
			CHECK(store_trouble(C) == NULL);
		}
		store_close(C);
	}

	/*
	 * db_timeout_s: the writer cancels a commit the standby does not confirm
	 * within the bound by itself (before, it waited for good), answers its job
	 * ST_UNAVAILABLE and says "store"; the next second's jobs fail at once,
	 * without a wait of their own.  A wait for the chain's head row behind
	 * another session's lock ends at the bound too (statement_timeout).
	 */
	{
		struct t_ins stuck = {"WB000000000000000008", "key-bound", 0, ST_OK, ""};
		struct t_ins next = {"WB000000000000000009", "key-bound-2", 0, ST_OK, ""};
		struct t_ins retry = {"WB000000000000000010", "key-bound", 0, ST_OK, ""};
		struct t_ins locked = {"WB000000000000000011", "key-bound-3", 0, ST_OK, ""};
		struct store *D = NULL;
		char durl[600];
		uint64_t t0;
		double took, next_took;
		PGconn *holder;

		snprintf(durl, sizeof(durl), "%s&options=-csynchronous_commit%%3Don", url);
		CHECKF(store_open(durl, STORE_DAEMON, kr, &D, err, sizeof(err)) == ST_OK, "%s",
		       err);
		if (!D)
			goto out;
		store_set_write_timeout(D, 500);
		snprintf(cmd, sizeof(cmd),
			 "psql -qAtX '%s' -c \"ALTER SYSTEM SET synchronous_standby_names = "
			 "'ghost'\" -c 'SELECT pg_reload_conf()' >/dev/null && sleep 1",
			 url);
		CHECK(sh(cmd) == 0);
		t0 = clock_mono_ns();
		st = t_job(D, job_order, &stuck, "order.create");
		took = (double)(clock_mono_ns() - t0) / 1e9;
		CHECKF(st == ST_UNAVAILABLE, "a commit past the bound: %s after %.2f s",
		       st_name(st), took);
		CHECKF(took >= 0.4 && took < 5, "it waited about the bound: %.2f s", took);
		CHECK(store_trouble(D) != NULL && strcmp(store_trouble(D), "store") == 0);
		t0 = clock_mono_ns();
		st = t_job(D, job_order, &next, "order.create");
		next_took = (double)(clock_mono_ns() - t0) / 1e9;
		CHECKF(st == ST_UNAVAILABLE && next_took < 0.4,
		       "the next job fails at once: %s after %.2f s", st_name(st), next_took);
		snprintf(cmd, sizeof(cmd),
			 "psql -qAtX '%s' -c 'ALTER SYSTEM RESET synchronous_standby_names' "
			 "-c 'SELECT pg_reload_conf()' >/dev/null && sleep 1.5",
			 url);
		CHECK(sh(cmd) == 0);
		/*
		 * The retry finds the cancelled commit's order, or makes it when the
		 * job was refused before its commit was tried (an idle probe's commit
		 * may have been the one cancelled): one order for the key either way.
		 */
		CHECK(t_job(D, job_order, &retry, "order.create") == ST_OK);
		CHECK(store_trouble(D) == NULL);
		{
			struct t_ins again2 = {"WB000000000000000012", "key-bound", 0, ST_OK, ""};
			const char *made = retry.by_idem == ST_OK ? retry.seen : retry.tn;

			CHECK(t_job(D, job_order, &again2, "order.create") == ST_OK);
			CHECK(again2.by_idem == ST_OK);
			CHECK_STR(again2.seen, made);
		}

		holder = PQconnectdb(url);
		CHECK(PQstatus(holder) == CONNECTION_OK);
		PQclear(PQexec(holder, "BEGIN"));
		PQclear(PQexec(holder, "SELECT seq FROM audit_head FOR UPDATE"));
		t0 = clock_mono_ns();
		st = t_job(D, job_order, &locked, "order.create");
		took = (double)(clock_mono_ns() - t0) / 1e9;
		CHECKF(st == ST_UNAVAILABLE && took < 5,
		       "a wait for the head row ends at the bound: %s after %.2f s", st_name(st),
		       took);
		PQclear(PQexec(holder, "ROLLBACK"));
		PQfinish(holder);
		nanosleep(&(struct timespec){1, 200000000}, NULL);
		CHECK(t_job(D, job_order, &locked, "order.create") == ST_OK);
		CHECK(store_trouble(D) == NULL);
		store_close(D);
	}
out:
	store_close(A);
	store_close(B);
	snprintf(cmd, sizeof(cmd), "sh tests/pg.sh stop %s/c; rm -rf %s", dir, dir);
	sh(cmd);
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}
