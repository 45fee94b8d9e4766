/*
 * store_pg.c - the PostgreSQL backend's connections, migrations, writer
 * thread, advisory locks and store_open/store_close (see store_pg.h for the
 * model; the statements and rows are store_pg_rows.c's).
 *
 * Connections: one writer (the writer thread's) and one reader per thread
 * that reads, each with every statement prepared once when it connects
 * (PQprepare, pg_sql[]).  A lost connection fails what runs on it at once
 * (ST_UNAVAILABLE: 503, and /readyz says "store"), and is tried again at
 * most once a second; a write is answered only after its COMMIT returned
 * without a warning (run_batch).  An idle writer looks at its connection
 * once a second, so /readyz follows the database without requests
 * (writer_idle).  Several hosts in the URL with target_session_attrs=
 * read-write: libpq connects to the one that takes writes, so a reconnect
 * after a failover finds the promoted standby (docs/DESIGN.md, "Failover").
 * TLS is the URL's: sslmode=require (or verify-full, with sslrootcert) in
 * the URL makes libpq refuse a connection without it.
 */
#include "common.h"
#include "store_pg.h"
#include "log.h"
#include "crypto.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- parameters -------------------------------------------------------- */

void pq_text(struct pq *q, const char *s)
{
	if (q->n >= PG_PARAMS_MAX)
		return;
	q->v[q->n] = s;
	q->len[q->n] = 0;
	q->fmt[q->n] = 0;
	q->n++;
}

void pq_textn(struct pq *q, const char *s)
{
	pq_text(q, s && *s ? s : NULL);
}

void pq_i64(struct pq *q, int64_t v)
{
	if (q->n >= PG_PARAMS_MAX)
		return;
	snprintf(q->num[q->n], sizeof(q->num[q->n]), "%" PRId64, v);
	pq_text(q, q->num[q->n]);
}

void pq_i64n(struct pq *q, int64_t v)
{
	if (v)
		pq_i64(q, v);
	else
		pq_text(q, NULL);
}

void pq_blob(struct pq *q, const void *p, size_t n)
{
	if (q->n >= PG_PARAMS_MAX)
		return;
	q->v[q->n] = p;
	q->len[q->n] = (int)n;
	q->fmt[q->n] = p ? 1 : 0;
	q->n++;
}

void pq_null(struct pq *q)
{
	pq_text(q, NULL);
}

/* ---- results ---------------------------------------------------------- */

bool pg_isnull(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) != 0;
}

int64_t pg_i64(const PGresult *r, int row, int col)
{
	if (pg_isnull(r, row, col))
		return 0;
	return (int64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void pg_txt(const PGresult *r, int row, int col, char *dst, size_t cap)
{
	if (cap == 0)
		return;
	str_copy(dst, cap, pg_isnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A bytea in text form ("\x" and hex: bytea_output's default) into dst. */
static bool bytea_hex(const char *v, size_t n, unsigned char *dst)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return false;
		dst[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static bool bytea_len(const PGresult *r, int row, int col, size_t *n)
{
	const char *v;
	size_t len;

	if (pg_isnull(r, row, col))
		return false;
	v = PQgetvalue(r, row, col);
	len = (size_t)PQgetlength(r, row, col);
	if (len < 2 || v[0] != '\\' || v[1] != 'x' || (len - 2) % 2)
		return false;
	*n = (len - 2) / 2;
	return true;
}

bool pg_blob(const PGresult *r, int row, int col, void *dst, size_t size)
{
	size_t n;
	unsigned char tmp[512];

	if (!bytea_len(r, row, col, &n) || n != size || n > sizeof(tmp))
		return false;
	if (!bytea_hex(PQgetvalue(r, row, col), n, tmp))
		return false;
	memcpy(dst, tmp, n);
	return true;
}

bool pg_blob_dup(const PGresult *r, int row, int col, unsigned char **out, size_t *n)
{
	size_t len;

	*out = NULL;
	*n = 0;
	if (!bytea_len(r, row, col, &len) || len == 0)
		return true;
	*out = malloc(len);
	if (!*out)
		return false;
	if (!bytea_hex(PQgetvalue(r, row, col), len, *out)) {
		free(*out);
		*out = NULL;
		return true;
	}
	*n = len;
	return true;
}

/* ---- connections ----------------------------------------------------- */

static const char *pst_name(enum pst id, char buf[16])
{
	snprintf(buf, 16, "p%d", (int)id);
	return buf;
}

static bool conn_prepare(struct pconn *c, char *err, size_t errlen)
{
	char name[16];

	for (int i = 0; i < NPST; i++) {
		PGresult *r = PQprepare(c->pg, pst_name((enum pst)i, name), pg_sql[i], 0, NULL);
		bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;

		if (!ok)
			snprintf(err, errlen, "prepare %d: %s", i, PQerrorMessage(c->pg));
		PQclear(r);
		if (!ok)
			return false;
	}
	return true;
}

/* Take the owner lock (PG_OWNER_LOCK, key) for the session: false when another holds it. */
static bool owner_lock(struct pconn *c, int64_t key)
{
	char sql[96];
	PGresult *r;
	bool got;

	snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%d, %lld)", PG_OWNER_LOCK,
		 (long long)key);
	r = PQexec(c->pg, sql);
	got = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
	      strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return got;
}

/*
 * What the server says beside a result: nothing is logged (it may quote a
 * row), but a WARNING is noted.  PostgreSQL answers a COMMIT whose wait for
 * the synchronous standby was cancelled (pg_cancel_backend on a COMMIT stuck
 * while the standby is down; statement_timeout does not cut that wait)
 * with success and the warning "The transaction has already committed
 * locally, but might not have been replicated to the standby": run_batch
 * takes such a commit for one whose outcome is unknown.
 */
static void notice_seen(void *arg, const PGresult *r)
{
	struct pconn *c = arg;
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);

	if (sev && strcmp(sev, "WARNING") == 0)
		c->warned = true;
}

static bool conn_connect(struct pconn *c, const char *url, bool prepare, char *err, size_t errlen)
{
	/* The URL's own keys win over these (expand_dbname: later ones override). */
	const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
	const char *const vals[] = {"5", "waybilld", url, NULL};

	if (c->pg)
		PQfinish(c->pg);
	c->ready = false;
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		const char *m = c->pg ? PQerrorMessage(c->pg) : "out of memory";
		size_t n;
		snprintf(err, errlen, "PostgreSQL: %s", m);
		n = strlen(err);
		while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		return false;
	}
	PQsetNoticeReceiver(c->pg, notice_seen, c);
	c->timeout_ms = 0; /* a new session: the writer sets its bound again (run_batch) */
	if (prepare && !conn_prepare(c, err, errlen))
		return false;
	if (c->owner > 0 && !owner_lock(c, c->owner)) {
		/* Held by another session: this daemon's key was taken while its
		 * connection was gone (by chance; one in 2^31).  Its jobs then look
		 * alive to a start, which is the safe side: none is called
		 * interrupted while it may still be sending. */
		log_warn("store: PostgreSQL: this daemon's print-job owner lock is held elsewhere");
	}
	c->ready = true;
	return true;
}

enum st pg_conn_open(const char *url, bool prepare, struct pconn **out, char *err, size_t errlen)
{
	struct pconn *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return ST_NOMEM;
	c->url = url;
	if (!conn_connect(c, url, prepare, err, errlen)) {
		pg_conn_close(c);
		return ST_UNAVAILABLE;
	}
	*out = c;
	return ST_OK;
}

void pg_conn_close(struct pconn *c)
{
	if (!c)
		return;
	if (c->pg)
		PQfinish(c->pg);
	free(c);
}

bool pg_conn_ok(struct pconn *c)
{
	char err[256];
	uint64_t now;

	/* A server that ended the session has said so on the socket: read it
	 * (never blocks), so the next statement goes to a new connection. */
	if (c->ready && PQstatus(c->pg) == CONNECTION_OK && PQconsumeInput(c->pg) &&
	    PQstatus(c->pg) == CONNECTION_OK)
		return true;
	c->ready = false;
	now = clock_mono_ns();
	if (now < c->retry_ns)
		return false;
	c->retry_ns = now + 1000000000ull;
	if (!conn_connect(c, c->url, true, err, sizeof(err))) {
		/* tried once a second: one line per outage, not one a second */
		if (!c->logged)
			log_warn("store: %s", err);
		c->logged = true;
		return false;
	}
	c->logged = false;
	log_info("store: PostgreSQL connection is back");
	return true;
}

static enum st result_st(struct pconn *c, PGresult *r)
{
	const char *state;

	if (!r || PQstatus(c->pg) != CONNECTION_OK) {
		c->ready = false;
		return ST_UNAVAILABLE;
	}
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		return ST_OK;
	default:
		break;
	}
	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (state && strcmp(state, "23505") == 0)
		return ST_CONFLICT;
	/* Serialization, deadlock, shutdown, connection, resources: worth a retry. */
	if (state && (strncmp(state, "40", 2) == 0 || strncmp(state, "57", 2) == 0 ||
		      strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0))
		return ST_UNAVAILABLE;
	log_error("store: PostgreSQL: %s", PQresultErrorMessage(r));
	return ST_IO;
}

enum st pg_exec(struct pconn *c, enum pst id, const struct pq *q, PGresult **res, int64_t *changed)
{
	char name[16];
	PGresult *r;
	enum st st;
	bool idle;

	if (res)
		*res = NULL;
	if (changed)
		*changed = 0;
	if (!c || !c->ready)
		return ST_UNAVAILABLE;
	idle = c->reader && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
	r = PQexecPrepared(c->pg, pst_name(id, name), q ? q->n : 0, q ? q->v : NULL,
			   q ? q->len : NULL, q ? q->fmt : NULL, 0);
	/*
	 * A reader's session that ended without a word on the socket (its server
	 * was killed: pg_conn_ok's look found nothing to read) fails the first
	 * statement sent on it.  Outside a transaction that statement is one
	 * read: it is sent again once on a new connection (the promoted standby,
	 * after a failover), so a stale reader is not a 503.
	 */
	if (idle && (!r || PQstatus(c->pg) != CONNECTION_OK)) {
		PQclear(r);
		r = NULL;
		c->ready = false;
		c->retry_ns = 0;
		if (pg_conn_ok(c))
			r = PQexecPrepared(c->pg, pst_name(id, name), q ? q->n : 0, q ? q->v : NULL,
					   q ? q->len : NULL, q ? q->fmt : NULL, 0);
	}
	st = result_st(c, r);
	if (st == ST_OK && changed) {
		const char *t = PQcmdTuples(r);
		*changed = t && *t ? strtoll(t, NULL, 10) : 0;
	}
	if (st == ST_OK && res)
		*res = r;
	else
		PQclear(r);
	return st;
}

enum st pg_plain(struct pconn *c, const char *sql)
{
	PGresult *r;
	enum st st;

	if (!c || !c->ready)
		return ST_UNAVAILABLE;
	r = PQexec(c->pg, sql);
	st = result_st(c, r);
	PQclear(r);
	return st;
}

struct pconn *pg_reader(struct pg_store *s)
{
	struct pconn *c = pthread_getspecific(s->reader_key);
	char err[256];

	if (c)
		return pg_conn_ok(c) ? c : NULL;
	if (pg_conn_open(s->url, true, &c, err, sizeof(err)) != ST_OK) {
		log_error("store: reader: %s", err);
		return NULL;
	}
	c->reader = true;
	pthread_mutex_lock(&s->lock);
	c->next = s->readers;
	s->readers = c;
	pthread_mutex_unlock(&s->lock);
	pthread_setspecific(s->reader_key, c);
	return c;
}

/* ---- migrations ------------------------------------------------------- */

static enum st migrate(struct pconn *c, char *err, size_t errlen)
{
	PGresult *r;
	int have = 0;
	enum st st;

	/* Several daemons may start at once: one migrates, the others wait. */
	if (pg_plain(c, "SELECT pg_advisory_lock(1464991745)") != ST_OK) {
		snprintf(err, errlen, "PostgreSQL: cannot take the migration lock: %s",
			 PQerrorMessage(c->pg));
		return ST_UNAVAILABLE;
	}
	st = pg_plain(c, "CREATE TABLE IF NOT EXISTS waybill_schema (version integer PRIMARY "
			 "KEY, name text NOT NULL, applied_at bigint NOT NULL)");
	if (st != ST_OK) {
		snprintf(err, errlen, "PostgreSQL: schema table: %s", PQerrorMessage(c->pg));
		goto out;
	}
	r = PQexec(c->pg, "SELECT coalesce(max(version), 0) FROM waybill_schema");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
		have = (int)pg_i64(r, 0, 0);
	PQclear(r);
	for (size_t i = 0; i < pg_schema_migrations_count && st == ST_OK; i++) {
		const struct pg_migration *m = &pg_schema_migrations[i];
		char sql[256];

		if (m->version <= have)
			continue;
		st = pg_plain(c, "BEGIN");
		if (st == ST_OK) {
			r = PQexec(c->pg, m->sql);
			st = result_st(c, r);
			if (st != ST_OK)
				snprintf(err, errlen, "PostgreSQL migration %04d-%s: %s",
					 m->version, m->name, PQresultErrorMessage(r));
			PQclear(r);
		}
		snprintf(sql, sizeof(sql),
			 "INSERT INTO waybill_schema VALUES (%d, '%s', "
			 "extract(epoch from now())::bigint)",
			 m->version, m->name);
		if (st == ST_OK)
			st = pg_plain(c, sql);
		if (st == ST_OK)
			st = pg_plain(c, "COMMIT");
		if (st != ST_OK) {
			pg_plain(c, "ROLLBACK");
			if (!err[0])
				snprintf(err, errlen, "PostgreSQL migration %04d: %s", m->version,
					 PQerrorMessage(c->pg));
		} else {
			log_info("store: PostgreSQL migration %04d-%s applied", m->version,
				 m->name);
		}
	}
out:
	pg_plain(c, "SELECT pg_advisory_unlock(1464991745)");
	return st;
}

/* ---- whether writing works -------------------------------------------- */

enum { PW_NONE, PW_STORE, PW_AUDIT };

/*
 * batch: a batch with jobs was refused (the idle writer's probe is none);
 * why: for the one line that says writing failed (NULL: the connection or a
 * commit).  One line when writing starts failing, one when it recovers.
 */
static void wfail_set_why(struct pg_store *s, int to, bool batch, const char *why)
{
	pthread_mutex_lock(&s->wfail_lock);
	int from = atomic_exchange(&s->wfail, to);
	if (from == PW_NONE && to != PW_NONE) {
		s->wfail_since_ns = clock_mono_ns();
		s->wfail_refused = 0;
		log_error("store: writing failed (%s): writes and audited reads answer 503 until "
			  "it recovers",
			  to == PW_AUDIT ? "an audit entry cannot be written"
			  : why		 ? why
					 : "the PostgreSQL connection or a commit failed");
	} else if (from != PW_NONE && to == PW_NONE) {
		log_info("store: writing recovered after %.1f s (%llu batches refused meanwhile)",
			 (double)(clock_mono_ns() - s->wfail_since_ns) / 1e9,
			 (unsigned long long)s->wfail_refused);
	}
	if (to != PW_NONE && batch)
		s->wfail_refused++;
	pthread_mutex_unlock(&s->wfail_lock);
}

static void wfail_set(struct pg_store *s, int to, bool batch)
{
	wfail_set_why(s, to, batch, NULL);
}

const char *pg_trouble(struct pg_store *s)
{
	int wf = atomic_load(&s->wfail);

	if (wf == PW_AUDIT)
		return "audit";
	if (wf == PW_STORE)
		return "store";
	return NULL;
}

void pg_set_write_timeout(struct pg_store *s, unsigned ms)
{
	atomic_store(&s->write_timeout_ms, ms);
}

void pg_set_min_free(struct pg_store *s, uint64_t bytes)
{
	/* The disk is the database server's: PostgreSQL refuses a write it has no room for. */
	UNUSED(s);
	UNUSED(bytes);
}

/* ---- the writer ------------------------------------------------------- */

struct wstate {
	int64_t audit_seq, rewrap_after[2];
	unsigned char audit_head[HASH_BYTES];
};

static void wstate_save(const struct pg_store *s, struct wstate *w)
{
	w->audit_seq = s->audit_seq;
	memcpy(w->audit_head, s->audit_head, HASH_BYTES);
	memcpy(w->rewrap_after, s->rewrap_after, sizeof(w->rewrap_after));
}

static void wstate_restore(struct pg_store *s, const struct wstate *w)
{
	s->audit_seq = w->audit_seq;
	memcpy(s->audit_head, w->audit_head, HASH_BYTES);
	memcpy(s->rewrap_after, w->rewrap_after, sizeof(s->rewrap_after));
}

#ifdef WB_BENCH_CHAINS
/*
 * make bench-pg's prototype of the other audit design, built only into
 * $(BUILD)/bench/waybilld-chains (never bin/): each daemon appends to a chain
 * of its own, head row WB_BENCH_CHAIN of audit_head (the bench adds rows
 * 2-4 and drops audit's primary key on seq), so batches of different daemons
 * wait for no one's head.  It measures that cost alone: the chains are not
 * told apart in audit, so nothing verifies them, and there is no signed
 * checkpoint over the heads (one signature a checkpoint, not one a batch).
 */
static int bench_chain(void)
{
	const char *v = getenv("WB_BENCH_CHAIN");

	return v ? atoi(v) : 1;
}

static enum st head_lock_sql(struct pg_store *s, PGresult **r)
{
	char sql[96];
	enum st st;

	snprintf(sql, sizeof(sql), "SELECT seq, hash FROM audit_head WHERE id = %d FOR UPDATE",
		 bench_chain());
	*r = PQexec(s->writer->pg, sql);
	st = result_st(s->writer, *r);
	if (st != ST_OK) {
		PQclear(*r);
		*r = NULL;
	}
	return st;
}

static enum st head_store(struct pg_store *s)
{
	char sql[160];
	int n = snprintf(sql, sizeof(sql), "UPDATE audit_head SET seq = %" PRId64 ", hash = '\\x",
			 s->audit_seq);

	for (size_t i = 0; i < HASH_BYTES && n > 0 && (size_t)n + 3 < sizeof(sql); i++)
		n += snprintf(sql + n, sizeof(sql) - (size_t)n, "%02x", s->audit_head[i]);
	if (n > 0 && (size_t)n < sizeof(sql))
		snprintf(sql + n, sizeof(sql) - (size_t)n, "' WHERE id = %d", bench_chain());
	return pg_plain(s->writer, sql);
}
#else
static enum st head_lock_sql(struct pg_store *s, PGresult **r)
{
	return pg_exec(s->writer, P_AUDIT_HEAD_LOCK, NULL, r, NULL);
}
#endif

/* The chain's head, locked for this transaction: other daemons' batches wait for it. */
static enum st head_lock(struct pg_store *s)
{
	PGresult *r;
	enum st st = head_lock_sql(s, &r);

	if (st != ST_OK)
		return st;
	if (PQntuples(r) != 1 || !pg_blob(r, 0, 1, s->audit_head, HASH_BYTES)) {
		PQclear(r);
		return ST_IO;
	}
	s->audit_seq = pg_i64(r, 0, 0);
	PQclear(r);
	return ST_OK;
}

#ifndef WB_BENCH_CHAINS
static enum st head_store(struct pg_store *s)
{
	struct pq q = {0};

	pq_i64(&q, s->audit_seq);
	pq_blob(&q, s->audit_head, HASH_BYTES);
	return pg_exec(s->writer, P_AUDIT_HEAD_SET, &q, NULL, NULL);
}
#endif

/*
 * Each job in a savepoint: PostgreSQL aborts the whole transaction on a
 * failed statement, so a job that failed (having written or not) is rolled
 * back to it, and then gets its audit entry.  A savepoint costs one round
 * trip a job (the release of one and the next one's sent together); SQLite's
 * first run without them (store_writer.c) saves page copies that PostgreSQL
 * does not make.
 */
static enum st run_jobs(struct pg_store *s, struct wjob *jobs)
{
	if (pg_plain(s->writer, "SAVEPOINT job") != ST_OK)
		return ST_UNAVAILABLE;
	for (struct wjob *j = jobs; j; j = j->next) {
		struct wstate w;
		enum st st = ST_OK;

		wstate_save(s, &w);
		if (j->fn)
			st = j->fn(&s->base, j);
		if (st != ST_OK) {
			if (pg_plain(s->writer, "ROLLBACK TO SAVEPOINT job") != ST_OK)
				return ST_UNAVAILABLE;
			wstate_restore(s, &w);
		}
		if (!j->no_audit) {
			if (st != ST_OK)
				j->audit.order_id = 0;
			snprintf(j->audit.result, sizeof(j->audit.result), "%s",
				 j->result ? j->result : st_name(st));
			if (pg_w_audit_append(s, &j->audit) != ST_OK) {
				s->batch_audit_failed = true;
				if (pg_plain(s->writer, "ROLLBACK TO SAVEPOINT job") != ST_OK)
					return ST_UNAVAILABLE;
				wstate_restore(s, &w);
				st = ST_UNAVAILABLE;
			} else {
				s->batch_audited = true;
			}
		}
		/* One round trip: this job's savepoint released and the next one's taken. */
		if (pg_plain(s->writer, j->next ? "RELEASE SAVEPOINT job; SAVEPOINT job"
						: "RELEASE SAVEPOINT job") != ST_OK)
			return ST_UNAVAILABLE;
		j->st = st;
	}
	return ST_OK;
}

/*
 * The writer's session gets db_timeout_s as its statement_timeout: a
 * statement that waits longer (on the chain's head row, held by another
 * daemon's commit that cannot finish) fails with 57014, a batch failure.
 */
static enum st writer_bound(struct pg_store *s, unsigned ms)
{
	char sql[64];
	enum st st;

	if (s->writer->timeout_ms == ms)
		return ST_OK;
	snprintf(sql, sizeof(sql), "SET statement_timeout = %u", ms);
	st = pg_plain(s->writer, sql);
	if (st == ST_OK)
		s->writer->timeout_ms = ms;
	return st;
}

/*
 * COMMIT, its answer awaited at most ms (0: for ever).  statement_timeout
 * does not cut a commit's wait for the synchronous standby, so a standby
 * that stopped answering would hold the writer (and, through the head row
 * it keeps locked, every daemon's writer) for good.  Past ms the commit is
 * cancelled: PostgreSQL then answers success with the WARNING notice_seen
 * notes (committed here, not confirmed by the standby), which run_batch
 * answers 503.  When even the cancel brings no answer within ms, the
 * session is dropped (ready false: the next batch connects again).
 */
static enum st commit_within(struct pconn *c, unsigned ms, bool *cancelled)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)ms * 1000000u;
	PGresult *r, *last = NULL;
	enum st st;

	*cancelled = false;
	if (!ms)
		return pg_plain(c, "COMMIT");
	if (!c->ready || !PQsendQuery(c->pg, "COMMIT")) {
		c->ready = false;
		return ST_UNAVAILABLE;
	}
	while (PQisBusy(c->pg)) {
		uint64_t now = clock_mono_ns();
		struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};

		if (now >= deadline) {
			PGcancel *k;
			char why[256];
			bool sent;

			if (*cancelled) {
				c->ready = false;
				return ST_UNAVAILABLE;
			}
			k = PQgetCancel(c->pg);
			sent = k && PQcancel(k, why, sizeof(why));
			PQfreeCancel(k);
			if (!sent) {
				c->ready = false;
				return ST_UNAVAILABLE;
			}
			*cancelled = true;
			deadline = now + (uint64_t)ms * 1000000u;
			continue;
		}
		if (poll(&p, 1, (int)((deadline - now) / 1000000u) + 1) < 0 && errno != EINTR) {
			c->ready = false;
			return ST_UNAVAILABLE;
		}
		if (!PQconsumeInput(c->pg)) {
			c->ready = false;
			return ST_UNAVAILABLE;
		}
	}
	while ((r = PQgetResult(c->pg))) {
		PQclear(last);
		last = r;
	}
	st = result_st(c, last);
	PQclear(last);
	return st;
}

/* A batch begun at t0 failed: when it took the whole bound, the writer is stalled. */
static void stall_note(struct pg_store *s, uint64_t t0, unsigned bound)
{
	uint64_t now = clock_mono_ns();

	if (bound && now - t0 >= (uint64_t)bound * 1000000u) {
		s->stalled = true;
		s->stalled_retry_ns = now + 1000000000ull;
	}
}

static void run_batch(struct pg_store *s, struct wjob *jobs, size_t n)
{
	struct wstate w0;
	size_t bucket = 0, cb = 0;
	uint64_t t0 = clock_mono_ns(), t1 = t0, t2 = t0;
	unsigned bound = atomic_load(&s->write_timeout_ms);
	bool cancelled;

	wstate_save(s, &w0);
	s->batch_no++;
	/*
	 * The last batch failed on db_timeout_s (a standby or a lock that does
	 * not answer): its jobs answer 503 at once for a second, not each after
	 * another wait; a batch a second (or the idle probe) tries again.
	 */
	if (n > 0 && s->stalled && t0 < s->stalled_retry_ns) {
		wfail_set(s, PW_STORE, true);
		wjobs_fail(jobs, ST_UNAVAILABLE);
		goto done;
	}
	if (!pg_conn_ok(s->writer)) {
		wfail_set(s, PW_STORE, n > 0);
		wjobs_fail(jobs, ST_UNAVAILABLE);
		goto done;
	}
	s->batch_audit_failed = s->batch_audited = false;
	if (writer_bound(s, bound) != ST_OK || pg_plain(s->writer, "BEGIN") != ST_OK ||
	    head_lock(s) != ST_OK || run_jobs(s, jobs) != ST_OK || head_store(s) != ST_OK) {
		pg_plain(s->writer, "ROLLBACK");
		wstate_restore(s, &w0);
		wjobs_fail(jobs, ST_UNAVAILABLE);
		wfail_set(s, PW_STORE, n > 0);
		stall_note(s, t0, bound);
		goto done;
	}
	t1 = clock_mono_ns();
	/*
	 * Lost while committing: whether it committed is unknown, so no job is
	 * answered OK.  So is a commit that came back with a WARNING: its wait
	 * for the synchronous standby was cancelled (notice_seen), it is on this
	 * server only and a failover would lose it.  Its jobs' clients send them
	 * again: a repeat finds its order (client_order_id) and is answered once
	 * its own commit, later in the same WAL, was flushed by the standby.
	 */
	s->writer->warned = false;
	if (commit_within(s->writer, bound, &cancelled) != ST_OK || s->writer->warned) {
		char why[160];

		if (cancelled)
			snprintf(why, sizeof(why),
				 "a commit waited %u ms for the synchronous standby and was "
				 "cancelled: committed here, not confirmed",
				 bound);
		else if (s->writer->warned)
			snprintf(why, sizeof(why),
				 "a commit was not confirmed by the synchronous standby: its wait "
				 "was cancelled");
		else
			why[0] = '\0';
		pg_plain(s->writer, "ROLLBACK");
		wjobs_fail(jobs, ST_UNAVAILABLE);
		wfail_set_why(s, PW_STORE, n > 0, why[0] ? why : NULL);
		stall_note(s, t0, bound);
		pthread_mutex_lock(&s->lock);
		s->stats.commit_fail++;
		pthread_mutex_unlock(&s->lock);
	} else if (s->batch_audit_failed) {
		s->stalled = false;
		wfail_set(s, PW_AUDIT, n > 0);
	} else {
		s->stalled = false;
		wfail_set(s, PW_NONE, n > 0);
	}
	t2 = clock_mono_ns();
done:
	if (n == 0)
		return; /* the idle writer's probe (writer_idle): no batch to count */
	while ((size_t)1 << (bucket + 1) <= n && bucket < ARRAY_SIZE(s->stats.batch_hist) - 1)
		bucket++;
	while (cb < STORE_COMMIT_BUCKETS && t2 - t1 > (uint64_t)store_commit_bounds_us[cb] * 1000)
		cb++;
	pthread_mutex_lock(&s->lock);
	s->stats.exec_ns += t1 - t0;
	s->stats.commit_ns += t2 - t1;
	s->stats.batches++;
	s->stats.jobs += n;
	s->stats.batch_hist[bucket]++;
	if (t2 > t1)
		s->stats.commit_hist[cb]++;
	pthread_mutex_unlock(&s->lock);
	while (jobs) {
		struct wjob *next = jobs->next;
		jobs->next = NULL;
		jobs->done(jobs);
		jobs = next;
	}
}

/*
 * An idle daemon's writer follows the database too, once a second: /readyz
 * must say "store" when the primary is gone and be 200 again once writing
 * works (a load balancer sends nothing to a daemon whose /readyz is 503, so
 * no request would find out).  While writing works: read what the server
 * sent (a closed session is seen without a round trip) and reconnect at once
 * when it is gone.  While it fails, and with db_timeout_s set also while it
 * works: a batch with no jobs, the chain's head locked and stored, a commit
 * that waits for the synchronous standby as any other does (a standby that
 * stopped answering is seen by an idle daemon too, within db_timeout_s).
 */
static void writer_idle(struct pg_store *s)
{
	int wf = atomic_load(&s->wfail);

	if (wf == PW_STORE || (wf == PW_NONE && atomic_load(&s->write_timeout_ms)))
		run_batch(s, NULL, 0);
	else if (wf == PW_NONE && !pg_conn_ok(s->writer))
		wfail_set(s, PW_STORE, false);
}

/* Wait for a job, at most a second (monotonic clock); true when the second passed. */
static bool writer_wait(struct pg_store *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += 1;
	return pthread_cond_timedwait(&s->wake, &s->lock, &ts) == ETIMEDOUT;
}

static void *writer_main(void *arg)
{
	struct pg_store *s = arg;

	pthread_setname_np(pthread_self(), "wb-writer");
	for (;;) {
		struct wjob *jobs;
		size_t n;

		pthread_mutex_lock(&s->lock);
		while (!s->q.head && !s->stopping) {
			if (s->tool) {
				pthread_cond_wait(&s->wake, &s->lock);
			} else if (writer_wait(s) && !s->q.head && !s->stopping) {
				pthread_mutex_unlock(&s->lock);
				writer_idle(s);
				pthread_mutex_lock(&s->lock);
			}
		}
		jobs = wqueue_take(&s->q, PG_BATCH_MAX, &n);
		pthread_mutex_unlock(&s->lock);
		if (!jobs)
			break;
		run_batch(s, jobs, n);
	}
	return NULL;
}

void pg_submit(struct pg_store *s, struct wjob *j)
{
	pthread_mutex_lock(&s->lock);
	wqueue_push(&s->q, j);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

enum st pg_checkpoint(struct pg_store *s)
{
	/* No log of ours to copy back: PostgreSQL's checkpointer owns its WAL. */
	UNUSED(s);
	return ST_OK;
}

void pg_stats_get(struct pg_store *s, struct store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/* ---- open and close -------------------------------------------------- */

static const struct store_ops pg_ops;

void pg_close(struct pg_store *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	while (s->readers) {
		struct pconn *c = s->readers;
		s->readers = c->next;
		pg_conn_close(c);
	}
	pg_conn_close(s->writer);
	pthread_key_delete(s->reader_key);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->wfail_lock);
	pthread_cond_destroy(&s->wake);
	free(s->vpool);
	free(s);
}

enum st pg_store_open(const char *url, enum store_mode mode, const struct keyring *kr,
		      struct store **out, char *err, size_t errlen)
{
	struct pg_store *s = calloc(1, sizeof(*s));
	struct audit_check chk = {0};
	enum st st;

	*out = NULL;
	if (!s)
		return ST_NOMEM;
	if (strlen(url) >= sizeof(s->url)) {
		snprintf(err, errlen, "db: the PostgreSQL URL is too long");
		free(s);
		return ST_INVALID;
	}
	s->base.ops = &pg_ops;
	s->kr = kr;
	s->tool = mode == STORE_TOOL;
	str_copy(s->url, sizeof(s->url), url);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->wfail_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_key_create(&s->reader_key, NULL);
	err[0] = '\0';
	st = pg_conn_open(s->url, false, &s->writer, err, errlen);
	if (st != ST_OK)
		goto fail;
	st = migrate(s->writer, err, errlen);
	if (st != ST_OK)
		goto fail;
	/* The statements name the tables: prepared once the schema is there. */
	if (!conn_prepare(s->writer, err, errlen)) {
		st = ST_IO;
		goto fail;
	}
	if (s->tool) {
		st = pg_chain_walk(kr, s->writer, 0, NULL, NULL, 0, &chk);
		if (st != ST_OK) {
			snprintf(err, errlen, "audit chain: cannot read it");
			goto fail;
		}
		if (!chk.ok) {
			snprintf(err, errlen,
				 "audit chain broken at seq %lld (after %lld good entries): %s",
				 (long long)chk.bad_seq, (long long)chk.entries, chk.why);
			st = ST_CRYPTO;
			goto fail;
		}
	}
	/* A key of its own for its print jobs, held while it lives (schema/pg/0013). */
	for (int i = 0; !s->tool && i < 16 && !s->owner; i++) {
		uint32_t k;

		crypto_random(&k, sizeof(k));
		k &= 0x7fffffffu;
		if (k && owner_lock(s->writer, k))
			s->owner = s->writer->owner = k;
	}
	if (!s->tool && !s->owner) {
		snprintf(err, errlen, "PostgreSQL: cannot take a print-job owner lock");
		st = ST_UNAVAILABLE;
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		st = ST_INTERNAL;
		goto fail;
	}
	s->thread_started = true;
	*out = &s->base;
	return ST_OK;
fail:
	pg_close(s);
	return st;
}

enum st pg_store_verify_marks(const char *url, const struct keyring *kr,
			      const struct audit_mark *marks, size_t nmarks,
			      struct audit_check *out, char *err, size_t errlen)
{
	struct pconn *c = NULL;
	enum st st = pg_conn_open(url, true, &c, err, errlen);

	if (st != ST_OK)
		return st;
	st = pg_chain_walk(kr, c, 0, NULL, marks, nmarks, out);
	if (st != ST_OK)
		snprintf(err, errlen, "audit chain: cannot read it");
	pg_conn_close(c);
	return st;
}

/* waybillctl migrate's target (store_pg_copy.c): its transaction made the tables. */
bool pg_conn_prepare(struct pconn *c, char *err, size_t errlen)
{
	return conn_prepare(c, err, errlen);
}

/* ---- the table ------------------------------------------------------- */

#define X(ret, name, params, args) STORE_ADAPT_X(pg, struct pg_store, ret, name, params, args)
#define XV(name, params, args) STORE_ADAPT_XV(pg, struct pg_store, name, params, args)
STORE_OPS(X)
STORE_OPS_VOID(XV)
#undef X
#undef XV

static void pg_op_close(struct store *s)
{
	pg_close((struct pg_store *)s);
}

static const char *pg_op_trouble(struct store *s)
{
	return pg_trouble((struct pg_store *)s);
}

static enum st pg_op_checkpoint(struct store *s)
{
	return pg_checkpoint((struct pg_store *)s);
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
#define X(ret, name, params, args) .name = pg_op_##name,
#define XV(name, params, args) .name = pg_op_##name,
    STORE_OPS(X) STORE_OPS_VOID(XV)
#undef X
#undef XV
	.close = pg_op_close,
    .trouble = pg_op_trouble,
    .checkpoint = pg_op_checkpoint,
};
