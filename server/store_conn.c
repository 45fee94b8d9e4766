/*
 * store_conn.c - the SQLite backend's connections and statements: the
 * statement table, opening a connection (pragmas, the "waybill" VFS), the
 * per-thread readers, the plan guard, migrations, the quick check, and
 * store_open/store_close.  See store.h for the shape.
 *
 * Connections: one writer (owned by the writer thread) and one reader per
 * thread that reads, made on first use and closed by sq_close().  Every
 * statement is prepared once per connection (SQLITE_PREPARE_PERSISTENT) and
 * reset after each use.
 */
#include "common.h"
#include "store_int.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#define ORDER_COLS                                                                                 \
	"id, tracking_no, status, created_at, updated_at, ended_at, depot, creator, courier, "     \
	"origin_province, origin_city, origin_district, dest_province, dest_city, "                \
	"dest_district, weight_g, count, vnum, ext, print_count, retain_until, erased_at, "        \
	"kek_version, seal_version, wrapped_dek, sealed, seal_bind, sort_code, hub_code, hub_name"
/* The same columns without the wrapped key and the sealed blob: lists open nothing. */
#define ORDER_COLS_CLEAR                                                                           \
	"id, tracking_no, status, created_at, updated_at, ended_at, depot, creator, courier, "     \
	"origin_province, origin_city, origin_district, dest_province, dest_city, "                \
	"dest_district, weight_g, count, vnum, ext, print_count, retain_until, erased_at, "        \
	"kek_version, seal_version, NULL, NULL, seal_bind, sort_code, hub_code, hub_name"
#define ACCOUNT_COLS                                                                               \
	"id, name, role, depot, disabled, created_at, phone_index, phone_kek_version, "            \
	"phone_seal_version, phone_wrapped_dek, phone_sealed"
#define AUDIT_COLS                                                                                 \
	"seq, ts, actor, role, action, tracking_no, reason, result, request_id, prev, hash"

static const char *const sql_text[NSTMT] = {
    [S_ACCOUNT_BY_TOKEN] = "SELECT " ACCOUNT_COLS ", token_hash FROM accounts "
			   "WHERE token_hash = ?1",
    [S_ACCOUNT_BY_NAME] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE name = ?1",
    [S_ACCOUNT_ALL] = "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY name",
    [S_ACCOUNT_INSERT] = "INSERT INTO accounts (name, role, depot, token_hash, disabled, "
			 "created_at, phone_index, phone_kek_version, phone_seal_version, "
			 "phone_wrapped_dek, phone_sealed) "
			 "VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_ACCOUNT_DISABLE] = "UPDATE accounts SET disabled = 1 WHERE name = ?1",
    [S_ACCOUNT_TOKEN] = "UPDATE accounts SET token_hash = ?2 WHERE name = ?1",
    [S_ORDER_BY_TN] = "SELECT " ORDER_COLS " FROM orders WHERE tracking_no = ?1",
    /* A list cursor: one of the caller's own orders (?3: 1 for a depot, 0 for a courier). */
    [S_LIST_AFTER] = "SELECT id FROM orders WHERE tracking_no = ?1 AND ((?3 = 1 AND depot = ?2) "
		     "OR (?3 = 0 AND (creator = ?2 OR courier = ?2)))",
    [S_ORDER_BY_IDEM] = "SELECT tracking_no, body_digest FROM orders "
			"WHERE creator = ?1 AND idem_key = ?2",
    [S_ORDER_INSERT] =
	"INSERT INTO orders (tracking_no, status, created_at, updated_at, depot, creator, "
	"idem_key, body_digest, origin_province, origin_city, origin_district, "
	"dest_province, dest_city, dest_district, weight_g, count, vnum, ext, "
	"kek_version, seal_version, wrapped_dek, sealed, seal_bind, sort_code, hub_code, hub_name) "
	"VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
	"?18, ?19, ?20, ?21, ?22, NULLIF(?23, ''), NULLIF(?24, ''), NULLIF(?25, ''))",
    [S_ORDER_STATUS] = "UPDATE orders SET status = ?2, updated_at = ?3, ended_at = ?4, "
		       "retain_until = ?5 WHERE id = ?1",
    [S_ORDER_COURIER] = "UPDATE orders SET courier = ?2, updated_at = ?3 WHERE id = ?1",
    [S_ORDER_PRINTS] = "UPDATE orders SET print_count = ?2 WHERE id = ?1",
    [S_LIST_DEPOT] = "SELECT " ORDER_COLS_CLEAR " FROM orders WHERE depot = ?1 AND id > ?2 "
		     "AND (?3 IS NULL OR status = ?3) ORDER BY id LIMIT ?4",
    /*
     * Created by or assigned to the courier: each side walks its own index
     * in id order and stops at the page's length, so a page costs the same
     * for a courier with a million orders as with ten.  (With OR, SQLite
     * collected and sorted every matching order before taking a page.)
     */
    [S_LIST_COURIER] = "SELECT " ORDER_COLS_CLEAR " FROM orders WHERE id IN ("
		       "SELECT id FROM (SELECT id FROM orders WHERE creator = ?1 AND id > ?2 "
		       "AND (?3 IS NULL OR status = ?3) ORDER BY id LIMIT ?4) UNION "
		       "SELECT id FROM (SELECT id FROM orders WHERE courier = ?1 AND id > ?2 "
		       "AND (?3 IS NULL OR status = ?3) ORDER BY id LIMIT ?4)) "
		       "ORDER BY id LIMIT ?4",
    [S_AUDIT_HEAD] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [S_AUDIT_INSERT] = "INSERT INTO audit (" AUDIT_COLS ", order_id) VALUES (?1, ?2, ?3, ?4, ?5, "
		       "NULLIF(?6, ''), NULLIF(?7, ''), ?8, NULLIF(?9, ''), ?10, ?11, "
		       "(SELECT id FROM orders WHERE tracking_no = NULLIF(?6, '')))",
    /* The same with the order's row id given: no look-up in the tracking-number index. */
    [S_AUDIT_INSERT_ID] = "INSERT INTO audit (" AUDIT_COLS ", order_id) VALUES (?1, ?2, ?3, ?4, "
			  "?5, NULLIF(?6, ''), NULLIF(?7, ''), ?8, NULLIF(?9, ''), ?10, ?11, ?12)",
    [S_AUDIT_LIST] = "SELECT " AUDIT_COLS " FROM audit WHERE (?2 IS NULL OR actor = ?2) "
		     "AND (?3 IS NULL OR ts >= ?3) AND seq > ?4 ORDER BY seq LIMIT ?5",
    /* An order's entries through its row id; a tracking number without an order, directly. */
    [S_AUDIT_LIST_TN] = "SELECT " AUDIT_COLS " FROM audit WHERE seq IN ("
			"SELECT seq FROM audit WHERE order_id = (SELECT id FROM orders WHERE "
			"tracking_no = ?1) AND tracking_no = ?1 UNION ALL "
			"SELECT seq FROM audit WHERE order_id IS NULL AND tracking_no = ?1) "
			"AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR ts >= ?3) AND seq > ?4 "
			"ORDER BY seq LIMIT ?5",
    [S_AUDIT_ALL] = "SELECT " AUDIT_COLS " FROM audit WHERE seq > ?1 ORDER BY seq",
    [S_ORDER_BY_ID] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?1",
    [S_ORDER_BINDING] = "UPDATE orders SET vnum = ?2, ext = ?3 WHERE id = ?1",
    [S_VNUM_OUT] = "UPDATE vnum_numbers SET in_pool = 0",
    [S_VNUM_IN] = "INSERT INTO vnum_numbers (vnum, in_pool) VALUES (?1, 1) "
		  "ON CONFLICT (vnum) DO UPDATE SET in_pool = 1",
    [S_VNUM_LIST] = "SELECT vnum FROM vnum_numbers WHERE in_pool = 1",
    [S_VNUM_ROOM] = "SELECT vnum, held FROM vnum_numbers WHERE in_pool = 1 AND held < ?1",
    [S_VNUM_SLOT] = "SELECT id, reusable_at FROM vnum_bindings WHERE vnum = ?1 AND ext = ?2 "
		    "AND released = 0",
    [S_VNUM_EXTS] = "SELECT ext, reusable_at FROM vnum_bindings WHERE vnum = ?1 AND "
		    "released = 0",
    /* The numbers on which a call back from this recipient could match a binding
     * (vnum_bindings_holder, covering). */
    [S_VNUM_CLASH] = "SELECT DISTINCT vnum FROM vnum_bindings WHERE recipient_index = ?1 AND "
		     "released = 0 AND (active_until IS NULL OR active_until > ?2) LIMIT ?3",
    [S_VNUM_HOLD] = "UPDATE vnum_numbers SET held = held + ?2 WHERE vnum = ?1",
    [S_BIND_INSERT] = "INSERT INTO vnum_bindings (vnum, ext, order_id, recipient_index, "
		      "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    /* An open binding holds its extension: released = 0 (and so uses vnum_bindings_held). */
    [S_BIND_RECIPIENT] = "SELECT recipient_index FROM vnum_bindings WHERE vnum = ?1 AND "
			 "ext = ?2 AND released = 0 AND order_id = ?3 AND reusable_at IS NULL",
    /* Ended at once (?4 <= ?6, now): it routes no call again, so the phone hash goes. */
    [S_BIND_END] = "UPDATE vnum_bindings SET active_until = ?4, reusable_at = ?5, "
		   "recipient_index = CASE WHEN ?4 <= ?6 THEN NULL ELSE recipient_index END "
		   "WHERE vnum = ?1 AND ext = ?2 AND released = 0 AND order_id = ?3 AND "
		   "reusable_at IS NULL",
    [S_BIND_DUE] = "SELECT id, vnum FROM vnum_bindings WHERE released = 0 AND "
		   "reusable_at < ?1 LIMIT 1000",
    [S_BIND_RELEASE] = "UPDATE vnum_bindings SET released = 1, recipient_index = NULL "
		       "WHERE id = ?1",
    [S_VNUM_RELEASE] = "UPDATE vnum_numbers SET held = max(held - 1, 0) WHERE vnum = ?1",
    [S_BIND_FIND] = "SELECT order_id, active_until FROM vnum_bindings WHERE vnum = ?1 AND "
		    "ext = ?2 AND released = 0 AND (active_until IS NULL OR active_until > ?3)",
    [S_BIND_CALLBACK] = "SELECT order_id FROM vnum_bindings WHERE vnum = ?1 AND "
			"recipient_index = ?2 AND released = 0 AND "
			"(active_until IS NULL OR active_until > ?3) LIMIT ?4",
    [S_VNUM_STATS] = "SELECT (SELECT count(*) FROM vnum_bindings WHERE released = 0 AND "
		     "(active_until IS NULL OR active_until > ?1)), "
		     "(SELECT coalesce(sum(held), 0) FROM vnum_numbers WHERE in_pool = 1), "
		     "(SELECT count(*) FROM vnum_numbers WHERE in_pool = 1)",
    [S_REVEAL_GET] = "SELECT count FROM admin_reveals WHERE actor = ?1 AND day = ?2",
    [S_REVEAL_PUT] = "INSERT INTO admin_reveals (actor, day, count) VALUES (?1, ?2, 1) "
		     "ON CONFLICT (actor, day) DO UPDATE SET count = count + 1",
    [S_REVEAL_GIVE] = "UPDATE admin_reveals SET count = count - 1 "
		      "WHERE actor = ?1 AND day = ?2 AND count > 0",
    [S_PURGE_DUE] = "SELECT id, vnum, ext FROM orders WHERE retain_until IS NOT NULL AND "
		    "retain_until <= ?1 AND sealed IS NOT NULL LIMIT ?2",
    [S_PURGE_ERASE] = "UPDATE orders SET sealed = NULL, wrapped_dek = NULL, body_digest = NULL, "
		      "erased_at = ?2 WHERE id = ?1",
    /* Only the binding the order names can still hold the hash (see S_BIND_END). */
    [S_PURGE_UNBIND] = "UPDATE vnum_bindings SET recipient_index = NULL WHERE vnum = ?2 AND "
		       "ext = ?3 AND released = 0 AND order_id = ?1",
    [S_PURGE_COUNT] = "SELECT count(*) FROM orders WHERE retain_until IS NOT NULL AND "
		      "retain_until <= ?1 AND sealed IS NOT NULL",
    /* Orders that never reached a final state, created at or before ?1 (orders_open_age). */
    [S_PURGE_DUE_OPEN] = "SELECT id, vnum, ext FROM orders WHERE retain_until IS NULL AND "
			 "sealed IS NOT NULL AND created_at <= ?1 ORDER BY created_at LIMIT ?2",
    /* Their binding was never ended: it ends now (?4) and rests until ?5. */
    [S_PURGE_END_OPEN] = "UPDATE vnum_bindings SET active_until = ?4, reusable_at = ?5, "
			 "recipient_index = NULL WHERE vnum = ?2 AND ext = ?3 AND released = 0 "
			 "AND order_id = ?1 AND reusable_at IS NULL",
    [S_PURGE_COUNT_OPEN] = "SELECT count(*) FROM orders WHERE retain_until IS NULL AND "
			   "sealed IS NOT NULL AND created_at <= ?1",
    /* From where the last batch stopped (?3), so a pass over the orders is one walk. */
    [S_REWRAP_DUE] = "SELECT id, tracking_no, kek_version, wrapped_dek, depot, creator, "
		     "seal_bind FROM orders WHERE "
		     "id > ?3 AND wrapped_dek IS NOT NULL AND kek_version <> ?1 ORDER BY id "
		     "LIMIT ?2",
    [S_REWRAP_SET] = "UPDATE orders SET kek_version = ?2, wrapped_dek = ?3 WHERE id = ?1",
    [S_REWRAP_ACCT_DUE] = "SELECT id, name, phone_kek_version, phone_wrapped_dek FROM accounts "
			  "WHERE id > ?3 AND phone_wrapped_dek IS NOT NULL AND "
			  "phone_kek_version <> ?1 ORDER BY id LIMIT ?2",
    [S_REWRAP_ACCT_SET] = "UPDATE accounts SET phone_kek_version = ?2, phone_wrapped_dek = ?3 "
			  "WHERE id = ?1",
    [S_KEK_USE] = "SELECT (SELECT count(*) FROM orders WHERE wrapped_dek IS NOT NULL AND "
		  "kek_version = ?1) + (SELECT count(*) FROM accounts WHERE "
		  "phone_wrapped_dek IS NOT NULL AND phone_kek_version = ?1)",
    [S_AUDIT_SINCE] = "SELECT " AUDIT_COLS " FROM audit WHERE ts >= ?1 ORDER BY seq",
    [S_AUDIT_AT] = "SELECT hash FROM audit WHERE seq = ?1",
    /*
     * order_id is a look-up aid outside the MAC: an entry whose order_id
     * is not the row of the order its (covered) tracking number names would
     * drop out of S_AUDIT_LIST_TN.  The first such entry, or NULL.  Tracking
     * numbers are unique, so "the row order_id names has this tracking
     * number" says the same, and walking the table in seq order it reaches
     * orders by row id, nearly in order: measured on a million entries,
     * 0.3 s more than the walk's own scan, against 0.9 s through the
     * tracking-number index.
     */
    [S_AUDIT_LINK_BAD] = "SELECT min(seq) FROM audit a NOT INDEXED WHERE order_id IS NOT NULL "
			 "AND seq > ?1 AND tracking_no IS NOT (SELECT tracking_no FROM "
			 "orders o WHERE o.id = a.order_id)",
    /* Rows from before migration 0009 (orders_seal_legacy), after the cursor ?2. */
    [S_RESEAL_DUE] = "SELECT id, tracking_no, depot, creator, kek_version, seal_version, "
		     "wrapped_dek, sealed, idem_key FROM orders WHERE seal_bind = 0 AND id > ?2 "
		     "ORDER BY id LIMIT ?1",
    [S_RESEAL_SET] = "UPDATE orders SET kek_version = ?2, seal_version = ?3, wrapped_dek = ?4, "
		     "sealed = ?5, idem_key = ?6, seal_bind = 1 WHERE id = ?1",
    /* Erased (nothing to reseal: bound from now on), or not openable (stays 0). */
    [S_RESEAL_IDEM] = "UPDATE orders SET idem_key = ?2, seal_bind = ?3 WHERE id = ?1",
    /* Print jobs (store_jobs.c).  Open jobs through print_jobs_open, finished ones through
     * print_jobs_done: each query repeats its index's condition so SQLite can use it. */
    [S_JOB_INSERT] =
	"INSERT INTO print_jobs (depot, printer, actor, role, tracking_nos, labels, "
	"status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, "
	"?7)",
    [S_JOB_GET] =
	"SELECT id, depot, printer, actor, role, tracking_nos, labels, status, reason, "
	"detail, attempts, bytes_sent, created_at, updated_at FROM print_jobs WHERE id = ?1",
    [S_JOB_OPEN_COUNT] = "SELECT count(*) FROM print_jobs WHERE depot = ?1 AND "
			 "status IN ('queued', 'sending')",
    /* ?8: this daemon (schema/0013): a job it marks sending is its own, and
     * only its owner writes how it ended */
    [S_JOB_SET] = "UPDATE print_jobs SET status = ?2, reason = NULLIF(?3, ''), "
		  "detail = NULLIF(?4, ''), attempts = ?5, bytes_sent = ?6, updated_at = ?7, "
		  "owner = CASE WHEN ?2 = 'sending' THEN ?8 ELSE owner END WHERE id = ?1 AND "
		  "(?2 NOT IN ('sent', 'failed') OR (status IN ('sending', 'interrupted') AND "
		  "owner = ?8))",
    [S_JOB_INTERRUPT] = "UPDATE print_jobs SET status = 'interrupted', reason = 'interrupted', "
			"detail = ?2, updated_at = ?1 WHERE status IN ('queued', 'sending') AND "
			"status = 'sending'",
    [S_JOB_QUEUED] = "SELECT id FROM print_jobs WHERE status IN ('queued', 'sending') AND "
		     "status = 'queued' AND id > ?1 ORDER BY id LIMIT ?2",
    [S_JOB_PURGE] = "DELETE FROM print_jobs WHERE id IN (SELECT id FROM print_jobs WHERE "
		    "status IN ('sent', 'failed', 'interrupted') AND updated_at < ?1 LIMIT ?2)",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT job",
    [S_ROLLBACK_TO] = "ROLLBACK TO job",
    [S_RELEASE] = "RELEASE job",
};

/* ---- connections ----------------------------------------------------- */

enum st sql_status(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return ST_OK;
	case SQLITE_NOMEM:
		return ST_NOMEM;
	case SQLITE_CONSTRAINT:
		return ST_CONFLICT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		return ST_UNAVAILABLE;
	default:
		return ST_IO;
	}
}

sqlite3_stmt *sql_stmt(struct conn *c, enum stmt id)
{
	if (!c->st[id]) {
		int rc = sqlite3_prepare_v3(c->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &c->st[id], NULL);
		if (rc != SQLITE_OK) {
			log_error("store: prepare %d: %s", (int)id, sqlite3_errmsg(c->db));
			return NULL;
		}
	}
	return c->st[id];
}

void conn_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < NSTMT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

enum st sql_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return sql_status(rc) == ST_OK ? ST_IO : sql_status(rc);
	}
	return ST_OK;
}

/*
 * Pragmas are set explicitly: this machine's SQLite build defaults are not
 * what we promise (a 201 survives a power cut; erased bytes leave the file).
 */
static const char pragmas[] =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA synchronous = FULL;"
    "PRAGMA secure_delete = ON;"
    "PRAGMA foreign_keys = ON;"
    "PRAGMA trusted_schema = OFF;"
    /* Each job runs in a savepoint: its rollback journal stays in memory. */
    "PRAGMA temp_store = MEMORY;"
    "PRAGMA cache_size = -16384;"; /* 16 MiB per connection */

enum st conn_open(const char *path, bool create, struct conn **out, char *err, size_t errlen)
{
	struct conn *c = calloc(1, sizeof(*c));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	*out = NULL;
	if (!c)
		return ST_NOMEM;
	rc = sqlite3_open_v2(path, &c->db, flags, walbuf_vfs_name());
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", path,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		conn_close(c);
		return ST_IO;
	}
	sqlite3_extended_result_codes(c->db, 0);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);

	if (sql_exec(c->db, pragmas, err, errlen) != ST_OK) {
		conn_close(c);
		return ST_IO;
	}
	/* The gathered log writes rely on it (see walbuf_file). */
	sqlite3_stmt *st = NULL;
	bool full = sqlite3_prepare_v2(c->db, "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 2;
	sqlite3_finalize(st);
	if (!full) {
		snprintf(err, errlen, "database %s: synchronous is not FULL", path);
		conn_close(c);
		return ST_IO;
	}
	*out = c;
	return ST_OK;
}

/* The calling thread's reader, made on first use. */
struct conn *conn_reader(struct sq_store *s)
{
	struct conn *c = pthread_getspecific(s->reader_key);
	char err[256];

	if (c)
		return c;
	if (conn_open(s->path, false, &c, err, sizeof(err)) != ST_OK) {
		log_error("store: reader: %s", err);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	c->next = s->readers;
	s->readers = c;
	pthread_mutex_unlock(&s->lock);
	pthread_setspecific(s->reader_key, c);
	return c;
}

sqlite3_stmt *conn_reader_stmt(struct sq_store *s, enum stmt id)
{
	struct conn *c = conn_reader(s);

	return c ? sql_stmt(c, id) : NULL;
}

/* ---- row helpers ----------------------------------------------------- */

/*
 * Statements that may walk a whole big table: the chain's head is its last
 * row, `audit verify` and `audit export` read the chain, and a key is retired
 * (waybillctl) only after counting what it still wraps.  Any other statement
 * must reach orders, audit and vnum_bindings through an index: a slip here
 * passes every test on a small database and stalls the daemon on a big one,
 * so sq_plans_check() holds each plan to it.
 */
static const bool scan_ok[NSTMT] = {
    [S_AUDIT_HEAD] = true,     [S_AUDIT_ALL] = true, [S_AUDIT_SINCE] = true,
    [S_AUDIT_LINK_BAD] = true, /* each entry's order_id, against orders by tracking_no */
    [S_KEK_USE] = true,
};

enum st sq_plans_check(struct sq_store *s, char *bad, size_t badlen)
{
	static const char *const big[] = {"orders", "audit", "vnum_bindings"};
	struct conn *c = conn_reader(s);

	if (!c)
		return ST_IO;
	for (int id = 0; id < NSTMT; id++) {
		char sql[2048];
		sqlite3_stmt *st;
		int rc;

		/* BEGIN, SAVEPOINT and the like have no plan. */
		if (scan_ok[id] || (strncmp(sql_text[id], "SELECT", 6) != 0 &&
				    strncmp(sql_text[id], "UPDATE", 6) != 0 &&
				    strncmp(sql_text[id], "INSERT", 6) != 0))
			continue;
		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", sql_text[id]);
		if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
			snprintf(bad, badlen, "%s: %s", sql_text[id], sqlite3_errmsg(c->db));
			return ST_INTERNAL;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(st, 3);
			for (size_t i = 0; d && i < ARRAY_SIZE(big); i++) {
				size_t n = strlen(big[i]);
				if (strncmp(d, "SCAN ", 5) == 0 && strncmp(d + 5, big[i], n) == 0 &&
				    (d[5 + n] == '\0' || d[5 + n] == ' ') &&
				    !strstr(d, " USING ")) {
					snprintf(bad, badlen, "%s: %s", sql_text[id], d);
					sqlite3_finalize(st);
					return ST_INTERNAL;
				}
			}
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return ST_IO;
	}
	return ST_OK;
}

void sql_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

void sql_cols_text(sqlite3_stmt *st, const struct sql_text_col *cols, size_t n, void *row)
{
	for (size_t k = 0; k < n; k++)
		sql_col_text(st, cols[k].col, (char *)row + cols[k].off, cols[k].cap);
}

bool sql_col_blob(sqlite3_stmt *st, int i, void *dst, size_t size)
{
	const void *b = sqlite3_column_blob(st, i);

	if (!b || (size_t)sqlite3_column_bytes(st, i) != size)
		return false;
	memcpy(dst, b, size);
	return true;
}

void sql_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Step a statement that yields at most one row into fill(); then reset. */
enum st sql_step_one(struct conn *c, sqlite3_stmt *st, void (*fill)(sqlite3_stmt *, void *),
		     void *arg)
{
	int rc = sqlite3_step(st);
	enum st res;

	if (rc == SQLITE_ROW) {
		fill(st, arg);
		res = ST_OK;
	} else if (rc == SQLITE_DONE) {
		res = ST_NOTFOUND;
	} else {
		log_error("store: step: %s", sqlite3_errmsg(c->db));
		res = sql_status(rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return res;
}

/*
 * Step a statement for at most one row that take() reads (true: it was the
 * row wanted); then reset.  ST_OK, ST_NOTFOUND (no row, or take said no),
 * ST_IO on any other step result.
 */
enum st sql_step_take(sqlite3_stmt *st, bool (*take)(sqlite3_stmt *, void *), void *arg)
{
	int rc = sqlite3_step(st);
	enum st res = ST_NOTFOUND;

	if (rc == SQLITE_ROW && take(st, arg))
		res = ST_OK;
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = ST_IO;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return res;
}

/* Step a statement that yields no rows; then reset. */
enum st sql_step_done(struct conn *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	enum st res = ST_OK;

	if (rc != SQLITE_DONE) {
		/* A full disk is the writer's to report, once (see wfail_set). */
		if (rc != SQLITE_CONSTRAINT && rc != SQLITE_FULL)
			log_error("store: step: %s", sqlite3_errmsg(c->db));
		res = sql_status(rc);
		if (res == ST_OK)
			res = ST_IO;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return res;
}

/* ---- migrations and checks ------------------------------------------- */

static enum st migrate(struct conn *c, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int have = 0;
	enum st res;

	res = sql_exec(
	    c->db,
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
	    err, errlen);
	if (res != ST_OK)
		return res;
	if (sqlite3_prepare_v2(c->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
			       &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(c->db));
		return ST_IO;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);

	for (size_t i = 0; i < schema_migrations_count; i++) {
		const struct migration *m = &schema_migrations[i];
		char rec[256], msg[256];

		if (m->version <= have)
			continue;
		if (sql_exec(c->db, "BEGIN IMMEDIATE", err, errlen) != ST_OK)
			return ST_IO;
		snprintf(rec, sizeof(rec),
			 "INSERT INTO schema_migrations VALUES (%d, '%s', strftime('%%s','now'))",
			 m->version, m->name);
		if (sql_exec(c->db, m->sql, msg, sizeof(msg)) != ST_OK ||
		    sql_exec(c->db, rec, msg, sizeof(msg)) != ST_OK ||
		    sql_exec(c->db, "COMMIT", msg, sizeof(msg)) != ST_OK) {
			snprintf(err, errlen, "migration %04d-%s: %s", m->version, m->name, msg);
			sql_exec(c->db, "ROLLBACK", msg, sizeof(msg));
			return ST_IO;
		}
		log_info("store: applied migration %04d-%s", m->version, m->name);
	}
	return ST_OK;
}

enum st conn_quick_check(struct conn *c, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	enum st res = ST_IO;

	if (sqlite3_prepare_v2(c->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "quick_check: %s", sqlite3_errmsg(c->db));
		return ST_IO;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		if (t && strcmp((const char *)t, "ok") == 0)
			res = ST_OK;
		else
			snprintf(err, errlen, "database fails its quick check: %s",
				 t ? (const char *)t : "?");
	} else {
		snprintf(err, errlen, "quick_check: %s", sqlite3_errmsg(c->db));
	}
	sqlite3_finalize(st);
	return res;
}

enum st sq_quick_check(struct sq_store *s, char *err, size_t errlen)
{
	struct conn *c = conn_reader(s);

	if (!c) {
		snprintf(err, errlen, "quick_check: no reader connection");
		return ST_IO;
	}
	return conn_quick_check(c, err, errlen);
}

static int64_t path_bytes(const char *path, const char *suffix)
{
	char p[600];
	struct stat sb;

	if (snprintf(p, sizeof(p), "%s%s", path, suffix) >= (int)sizeof(p) || stat(p, &sb) != 0)
		return 0;
	return (int64_t)sb.st_size;
}

enum st sq_sizes(struct sq_store *s, int64_t *db, int64_t *wal)
{
	*db = path_bytes(s->path, "");
	*wal = path_bytes(s->path, "-wal");
	return ST_OK;
}

/* ---- open and close -------------------------------------------------- */

enum st sq_store_open(const char *path, enum store_mode mode, const struct keyring *kr,
		      struct store **out, char *err, size_t errlen)
{
	struct sq_store *s = calloc(1, sizeof(*s));
	struct audit_check chk = {0};
	char hex[HASH_BYTES * 2 + 1];
	enum st st;

	*out = NULL;
	if (!s)
		return ST_NOMEM;
	if (sqlite3_threadsafe() == 0) {
		snprintf(err, errlen, "SQLite was built without thread support");
		free(s);
		return ST_INTERNAL;
	}
	s->base.ops = &sq_ops;
	s->kr = kr;
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->txn_lock, NULL);
	pthread_mutex_init(&s->wfail_lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->ckpt_wake, NULL);
	pthread_cond_init(&s->ckpt_idle, NULL);
	pthread_key_create(&s->reader_key, NULL);

	char lockfile[sizeof(s->path) + 8];
	snprintf(lockfile, sizeof(lockfile), "%s-lock", s->path);
	s->guard_fd = open(lockfile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->guard_fd < 0) {
		snprintf(err, errlen, "%s: %s", lockfile, strerror(errno));
		st = ST_IO;
		goto fail;
	}
	s->tool = mode == STORE_TOOL;
	if (!s->tool && !guard_lock(s, GUARD_DAEMON, F_WRLCK, false)) {
		snprintf(err, errlen, "%s: another waybilld has this database open", path);
		st = ST_UNAVAILABLE;
		goto fail;
	}
	/* The log may be whole: no PASSIVE checkpoint before our first write. */
	s->ckpt_gate = true;
	s->ckpt_seen = guard_count(s, false);
	st = conn_open(path, true, &s->writer, err, errlen);
	if (st != ST_OK)
		goto fail;
	/* A daemon runs it beside serving (store_quick_check): it reads the whole file. */
	st = s->tool ? conn_quick_check(s->writer, err, errlen) : ST_OK;
	if (st != ST_OK)
		goto fail;
	if (!guard_lock(s, GUARD_SECTION, F_WRLCK, true)) {
		snprintf(err, errlen, "%s-lock: cannot lock it", path);
		st = ST_IO;
		goto fail;
	}
	st = migrate(s->writer, err, errlen);
	guard_lock(s, GUARD_SECTION, F_UNLCK, false);
	if (st != ST_OK)
		goto fail;
	/*
	 * A tool walks the whole chain before it appends to it.  A daemon's
	 * start walks only what follows the last signed checkpoint (auditcp.c),
	 * so that a start costs the same after years of entries; the whole
	 * walk then runs beside the serving daemon.
	 */
	st = s->tool ? chain_walk(kr, s->writer, 0, NULL, NULL, 0, &chk) : ST_OK;
	if (st != ST_OK) {
		snprintf(err, errlen, "audit chain: cannot read it");
		goto fail;
	}
	if (s->tool && !chk.ok) {
		snprintf(err, errlen,
			 "audit chain broken at seq %lld (after %lld good entries): %s",
			 (long long)chk.bad_seq, (long long)chk.entries, chk.why);
		st = ST_CRYPTO;
		goto fail;
	}
	/* Logged only at debug: a daemon's start may still refuse on its checkpoints. */
	if (s->tool) {
		crypto_hex(chk.head, HASH_BYTES, hex);
		log_debug("store: %s: audit chain verified, %lld entries, head %s", path,
			  (long long)chk.entries, hex);
	}
	s->ckpt_frames = CKPT_FRAMES_LONG;
	/* Checkpoints are ours to run (see "Checkpoints"), never SQLite's own. */
	st = sql_exec(s->writer->db, "PRAGMA wal_autocheckpoint = 0", err, errlen);
	if (st != ST_OK)
		goto fail;
	sqlite3_wal_hook(s->writer->db, ckpt_wal_hook, s);
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		st = ST_INTERNAL;
		goto fail;
	}
	s->thread_started = true;
	if (!s->tool) {
		st = conn_open(path, false, &s->ckpt, err, errlen);
		if (st != ST_OK)
			goto fail;
		if (pthread_create(&s->ckpt_thread, NULL, ckpt_main, s) != 0) {
			snprintf(err, errlen, "cannot start the checkpoint thread");
			st = ST_INTERNAL;
			goto fail;
		}
		s->ckpt_started = true;
	}
	st = orders_reseal_legacy(s, err, errlen);
	if (st != ST_OK)
		goto fail;
	*out = &s->base;
	return ST_OK;
fail:
	sq_close(s);
	return st;
}

void sq_close(struct sq_store *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_cond_signal(&s->ckpt_wake);
		pthread_cond_broadcast(&s->ckpt_idle);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		if (s->ckpt_started)
			pthread_join(s->ckpt_thread, NULL);
	}
	conn_close(s->ckpt);
	while (s->readers) {
		struct conn *c = s->readers;
		s->readers = c->next;
		conn_close(c);
	}
	if (s->writer) {
		/* Beside a running daemon a tool leaves the log to its checkpointer. */
		if (!s->tool || !guard_daemon_runs(s))
			ckpt_tool(s, s->writer, SQLITE_CHECKPOINT_TRUNCATE);
		conn_close(s->writer);
	}
	if (s->guard_fd >= 0)
		close(s->guard_fd);
	pthread_key_delete(s->reader_key);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->txn_lock);
	pthread_mutex_destroy(&s->wfail_lock);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->ckpt_wake);
	pthread_cond_destroy(&s->ckpt_idle);
	free(s->vpool);
	free(s);
}
