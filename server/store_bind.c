/*
 * store_bind.c - virtual-number bindings in SQLite: the pool's numbers,
 * taking and ending bindings, sweeping rests that ended, and the call
 * routing readers.
 */
#include "common.h"
#include "store_int.h"

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
