/*
 * store_copy.h - what `waybillctl migrate` (store_migrate.c) needs of each
 * backend to copy an SQLite database into an empty PostgreSQL one: rows as
 * cells of plain values, read from SQLite (store_sq_copy.c, the SQLite
 * side) and written to PostgreSQL (store_pg_copy.c, the libpq side).  No
 * library header here: store_migrate.c sees neither sqlite3.h nor
 * libpq-fe.h.  The cells are the stored bytes; nothing is unsealed.
 */
#ifndef WAYBILL_STORE_COPY_H
#define WAYBILL_STORE_COPY_H

#include "common.h"
#include "audit.h"
#include "crypto.h"

enum copy_type { COPY_NULL, COPY_INT, COPY_REAL, COPY_TEXT, COPY_BLOB };

/* One value of a row: an integer, a real, or bytes p[0..n) (TEXT or BLOB). */
struct copy_cell {
	enum copy_type t;
	int64_t i;
	double r;
	const void *p;
	size_t n;
};

#define COPY_COLS_MAX 48
#define COPY_NAME_MAX 64

/* A table and its columns, as the source has them, in order. */
struct copy_table {
	char name[COPY_NAME_MAX];
	size_t ncols;
	char cols[COPY_COLS_MAX][COPY_NAME_MAX];
};

/* What the source's read transaction saw. */
struct copy_source_info {
	int schema_version;
	int64_t audit_entries; /* in the live chain */
	int64_t head_seq;      /* its last entry (0: none) */
	unsigned char head[HASH_BYTES];
};

typedef enum st (*copy_row_fn)(void *arg, const struct copy_cell *cells);

/* ---- the SQLite side (store_sq_copy.c) ----------------------------------- */

struct sq_copy;
/*
 * Open path read-only: refused when a waybilld holds it (its -lock file),
 * when its schema is not this version's, when it holds a table that is
 * neither in tables[0..n) nor in skip[0..nskip), when a table of tables[]
 * is missing, when an order still waits to be resealed (seal_bind = 0), or
 * when its audit chain does not verify under kr (a wrong key file).  Then
 * one read transaction: every table is read from the same snapshot.
 */
enum st sq_copy_open(const char *path, const struct keyring *kr, const char *const *tables,
		     size_t n, const char *const *skip, size_t nskip, struct sq_copy **out,
		     struct copy_source_info *info, char *err, size_t errlen);
/* The columns of table, in their order. */
enum st sq_copy_columns(struct sq_copy *c, const char *table, struct copy_table *t, char *err,
			size_t errlen);
/* Each row of t to row(); *n the rows given.  Stops at the first error row() returns. */
enum st sq_copy_rows(struct sq_copy *c, const struct copy_table *t, copy_row_fn row, void *arg,
		     int64_t *n, char *err, size_t errlen);
/* Does a waybilld hold the database now (it started during the copy)? */
bool sq_copy_daemon_runs(struct sq_copy *c);
void sq_copy_close(struct sq_copy *c);

/* ---- the PostgreSQL side (store_pg_copy.c) ------------------------------- */

struct pg_copy;
/*
 * Connect to url and begin the one transaction: the migration lock the
 * daemons take to migrate (they wait for it), then refuse a database that
 * holds waybill rows or tables that are not waybill's, then apply the
 * PostgreSQL migrations inside the transaction (this version's schema).
 */
enum st pg_copy_begin(const char *url, const char *const *tables, size_t n, struct pg_copy **out,
		      char *err, size_t errlen);
/* The next rows go to t: its columns must be PostgreSQL's, no more, no fewer. */
enum st pg_copy_table(struct pg_copy *c, const struct copy_table *t, char *err, size_t errlen);
/* One row of the current table (t->ncols cells). */
enum st pg_copy_row(void *c, const struct copy_cell *cells);
/* The error of the last failed pg_copy_row, into err. */
void pg_copy_error(struct pg_copy *c, char *err, size_t errlen);
/* How many rows table holds now, in the transaction. */
enum st pg_copy_count(struct pg_copy *c, const char *table, int64_t *n, char *err, size_t errlen);
/*
 * Finish: identity sequences past the copied ids, audit_head at the
 * copied chain's head, then e appended to the chain (its seq, prev and hash
 * are set here; *e gets them), the whole chain walked under kr, and COMMIT.
 * Anything failing rolls the whole transaction back.
 */
enum st pg_copy_finish(struct pg_copy *c, const struct keyring *kr,
		       const struct copy_source_info *src, struct audit_entry *e,
		       int64_t *entries_after, char *err, size_t errlen);
/* Roll back (when not committed) and disconnect. */
void pg_copy_close(struct pg_copy *c);

#endif
