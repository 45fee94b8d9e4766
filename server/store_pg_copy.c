/*
 * store_pg_copy.c - the PostgreSQL side of `waybillctl migrate`
 * (store_copy.h): one transaction on the target, from the emptiness check
 * to the COMMIT.  The schema is applied inside it (PostgreSQL's DDL is
 * transactional), the rows go in as the source stored them (blobs as
 * binary parameters, byte for byte), then the identity sequences, the
 * chain's head row, the migration's own audit entry, a walk of the whole
 * chain under the key file, and only then COMMIT: a failure anywhere
 * leaves the target as it was.
 */
#include "common.h"
#include "store_copy.h"
#include "store_pg.h"
#include "buf.h"

#include <stdio.h>

struct pg_copy {
	struct pconn *c;
	char url[1024];
	bool in_tx;
	/* the table rows go to now */
	struct copy_table t;
	bool bytea[COPY_COLS_MAX];
	int nstmt;
	char stmt[32];
	char last_err[512];
};

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Run sql; COMMAND_OK or TUPLES_OK, else the error into err. */
static PGresult *run(struct pg_copy *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(c->c->pg, sql);
	ExecStatusType rs = PQresultStatus(r);

	if (rs == PGRES_COMMAND_OK || rs == PGRES_TUPLES_OK)
		return r;
	snprintf(err, errlen, "target: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(c->c->pg));
	trim(err);
	PQclear(r);
	return NULL;
}

static bool run_ok(struct pg_copy *c, const char *sql, char *err, size_t errlen)
{
	PGresult *r = run(c, sql, err, errlen);

	PQclear(r);
	return r != NULL;
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

/* Does table hold a row?  -1 when it cannot be read. */
static int has_rows(struct pg_copy *c, const char *table, char *err, size_t errlen)
{
	char sql[160];
	PGresult *r;
	int k;

	snprintf(sql, sizeof(sql), "SELECT EXISTS (SELECT 1 FROM \"%s\")", table);
	r = run(c, sql, err, errlen);
	if (!r)
		return -1;
	k = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return k;
}

/*
 * Refuse a target with tables that are not waybill's, or with a row in any
 * of waybill's (the schema table there or not: an insider's account seeded
 * before the copy), or a chain head past 0.  *have: its schema version.
 */
static enum st empty_check(struct pg_copy *c, const char *const *tables, size_t n, int *have,
			   char *err, size_t errlen)
{
	PGresult *rel;
	bool schema = false;
	enum st st = ST_OK;

	*have = 0;
	rel = run(c,
		  "SELECT c.relname FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
		  "WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
		  "ORDER BY 1",
		  err, errlen);
	if (!rel)
		return ST_IO;
	for (int i = 0; st == ST_OK && i < PQntuples(rel); i++) {
		const char *name = PQgetvalue(rel, i, 0);
		int rows;

		if (strcmp(name, "waybill_schema") == 0) {
			schema = true;
			continue;
		}
		if (!in_list(name, tables, n) && strcmp(name, "audit_head") != 0) {
			snprintf(err, errlen,
				 "target: the database holds a table %s that is not waybill's; "
				 "migrate copies into an empty database only",
				 name);
			st = ST_CONFLICT;
			break;
		}
		if (strcmp(name, "audit_head") == 0)
			continue; /* its one row is there from the start; its seq is checked below
				   */
		rows = has_rows(c, name, err, errlen);
		if (rows < 0)
			st = ST_IO;
		else if (rows > 0) {
			snprintf(
			    err, errlen,
			    "target: the database is not empty (%s holds rows); migrate copies "
			    "into an empty database only",
			    name);
			st = ST_CONFLICT;
		}
	}
	PQclear(rel);
	if (st != ST_OK || !schema)
		return st;
	rel = run(c,
		  "SELECT coalesce(max(version), 0), (SELECT max(seq) FROM audit_head) FROM "
		  "waybill_schema",
		  err, errlen);
	if (!rel)
		return ST_IO; /* no audit_head: the migrations will say why */
	*have = (int)pg_i64(rel, 0, 0);
	if (!pg_isnull(rel, 0, 1) && pg_i64(rel, 0, 1) != 0) {
		snprintf(err, errlen,
			 "target: the database is not empty (its audit chain has %lld entries); "
			 "migrate copies into an empty database only",
			 (long long)pg_i64(rel, 0, 1));
		st = ST_CONFLICT;
	}
	PQclear(rel);
	return st;
}

/*
 * Every PostgreSQL migration after have, inside the transaction: the target
 * gets this version's schema, as a daemon's start would give it (some are
 * PostgreSQL's own, 0014 say; the source's version was checked against
 * this version's SQLite schema, so both sides are this binary's).
 */
static enum st schema_apply(struct pg_copy *c, int have, char *err, size_t errlen)
{
	int newest = pg_schema_migrations_count
			 ? pg_schema_migrations[pg_schema_migrations_count - 1].version
			 : 0;

	if (have > newest) {
		snprintf(err, errlen,
			 "target: its schema is version %d, newer than this waybillctl's %d; use "
			 "the waybillctl of the daemons' version",
			 have, newest);
		return ST_INVALID;
	}
	if (!run_ok(c,
		    "CREATE TABLE IF NOT EXISTS waybill_schema (version integer PRIMARY KEY, "
		    "name text NOT NULL, applied_at bigint NOT NULL)",
		    err, errlen))
		return ST_IO;
	for (size_t i = 0; i < pg_schema_migrations_count; i++) {
		const struct pg_migration *m = &pg_schema_migrations[i];
		const char *v[2];
		char num[16];
		PGresult *r;

		if (m->version <= have)
			continue;
		if (!run_ok(c, m->sql, err, errlen))
			return ST_IO;
		snprintf(num, sizeof(num), "%d", m->version);
		v[0] = num;
		v[1] = m->name;
		r = PQexecParams(c->c->pg,
				 "INSERT INTO waybill_schema VALUES ($1::integer, $2::text, "
				 "extract(epoch from now())::bigint)",
				 2, NULL, v, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			snprintf(err, errlen, "target: %s", PQresultErrorMessage(r));
			trim(err);
			PQclear(r);
			return ST_IO;
		}
		PQclear(r);
	}
	return ST_OK;
}

enum st pg_copy_begin(const char *url, const char *const *tables, size_t n, struct pg_copy **out,
		      char *err, size_t errlen)
{
	struct pg_copy *c = calloc(1, sizeof(*c));
	int have = 0;
	enum st st;

	*out = NULL;
	if (!c)
		return ST_NOMEM;
	if (strlen(url) >= sizeof(c->url)) {
		snprintf(err, errlen, "target: the PostgreSQL URL is too long");
		free(c);
		return ST_INVALID;
	}
	str_copy(c->url, sizeof(c->url), url);
	st = pg_conn_open(c->url, false, &c->c, err, errlen);
	if (st != ST_OK)
		goto fail;
	st = ST_IO;
	if (!run_ok(c, "BEGIN ISOLATION LEVEL READ COMMITTED", err, errlen))
		goto fail;
	c->in_tx = true;
	/*
	 * The daemons' migration lock, the key store_pg.c's migrate() takes
	 * (1464991745; not PG_LOCK_MIGRATE, which nothing takes): a daemon
	 * starting on the target now waits for the COMMIT.
	 */
	if (!run_ok(c, "SELECT pg_advisory_xact_lock(1464991745)", err, errlen))
		goto fail;
	st = empty_check(c, tables, n, &have, err, errlen);
	if (st != ST_OK)
		goto fail;
	st = schema_apply(c, have, err, errlen);
	if (st != ST_OK)
		goto fail;
	/* The chain's head row: a daemon's batch waits on it until the COMMIT. */
	if (!run_ok(c, "SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE", err, errlen)) {
		st = ST_IO;
		goto fail;
	}
	*out = c;
	return ST_OK;
fail:
	pg_copy_close(c);
	return st;
}

enum st pg_copy_table(struct pg_copy *c, const struct copy_table *t, char *err, size_t errlen)
{
	const char *v[1] = {t->name};
	struct buf sql;
	PGresult *r;
	bool seen[COPY_COLS_MAX] = {false};
	int k;

	c->t = *t;
	memset(c->bytea, 0, sizeof(c->bytea));
	r = PQexecParams(c->c->pg,
			 "SELECT column_name, data_type FROM information_schema.columns WHERE "
			 "table_schema = current_schema() AND table_name = $1 ORDER BY "
			 "ordinal_position",
			 1, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(err, errlen, "target: %s", PQresultErrorMessage(r));
		trim(err);
		PQclear(r);
		return ST_IO;
	}
	k = PQntuples(r);
	for (int i = 0; i < k; i++) {
		const char *col = PQgetvalue(r, i, 0);
		size_t j;

		for (j = 0; j < t->ncols; j++)
			if (strcmp(t->cols[j], col) == 0)
				break;
		if (j == t->ncols) {
			snprintf(err, errlen,
				 "target: %s.%s is a column PostgreSQL's schema has and SQLite's "
				 "has not; the schemas differ, nothing was written",
				 t->name, col);
			PQclear(r);
			return ST_INVALID;
		}
		c->bytea[j] = strcmp(PQgetvalue(r, i, 1), "bytea") == 0;
		seen[j] = true;
	}
	PQclear(r);
	for (size_t j = 0; j < t->ncols; j++)
		if (!seen[j]) {
			snprintf(err, errlen,
				 "target: %s.%s is a column SQLite's schema has and PostgreSQL's "
				 "has not; the schemas differ, nothing was written",
				 t->name, t->cols[j]);
			return ST_INVALID;
		}
	buf_init(&sql, 8192, false);
	buf_addf(&sql, "INSERT INTO \"%s\" (", t->name);
	for (size_t j = 0; j < t->ncols; j++)
		buf_addf(&sql, "%s\"%s\"", j ? ", " : "", t->cols[j]);
	buf_addf(&sql, ") VALUES (");
	for (size_t j = 0; j < t->ncols; j++)
		buf_addf(&sql, "%s$%zu", j ? ", " : "", j + 1);
	buf_addf(&sql, ")");
	if (buf_st(&sql) != ST_OK) {
		buf_release(&sql);
		return ST_NOMEM;
	}
	snprintf(c->stmt, sizeof(c->stmt), "copy%d", c->nstmt++);
	r = PQprepare(c->c->pg, c->stmt, (const char *)sql.p, 0, NULL);
	buf_release(&sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "target: %s: %s", t->name, PQresultErrorMessage(r));
		trim(err);
		PQclear(r);
		return ST_IO;
	}
	PQclear(r);
	return ST_OK;
}

enum st pg_copy_row(void *arg, const struct copy_cell *cells)
{
	struct pg_copy *c = arg;
	const char *v[COPY_COLS_MAX];
	int len[COPY_COLS_MAX], fmt[COPY_COLS_MAX];
	char num[COPY_COLS_MAX][32];
	PGresult *r;
	int n = (int)c->t.ncols;

	for (int i = 0; i < n; i++) {
		const struct copy_cell *x = &cells[i];

		len[i] = 0;
		fmt[i] = 0;
		switch (x->t) {
		case COPY_NULL:
			v[i] = NULL;
			break;
		case COPY_INT:
			snprintf(num[i], sizeof(num[i]), "%lld", (long long)x->i);
			v[i] = num[i];
			break;
		case COPY_REAL:
			snprintf(num[i], sizeof(num[i]), "%.17g", x->r);
			v[i] = num[i];
			break;
		case COPY_TEXT:
		case COPY_BLOB:
			if (x->n > INT32_MAX) {
				snprintf(c->last_err, sizeof(c->last_err),
					 "%s.%s: a value too long", c->t.name, c->t.cols[i]);
				return ST_TOOBIG;
			}
			/* Bytes as stored: binary for bytea (and blobs), text otherwise. */
			v[i] = x->p ? x->p : "";
			len[i] = (int)x->n;
			fmt[i] = x->t == COPY_BLOB || c->bytea[i];
			break;
		}
	}
	r = PQexecPrepared(c->c->pg, c->stmt, n, v, len, fmt, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(c->last_err, sizeof(c->last_err), "target: %s: %s", c->t.name,
			 PQresultErrorMessage(r));
		trim(c->last_err);
		PQclear(r);
		return ST_IO;
	}
	PQclear(r);
	return ST_OK;
}

void pg_copy_error(struct pg_copy *c, char *err, size_t errlen)
{
	if (c->last_err[0])
		snprintf(err, errlen, "%s", c->last_err);
}

enum st pg_copy_count(struct pg_copy *c, const char *table, int64_t *n, char *err, size_t errlen)
{
	char sql[160];
	PGresult *r;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
	r = run(c, sql, err, errlen);
	if (!r)
		return ST_IO;
	*n = pg_i64(r, 0, 0);
	PQclear(r);
	return ST_OK;
}

/* Each identity column's sequence past the largest id copied. */
static bool sequences_set(struct pg_copy *c, char *err, size_t errlen)
{
	PGresult *r = run(c,
			  "SELECT table_name, column_name FROM information_schema.columns WHERE "
			  "table_schema = current_schema() AND is_identity = 'YES'",
			  err, errlen);
	bool ok = r != NULL;

	for (int i = 0; ok && i < PQntuples(r); i++) {
		char sql[320];

		snprintf(sql, sizeof(sql),
			 "SELECT setval(pg_get_serial_sequence('\"%s\"', '%s'), max(\"%s\")) FROM "
			 "\"%s\" HAVING max(\"%s\") IS NOT NULL",
			 PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 1),
			 PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
		ok = run_ok(c, sql, err, errlen);
	}
	PQclear(r);
	return ok;
}

enum st pg_copy_finish(struct pg_copy *c, const struct keyring *kr,
		       const struct copy_source_info *src, struct audit_entry *e,
		       int64_t *entries_after, char *err, size_t errlen)
{
	struct audit_check chk;
	struct pq q = {0};
	PGresult *r;
	enum st st;

	if (!sequences_set(c, err, errlen))
		return ST_IO;
	/* The statements the chain's walk and append use, now that the tables are there. */
	if (!pg_conn_prepare(c->c, err, errlen))
		return ST_IO;
	/* The copied chain ends where the source's walk ended. */
	r = run(c, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", err, errlen);
	if (!r)
		return ST_IO;
	if (PQntuples(r) == 1) {
		unsigned char h[HASH_BYTES];
		if (pg_i64(r, 0, 0) != src->head_seq || !pg_blob(r, 0, 1, h, HASH_BYTES) ||
		    !crypto_equal(h, src->head, HASH_BYTES)) {
			snprintf(err, errlen,
				 "target: the copied chain does not end where the source's did");
			PQclear(r);
			return ST_INTERNAL;
		}
	} else if (src->head_seq != 0) {
		snprintf(err, errlen, "target: the copied chain is empty");
		PQclear(r);
		return ST_INTERNAL;
	}
	PQclear(r);
	/* The migration's own entry, after the copied chain. */
	e->seq = src->head_seq + 1;
	memcpy(e->prev, src->head, HASH_BYTES);
	if (!e->ts[0])
		audit_now(e->ts);
	str_copy(e->result, sizeof(e->result), "ok");
	audit_link(kr, e);
	pq_i64(&q, e->seq);
	pq_text(&q, e->ts);
	pq_text(&q, e->actor);
	pq_text(&q, e->role);
	pq_text(&q, e->action);
	pq_text(&q, e->tracking_no);
	pq_text(&q, e->reason);
	pq_text(&q, e->result);
	pq_text(&q, e->request_id);
	pq_blob(&q, e->prev, HASH_BYTES);
	pq_blob(&q, e->hash, HASH_BYTES);
	st = pg_exec(c->c, P_AUDIT_INSERT, &q, NULL, NULL);
	if (st == ST_OK) {
		memset(&q, 0, sizeof(q));
		pq_i64(&q, e->seq);
		pq_blob(&q, e->hash, HASH_BYTES);
		st = pg_exec(c->c, P_AUDIT_HEAD_SET, &q, NULL, NULL);
	}
	if (st != ST_OK) {
		snprintf(err, errlen, "target: the migration's audit entry: %s",
			 PQerrorMessage(c->c->pg));
		trim(err);
		return st;
	}
	/* The whole chain as the daemons will read it, before anything is committed. */
	st = pg_chain_walk_tx(kr, c->c, &chk);
	if (st != ST_OK) {
		snprintf(err, errlen, "target: cannot walk the copied chain");
		return st;
	}
	if (!chk.ok || chk.head_seq != e->seq || !crypto_equal(chk.head, e->hash, HASH_BYTES)) {
		snprintf(err, errlen, "target: the copied chain does not verify at seq %lld (%s)",
			 (long long)chk.bad_seq, chk.why ? chk.why : "another head");
		return ST_CRYPTO;
	}
	*entries_after = chk.entries;
	if (!run_ok(c, "COMMIT", err, errlen))
		return ST_IO;
	c->in_tx = false;
	return ST_OK;
}

void pg_copy_close(struct pg_copy *c)
{
	if (!c)
		return;
	if (c->in_tx && c->c && c->c->pg)
		PQclear(PQexec(c->c->pg, "ROLLBACK"));
	pg_conn_close(c->c);
	free(c);
}
