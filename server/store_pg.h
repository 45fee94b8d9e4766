/*
 * store_pg.h - what the files of the PostgreSQL backend share: struct
 * pg_store, its connections (struct pconn), the statement ids and the
 * helpers for parameters and results.  Private: only server/store_pg*.c
 * include it (and test_store_pg.c).  The interface is store.h; the files
 * that include <libpq-fe.h> are store_pg.c, store_pg_rows.c and store_pg_copy.c
 * (waybillctl migrate's target side).
 *
 * The model is SQLite's (store.h): one writer connection per daemon runs
 * the batches (group commit: many jobs, one COMMIT), each job in a
 * savepoint (PostgreSQL aborts a whole transaction on any failed
 * statement, so a job that fails is rolled back to its savepoint before
 * its audit entry is written); readers have a connection per thread.
 * Several daemons may share one database: each batch begins by taking the
 * one row of audit_head FOR UPDATE, so the chain has one head and batches
 * of different daemons follow each other (docs/DESIGN.md).
 */
#ifndef WAYBILL_STORE_PG_H
#define WAYBILL_STORE_PG_H

#include "common.h"
#include "store.h"
#include "store_ops.h"

#include <pthread.h>
#include <stdatomic.h>

#include <libpq-fe.h>

/* The PostgreSQL migrations (schema/pg/), embedded at build time (schema_pg.c). */
struct pg_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct pg_migration pg_schema_migrations[];
extern const size_t pg_schema_migrations_count;

#define PG_BATCH_MAX 512
#define PG_PARAMS_MAX 32

/* Advisory lock keys (pg_advisory_lock): one daemon at a time does each. */
enum {
	PG_LOCK_MIGRATE = 0x57420001,
	PG_LOCK_PURGE = 0x57420002,
	PG_LOCK_SWEEP = 0x57420003,
	PG_LOCK_REWRAP = 0x57420004,
};

enum pst {
	P_ACCOUNT_BY_TOKEN,
	P_ACCOUNT_BY_NAME,
	P_ACCOUNT_ALL,
	P_ACCOUNT_INSERT,
	P_ACCOUNT_DISABLE,
	P_ACCOUNT_TOKEN,
	P_ORDER_BY_TN,
	P_LIST_AFTER,
	P_ORDER_BY_IDEM,
	P_ORDER_INSERT,
	P_ORDER_STATUS,
	P_ORDER_COURIER,
	P_ORDER_PRINTS,
	P_LIST_DEPOT,
	P_LIST_COURIER,
	P_AUDIT_HEAD,
	P_AUDIT_HEAD_LOCK,
	P_AUDIT_HEAD_SET,
	P_AUDIT_INSERT,
	P_AUDIT_INSERT_ID,
	P_AUDIT_LIST,
	P_AUDIT_LIST_TN,
	P_AUDIT_PAGE,
	P_AUDIT_SINCE_PAGE,
	P_AUDIT_AT,
	P_AUDIT_LINK_BAD,
	P_AUDIT_BASE,
	P_AUDIT_DELETE,
	P_AUDIT_BASE_SET,
	P_ORDER_BY_ID,
	P_ORDER_BINDING,
	P_VNUM_OUT,
	P_VNUM_IN,
	P_VNUM_LIST,
	P_VNUM_ROOM,
	P_VNUM_SLOT,
	P_VNUM_EXTS,
	P_VNUM_CLASH,
	P_VNUM_HOLD,
	P_BIND_INSERT,
	P_BIND_RECIPIENT,
	P_BIND_END,
	P_BIND_DUE,
	P_BIND_RELEASE,
	P_VNUM_RELEASE,
	P_BIND_FIND,
	P_BIND_CALLBACK,
	P_VNUM_STATS,
	P_REVEAL_TAKE,
	P_REVEAL_GIVE,
	P_PURGE_DUE,
	P_PURGE_ERASE,
	P_PURGE_UNBIND,
	P_PURGE_COUNT,
	P_PURGE_DUE_OPEN,
	P_PURGE_END_OPEN,
	P_PURGE_COUNT_OPEN,
	P_REWRAP_DUE,
	P_REWRAP_SET,
	P_REWRAP_ACCT_DUE,
	P_REWRAP_ACCT_SET,
	P_KEK_USE,
	P_TRY_LOCK,
	P_JOB_INSERT,
	P_JOB_GET,
	P_JOB_OPEN_COUNT,
	P_JOB_SET,
	P_JOB_INTERRUPT,
	P_JOB_QUEUED,
	P_JOB_PURGE,
	NPST
};

/*
 * A daemon's print jobs are its own (schema/pg/0013): it holds the session
 * advisory lock (PG_OWNER_LOCK, owner) on its writer connection while it
 * lives, and a start interrupts only the sending jobs no session owns.
 */
#define PG_OWNER_LOCK 1464991746
#define PG_OWNER_LOCK_S "1464991746"

struct pconn {
	PGconn *pg;
	const char *url;     /* the store's */
	bool ready;	     /* connected and every statement prepared */
	uint64_t retry_ns;   /* a lost connection is tried again from this time on */
	bool logged;	     /* its failed reconnect was logged (once per outage) */
	int64_t owner;	     /* > 0: the owner lock it takes again on each connect */
	bool warned;	     /* the server sent a WARNING since this was last cleared */
	bool reader;	     /* a reader's (pg_reader): a lost read is sent again once */
	unsigned timeout_ms; /* the statement_timeout this session has (writer; 0: none set) */
	struct pconn *next;
};

struct pg_store {
	struct store base; /* first: the ops table (store_ops.h) */
	const struct keyring *kr;
	char url[1024];
	bool tool;
	struct pconn *writer;
	int64_t owner; /* this daemon's print-job owner key (0 in a tool) */

	pthread_mutex_t lock; /* guards the queue, readers and stats */
	pthread_cond_t wake;
	struct wqueue q; /* the jobs waiting for the writer */
	bool stopping;
	pthread_t thread;
	bool thread_started;

	struct pconn *readers;
	pthread_key_t reader_key;

	int64_t rewrap_after[2]; /* writer only */
	char (*vpool)[16];	 /* writer only: the pool as the running job read it */
	size_t vpool_n;
	/* Writer only: batches begun, and the one that read vpool (it holds for a batch). */
	uint64_t batch_no, vpool_batch;

	/* The audit chain as the running batch sees it (audit_head, locked). */
	int64_t audit_seq;
	unsigned char audit_head[HASH_BYTES];
	bool batch_audit_failed, batch_audited;

	struct store_stats stats;
	atomic_int wfail; /* 0, or why writing fails: 1 "store" (connection, commit), 2 "audit" */
	atomic_uint write_timeout_ms; /* db_timeout_s (pg_set_write_timeout); 0: none */
	/* Writer only: the last batch failed on that bound; until retry_ns, jobs fail at once. */
	bool stalled;
	uint64_t stalled_retry_ns;
	pthread_mutex_t wfail_lock;
	uint64_t wfail_since_ns, wfail_refused;
};

/* ---- parameters -------------------------------------------------------- */

struct pq {
	const char *v[PG_PARAMS_MAX];
	int len[PG_PARAMS_MAX], fmt[PG_PARAMS_MAX];
	char num[PG_PARAMS_MAX][24];
	int n;
};
void pq_text(struct pq *q, const char *s);  /* NULL stays NULL */
void pq_textn(struct pq *q, const char *s); /* "" is NULL too */
void pq_i64(struct pq *q, int64_t v);
void pq_i64n(struct pq *q, int64_t v); /* 0 is NULL */
void pq_blob(struct pq *q, const void *p, size_t n);
void pq_null(struct pq *q);

/* ---- statements (store_pg.c) -------------------------------------------- */

/*
 * Run statement id with q's parameters on c.  *res (when res is not NULL)
 * gets the rows, the caller's to PQclear; *changed the rows it changed.
 * ST_UNAVAILABLE when the connection is lost (it is tried again later),
 * ST_CONFLICT on a unique key, ST_IO for anything else.
 */
enum st pg_exec(struct pconn *c, enum pst id, const struct pq *q, PGresult **res, int64_t *changed);
/* Plain SQL with no parameters (BEGIN, COMMIT, SAVEPOINT ...). */
enum st pg_plain(struct pconn *c, const char *sql);
/* The calling thread's reader, connected on first use; NULL when it cannot be. */
struct pconn *pg_reader(struct pg_store *s);
/* prepare: every statement of pg_sql[] (false only before the migrations). */
enum st pg_conn_open(const char *url, bool prepare, struct pconn **out, char *err, size_t errlen);
void pg_conn_close(struct pconn *c);
/* Is c usable now?  Reconnects a lost one (at most once a second). */
bool pg_conn_ok(struct pconn *c);

/* ---- results ---------------------------------------------------------- */

int64_t pg_i64(const PGresult *r, int row, int col);
bool pg_isnull(const PGresult *r, int row, int col);
void pg_txt(const PGresult *r, int row, int col, char *dst, size_t cap);
/* A bytea column of exactly size bytes into dst; false (dst untouched) otherwise. */
bool pg_blob(const PGresult *r, int row, int col, void *dst, size_t size);
/* A bytea column of any length, malloc'd (NULL and 0 for NULL or empty); false: no memory. */
bool pg_blob_dup(const PGresult *r, int row, int col, unsigned char **out, size_t *n);

/* ---- store_pg_rows.c -------------------------------------------------- */

#define X(ret, name, params, args) ret pg_##name(struct pg_store *s, STORE_EXP params);
#define XV(name, params, args) void pg_##name(struct pg_store *s, STORE_EXP params);
STORE_OPS(X)
STORE_OPS_VOID(XV)
#undef X
#undef XV
void pg_close(struct pg_store *s);
const char *pg_trouble(struct pg_store *s);
enum st pg_checkpoint(struct pg_store *s);
enum st pg_chain_walk(const struct keyring *kr, struct pconn *c, int64_t from_seq,
		      const unsigned char from_head[HASH_BYTES], const struct audit_mark *marks,
		      size_t nmarks, struct audit_check *out);
/* The whole chain inside the caller's transaction (waybillctl migrate's, before its COMMIT). */
enum st pg_chain_walk_tx(const struct keyring *kr, struct pconn *c, struct audit_check *out);
/* Prepare every statement of pg_sql[] on c (once the schema is there). */
bool pg_conn_prepare(struct pconn *c, char *err, size_t errlen);
/* The SQL of each statement, by id. */
extern const char *const pg_sql[NPST];

#endif
