/*
 * store_jobs.c - print jobs in SQLite (store.h "print jobs"): plain SQL on
 * one table, print_jobs (schema/0012), through the statement table of
 * store_conn.c.
 */
#include "common.h"
#include "store_int.h"

#include <unistd.h>

static void job_from_row(sqlite3_stmt *st, void *arg)
{
	static const struct sql_text_col text[] = {
	    SQL_TEXT_COL(1, struct print_job_row, depot),
	    SQL_TEXT_COL(2, struct print_job_row, printer),
	    SQL_TEXT_COL(3, struct print_job_row, actor),
	    SQL_TEXT_COL(4, struct print_job_row, role),
	    SQL_TEXT_COL(5, struct print_job_row, tracking_nos),
	    SQL_TEXT_COL(7, struct print_job_row, status),
	    SQL_TEXT_COL(8, struct print_job_row, reason),
	    SQL_TEXT_COL(9, struct print_job_row, detail),
	};
	struct print_job_row *j = arg;

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(st, 0);
	sql_cols_text(st, text, ARRAY_SIZE(text), j);
	j->labels = sqlite3_column_int(st, 6);
	j->attempts = sqlite3_column_int(st, 10);
	j->bytes_sent = sqlite3_column_int64(st, 11);
	j->created_at = sqlite3_column_int64(st, 12);
	j->updated_at = sqlite3_column_int64(st, 13);
}

static enum st job_get(struct conn *c, int64_t id, struct print_job_row *out)
{
	sqlite3_stmt *st = c ? sql_stmt(c, S_JOB_GET) : NULL;

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	return sql_step_one(c, st, job_from_row, out);
}

enum st sq_w_job_insert(struct sq_store *s, const struct print_job_row *j, int64_t *id)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_JOB_INSERT);
	enum st res;

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, j->depot, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->printer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, j->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, j->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, j->tracking_nos, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, j->labels);
	sqlite3_bind_int64(st, 7, j->created_at);
	res = sql_step_done(s->writer, st);
	if (res == ST_OK)
		*id = sqlite3_last_insert_rowid(s->writer->db);
	return res;
}

enum st sq_w_job_get(struct sq_store *s, int64_t id, struct print_job_row *out)
{
	return job_get(s->writer, id, out);
}

static void fill_count(sqlite3_stmt *st, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(st, 0);
}

enum st sq_w_job_open_count(struct sq_store *s, const char *depot, int64_t *n)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_JOB_OPEN_COUNT);

	*n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, depot, -1, SQLITE_STATIC);
	return sql_step_one(s->writer, st, fill_count, n);
}

enum st sq_w_job_set(struct sq_store *s, int64_t id, const char *status, const char *reason,
		     const char *detail, int attempts, int64_t bytes_sent, int64_t now)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_JOB_SET);
	enum st res;

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, attempts);
	sqlite3_bind_int64(st, 6, bytes_sent);
	sqlite3_bind_int64(st, 7, now);
	/* One daemon holds the file (db-lock): its process id names it. */
	sqlite3_bind_int64(st, 8, (sqlite3_int64)getpid());
	res = sql_step_done(s->writer, st);
	if (res == ST_OK && sqlite3_changes(s->writer->db) == 0)
		res = ST_NOTFOUND;
	return res;
}

enum st sq_w_job_interrupt(struct sq_store *s, int64_t now, int64_t *n)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_JOB_INTERRUPT);
	enum st res;

	*n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2,
			  "the daemon stopped while sending it: it may have printed, so it is "
			  "not sent again unless retried",
			  -1, SQLITE_STATIC);
	res = sql_step_done(s->writer, st);
	if (res == ST_OK)
		*n = sqlite3_changes(s->writer->db);
	return res;
}

enum st sq_w_job_purge(struct sq_store *s, int64_t before, int max, int64_t *n)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_JOB_PURGE);
	enum st res;

	*n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, max);
	res = sql_step_done(s->writer, st);
	if (res == ST_OK)
		*n = sqlite3_changes(s->writer->db);
	return res;
}

/* ---- readers ------------------------------------------------------------ */

enum st sq_job_get(struct sq_store *s, int64_t id, struct print_job_row *out)
{
	return job_get(conn_reader(s), id, out);
}

enum st sq_job_queued(struct sq_store *s, int64_t after, int64_t *ids, size_t max, size_t *n)
{
	sqlite3_stmt *st = conn_reader_stmt(s, S_JOB_QUEUED);
	int rc;

	*n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : sql_status(rc);
}
