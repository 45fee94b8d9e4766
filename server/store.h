/*
 * store.h - storage: the interface a backend implements.  Today the one
 * backend is SQLite (store_*.c, the only files that include <sqlite3.h>);
 * a PostgreSQL one is next.  Nothing above this header knows which runs:
 * each function here calls through the backend's table (store_ops.h).
 *
 * The model every backend keeps:
 *  - One writer.  Every change (and every audit entry) is a struct wjob
 *    handed to it with store_submit/store_run.  The writer takes every job
 *    waiting, runs each inside one transaction (a job that fails leaves no
 *    write but its audit entry), appends each job's audit entry in the same
 *    transaction, commits once (one durable commit for the batch: group
 *    commit), and only then reports each job done.  A 201 therefore means
 *    the order and its audit entry both survive a power cut.
 *  - store_w_* functions are writer primitives: callable only from a job's
 *    fn, on the writer thread, inside the batch's transaction.  They never
 *    commit; what they change commits or rolls back with the job.
 *  - Readers (no _w_) run on any thread and see committed data only; each
 *    call is one consistent snapshot.  They never wait for the writer.
 *  - Statuses: ST_OK; ST_NOTFOUND (no such row); ST_CONFLICT (a unique key
 *    is taken); ST_UNAVAILABLE (busy, full disk, I/O error, cannot audit:
 *    worth retrying later, 503); ST_IO (anything else the database says);
 *    ST_NOMEM.  Others are named where a primitive returns them.  Out
 *    parameters are the caller's only on ST_OK unless said otherwise.
 *
 * Backend-neutral, shared by every backend as it is: the rows and their
 * bindings (store_rows.c), what is hashed into the audit chain (audit.h),
 * roles and names (account.h), the choice of number for a binding (vnum.h).
 * A backend reimplements everything else declared here.
 */
#ifndef WAYBILL_STORE_H
#define WAYBILL_STORE_H

#include "common.h"
#include "account.h"
#include "audit.h"
#include "crypto.h"
#include "order.h"

#define REGION_BYTES (ORDER_REGION_MAX * 4 + 1)
#define ORDER_SORT_CODE_MAX 17 /* sort.h's SORT_CODE_MAX */
#define ORDER_HUB_CODE_MAX 16  /* sort.h's SORT_HUB_CODE_MAX */
#define ORDER_HUB_NAME_MAX 96  /* sort.h's SORT_HUB_NAME_MAX */

struct store;
struct keyring;

#define ACCOUNT_PHONE_SEALED_MAX 64

struct account {
	int64_t id;
	char name[NAME_MAX_BYTES];
	enum role role;
	char depot[NAME_MAX_BYTES]; /* "" when none */
	bool disabled;
	int64_t created_at;
	/* The account's phone, for call routing: sealed, plus a blind index. */
	bool has_phone;
	unsigned char phone_index[HASH_BYTES];
	uint32_t phone_kek_version, phone_seal_version;
	unsigned char phone_wrapped_dek[WRAPPED_DEK_BYTES];
	unsigned char phone_sealed[ACCOUNT_PHONE_SEALED_MAX];
	size_t phone_sealed_len;
};

struct order_row {
	int64_t id; /* internal; never leaves the service */
	char tracking_no[TN_MAX];
	char status[20];
	int64_t created_at, updated_at, ended_at; /* ended_at 0 while open */
	char depot[NAME_MAX_BYTES];
	char creator[NAME_MAX_BYTES];
	char courier[NAME_MAX_BYTES]; /* "" when unassigned */
	char origin_province[REGION_BYTES], origin_city[REGION_BYTES],
	    origin_district[REGION_BYTES];
	char dest_province[REGION_BYTES], dest_city[REGION_BYTES], dest_district[REGION_BYTES];
	int weight_g, count;
	char vnum[16], ext[8]; /* "" when none */
	int print_count;
	int64_t retain_until; /* 0 while open */
	int64_t erased_at;    /* 0 unless retention erased the personal data */
	uint32_t kek_version, seal_version;
	unsigned char wrapped_dek[WRAPPED_DEK_BYTES];
	unsigned char *sealed; /* owned; NULL once erased */
	size_t sealed_len;
	int seal_bind; /* ORDER_SEAL_BOUND, or ORDER_SEAL_LEGACY before migration 0009 */
	/* The route sort_table gave it at creation (sort.h); "" when none matched. */
	char sort_code[ORDER_SORT_CODE_MAX], hub_code[ORDER_HUB_CODE_MAX];
	char hub_name[ORDER_HUB_NAME_MAX];
};

/* ---- backend-neutral (store_rows.c: no backend code) ------------------ */

/* Frees what a row owns (sealed); the struct stays the caller's.  NULL: no-op. */
void order_row_release(struct order_row *r);

/*
 * What an order's sealed blob and data key are bound to (the "tn" argument
 * of crypto_seal, crypto_open and crypto_rewrap): its tracking number and
 * the clear columns that never change, "TN|depot|creator".  A row whose
 * depot or creator was changed in the database then fails to open.  Rows
 * sealed before migration 0009 were bound to "TN" and are resealed by
 * store_open(); one that could not be (its key is missing) keeps the old
 * binding until a later start can.
 */
#define ORDER_SEAL_LEGACY 0
#define ORDER_SEAL_BOUND 1
#define ORDER_BIND_MAX (CRYPTO_BIND_MAX + 1)
void order_row_bind(const struct order_row *r, char out[ORDER_BIND_MAX]);
/*
 * Seal an account's phone (E.164) into a's phone columns, bound to
 * "account:NAME" (account_seal_ad), with the blind index that matches
 * callers.  a->name must be set.  Every writer of accounts uses it.
 */
enum st account_phone_seal(const struct keyring *kr, struct account *a, const char *e164);
/* The same from its parts (a row's tracking_no, depot, creator and seal_bind). */
void order_bind_of(const char *tn, const char *depot, const char *creator, int seal_bind,
		   char out[ORDER_BIND_MAX]);

/*
 * An idempotency key as stored: "h:" and the hex of its keyed hash ("" for
 * none or an empty key).  A client's key is at most 64 characters, so no
 * clear one (from before migration 0009) looks like this: store_idem_hashed
 * tells them apart.
 */
#define STORE_IDEM_HASH_BYTES (2 + HASH_BYTES * 2 + 1)
void store_idem_hash(const struct keyring *kr, const char *key, char out[STORE_IDEM_HASH_BYTES]);
bool store_idem_hashed(const char *key);

/* ---- opening --------------------------------------------------------- */

/*
 * Open (creating if needed) the database and bring its schema up to date
 * (SQLite: pragmas WAL, synchronous=FULL, secure_delete=ON, foreign_keys=ON,
 * then the numbered migrations under schema/); for a STORE_TOOL also an
 * integrity check and a walk of the whole audit chain (a daemon walks from
 * its last checkpoint, store_audit_verify_from, and runs the rest beside
 * serving: auditcp.c).  Starts the writer thread.  On failure err holds
 * one line.  The keyring is borrowed and must outlive the store.
 *
 * One STORE_DAEMON store per database runs the checkpoints, on a thread of
 * its own (a second one is refused: ST_UNAVAILABLE); any number of
 * STORE_TOOL stores (waybillctl) may write beside it.  See store_writer.c,
 * "Checkpoints".  Rows sealed before migration 0009 are resealed before it
 * returns (each batch a job of its own, audited).
 *
 * store_close joins the threads after the jobs queued have run; call it
 * once no thread submits or reads any more.  NULL: no-op.
 */
enum store_mode { STORE_DAEMON, STORE_TOOL };
enum st store_open(const char *path, enum store_mode mode, const struct keyring *kr,
		   struct store **out, char *err, size_t errlen);
void store_close(struct store *s);

/* ---- the writer (the model is backend-neutral, the thread the backend's) -- */

struct wjob;
/*
 * A job's change, run on the writer thread inside the batch's transaction.
 * It may run twice: when a job of the batch fails after writing, the whole
 * transaction rolls back and the batch runs again, each job in a savepoint.
 * So a job decides from the database alone and lets go of whatever a first
 * run left in its state (rows it loaded: see h_orders.c tx_load).
 */
typedef enum st (*wjob_fn)(struct store *s, struct wjob *j);

struct wjob {
	wjob_fn fn;		      /* the change; NULL for an audit-only job */
	void *arg;		      /* the change's input and output */
	struct audit_entry audit;     /* actor, role, action, tracking_no, reason, request_id */
	const char *result;	      /* audit result; NULL: "ok" or the status name */
	bool no_audit;		      /* operator jobs that audit themselves */
	enum st st;		      /* set before done() runs */
	void (*done)(struct wjob *j); /* called on the writer thread after commit */
	void *ctx;
	struct wjob *next;
};

/*
 * Hand a job to the writer (any thread); done() runs on the writer thread
 * once the batch committed or failed, with j->st set: ST_OK only when the
 * change and its audit entry are durable.  The job is the caller's and
 * must stay valid until done() (which may free it).
 */
void store_submit(struct store *s, struct wjob *j);
/* Submit and wait (any thread but the writer's); returns j->st. */
enum st store_run(struct store *s, struct wjob *j);

/*
 * ---- writer primitives: a job's fn only (writer thread, in the batch's
 * transaction; see the top of this file) ----
 */
/* The order as the transaction sees it (its own writes too); ST_NOTFOUND. */
enum st store_w_order_get(struct store *s, const char *tn, struct order_row *out);
/*
 * *id gets the new row's id; ST_CONFLICT when the tracking number (or this
 * creator's idempotency key) is taken.  The idempotency key is stored only
 * as a keyed hash, store_idem_hash (it is the client's text and may carry
 * anything).
 */
enum st store_w_order_insert(struct store *s, const struct order_row *r, const char *idem_key,
			     const unsigned char digest[HASH_BYTES], int64_t *id);
/* ST_NOTFOUND when no order of this creator has the key; ST_GONE when the
 * order it names was erased (its digest went with its personal data). */
enum st store_w_order_by_idem(struct store *s, const char *creator, const char *idem_key,
			      char tn[TN_MAX], unsigned char digest[HASH_BYTES]);
/* Set columns of the order with row id id (ended_at, retain_until 0: none).
 * Deciding whether the change is allowed is the caller's. */
enum st store_w_order_set_status(struct store *s, int64_t id, const char *status, int64_t now,
				 int64_t ended_at, int64_t retain_until);
enum st store_w_order_set_courier(struct store *s, int64_t id, const char *courier, int64_t now);
enum st store_w_order_set_prints(struct store *s, int64_t id, int print_count);
enum st store_w_order_set_binding(struct store *s, int64_t id, const char *vnum, const char *ext);
enum st store_w_account_get(struct store *s, const char *name, struct account *out);
/* ST_CONFLICT when the name (or the token hash) is taken. */
enum st store_w_account_insert(struct store *s, const struct account *a,
			       const unsigned char token_hash[HASH_BYTES]);
/* Disable an account, or give it a new token hash; ST_NOTFOUND when none has the name. */
enum st store_w_account_disable(struct store *s, const char *name);
enum st store_w_account_token(struct store *s, const char *name,
			      const unsigned char token_hash[HASH_BYTES]);
/* Make the pool numbers the given ones (others stay, out of the pool). */
enum st store_w_vnum_sync(struct store *s, char (*nums)[16], size_t n);
/*
 * The slots under the allocation policy (vnum.c decides which slot; these
 * only read and take them).  A slot is (number, extension): free when no
 * open binding holds it and no ended one rests on it through now.
 */
#define STORE_VNUM_EXTS 10000	   /* extensions 0000-9999 per number (vnum.h VNUM_EXTS) */
#define STORE_VNUM_POOL_MAX 100000 /* numbers in one pool (vnum.h VNUM_POOL_MAX) */
/* The pool's numbers; *nums is the store's, valid until the job ends. */
enum st store_w_vnum_pool(struct store *s, const char (**nums)[16], size_t *n);
/* Up to max numbers on which this recipient holds a binding a call back
 * could still match (open, or active past now). */
enum st store_w_vnum_held_by(struct store *s, const unsigned char rcpt[HASH_BYTES], int64_t now,
			     char (*nums)[16], size_t max, size_t *n);
/* Is (vnum, ext) free at now?  *stale gets the id of a binding whose rest
 * is over (0: none), for store_w_slot_take to release. */
enum st store_w_slot_free(struct store *s, const char *vnum, const char *ext, int64_t now,
			  bool *is_free, int64_t *stale);
/* Take a slot store_w_slot_free found free: vnum's held count goes up by
 * one, or a stale binding (its id) hands its hold over and is released. */
enum st store_w_slot_take(struct store *s, const char *vnum, int64_t stale);
/* busy[x] = 1 for each extension x of vnum that is not free at now. */
enum st store_w_vnum_busy(struct store *s, const char *vnum, int64_t now,
			  unsigned char busy[STORE_VNUM_EXTS]);
struct vnum_room {
	char vnum[16];
	uint32_t free; /* STORE_VNUM_EXTS less the extensions counted held */
};
/* The pool's numbers with room by their held counts; *out is the caller's to free(). */
enum st store_w_vnum_rooms(struct store *s, struct vnum_room **out, size_t *n);
enum st store_w_binding_insert(struct store *s, const char *vnum, const char *ext, int64_t order_id,
			       const unsigned char recipient_index[HASH_BYTES], int64_t now);
/* The recipient index of an order's open binding (to rebind it). */
enum st store_w_binding_recipient(struct store *s, const char *vnum, const char *ext,
				  int64_t order_id, unsigned char out[HASH_BYTES]);
/* End an order's open binding: routes stop at active_until; reuse after
 * reusable_at.  Ending now (active_until <= now) also drops the recipient's
 * phone hash: nothing can route through the binding again. */
enum st store_w_binding_end(struct store *s, const char *vnum, const char *ext, int64_t order_id,
			    int64_t active_until, int64_t reusable_at, int64_t now);
/* Give back extensions whose rest is over; *n gets how many. */
enum st store_w_binding_sweep(struct store *s, int64_t now, int64_t *n);

/* Count one admin reveal for actor on day; ST_LIMIT when limit were passed. */
enum st store_w_reveal_take(struct store *s, const char *actor, const char *day, long limit);
/* Give back one reveal taken on day (one that failed to open); never below 0. */
enum st store_w_reveal_give(struct store *s, const char *actor, const char *day);
/* What a purge erases (retention.h computes it from the configuration). */
struct purge_policy {
	int64_t now;	     /* closed orders whose retain_until is at or before this */
	int64_t open_before; /* open orders created at or before this (0: none) */
	int64_t rest_until;  /* an erased open order's binding ends; its extension rests until */
};
/*
 * Erase the sealed data of up to max orders due under p: blob, wrapped data
 * key and body digest go, and their bindings lose the recipient index (an
 * open order's binding also ends).  *n gets how many.
 */
enum st store_w_purge_batch(struct store *s, const struct purge_policy *p, int max, int64_t *n);
/*
 * Rewrap up to max data keys (orders, then account phones) to the
 * keyring's current version; the backend keeps where the last batch
 * stopped, so a pass walks each table once.  A key that does not unwrap
 * fails the batch with crypto_rewrap's status.
 */
enum st store_w_rewrap_batch(struct store *s, int max, int64_t *n);

/*
 * Archiving: delete entries up to last (which must be before the head) and
 * record the signed archive checkpoint (first, last, head, ts, sig; see
 * audit_archive_msg) the chain now continues from.  Only `waybillctl audit
 * archive` calls it, after writing and re-reading the archive.
 */
enum st store_w_audit_archive(struct store *s, int64_t first, int64_t last,
			      const unsigned char head[HASH_BYTES], const char *ts,
			      const unsigned char sig[SIGN_BYTES]);

/*
 * Append one more audit entry (besides the job's own): seq, prev and hash
 * are the backend's (audit_link over the chain's head as this transaction
 * sees it); ts is set when empty.  ST_UNAVAILABLE when it cannot be
 * written: the job must fail then, since nothing unaudited may commit.
 */
enum st store_w_audit_append(struct store *s, const struct audit_entry *e);

/*
 * ---- print jobs (store_jobs.c; docs/API.md "Print jobs") ----
 * A job row holds no personal data: tracking numbers joined by spaces, the
 * printer's name, and for a failure a code and a detail.
 */
#define PRINT_JOB_LABELS_MAX 500 /* = max_batch_labels' bound */
#define PRINT_JOB_TNS_BYTES (PRINT_JOB_LABELS_MAX * TN_MAX)
#define PRINT_JOB_PRINTER_MAX 33
#define PRINT_JOB_REASON_MAX 32
#define PRINT_JOB_DETAIL_MAX 160
struct print_job_row {
	int64_t id;
	char depot[NAME_MAX_BYTES];
	char printer[PRINT_JOB_PRINTER_MAX];
	char actor[NAME_MAX_BYTES];
	char role[12];
	char tracking_nos[PRINT_JOB_TNS_BYTES]; /* "TN TN ..." */
	int labels;
	char status[12];		   /* queued, sending, sent, failed, interrupted */
	char reason[PRINT_JOB_REASON_MAX]; /* "" unless failed or interrupted */
	char detail[PRINT_JOB_DETAIL_MAX]; /* "" or a line for people */
	int attempts;
	int64_t bytes_sent;
	int64_t created_at, updated_at;
};
/* A new job, queued; *id gets its id.  created_at is j's. */
enum st store_w_job_insert(struct store *s, const struct print_job_row *j, int64_t *id);
enum st store_w_job_get(struct store *s, int64_t id, struct print_job_row *out);
/* Jobs of depot queued or sending. */
enum st store_w_job_open_count(struct store *s, const char *depot, int64_t *n);
/* Set a job's state (reason, detail "" for none). */
enum st store_w_job_set(struct store *s, int64_t id, const char *status, const char *reason,
			const char *detail, int attempts, int64_t bytes_sent, int64_t now);
/* Every job still sending becomes interrupted (a start after a crash); *n of them. */
enum st store_w_job_interrupt(struct store *s, int64_t now, int64_t *n);
/* Delete up to max finished jobs last changed before before; *n of them. */
enum st store_w_job_purge(struct store *s, int64_t before, int max, int64_t *n);

/* ---- readers (any thread; committed data, one snapshot per call) ------- */

/* The account whose token hash is hash, compared in constant time; ST_NOTFOUND. */
enum st store_account_by_token(struct store *s, const unsigned char hash[HASH_BYTES],
			       struct account *out);
enum st store_account_get(struct store *s, const char *name, struct account *out);
/* Calls fn for each account in name order. */
enum st store_account_each(struct store *s, void (*fn)(const struct account *a, void *arg),
			   void *arg);

enum st store_order_get(struct store *s, const char *tn, struct order_row *out);
/* By internal id (for bindings). */
enum st store_order_get_id(struct store *s, int64_t id, struct order_row *out);

/* The order of an active binding (number, extension) at time now. */
enum st store_binding_find(struct store *s, const char *vnum, const char *ext, int64_t now,
			   int64_t *order_id, int64_t *active_until);
/*
 * Orders with an active binding on vnum for this recipient index: up to max
 * ids in ids, the total in *n (so *n > 1 means "not exactly one").
 */
enum st store_binding_callback(struct store *s, const char *vnum,
			       const unsigned char recipient_index[HASH_BYTES], int64_t now,
			       int64_t *ids, size_t max, size_t *n);
/* A print job by id; ST_NOTFOUND. */
enum st store_job_get(struct store *s, int64_t id, struct print_job_row *out);
/* Up to max ids of queued jobs after after, in id order. */
enum st store_job_queued(struct store *s, int64_t after, int64_t *ids, size_t max, size_t *n);
/* Orders whose personal data is due for erasure under p. */
enum st store_purge_due(struct store *s, const struct purge_policy *p, int64_t *n);
/* Data keys (orders and account phones) wrapped by this key version. */
enum st store_kek_in_use(struct store *s, uint32_t version, int64_t *n);
/* Each audit entry (ts >= since, or all), in order, until fn returns false. */
enum st store_audit_each(struct store *s, const char *since,
			 bool (*fn)(const struct audit_entry *e, void *arg), void *arg);
/*
 * Checkpoint and truncate the WAL, so erased bytes leave the disk (the
 * retention thread calls it after a purge).  ST_UNAVAILABLE when it could
 * not run; the next one copies what this one left.
 */
enum st store_checkpoint(struct store *s);

struct vnum_stats {
	int64_t active, held, capacity;
};
enum st store_vnum_stats(struct store *s, int64_t now, struct vnum_stats *out);

struct order_query {
	enum role scope;    /* ROLE_COURIER: created by or assigned to who; ROLE_DEPOT: depot */
	const char *who;    /* courier's name, or the depot */
	const char *status; /* NULL: any */
	const char *after;  /* NULL: from the start; else the last tracking number seen */
	int limit;
};
/*
 * Fills rows[0..*n); *more is true when further rows follow.  The rows hold
 * the clear columns only: no wrapped key, no sealed blob (sealed is NULL).
 */
enum st store_order_list(struct store *s, const struct order_query *q, struct order_row *rows,
			 size_t *n, bool *more);

struct audit_query {
	const char *tracking_no, *actor, *since; /* NULL: any */
	int64_t after_seq;
	int limit;
};
enum st store_audit_list(struct store *s, const struct audit_query *q, struct audit_entry *out,
			 size_t *n);

struct audit_check {
	bool ok;
	int64_t entries;
	int64_t bad_seq; /* first broken entry when !ok */
	const char *why; /* when !ok: what is wrong with it (a constant) */
	unsigned char head[HASH_BYTES];
	bool mark_bad; /* a mark the chain lacks (mark_missing) or contradicts */
	bool mark_missing;
	size_t mark_index; /* which one, when mark_bad */
	/* Marks before the archive checkpoint: audit verify --archive checks those. */
	size_t marks_archived;
	int64_t base_seq; /* the whole walk began after this archived entry (0: at seq 1) */
	unsigned char base_head[HASH_BYTES]; /* its hash */
	int64_t head_seq;		     /* the last entry walked */
};
/*
 * A (seq, head) the chain must still hold: a signed checkpoint's.  Each
 * entry's chain link is checked, and so is its order_id (a look-up aid the
 * MAC does not cover, so it must name the row of the order its tracking
 * number names, or be NULL): a changed one would hide the entry from
 * GET /v1/audit?tracking_no=.
 */
struct audit_mark {
	int64_t seq;
	unsigned char head[HASH_BYTES];
};
/* Walk the whole chain (audit_link_ok on each entry) in one snapshot. */
enum st store_audit_verify(struct store *s, struct audit_check *out);
/* The database's own integrity check (SQLite: PRAGMA quick_check); err says what it found. */
enum st store_quick_check(struct store *s, char *err, size_t errlen);
/*
 * The database's size on disk and its write-ahead log's (the /metrics
 * gauges): SQLite's file and its -wal file; PostgreSQL's
 * pg_database_size() and its cluster's WAL directory (pg_ls_waldir(), -1
 * when the role may not read it: pg_monitor).  0 for a file that is not there.
 */
enum st store_sizes(struct store *s, int64_t *db, int64_t *wal);
/*
 * Walk only the entries after seq, the first of which must link to head (a
 * signed checkpoint's): what a daemon's start checks.  out->entries counts
 * the entries walked.
 */
enum st store_audit_verify_from(struct store *s, int64_t seq, const unsigned char head[HASH_BYTES],
				struct audit_check *out);
/* The same on a database that is not open (it may be broken: no store_open). */
enum st store_audit_verify_path(const char *path, const struct keyring *kr, struct audit_check *out,
				char *err, size_t errlen);
/* The same, and each of marks[0..nmarks) against the chain (mark_bad). */
enum st store_audit_verify_marks(const char *path, const struct keyring *kr,
				 const struct audit_mark *marks, size_t nmarks,
				 struct audit_check *out, char *err, size_t errlen);
/*
 * The hash of entry seq; ST_NOTFOUND when the chain has none, ST_GONE when
 * it was archived (a signed archive checkpoint covers it).
 */
enum st store_audit_at(struct store *s, int64_t seq, unsigned char hash[HASH_BYTES]);
/*
 * The archived entry the live chain continues from, and its hash (0 and
 * zeros when nothing was archived); ST_CRYPTO when the database's archive
 * checkpoint does not verify.
 */
enum st store_audit_base(struct store *s, int64_t *last, unsigned char head[HASH_BYTES]);
/* The last committed entry's seq and hash (0 and zeros for an empty chain). */
enum st store_audit_head(struct store *s, int64_t *seq, unsigned char head[HASH_BYTES]);

/* Every statement reaches the big tables through an index (or is one of the
 * few that walk them on purpose); else ST_INTERNAL and the statement in bad.
 * Each backend holds its own queries to this (the daemon's start runs it). */
enum st store_plans_check(struct store *s, char *bad, size_t badlen);

/* ---- whether it can do its work (/readyz) ------------------------------ */

/*
 * Refuse every batch (ST_UNAVAILABLE, before it writes) while the
 * database's filesystem has fewer than bytes free beyond what a checkpoint
 * needs to copy the log's pending pages back (a page each), so that one
 * always finds room; 0: no bound at all.  Call before the first job (it
 * reads the page size on the writer's connection).
 */
void store_set_min_free(struct store *s, uint64_t bytes);
/*
 * PostgreSQL: the longest a write transaction's statement (a lock wait) or
 * its COMMIT (the wait for the synchronous standby) may take, from the next
 * batch on; past it the batch's jobs answer ST_UNAVAILABLE (a cancelled
 * commit's outcome is unknown) and store_trouble says "store".  0: no
 * bound.  SQLite: nothing (its writer waits on no one but the disk).
 */
void store_set_write_timeout(struct store *s, unsigned ms);
/*
 * Why writing fails now, or NULL: "disk" (free space below the bound),
 * "store" (the last commit failed, until one that writes succeeds), "audit"
 * (the last batch could not write an audit entry).  Writing failing and
 * recovering is logged once each way.
 */
const char *store_trouble(struct store *s);

/* ---- counters for /metrics ------------------------------------------- */
#define STORE_COMMIT_BUCKETS 9
struct store_stats {
	uint64_t batches, jobs, commit_fail;
	uint64_t reruns;	     /* batches run again with a savepoint per job (a job failed) */
	uint64_t exec_ns, commit_ns; /* writer time running jobs, and in COMMIT (the fsync) */
	uint64_t wal_pages;	     /* pages the commits wrote to the log */
	uint64_t batch_hist[8];	     /* jobs per batch: 1, 2-3, 4-7, ..., >=128 */
	uint64_t commit_hist[STORE_COMMIT_BUCKETS + 1]; /* COMMITs by duration; last: longer */
};
/* Upper bounds of commit_hist's buckets, in microseconds. */
extern const unsigned store_commit_bounds_us[STORE_COMMIT_BUCKETS];
void store_stats_get(struct store *s, struct store_stats *out);

/* ---- moving an SQLite database to PostgreSQL (store_migrate.c) -------- */

/* The tables `waybillctl migrate` copies, in the order it copies them. */
extern const char *const store_migrate_tables[];
extern const size_t store_migrate_tables_n;
/* SQLite's tables it does not copy, each for a reason (store_migrate.c). */
extern const char *const store_migrate_skip[];
extern const size_t store_migrate_skip_n;

#define MIGRATE_TABLES_MAX 16
struct migrate_report {
	int64_t rows[MIGRATE_TABLES_MAX]; /* by store_migrate_tables[] */
	int64_t total;
	int schema_version;
	int64_t entries;	  /* the target's chain, the migration's entry included */
	struct audit_entry entry; /* the migration's own */
	double seconds;
};
/*
 * Copy the SQLite database at from (opened read-only, refused while a
 * waybilld holds it) into the empty PostgreSQL database at url, in one
 * transaction there, rows byte for byte; then the migration's audit entry
 * (actor, "operator", "store.migrate", the row counts) ends the chain.
 * The chain must verify under kr at both ends.
 */
enum st store_migrate(const char *from, const char *url, const struct keyring *kr,
		      const char *actor, struct migrate_report *out, char *err, size_t errlen);

#endif
