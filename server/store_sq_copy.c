/*
 * store_sq_copy.c - the SQLite side of `waybillctl migrate` (store_copy.h):
 * the source database opened read-only, checked (no daemon on it, this
 * version's schema, the tables the copy knows, a chain that verifies under
 * the key file), then read table by table in one read transaction.
 */
#include "common.h"
#include "store_copy.h"
#include "store_int.h"
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

struct sq_copy {
	struct conn *c;
	char lockfile[600];
	bool in_tx;
};

/* 1: a daemon holds the database, 0: none, -1: cannot tell (errno). */
static int daemon_state(const char *lockfile)
{
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = GUARD_DAEMON, .l_len = 1};
	int fd = open(lockfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int runs;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* no lock file: no daemon ever ran on it */
	runs = fcntl(fd, F_OFD_GETLK, &fl) == -1 ? -1 : fl.l_type != F_UNLCK;
	close(fd);
	return runs;
}

bool sq_copy_daemon_runs(struct sq_copy *c)
{
	return daemon_state(c->lockfile) != 0;
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

static enum st one_int(struct conn *c, const char *sql, int64_t *out, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	enum st res = ST_IO;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "source: %s", sqlite3_errmsg(c->db));
		return ST_IO;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		res = ST_OK;
	} else {
		snprintf(err, errlen, "source: %s", sqlite3_errmsg(c->db));
	}
	sqlite3_finalize(st);
	return res;
}

/* Every table of the source is one the copy knows; each it knows is there. */
static enum st tables_check(struct conn *c, const char *const *tables, size_t n,
			    const char *const *skip, size_t nskip, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t seen = 0;
	enum st res = ST_OK;

	if (sqlite3_prepare_v2(c->db,
			       "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT "
			       "LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "source: %s", sqlite3_errmsg(c->db));
		return ST_IO;
	}
	while (res == ST_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (!name)
			continue;
		if (in_list(name, tables, n)) {
			seen++;
		} else if (!in_list(name, skip, nskip)) {
			snprintf(err, errlen,
				 "source: table %s is not one this version of migrate copies; "
				 "nothing was written",
				 name);
			res = ST_INVALID;
		}
	}
	sqlite3_finalize(st);
	if (res == ST_OK && seen != n) {
		for (size_t i = 0; i < n; i++) {
			int64_t k = 0;
			char sql[160];

			snprintf(sql, sizeof(sql),
				 "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
				 "name = '%s'",
				 tables[i]);
			if (one_int(c, sql, &k, err, errlen) == ST_OK && k == 0) {
				snprintf(
				    err, errlen,
				    "source: the database has no table %s (not a waybill "
				    "database of this version, or damaged); nothing was written",
				    tables[i]);
				break;
			}
		}
		res = ST_INVALID;
	}
	return res;
}

enum st sq_copy_open(const char *path, const struct keyring *kr, const char *const *tables,
		     size_t n, const char *const *skip, size_t nskip, struct sq_copy **out,
		     struct copy_source_info *info, char *err, size_t errlen)
{
	struct sq_copy *c = calloc(1, sizeof(*c));
	struct audit_check chk;
	int64_t v = 0, legacy = 0;
	int want =
	    schema_migrations_count ? schema_migrations[schema_migrations_count - 1].version : 0;
	enum st st = ST_IO;
	int rc;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	if (!c)
		return ST_NOMEM;
	snprintf(c->lockfile, sizeof(c->lockfile), "%s-lock", path);
	if (access(path, F_OK) != 0) {
		snprintf(err, errlen, "source %s: %s", path, strerror(errno));
		goto fail;
	}
	switch (daemon_state(c->lockfile)) {
	case 0:
		break;
	case 1:
		snprintf(err, errlen,
			 "source %s: a waybilld has it open; stop it first (orders it took "
			 "after the copy would not be in the new database)",
			 path);
		st = ST_UNAVAILABLE;
		goto fail;
	default:
		snprintf(err, errlen,
			 "source %s-lock: %s: cannot tell whether a waybilld has it open; run "
			 "migrate as the service user",
			 path, strerror(errno));
		st = ST_UNAVAILABLE;
		goto fail;
	}
	c->c = calloc(1, sizeof(*c->c));
	if (!c->c) {
		st = ST_NOMEM;
		goto fail;
	}
	rc = sqlite3_open_v2(path, &c->c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "source %s: %s", path,
			 c->c->db ? sqlite3_errmsg(c->c->db) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(c->c->db, BUSY_TIMEOUT_MS);
	if (one_int(c->c, "SELECT coalesce(max(version), 0) FROM schema_migrations", &v, err,
		    errlen) != ST_OK) {
		snprintf(err, errlen, "source %s: not a waybill database (no schema_migrations)",
			 path);
		goto fail;
	}
	info->schema_version = (int)v;
	if (v != want) {
		snprintf(err, errlen,
			 "source %s: its schema is version %lld, this waybillctl's is %d; start "
			 "this version's waybilld on it once (it migrates the schema), then "
			 "migrate",
			 path, (long long)v, want);
		st = ST_INVALID;
		goto fail;
	}
	/* A damaged file is refused before anything is read from it (as a tool's open does). */
	st = conn_quick_check(c->c, err, errlen);
	if (st != ST_OK)
		goto fail;
	st = tables_check(c->c, tables, n, skip, nskip, err, errlen);
	if (st != ST_OK)
		goto fail;
	st = one_int(c->c, "SELECT count(*) FROM orders WHERE seal_bind = 0", &legacy, err, errlen);
	if (st == ST_OK && legacy) {
		snprintf(err, errlen,
			 "source %s: %lld orders are still sealed the old way (seal_bind = 0); "
			 "start this version's waybilld on it once (it reseals them), then migrate",
			 path, (long long)legacy);
		st = ST_INVALID;
	}
	if (st != ST_OK)
		goto fail;
	/* Before the read transaction: chain_walk runs its own. */
	st = chain_walk(kr, c->c, 0, NULL, NULL, 0, &chk);
	if (st != ST_OK) {
		snprintf(err, errlen, "source: cannot read its audit chain");
		goto fail;
	}
	if (!chk.ok) {
		snprintf(err, errlen,
			 "source: its audit chain does not verify under this key file at seq %lld "
			 "(%s): the wrong key file, or a tampered database; nothing was written",
			 (long long)chk.bad_seq, chk.why);
		st = ST_CRYPTO;
		goto fail;
	}
	info->audit_entries = chk.entries;
	info->head_seq = chk.head_seq;
	memcpy(info->head, chk.head, HASH_BYTES);
	if (sql_exec(c->c->db, "BEGIN", err, errlen) != ST_OK) {
		st = ST_IO;
		goto fail;
	}
	c->in_tx = true;
	/* The snapshot is taken by the first read: the chain's head must be what was walked. */
	{
		int64_t head = 0;
		st = one_int(c->c, "SELECT coalesce(max(seq), 0) FROM audit", &head, err, errlen);
		if (st == ST_OK && head != info->head_seq) {
			snprintf(err, errlen,
				 "source: written to while migrate read it (waybillctl?); run it "
				 "again with nothing else on the database");
			st = ST_UNAVAILABLE;
		}
		if (st != ST_OK)
			goto fail;
	}
	*out = c;
	return ST_OK;
fail:
	sq_copy_close(c);
	return st == ST_OK ? ST_IO : st;
}

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) >= COPY_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

enum st sq_copy_columns(struct sq_copy *c, const char *table, struct copy_table *t, char *err,
			size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char sql[160];
	enum st res = ST_OK;

	memset(t, 0, sizeof(*t));
	if (!name_ok(table))
		return ST_INVALID;
	str_copy(t->name, sizeof(t->name), table);
	snprintf(sql, sizeof(sql), "SELECT name FROM pragma_table_info('%s') ORDER BY cid", table);
	if (sqlite3_prepare_v2(c->c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "source: %s", sqlite3_errmsg(c->c->db));
		return ST_IO;
	}
	while (res == ST_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (!name || !name_ok(name) || t->ncols >= COPY_COLS_MAX) {
			snprintf(err, errlen, "source: table %s has a column migrate cannot copy",
				 table);
			res = ST_INVALID;
			break;
		}
		str_copy(t->cols[t->ncols], COPY_NAME_MAX, name);
		t->ncols++;
	}
	sqlite3_finalize(st);
	if (res == ST_OK && t->ncols == 0) {
		snprintf(err, errlen, "source: no table %s", table);
		res = ST_INVALID;
	}
	return res;
}

enum st sq_copy_rows(struct sq_copy *c, const struct copy_table *t, copy_row_fn row, void *arg,
		     int64_t *n, char *err, size_t errlen)
{
	struct buf sql;
	struct copy_cell cells[COPY_COLS_MAX];
	sqlite3_stmt *st = NULL;
	enum st res = ST_OK;
	int rc;

	*n = 0;
	buf_init(&sql, 4096, false);
	buf_addf(&sql, "SELECT ");
	for (size_t i = 0; i < t->ncols; i++)
		buf_addf(&sql, "%s\"%s\"", i ? ", " : "", t->cols[i]);
	buf_addf(&sql, " FROM \"%s\"", t->name);
	if (buf_st(&sql) != ST_OK) {
		buf_release(&sql);
		return ST_NOMEM;
	}
	rc = sqlite3_prepare_v2(c->c->db, (const char *)sql.p, -1, &st, NULL);
	buf_release(&sql);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "source: %s: %s", t->name, sqlite3_errmsg(c->c->db));
		return ST_IO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t i = 0; i < t->ncols; i++) {
			struct copy_cell *x = &cells[i];
			int k = (int)i;

			memset(x, 0, sizeof(*x));
			switch (sqlite3_column_type(st, k)) {
			case SQLITE_INTEGER:
				x->t = COPY_INT;
				x->i = sqlite3_column_int64(st, k);
				break;
			case SQLITE_FLOAT:
				x->t = COPY_REAL;
				x->r = sqlite3_column_double(st, k);
				break;
			case SQLITE_TEXT:
				x->t = COPY_TEXT;
				x->p = sqlite3_column_text(st, k);
				x->n = (size_t)sqlite3_column_bytes(st, k);
				break;
			case SQLITE_BLOB:
				x->t = COPY_BLOB;
				x->p = sqlite3_column_blob(st, k);
				x->n = (size_t)sqlite3_column_bytes(st, k);
				break;
			default:
				x->t = COPY_NULL;
			}
		}
		res = row(arg, cells);
		if (res != ST_OK)
			break;
		(*n)++;
	}
	if (res == ST_OK && rc != SQLITE_DONE) {
		snprintf(err, errlen, "source: %s: %s", t->name, sqlite3_errmsg(c->c->db));
		res = ST_IO;
	}
	sqlite3_finalize(st);
	return res;
}

void sq_copy_close(struct sq_copy *c)
{
	if (!c)
		return;
	if (c->in_tx)
		sqlite3_exec(c->c->db, "COMMIT", NULL, NULL, NULL);
	conn_close(c->c);
	free(c);
}
