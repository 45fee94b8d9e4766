/*
 * store_int.h - what the files of the SQLite backend share: struct sq_store,
 * struct conn, the statement ids, and the helpers each file uses from the
 * others.  Private: only server/store_*.c include it (and test_store.c,
 * which looks inside).  The interface is store.h.
 */
#ifndef WAYBILL_STORE_INT_H
#define WAYBILL_STORE_INT_H

#include "common.h"
#include "store.h"
#include "store_ops.h"

#include <pthread.h>
#include <stdatomic.h>

#include <sqlite3.h>
#include <stddef.h>

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

/* Checkpoint pacing: see store_writer.c, "Checkpoints". */
#define CKPT_FRAMES_SHORT 512
#define CKPT_FRAMES_LONG 4096
#define CKPT_BUSY 0.25
#define CKPT_LOG_MAX 16384 /* frames: a 64 MiB -wal file at 4 KiB pages */
#define CKPT_TAIL 256

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
	S_JOB_INSERT,
	S_JOB_GET,
	S_JOB_OPEN_COUNT,
	S_JOB_SET,
	S_JOB_INTERRUPT,
	S_JOB_QUEUED,
	S_JOB_PURGE,
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_ROLLBACK_TO,
	S_RELEASE,
	NSTMT
};

struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[NSTMT];
	struct conn *next;
};

struct sq_store {
	struct store base; /* first: the ops table (store_ops.h) */
	const struct keyring *kr;
	char path[512];
	struct conn *writer;

	pthread_mutex_t lock; /* guards the queue, readers and stats */
	pthread_cond_t wake;
	struct wqueue q; /* the jobs waiting for the writer */
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
	 * checkpoint has just copied in full.  So (see store_writer.c, "Checkpoints"):
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

/*
 * A lock on one byte of "<db>-lock": GUARD_SECTION around what must not
 * overlap across processes, GUARD_DAEMON for a daemon store's lifetime
 * (see tool).  Open file description locks: they belong to this store's
 * descriptor, not to the process, so two stores in one process exclude
 * each other too, and the kernel drops them when the process dies.
 */
enum { GUARD_SECTION = 0, GUARD_DAEMON = 1 };

/* The backend's definitions of store.h's functions: sq_NAME for store_NAME. */
#define X(ret, name, params, args) ret sq_##name(struct sq_store *s, STORE_EXP params);
#define XV(name, params, args) void sq_##name(struct sq_store *s, STORE_EXP params);
STORE_OPS(X)
STORE_OPS_VOID(XV)
#undef X
#undef XV
extern const struct store_ops sq_ops; /* store_sq.c */
void sq_close(struct sq_store *s);
const char *sq_trouble(struct sq_store *s);
enum st sq_checkpoint(struct sq_store *s);

/* ---- store_conn.c ---------------------------------------------------- */

enum st conn_open(const char *path, bool create, struct conn **out, char *err, size_t errlen);
enum st sql_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
enum st conn_quick_check(struct conn *c, char *err, size_t errlen);
enum st sql_status(int rc);
enum st sql_step_done(struct conn *c, sqlite3_stmt *st);
enum st sql_step_take(sqlite3_stmt *st, bool (*take)(sqlite3_stmt *, void *), void *arg);
enum st sql_step_one(struct conn *c, sqlite3_stmt *st, void (*fill)(sqlite3_stmt *, void *),
		     void *arg);
sqlite3_stmt *sql_stmt(struct conn *c, enum stmt id);
struct conn *conn_reader(struct sq_store *s);
/* Statement id prepared on the calling thread's reader; NULL when there is none. */
sqlite3_stmt *conn_reader_stmt(struct sq_store *s, enum stmt id);
void sql_bind_text(sqlite3_stmt *st, int i, const char *s);
void sql_col_text(sqlite3_stmt *st, int i, char *dst, size_t cap);
/* Text columns of a row struct, as a table: column, field offset, field size. */
struct sql_text_col {
	int col;
	size_t off, cap;
};
#define SQL_TEXT_COL(i, type, field)                                                               \
	{                                                                                          \
		(i), offsetof(type, field), sizeof(((type *)0)->field)                             \
	}
void sql_cols_text(sqlite3_stmt *st, const struct sql_text_col *cols, size_t n, void *row);
/* Copy a blob column of exactly size bytes into dst; false (dst untouched) otherwise. */
bool sql_col_blob(sqlite3_stmt *st, int i, void *dst, size_t size);
void conn_close(struct conn *c);

/* ---- store_vfs.c ----------------------------------------------------- */

/* "waybill", registered on first use; NULL (SQLite's default) if that failed. */
const char *walbuf_vfs_name(void);

/* ---- store_writer.c -------------------------------------------------- */

bool guard_lock(struct sq_store *s, int byte, short type, bool wait);
bool guard_daemon_runs(struct sq_store *s);
int ckpt_run(struct sq_store *s, struct conn *c, int mode, bool writer_out, int *log, int *copied);
int ckpt_tool(struct sq_store *s, struct conn *c, int mode);
int ckpt_wal_hook(void *arg, sqlite3 *db, const char *name, int frames);
uint64_t guard_count(struct sq_store *s, bool bump);
void *ckpt_main(void *arg);
void *writer_main(void *arg);

/* ---- store_audit.c --------------------------------------------------- */

enum st chain_load_head(struct sq_store *s);
enum st chain_walk(const struct keyring *kr, struct conn *c, int64_t from_seq,
		   const unsigned char from_head[HASH_BYTES], const struct audit_mark *marks,
		   size_t nmarks, struct audit_check *out);

/* ---- store_orders.c -------------------------------------------------- */

enum st orders_reseal_legacy(struct sq_store *s, char *err, size_t errlen);

#endif
