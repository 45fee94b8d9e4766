/*
 * store_pg_rows.c - the PostgreSQL backend's statements and one pg_NAME
 * for each store_NAME: orders, accounts, the reveal quota, retention, key
 * rotation, bindings and the audit chain, as SQLite's store_orders.c,
 * store_bind.c and store_audit.c do them.  Differences that matter:
 *  - a statement that fails aborts the transaction, so a unique key taken
 *    is ON CONFLICT DO NOTHING and no row (ST_CONFLICT), never an error;
 *  - several daemons share the tables: the reveal quota is one atomic
 *    upsert with its limit in the WHERE, the purge, sweep and rewrap take
 *    a transaction advisory lock (another daemon doing it: nothing to do);
 *  - readers that read more than one statement do it in one REPEATABLE
 *    READ transaction (one snapshot), and long walks go by pages.
 */
#include "common.h"
#include "store_pg.h"
#include "audit.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ORDER_COLS                                                                                 \
	"id, tracking_no, status, created_at, updated_at, ended_at, depot, creator, courier, "     \
	"origin_province, origin_city, origin_district, dest_province, dest_city, "                \
	"dest_district, weight_g, count, vnum, ext, print_count, retain_until, erased_at, "        \
	"kek_version, seal_version, wrapped_dek, sealed, seal_bind, sort_code, hub_code, hub_name"
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
#define AUDIT_PAGE 2000

const char *const pg_sql[NPST] = {
    [P_ACCOUNT_BY_TOKEN] = "SELECT " ACCOUNT_COLS ", token_hash FROM accounts "
			   "WHERE token_hash = $1::bytea",
    [P_ACCOUNT_BY_NAME] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE name = $1::text",
    [P_ACCOUNT_ALL] = "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY name",
    [P_ACCOUNT_INSERT] = "INSERT INTO accounts (name, role, depot, token_hash, disabled, "
			 "created_at, phone_index, phone_kek_version, phone_seal_version, "
			 "phone_wrapped_dek, phone_sealed) VALUES ($1::text, $2::text, $3::text, "
			 "$4::bytea, 0, $5::bigint, $6::bytea, $7::bigint, $8::bigint, $9::bytea, "
			 "$10::bytea) ON CONFLICT DO NOTHING",
    [P_ACCOUNT_DISABLE] = "UPDATE accounts SET disabled = 1 WHERE name = $1::text",
    [P_ACCOUNT_TOKEN] = "UPDATE accounts SET token_hash = $2::bytea WHERE name = $1::text "
			"AND NOT EXISTS (SELECT 1 FROM accounts WHERE token_hash = $2::bytea)",
    [P_ORDER_BY_TN] = "SELECT " ORDER_COLS " FROM orders WHERE tracking_no = $1::text",
    [P_LIST_AFTER] = "SELECT id FROM orders WHERE tracking_no = $1::text AND (($3::int = 1 AND "
		     "depot = $2::text) OR ($3::int = 0 AND (creator = $2::text OR courier = "
		     "$2::text)))",
    [P_ORDER_BY_IDEM] = "SELECT tracking_no, body_digest FROM orders "
			"WHERE creator = $1::text AND idem_key = $2::text",
    [P_ORDER_INSERT] =
	"INSERT INTO orders (tracking_no, status, created_at, updated_at, depot, creator, "
	"idem_key, body_digest, origin_province, origin_city, origin_district, dest_province, "
	"dest_city, dest_district, weight_g, count, vnum, ext, kek_version, seal_version, "
	"wrapped_dek, sealed, seal_bind, sort_code, hub_code, hub_name) VALUES ($1::text, "
	"$2::text, $3::bigint, $3::bigint, "
	"$4::text, $5::text, $6::text, $7::bytea, $8::text, $9::text, $10::text, $11::text, "
	"$12::text, $13::text, $14::int, $15::int, $16::text, $17::text, $18::bigint, "
	"$19::bigint, $20::bytea, $21::bytea, $22::int, NULLIF($23::text, ''), NULLIF($24::text, "
	"''), "
	"NULLIF($25::text, '')) ON CONFLICT DO NOTHING RETURNING id",
    [P_ORDER_STATUS] = "UPDATE orders SET status = $2::text, updated_at = $3::bigint, ended_at = "
		       "$4::bigint, retain_until = $5::bigint WHERE id = $1::bigint",
    [P_ORDER_COURIER] = "UPDATE orders SET courier = $2::text, updated_at = $3::bigint WHERE id "
			"= $1::bigint",
    [P_ORDER_PRINTS] = "UPDATE orders SET print_count = $2::int WHERE id = $1::bigint",
    [P_LIST_DEPOT] = "SELECT " ORDER_COLS_CLEAR " FROM orders WHERE depot = $1::text AND id > "
		     "$2::bigint AND ($3::text IS NULL OR status = $3::text) ORDER BY id LIMIT "
		     "$4::bigint",
    [P_LIST_COURIER] =
	"SELECT " ORDER_COLS_CLEAR " FROM orders WHERE id IN ("
	"(SELECT id FROM orders WHERE creator = $1::text AND id > $2::bigint AND "
	"($3::text IS NULL OR status = $3::text) ORDER BY id LIMIT $4::bigint) UNION "
	"(SELECT id FROM orders WHERE courier = $1::text AND id > $2::bigint AND "
	"($3::text IS NULL OR status = $3::text) ORDER BY id LIMIT $4::bigint)) "
	"ORDER BY id LIMIT $4::bigint",
    [P_AUDIT_HEAD] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [P_AUDIT_HEAD_LOCK] = "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
    [P_AUDIT_HEAD_SET] = "UPDATE audit_head SET seq = $1::bigint, hash = $2::bytea WHERE id = 1",
    [P_AUDIT_INSERT] = "INSERT INTO audit (" AUDIT_COLS ", order_id) VALUES ($1::bigint, "
		       "$2::text, $3::text, $4::text, $5::text, NULLIF($6::text, ''), "
		       "NULLIF($7::text, ''), $8::text, NULLIF($9::text, ''), $10::bytea, "
		       "$11::bytea, (SELECT id FROM orders WHERE tracking_no = NULLIF($6::text, "
		       "'')))",
    [P_AUDIT_INSERT_ID] = "INSERT INTO audit (" AUDIT_COLS ", order_id) VALUES ($1::bigint, "
			  "$2::text, $3::text, $4::text, $5::text, NULLIF($6::text, ''), "
			  "NULLIF($7::text, ''), $8::text, NULLIF($9::text, ''), $10::bytea, "
			  "$11::bytea, $12::bigint)",
    [P_AUDIT_LIST] = "SELECT " AUDIT_COLS " FROM audit WHERE ($2::text IS NULL OR actor = "
		     "$2::text) AND ($3::text IS NULL OR ts >= $3::text) AND seq > $4::bigint "
		     "AND $1::text IS NULL ORDER BY seq LIMIT $5::bigint",
    [P_AUDIT_LIST_TN] = "SELECT " AUDIT_COLS " FROM audit WHERE seq IN ("
			"SELECT seq FROM audit WHERE order_id = (SELECT id FROM orders WHERE "
			"tracking_no = $1::text) AND tracking_no = $1::text UNION ALL "
			"SELECT seq FROM audit WHERE order_id IS NULL AND tracking_no = $1::text) "
			"AND ($2::text IS NULL OR actor = $2::text) AND ($3::text IS NULL OR ts >= "
			"$3::text) AND seq > $4::bigint ORDER BY seq LIMIT $5::bigint",
    [P_AUDIT_PAGE] = "SELECT " AUDIT_COLS " FROM audit WHERE seq > $1::bigint ORDER BY seq "
		     "LIMIT $2::bigint",
    [P_AUDIT_SINCE_PAGE] = "SELECT " AUDIT_COLS " FROM audit WHERE ts >= $1::text AND seq > "
			   "$2::bigint ORDER BY seq LIMIT $3::bigint",
    [P_AUDIT_AT] = "SELECT hash FROM audit WHERE seq = $1::bigint",
    [P_AUDIT_LINK_BAD] = "SELECT min(seq) FROM audit a WHERE order_id IS NOT NULL AND seq > "
			 "$1::bigint AND tracking_no IS DISTINCT FROM (SELECT tracking_no FROM "
			 "orders o WHERE o.id = a.order_id)",
    [P_AUDIT_BASE] = "SELECT first, last, head, ts, sig FROM audit_base",
    [P_AUDIT_DELETE] = "DELETE FROM audit WHERE seq <= $1::bigint",
    [P_AUDIT_BASE_SET] = "INSERT INTO audit_base (id, first, last, head, ts, sig) VALUES (1, "
			 "$1::bigint, $2::bigint, $3::bytea, $4::text, $5::bytea) ON CONFLICT "
			 "(id) DO UPDATE SET first = EXCLUDED.first, last = EXCLUDED.last, head = "
			 "EXCLUDED.head, ts = EXCLUDED.ts, sig = EXCLUDED.sig",
    [P_ORDER_BY_ID] = "SELECT " ORDER_COLS " FROM orders WHERE id = $1::bigint",
    [P_ORDER_BINDING] = "UPDATE orders SET vnum = $2::text, ext = $3::text WHERE id = $1::bigint",
    [P_VNUM_OUT] = "UPDATE vnum_numbers SET in_pool = 0 WHERE in_pool <> 0",
    [P_VNUM_IN] = "INSERT INTO vnum_numbers (vnum, in_pool) VALUES ($1::text, 1) "
		  "ON CONFLICT (vnum) DO UPDATE SET in_pool = 1",
    [P_VNUM_LIST] = "SELECT vnum FROM vnum_numbers WHERE in_pool = 1 ORDER BY vnum",
    [P_VNUM_ROOM] = "SELECT vnum, held FROM vnum_numbers WHERE in_pool = 1 AND held < $1::int",
    [P_VNUM_SLOT] = "SELECT id, reusable_at FROM vnum_bindings WHERE vnum = $1::text AND ext = "
		    "$2::text AND released = 0",
    [P_VNUM_EXTS] = "SELECT ext, reusable_at FROM vnum_bindings WHERE vnum = $1::text AND "
		    "released = 0",
    [P_VNUM_CLASH] = "SELECT DISTINCT vnum FROM vnum_bindings WHERE recipient_index = $1::bytea "
		     "AND released = 0 AND (active_until IS NULL OR active_until > $2::bigint) "
		     "LIMIT $3::bigint",
#ifdef WB_BENCH_CHAINS
    /* make bench-pg's prototype (store_pg.c): each daemon counts in rows of its own. */
    [P_VNUM_HOLD] = "UPDATE bench_held SET held = held + $2::int WHERE vnum = $1::text AND chain = "
		    "current_setting('application_name')",
#else
    [P_VNUM_HOLD] = "UPDATE vnum_numbers SET held = held + $2::int WHERE vnum = $1::text",
#endif
    [P_BIND_INSERT] = "INSERT INTO vnum_bindings (vnum, ext, order_id, recipient_index, "
		      "created_at) VALUES ($1::text, $2::text, $3::bigint, $4::bytea, $5::bigint) "
		      "ON CONFLICT DO NOTHING",
    [P_BIND_RECIPIENT] = "SELECT recipient_index FROM vnum_bindings WHERE vnum = $1::text AND "
			 "ext = $2::text AND released = 0 AND order_id = $3::bigint AND "
			 "reusable_at IS NULL",
    [P_BIND_END] = "UPDATE vnum_bindings SET active_until = $4::bigint, reusable_at = "
		   "$5::bigint, recipient_index = CASE WHEN $4::bigint <= $6::bigint THEN NULL "
		   "ELSE recipient_index END WHERE vnum = $1::text AND ext = $2::text AND "
		   "released = 0 AND order_id = $3::bigint AND reusable_at IS NULL",
    [P_BIND_DUE] = "SELECT id, vnum FROM vnum_bindings WHERE released = 0 AND reusable_at < "
		   "$1::bigint LIMIT 1000",
    [P_BIND_RELEASE] = "UPDATE vnum_bindings SET released = 1, recipient_index = NULL WHERE id = "
		       "$1::bigint",
    [P_VNUM_RELEASE] = "UPDATE vnum_numbers SET held = greatest(held - 1, 0) WHERE vnum = "
		       "$1::text",
    [P_BIND_FIND] = "SELECT order_id, active_until FROM vnum_bindings WHERE vnum = $1::text AND "
		    "ext = $2::text AND released = 0 AND (active_until IS NULL OR active_until > "
		    "$3::bigint)",
    [P_BIND_CALLBACK] = "SELECT order_id FROM vnum_bindings WHERE vnum = $1::text AND "
			"recipient_index = $2::bytea AND released = 0 AND (active_until IS NULL OR "
			"active_until > $3::bigint) LIMIT $4::bigint",
    [P_VNUM_STATS] = "SELECT (SELECT count(*) FROM vnum_bindings WHERE released = 0 AND "
		     "(active_until IS NULL OR active_until > $1::bigint)), "
		     "(SELECT coalesce(sum(held), 0) FROM vnum_numbers WHERE in_pool = 1), "
		     "(SELECT count(*) FROM vnum_numbers WHERE in_pool = 1)",
    /* One statement, so two daemons cannot both take the last reveal of a day. */
    [P_REVEAL_TAKE] = "INSERT INTO admin_reveals AS r (actor, day, count) VALUES ($1::text, "
		      "$2::text, 1) ON CONFLICT (actor, day) DO UPDATE SET count = r.count + 1 "
		      "WHERE r.count < $3::bigint RETURNING count",
    [P_REVEAL_GIVE] = "UPDATE admin_reveals SET count = count - 1 WHERE actor = $1::text AND "
		      "day = $2::text AND count > 0",
    [P_PURGE_DUE] = "SELECT id, vnum, ext FROM orders WHERE retain_until IS NOT NULL AND "
		    "retain_until <= $1::bigint AND sealed IS NOT NULL LIMIT $2::bigint",
    [P_PURGE_ERASE] = "UPDATE orders SET sealed = NULL, wrapped_dek = NULL, body_digest = NULL, "
		      "erased_at = $2::bigint WHERE id = $1::bigint",
    [P_PURGE_UNBIND] = "UPDATE vnum_bindings SET recipient_index = NULL WHERE vnum = $2::text "
		       "AND ext = $3::text AND released = 0 AND order_id = $1::bigint",
    [P_PURGE_COUNT] = "SELECT count(*) FROM orders WHERE retain_until IS NOT NULL AND "
		      "retain_until <= $1::bigint AND sealed IS NOT NULL",
    [P_PURGE_DUE_OPEN] = "SELECT id, vnum, ext FROM orders WHERE retain_until IS NULL AND "
			 "sealed IS NOT NULL AND created_at <= $1::bigint ORDER BY created_at "
			 "LIMIT $2::bigint",
    [P_PURGE_END_OPEN] = "UPDATE vnum_bindings SET active_until = $4::bigint, reusable_at = "
			 "$5::bigint, recipient_index = NULL WHERE vnum = $2::text AND ext = "
			 "$3::text AND released = 0 AND order_id = $1::bigint AND reusable_at IS "
			 "NULL",
    [P_PURGE_COUNT_OPEN] = "SELECT count(*) FROM orders WHERE retain_until IS NULL AND sealed IS "
			   "NOT NULL AND created_at <= $1::bigint",
    [P_REWRAP_DUE] = "SELECT id, tracking_no, kek_version, wrapped_dek, depot, creator, "
		     "seal_bind FROM orders WHERE id > $3::bigint AND wrapped_dek IS NOT NULL AND "
		     "kek_version <> $1::bigint ORDER BY id LIMIT $2::bigint",
    [P_REWRAP_SET] = "UPDATE orders SET kek_version = $2::bigint, wrapped_dek = $3::bytea WHERE "
		     "id = $1::bigint",
    [P_REWRAP_ACCT_DUE] = "SELECT id, name, phone_kek_version, phone_wrapped_dek FROM accounts "
			  "WHERE id > $3::bigint AND phone_wrapped_dek IS NOT NULL AND "
			  "phone_kek_version <> $1::bigint ORDER BY id LIMIT $2::bigint",
    [P_REWRAP_ACCT_SET] = "UPDATE accounts SET phone_kek_version = $2::bigint, phone_wrapped_dek "
			  "= $3::bytea WHERE id = $1::bigint",
    [P_KEK_USE] = "SELECT (SELECT count(*) FROM orders WHERE wrapped_dek IS NOT NULL AND "
		  "kek_version = $1::bigint) + (SELECT count(*) FROM accounts WHERE "
		  "phone_wrapped_dek IS NOT NULL AND phone_kek_version = $1::bigint)",
    [P_TRY_LOCK] = "SELECT pg_try_advisory_xact_lock($1::bigint)",
    /* Print jobs (store_jobs.c's, in PostgreSQL's SQL). */
    [P_JOB_INSERT] = "INSERT INTO print_jobs (depot, printer, actor, role, tracking_nos, labels, "
		     "status, created_at, updated_at) VALUES ($1::text, $2::text, $3::text, "
		     "$4::text, $5::text, $6::int, 'queued', $7::bigint, $7::bigint) RETURNING id",
    [P_JOB_GET] = "SELECT id, depot, printer, actor, role, tracking_nos, labels, status, reason, "
		  "detail, attempts, bytes_sent, created_at, updated_at FROM print_jobs WHERE id = "
		  "$1::bigint",
    [P_JOB_OPEN_COUNT] = "SELECT count(*) FROM print_jobs WHERE depot = $1::text AND status IN "
			 "('queued', 'sending')",
    /* $8: this daemon's owner key (schema/pg/0013): a job it marks sending is
     * its own, and only its owner writes how it ended */
    [P_JOB_SET] = "UPDATE print_jobs SET status = $2::text, reason = NULLIF($3::text, ''), "
		  "detail = NULLIF($4::text, ''), attempts = $5::int, bytes_sent = $6::bigint, "
		  "updated_at = $7::bigint, owner = CASE WHEN $2::text = 'sending' THEN "
		  "$8::bigint ELSE owner END WHERE id = $1::bigint AND ($2::text NOT IN ('sent', "
		  "'failed') OR (status IN ('sending', 'interrupted') AND owner = $8::bigint))",
    /* Only the jobs whose owner is gone: no session holds its advisory lock
     * (a live peer's go on sending); $3 is the starting daemon's own key. */
    [P_JOB_INTERRUPT] = "UPDATE print_jobs SET status = 'interrupted', reason = 'interrupted', "
			"detail = $2::text, updated_at = $1::bigint WHERE status IN ('queued', "
			"'sending') AND status = 'sending' AND (owner IS NULL OR owner = "
			"$3::bigint OR NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = "
			"'advisory' AND l.classid = " PG_OWNER_LOCK_S " AND l.objid = "
			"print_jobs.owner::oid AND l.objsubid = 2 AND l.granted))",
    [P_JOB_QUEUED] = "SELECT id FROM print_jobs WHERE status IN ('queued', 'sending') AND status "
		     "= 'queued' AND id > $1::bigint ORDER BY id LIMIT $2::bigint",
    [P_JOB_PURGE] = "DELETE FROM print_jobs WHERE id IN (SELECT id FROM print_jobs WHERE status "
		    "IN ('sent', 'failed', 'interrupted') AND updated_at < $1::bigint LIMIT "
		    "$2::bigint)",
};

/* ---- rows ------------------------------------------------------------- */

static void account_from_row(const PGresult *r, int i, struct account *a)
{
	char role[16];

	memset(a, 0, sizeof(*a));
	a->id = pg_i64(r, i, 0);
	pg_txt(r, i, 1, a->name, sizeof(a->name));
	pg_txt(r, i, 2, role, sizeof(role));
	a->role = role_parse(role);
	pg_txt(r, i, 3, a->depot, sizeof(a->depot));
	a->disabled = pg_i64(r, i, 4) != 0;
	a->created_at = pg_i64(r, i, 5);
	{
		unsigned char *sl = NULL;
		size_t sn = 0;

		if (pg_blob(r, i, 6, a->phone_index, HASH_BYTES) &&
		    pg_blob(r, i, 9, a->phone_wrapped_dek, WRAPPED_DEK_BYTES) &&
		    pg_blob_dup(r, i, 10, &sl, &sn) && sl && sn <= ACCOUNT_PHONE_SEALED_MAX) {
			a->has_phone = true;
			a->phone_kek_version = (uint32_t)pg_i64(r, i, 7);
			a->phone_seal_version = (uint32_t)pg_i64(r, i, 8);
			memcpy(a->phone_sealed, sl, sn);
			a->phone_sealed_len = sn;
		} else {
			memset(a->phone_index, 0, HASH_BYTES);
			memset(a->phone_wrapped_dek, 0, WRAPPED_DEK_BYTES);
		}
		free(sl);
	}
}

static enum st order_from_row(const PGresult *r, int i, struct order_row *o)
{
	static const struct {
		int col;
		size_t off, cap;
	} text[] = {
#define T(c, f) {(c), offsetof(struct order_row, f), sizeof(((struct order_row *)0)->f)}
	    T(1, tracking_no),	T(2, status),		T(6, depot),
	    T(7, creator),	T(8, courier),		T(9, origin_province),
	    T(10, origin_city), T(11, origin_district), T(12, dest_province),
	    T(13, dest_city),	T(14, dest_district),	T(17, vnum),
	    T(18, ext),		T(27, sort_code),	T(28, hub_code),
	    T(29, hub_name),
#undef T
	};

	memset(o, 0, sizeof(*o));
	o->id = pg_i64(r, i, 0);
	for (size_t k = 0; k < ARRAY_SIZE(text); k++)
		pg_txt(r, i, text[k].col, (char *)o + text[k].off, text[k].cap);
	o->created_at = pg_i64(r, i, 3);
	o->updated_at = pg_i64(r, i, 4);
	o->ended_at = pg_i64(r, i, 5);
	o->weight_g = (int)pg_i64(r, i, 15);
	o->count = (int)pg_i64(r, i, 16);
	o->print_count = (int)pg_i64(r, i, 19);
	o->retain_until = pg_i64(r, i, 20);
	o->erased_at = pg_i64(r, i, 21);
	o->kek_version = (uint32_t)pg_i64(r, i, 22);
	o->seal_version = (uint32_t)pg_i64(r, i, 23);
	pg_blob(r, i, 24, o->wrapped_dek, WRAPPED_DEK_BYTES);
	if (!pg_blob_dup(r, i, 25, &o->sealed, &o->sealed_len))
		return ST_NOMEM;
	o->seal_bind = (int)pg_i64(r, i, 26);
	return ST_OK;
}

static void audit_from_row(const PGresult *r, int i, struct audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->seq = pg_i64(r, i, 0);
	pg_txt(r, i, 1, e->ts, sizeof(e->ts));
	pg_txt(r, i, 2, e->actor, sizeof(e->actor));
	pg_txt(r, i, 3, e->role, sizeof(e->role));
	pg_txt(r, i, 4, e->action, sizeof(e->action));
	pg_txt(r, i, 5, e->tracking_no, sizeof(e->tracking_no));
	pg_txt(r, i, 6, e->reason, sizeof(e->reason));
	pg_txt(r, i, 7, e->result, sizeof(e->result));
	pg_txt(r, i, 8, e->request_id, sizeof(e->request_id));
	pg_blob(r, i, 9, e->prev, HASH_BYTES);
	pg_blob(r, i, 10, e->hash, HASH_BYTES);
}

/* One row of statement id into fill, or ST_NOTFOUND. */
static enum st one_order(struct pconn *c, enum pst id, const struct pq *q, struct order_row *out)
{
	PGresult *r;
	enum st st;

	memset(out, 0, sizeof(*out));
	st = pg_exec(c, id, q, &r, NULL);
	if (st != ST_OK)
		return st;
	st = PQntuples(r) == 1 ? order_from_row(r, 0, out) : ST_NOTFOUND;
	if (st != ST_OK)
		order_row_release(out);
	PQclear(r);
	return st;
}

static enum st order_get(struct pconn *c, const char *tn, struct order_row *out)
{
	struct pq q = {0};

	pq_text(&q, tn);
	return one_order(c, P_ORDER_BY_TN, &q, out);
}

static enum st account_get(struct pconn *c, const char *name, struct account *out)
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	pq_text(&q, name);
	st = pg_exec(c, P_ACCOUNT_BY_NAME, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) == 1)
		account_from_row(r, 0, out);
	else
		st = ST_NOTFOUND;
	PQclear(r);
	return st;
}

/* Run a change; ST_NOTFOUND when it changed no row and none is wanted. */
static enum st change(struct pconn *c, enum pst id, const struct pq *q, bool need_row)
{
	int64_t n = 0;
	enum st st = pg_exec(c, id, q, NULL, &n);

	return st == ST_OK && need_row && n == 0 ? ST_NOTFOUND : st;
}

/* Run a statement that answers one number, into *out; none when it answers no row. */
static enum st exec_i64(struct pconn *c, enum pst id, const struct pq *q, int64_t *out,
			enum st none)
{
	PGresult *r;
	enum st st = pg_exec(c, id, q, &r, NULL);

	if (st != ST_OK)
		return st;
	if (PQntuples(r) == 1)
		*out = pg_i64(r, 0, 0);
	else
		st = none;
	PQclear(r);
	return st;
}

/* Another daemon holds lock key k for its transaction: *got false then. */
static enum st try_lock(struct pconn *c, int64_t k, bool *got)
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	*got = false;
	pq_i64(&q, k);
	st = pg_exec(c, P_TRY_LOCK, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	*got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return ST_OK;
}

/* ---- orders and accounts (writer) -------------------------------------- */

enum st pg_w_order_get(struct pg_store *s, const char *tn, struct order_row *out)
{
	return order_get(s->writer, tn, out);
}

enum st pg_w_order_insert(struct pg_store *s, const struct order_row *o, const char *idem_key,
			  const unsigned char digest[HASH_BYTES], int64_t *id)
{
	char ih[STORE_IDEM_HASH_BYTES];
	struct pq q = {0};

	store_idem_hash(s->kr, idem_key, ih);
	pq_text(&q, o->tracking_no);
	pq_text(&q, o->status);
	pq_i64(&q, o->created_at);
	pq_text(&q, o->depot);
	pq_text(&q, o->creator);
	pq_textn(&q, ih);
	pq_blob(&q, digest, HASH_BYTES);
	pq_text(&q, o->origin_province);
	pq_text(&q, o->origin_city);
	pq_text(&q, o->origin_district);
	pq_text(&q, o->dest_province);
	pq_text(&q, o->dest_city);
	pq_text(&q, o->dest_district);
	pq_i64(&q, o->weight_g);
	pq_i64(&q, o->count);
	pq_textn(&q, o->vnum);
	pq_textn(&q, o->ext);
	pq_i64(&q, o->kek_version);
	pq_i64(&q, o->seal_version);
	pq_blob(&q, o->wrapped_dek, WRAPPED_DEK_BYTES);
	pq_blob(&q, o->sealed, o->sealed_len);
	pq_i64(&q, o->seal_bind);
	pq_text(&q, o->sort_code);
	pq_text(&q, o->hub_code);
	pq_text(&q, o->hub_name);
	return exec_i64(s->writer, P_ORDER_INSERT, &q, id, ST_CONFLICT);
}

enum st pg_w_order_by_idem(struct pg_store *s, const char *creator, const char *idem_key,
			   char tn[TN_MAX], unsigned char digest[HASH_BYTES])
{
	char ih[STORE_IDEM_HASH_BYTES];
	struct pq q = {0};
	PGresult *r;
	enum st st;

	store_idem_hash(s->kr, idem_key, ih);
	pq_text(&q, creator);
	pq_text(&q, ih);
	st = pg_exec(s->writer, P_ORDER_BY_IDEM, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return ST_NOTFOUND;
	}
	pg_txt(r, 0, 0, tn, TN_MAX);
	memset(digest, 0, HASH_BYTES);
	if (!pg_blob(r, 0, 1, digest, HASH_BYTES))
		st = ST_GONE; /* erased with its personal data */
	PQclear(r);
	return st;
}

enum st pg_w_order_set_status(struct pg_store *s, int64_t id, const char *status, int64_t now,
			      int64_t ended_at, int64_t retain_until)
{
	struct pq q = {0};

	pq_i64(&q, id);
	pq_text(&q, status);
	pq_i64(&q, now);
	pq_i64n(&q, ended_at);
	pq_i64n(&q, retain_until);
	return change(s->writer, P_ORDER_STATUS, &q, false);
}

enum st pg_w_order_set_courier(struct pg_store *s, int64_t id, const char *courier, int64_t now)
{
	struct pq q = {0};

	pq_i64(&q, id);
	pq_text(&q, courier);
	pq_i64(&q, now);
	return change(s->writer, P_ORDER_COURIER, &q, false);
}

enum st pg_w_order_set_prints(struct pg_store *s, int64_t id, int print_count)
{
	struct pq q = {0};

	pq_i64(&q, id);
	pq_i64(&q, print_count);
	return change(s->writer, P_ORDER_PRINTS, &q, false);
}

enum st pg_w_order_set_binding(struct pg_store *s, int64_t id, const char *vnum, const char *ext)
{
	struct pq q = {0};

	pq_i64(&q, id);
	pq_textn(&q, vnum);
	pq_textn(&q, ext);
	return change(s->writer, P_ORDER_BINDING, &q, false);
}

enum st pg_w_account_get(struct pg_store *s, const char *name, struct account *out)
{
	return account_get(s->writer, name, out);
}

enum st pg_w_account_insert(struct pg_store *s, const struct account *a,
			    const unsigned char token_hash[HASH_BYTES])
{
	struct pq q = {0};
	int64_t n = 0;
	enum st st;

	pq_text(&q, a->name);
	pq_text(&q, role_name(a->role));
	pq_textn(&q, a->depot);
	pq_blob(&q, token_hash, HASH_BYTES);
	pq_i64(&q, (int64_t)time(NULL));
	if (a->has_phone) {
		pq_blob(&q, a->phone_index, HASH_BYTES);
		pq_i64(&q, a->phone_kek_version);
		pq_i64(&q, a->phone_seal_version);
		pq_blob(&q, a->phone_wrapped_dek, WRAPPED_DEK_BYTES);
		pq_blob(&q, a->phone_sealed, a->phone_sealed_len);
	} else {
		for (int i = 0; i < 5; i++)
			pq_null(&q);
	}
	st = pg_exec(s->writer, P_ACCOUNT_INSERT, &q, NULL, &n);
	return st == ST_OK && n == 0 ? ST_CONFLICT : st;
}

enum st pg_w_account_disable(struct pg_store *s, const char *name)
{
	struct pq q = {0};

	pq_text(&q, name);
	return change(s->writer, P_ACCOUNT_DISABLE, &q, true);
}

enum st pg_w_account_token(struct pg_store *s, const char *name,
			   const unsigned char token_hash[HASH_BYTES])
{
	struct pq q = {0};
	struct account a;
	enum st st = account_get(s->writer, name, &a);

	if (st != ST_OK)
		return st;
	pq_text(&q, name);
	pq_blob(&q, token_hash, HASH_BYTES);
	st = change(s->writer, P_ACCOUNT_TOKEN, &q, true);
	return st == ST_NOTFOUND ? ST_CONFLICT : st; /* the account is there: the hash is taken */
}

/* ---- admin quota, retention, key rotation (writer) ---------------------- */

enum st pg_w_reveal_take(struct pg_store *s, const char *actor, const char *day, long limit)
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	if (limit <= 0)
		return ST_LIMIT;
	pq_text(&q, actor);
	pq_text(&q, day);
	pq_i64(&q, limit);
	st = pg_exec(s->writer, P_REVEAL_TAKE, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) != 1)
		st = ST_LIMIT;
	PQclear(r);
	return st;
}

enum st pg_w_reveal_give(struct pg_store *s, const char *actor, const char *day)
{
	struct pq q = {0};

	pq_text(&q, actor);
	pq_text(&q, day);
	return change(s->writer, P_REVEAL_GIVE, &q, false);
}

#define PURGE_MAX 512

struct purge_rows {
	int64_t id[PURGE_MAX];
	char vnum[PURGE_MAX][16], ext[PURGE_MAX][8];
	size_t n;
};

static enum st purge_due(struct pg_store *s, enum pst id, int64_t before, int max,
			 struct purge_rows *p)
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	pq_i64(&q, before);
	pq_i64(&q, max);
	st = pg_exec(s->writer, id, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < PQntuples(r) && i < max && p->n < PURGE_MAX; i++) {
		p->id[p->n] = pg_i64(r, i, 0);
		pg_txt(r, i, 1, p->vnum[p->n], sizeof(p->vnum[p->n]));
		pg_txt(r, i, 2, p->ext[p->n], sizeof(p->ext[p->n]));
		p->n++;
	}
	PQclear(r);
	return ST_OK;
}

enum st pg_w_purge_batch(struct pg_store *s, const struct purge_policy *p, int max, int64_t *n)
{
	struct purge_rows *rows;
	size_t closed;
	bool got;
	enum st st;

	*n = 0;
	if (max > PURGE_MAX)
		max = PURGE_MAX;
	/* One daemon purges at a time; another one doing it now leaves nothing to do here. */
	st = try_lock(s->writer, PG_LOCK_PURGE, &got);
	if (st != ST_OK || !got)
		return st;
	rows = calloc(1, sizeof(*rows));
	if (!rows)
		return ST_NOMEM;
	st = purge_due(s, P_PURGE_DUE, p->now, max, rows);
	closed = rows->n;
	if (st == ST_OK && p->open_before > 0 && closed < (size_t)max)
		st = purge_due(s, P_PURGE_DUE_OPEN, p->open_before, max - (int)closed, rows);
	for (size_t i = 0; i < rows->n && st == ST_OK; i++) {
		struct pq q = {0};

		pq_i64(&q, rows->id[i]);
		pq_i64(&q, p->now);
		st = change(s->writer, P_PURGE_ERASE, &q, false);
		if (st != ST_OK)
			break;
		memset(&q, 0, sizeof(q));
		pq_i64(&q, rows->id[i]);
		pq_text(&q, rows->vnum[i]);
		pq_text(&q, rows->ext[i]);
		if (i >= closed) {
			pq_i64(&q, p->now);
			pq_i64(&q, p->rest_until);
		}
		st = change(s->writer, i < closed ? P_PURGE_UNBIND : P_PURGE_END_OPEN, &q, false);
	}
	if (st == ST_OK)
		*n = (int64_t)rows->n;
	free(rows);
	return st;
}

enum st pg_w_rewrap_batch(struct pg_store *s, int max, int64_t *n)
{
	uint32_t cur = keyring_current(s->kr);
	enum st st = ST_OK;

	*n = 0;
	for (int table = 0; table < 2 && st == ST_OK && *n < max; table++) {
		struct pq q = {0};
		PGresult *r;
		int k;

		pq_i64(&q, cur);
		pq_i64(&q, max - *n);
		pq_i64(&q, s->rewrap_after[table]);
		st = pg_exec(s->writer, table ? P_REWRAP_ACCT_DUE : P_REWRAP_DUE, &q, &r, NULL);
		if (st != ST_OK)
			break;
		k = PQntuples(r);
		for (int i = 0; i < k && st == ST_OK; i++) {
			char ad[ORDER_BIND_MAX];
			unsigned char w[WRAPPED_DEK_BYTES] = {0}, out[WRAPPED_DEK_BYTES];
			uint32_t to;
			int64_t id = pg_i64(r, i, 0);

			if (table) {
				char name[NAME_MAX_BYTES];
				pg_txt(r, i, 1, name, sizeof(name));
				account_seal_ad(name, ad, sizeof(ad));
			} else {
				char tn[TN_MAX], depot[NAME_MAX_BYTES], creator[NAME_MAX_BYTES];
				pg_txt(r, i, 1, tn, sizeof(tn));
				pg_txt(r, i, 4, depot, sizeof(depot));
				pg_txt(r, i, 5, creator, sizeof(creator));
				order_bind_of(tn, depot, creator, (int)pg_i64(r, i, 6), ad);
			}
			pg_blob(r, i, 3, w, WRAPPED_DEK_BYTES);
			st = crypto_rewrap(s->kr, ad, (uint32_t)pg_i64(r, i, 2), w, out, &to);
			if (st != ST_OK)
				break;
			memset(&q, 0, sizeof(q));
			pq_i64(&q, id);
			pq_i64(&q, to);
			pq_blob(&q, out, WRAPPED_DEK_BYTES);
			st = change(s->writer, table ? P_REWRAP_ACCT_SET : P_REWRAP_SET, &q, false);
			if (st == ST_OK) {
				(*n)++;
				s->rewrap_after[table] = id;
			}
		}
		PQclear(r);
		if (k == 0)
			s->rewrap_after[table] = 0;
	}
	return st;
}

/* ---- virtual-number bindings (writer) ---------------------------------- */

enum st pg_w_vnum_sync(struct pg_store *s, char (*nums)[16], size_t n)
{
	enum st st;

	s->vpool_batch = 0; /* pg_w_vnum_pool reads it again */
	st = change(s->writer, P_VNUM_OUT, NULL, false);

	for (size_t i = 0; i < n && st == ST_OK; i++) {
		struct pq q = {0};
		pq_text(&q, nums[i]);
		st = change(s->writer, P_VNUM_IN, &q, false);
	}
	return st;
}

enum st pg_w_slot_free(struct pg_store *s, const char *vnum, const char *ext, int64_t now,
		       bool *is_free, int64_t *stale)
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	*is_free = true;
	*stale = 0;
	pq_text(&q, vnum);
	pq_text(&q, ext);
	st = pg_exec(s->writer, P_VNUM_SLOT, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < PQntuples(r); i++) {
		if (pg_isnull(r, i, 1) || pg_i64(r, i, 1) >= now) {
			*is_free = false;
			break;
		}
		*stale = pg_i64(r, i, 0);
	}
	PQclear(r);
	return ST_OK;
}

/*
 * The pool, read afresh by each job: another daemon may have synced it.
 * At most STORE_VNUM_POOL_MAX numbers (store_w_vnum_sync puts no more).
 */
/*
 * Read once a batch: every order asks for the pool, and only a pool sync
 * (a daemon's start) changes it, which forgets the copy.  The batch holds
 * the head row, so its first read is as fresh as a read per order.
 */
enum st pg_w_vnum_pool(struct pg_store *s, const char (**nums)[16], size_t *n)
{
	PGresult *r;
	enum st st;
	size_t k;

	if (s->vpool && s->vpool_batch == s->batch_no) {
		*nums = (const char(*)[16])s->vpool;
		*n = s->vpool_n;
		return ST_OK;
	}
	st = pg_exec(s->writer, P_VNUM_LIST, NULL, &r, NULL);
	if (st != ST_OK)
		return st;
	k = (size_t)PQntuples(r);
	if (k > STORE_VNUM_POOL_MAX) {
		PQclear(r);
		return ST_IO;
	}
	free(s->vpool);
	s->vpool = calloc(k ? k : 1, sizeof(*s->vpool));
	if (!s->vpool) {
		PQclear(r);
		s->vpool_n = 0;
		return ST_NOMEM;
	}
	for (size_t i = 0; i < k; i++)
		pg_txt(r, (int)i, 0, s->vpool[i], sizeof(s->vpool[i]));
	PQclear(r);
	s->vpool_n = k;
	s->vpool_batch = s->batch_no;
	*nums = (const char(*)[16])s->vpool;
	*n = k;
	return ST_OK;
}

enum st pg_w_vnum_held_by(struct pg_store *s, const unsigned char rcpt[HASH_BYTES], int64_t now,
			  char (*nums)[16], size_t max, size_t *n)
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	*n = 0;
	pq_blob(&q, rcpt, HASH_BYTES);
	pq_i64(&q, now);
	pq_i64(&q, (int64_t)max);
	st = pg_exec(s->writer, P_VNUM_CLASH, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < PQntuples(r) && *n < max; i++)
		pg_txt(r, i, 0, nums[(*n)++], 16);
	PQclear(r);
	return ST_OK;
}

enum st pg_w_slot_take(struct pg_store *s, const char *vnum, int64_t stale)
{
	struct pq q = {0};
	enum st st;

	pq_text(&q, vnum);
	pq_i64(&q, stale ? 0 : 1);
	st = change(s->writer, P_VNUM_HOLD, &q, false);
	if (st == ST_OK && stale) {
		memset(&q, 0, sizeof(q));
		pq_i64(&q, stale);
		st = change(s->writer, P_BIND_RELEASE, &q, false);
	}
	return st;
}

enum st pg_w_vnum_busy(struct pg_store *s, const char *vnum, int64_t now,
		       unsigned char busy[STORE_VNUM_EXTS])
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	memset(busy, 0, STORE_VNUM_EXTS);
	pq_text(&q, vnum);
	st = pg_exec(s->writer, P_VNUM_EXTS, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < PQntuples(r); i++) {
		int x = pg_isnull(r, i, 0) ? -1 : atoi(PQgetvalue(r, i, 0));
		if (x >= 0 && x < STORE_VNUM_EXTS && (pg_isnull(r, i, 1) || pg_i64(r, i, 1) >= now))
			busy[x] = 1;
	}
	PQclear(r);
	return ST_OK;
}

enum st pg_w_vnum_rooms(struct pg_store *s, struct vnum_room **out, size_t *n)
{
	struct pq q = {0};
	PGresult *r;
	enum st st;
	size_t k;

	*out = NULL;
	*n = 0;
	pq_i64(&q, STORE_VNUM_EXTS);
	st = pg_exec(s->writer, P_VNUM_ROOM, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	k = (size_t)PQntuples(r);
	if (k > STORE_VNUM_POOL_MAX) {
		PQclear(r);
		return ST_IO;
	}
	*out = calloc(k ? k : 1, sizeof(**out));
	if (!*out) {
		PQclear(r);
		return ST_NOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		pg_txt(r, (int)i, 0, (*out)[i].vnum, sizeof((*out)[i].vnum));
		(*out)[i].free = (uint32_t)(STORE_VNUM_EXTS - pg_i64(r, (int)i, 1));
	}
	*n = k;
	PQclear(r);
	return ST_OK;
}

enum st pg_w_binding_insert(struct pg_store *s, const char *vnum, const char *ext, int64_t order_id,
			    const unsigned char recipient_index[HASH_BYTES], int64_t now)
{
	struct pq q = {0};
	int64_t n = 0;
	enum st st;

	pq_text(&q, vnum);
	pq_text(&q, ext);
	pq_i64(&q, order_id);
	pq_blob(&q, recipient_index, HASH_BYTES);
	pq_i64(&q, now);
	st = pg_exec(s->writer, P_BIND_INSERT, &q, NULL, &n);
	/* vnum_bindings_slot_once: the slot is held already (never twice). */
	return st == ST_OK && n == 0 ? ST_CONFLICT : st;
}

enum st pg_w_binding_recipient(struct pg_store *s, const char *vnum, const char *ext,
			       int64_t order_id, unsigned char out[HASH_BYTES])
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	pq_text(&q, vnum);
	pq_text(&q, ext);
	pq_i64(&q, order_id);
	st = pg_exec(s->writer, P_BIND_RECIPIENT, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	st = ST_NOTFOUND;
	for (int i = 0; i < PQntuples(r) && st != ST_OK; i++)
		if (pg_blob(r, i, 0, out, HASH_BYTES))
			st = ST_OK;
	PQclear(r);
	return st;
}

enum st pg_w_binding_end(struct pg_store *s, const char *vnum, const char *ext, int64_t order_id,
			 int64_t active_until, int64_t reusable_at, int64_t now)
{
	struct pq q = {0};

	pq_text(&q, vnum);
	pq_text(&q, ext);
	pq_i64(&q, order_id);
	pq_i64(&q, active_until);
	pq_i64(&q, reusable_at);
	pq_i64(&q, now);
	return change(s->writer, P_BIND_END, &q, false);
}

enum st pg_w_binding_sweep(struct pg_store *s, int64_t now, int64_t *n)
{
	struct pq q = {0};
	PGresult *r;
	bool got;
	enum st st;
	int k;

	*n = 0;
	st = try_lock(s->writer, PG_LOCK_SWEEP, &got);
	if (st != ST_OK || !got)
		return st;
	pq_i64(&q, now);
	st = pg_exec(s->writer, P_BIND_DUE, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	k = PQntuples(r);
	for (int i = 0; i < k && st == ST_OK; i++) {
		memset(&q, 0, sizeof(q));
		pq_i64(&q, pg_i64(r, i, 0));
		st = change(s->writer, P_BIND_RELEASE, &q, false);
		if (st != ST_OK)
			break;
		memset(&q, 0, sizeof(q));
		pq_text(&q, PQgetvalue(r, i, 1));
		st = change(s->writer, P_VNUM_RELEASE, &q, false);
	}
	PQclear(r);
	if (st == ST_OK)
		*n = k;
	return st;
}

/* ---- the audit chain --------------------------------------------------- */

enum st pg_w_audit_append(struct pg_store *s, const struct audit_entry *in)
{
	struct audit_entry e = *in;
	struct pq q = {0};
	enum st st;

	e.seq = s->audit_seq + 1;
	if (!e.ts[0])
		audit_now(e.ts);
	memcpy(e.prev, s->audit_head, HASH_BYTES);
	audit_link(s->kr, &e);
	pq_i64(&q, e.seq);
	pq_text(&q, e.ts);
	pq_text(&q, e.actor);
	pq_text(&q, e.role);
	pq_text(&q, e.action);
	pq_text(&q, e.tracking_no);
	pq_text(&q, e.reason);
	pq_text(&q, e.result);
	pq_text(&q, e.request_id);
	pq_blob(&q, e.prev, HASH_BYTES);
	pq_blob(&q, e.hash, HASH_BYTES);
	if (e.order_id)
		pq_i64(&q, e.order_id);
	st = pg_exec(s->writer, e.order_id ? P_AUDIT_INSERT_ID : P_AUDIT_INSERT, &q, NULL, NULL);
	if (st != ST_OK)
		return ST_UNAVAILABLE;
	s->audit_seq = e.seq;
	memcpy(s->audit_head, e.hash, HASH_BYTES);
	return ST_OK;
}

struct audit_base {
	int64_t first, last;
	unsigned char head[HASH_BYTES];
	char ts[24];
	unsigned char sig[SIGN_BYTES];
};

static enum st audit_base_load(const struct keyring *kr, struct pconn *c, struct audit_base *b,
			       bool *found, bool *sig_ok)
{
	PGresult *r;
	enum st st;

	*found = *sig_ok = false;
	memset(b, 0, sizeof(*b));
	st = pg_exec(c, P_AUDIT_BASE, NULL, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) == 1) {
		unsigned char pk[SIGN_PK_BYTES];
		char msg[256];
		size_t n;

		*found = true;
		b->first = pg_i64(r, 0, 0);
		b->last = pg_i64(r, 0, 1);
		pg_txt(r, 0, 3, b->ts, sizeof(b->ts));
		if (pg_blob(r, 0, 2, b->head, HASH_BYTES) && pg_blob(r, 0, 4, b->sig, SIGN_BYTES)) {
			n = audit_archive_msg(msg, sizeof(msg), b->first, b->last, b->head, b->ts);
			crypto_checkpoint_key(kr, pk);
			*sig_ok = n > 0 && b->first >= 1 && b->last >= b->first &&
				  crypto_ed25519_verify(pk, msg, n, b->sig);
		}
	}
	PQclear(r);
	return ST_OK;
}

static enum st audit_hash_at(const struct keyring *kr, struct pconn *c, int64_t seq,
			     unsigned char out[HASH_BYTES])
{
	struct audit_base b;
	bool found, sig_ok;
	struct pq q = {0};
	PGresult *r;
	enum st st;

	pq_i64(&q, seq);
	st = pg_exec(c, P_AUDIT_AT, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) == 1) {
		memset(out, 0, HASH_BYTES);
		pg_blob(r, 0, 0, out, HASH_BYTES);
		PQclear(r);
		return ST_OK;
	}
	PQclear(r);
	if (seq < 1)
		return ST_NOTFOUND;
	if (audit_base_load(kr, c, &b, &found, &sig_ok) != ST_OK)
		return ST_IO;
	if (!found || !sig_ok || seq > b.last)
		return ST_NOTFOUND;
	if (seq < b.last)
		return ST_GONE;
	memcpy(out, b.head, HASH_BYTES);
	return ST_OK;
}

static enum st audit_marks_check(const struct keyring *kr, struct pconn *c,
				 const struct audit_mark *marks, size_t nmarks,
				 struct audit_check *out)
{
	unsigned char h[HASH_BYTES];

	for (size_t i = 0; i < nmarks; i++) {
		enum st st = audit_hash_at(kr, c, marks[i].seq, h);

		if (st == ST_GONE) {
			out->marks_archived++;
			continue;
		}
		if (st == ST_NOTFOUND ||
		    (st == ST_OK && !crypto_equal(h, marks[i].head, HASH_BYTES))) {
			out->mark_bad = true;
			out->mark_missing = st == ST_NOTFOUND;
			out->mark_index = i;
			return ST_OK;
		}
		if (st != ST_OK)
			return st;
	}
	return ST_OK;
}

static enum st snapshot_begin(struct pconn *c)
{
	return pg_plain(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static void snapshot_end(struct pconn *c)
{
	pg_plain(c, "COMMIT");
}

/* The walk itself, inside the caller's snapshot. */
static enum st chain_walk_in(const struct keyring *kr, struct pconn *c, int64_t from_seq,
			     const unsigned char from_head[HASH_BYTES],
			     const struct audit_mark *marks, size_t nmarks, struct audit_check *out,
			     unsigned char prev[HASH_BYTES], int64_t *expect)
{
	struct audit_entry e;
	int64_t after;
	enum st st;
	PGresult *r;
	struct pq q;

	*expect = from_seq + 1;
	if (from_head) {
		memcpy(prev, from_head, HASH_BYTES);
	} else {
		struct audit_base b;
		bool found, sig_ok;

		if (audit_base_load(kr, c, &b, &found, &sig_ok) != ST_OK)
			return ST_IO;
		if (found && !sig_ok) {
			out->ok = false;
			out->bad_seq = b.last + 1;
			out->why = "the archive checkpoint it starts from does not verify (forged, "
				   "or another key)";
			return ST_OK;
		}
		if (found) {
			from_seq = b.last;
			*expect = b.last + 1;
			memcpy(prev, b.head, HASH_BYTES);
			out->base_seq = b.last;
			memcpy(out->base_head, b.head, HASH_BYTES);
		}
	}
	after = from_seq;
	for (;;) {
		int k;

		memset(&q, 0, sizeof(q));
		pq_i64(&q, after);
		pq_i64(&q, AUDIT_PAGE);
		st = pg_exec(c, P_AUDIT_PAGE, &q, &r, NULL);
		if (st != ST_OK)
			return st;
		k = PQntuples(r);
		for (int i = 0; i < k && out->ok; i++) {
			audit_from_row(r, i, &e);
			after = e.seq;
			if (e.seq != *expect || !crypto_equal(e.prev, prev, HASH_BYTES) ||
			    !audit_link_ok(kr, &e)) {
				out->ok = false;
				out->bad_seq =
				    e.seq != *expect && e.seq > *expect ? *expect : e.seq;
				out->why = "the entry does not link to the one before it";
				if (out->entries == 0 && e.seq > *expect)
					out->why =
					    "the chain starts after it with no signed archive "
					    "checkpoint covering what is missing (entries "
					    "deleted?)";
				break;
			}
			memcpy(prev, e.hash, HASH_BYTES);
			out->entries++;
			(*expect)++;
		}
		PQclear(r);
		if (k < AUDIT_PAGE || !out->ok)
			break;
	}
	if (out->ok && out->base_seq && out->entries == 0 && !from_head) {
		out->ok = false;
		out->bad_seq = out->base_seq + 1;
		out->why = "no entry follows the archive checkpoint (entries deleted?)";
	}
	memset(&q, 0, sizeof(q));
	pq_i64(&q, from_seq);
	st = pg_exec(c, P_AUDIT_LINK_BAD, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) == 1 && !pg_isnull(r, 0, 0)) {
		int64_t seq = pg_i64(r, 0, 0);
		if (out->ok || seq < out->bad_seq) {
			out->ok = false;
			out->bad_seq = seq;
			out->entries = seq - 1 - from_seq;
			out->why = "its order_id is not the row of the order it names";
		}
	}
	PQclear(r);
	return nmarks ? audit_marks_check(kr, c, marks, nmarks, out) : ST_OK;
}

enum st pg_chain_walk(const struct keyring *kr, struct pconn *c, int64_t from_seq,
		      const unsigned char from_head[HASH_BYTES], const struct audit_mark *marks,
		      size_t nmarks, struct audit_check *out)
{
	unsigned char prev[HASH_BYTES] = {0};
	int64_t expect = from_seq + 1;
	enum st st;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	st = snapshot_begin(c);
	if (st != ST_OK)
		return st;
	st = chain_walk_in(kr, c, from_seq, from_head, marks, nmarks, out, prev, &expect);
	snapshot_end(c);
	memcpy(out->head, prev, HASH_BYTES);
	out->head_seq = expect - 1;
	return st;
}

enum st pg_chain_walk_tx(const struct keyring *kr, struct pconn *c, struct audit_check *out)
{
	unsigned char prev[HASH_BYTES] = {0};
	int64_t expect = 1;
	enum st st;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	st = chain_walk_in(kr, c, 0, NULL, NULL, 0, out, prev, &expect);
	memcpy(out->head, prev, HASH_BYTES);
	out->head_seq = expect - 1;
	return st;
}

enum st pg_w_audit_archive(struct pg_store *s, int64_t first, int64_t last,
			   const unsigned char head[HASH_BYTES], const char *ts,
			   const unsigned char sig[SIGN_BYTES])
{
	struct pq q = {0};
	enum st st;

	if (last >= s->audit_seq)
		return ST_INVALID;
	/* The trigger lets this transaction alone delete (schema/pg/0010). */
	st = pg_plain(s->writer, "SET LOCAL waybill.archive = 'on'");
	if (st != ST_OK)
		return st;
	pq_i64(&q, last);
	st = change(s->writer, P_AUDIT_DELETE, &q, false);
	if (st == ST_OK) {
		memset(&q, 0, sizeof(q));
		pq_i64(&q, first);
		pq_i64(&q, last);
		pq_blob(&q, head, HASH_BYTES);
		pq_text(&q, ts);
		pq_blob(&q, sig, SIGN_BYTES);
		st = change(s->writer, P_AUDIT_BASE_SET, &q, false);
	}
	if (pg_plain(s->writer, "SET LOCAL waybill.archive = 'off'") != ST_OK && st == ST_OK)
		st = ST_IO;
	return st;
}

/* ---- readers --------------------------------------------------------- */

enum st pg_account_by_token(struct pg_store *s, const unsigned char hash[HASH_BYTES],
			    struct account *out)
{
	struct pconn *c = pg_reader(s);
	unsigned char h[HASH_BYTES];
	struct pq q = {0};
	PGresult *r;
	enum st st;

	if (!c)
		return ST_UNAVAILABLE;
	pq_blob(&q, hash, HASH_BYTES);
	st = pg_exec(c, P_ACCOUNT_BY_TOKEN, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	st = ST_NOTFOUND;
	/* The index found it; the comparison that decides is constant-time. */
	if (PQntuples(r) == 1 && pg_blob(r, 0, 11, h, HASH_BYTES) &&
	    crypto_equal(h, hash, HASH_BYTES)) {
		account_from_row(r, 0, out);
		st = ST_OK;
	}
	PQclear(r);
	return st;
}

enum st pg_account_get(struct pg_store *s, const char *name, struct account *out)
{
	struct pconn *c = pg_reader(s);

	return c ? account_get(c, name, out) : ST_UNAVAILABLE;
}

enum st pg_account_each(struct pg_store *s, void (*fn)(const struct account *a, void *arg),
			void *arg)
{
	struct pconn *c = pg_reader(s);
	struct account a;
	PGresult *r;
	enum st st;

	if (!c)
		return ST_UNAVAILABLE;
	st = pg_exec(c, P_ACCOUNT_ALL, NULL, &r, NULL);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < PQntuples(r); i++) {
		account_from_row(r, i, &a);
		fn(&a, arg);
	}
	PQclear(r);
	return ST_OK;
}

enum st pg_order_get(struct pg_store *s, const char *tn, struct order_row *out)
{
	struct pconn *c = pg_reader(s);

	memset(out, 0, sizeof(*out));
	return c ? order_get(c, tn, out) : ST_UNAVAILABLE;
}

enum st pg_order_get_id(struct pg_store *s, int64_t id, struct order_row *out)
{
	struct pconn *c = pg_reader(s);
	struct pq q = {0};

	memset(out, 0, sizeof(*out));
	if (!c)
		return ST_UNAVAILABLE;
	pq_i64(&q, id);
	return one_order(c, P_ORDER_BY_ID, &q, out);
}

static enum st count_query(struct pg_store *s, enum pst id, int64_t arg, int64_t *n)
{
	struct pconn *c = pg_reader(s);
	struct pq q = {0};

	*n = 0;
	if (!c)
		return ST_UNAVAILABLE;
	pq_i64(&q, arg);
	return exec_i64(c, id, &q, n, ST_IO);
}

enum st pg_purge_due(struct pg_store *s, const struct purge_policy *p, int64_t *n)
{
	int64_t open = 0;
	enum st st = count_query(s, P_PURGE_COUNT, p->now, n);

	if (st == ST_OK && p->open_before > 0)
		st = count_query(s, P_PURGE_COUNT_OPEN, p->open_before, &open);
	*n += open;
	return st;
}

enum st pg_kek_in_use(struct pg_store *s, uint32_t version, int64_t *n)
{
	return count_query(s, P_KEK_USE, version, n);
}

enum st pg_order_list(struct pg_store *s, const struct order_query *q, struct order_row *rows,
		      size_t *n, bool *more)
{
	struct pconn *c = pg_reader(s);
	struct pq p = {0};
	int64_t after = 0;
	PGresult *r;
	enum st st;

	*n = 0;
	*more = false;
	if (!c)
		return ST_UNAVAILABLE;
	st = snapshot_begin(c);
	if (st != ST_OK)
		return st;
	if (q->after) {
		/* Only the caller's own order is a cursor (another's answers as none does). */
		pq_text(&p, q->after);
		pq_text(&p, q->who);
		pq_i64(&p, q->scope == ROLE_DEPOT);
		st = pg_exec(c, P_LIST_AFTER, &p, &r, NULL);
		if (st != ST_OK)
			goto out;
		if (PQntuples(r) == 1)
			after = pg_i64(r, 0, 0);
		else
			st = ST_MALFORMED;
		PQclear(r);
		if (st != ST_OK)
			goto out;
	}
	memset(&p, 0, sizeof(p));
	pq_text(&p, q->who);
	pq_i64(&p, after);
	pq_textn(&p, q->status);
	pq_i64(&p, q->limit + 1);
	st = pg_exec(c, q->scope == ROLE_DEPOT ? P_LIST_DEPOT : P_LIST_COURIER, &p, &r, NULL);
	if (st != ST_OK)
		goto out;
	for (int i = 0; i < PQntuples(r) && st == ST_OK; i++) {
		if (*n == (size_t)q->limit) {
			*more = true;
			break;
		}
		st = order_from_row(r, i, &rows[*n]);
		if (st == ST_OK)
			(*n)++;
	}
	PQclear(r);
out:
	snapshot_end(c);
	if (st != ST_OK) {
		for (size_t i = 0; i < *n; i++)
			order_row_release(&rows[i]);
		*n = 0;
	}
	return st;
}

enum st pg_binding_find(struct pg_store *s, const char *vnum, const char *ext, int64_t now,
			int64_t *order_id, int64_t *active_until)
{
	struct pconn *c = pg_reader(s);
	struct pq q = {0};
	PGresult *r;
	enum st st;

	if (!c)
		return ST_UNAVAILABLE;
	pq_text(&q, vnum);
	pq_text(&q, ext);
	pq_i64(&q, now);
	st = pg_exec(c, P_BIND_FIND, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) >= 1) {
		*order_id = pg_i64(r, 0, 0);
		*active_until = pg_i64(r, 0, 1);
	} else {
		st = ST_NOTFOUND;
	}
	PQclear(r);
	return st;
}

enum st pg_binding_callback(struct pg_store *s, const char *vnum,
			    const unsigned char recipient_index[HASH_BYTES], int64_t now,
			    int64_t *ids, size_t max, size_t *n)
{
	struct pconn *c = pg_reader(s);
	struct pq q = {0};
	PGresult *r;
	enum st st;

	*n = 0;
	if (!c)
		return ST_UNAVAILABLE;
	pq_text(&q, vnum);
	pq_blob(&q, recipient_index, HASH_BYTES);
	pq_i64(&q, now);
	pq_i64(&q, (int64_t)max + 1);
	st = pg_exec(c, P_BIND_CALLBACK, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < PQntuples(r); i++) {
		if (*n < max)
			ids[*n] = pg_i64(r, i, 0);
		(*n)++;
	}
	PQclear(r);
	return ST_OK;
}

enum st pg_vnum_stats(struct pg_store *s, int64_t now, struct vnum_stats *out)
{
	struct pconn *c = pg_reader(s);
	struct pq q = {0};
	PGresult *r;
	enum st st;

	memset(out, 0, sizeof(*out));
	if (!c)
		return ST_UNAVAILABLE;
	pq_i64(&q, now);
	st = pg_exec(c, P_VNUM_STATS, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) == 1) {
		out->active = pg_i64(r, 0, 0);
		out->held = pg_i64(r, 0, 1);
		out->capacity = pg_i64(r, 0, 2) * STORE_VNUM_EXTS;
	} else {
		st = ST_IO;
	}
	PQclear(r);
	return st;
}

enum st pg_audit_each(struct pg_store *s, const char *since,
		      bool (*fn)(const struct audit_entry *e, void *arg), void *arg)
{
	struct pconn *c = pg_reader(s);
	struct audit_entry e;
	int64_t after = 0;
	bool go = true;
	enum st st;

	if (!c)
		return ST_UNAVAILABLE;
	st = snapshot_begin(c);
	while (st == ST_OK && go) {
		struct pq q = {0};
		PGresult *r;
		int k;

		if (since)
			pq_text(&q, since);
		pq_i64(&q, after);
		pq_i64(&q, AUDIT_PAGE);
		st = pg_exec(c, since ? P_AUDIT_SINCE_PAGE : P_AUDIT_PAGE, &q, &r, NULL);
		if (st != ST_OK)
			break;
		k = PQntuples(r);
		for (int i = 0; i < k && go; i++) {
			audit_from_row(r, i, &e);
			after = e.seq;
			go = fn(&e, arg);
		}
		PQclear(r);
		if (k < AUDIT_PAGE)
			break;
	}
	snapshot_end(c);
	return st;
}

enum st pg_audit_list(struct pg_store *s, const struct audit_query *q, struct audit_entry *out,
		      size_t *n)
{
	struct pconn *c = pg_reader(s);
	struct pq p = {0};
	PGresult *r;
	enum st st;

	*n = 0;
	if (!c)
		return ST_UNAVAILABLE;
	pq_text(&p, q->tracking_no);
	pq_textn(&p, q->actor);
	pq_textn(&p, q->since);
	pq_i64(&p, q->after_seq);
	pq_i64(&p, q->limit);
	st = pg_exec(c, q->tracking_no ? P_AUDIT_LIST_TN : P_AUDIT_LIST, &p, &r, NULL);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < PQntuples(r) && *n < (size_t)q->limit; i++)
		audit_from_row(r, i, &out[(*n)++]);
	PQclear(r);
	return ST_OK;
}

enum st pg_audit_verify(struct pg_store *s, struct audit_check *out)
{
	struct pconn *c = pg_reader(s);

	return c ? pg_chain_walk(s->kr, c, 0, NULL, NULL, 0, out) : ST_UNAVAILABLE;
}

enum st pg_audit_verify_from(struct pg_store *s, int64_t seq, const unsigned char head[HASH_BYTES],
			     struct audit_check *out)
{
	struct pconn *c = pg_reader(s);

	return c ? pg_chain_walk(s->kr, c, seq, head, NULL, 0, out) : ST_UNAVAILABLE;
}

enum st pg_quick_check(struct pg_store *s, char *err, size_t errlen)
{
	/* PostgreSQL checks its own pages (data checksums, amcheck are the operator's). */
	if (!pg_reader(s)) {
		snprintf(err, errlen, "quick_check: no PostgreSQL connection");
		return ST_UNAVAILABLE;
	}
	return ST_OK;
}

/* One bigint from a plain query on c: false when it failed (a permission, a lost server). */
static bool plain_i64(struct pconn *c, const char *sql, int64_t *out)
{
	PGresult *r = c && c->ready ? PQexec(c->pg, sql) : NULL;
	bool ok =
	    r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);

	if (ok)
		*out = pg_i64(r, 0, 0);
	PQclear(r);
	return ok;
}

enum st pg_sizes(struct pg_store *s, int64_t *db, int64_t *wal)
{
	struct pconn *c = pg_reader(s);

	*db = 0;
	*wal = -1;
	if (!c || !plain_i64(c, "SELECT pg_database_size(current_database())", db))
		return ST_UNAVAILABLE;
	/* The cluster's WAL: pg_ls_waldir() is for superusers and pg_monitor. */
	if (!plain_i64(c, "SELECT coalesce(sum(size), 0)::bigint FROM pg_ls_waldir()", wal))
		*wal = -1;
	return ST_OK;
}

enum st pg_audit_at(struct pg_store *s, int64_t seq, unsigned char hash[HASH_BYTES])
{
	struct pconn *c = pg_reader(s);

	return c ? audit_hash_at(s->kr, c, seq, hash) : ST_UNAVAILABLE;
}

enum st pg_audit_base(struct pg_store *s, int64_t *last, unsigned char head[HASH_BYTES])
{
	struct pconn *c = pg_reader(s);
	struct audit_base b;
	bool found, sig_ok;

	*last = 0;
	memset(head, 0, HASH_BYTES);
	if (!c || audit_base_load(s->kr, c, &b, &found, &sig_ok) != ST_OK)
		return ST_IO;
	if (found && !sig_ok)
		return ST_CRYPTO;
	if (found) {
		*last = b.last;
		memcpy(head, b.head, HASH_BYTES);
	}
	return ST_OK;
}

enum st pg_audit_head(struct pg_store *s, int64_t *seq, unsigned char head[HASH_BYTES])
{
	struct pconn *c = pg_reader(s);
	PGresult *r;
	enum st st;

	*seq = 0;
	memset(head, 0, HASH_BYTES);
	if (!c)
		return ST_UNAVAILABLE;
	st = pg_exec(c, P_AUDIT_HEAD, NULL, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) == 1) {
		*seq = pg_i64(r, 0, 0);
		pg_blob(r, 0, 1, head, HASH_BYTES);
	}
	PQclear(r);
	return ST_OK;
}

/*
 * The plan guard: PostgreSQL's planner picks a scan by the table's size and
 * statistics, so a plan read on a small database says nothing about a big
 * one; the indexes are schema/pg's (the same as SQLite's, whose plans the
 * SQLite backend checks).  Nothing is checked here.
 */
enum st pg_plans_check(struct pg_store *s, char *bad, size_t badlen)
{
	UNUSED(s);
	if (badlen)
		bad[0] = '\0';
	return ST_OK;
}

/* ---- print jobs ------------------------------------------------------- */

static enum st job_get(struct pconn *c, int64_t id, struct print_job_row *out)
{
	struct pq q = {0};
	PGresult *r;
	enum st st;

	memset(out, 0, sizeof(*out));
	pq_i64(&q, id);
	st = pg_exec(c, P_JOB_GET, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	if (PQntuples(r) == 1) {
		out->id = pg_i64(r, 0, 0);
		pg_txt(r, 0, 1, out->depot, sizeof(out->depot));
		pg_txt(r, 0, 2, out->printer, sizeof(out->printer));
		pg_txt(r, 0, 3, out->actor, sizeof(out->actor));
		pg_txt(r, 0, 4, out->role, sizeof(out->role));
		pg_txt(r, 0, 5, out->tracking_nos, sizeof(out->tracking_nos));
		out->labels = (int)pg_i64(r, 0, 6);
		pg_txt(r, 0, 7, out->status, sizeof(out->status));
		pg_txt(r, 0, 8, out->reason, sizeof(out->reason));
		pg_txt(r, 0, 9, out->detail, sizeof(out->detail));
		out->attempts = (int)pg_i64(r, 0, 10);
		out->bytes_sent = pg_i64(r, 0, 11);
		out->created_at = pg_i64(r, 0, 12);
		out->updated_at = pg_i64(r, 0, 13);
	} else {
		st = ST_NOTFOUND;
	}
	PQclear(r);
	return st;
}

enum st pg_w_job_insert(struct pg_store *s, const struct print_job_row *j, int64_t *id)
{
	struct pq q = {0};

	pq_text(&q, j->depot);
	pq_text(&q, j->printer);
	pq_text(&q, j->actor);
	pq_text(&q, j->role);
	pq_text(&q, j->tracking_nos);
	pq_i64(&q, j->labels);
	pq_i64(&q, j->created_at);
	return exec_i64(s->writer, P_JOB_INSERT, &q, id, ST_IO);
}

enum st pg_w_job_get(struct pg_store *s, int64_t id, struct print_job_row *out)
{
	return job_get(s->writer, id, out);
}

enum st pg_w_job_open_count(struct pg_store *s, const char *depot, int64_t *n)
{
	struct pq q = {0};

	*n = 0;
	pq_text(&q, depot);
	return exec_i64(s->writer, P_JOB_OPEN_COUNT, &q, n, ST_IO);
}

enum st pg_w_job_set(struct pg_store *s, int64_t id, const char *status, const char *reason,
		     const char *detail, int attempts, int64_t bytes_sent, int64_t now)
{
	struct pq q = {0};

	pq_i64(&q, id);
	pq_text(&q, status);
	pq_text(&q, reason);
	pq_text(&q, detail);
	pq_i64(&q, attempts);
	pq_i64(&q, bytes_sent);
	pq_i64(&q, now);
	pq_i64(&q, s->owner);
	return change(s->writer, P_JOB_SET, &q, true);
}

enum st pg_w_job_interrupt(struct pg_store *s, int64_t now, int64_t *n)
{
	struct pq q = {0};

	pq_i64(&q, now);
	pq_text(&q, "the daemon stopped while sending it: it may have printed, so it is "
		    "not sent again unless retried");
	pq_i64(&q, s->owner);
	return pg_exec(s->writer, P_JOB_INTERRUPT, &q, NULL, n);
}

enum st pg_w_job_purge(struct pg_store *s, int64_t before, int max, int64_t *n)
{
	struct pq q = {0};

	pq_i64(&q, before);
	pq_i64(&q, max);
	return pg_exec(s->writer, P_JOB_PURGE, &q, NULL, n);
}

enum st pg_job_get(struct pg_store *s, int64_t id, struct print_job_row *out)
{
	struct pconn *c = pg_reader(s);

	memset(out, 0, sizeof(*out));
	return c ? job_get(c, id, out) : ST_UNAVAILABLE;
}

enum st pg_job_queued(struct pg_store *s, int64_t after, int64_t *ids, size_t max, size_t *n)
{
	struct pconn *c = pg_reader(s);
	struct pq q = {0};
	PGresult *r;
	enum st st;

	*n = 0;
	if (!c)
		return ST_UNAVAILABLE;
	pq_i64(&q, after);
	pq_i64(&q, (int64_t)max);
	st = pg_exec(c, P_JOB_QUEUED, &q, &r, NULL);
	if (st != ST_OK)
		return st;
	for (int i = 0; i < PQntuples(r) && *n < max; i++)
		ids[(*n)++] = pg_i64(r, i, 0);
	PQclear(r);
	return ST_OK;
}
