/*
 * store_ops.h - the seam between store.h and its backends: one list of
 * the backend's functions (STORE_OPS), from which store.c's dispatcher,
 * each backend's table of them and its declarations are generated, so a
 * function added to store.h is one line here and one definition in each
 * backend.  Private to server/store*.c.
 *
 * Every struct store begins with its ops table: a backend's own struct
 * (struct sq_store, struct pg_store) has a struct store as its first member.
 */
#ifndef WAYBILL_STORE_OPS_H
#define WAYBILL_STORE_OPS_H

#include "store.h"

#define STORE_EXP(...) __VA_ARGS__

/*
 * X(return type, name, (parameters after s), (their names)): the function
 * store_NAME(struct store *s, parameters).  The functions with no
 * parameter but s, and those that return nothing, are listed by hand in
 * struct store_ops (a generated "return f();" in a void function is not C).
 */
#define STORE_OPS(X)                                                                               \
	X(enum st, w_order_get, (const char *tn, struct order_row *out), (tn, out))                \
	X(enum st, w_order_insert,                                                                 \
	  (const struct order_row *r, const char *idem_key,                                        \
	   const unsigned char digest[HASH_BYTES], int64_t *id),                                   \
	  (r, idem_key, digest, id))                                                               \
	X(enum st, w_order_by_idem,                                                                \
	  (const char *creator, const char *idem_key, char tn[TN_MAX],                             \
	   unsigned char digest[HASH_BYTES]),                                                      \
	  (creator, idem_key, tn, digest))                                                         \
	X(enum st, w_order_set_status,                                                             \
	  (int64_t id, const char *status, int64_t now, int64_t ended_at, int64_t retain_until),   \
	  (id, status, now, ended_at, retain_until))                                               \
	X(enum st, w_order_set_courier, (int64_t id, const char *courier, int64_t now),            \
	  (id, courier, now))                                                                      \
	X(enum st, w_order_set_prints, (int64_t id, int print_count), (id, print_count))           \
	X(enum st, w_order_set_binding, (int64_t id, const char *vnum, const char *ext),           \
	  (id, vnum, ext))                                                                         \
	X(enum st, w_account_get, (const char *name, struct account *out), (name, out))            \
	X(enum st, w_account_insert,                                                               \
	  (const struct account *a, const unsigned char token_hash[HASH_BYTES]), (a, token_hash))  \
	X(enum st, w_account_disable, (const char *name), (name))                                  \
	X(enum st, w_account_token,                                                                \
	  (const char *name, const unsigned char token_hash[HASH_BYTES]), (name, token_hash))      \
	X(enum st, w_vnum_sync, (char(*nums)[16], size_t n), (nums, n))                            \
	X(enum st, w_vnum_pool, (const char(**nums)[16], size_t *n), (nums, n))                    \
	X(enum st, w_vnum_held_by,                                                                 \
	  (const unsigned char rcpt[HASH_BYTES], int64_t now, char(*nums)[16], size_t max,         \
	   size_t *n),                                                                             \
	  (rcpt, now, nums, max, n))                                                               \
	X(enum st, w_slot_free,                                                                    \
	  (const char *vnum, const char *ext, int64_t now, bool *is_free, int64_t *stale),         \
	  (vnum, ext, now, is_free, stale))                                                        \
	X(enum st, w_slot_take, (const char *vnum, int64_t stale), (vnum, stale))                  \
	X(enum st, w_vnum_busy,                                                                    \
	  (const char *vnum, int64_t now, unsigned char busy[STORE_VNUM_EXTS]), (vnum, now, busy)) \
	X(enum st, w_vnum_rooms, (struct vnum_room * *out, size_t * n), (out, n))                  \
	X(enum st, w_binding_insert,                                                               \
	  (const char *vnum, const char *ext, int64_t order_id,                                    \
	   const unsigned char recipient_index[HASH_BYTES], int64_t now),                          \
	  (vnum, ext, order_id, recipient_index, now))                                             \
	X(enum st, w_binding_recipient,                                                            \
	  (const char *vnum, const char *ext, int64_t order_id, unsigned char out[HASH_BYTES]),    \
	  (vnum, ext, order_id, out))                                                              \
	X(enum st, w_binding_end,                                                                  \
	  (const char *vnum, const char *ext, int64_t order_id, int64_t active_until,              \
	   int64_t reusable_at, int64_t now),                                                      \
	  (vnum, ext, order_id, active_until, reusable_at, now))                                   \
	X(enum st, w_binding_sweep, (int64_t now, int64_t * n), (now, n))                          \
	X(enum st, w_reveal_take, (const char *actor, const char *day, long limit),                \
	  (actor, day, limit))                                                                     \
	X(enum st, w_reveal_give, (const char *actor, const char *day), (actor, day))              \
	X(enum st, w_purge_batch, (const struct purge_policy *p, int max, int64_t *n),             \
	  (p, max, n))                                                                             \
	X(enum st, w_rewrap_batch, (int max, int64_t *n), (max, n))                                \
	X(enum st, w_audit_archive,                                                                \
	  (int64_t first, int64_t last, const unsigned char head[HASH_BYTES], const char *ts,      \
	   const unsigned char sig[SIGN_BYTES]),                                                   \
	  (first, last, head, ts, sig))                                                            \
	X(enum st, w_audit_append, (const struct audit_entry *e), (e))                             \
	X(enum st, account_by_token, (const unsigned char hash[HASH_BYTES], struct account *out),  \
	  (hash, out))                                                                             \
	X(enum st, account_get, (const char *name, struct account *out), (name, out))              \
	X(enum st, account_each, (void (*fn)(const struct account *a, void *arg), void *arg),      \
	  (fn, arg))                                                                               \
	X(enum st, order_get, (const char *tn, struct order_row *out), (tn, out))                  \
	X(enum st, order_get_id, (int64_t id, struct order_row * out), (id, out))                  \
	X(enum st, binding_find,                                                                   \
	  (const char *vnum, const char *ext, int64_t now, int64_t *order_id,                      \
	   int64_t *active_until),                                                                 \
	  (vnum, ext, now, order_id, active_until))                                                \
	X(enum st, binding_callback,                                                               \
	  (const char *vnum, const unsigned char recipient_index[HASH_BYTES], int64_t now,         \
	   int64_t *ids, size_t max, size_t *n),                                                   \
	  (vnum, recipient_index, now, ids, max, n))                                               \
	X(enum st, purge_due, (const struct purge_policy *p, int64_t *n), (p, n))                  \
	X(enum st, kek_in_use, (uint32_t version, int64_t * n), (version, n))                      \
	X(enum st, audit_each,                                                                     \
	  (const char *since, bool (*fn)(const struct audit_entry *e, void *arg), void *arg),      \
	  (since, fn, arg))                                                                        \
	X(enum st, vnum_stats, (int64_t now, struct vnum_stats * out), (now, out))                 \
	X(enum st, order_list,                                                                     \
	  (const struct order_query *q, struct order_row *rows, size_t *n, bool *more),            \
	  (q, rows, n, more))                                                                      \
	X(enum st, audit_list, (const struct audit_query *q, struct audit_entry *out, size_t *n),  \
	  (q, out, n))                                                                             \
	X(enum st, audit_verify, (struct audit_check * out), (out))                                \
	X(enum st, quick_check, (char *err, size_t errlen), (err, errlen))                         \
	X(enum st, sizes, (int64_t * db, int64_t * wal), (db, wal))                                \
	X(enum st, audit_verify_from,                                                              \
	  (int64_t seq, const unsigned char head[HASH_BYTES], struct audit_check *out),            \
	  (seq, head, out))                                                                        \
	X(enum st, audit_at, (int64_t seq, unsigned char hash[HASH_BYTES]), (seq, hash))           \
	X(enum st, audit_base, (int64_t * last, unsigned char head[HASH_BYTES]), (last, head))     \
	X(enum st, audit_head, (int64_t * seq, unsigned char head[HASH_BYTES]), (seq, head))       \
	X(enum st, plans_check, (char *bad, size_t badlen), (bad, badlen))                         \
	/* print jobs (store_jobs.c) */                                                            \
	X(enum st, w_job_insert, (const struct print_job_row *j, int64_t *id), (j, id))            \
	X(enum st, w_job_get, (int64_t id, struct print_job_row * out), (id, out))                 \
	X(enum st, w_job_open_count, (const char *depot, int64_t *n), (depot, n))                  \
	X(enum st, w_job_set,                                                                      \
	  (int64_t id, const char *status, const char *reason, const char *detail, int attempts,   \
	   int64_t bytes_sent, int64_t now),                                                       \
	  (id, status, reason, detail, attempts, bytes_sent, now))                                 \
	X(enum st, w_job_interrupt, (int64_t now, int64_t * n), (now, n))                          \
	X(enum st, w_job_purge, (int64_t before, int max, int64_t *n), (before, max, n))           \
	X(enum st, job_get, (int64_t id, struct print_job_row * out), (id, out))                   \
	X(enum st, job_queued, (int64_t after, int64_t * ids, size_t max, size_t * n),             \
	  (after, ids, max, n))

/* XV(name, (parameters after s), (their names)): the void ones. */
#define STORE_OPS_VOID(XV)                                                                         \
	XV(submit, (struct wjob * j), (j))                                                         \
	XV(set_min_free, (uint64_t bytes), (bytes))                                                \
	XV(set_write_timeout, (unsigned ms), (ms))                                                 \
	XV(stats_get, (struct store_stats * out), (out))

struct store_ops {
	const char *name; /* "sqlite", "postgresql" */
#define X(ret, name, params, args) ret (*name)(struct store * s, STORE_EXP params);
#define XV(name, params, args) void (*name)(struct store * s, STORE_EXP params);
	STORE_OPS(X)
	STORE_OPS_VOID(XV)
#undef X
#undef XV
	void (*close)(struct store *s);
	const char *(*trouble)(struct store *s);
	enum st (*checkpoint)(struct store *s);
};

struct store {
	const struct store_ops *ops;
};

/*
 * The writer's queue, the same in both backends (store.c): the jobs
 * submitted and not yet taken, in order, under the backend's own lock.
 * store_run is submit and wait, for either.
 */
struct wqueue {
	struct wjob *head, *tail;
};
/* Append j (the backend's lock held). */
void wqueue_push(struct wqueue *q, struct wjob *j);
/* Take the first max jobs or fewer as one list, their count in *n; NULL when none waits. */
struct wjob *wqueue_take(struct wqueue *q, size_t max, size_t *n);
/* A batch that failed as a whole: every job of it gets st. */
void wjobs_fail(struct wjob *jobs, enum st st);

/*
 * A backend's table: each entry a function that takes the struct store and
 * calls the backend's own with its struct (cast from the first member).
 */
#define STORE_ADAPT_X(prefix, type, ret, name, params, args)                                       \
	static ret prefix##_op_##name(struct store *s, STORE_EXP params)                           \
	{                                                                                          \
		return prefix##_##name((type *)s, STORE_EXP args);                                 \
	}
#define STORE_ADAPT_XV(prefix, type, name, params, args)                                           \
	static void prefix##_op_##name(struct store *s, STORE_EXP params)                          \
	{                                                                                          \
		prefix##_##name((type *)s, STORE_EXP args);                                        \
	}

/* The backends' constructors (store.c picks one by the database's name). */
enum st sq_store_open(const char *path, enum store_mode mode, const struct keyring *kr,
		      struct store **out, char *err, size_t errlen);
enum st sq_store_verify_marks(const char *path, const struct keyring *kr,
			      const struct audit_mark *marks, size_t nmarks,
			      struct audit_check *out, char *err, size_t errlen);
enum st pg_store_open(const char *url, enum store_mode mode, const struct keyring *kr,
		      struct store **out, char *err, size_t errlen);
enum st pg_store_verify_marks(const char *url, const struct keyring *kr,
			      const struct audit_mark *marks, size_t nmarks,
			      struct audit_check *out, char *err, size_t errlen);
/* Does this database name select PostgreSQL ("postgresql://", "postgres://")? */
bool store_is_pg(const char *db);

#endif
