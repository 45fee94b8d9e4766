/*
 * store.c - the only user of sqlite3.h.  See store.h for the shape.
 *
 * Connections: one writer (owned by the writer thread) and one reader per
 * thread that reads, made on first use and closed by store_close().  Every
 * statement is prepared once per connection (SQLITE_PREPARE_PERSISTENT) and
 * reset after each use.
 */
#include "common.h"
#include "store.h"
#include "audit.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* The numbered migrations under schema/, embedded at build time (schema.c). */
struct migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct migration schema_migrations[];
extern const size_t schema_migrations_count;

#define BATCH_MAX 512
#define BUSY_TIMEOUT_MS 5000

enum stmt {
	S_ACCOUNT_BY_TOKEN,
	S_ACCOUNT_BY_NAME,
	S_ACCOUNT_ALL,
	S_ACCOUNT_INSERT,
	S_ACCOUNT_DISABLE,
	S_ACCOUNT_TOKEN,
	S_ORDER_BY_TN,
	S_LIST_AFTER,
	S_ORDER_BY_IDEM,
	S_ORDER_INSERT,
	S_ORDER_STATUS,
	S_ORDER_COURIER,
	S_ORDER_PRINTS,
	S_LIST_DEPOT,
	S_LIST_COURIER,
	S_AUDIT_HEAD,
	S_AUDIT_INSERT,
	S_AUDIT_INSERT_ID,
	S_AUDIT_LIST,
	S_AUDIT_LIST_TN,
	S_AUDIT_ALL,
	S_ORDER_BY_ID,
	S_ORDER_BINDING,
	S_VNUM_OUT,
	S_VNUM_IN,
	S_VNUM_LIST,
	S_VNUM_ROOM,
	S_VNUM_SLOT,
	S_VNUM_EXTS,
	S_VNUM_CLASH,
	S_VNUM_HOLD,
	S_BIND_INSERT,
	S_BIND_RECIPIENT,
	S_BIND_END,
	S_BIND_DUE,
	S_BIND_RELEASE,
	S_VNUM_RELEASE,
	S_BIND_FIND,
	S_BIND_CALLBACK,
	S_VNUM_STATS,
	S_REVEAL_GET,
	S_REVEAL_PUT,
	S_REVEAL_GIVE,
	S_PURGE_DUE,
	S_PURGE_ERASE,
	S_PURGE_UNBIND,
	S_PURGE_COUNT,
	S_PURGE_DUE_OPEN,
	S_PURGE_END_OPEN,
	S_PURGE_COUNT_OPEN,
	S_REWRAP_DUE,
	S_REWRAP_SET,
	S_REWRAP_ACCT_DUE,
	S_REWRAP_ACCT_SET,
	S_KEK_USE,
	S_AUDIT_SINCE,
	S_AUDIT_AT,
	S_AUDIT_LINK_BAD,
	S_RESEAL_DUE,
	S_RESEAL_SET,
	S_RESEAL_IDEM,
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_ROLLBACK_TO,
	S_RELEASE,
	NSTMT
};

#define ORDER_COLS                                                                                 \
	"id, tracking_no, status, created_at, updated_at, ended_at, depot, creator, courier, "     \
	"origin_province, origin_city, origin_district, dest_province, dest_city, "                \
	"dest_district, weight_g, count, vnum, ext, print_count, retain_until, erased_at, "        \
	"kek_version, seal_version, wrapped_dek, sealed, seal_bind"
/* The same columns without the wrapped key and the sealed blob: lists open nothing. */
#define ORDER_COLS_CLEAR                                                                           \
	"id, tracking_no, status, created_at, updated_at, ended_at, depot, creator, courier, "     \
	"origin_province, origin_city, origin_district, dest_province, dest_city, "                \
	"dest_district, weight_g, count, vnum, ext, print_count, retain_until, erased_at, "        \
	"kek_version, seal_version, NULL, NULL, seal_bind"
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
	"kek_version, seal_version, wrapped_dek, sealed, seal_bind) VALUES (?1, ?2, ?3, ?3, ?4, "
	"?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
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
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT job",
    [S_ROLLBACK_TO] = "ROLLBACK TO job",
    [S_RELEASE] = "RELEASE job",
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[NSTMT];
	struct conn *next;
};

struct store {
	const struct keyring *kr;
	char path[512];
	struct conn *writer;

	pthread_mutex_t lock; /* guards the queue, readers and stats */
	pthread_cond_t wake;
	struct wjob *head, *tail;
	bool stopping;
	pthread_t thread;
	bool thread_started;

	/*
	 * Checkpoints and SQLite's "WAL-reset bug" (3.7.0-3.51.2; Debian 12
	 * ships 3.40.1): a PASSIVE checkpoint that runs while another
	 * connection commits the transaction that restarts the log can record
	 * pages of the new log as copied, and a later checkpoint skips them -
	 * lost writes, a corrupt file (seen once here, under make sanitize).
	 * A transaction restarts the log only when it starts on a log that a
	 * checkpoint has just copied in full.  So (see "Checkpoints" below):
	 *
	 *  - In this process one checkpoint runs at a time, and after each the
	 *    next waits until a transaction that began after it has committed
	 *    pages (ckpt_running, ckpt_gate).  The writer never waits for a
	 *    checkpoint.
	 *  - Across processes, one daemon store runs PASSIVE checkpoints, each
	 *    under a lock on byte 0 of "<db>-lock", and holds byte 1 for its
	 *    lifetime (a second daemon on the database is refused).  A tool
	 *    store (waybillctl) runs no PASSIVE checkpoint and holds byte 0 for
	 *    each of its write transactions; when its log grows long it runs a
	 *    RESTART checkpoint, which SQLite runs under the write lock, so no
	 *    commit can overlap it, and bumps a count in "<db>-lock" by which
	 *    the daemon learns that the log may have been copied in full.
	 */
	bool tool;
	int guard_fd;
	pthread_mutex_t txn_lock; /* held by the writer across each transaction */
	uint64_t ckpt_seq;	  /* checkpoints ended (under lock) */
	uint64_t txn_seq;	  /* ckpt_seq when the writer's transaction began */
	uint64_t ckpt_seen;	  /* the count in "<db>-lock" at our last checkpoint */

	/* Checkpoints run on their own thread and connection, off the writer's path. */
	struct conn *ckpt;
	pthread_t ckpt_thread;
	bool ckpt_started;
	pthread_cond_t ckpt_wake;
	int wal_frames;	   /* in the log after the last commit */
	int ckpt_done;	   /* frames the last checkpoint pass had copied */
	int ckpt_frames;   /* checkpoint once the log holds this many (adaptive) */
	bool ckpt_running; /* a checkpoint runs (the thread's or the writer's tail) */
	bool ckpt_gate;	   /* shut: no new pages since the last one ended */
	bool ckpt_hold;	   /* the writer wants the next one */
	pthread_cond_t ckpt_idle;

	struct conn *readers;
	pthread_key_t reader_key;

	int64_t rewrap_after[2]; /* the last order and account rewrapped (writer only) */

	/* The pool's numbers, to draw one from (writer only; reloaded after a sync). */
	char (*vpool)[16];
	size_t vpool_n;
	bool vpool_stale;

	/* The audit chain as the running batch sees it. */
	int64_t audit_seq;
	unsigned char audit_head[HASH_BYTES];

	struct store_stats stats;

	/*
	 * Whether writing works, for /readyz and for one log line each way
	 * (wfail_set).  min_free: below that many free bytes on the database's
	 * filesystem the writer refuses batches before they write, so the
	 * room for a checkpoint stays (store_set_min_free).
	 */
	atomic_int wfail;
	pthread_mutex_t wfail_lock; /* orders the log lines of wfail_set */
	uint64_t wfail_since_ns, wfail_refused;
	uint64_t min_free;
	int page_size;
	bool batch_audit_failed; /* writer only: an entry of the batch was refused */
	bool batch_audited;	 /* writer only: the batch wrote an entry */
};

/* ---- whether writing works -------------------------------------------- */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

enum { WF_NONE, WF_DISK, WF_COMMIT, WF_AUDIT };
static const char *const wfail_names[] = {NULL, "disk", "store", "audit"};
static const char *const wfail_why[] = {NULL, "free space below min_free_mb", "a commit failed",
					"an audit entry cannot be written"};

/*
 * Is the room on the database's filesystem below what must stay free?
 * That is min_free plus what a checkpoint would need to copy the log's
 * pages not yet copied (pending frames, s->lock held by the caller) into
 * the database file, which may grow by a page for each: so a checkpoint
 * always finds room, whatever the bound (the incident: a log of 14.5 MiB
 * on an 18 MiB disk that no checkpoint could copy back).
 */
static bool space_low(const struct store *s, int pending)
{
	struct statvfs sv;
	uint64_t need;

	if (!s->min_free || statvfs(s->path, &sv) != 0)
		return false;
	need = s->min_free + (uint64_t)(pending > 0 ? pending : 0) * (uint64_t)s->page_size;
	return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize < need;
}

static int pending_frames(struct store *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->wal_frames - s->ckpt_done;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/*
 * Writing starts failing or recovers: one line each way, however many
 * batches fail between them (a failed batch itself logs nothing).
 */
static void wfail_set(struct store *s, int to)
{
	pthread_mutex_lock(&s->wfail_lock);
	int from = atomic_exchange(&s->wfail, to);
	if (from == WF_NONE && to != WF_NONE) {
		s->wfail_since_ns = mono_ns();
		s->wfail_refused = 0;
		log_error("store: writing failed (%s): writes and audited reads answer 503 until "
			  "it recovers",
			  wfail_why[to]);
	} else if (from != WF_NONE && to == WF_NONE) {
		log_info("store: writing recovered after %.1f s (%llu batches refused meanwhile)",
			 (double)(mono_ns() - s->wfail_since_ns) / 1e9,
			 (unsigned long long)s->wfail_refused);
	}
	if (to != WF_NONE)
		s->wfail_refused++;
	pthread_mutex_unlock(&s->wfail_lock);
}

void store_set_min_free(struct store *s, uint64_t bytes)
{
	sqlite3_stmt *st = NULL;

	s->page_size = 4096;
	if (sqlite3_prepare_v2(s->writer->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		s->page_size = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	s->min_free = bytes;
}

const char *store_trouble(struct store *s)
{
	int wf = atomic_load(&s->wfail);

	/* The disk as it is now: it may fill while nothing writes. */
	if (space_low(s, pending_frames(s)))
		return wfail_names[WF_DISK];
	if (wf == WF_DISK) {
		wfail_set(s, WF_NONE); /* the room is back: say so as /readyz does */
		return NULL;
	}
	return wfail_names[wf];
}

/* ---- names ----------------------------------------------------------- */

static const char *const role_names[] = {"courier", "depot", "admin", "auditor", "telephony"};

const char *role_name(enum role r)
{
	for (size_t i = 0; i < ARRAY_SIZE(role_names); i++)
		if (r == (enum role)(1 << i))
			return role_names[i];
	return "-";
}

enum role role_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(role_names); i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum role)(1 << i);
	return ROLE_NONE;
}

bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NAME_MAX_BYTES)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool depot_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NAME_MAX_BYTES)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* ---- connections ----------------------------------------------------- */

static enum st sql_status(int rc)
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

static sqlite3_stmt *stmt(struct conn *c, enum stmt id)
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

static void conn_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < NSTMT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

static enum st exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
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

/* ---- the log's writes, gathered --------------------------------------- */

/*
 * SQLite writes each WAL frame with two pwrite calls, its header and its
 * page: ~130 system calls for a commit of 65 pages, on the writer's path
 * (perf trace: pwrite64 took more of the writer's time than fdatasync).
 * The "waybill" VFS hands everything to the default one, except that a WAL
 * file's writes are gathered in memory and go out in writes of up to
 * 124 KiB when SQLite syncs the file, or before anything else touches it
 * (a read, its size, a truncation, a file control, closing it): perf trace
 * counted 2.3 pwrite calls a commit instead of ~40 at half load.  Nothing
 * reaches the disk later than before: a commit's frames are written and
 * synced before SQLite publishes them in the WAL index, where other
 * connections look.  That holds because every connection commits with
 * synchronous=FULL, which conn_open() sets and checks (with OFF or NORMAL,
 * SQLite would publish frames without a sync).
 */
#define WALBUF_MAX (4 << 20)

struct walbuf_file {
	sqlite3_file base;
	sqlite3_file *real; /* the default VFS's file, right after this struct */
	unsigned char *buf;
	size_t len, cap;
	sqlite3_int64 off; /* where buf[0] goes */
};

static sqlite3_vfs *walbuf_real;

/* The unix VFS takes at most 128 KiB - 1 a write (it masks the count). */
#define WALBUF_CHUNK 0x1f000

static int walbuf_put(struct walbuf_file *f, const unsigned char *p, size_t len, sqlite3_int64 off)
{
	int rc = SQLITE_OK;

	for (size_t at = 0; at < len && rc == SQLITE_OK; at += WALBUF_CHUNK) {
		size_t n = len - at < WALBUF_CHUNK ? len - at : WALBUF_CHUNK;
		rc = f->real->pMethods->xWrite(f->real, p + at, (int)n, off + (sqlite3_int64)at);
	}
	return rc;
}

static int walbuf_flush(struct walbuf_file *f)
{
	int rc = walbuf_put(f, f->buf, f->len, f->off);

	f->len = 0;
	return rc;
}

static int walbuf_close(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f), rc2 = f->real->pMethods->xClose(f->real);

	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int walbuf_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, p, n, off);
}

static int walbuf_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	size_t need = f->len + (size_t)n;

	/* Only a write that continues the gathered run joins it. */
	if (n <= 0 || (f->len > 0 && off != f->off + (sqlite3_int64)f->len) || need > WALBUF_MAX) {
		int rc = walbuf_flush(f);
		if (rc != SQLITE_OK)
			return rc;
		if (n <= 0)
			return f->real->pMethods->xWrite(f->real, p, n, off);
		if ((size_t)n > WALBUF_MAX)
			return walbuf_put(f, p, (size_t)n, off);
		need = (size_t)n;
	}
	if (need > f->cap) {
		size_t cap = f->cap ? f->cap : 64 * 1024;
		while (cap < need)
			cap *= 2;
		unsigned char *nb = realloc(f->buf, cap);
		if (!nb) {
			int rc = walbuf_flush(f);
			return rc != SQLITE_OK ? rc : walbuf_put(f, p, (size_t)n, off);
		}
		f->buf = nb;
		f->cap = cap;
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, p, (size_t)n);
	f->len += (size_t)n;
	return SQLITE_OK;
}

static int walbuf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int walbuf_sync(sqlite3_file *file, int flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int walbuf_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int walbuf_lock(sqlite3_file *file, int lock)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xLock(f->real, lock);
}

static int walbuf_unlock(sqlite3_file *file, int lock)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xUnlock(f->real, lock);
}

static int walbuf_reserved(sqlite3_file *file, int *out)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int walbuf_fcntl(sqlite3_file *file, int op, void *arg)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = walbuf_flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int walbuf_sector(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xSectorSize(f->real);
}

static int walbuf_device(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* A WAL file has no shared memory and is not memory-mapped: version 1. */
static const sqlite3_io_methods walbuf_methods = {
    1,
    walbuf_close,
    walbuf_read,
    walbuf_write,
    walbuf_truncate,
    walbuf_sync,
    walbuf_size,
    walbuf_lock,
    walbuf_unlock,
    walbuf_reserved,
    walbuf_fcntl,
    walbuf_sector,
    walbuf_device,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

static int walbuf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		       int *out_flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc;
	UNUSED(vfs);

	/* Any other file is the default VFS's own, in the same memory. */
	if (!(flags & SQLITE_OPEN_WAL))
		return walbuf_real->xOpen(walbuf_real, name, file, flags, out_flags);
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = walbuf_real->xOpen(walbuf_real, name, f->real, flags, out_flags);
	/* Methods only once the real file is open: SQLite closes only such. */
	if (rc == SQLITE_OK && f->real->pMethods)
		f->base.pMethods = &walbuf_methods;
	return rc;
}

static sqlite3_vfs walbuf_vfs;

static void walbuf_register(void)
{
	walbuf_real = sqlite3_vfs_find(NULL);
	if (!walbuf_real)
		return;
	walbuf_vfs = *walbuf_real;
	walbuf_vfs.pNext = NULL;
	walbuf_vfs.zName = "waybill";
	walbuf_vfs.szOsFile = (int)sizeof(struct walbuf_file) + walbuf_real->szOsFile;
	walbuf_vfs.xOpen = walbuf_open;
	if (sqlite3_vfs_register(&walbuf_vfs, 0) != SQLITE_OK)
		walbuf_real = NULL;
}

static enum st conn_open(const char *path, bool create, struct conn **out, char *err, size_t errlen)
{
	struct conn *c = calloc(1, sizeof(*c));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
	int rc;

	*out = NULL;
	if (!c)
		return ST_NOMEM;
	static pthread_once_t vfs_once = PTHREAD_ONCE_INIT;
	pthread_once(&vfs_once, walbuf_register);
	rc = sqlite3_open_v2(path, &c->db, flags, walbuf_real ? "waybill" : NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "database %s: %s", path,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		conn_close(c);
		return ST_IO;
	}
	sqlite3_extended_result_codes(c->db, 0);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);

	if (exec_sql(c->db, pragmas, err, errlen) != ST_OK) {
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
static struct conn *reader(struct store *s)
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

/* ---- row helpers ----------------------------------------------------- */

/*
 * Statements that may walk a whole big table: the chain's head is its last
 * row, `audit verify` and `audit export` read the chain, and a key is retired
 * (waybillctl) only after counting what it still wraps.  Any other statement
 * must reach orders, audit and vnum_bindings through an index: a slip here
 * passes every test on a small database and stalls the daemon on a big one,
 * so store_plans_check() holds each plan to it.
 */
static const bool scan_ok[NSTMT] = {
    [S_AUDIT_HEAD] = true,     [S_AUDIT_ALL] = true, [S_AUDIT_SINCE] = true,
    [S_AUDIT_LINK_BAD] = true, /* each entry's order_id, against orders by tracking_no */
    [S_KEK_USE] = true,
};

enum st store_plans_check(struct store *s, char *bad, size_t badlen)
{
	static const char *const big[] = {"orders", "audit", "vnum_bindings"};
	struct conn *c = reader(s);

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

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void account_from_row(sqlite3_stmt *st, struct account *a)
{
	char role[16];

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, a->name, sizeof(a->name));
	col_text(st, 2, role, sizeof(role));
	a->role = role_parse(role);
	col_text(st, 3, a->depot, sizeof(a->depot));
	a->disabled = sqlite3_column_int(st, 4) != 0;
	a->created_at = sqlite3_column_int64(st, 5);
	{
		const void *idx = sqlite3_column_blob(st, 6);
		const void *wd = sqlite3_column_blob(st, 9);
		const void *sl = sqlite3_column_blob(st, 10);
		int sn = sqlite3_column_bytes(st, 10);

		if (idx && sqlite3_column_bytes(st, 6) == HASH_BYTES && wd &&
		    sqlite3_column_bytes(st, 9) == WRAPPED_DEK_BYTES && sl && sn > 0 &&
		    sn <= ACCOUNT_PHONE_SEALED_MAX) {
			a->has_phone = true;
			memcpy(a->phone_index, idx, HASH_BYTES);
			a->phone_kek_version = (uint32_t)sqlite3_column_int64(st, 7);
			a->phone_seal_version = (uint32_t)sqlite3_column_int64(st, 8);
			memcpy(a->phone_wrapped_dek, wd, WRAPPED_DEK_BYTES);
			memcpy(a->phone_sealed, sl, (size_t)sn);
			a->phone_sealed_len = (size_t)sn;
		}
	}
}

static enum st order_from_row(sqlite3_stmt *st, struct order_row *r)
{
	const void *b;
	int n;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, r->tracking_no, sizeof(r->tracking_no));
	col_text(st, 2, r->status, sizeof(r->status));
	r->created_at = sqlite3_column_int64(st, 3);
	r->updated_at = sqlite3_column_int64(st, 4);
	r->ended_at = sqlite3_column_int64(st, 5);
	col_text(st, 6, r->depot, sizeof(r->depot));
	col_text(st, 7, r->creator, sizeof(r->creator));
	col_text(st, 8, r->courier, sizeof(r->courier));
	col_text(st, 9, r->origin_province, sizeof(r->origin_province));
	col_text(st, 10, r->origin_city, sizeof(r->origin_city));
	col_text(st, 11, r->origin_district, sizeof(r->origin_district));
	col_text(st, 12, r->dest_province, sizeof(r->dest_province));
	col_text(st, 13, r->dest_city, sizeof(r->dest_city));
	col_text(st, 14, r->dest_district, sizeof(r->dest_district));
	r->weight_g = sqlite3_column_int(st, 15);
	r->count = sqlite3_column_int(st, 16);
	col_text(st, 17, r->vnum, sizeof(r->vnum));
	col_text(st, 18, r->ext, sizeof(r->ext));
	r->print_count = sqlite3_column_int(st, 19);
	r->retain_until = sqlite3_column_int64(st, 20);
	r->erased_at = sqlite3_column_int64(st, 21);
	r->kek_version = (uint32_t)sqlite3_column_int64(st, 22);
	r->seal_version = (uint32_t)sqlite3_column_int64(st, 23);
	b = sqlite3_column_blob(st, 24);
	n = sqlite3_column_bytes(st, 24);
	if (b && n == WRAPPED_DEK_BYTES)
		memcpy(r->wrapped_dek, b, WRAPPED_DEK_BYTES);
	b = sqlite3_column_blob(st, 25);
	n = sqlite3_column_bytes(st, 25);
	if (b && n > 0) {
		r->sealed = malloc((size_t)n);
		if (!r->sealed)
			return ST_NOMEM;
		memcpy(r->sealed, b, (size_t)n);
		r->sealed_len = (size_t)n;
	}
	r->seal_bind = sqlite3_column_int(st, 26);
	return ST_OK;
}

static void bind_of(const char *tn, const char *depot, const char *creator, int seal_bind,
		    char out[ORDER_BIND_MAX])
{
	if (seal_bind == ORDER_SEAL_LEGACY)
		snprintf(out, ORDER_BIND_MAX, "%s", tn);
	else
		snprintf(out, ORDER_BIND_MAX, "%s|%s|%s", tn, depot, creator);
}

void order_row_bind(const struct order_row *r, char out[ORDER_BIND_MAX])
{
	bind_of(r->tracking_no, r->depot, r->creator, r->seal_bind, out);
}

void order_row_release(struct order_row *r)
{
	if (!r)
		return;
	free(r->sealed);
	r->sealed = NULL;
	r->sealed_len = 0;
}

static void audit_from_row(sqlite3_stmt *st, struct audit_entry *e)
{
	const void *b;

	memset(e, 0, sizeof(*e));
	e->seq = sqlite3_column_int64(st, 0);
	col_text(st, 1, e->ts, sizeof(e->ts));
	col_text(st, 2, e->actor, sizeof(e->actor));
	col_text(st, 3, e->role, sizeof(e->role));
	col_text(st, 4, e->action, sizeof(e->action));
	col_text(st, 5, e->tracking_no, sizeof(e->tracking_no));
	col_text(st, 6, e->reason, sizeof(e->reason));
	col_text(st, 7, e->result, sizeof(e->result));
	col_text(st, 8, e->request_id, sizeof(e->request_id));
	b = sqlite3_column_blob(st, 9);
	if (b && sqlite3_column_bytes(st, 9) == HASH_BYTES)
		memcpy(e->prev, b, HASH_BYTES);
	b = sqlite3_column_blob(st, 10);
	if (b && sqlite3_column_bytes(st, 10) == HASH_BYTES)
		memcpy(e->hash, b, HASH_BYTES);
}

/* Step a statement that yields at most one row into fill(); then reset. */
static enum st step_one(struct conn *c, sqlite3_stmt *st, void (*fill)(sqlite3_stmt *, void *),
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

/* Step a statement that yields no rows; then reset. */
static enum st step_done(struct conn *c, sqlite3_stmt *st)
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

static void fill_account(sqlite3_stmt *st, void *arg)
{
	account_from_row(st, arg);
}

struct order_fill {
	struct order_row *r;
	enum st st;
};

static void fill_order(sqlite3_stmt *st, void *arg)
{
	struct order_fill *f = arg;
	f->st = order_from_row(st, f->r);
}

static enum st order_get(struct conn *c, const char *tn, struct order_row *out)
{
	sqlite3_stmt *st = stmt(c, S_ORDER_BY_TN);
	struct order_fill f = {out, ST_OK};
	enum st res;

	memset(out, 0, sizeof(*out));
	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, tn, -1, SQLITE_STATIC);
	res = step_one(c, st, fill_order, &f);
	if (res == ST_OK && f.st != ST_OK) {
		order_row_release(out);
		res = f.st;
	}
	return res;
}

static enum st account_get(struct conn *c, const char *name, struct account *out)
{
	sqlite3_stmt *st = stmt(c, S_ACCOUNT_BY_NAME);

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return step_one(c, st, fill_account, out);
}

/* ---- migrations and checks ------------------------------------------- */

static enum st migrate(struct conn *c, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int have = 0;
	enum st res;

	res = exec_sql(
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
		if (exec_sql(c->db, "BEGIN IMMEDIATE", err, errlen) != ST_OK)
			return ST_IO;
		snprintf(rec, sizeof(rec),
			 "INSERT INTO schema_migrations VALUES (%d, '%s', strftime('%%s','now'))",
			 m->version, m->name);
		if (exec_sql(c->db, m->sql, msg, sizeof(msg)) != ST_OK ||
		    exec_sql(c->db, rec, msg, sizeof(msg)) != ST_OK ||
		    exec_sql(c->db, "COMMIT", msg, sizeof(msg)) != ST_OK) {
			snprintf(err, errlen, "migration %04d-%s: %s", m->version, m->name, msg);
			exec_sql(c->db, "ROLLBACK", msg, sizeof(msg));
			return ST_IO;
		}
		log_info("store: applied migration %04d-%s", m->version, m->name);
	}
	return ST_OK;
}

static enum st quick_check(struct conn *c, char *err, size_t errlen)
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

/*
 * Where the live chain starts after an archive (schema 0010): *found false
 * when nothing was archived.  *sig_ok tells whether its signature is the
 * audit checkpoint key's: a row without one covers nothing.
 */
struct audit_base {
	int64_t first, last;
	unsigned char head[HASH_BYTES];
	char ts[24];
	unsigned char sig[SIGN_BYTES];
};

static enum st audit_base_load(const struct keyring *kr, struct conn *c, struct audit_base *b,
			       bool *found, bool *sig_ok)
{
	sqlite3_stmt *st = NULL;
	enum st res = ST_OK;
	int rc;

	*found = *sig_ok = false;
	memset(b, 0, sizeof(*b));
	if (sqlite3_prepare_v2(c->db, "SELECT first, last, head, ts, sig FROM audit_base", -1, &st,
			       NULL) != SQLITE_OK)
		return ST_IO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 2), *g = sqlite3_column_blob(st, 4);
		unsigned char pk[SIGN_PK_BYTES];
		char msg[256];
		size_t n;

		*found = true;
		b->first = sqlite3_column_int64(st, 0);
		b->last = sqlite3_column_int64(st, 1);
		col_text(st, 3, b->ts, sizeof(b->ts));
		if (h && sqlite3_column_bytes(st, 2) == HASH_BYTES && g &&
		    sqlite3_column_bytes(st, 4) == SIGN_BYTES) {
			memcpy(b->head, h, HASH_BYTES);
			memcpy(b->sig, g, SIGN_BYTES);
			n = audit_archive_msg(msg, sizeof(msg), b->first, b->last, b->head, b->ts);
			crypto_checkpoint_key(kr, pk);
			*sig_ok = n > 0 && b->first >= 1 && b->last >= b->first &&
				  crypto_checkpoint_verify(pk, msg, n, b->sig);
		}
	} else if (rc != SQLITE_DONE) {
		res = ST_IO;
	}
	sqlite3_finalize(st);
	return res;
}

/* The hash of entry seq: ST_NOTFOUND when the chain has no such entry. */
static enum st audit_hash_at_row(struct conn *c, int64_t seq, unsigned char out[HASH_BYTES]);

/*
 * The hash of entry seq: ST_NOTFOUND when the chain has no such entry,
 * ST_GONE when a signed archive checkpoint says it was archived (then the
 * archive's own verify answers for it); the archived last entry's hash is
 * the checkpoint's head.
 */
static enum st audit_hash_at(const struct keyring *kr, struct conn *c, int64_t seq,
			     unsigned char out[HASH_BYTES])
{
	struct audit_base b;
	bool found, sig_ok;
	enum st st = audit_hash_at_row(c, seq, out);

	if (st != ST_NOTFOUND || seq < 1)
		return st;
	if (audit_base_load(kr, c, &b, &found, &sig_ok) != ST_OK)
		return ST_IO;
	if (!found || !sig_ok || seq > b.last)
		return ST_NOTFOUND;
	if (seq < b.last)
		return ST_GONE;
	memcpy(out, b.head, HASH_BYTES);
	return ST_OK;
}

static enum st audit_hash_at_row(struct conn *c, int64_t seq, unsigned char out[HASH_BYTES])
{
	sqlite3_stmt *st = stmt(c, S_AUDIT_AT);
	enum st res = ST_NOTFOUND;
	int rc;

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		memset(out, 0, HASH_BYTES);
		if (b && sqlite3_column_bytes(st, 0) == HASH_BYTES)
			memcpy(out, b, HASH_BYTES);
		res = ST_OK;
	} else if (rc != SQLITE_DONE) {
		res = ST_IO;
	}
	sqlite3_reset(st);
	return res;
}

/* Each mark against the chain: the first it lacks or contradicts goes in out. */
static enum st audit_marks_check(const struct keyring *kr, struct conn *c,
				 const struct audit_mark *marks, size_t nmarks,
				 struct audit_check *out)
{
	unsigned char h[HASH_BYTES];

	for (size_t i = 0; i < nmarks; i++) {
		enum st st = audit_hash_at(kr, c, marks[i].seq, h);

		if (st == ST_GONE) {
			out->marks_archived++; /* verify --archive checks those */
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

/*
 * Walk the chain after entry from_seq, whose hash is from_head (0 and
 * zeros: the whole chain), and the look-up aids of those entries.
 */
static enum st audit_walk(const struct keyring *kr, struct conn *c, int64_t from_seq,
			  const unsigned char from_head[HASH_BYTES], const struct audit_mark *marks,
			  size_t nmarks, struct audit_check *out)
{
	sqlite3_stmt *st = stmt(c, S_AUDIT_ALL), *link = stmt(c, S_AUDIT_LINK_BAD);
	unsigned char prev[HASH_BYTES] = {0};
	struct audit_entry e;
	int64_t expect = from_seq + 1;
	int rc;
	enum st res = ST_OK;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	if (!st || !link)
		return ST_IO;
	/* One read transaction: a consistent snapshot however long the walk. */
	sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
	if (from_head) {
		memcpy(prev, from_head, HASH_BYTES);
	} else {
		/* The whole chain: from the signed archive checkpoint, when there is one. */
		struct audit_base b;
		bool found, sig_ok;

		if (audit_base_load(kr, c, &b, &found, &sig_ok) != ST_OK) {
			sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
			return ST_IO;
		}
		if (found && !sig_ok) {
			out->ok = false;
			out->bad_seq = b.last + 1;
			out->why = "the archive checkpoint it starts from does not verify (forged, "
				   "or another key)";
			sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
			return ST_OK;
		}
		if (found) {
			from_seq = b.last;
			expect = b.last + 1;
			memcpy(prev, b.head, HASH_BYTES);
			out->base_seq = b.last;
			memcpy(out->base_head, b.head, HASH_BYTES);
		}
	}
	sqlite3_bind_int64(st, 1, from_seq);
	sqlite3_bind_int64(link, 1, from_seq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_from_row(st, &e);
		if (e.seq != expect || !crypto_equal(e.prev, prev, HASH_BYTES) ||
		    !audit_link_ok(kr, &e)) {
			out->ok = false;
			out->bad_seq = e.seq != expect && e.seq > expect ? expect : e.seq;
			out->why = "the entry does not link to the one before it";
			if (out->entries == 0 && e.seq > expect)
				out->why = "the chain starts after it with no signed archive "
					   "checkpoint covering what is missing (entries deleted?)";
			break;
		}
		memcpy(prev, e.hash, HASH_BYTES);
		out->entries++;
		expect++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = sql_status(rc) == ST_OK ? ST_IO : sql_status(rc);
	/* An archive always leaves the head and its own entry: none at all is a deletion. */
	if (res == ST_OK && out->ok && out->base_seq && out->entries == 0 && !from_head) {
		out->ok = false;
		out->bad_seq = out->base_seq + 1;
		out->why = "no entry follows the archive checkpoint (entries deleted?)";
	}
	sqlite3_reset(st);
	/* An entry whose look-up aid is not its order's row would hide from GET /v1/audit. */
	if (res == ST_OK) {
		rc = sqlite3_step(link);
		if (rc == SQLITE_ROW && sqlite3_column_type(link, 0) != SQLITE_NULL) {
			int64_t seq = sqlite3_column_int64(link, 0);
			if (out->ok || seq < out->bad_seq) {
				out->ok = false;
				out->bad_seq = seq;
				out->entries = seq - 1 - from_seq;
				out->why = "its order_id is not the row of the order it names";
			}
		} else if (rc != SQLITE_ROW) {
			res = ST_IO;
		}
		sqlite3_reset(link);
	}
	if (res == ST_OK && nmarks)
		res = audit_marks_check(kr, c, marks, nmarks, out);
	sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	memcpy(out->head, prev, HASH_BYTES);
	out->head_seq = expect - 1;
	return res;
}

/* ---- the writer thread ----------------------------------------------- */

static enum st audit_load_head(struct store *s)
{
	sqlite3_stmt *st = stmt(s->writer, S_AUDIT_HEAD);
	int rc;

	if (!st)
		return ST_IO;
	s->audit_seq = 0;
	memset(s->audit_head, 0, HASH_BYTES);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 1);
		s->audit_seq = sqlite3_column_int64(st, 0);
		if (b && sqlite3_column_bytes(st, 1) == HASH_BYTES)
			memcpy(s->audit_head, b, HASH_BYTES);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

enum st store_w_audit_append(struct store *s, const struct audit_entry *in)
{
	struct audit_entry e = *in;
	sqlite3_stmt *st = stmt(s->writer, in->order_id ? S_AUDIT_INSERT_ID : S_AUDIT_INSERT);
	enum st res;

	if (!st)
		return ST_UNAVAILABLE;
	e.seq = s->audit_seq + 1;
	if (!e.ts[0])
		audit_now(e.ts);
	memcpy(e.prev, s->audit_head, HASH_BYTES);
	audit_link(s->kr, &e);
	sqlite3_bind_int64(st, 1, e.seq);
	sqlite3_bind_text(st, 2, e.ts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e.actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, e.role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e.action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e.tracking_no, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, e.reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, e.result, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, e.request_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, e.prev, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 11, e.hash, HASH_BYTES, SQLITE_STATIC);
	if (e.order_id)
		sqlite3_bind_int64(st, 12, e.order_id);
	res = step_done(s->writer, st);
	if (res != ST_OK)
		return ST_UNAVAILABLE;
	s->audit_seq = e.seq;
	memcpy(s->audit_head, e.hash, HASH_BYTES);
	return ST_OK;
}

static bool run_plain(struct store *s, enum stmt id)
{
	sqlite3_stmt *st = stmt(s->writer, id);
	return st && step_done(s->writer, st) == ST_OK;
}

static void batch_fail(struct wjob *jobs, enum st st)
{
	for (struct wjob *j = jobs; j; j = j->next)
		j->st = st;
}

/* What the writer keeps in memory about the open transaction. */
struct wstate {
	int64_t audit_seq, rewrap_after[2];
	unsigned char audit_head[HASH_BYTES];
};

static void wstate_save(const struct store *s, struct wstate *w)
{
	w->audit_seq = s->audit_seq;
	memcpy(w->audit_head, s->audit_head, HASH_BYTES);
	memcpy(w->rewrap_after, s->rewrap_after, sizeof(w->rewrap_after));
}

static void wstate_restore(struct store *s, const struct wstate *w)
{
	s->audit_seq = w->audit_seq;
	memcpy(s->audit_head, w->audit_head, HASH_BYTES);
	memcpy(s->rewrap_after, w->rewrap_after, sizeof(s->rewrap_after));
}

/*
 * Run a batch's jobs inside its transaction.  A job that fails must leave
 * nothing behind but its audit entry, while the others' changes stay.
 *
 * A savepoint per job would do that, but each costs a copy of every page
 * the job touches (SQLite's statement journal): ~12% of the writer's time
 * here.  And jobs almost never fail after writing (a refusal is decided
 * before anything is written).  So a batch first runs without savepoints
 * (safe = false): a job that failed having changed no row just gets its
 * entry (rows as sqlite3_total_changes64 counts them: inserts, updates and
 * deletes, triggers' too; no job changes the schema); one that failed after
 * changing rows makes this return false, the
 * caller rolls the whole transaction back, and the batch runs again with a
 * savepoint around each job (safe = true).  Jobs see the same database both
 * times, so they decide the same way.
 */
static bool run_jobs(struct store *s, struct wjob *jobs, bool safe)
{
	sqlite3 *db = s->writer->db;

	for (struct wjob *j = jobs; j; j = j->next) {
		struct wstate w;
		enum st st = ST_OK;
		sqlite3_int64 changes = sqlite3_total_changes64(db);

		wstate_save(s, &w);
		if (safe && !run_plain(s, S_SAVEPOINT)) {
			j->st = ST_UNAVAILABLE;
			continue;
		}
		if (j->fn)
			st = j->fn(s, j);
		if (st != ST_OK && sqlite3_total_changes64(db) != changes) {
			if (!safe)
				return false;
			run_plain(s, S_ROLLBACK_TO);
			wstate_restore(s, &w);
		}
		if (!j->no_audit) {
			if (st != ST_OK)
				j->audit.order_id = 0; /* that order may be gone with the job */
			snprintf(j->audit.result, sizeof(j->audit.result), "%s",
				 j->result ? j->result : st_name(st));
			if (store_w_audit_append(s, &j->audit) != ST_OK) {
				s->batch_audit_failed = true;
				if (!safe)
					return false;
				run_plain(s, S_ROLLBACK_TO);
				wstate_restore(s, &w);
				st = ST_UNAVAILABLE;
			} else {
				s->batch_audited = true;
			}
		}
		if (safe)
			run_plain(s, S_RELEASE);
		j->st = st;
	}
	return true;
}

/*
 * A lock on one byte of "<db>-lock": GUARD_SECTION around what must not
 * overlap across processes, GUARD_DAEMON for a daemon store's lifetime
 * (see tool).  Open file description locks: they belong to this store's
 * descriptor, not to the process, so two stores in one process exclude
 * each other too, and the kernel drops them when the process dies.
 */
enum { GUARD_SECTION = 0, GUARD_DAEMON = 1 };

static bool guard(struct store *s, int byte, short type, bool wait)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};

	while (fcntl(s->guard_fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EACCES)
			log_error("store: %s-lock: %s", s->path, strerror(errno));
		return false;
	}
	return true;
}

/* Does a daemon store (this process's or another's) hold the database? */
static bool guard_daemon_runs(struct store *s)
{
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = GUARD_DAEMON, .l_len = 1};

	if (!s->tool)
		return true;
	if (fcntl(s->guard_fd, F_OFD_GETLK, &fl) == -1)
		return true; /* cannot tell: assume so */
	return fl.l_type != F_UNLCK;
}

/*
 * Checkpoints that ran anywhere, counted in the first 8 bytes of
 * "<db>-lock" (read and bumped under GUARD_SECTION): a daemon store sees
 * by it that a tool's checkpoint ran since its own last look.
 */
static uint64_t guard_count(struct store *s, bool bump)
{
	uint64_t n = 0;

	if (pread(s->guard_fd, &n, sizeof(n), 0) != (ssize_t)sizeof(n))
		n = 0;
	if (bump) {
		n++;
		if (pwrite(s->guard_fd, &n, sizeof(n), 0) != (ssize_t)sizeof(n))
			log_error("store: %s-lock: %s", s->path, strerror(errno));
	}
	return n;
}

const unsigned store_commit_bounds_us[STORE_COMMIT_BUCKETS] = {250,   500,   1000,  2000,  5000,
							       10000, 25000, 50000, 100000};

static void run_batch(struct store *s, struct wjob *jobs, size_t n)
{
	struct wstate w0;
	size_t bucket = 0;
	uint64_t t0 = mono_ns(), t1 = t0, t2 = t0;
	bool safe = false, section = false;
	sqlite3_int64 changes0 = 0;

	pthread_mutex_lock(&s->txn_lock);
	if (s->tool) {
		section = guard(s, GUARD_SECTION, F_WRLCK, true);
		if (!section) {
			batch_fail(jobs, ST_UNAVAILABLE);
			goto done;
		}
	}
	/* Below the bound nothing more is written: what room is left is the checkpoint's. */
	if (space_low(s, pending_frames(s))) {
		wfail_set(s, WF_DISK);
		batch_fail(jobs, ST_UNAVAILABLE);
		goto done;
	}
	changes0 = sqlite3_total_changes64(s->writer->db);
again:
	s->batch_audit_failed = s->batch_audited = false;
	pthread_mutex_lock(&s->lock);
	s->txn_seq = s->ckpt_seq;
	pthread_mutex_unlock(&s->lock);
	if (!run_plain(s, S_BEGIN)) {
		batch_fail(jobs, ST_UNAVAILABLE);
		goto done;
	}
	if (audit_load_head(s) != ST_OK) {
		run_plain(s, S_ROLLBACK);
		batch_fail(jobs, ST_UNAVAILABLE);
		goto done;
	}
	wstate_save(s, &w0);
	if (!run_jobs(s, jobs, safe)) {
		run_plain(s, S_ROLLBACK);
		wstate_restore(s, &w0);
		safe = true;
		pthread_mutex_lock(&s->lock);
		s->stats.reruns++;
		pthread_mutex_unlock(&s->lock);
		goto again;
	}
	t1 = mono_ns();
	if (!run_plain(s, S_COMMIT)) {
		/* A full disk rolls the transaction back itself: no ROLLBACK then. */
		if (!sqlite3_get_autocommit(s->writer->db))
			run_plain(s, S_ROLLBACK);
		wstate_restore(s, &w0);
		batch_fail(jobs, ST_UNAVAILABLE);
		wfail_set(s, WF_COMMIT);
		pthread_mutex_lock(&s->lock);
		s->stats.commit_fail++;
		pthread_mutex_unlock(&s->lock);
	} else if (s->batch_audit_failed) {
		wfail_set(s, WF_AUDIT);
	} else if ((sqlite3_total_changes64(s->writer->db) != changes0 &&
		    (s->batch_audited || atomic_load(&s->wfail) != WF_AUDIT)) ||
		   atomic_load(&s->wfail) == WF_DISK) {
		/* Only a commit that wrote shows that writing works again. */
		wfail_set(s, WF_NONE);
	}
	t2 = mono_ns();
done:
	if (section)
		guard(s, GUARD_SECTION, F_UNLCK, false);
	pthread_mutex_unlock(&s->txn_lock);
	while ((size_t)1 << (bucket + 1) <= n && bucket < ARRAY_SIZE(s->stats.batch_hist) - 1)
		bucket++;
	size_t cb = 0;
	while (cb < STORE_COMMIT_BUCKETS && t2 - t1 > (uint64_t)store_commit_bounds_us[cb] * 1000)
		cb++;
	pthread_mutex_lock(&s->lock);
	s->stats.exec_ns += t1 - t0;
	s->stats.commit_ns += t2 - t1;
	s->stats.batches++;
	s->stats.jobs += n;
	s->stats.batch_hist[bucket]++;
	if (t2 > t1) /* a COMMIT ran */
		s->stats.commit_hist[cb]++;
	pthread_mutex_unlock(&s->lock);
	while (jobs) {
		struct wjob *next = jobs->next;
		jobs->next = NULL;
		jobs->done(jobs); /* may free the job */
		jobs = next;
	}
}

/*
 * Checkpoints.  A daemon store runs them on their own thread: copying
 * pages into the database and syncing it inside a commit would stall
 * every request waiting on it.  The writer's WAL hook wakes the thread
 * once the log holds ckpt_frames frames not yet copied (and it runs once
 * a second); its PASSIVE checkpoints never block the writer or the
 * readers.
 *
 * How many frames to let build up between passes depends on the load.
 * Each pass ends in an fsync of the database that competes with the
 * commits' fsyncs of the log: rare passes make rare, long stalls, frequent
 * ones short ones but copy a hot page again each time (a pass every 512
 * frames cost ~12% of the peak rate).  So the checkpointer looks at the
 * share of the last second the writer spent running jobs (not committing:
 * waiting on fsync fills the time at any load): below CKPT_BUSY it passes
 * every CKPT_FRAMES_SHORT frames, above it every CKPT_FRAMES_LONG.
 *
 * Under steady writes a pass never quite catches up, and SQLite starts the
 * log over from its beginning only when one has: the log would grow
 * without end.  So once it is half of CKPT_LOG_MAX and the last pass left
 * at most CKPT_TAIL frames, the writer copies that tail itself between
 * batches, and at CKPT_LOG_MAX it waits out the pass and copies the rest:
 * that back-pressure bounds the log (and the -wal file, which never
 * shrinks) whatever the load.  Either costs the writer a database fsync,
 * 2-12 ms here, which every request arriving meanwhile waits out: done
 * every 512-1,024 frames, as it first was, that was ~4% of the time at
 * half load and the largest part of p99 there (p99 12-28 ms; 7-16 ms with
 * the long bound, same minutes, and no lower peak rate).
 *
 * The WAL-reset bug (see tool) allows no PASSIVE checkpoint while a
 * transaction that restarts the log commits, and a transaction restarts
 * the log when it starts on one a checkpoint has just copied in full.
 * So one checkpoint runs at a time (ckpt_running), and after each the
 * next waits (ckpt_gate) until a transaction that began after it has
 * committed pages: the log then holds pages no checkpoint has copied, and
 * no transaction can restart it until one has, which closes the gate
 * again.  The writer never waits for a checkpoint.  Only when the gate
 * has stayed shut for a whole second (no writes) does the thread take
 * txn_lock, which keeps the writer out of a transaction, and checkpoint
 * anyway.  A tool's checkpoint, which the gate cannot see, bumps the
 * count in "<db>-lock": finding it changed shuts the gate.
 */
#define CKPT_FRAMES_SHORT 512
#define CKPT_FRAMES_LONG 4096
#define CKPT_BUSY 0.25
#define CKPT_LOG_MAX 16384 /* frames: a 64 MiB -wal file at 4 KiB pages */
#define CKPT_TAIL 256

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *s = arg;
	UNUSED(db);
	UNUSED(name);
	pthread_mutex_lock(&s->lock);
	/* The log starts over after a finished checkpoint: then all are new. */
	s->stats.wal_pages += (uint64_t)(frames >= s->wal_frames ? frames - s->wal_frames : frames);
	if (frames < s->wal_frames)
		s->ckpt_done = 0;
	s->wal_frames = frames;
	/* Pages of a transaction that began after the last checkpoint ended. */
	if (s->txn_seq == s->ckpt_seq)
		s->ckpt_gate = false;
	if (frames - s->ckpt_done >= s->ckpt_frames && !s->ckpt_gate)
		pthread_cond_signal(&s->ckpt_wake);
	pthread_mutex_unlock(&s->lock);
	return SQLITE_OK;
}

/*
 * One checkpoint of a daemon store, the caller holding ckpt_running; with
 * writer_out, txn_lock is held too.  SQLITE_BUSY when it did not run.
 */
static int ckpt_run(struct store *s, struct conn *c, int mode, bool writer_out, int *log,
		    int *copied)
{
	int rc = SQLITE_BUSY;

	*log = *copied = 0;
	if (guard(s, GUARD_SECTION, F_WRLCK, true)) {
		uint64_t seen = guard_count(s, false);
		/* A tool checkpointed since our last look: the log may be whole. */
		if (seen == s->ckpt_seen || writer_out || mode != SQLITE_CHECKPOINT_PASSIVE)
			rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, log, copied);
		s->ckpt_seen = seen;
		guard(s, GUARD_SECTION, F_UNLCK, false);
	}
	pthread_mutex_lock(&s->lock);
	s->ckpt_seq++;
	s->ckpt_gate = true;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void *ckpt_main(void *arg)
{
	struct store *s = arg;
	uint64_t busy0 = 0, t0 = mono_ns(), shut_since = 0;

	pthread_setname_np(pthread_self(), "wb-checkpoint");
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec ts;
		int log = 0, done = 0;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (s->wal_frames - s->ckpt_done < s->ckpt_frames || s->ckpt_gate)
			pthread_cond_timedwait(&s->ckpt_wake, &s->lock, &ts);
		if (s->stopping)
			break;
		/* Space back while nothing writes: say so without waiting for a write. */
		if (atomic_load(&s->wfail) == WF_DISK &&
		    !space_low(s, s->wal_frames - s->ckpt_done))
			wfail_set(s, WF_NONE);
		/* The writer's share of the time since the last look. */
		uint64_t busy = s->stats.exec_ns, t = mono_ns();
		if (t - t0 >= 250000000) {
			double frac = (double)(busy - busy0) / (double)(t - t0);
			s->ckpt_frames = frac < CKPT_BUSY ? CKPT_FRAMES_SHORT : CKPT_FRAMES_LONG;
			busy0 = busy;
			t0 = t;
		}
		if (s->ckpt_hold || s->ckpt_running) {
			/* The writer is copying the log itself: wait for it. */
			pthread_cond_timedwait(&s->ckpt_idle, &s->lock, &ts);
			continue;
		}
		bool writer_out = false;
		if (s->ckpt_gate) {
			if (!shut_since)
				shut_since = t;
			if (t - shut_since < 1000000000)
				continue;
			writer_out = true;
		}
		shut_since = 0;
		s->ckpt_running = true;
		pthread_mutex_unlock(&s->lock);
		if (writer_out)
			pthread_mutex_lock(&s->txn_lock);
		if (ckpt_run(s, s->ckpt, SQLITE_CHECKPOINT_PASSIVE, writer_out, &log, &done) !=
		    SQLITE_OK)
			done = 0;
		if (writer_out)
			pthread_mutex_unlock(&s->txn_lock);
		pthread_mutex_lock(&s->lock);
		s->ckpt_done = done;
		s->ckpt_running = false;
		pthread_cond_broadcast(&s->ckpt_idle);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Between batches: finish a nearly done checkpoint so the log starts over. */
static void ckpt_tail(struct store *s)
{
	pthread_mutex_lock(&s->lock);
	int frames = s->wal_frames, done = s->ckpt_done;
	/*
	 * Once the log is half its bound, a tail of up to CKPT_TAIL frames.
	 * Or the whole rest at the bound: big batches (hundreds of pages
	 * each) outrun the checkpointer, and the writer waiting on the copy is
	 * the back-pressure that keeps the log (and the -wal file, which
	 * never shrinks) bounded.
	 */
	bool hold = frames >= CKPT_LOG_MAX;
	bool tail = frames >= CKPT_LOG_MAX / 2 && done > 0 && frames - done <= CKPT_TAIL;
	if (hold) {
		/* Only one checkpoint at a time: wait out the checkpointer's pass. */
		s->ckpt_hold = true;
		while (s->ckpt_running)
			pthread_cond_wait(&s->ckpt_idle, &s->lock);
	}
	/*
	 * A shut gate: the checkpointer's pass ended after this batch began.
	 * The next batch opens it (a hold stays set until then).
	 */
	if (!(hold || tail) || s->ckpt_running || s->ckpt_gate) {
		if (!hold && s->ckpt_hold) {
			s->ckpt_hold = false;
			pthread_cond_broadcast(&s->ckpt_idle);
		}
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->ckpt_running = true;
	pthread_mutex_unlock(&s->lock);

	int log = 0, copied = 0;
	int rc = ckpt_run(s, s->writer, SQLITE_CHECKPOINT_PASSIVE, false, &log, &copied);
	pthread_mutex_lock(&s->lock);
	s->ckpt_running = false;
	s->ckpt_hold = false;
	pthread_cond_broadcast(&s->ckpt_idle);
	if (rc == SQLITE_OK) {
		/* All copied: the next transaction starts the log over. */
		s->ckpt_done = copied < log ? copied : 0;
		s->wal_frames = copied < log ? log : 0;
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * A tool store's checkpoint: FULL, RESTART and TRUNCATE run under SQLite's
 * write lock, so no commit overlaps them.  Bumps the count a daemon reads.
 */
static int ckpt_tool(struct store *s, struct conn *c, int mode)
{
	int rc = SQLITE_BUSY;

	if (guard(s, GUARD_SECTION, F_WRLCK, true)) {
		rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, NULL, NULL);
		guard_count(s, true);
		guard(s, GUARD_SECTION, F_UNLCK, false);
	}
	return rc;
}

static void *writer_main(void *arg)
{
	struct store *s = arg;

	pthread_setname_np(pthread_self(), "wb-writer");
	for (;;) {
		struct wjob *jobs, *last;
		size_t n = 1;

		pthread_mutex_lock(&s->lock);
		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->wake, &s->lock);
		if (!s->head) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		jobs = last = s->head;
		while (last->next && n < BATCH_MAX) {
			last = last->next;
			n++;
		}
		s->head = last->next;
		if (!s->head)
			s->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->lock);
		run_batch(s, jobs, n);
		if (!s->tool) {
			ckpt_tail(s);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		bool long_log = s->wal_frames >= 2 * CKPT_FRAMES_LONG;
		pthread_mutex_unlock(&s->lock);
		/* A long waybillctl job (rewrap, purge): keep the log bounded. */
		if (long_log && ckpt_tool(s, s->writer, SQLITE_CHECKPOINT_RESTART) == SQLITE_OK) {
			pthread_mutex_lock(&s->lock);
			s->wal_frames = 0;
			pthread_mutex_unlock(&s->lock);
		}
	}
	return NULL;
}

void store_submit(struct store *s, struct wjob *j)
{
	j->next = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

struct waiter {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool done;
	void (*inner)(struct wjob *);
	void *inner_ctx;
};

static void waiter_done(struct wjob *j)
{
	struct waiter *w = j->ctx;

	pthread_mutex_lock(&w->m);
	w->done = true;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

enum st store_run(struct store *s, struct wjob *j)
{
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL, NULL};
	void *ctx = j->ctx;

	j->done = waiter_done;
	j->ctx = &w;
	store_submit(s, j);
	pthread_mutex_lock(&w.m);
	while (!w.done)
		pthread_cond_wait(&w.c, &w.m);
	pthread_mutex_unlock(&w.m);
	j->ctx = ctx;
	return j->st;
}

/* ---- writer primitives ------------------------------------------------ */

enum st store_w_order_get(struct store *s, const char *tn, struct order_row *out)
{
	return order_get(s->writer, tn, out);
}

/*
 * An idempotency key as stored: "h:" and the hex of its keyed hash ("" for
 * none).  A client's key is at most 64 characters, so no clear one (from
 * before migration 0009) looks like this.
 */
#define IDEM_HASH_BYTES (2 + HASH_BYTES * 2 + 1)
static void idem_hash(const struct store *s, const char *key, char out[IDEM_HASH_BYTES])
{
	char in[16 + 256];
	unsigned char h[HASH_BYTES];
	int n;

	out[0] = '\0';
	if (!key || !key[0])
		return;
	n = snprintf(in, sizeof(in), "idempotency|%s", key);
	crypto_blind_index(s->kr, in,
			   n < 0		    ? 0
			   : (size_t)n < sizeof(in) ? (size_t)n
						    : sizeof(in) - 1,
			   h);
	explicit_bzero(in, sizeof(in));
	memcpy(out, "h:", 2);
	crypto_hex(h, HASH_BYTES, out + 2);
}

static bool idem_hashed(const char *key)
{
	return strncmp(key, "h:", 2) == 0 && strlen(key) == IDEM_HASH_BYTES - 1;
}

enum st store_w_order_insert(struct store *s, const struct order_row *r, const char *idem_key,
			     const unsigned char digest[HASH_BYTES], int64_t *id)
{
	enum st res;
	sqlite3_stmt *st = stmt(s->writer, S_ORDER_INSERT);
	char ih[IDEM_HASH_BYTES];

	if (!st)
		return ST_IO;
	idem_hash(s, idem_key, ih);
	sqlite3_bind_text(st, 1, r->tracking_no, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->created_at);
	sqlite3_bind_text(st, 4, r->depot, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->creator, -1, SQLITE_STATIC);
	bind_text(st, 6, ih);
	sqlite3_bind_blob(st, 7, digest, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->origin_province, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->origin_city, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->origin_district, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, r->dest_province, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, r->dest_city, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->dest_district, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 14, r->weight_g);
	sqlite3_bind_int(st, 15, r->count);
	bind_text(st, 16, r->vnum);
	bind_text(st, 17, r->ext);
	sqlite3_bind_int64(st, 18, r->kek_version);
	sqlite3_bind_int64(st, 19, r->seal_version);
	sqlite3_bind_blob(st, 20, r->wrapped_dek, WRAPPED_DEK_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 21, r->sealed, (int)r->sealed_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 22, r->seal_bind);
	res = step_done(s->writer, st);
	if (res == ST_OK)
		*id = sqlite3_last_insert_rowid(s->writer->db);
	return res;
}

struct idem_fill {
	char *tn;
	unsigned char *digest;
	bool erased;
};

static void fill_idem(sqlite3_stmt *st, void *arg)
{
	struct idem_fill *f = arg;
	const void *b = sqlite3_column_blob(st, 1);

	col_text(st, 0, f->tn, TN_MAX);
	memset(f->digest, 0, HASH_BYTES);
	f->erased = !(b && sqlite3_column_bytes(st, 1) == HASH_BYTES);
	if (!f->erased)
		memcpy(f->digest, b, HASH_BYTES);
}

enum st store_w_order_by_idem(struct store *s, const char *creator, const char *idem_key,
			      char tn[TN_MAX], unsigned char digest[HASH_BYTES])
{
	sqlite3_stmt *st = stmt(s->writer, S_ORDER_BY_IDEM);
	struct idem_fill f = {tn, digest, false};
	char ih[IDEM_HASH_BYTES];
	enum st res;

	if (!st)
		return ST_IO;
	idem_hash(s, idem_key, ih);
	sqlite3_bind_text(st, 1, creator, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ih, -1, SQLITE_STATIC);
	res = step_one(s->writer, st, fill_idem, &f);
	/* The order it names was erased: a repeat can neither be answered nor
	 * be a new order. */
	return res == ST_OK && f.erased ? ST_GONE : res;
}

enum st store_w_order_set_status(struct store *s, int64_t id, const char *status, int64_t now,
				 int64_t ended_at, int64_t retain_until)
{
	sqlite3_stmt *st = stmt(s->writer, S_ORDER_STATUS);

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (ended_at)
		sqlite3_bind_int64(st, 4, ended_at);
	if (retain_until)
		sqlite3_bind_int64(st, 5, retain_until);
	return step_done(s->writer, st);
}

enum st store_w_order_set_courier(struct store *s, int64_t id, const char *courier, int64_t now)
{
	sqlite3_stmt *st = stmt(s->writer, S_ORDER_COURIER);

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, courier, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	return step_done(s->writer, st);
}

enum st store_w_order_set_prints(struct store *s, int64_t id, int print_count)
{
	sqlite3_stmt *st = stmt(s->writer, S_ORDER_PRINTS);

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, print_count);
	return step_done(s->writer, st);
}

enum st store_w_account_get(struct store *s, const char *name, struct account *out)
{
	return account_get(s->writer, name, out);
}

enum st store_w_account_insert(struct store *s, const struct account *a,
			       const unsigned char token_hash[HASH_BYTES])
{
	sqlite3_stmt *st = stmt(s->writer, S_ACCOUNT_INSERT);

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role_name(a->role), -1, SQLITE_STATIC);
	bind_text(st, 3, a->depot);
	sqlite3_bind_blob(st, 4, token_hash, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	if (a->has_phone) {
		sqlite3_bind_blob(st, 6, a->phone_index, HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, a->phone_kek_version);
		sqlite3_bind_int64(st, 8, a->phone_seal_version);
		sqlite3_bind_blob(st, 9, a->phone_wrapped_dek, WRAPPED_DEK_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 10, a->phone_sealed, (int)a->phone_sealed_len, SQLITE_STATIC);
	}
	return step_done(s->writer, st);
}

static enum st update_account(struct store *s, enum stmt id, const char *name,
			      const unsigned char *hash)
{
	sqlite3_stmt *st = stmt(s->writer, id);
	enum st res;

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (hash)
		sqlite3_bind_blob(st, 2, hash, HASH_BYTES, SQLITE_STATIC);
	res = step_done(s->writer, st);
	if (res == ST_OK && sqlite3_changes(s->writer->db) == 0)
		res = ST_NOTFOUND;
	return res;
}

enum st store_w_account_disable(struct store *s, const char *name)
{
	return update_account(s, S_ACCOUNT_DISABLE, name, NULL);
}

enum st store_w_account_token(struct store *s, const char *name,
			      const unsigned char token_hash[HASH_BYTES])
{
	return update_account(s, S_ACCOUNT_TOKEN, name, token_hash);
}

/* ---- virtual-number bindings (writer) ---------------------------------- */

enum st store_w_vnum_sync(struct store *s, char (*nums)[16], size_t n)
{
	sqlite3_stmt *st = stmt(s->writer, S_VNUM_OUT);
	enum st res;

	if (!st)
		return ST_IO;
	res = step_done(s->writer, st);
	s->vpool_stale = true;
	for (size_t i = 0; i < n && res == ST_OK; i++) {
		st = stmt(s->writer, S_VNUM_IN);
		if (!st)
			return ST_IO;
		sqlite3_bind_text(st, 1, nums[i], -1, SQLITE_STATIC);
		res = step_done(s->writer, st);
	}
	return res;
}

#define VNUM_EXTS 10000

/* Is the slot free at now?  A resting binding past its time is released here. */
static enum st slot_free(struct store *s, const char *vnum, const char *ext, int64_t now,
			 bool *free_, int64_t *stale_id)
{
	sqlite3_stmt *st = stmt(s->writer, S_VNUM_SLOT);
	int rc;

	*free_ = true;
	*stale_id = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool open = sqlite3_column_type(st, 1) == SQLITE_NULL;
		/* Resting through the second it ends: even with no quarantine, a
		 * reassigned order never gets back the extension it just gave up. */
		if (open || sqlite3_column_int64(st, 1) >= now) {
			*free_ = false;
			break;
		}
		*stale_id = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

/*
 * Which number and extension: drawn uniformly at random (CSPRNG) from the
 * free (number, extension) slots of the pool, so what a client is handed
 * says nothing about other orders: not how many there were (extensions are
 * not handed out in sequence), nor whether this recipient had one.  A
 * recipient calling a number back must match exactly one binding, so a
 * number on which the recipient already holds an open binding is drawn
 * again among the others; the outcome is then uniform over the numbers the
 * recipient does not hold, which an observer who does not know those cannot
 * tell from uniform.  Only when every number with room is one the
 * recipient holds, or they hold CLASH_MAX numbers already, do two of their
 * orders share one.  Which numbers they hold is one look-up
 * (vnum_bindings_holder, schema/0007) per order.
 *
 * First up to PICK_TRIES draws of a slot from the whole pool, each kept
 * when free (rejection sampling: uniform over the free slots); on a pool
 * that full, a draw of a number weighted by its free extensions, then of
 * one of those.  Entries of vnum_bindings_held land on random pages (no
 * run of orders shares a number any more: runs showed the order volume).
 */
#define PICK_TRIES 64
#define CLASH_MAX 8 /* numbers a recipient holds before their orders share one */

static enum st vpool_load(struct store *s)
{
	sqlite3_stmt *st = stmt(s->writer, S_VNUM_LIST);
	size_t cap = 0;
	int rc;

	if (!st)
		return ST_IO;
	s->vpool_n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (s->vpool_n == cap) {
			size_t ncap = cap ? cap * 2 : 128;
			void *np = realloc(s->vpool, ncap * sizeof(*s->vpool));
			if (!np) {
				sqlite3_reset(st);
				return ST_NOMEM;
			}
			s->vpool = np;
			cap = ncap;
		}
		col_text(st, 0, s->vpool[s->vpool_n++], 16);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ST_IO;
	s->vpool_stale = false;
	return ST_OK;
}

/* The numbers the recipient holds a binding on that a call back could match (up to CLASH_MAX). */
struct held_by {
	size_t n;
	char vnum[CLASH_MAX][16];
};

static enum st rcpt_numbers(struct store *s, const unsigned char rcpt[HASH_BYTES], int64_t now,
			    struct held_by *h)
{
	sqlite3_stmt *st = stmt(s->writer, S_VNUM_CLASH);
	int rc;

	h->n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_blob(st, 1, rcpt, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, CLASH_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && h->n < CLASH_MAX)
		col_text(st, 0, h->vnum[h->n++], 16);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

static bool held_has(const struct held_by *h, const char *vnum)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->vnum[i], vnum) == 0)
			return true;
	return false;
}

/* Take (vnum, ext): count it held; a slot whose rest ended gives the hold over. */
static enum st slot_take(struct store *s, const char *vnum, int64_t stale)
{
	sqlite3_stmt *st = stmt(s->writer, S_VNUM_HOLD);
	enum st res;

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, stale ? 0 : 1);
	res = step_done(s->writer, st);
	if (res == ST_OK && stale) {
		st = stmt(s->writer, S_BIND_RELEASE);
		if (!st)
			return ST_IO;
		sqlite3_bind_int64(st, 1, stale);
		res = step_done(s->writer, st);
	}
	return res;
}

/* A uniformly random free extension of vnum into ext; ST_UNAVAILABLE when none is. */
static enum st ext_draw(struct store *s, const char *vnum, int64_t now, char ext[8], int64_t *stale)
{
	sqlite3_stmt *st;
	unsigned char *busy;
	uint32_t nfree = 0, k;
	enum st res;
	int rc;

	for (int t = 0; t < PICK_TRIES; t++) {
		bool is_free;
		snprintf(ext, 8, "%04u", (unsigned)crypto_uniform(VNUM_EXTS));
		res = slot_free(s, vnum, ext, now, &is_free, stale);
		if (res != ST_OK || is_free)
			return res;
	}
	/* Nearly full: list what is busy and take the k-th free one. */
	st = stmt(s->writer, S_VNUM_EXTS);
	busy = calloc(VNUM_EXTS, 1);
	if (!st || !busy) {
		free(busy);
		return st ? ST_NOMEM : ST_IO;
	}
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *e = sqlite3_column_text(st, 0);
		int x = e ? atoi((const char *)e) : -1;
		/* Open, or resting through now: as slot_free decides. */
		if (x >= 0 && x < VNUM_EXTS &&
		    (sqlite3_column_type(st, 1) == SQLITE_NULL ||
		     sqlite3_column_int64(st, 1) >= now))
			busy[x] = 1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		free(busy);
		return ST_IO;
	}
	for (int x = 0; x < VNUM_EXTS; x++)
		nfree += !busy[x];
	res = ST_UNAVAILABLE;
	if (nfree) {
		k = crypto_uniform(nfree);
		for (int x = 0; x < VNUM_EXTS; x++) {
			if (busy[x] || k--)
				continue;
			bool is_free;
			snprintf(ext, 8, "%04u", (unsigned)x % VNUM_EXTS);
			res = slot_free(s, vnum, ext, now, &is_free, stale);
			if (res == ST_OK && !is_free)
				res = ST_INTERNAL;
			break;
		}
	}
	free(busy);
	return res;
}

struct room {
	char vnum[16];
	uint32_t free;
};

/* The pool nearly full: a number weighted by its free extensions, then one of those. */
static enum st pick_weighted(struct store *s, int64_t now, const struct held_by *held, bool avoid,
			     char vnum[16], char ext[8], int64_t *stale)
{
	struct room *rooms = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	bool swept = false;
	enum st res = ST_OK;
	int rc;

again:
	n = 0;
	total = 0;
	{
		sqlite3_stmt *st = stmt(s->writer, S_VNUM_ROOM);
		if (!st) {
			free(rooms);
			return ST_IO;
		}
		sqlite3_bind_int(st, 1, VNUM_EXTS);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				void *np = realloc(rooms, ncap * sizeof(*rooms));
				if (!np) {
					sqlite3_reset(st);
					free(rooms);
					return ST_NOMEM;
				}
				rooms = np;
				cap = ncap;
			}
			col_text(st, 0, rooms[n].vnum, 16);
			rooms[n].free = (uint32_t)(VNUM_EXTS - sqlite3_column_int(st, 1));
			/* Draw among the others; when none is left, share one. */
			if (avoid && held_has(held, rooms[n].vnum))
				rooms[n].free = 0;
			total += rooms[n].free;
			n++;
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE) {
			free(rooms);
			return ST_IO;
		}
	}
	if (total == 0 && avoid && n > 0) {
		avoid = false;
		goto again;
	}
	if (total == 0 && !swept) {
		/* Every number looks full: give back rests that ended, then look again. */
		int64_t released = 0;
		swept = true;
		res = store_w_binding_sweep(s, now, &released);
		if (res != ST_OK || released == 0) {
			free(rooms);
			return res != ST_OK ? res : ST_UNAVAILABLE;
		}
		goto again;
	}
	while (total > 0) {
		uint64_t r = crypto_uniform((uint32_t)total);
		size_t i = 0;

		while (r >= rooms[i].free) {
			r -= rooms[i].free;
			i++;
		}
		res = ext_draw(s, rooms[i].vnum, now, ext, stale);
		if (res == ST_UNAVAILABLE) {
			/* Its held count ran ahead of what is free: try the others. */
			total -= rooms[i].free;
			rooms[i].free = 0;
			res = ST_UNAVAILABLE;
			continue;
		}
		if (res == ST_OK)
			snprintf(vnum, 16, "%s", rooms[i].vnum);
		break;
	}
	if (total == 0 && res == ST_OK)
		res = ST_UNAVAILABLE;
	free(rooms);
	return res;
}

/* vnum and ext are written only on ST_OK. */
static enum st binding_pick(struct store *s, int64_t now, const unsigned char rcpt[HASH_BYTES],
			    char vnum[16], char ext[8])
{
	struct held_by held;
	int64_t stale = 0;
	bool avoid;
	enum st res;

	if (s->vpool_stale || !s->vpool) {
		res = vpool_load(s);
		if (res != ST_OK)
			return res;
	}
	/* A recipient holding CLASH_MAX numbers or more shares one: someone
	 * with that many parcels on the way calls back through the label's. */
	res = rcpt_numbers(s, rcpt, now, &held);
	if (res != ST_OK)
		return res;
	avoid = held.n < CLASH_MAX;
	for (int t = 0; t < PICK_TRIES && s->vpool_n; t++) {
		size_t i = crypto_uniform((uint32_t)s->vpool_n);
		bool is_free;

		if (avoid && held_has(&held, s->vpool[i]))
			continue;
		snprintf(ext, 8, "%04u", (unsigned)crypto_uniform(VNUM_EXTS));
		res = slot_free(s, s->vpool[i], ext, now, &is_free, &stale);
		if (res != ST_OK)
			return res;
		if (!is_free)
			continue;
		snprintf(vnum, 16, "%s", s->vpool[i]);
		return slot_take(s, vnum, stale);
	}
	res = pick_weighted(s, now, &held, avoid, vnum, ext, &stale);
	if (res != ST_OK)
		return res;
	return slot_take(s, vnum, stale);
}

enum st store_w_binding_pick(struct store *s, int64_t now, const unsigned char rcpt[HASH_BYTES],
			     char vnum[16], char ext[8])
{
	char v[16] = "", e[8] = "";
	enum st res = binding_pick(s, now, rcpt, v, e);

	if (res == ST_OK) {
		memcpy(vnum, v, sizeof(v));
		memcpy(ext, e, sizeof(e));
	}
	return res;
}

enum st store_w_binding_insert(struct store *s, const char *vnum, const char *ext, int64_t order_id,
			       const unsigned char recipient_index[HASH_BYTES], int64_t now)
{
	sqlite3_stmt *st = stmt(s->writer, S_BIND_INSERT);

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, order_id);
	sqlite3_bind_blob(st, 4, recipient_index, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	return step_done(s->writer, st);
}

enum st store_w_binding_recipient(struct store *s, const char *vnum, const char *ext,
				  int64_t order_id, unsigned char out[HASH_BYTES])
{
	sqlite3_stmt *st = stmt(s->writer, S_BIND_RECIPIENT);
	int rc;
	enum st res = ST_NOTFOUND;

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, order_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == HASH_BYTES) {
		memcpy(out, sqlite3_column_blob(st, 0), HASH_BYTES);
		res = ST_OK;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		res = ST_IO;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return res;
}

enum st store_w_binding_end(struct store *s, const char *vnum, const char *ext, int64_t order_id,
			    int64_t active_until, int64_t reusable_at, int64_t now)
{
	sqlite3_stmt *st = stmt(s->writer, S_BIND_END);

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, order_id);
	sqlite3_bind_int64(st, 4, active_until);
	sqlite3_bind_int64(st, 5, reusable_at);
	sqlite3_bind_int64(st, 6, now);
	return step_done(s->writer, st);
}

enum st store_w_binding_sweep(struct store *s, int64_t now, int64_t *n)
{
	sqlite3_stmt *due = stmt(s->writer, S_BIND_DUE);
	int64_t ids[1000];
	char vnums[1000][16];
	size_t k = 0;
	int rc;
	enum st res = ST_OK;

	*n = 0;
	if (!due)
		return ST_IO;
	sqlite3_bind_int64(due, 1, now);
	while ((rc = sqlite3_step(due)) == SQLITE_ROW && k < 1000) {
		ids[k] = sqlite3_column_int64(due, 0);
		col_text(due, 1, vnums[k], 16);
		k++;
	}
	sqlite3_reset(due);
	sqlite3_clear_bindings(due);
	for (size_t i = 0; i < k && res == ST_OK; i++) {
		sqlite3_stmt *st = stmt(s->writer, S_BIND_RELEASE);
		if (!st)
			return ST_IO;
		sqlite3_bind_int64(st, 1, ids[i]);
		res = step_done(s->writer, st);
		st = res == ST_OK ? stmt(s->writer, S_VNUM_RELEASE) : NULL;
		if (res == ST_OK && !st)
			return ST_IO;
		if (res == ST_OK) {
			sqlite3_bind_text(st, 1, vnums[i], -1, SQLITE_STATIC);
			res = step_done(s->writer, st);
		}
	}
	if (res == ST_OK)
		*n = (int64_t)k;
	return res;
}

enum st store_w_order_set_binding(struct store *s, int64_t id, const char *vnum, const char *ext)
{
	sqlite3_stmt *st = stmt(s->writer, S_ORDER_BINDING);

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, vnum);
	bind_text(st, 3, ext);
	return step_done(s->writer, st);
}

/* ---- admin quota, retention, key rotation (writer) ---------------------- */

enum st store_w_reveal_take(struct store *s, const char *actor, const char *day, long limit)
{
	sqlite3_stmt *st = stmt(s->writer, S_REVEAL_GET);
	long used = 0;
	int rc;

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		used = (long)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ST_IO;
	if (used >= limit)
		return ST_LIMIT;
	st = stmt(s->writer, S_REVEAL_PUT);
	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	return step_done(s->writer, st);
}

enum st store_w_reveal_give(struct store *s, const char *actor, const char *day)
{
	sqlite3_stmt *st = stmt(s->writer, S_REVEAL_GIVE);

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	return step_done(s->writer, st);
}

/* Take up to max due orders of one kind (closed past retain_until, or open too long). */
static enum st purge_due(struct store *s, enum stmt id, int64_t before, int max, int64_t *ids,
			 char (*vnums)[16], char (*exts)[8], size_t *k)
{
	sqlite3_stmt *due = stmt(s->writer, id);
	int rc;

	*k = 0;
	if (!due)
		return ST_IO;
	sqlite3_bind_int64(due, 1, before);
	sqlite3_bind_int(due, 2, max);
	while ((rc = sqlite3_step(due)) == SQLITE_ROW && *k < (size_t)max) {
		ids[*k] = sqlite3_column_int64(due, 0);
		col_text(due, 1, vnums[*k], sizeof(vnums[*k]));
		col_text(due, 2, exts[*k], sizeof(exts[*k]));
		(*k)++;
	}
	sqlite3_reset(due);
	sqlite3_clear_bindings(due);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

enum st store_w_purge_batch(struct store *s, const struct purge_policy *p, int max, int64_t *n)
{
	int64_t ids[512];
	char vnums[512][16], exts[512][8];
	size_t k = 0, closed = 0;
	enum st res;

	*n = 0;
	if (max > 512)
		max = 512;
	res = purge_due(s, S_PURGE_DUE, p->now, max, ids, vnums, exts, &closed);
	if (res == ST_OK && p->open_before > 0 && closed < (size_t)max)
		res = purge_due(s, S_PURGE_DUE_OPEN, p->open_before, max - (int)closed,
				ids + closed, vnums + closed, exts + closed, &k);
	if (res != ST_OK)
		return res;
	k += closed;
	for (size_t i = 0; i < k && res == ST_OK; i++) {
		sqlite3_stmt *st = stmt(s->writer, S_PURGE_ERASE);
		if (!st)
			return ST_IO;
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, p->now);
		res = step_done(s->writer, st);
		if (res != ST_OK)
			break;
		st = stmt(s->writer, i < closed ? S_PURGE_UNBIND : S_PURGE_END_OPEN);
		if (!st)
			return ST_IO;
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_text(st, 2, vnums[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, exts[i], -1, SQLITE_STATIC);
		if (i >= closed) {
			sqlite3_bind_int64(st, 4, p->now);
			sqlite3_bind_int64(st, 5, p->rest_until);
		}
		res = step_done(s->writer, st);
	}
	if (res == ST_OK)
		*n = (int64_t)k;
	return res;
}

/* Rewrap up to max data keys (orders, then account phones) to the current version. */
enum st store_w_rewrap_batch(struct store *s, int max, int64_t *n)
{
	uint32_t cur = keyring_current(s->kr);
	enum st res = ST_OK;

	*n = 0;
	for (int table = 0; table < 2 && res == ST_OK && *n < max; table++) {
		sqlite3_stmt *due = stmt(s->writer, table ? S_REWRAP_ACCT_DUE : S_REWRAP_DUE);
		struct {
			int64_t id;
			char ad[ORDER_BIND_MAX];
			uint32_t v;
			unsigned char w[WRAPPED_DEK_BYTES];
		} *rows = calloc((size_t)max, sizeof(*rows));
		size_t k = 0;
		int rc;

		if (!due || !rows) {
			free(rows);
			return due ? ST_NOMEM : ST_IO;
		}
		sqlite3_bind_int64(due, 1, cur);
		sqlite3_bind_int(due, 2, max - (int)*n);
		sqlite3_bind_int64(due, 3, s->rewrap_after[table]);
		while ((rc = sqlite3_step(due)) == SQLITE_ROW && k < (size_t)max) {
			const unsigned char *t = sqlite3_column_text(due, 1);
			rows[k].id = sqlite3_column_int64(due, 0);
			if (table) {
				snprintf(rows[k].ad, sizeof(rows[k].ad), "account:%s",
					 t ? (const char *)t : "");
			} else {
				char tn[TN_MAX], depot[NAME_MAX_BYTES], creator[NAME_MAX_BYTES];
				col_text(due, 1, tn, sizeof(tn));
				col_text(due, 4, depot, sizeof(depot));
				col_text(due, 5, creator, sizeof(creator));
				bind_of(tn, depot, creator, sqlite3_column_int(due, 6), rows[k].ad);
			}
			rows[k].v = (uint32_t)sqlite3_column_int64(due, 2);
			if (sqlite3_column_bytes(due, 3) == WRAPPED_DEK_BYTES)
				memcpy(rows[k].w, sqlite3_column_blob(due, 3), WRAPPED_DEK_BYTES);
			k++;
		}
		sqlite3_reset(due);
		sqlite3_clear_bindings(due);
		for (size_t i = 0; i < k && res == ST_OK; i++) {
			unsigned char out[WRAPPED_DEK_BYTES];
			uint32_t to;
			sqlite3_stmt *st;

			res = crypto_rewrap(s->kr, rows[i].ad, rows[i].v, rows[i].w, out, &to);
			if (res != ST_OK)
				break;
			st = stmt(s->writer, table ? S_REWRAP_ACCT_SET : S_REWRAP_SET);
			if (!st) {
				res = ST_IO;
				break;
			}
			sqlite3_bind_int64(st, 1, rows[i].id);
			sqlite3_bind_int64(st, 2, to);
			sqlite3_bind_blob(st, 3, out, WRAPPED_DEK_BYTES, SQLITE_TRANSIENT);
			res = step_done(s->writer, st);
			if (res == ST_OK) {
				(*n)++;
				s->rewrap_after[table] = rows[i].id;
			}
		}
		/* A pass that found none is over: the next one starts from the top. */
		if (k == 0)
			s->rewrap_after[table] = 0;
		free(rows);
	}
	return res;
}

/* ---- resealing rows from before migration 0009 (writer) ----------------- */

#define RESEAL_BATCH 256

struct reseal_job {
	int64_t from;		   /* the cursor: rows up to this id were looked at */
	int64_t after;		   /* where this batch stopped (for the next one's from) */
	int64_t seen, done, stuck; /* this batch: rows, resealed, not openable */
};

/* Reseal one legacy row under its bound binding; ST_CRYPTO when it cannot be opened. */
static enum st reseal_row(struct store *s, sqlite3_stmt *due, int64_t id, const char *ih)
{
	char tn[TN_MAX], depot[NAME_MAX_BYTES], creator[NAME_MAX_BYTES], bind[ORDER_BIND_MAX];
	const void *w = sqlite3_column_blob(due, 6), *b = sqlite3_column_blob(due, 7);
	int wn = sqlite3_column_bytes(due, 6), bn = sqlite3_column_bytes(due, 7);
	struct sealed sl;
	char *plain = NULL;
	size_t len = 0;
	sqlite3_stmt *st;
	enum st res;

	col_text(due, 1, tn, sizeof(tn));
	col_text(due, 2, depot, sizeof(depot));
	col_text(due, 3, creator, sizeof(creator));
	if (!w || wn != WRAPPED_DEK_BYTES || !b || bn <= 0)
		return ST_CRYPTO;
	res = crypto_open(s->kr, tn, (uint32_t)sqlite3_column_int64(due, 4),
			  (uint32_t)sqlite3_column_int64(due, 5), w, b, (size_t)bn, &plain, &len);
	if (res != ST_OK)
		return res;
	bind_of(tn, depot, creator, ORDER_SEAL_BOUND, bind);
	res = crypto_seal(s->kr, bind, plain, len, &sl);
	free_wiped(plain, len + 1);
	if (res != ST_OK)
		return res;
	st = stmt(s->writer, S_RESEAL_SET);
	if (!st) {
		sealed_release(&sl);
		return ST_IO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, sl.kek_version);
	sqlite3_bind_int64(st, 3, sl.seal_version);
	sqlite3_bind_blob(st, 4, sl.wrapped_dek, WRAPPED_DEK_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, sl.blob, (int)sl.blob_len, SQLITE_TRANSIENT);
	bind_text(st, 6, ih);
	res = step_done(s->writer, st);
	sealed_release(&sl);
	return res;
}

static enum st tx_reseal(struct store *s, struct wjob *j)
{
	struct reseal_job *rj = j->arg;
	sqlite3_stmt *due = stmt(s->writer, S_RESEAL_DUE);
	enum st res = ST_OK;
	int64_t after = rj->from; /* a rerun of the job starts where the first did */
	int rc;

	rj->seen = rj->done = rj->stuck = 0;
	if (!due)
		return ST_IO;
	sqlite3_bind_int(due, 1, RESEAL_BATCH);
	sqlite3_bind_int64(due, 2, after);
	while (res == ST_OK && (rc = sqlite3_step(due)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(due, 0);
		const unsigned char *key = sqlite3_column_text(due, 8);
		char ih[IDEM_HASH_BYTES] = "";
		sqlite3_stmt *st;

		/* The clear idempotency key goes, whatever becomes of the seal. */
		if (key && idem_hashed((const char *)key))
			str_copy(ih, sizeof(ih), (const char *)key);
		else if (key)
			idem_hash(s, (const char *)key, ih);
		rj->seen++;
		after = id;
		if (sqlite3_column_type(due, 7) != SQLITE_NULL) {
			res = reseal_row(s, due, id, ih);
			if (res == ST_OK) {
				rj->done++;
				continue;
			}
			if (res != ST_CRYPTO)
				break;
			rj->stuck++;
		}
		/* Erased: bound from now on.  Not openable: kept for a later start. */
		st = stmt(s->writer, S_RESEAL_IDEM);
		if (!st) {
			res = ST_IO;
			break;
		}
		sqlite3_bind_int64(st, 1, id);
		bind_text(st, 2, ih);
		sqlite3_bind_int(st, 3,
				 sqlite3_column_type(due, 7) == SQLITE_NULL ? ORDER_SEAL_BOUND
									    : ORDER_SEAL_LEGACY);
		res = step_done(s->writer, st);
	}
	sqlite3_reset(due);
	sqlite3_clear_bindings(due);
	if (res == ST_OK)
		rj->after = after;
	snprintf(j->audit.reason, sizeof(j->audit.reason),
		 "resealed %lld orders to their depot and creator; %lld could not be opened",
		 (long long)rj->done, (long long)rj->stuck);
	if (res == ST_OK && rj->seen == 0)
		j->no_audit = true;
	return res;
}

/*
 * Rows written before migration 0009: reseal each under "TN|depot|creator"
 * (the data key is new, wrapped by the current version) and hash its clear
 * idempotency key, in batches, each audited.  A row whose seal cannot be
 * opened (a retired or missing key version) keeps its old binding and is
 * counted in the log; the next start tries again.
 */
static enum st reseal_legacy(struct store *s, char *err, size_t errlen)
{
	struct reseal_job rj = {0};
	int64_t done = 0, stuck = 0, seen = 0;

	for (;;) {
		struct wjob j = {0};
		enum st st;

		audit_entry_init(&j.audit, s->tool ? "waybillctl" : "waybilld", "system",
				 "store.reseal", NULL, NULL);
		j.fn = tx_reseal;
		j.arg = &rj;
		st = store_run(s, &j);
		if (st != ST_OK) {
			snprintf(err, errlen,
				 "store: resealing orders from before migration 0009: %s",
				 st_name(st));
			return st;
		}
		done += rj.done;
		stuck += rj.stuck;
		seen += rj.seen;
		rj.from = rj.after;
		if (rj.seen < RESEAL_BATCH)
			break;
	}
	if (done)
		log_info("store: resealed %lld orders to their depot and creator", (long long)done);
	/* The old blobs and clear keys leave the disk, as after a purge. */
	if (seen - stuck > 0 && store_checkpoint(s) != ST_OK)
		log_warn("store: after resealing, the checkpoint failed; the next one copies it");
	if (stuck)
		log_warn(
		    "store: %lld orders from before migration 0009 cannot be opened (a missing "
		    "key version?); they keep their old binding until a start that can",
		    (long long)stuck);
	return ST_OK;
}

/* ---- readers --------------------------------------------------------- */

enum st store_account_by_token(struct store *s, const unsigned char hash[HASH_BYTES],
			       struct account *out)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, S_ACCOUNT_BY_TOKEN) : NULL;

	int rc;
	enum st res = ST_NOTFOUND;

	if (!st)
		return ST_IO;
	sqlite3_bind_blob(st, 1, hash, HASH_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 11);
		/* The index found it; the comparison that decides is constant-time. */
		if (b && sqlite3_column_bytes(st, 11) == HASH_BYTES &&
		    crypto_equal(b, hash, HASH_BYTES)) {
			account_from_row(st, out);
			res = ST_OK;
		}
	} else if (rc != SQLITE_DONE) {
		res = ST_IO;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return res;
}

enum st store_account_get(struct store *s, const char *name, struct account *out)
{
	struct conn *c = reader(s);

	return c ? account_get(c, name, out) : ST_IO;
}

enum st store_account_each(struct store *s, void (*fn)(const struct account *a, void *arg),
			   void *arg)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, S_ACCOUNT_ALL) : NULL;
	struct account a;
	int rc;

	if (!st)
		return ST_IO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		account_from_row(st, &a);
		fn(&a, arg);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? ST_OK : ST_IO;
}

enum st store_order_get(struct store *s, const char *tn, struct order_row *out)
{
	struct conn *c = reader(s);

	memset(out, 0, sizeof(*out));
	return c ? order_get(c, tn, out) : ST_IO;
}

enum st store_order_get_id(struct store *s, int64_t id, struct order_row *out)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, S_ORDER_BY_ID) : NULL;
	struct order_fill f = {out, ST_OK};
	enum st res;

	memset(out, 0, sizeof(*out));
	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	res = step_one(c, st, fill_order, &f);
	if (res == ST_OK && f.st != ST_OK) {
		order_row_release(out);
		res = f.st;
	}
	return res;
}

enum st store_binding_find(struct store *s, const char *vnum, const char *ext, int64_t now,
			   int64_t *order_id, int64_t *active_until)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, S_BIND_FIND) : NULL;
	int rc;
	enum st res = ST_NOTFOUND;

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*order_id = sqlite3_column_int64(st, 0);
		*active_until = sqlite3_column_int64(st, 1);
		res = ST_OK;
	} else if (rc != SQLITE_DONE) {
		res = ST_IO;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return res;
}

enum st store_binding_callback(struct store *s, const char *vnum,
			       const unsigned char recipient_index[HASH_BYTES], int64_t now,
			       int64_t *ids, size_t max, size_t *n)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, S_BIND_CALLBACK) : NULL;
	int rc;

	*n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, recipient_index, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, (int64_t)max + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n < max)
			ids[*n] = sqlite3_column_int64(st, 0);
		(*n)++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? ST_OK : ST_IO;
}

static enum st count_query(struct store *s, enum stmt id, int64_t arg, int64_t *n)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, id) : NULL;
	int rc;

	*n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, arg);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? ST_OK : ST_IO;
}

enum st store_purge_due(struct store *s, const struct purge_policy *p, int64_t *n)
{
	int64_t open = 0;
	enum st st = count_query(s, S_PURGE_COUNT, p->now, n);

	if (st == ST_OK && p->open_before > 0)
		st = count_query(s, S_PURGE_COUNT_OPEN, p->open_before, &open);
	*n += open;
	return st;
}

enum st store_kek_in_use(struct store *s, uint32_t version, int64_t *n)
{
	return count_query(s, S_KEK_USE, version, n);
}

enum st store_audit_each(struct store *s, const char *since,
			 bool (*fn)(const struct audit_entry *e, void *arg), void *arg)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, since ? S_AUDIT_SINCE : S_AUDIT_ALL) : NULL;
	struct audit_entry e;
	int rc;

	if (!st)
		return ST_IO;
	if (since)
		sqlite3_bind_text(st, 1, since, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, 0);
	sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_from_row(st, &e);
		if (!fn(&e, arg))
			break;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

enum st store_checkpoint(struct store *s)
{
	/* A connection of its own: TRUNCATE waits for readers, then empties the WAL file. */
	struct conn *c = NULL;
	char err[256];
	int rc, log, copied;

	if (conn_open(s->path, false, &c, err, sizeof(err)) != ST_OK)
		return ST_UNAVAILABLE;
	if (s->tool) {
		rc = ckpt_tool(s, c, SQLITE_CHECKPOINT_TRUNCATE);
	} else {
		pthread_mutex_lock(&s->lock);
		while (s->ckpt_running)
			pthread_cond_wait(&s->ckpt_idle, &s->lock);
		s->ckpt_running = true;
		pthread_mutex_unlock(&s->lock);
		rc = ckpt_run(s, c, SQLITE_CHECKPOINT_TRUNCATE, false, &log, &copied);
		pthread_mutex_lock(&s->lock);
		s->ckpt_running = false;
		pthread_cond_broadcast(&s->ckpt_idle);
		pthread_mutex_unlock(&s->lock);
	}
	conn_close(c);
	return rc == SQLITE_OK ? ST_OK : ST_UNAVAILABLE;
}

enum st store_vnum_stats(struct store *s, int64_t now, struct vnum_stats *out)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, S_VNUM_STATS) : NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->active = sqlite3_column_int64(st, 0);
		out->held = sqlite3_column_int64(st, 1);
		out->capacity = sqlite3_column_int64(st, 2) * VNUM_EXTS;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? ST_OK : ST_IO;
}

enum st store_order_list(struct store *s, const struct order_query *q, struct order_row *rows,
			 size_t *n, bool *more)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st;
	int64_t after = 0;
	int rc;
	enum st res = ST_OK;

	*n = 0;
	*more = false;
	if (!c)
		return ST_IO;
	sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
	if (q->after) {
		/*
		 * Only the caller's own order is a cursor: another's must answer as
		 * no order does, or the answer tells that the number exists.
		 */
		st = stmt(c, S_LIST_AFTER);
		if (!st) {
			res = ST_IO;
			goto out;
		}
		sqlite3_bind_text(st, 1, q->after, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, q->who, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, q->scope == ROLE_DEPOT);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			after = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_ROW) {
			res = ST_MALFORMED;
			goto out;
		}
	}
	st = stmt(c, q->scope == ROLE_DEPOT ? S_LIST_DEPOT : S_LIST_COURIER);
	if (!st) {
		res = ST_IO;
		goto out;
	}
	sqlite3_bind_text(st, 1, q->who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	bind_text(st, 3, q->status);
	sqlite3_bind_int(st, 4, q->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == (size_t)q->limit) {
			*more = true;
			break;
		}
		res = order_from_row(st, &rows[*n]);
		if (res != ST_OK)
			break;
		(*n)++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		res = ST_IO;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
out:
	sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
	if (res != ST_OK) {
		for (size_t i = 0; i < *n; i++)
			order_row_release(&rows[i]);
		*n = 0;
	}
	return res;
}

enum st store_audit_list(struct store *s, const struct audit_query *q, struct audit_entry *out,
			 size_t *n)
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, q->tracking_no ? S_AUDIT_LIST_TN : S_AUDIT_LIST) : NULL;
	int rc;

	*n = 0;
	if (!st)
		return ST_IO;
	if (q->tracking_no)
		sqlite3_bind_text(st, 1, q->tracking_no, -1, SQLITE_STATIC);
	bind_text(st, 2, q->actor);
	bind_text(st, 3, q->since);
	sqlite3_bind_int64(st, 4, q->after_seq);
	sqlite3_bind_int(st, 5, q->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)q->limit)
		audit_from_row(st, &out[(*n)++]);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

enum st store_audit_verify(struct store *s, struct audit_check *out)
{
	struct conn *c = reader(s);

	return c ? audit_walk(s->kr, c, 0, NULL, NULL, 0, out) : ST_IO;
}

enum st store_quick_check(struct store *s, char *err, size_t errlen)
{
	struct conn *c = reader(s);

	if (!c) {
		snprintf(err, errlen, "quick_check: no reader connection");
		return ST_IO;
	}
	return quick_check(c, err, errlen);
}

enum st store_audit_verify_from(struct store *s, int64_t seq, const unsigned char head[HASH_BYTES],
				struct audit_check *out)
{
	struct conn *c = reader(s);

	return c ? audit_walk(s->kr, c, seq, head, NULL, 0, out) : ST_IO;
}

enum st store_audit_verify_marks(const char *path, const struct keyring *kr,
				 const struct audit_mark *marks, size_t nmarks,
				 struct audit_check *out, char *err, size_t errlen)
{
	struct conn *c = NULL;
	enum st st = conn_open(path, false, &c, err, errlen);

	if (st != ST_OK)
		return st;
	st = audit_walk(kr, c, 0, NULL, marks, nmarks, out);
	if (st != ST_OK)
		snprintf(err, errlen, "audit chain: cannot read it");
	conn_close(c);
	return st;
}

enum st store_audit_verify_path(const char *path, const struct keyring *kr, struct audit_check *out,
				char *err, size_t errlen)
{
	return store_audit_verify_marks(path, kr, NULL, 0, out, err, errlen);
}

enum st store_audit_at(struct store *s, int64_t seq, unsigned char hash[HASH_BYTES])
{
	struct conn *c = reader(s);

	return c ? audit_hash_at(s->kr, c, seq, hash) : ST_IO;
}

enum st store_audit_base(struct store *s, int64_t *last, unsigned char head[HASH_BYTES])
{
	struct conn *c = reader(s);
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

/*
 * The audit table refuses DELETE (schema 0001's trigger).  Archiving is
 * the one deliberate exception: the trigger is dropped and made again
 * inside the batch's transaction, so no other writer ever sees it missing.
 */
static const char audit_no_delete_sql[] = "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
					  "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END";

enum st store_w_audit_archive(struct store *s, int64_t first, int64_t last,
			      const unsigned char head[HASH_BYTES], const char *ts,
			      const unsigned char sig[SIGN_BYTES])
{
	sqlite3 *db = s->writer->db;
	sqlite3_stmt *st = NULL;
	char err[256];
	enum st res = ST_IO;

	if (last >= s->audit_seq)
		return ST_INVALID; /* the head stays: the writer continues from it */
	if (exec_sql(db, "DROP TRIGGER audit_no_delete", err, sizeof(err)) != ST_OK)
		return ST_IO;
	if (sqlite3_prepare_v2(db, "DELETE FROM audit WHERE seq <= ?1", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, last);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO audit_base (id, first, last, head, ts, sig) "
			       "VALUES (1, ?1, ?2, ?3, ?4, ?5)",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_blob(st, 3, head, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ts, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, sig, SIGN_BYTES, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	res = ST_OK;
out:
	sqlite3_finalize(st);
	/* Made again whatever happened; on failure the batch rolls back anyway. */
	if (exec_sql(db, audit_no_delete_sql, err, sizeof(err)) != ST_OK)
		res = ST_IO;
	return res;
}

enum st store_audit_head(struct store *s, int64_t *seq, unsigned char head[HASH_BYTES])
{
	struct conn *c = reader(s);
	sqlite3_stmt *st = c ? stmt(c, S_AUDIT_HEAD) : NULL;
	int rc;

	*seq = 0;
	memset(head, 0, HASH_BYTES);
	if (!st)
		return ST_IO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 1);
		*seq = sqlite3_column_int64(st, 0);
		if (b && sqlite3_column_bytes(st, 1) == HASH_BYTES)
			memcpy(head, b, HASH_BYTES);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

void store_stats_get(struct store *s, struct store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}

/* ---- open and close -------------------------------------------------- */

enum st store_open(const char *path, enum store_mode mode, const struct keyring *kr,
		   struct store **out, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
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
	if (!s->tool && !guard(s, GUARD_DAEMON, F_WRLCK, false)) {
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
	st = s->tool ? quick_check(s->writer, err, errlen) : ST_OK;
	if (st != ST_OK)
		goto fail;
	if (!guard(s, GUARD_SECTION, F_WRLCK, true)) {
		snprintf(err, errlen, "%s-lock: cannot lock it", path);
		st = ST_IO;
		goto fail;
	}
	st = migrate(s->writer, err, errlen);
	guard(s, GUARD_SECTION, F_UNLCK, false);
	if (st != ST_OK)
		goto fail;
	/*
	 * A tool walks the whole chain before it appends to it.  A daemon's
	 * start walks only what follows the last signed checkpoint (auditcp.c),
	 * so that a start costs the same after years of entries; the whole
	 * walk then runs beside the serving daemon.
	 */
	st = s->tool ? audit_walk(kr, s->writer, 0, NULL, NULL, 0, &chk) : ST_OK;
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
	st = exec_sql(s->writer->db, "PRAGMA wal_autocheckpoint = 0", err, errlen);
	if (st != ST_OK)
		goto fail;
	sqlite3_wal_hook(s->writer->db, wal_hook, s);
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
	st = reseal_legacy(s, err, errlen);
	if (st != ST_OK)
		goto fail;
	*out = s;
	return ST_OK;
fail:
	store_close(s);
	return st;
}

void store_close(struct store *s)
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
