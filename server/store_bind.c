/*
 * store_bind.c - virtual-number bindings in SQLite: the pool's numbers,
 * taking and ending bindings, sweeping rests that ended, and the call
 * routing readers.
 */
#include "common.h"
#include "store_int.h"
#include "buf.h"

/* ---- virtual-number bindings (writer) ---------------------------------- */

/* A slot's statements take the number as ?1, the extension as ?2 and ?3 after them. */
static void slot_bind(sqlite3_stmt *st, const char *vnum, const char *ext, int64_t x)
{
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, x);
}

enum st sq_w_vnum_sync(struct sq_store *s, char (*nums)[16], size_t n)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_VNUM_OUT);
	enum st res;

	if (!st)
		return ST_IO;
	res = sql_step_done(s->writer, st);
	s->vpool_stale = true;
	for (size_t i = 0; i < n && res == ST_OK; i++) {
		st = sql_stmt(s->writer, S_VNUM_IN);
		if (!st)
			return ST_IO;
		sqlite3_bind_text(st, 1, nums[i], -1, SQLITE_STATIC);
		res = sql_step_done(s->writer, st);
	}
	return res;
}

/* Is the slot free at now?  A resting binding past its time is released here. */
enum st sq_w_slot_free(struct sq_store *s, const char *vnum, const char *ext, int64_t now,
		       bool *free_, int64_t *stale_id)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_VNUM_SLOT);
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
 * The pool's numbers and the rooms on them are at most the numbers a pool
 * holds: store_w_vnum_sync puts in the pool only what vnum_pool_parse gave.
 * A table holding more is not one this daemon wrote: ST_IO, as any other
 * database surprise (ST_TOOBIG would read as the client's fault).
 */
static enum st rows_st(enum st st)
{
	return st == ST_TOOBIG ? ST_IO : st;
}

/*
 * Every row of st into one array of size-byte elements, each written by
 * fill; *out is the caller's to free().  At most STORE_VNUM_POOL_MAX rows.
 */
static enum st rows_collect(sqlite3_stmt *st, size_t size, void (*fill)(sqlite3_stmt *, void *),
			    void **out, size_t *n)
{
	struct buf b;
	unsigned char *taken;
	size_t len, count = 0;
	int rc;
	enum st res;

	buf_init(&b, (size_t)STORE_VNUM_POOL_MAX * size, false);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		void *e = buf_grow(&b, size);
		if (!e)
			break;
		fill(st, e);
		count++;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_ROW)
		return rows_st(buf_st(&b)); /* the buffer failed, and freed itself */
	if (rc != SQLITE_DONE) {
		buf_release(&b);
		return ST_IO;
	}
	res = buf_take(&b, &taken, &len);
	if (res != ST_OK)
		return res;
	*out = taken;
	*n = count;
	return ST_OK;
}

static void fill_num(sqlite3_stmt *st, void *e)
{
	sql_col_text(st, 0, e, 16);
}

static enum st vpool_load(struct sq_store *s)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_VNUM_LIST);
	void *nums = NULL;
	size_t n = 0;
	enum st res;

	if (!st)
		return ST_IO;
	res = rows_collect(st, sizeof(*s->vpool), fill_num, &nums, &n);
	if (res != ST_OK)
		return res;
	free(s->vpool);
	s->vpool = nums;
	s->vpool_n = n;
	s->vpool_stale = false;
	return ST_OK;
}

enum st sq_w_vnum_pool(struct sq_store *s, const char (**nums)[16], size_t *n)
{
	if (s->vpool_stale || !s->vpool) {
		enum st res = vpool_load(s);
		if (res != ST_OK)
			return res;
	}
	*nums = (const char(*)[16])s->vpool;
	*n = s->vpool_n;
	return ST_OK;
}

enum st sq_w_vnum_held_by(struct sq_store *s, const unsigned char rcpt[HASH_BYTES], int64_t now,
			  char (*nums)[16], size_t max, size_t *n)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_VNUM_CLASH);
	int rc;

	*n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_blob(st, 1, rcpt, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		sql_col_text(st, 0, nums[(*n)++], 16);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

/* Take (vnum, ext): count it held; a slot whose rest ended gives the hold over. */
enum st sq_w_slot_take(struct sq_store *s, const char *vnum, int64_t stale)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_VNUM_HOLD);
	enum st res;

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, stale ? 0 : 1);
	res = sql_step_done(s->writer, st);
	if (res == ST_OK && stale) {
		st = sql_stmt(s->writer, S_BIND_RELEASE);
		if (!st)
			return ST_IO;
		sqlite3_bind_int64(st, 1, stale);
		res = sql_step_done(s->writer, st);
	}
	return res;
}

enum st sq_w_vnum_busy(struct sq_store *s, const char *vnum, int64_t now,
		       unsigned char busy[STORE_VNUM_EXTS])
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_VNUM_EXTS);
	int rc;

	memset(busy, 0, STORE_VNUM_EXTS);
	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *e = sqlite3_column_text(st, 0);
		int x = e ? atoi((const char *)e) : -1;
		/* Open, or resting through now: as store_w_slot_free decides. */
		if (x >= 0 && x < STORE_VNUM_EXTS &&
		    (sqlite3_column_type(st, 1) == SQLITE_NULL ||
		     sqlite3_column_int64(st, 1) >= now))
			busy[x] = 1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? ST_OK : ST_IO;
}

static void fill_room(sqlite3_stmt *st, void *e)
{
	struct vnum_room *room = e;

	sql_col_text(st, 0, room->vnum, sizeof(room->vnum));
	room->free = (uint32_t)(STORE_VNUM_EXTS - sqlite3_column_int(st, 1));
}

enum st sq_w_vnum_rooms(struct sq_store *s, struct vnum_room **out, size_t *n)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_VNUM_ROOM);
	void *rooms = NULL;
	enum st res;

	*out = NULL;
	*n = 0;
	if (!st)
		return ST_IO;
	sqlite3_bind_int(st, 1, STORE_VNUM_EXTS);
	res = rows_collect(st, sizeof(struct vnum_room), fill_room, &rooms, n);
	if (res == ST_OK)
		*out = rooms;
	return res;
}

enum st sq_w_binding_insert(struct sq_store *s, const char *vnum, const char *ext, int64_t order_id,
			    const unsigned char recipient_index[HASH_BYTES], int64_t now)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_BIND_INSERT);

	if (!st)
		return ST_IO;
	slot_bind(st, vnum, ext, order_id);
	sqlite3_bind_blob(st, 4, recipient_index, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	return sql_step_done(s->writer, st);
}

static bool take_recipient(sqlite3_stmt *st, void *arg)
{
	if (sqlite3_column_bytes(st, 0) != HASH_BYTES)
		return false;
	memcpy(arg, sqlite3_column_blob(st, 0), HASH_BYTES);
	return true;
}

enum st sq_w_binding_recipient(struct sq_store *s, const char *vnum, const char *ext,
			       int64_t order_id, unsigned char out[HASH_BYTES])
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_BIND_RECIPIENT);

	if (!st)
		return ST_IO;
	slot_bind(st, vnum, ext, order_id);
	return sql_step_take(st, take_recipient, out);
}

enum st sq_w_binding_end(struct sq_store *s, const char *vnum, const char *ext, int64_t order_id,
			 int64_t active_until, int64_t reusable_at, int64_t now)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_BIND_END);

	if (!st)
		return ST_IO;
	slot_bind(st, vnum, ext, order_id);
	sqlite3_bind_int64(st, 4, active_until);
	sqlite3_bind_int64(st, 5, reusable_at);
	sqlite3_bind_int64(st, 6, now);
	return sql_step_done(s->writer, st);
}

enum st sq_w_binding_sweep(struct sq_store *s, int64_t now, int64_t *n)
{
	sqlite3_stmt *due = sql_stmt(s->writer, S_BIND_DUE);
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
		sql_col_text(due, 1, vnums[k], 16);
		k++;
	}
	sqlite3_reset(due);
	sqlite3_clear_bindings(due);
	for (size_t i = 0; i < k && res == ST_OK; i++) {
		sqlite3_stmt *st = sql_stmt(s->writer, S_BIND_RELEASE);
		if (!st)
			return ST_IO;
		sqlite3_bind_int64(st, 1, ids[i]);
		res = sql_step_done(s->writer, st);
		st = res == ST_OK ? sql_stmt(s->writer, S_VNUM_RELEASE) : NULL;
		if (res == ST_OK && !st)
			return ST_IO;
		if (res == ST_OK) {
			sqlite3_bind_text(st, 1, vnums[i], -1, SQLITE_STATIC);
			res = sql_step_done(s->writer, st);
		}
	}
	if (res == ST_OK)
		*n = (int64_t)k;
	return res;
}

enum st sq_w_order_set_binding(struct sq_store *s, int64_t id, const char *vnum, const char *ext)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_ORDER_BINDING);

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	sql_bind_text(st, 2, vnum);
	sql_bind_text(st, 3, ext);
	return sql_step_done(s->writer, st);
}

struct found {
	int64_t order_id, active_until;
};

static bool take_found(sqlite3_stmt *st, void *arg)
{
	struct found *f = arg;

	f->order_id = sqlite3_column_int64(st, 0);
	f->active_until = sqlite3_column_int64(st, 1);
	return true;
}

enum st sq_binding_find(struct sq_store *s, const char *vnum, const char *ext, int64_t now,
			int64_t *order_id, int64_t *active_until)
{
	sqlite3_stmt *st = conn_reader_stmt(s, S_BIND_FIND);
	struct found f = {0, 0};
	enum st res;

	if (!st)
		return ST_IO;
	slot_bind(st, vnum, ext, now);
	res = sql_step_take(st, take_found, &f);
	if (res == ST_OK) {
		*order_id = f.order_id;
		*active_until = f.active_until;
	}
	return res;
}

enum st sq_binding_callback(struct sq_store *s, const char *vnum,
			    const unsigned char recipient_index[HASH_BYTES], int64_t now,
			    int64_t *ids, size_t max, size_t *n)
{
	sqlite3_stmt *st = conn_reader_stmt(s, S_BIND_CALLBACK);
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

enum st sq_vnum_stats(struct sq_store *s, int64_t now, struct vnum_stats *out)
{
	sqlite3_stmt *st = conn_reader_stmt(s, S_VNUM_STATS);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->active = sqlite3_column_int64(st, 0);
		out->held = sqlite3_column_int64(st, 1);
		out->capacity = sqlite3_column_int64(st, 2) * STORE_VNUM_EXTS;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW ? ST_OK : ST_IO;
}
