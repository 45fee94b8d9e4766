/*
 * store_migrate.c - `waybillctl migrate --to postgresql://...`: an SQLite
 * database copied into an empty PostgreSQL one, table by table, as stored.
 *
 * Nothing is unsealed or resealed.  A sealed blob and its wrapped data key
 * are bound to "TN|depot|creator|version" (order.c), never to a row id,
 * a file or a backend, so the bytes that open on SQLite open on
 * PostgreSQL; the blind indexes, token hashes and body digests are keyed
 * hashes of values, not of where they are kept.  The audit entries keep
 * their seq, prev and hash, so the chain, its signed checkpoints and an
 * archive's continuation verify unchanged; order ids are kept (audit's
 * order_id and vnum_bindings' order_id name them).  Key versions live in
 * the key file, which both daemons read; the rows name theirs.
 *
 * The source is read in one read transaction (store_sq_copy.c), the target
 * written in one transaction (store_pg_copy.c), committed only after the
 * copied chain, with the migration's own entry at its end, walked clean.
 */
#include "common.h"
#include "store.h"
#include "store_copy.h"
#include "store_ops.h"

#include <time.h>

/*
 * Every table the daemon keeps in SQLite, in an order the foreign keys
 * allow (vnum_bindings names orders).  A table SQLite's schema gains must
 * be added here or to store_migrate_skip: migrate refuses a source holding
 * one it does not know, and test_migrate checks this list against the
 * schema that the migrations build.
 */
const char *const store_migrate_tables[] = {
    "accounts",	     /* tokens (keyed hashes), roles, sealed phones */
    "orders",	     /* clear columns, sealed blobs, reprint counts, idempotency keys, routes */
    "vnum_numbers",  /* the pool: held counts, where the next search starts */
    "vnum_bindings", /* virtual-number bindings */
    "admin_reveals", /* the reveal quota, per admin and day */
    "audit_base",    /* the signed archive checkpoint the live chain continues from */
    "audit",	     /* the chain, seq, prev and hash as they are */
    "print_jobs",    /* print jobs and their outcomes */
};
const size_t store_migrate_tables_n = ARRAY_SIZE(store_migrate_tables);

/* schema_migrations: PostgreSQL records its own (waybill_schema); the versions must match. */
const char *const store_migrate_skip[] = {"schema_migrations"};
const size_t store_migrate_skip_n = ARRAY_SIZE(store_migrate_skip);

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* PostgreSQL's messages run over lines (DETAIL:, HINT:): the error is one line. */
static void one_line(char *s)
{
	size_t j = 0;

	for (size_t i = 0; s[i]; i++) {
		char ch = s[i] == '\n' || s[i] == '\t' ? ' ' : s[i];
		if (ch == ' ' && (j == 0 || s[j - 1] == ' '))
			continue;
		s[j++] = ch;
	}
	while (j && s[j - 1] == ' ')
		j--;
	s[j] = '\0';
}

enum st store_migrate(const char *from, const char *url, const struct keyring *kr,
		      const char *actor, struct migrate_report *out, char *err, size_t errlen)
{
	struct sq_copy *src = NULL;
	struct pg_copy *dst = NULL;
	struct copy_source_info info;
	struct copy_table t;
	double t0 = now_s();
	size_t off = 0;
	enum st st;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (store_migrate_tables_n > MIGRATE_TABLES_MAX)
		return ST_INTERNAL;
	if (!store_is_pg(url)) {
		snprintf(err, errlen,
			 "--to wants a PostgreSQL URL (postgresql://... or postgres://...)");
		return ST_INVALID;
	}
	st = sq_copy_open(from, kr, store_migrate_tables, store_migrate_tables_n,
			  store_migrate_skip, store_migrate_skip_n, &src, &info, err, errlen);
	if (st != ST_OK) {
		one_line(err);
		return st;
	}
	out->schema_version = info.schema_version;
	st = pg_copy_begin(url, store_migrate_tables, store_migrate_tables_n, &dst, err, errlen);
	for (size_t i = 0; st == ST_OK && i < store_migrate_tables_n; i++) {
		int64_t have = 0;

		st = sq_copy_columns(src, store_migrate_tables[i], &t, err, errlen);
		if (st == ST_OK)
			st = pg_copy_table(dst, &t, err, errlen);
		if (st == ST_OK) {
			st = sq_copy_rows(src, &t, pg_copy_row, dst, &out->rows[i], err, errlen);
			if (st != ST_OK && !err[0])
				pg_copy_error(dst, err, errlen);
		}
		if (st == ST_OK)
			st = pg_copy_count(dst, t.name, &have, err, errlen);
		if (st == ST_OK && have != out->rows[i]) {
			snprintf(err, errlen, "target: %s holds %lld rows, the source %lld", t.name,
				 (long long)have, (long long)out->rows[i]);
			st = ST_INTERNAL;
		}
		out->total += out->rows[i];
	}
	if (st == ST_OK && sq_copy_daemon_runs(src)) {
		snprintf(err, errlen,
			 "source: a waybilld started on it during the copy; nothing was written");
		st = ST_UNAVAILABLE;
	}
	if (st == ST_OK) {
		struct audit_entry *e = &out->entry;

		audit_entry_init(e, actor, "operator", "store.migrate", NULL, NULL);
		off = (size_t)snprintf(e->reason, sizeof(e->reason),
				       "from SQLite, schema %d:", info.schema_version);
		for (size_t i = 0; i < store_migrate_tables_n && off < sizeof(e->reason); i++)
			off +=
			    (size_t)snprintf(e->reason + off, sizeof(e->reason) - off, " %s %lld",
					     store_migrate_tables[i], (long long)out->rows[i]);
		st = pg_copy_finish(dst, kr, &info, e, &out->entries, err, errlen);
	}
	pg_copy_close(dst);
	sq_copy_close(src);
	out->seconds = now_s() - t0;
	if (st != ST_OK && !err[0])
		snprintf(err, errlen, "%s", st_name(st));
	one_line(err);
	return st;
}
