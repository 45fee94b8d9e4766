/*
 * store_orders.c - orders and accounts in SQLite: their rows, the writer
 * primitives (insert, idempotency, status, courier, prints, accounts,
 * reveal quota, purge, rewrap, resealing legacy rows) and the readers.
 */
#include "common.h"
#include "store_int.h"
#include "audit.h"
#include "log.h"

#include <time.h>

static void account_from_row(sqlite3_stmt *st, struct account *a)
{
	char role[16];

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	sql_col_text(st, 1, a->name, sizeof(a->name));
	sql_col_text(st, 2, role, sizeof(role));
	a->role = role_parse(role);
	sql_col_text(st, 3, a->depot, sizeof(a->depot));
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
	static const struct sql_text_col text[] = {
	    SQL_TEXT_COL(1, struct order_row, tracking_no),
	    SQL_TEXT_COL(2, struct order_row, status),
	    SQL_TEXT_COL(6, struct order_row, depot),
	    SQL_TEXT_COL(7, struct order_row, creator),
	    SQL_TEXT_COL(8, struct order_row, courier),
	    SQL_TEXT_COL(9, struct order_row, origin_province),
	    SQL_TEXT_COL(10, struct order_row, origin_city),
	    SQL_TEXT_COL(11, struct order_row, origin_district),
	    SQL_TEXT_COL(12, struct order_row, dest_province),
	    SQL_TEXT_COL(13, struct order_row, dest_city),
	    SQL_TEXT_COL(14, struct order_row, dest_district),
	    SQL_TEXT_COL(17, struct order_row, vnum),
	    SQL_TEXT_COL(18, struct order_row, ext),
	    SQL_TEXT_COL(27, struct order_row, sort_code),
	    SQL_TEXT_COL(28, struct order_row, hub_code),
	    SQL_TEXT_COL(29, struct order_row, hub_name),
	};
	const void *b;
	int n;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	sql_cols_text(st, text, ARRAY_SIZE(text), r);
	r->created_at = sqlite3_column_int64(st, 3);
	r->updated_at = sqlite3_column_int64(st, 4);
	r->ended_at = sqlite3_column_int64(st, 5);
	r->weight_g = sqlite3_column_int(st, 15);
	r->count = sqlite3_column_int(st, 16);
	r->print_count = sqlite3_column_int(st, 19);
	r->retain_until = sqlite3_column_int64(st, 20);
	r->erased_at = sqlite3_column_int64(st, 21);
	r->kek_version = (uint32_t)sqlite3_column_int64(st, 22);
	r->seal_version = (uint32_t)sqlite3_column_int64(st, 23);
	sql_col_blob(st, 24, r->wrapped_dek, WRAPPED_DEK_BYTES);
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
	sqlite3_stmt *st = sql_stmt(c, S_ORDER_BY_TN);
	struct order_fill f = {out, ST_OK};
	enum st res;

	memset(out, 0, sizeof(*out));
	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, tn, -1, SQLITE_STATIC);
	res = sql_step_one(c, st, fill_order, &f);
	if (res == ST_OK && f.st != ST_OK) {
		order_row_release(out);
		res = f.st;
	}
	return res;
}

static enum st account_get(struct conn *c, const char *name, struct account *out)
{
	sqlite3_stmt *st = sql_stmt(c, S_ACCOUNT_BY_NAME);

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return sql_step_one(c, st, fill_account, out);
}

/* ---- writer primitives ------------------------------------------------ */

enum st sq_w_order_get(struct sq_store *s, const char *tn, struct order_row *out)
{
	return order_get(s->writer, tn, out);
}

enum st sq_w_order_insert(struct sq_store *s, const struct order_row *r, const char *idem_key,
			  const unsigned char digest[HASH_BYTES], int64_t *id)
{
	enum st res;
	sqlite3_stmt *st = sql_stmt(s->writer, S_ORDER_INSERT);
	char ih[STORE_IDEM_HASH_BYTES];

	if (!st)
		return ST_IO;
	store_idem_hash(s->kr, idem_key, ih);
	sqlite3_bind_text(st, 1, r->tracking_no, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->created_at);
	sqlite3_bind_text(st, 4, r->depot, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->creator, -1, SQLITE_STATIC);
	sql_bind_text(st, 6, ih);
	sqlite3_bind_blob(st, 7, digest, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, r->origin_province, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->origin_city, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->origin_district, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, r->dest_province, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, r->dest_city, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, r->dest_district, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 14, r->weight_g);
	sqlite3_bind_int(st, 15, r->count);
	sql_bind_text(st, 16, r->vnum);
	sql_bind_text(st, 17, r->ext);
	sqlite3_bind_int64(st, 18, r->kek_version);
	sqlite3_bind_int64(st, 19, r->seal_version);
	sqlite3_bind_blob(st, 20, r->wrapped_dek, WRAPPED_DEK_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 21, r->sealed, (int)r->sealed_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 22, r->seal_bind);
	sqlite3_bind_text(st, 23, r->sort_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 24, r->hub_code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 25, r->hub_name, -1, SQLITE_STATIC);
	res = sql_step_done(s->writer, st);
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

	sql_col_text(st, 0, f->tn, TN_MAX);
	memset(f->digest, 0, HASH_BYTES);
	f->erased = !(b && sqlite3_column_bytes(st, 1) == HASH_BYTES);
	if (!f->erased)
		memcpy(f->digest, b, HASH_BYTES);
}

enum st sq_w_order_by_idem(struct sq_store *s, const char *creator, const char *idem_key,
			   char tn[TN_MAX], unsigned char digest[HASH_BYTES])
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_ORDER_BY_IDEM);
	struct idem_fill f = {tn, digest, false};
	char ih[STORE_IDEM_HASH_BYTES];
	enum st res;

	if (!st)
		return ST_IO;
	store_idem_hash(s->kr, idem_key, ih);
	sqlite3_bind_text(st, 1, creator, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ih, -1, SQLITE_STATIC);
	res = sql_step_one(s->writer, st, fill_idem, &f);
	/* The order it names was erased: a repeat can neither be answered nor
	 * be a new order. */
	return res == ST_OK && f.erased ? ST_GONE : res;
}

/* An order's change statement with ?1 id, ?2 the new text, ?3 now bound. */
static sqlite3_stmt *order_change(struct sq_store *s, enum stmt sid, int64_t id, const char *text,
				  int64_t now)
{
	sqlite3_stmt *st = sql_stmt(s->writer, sid);

	if (st) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
	}
	return st;
}

enum st sq_w_order_set_status(struct sq_store *s, int64_t id, const char *status, int64_t now,
			      int64_t ended_at, int64_t retain_until)
{
	sqlite3_stmt *st = order_change(s, S_ORDER_STATUS, id, status, now);

	if (!st)
		return ST_IO;
	if (ended_at)
		sqlite3_bind_int64(st, 4, ended_at);
	if (retain_until)
		sqlite3_bind_int64(st, 5, retain_until);
	return sql_step_done(s->writer, st);
}

enum st sq_w_order_set_courier(struct sq_store *s, int64_t id, const char *courier, int64_t now)
{
	sqlite3_stmt *st = order_change(s, S_ORDER_COURIER, id, courier, now);

	return st ? sql_step_done(s->writer, st) : ST_IO;
}

enum st sq_w_order_set_prints(struct sq_store *s, int64_t id, int print_count)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_ORDER_PRINTS);

	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, print_count);
	return sql_step_done(s->writer, st);
}

enum st sq_w_account_get(struct sq_store *s, const char *name, struct account *out)
{
	return account_get(s->writer, name, out);
}

enum st sq_w_account_insert(struct sq_store *s, const struct account *a,
			    const unsigned char token_hash[HASH_BYTES])
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_ACCOUNT_INSERT);

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role_name(a->role), -1, SQLITE_STATIC);
	sql_bind_text(st, 3, a->depot);
	sqlite3_bind_blob(st, 4, token_hash, HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	if (a->has_phone) {
		sqlite3_bind_blob(st, 6, a->phone_index, HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, a->phone_kek_version);
		sqlite3_bind_int64(st, 8, a->phone_seal_version);
		sqlite3_bind_blob(st, 9, a->phone_wrapped_dek, WRAPPED_DEK_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 10, a->phone_sealed, (int)a->phone_sealed_len, SQLITE_STATIC);
	}
	return sql_step_done(s->writer, st);
}

static enum st update_account(struct sq_store *s, enum stmt id, const char *name,
			      const unsigned char *hash)
{
	sqlite3_stmt *st = sql_stmt(s->writer, id);
	enum st res;

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (hash)
		sqlite3_bind_blob(st, 2, hash, HASH_BYTES, SQLITE_STATIC);
	res = sql_step_done(s->writer, st);
	if (res == ST_OK && sqlite3_changes(s->writer->db) == 0)
		res = ST_NOTFOUND;
	return res;
}

enum st sq_w_account_disable(struct sq_store *s, const char *name)
{
	return update_account(s, S_ACCOUNT_DISABLE, name, NULL);
}

enum st sq_w_account_token(struct sq_store *s, const char *name,
			   const unsigned char token_hash[HASH_BYTES])
{
	return update_account(s, S_ACCOUNT_TOKEN, name, token_hash);
}

/* ---- admin quota, retention, key rotation (writer) ---------------------- */

enum st sq_w_reveal_take(struct sq_store *s, const char *actor, const char *day, long limit)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_REVEAL_GET);
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
	st = sql_stmt(s->writer, S_REVEAL_PUT);
	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	return sql_step_done(s->writer, st);
}

enum st sq_w_reveal_give(struct sq_store *s, const char *actor, const char *day)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_REVEAL_GIVE);

	if (!st)
		return ST_IO;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, day, -1, SQLITE_STATIC);
	return sql_step_done(s->writer, st);
}

/* Take up to max due orders of one kind (closed past retain_until, or open too long). */
static enum st purge_due(struct sq_store *s, enum stmt id, int64_t before, int max, int64_t *ids,
			 char (*vnums)[16], char (*exts)[8], size_t *k)
{
	sqlite3_stmt *due = sql_stmt(s->writer, id);
	int rc;

	*k = 0;
	if (!due)
		return ST_IO;
	sqlite3_bind_int64(due, 1, before);
	sqlite3_bind_int(due, 2, max);
	while ((rc = sqlite3_step(due)) == SQLITE_ROW && *k < (size_t)max) {
		ids[*k] = sqlite3_column_int64(due, 0);
		sql_col_text(due, 1, vnums[*k], sizeof(vnums[*k]));
		sql_col_text(due, 2, exts[*k], sizeof(exts[*k]));
		(*k)++;
	}
	sqlite3_reset(due);
	sqlite3_clear_bindings(due);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

enum st sq_w_purge_batch(struct sq_store *s, const struct purge_policy *p, int max, int64_t *n)
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
		sqlite3_stmt *st = sql_stmt(s->writer, S_PURGE_ERASE);
		if (!st)
			return ST_IO;
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_int64(st, 2, p->now);
		res = sql_step_done(s->writer, st);
		if (res != ST_OK)
			break;
		st = sql_stmt(s->writer, i < closed ? S_PURGE_UNBIND : S_PURGE_END_OPEN);
		if (!st)
			return ST_IO;
		sqlite3_bind_int64(st, 1, ids[i]);
		sqlite3_bind_text(st, 2, vnums[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, exts[i], -1, SQLITE_STATIC);
		if (i >= closed) {
			sqlite3_bind_int64(st, 4, p->now);
			sqlite3_bind_int64(st, 5, p->rest_until);
		}
		res = sql_step_done(s->writer, st);
	}
	if (res == ST_OK)
		*n = (int64_t)k;
	return res;
}

/* Rewrap up to max data keys (orders, then account phones) to the current version. */
enum st sq_w_rewrap_batch(struct sq_store *s, int max, int64_t *n)
{
	uint32_t cur = keyring_current(s->kr);
	enum st res = ST_OK;

	*n = 0;
	for (int table = 0; table < 2 && res == ST_OK && *n < max; table++) {
		sqlite3_stmt *due = sql_stmt(s->writer, table ? S_REWRAP_ACCT_DUE : S_REWRAP_DUE);
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
				account_seal_ad(t ? (const char *)t : "", rows[k].ad,
						sizeof(rows[k].ad));
			} else {
				char tn[TN_MAX], depot[NAME_MAX_BYTES], creator[NAME_MAX_BYTES];
				sql_col_text(due, 1, tn, sizeof(tn));
				sql_col_text(due, 4, depot, sizeof(depot));
				sql_col_text(due, 5, creator, sizeof(creator));
				order_bind_of(tn, depot, creator, sqlite3_column_int(due, 6),
					      rows[k].ad);
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
			st = sql_stmt(s->writer, table ? S_REWRAP_ACCT_SET : S_REWRAP_SET);
			if (!st) {
				res = ST_IO;
				break;
			}
			sqlite3_bind_int64(st, 1, rows[i].id);
			sqlite3_bind_int64(st, 2, to);
			sqlite3_bind_blob(st, 3, out, WRAPPED_DEK_BYTES, SQLITE_TRANSIENT);
			res = sql_step_done(s->writer, st);
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
static enum st reseal_row(struct sq_store *s, sqlite3_stmt *due, int64_t id, const char *ih)
{
	char tn[TN_MAX], depot[NAME_MAX_BYTES], creator[NAME_MAX_BYTES], bind[ORDER_BIND_MAX];
	const void *w = sqlite3_column_blob(due, 6), *b = sqlite3_column_blob(due, 7);
	int wn = sqlite3_column_bytes(due, 6), bn = sqlite3_column_bytes(due, 7);
	struct sealed sl;
	char *plain = NULL;
	size_t len = 0;
	sqlite3_stmt *st;
	enum st res;

	sql_col_text(due, 1, tn, sizeof(tn));
	sql_col_text(due, 2, depot, sizeof(depot));
	sql_col_text(due, 3, creator, sizeof(creator));
	if (!w || wn != WRAPPED_DEK_BYTES || !b || bn <= 0)
		return ST_CRYPTO;
	res = crypto_open(s->kr, tn, (uint32_t)sqlite3_column_int64(due, 4),
			  (uint32_t)sqlite3_column_int64(due, 5), w, b, (size_t)bn, &plain, &len);
	if (res != ST_OK)
		return res;
	order_bind_of(tn, depot, creator, ORDER_SEAL_BOUND, bind);
	res = crypto_seal(s->kr, bind, plain, len, &sl);
	free_wiped(plain, len + 1);
	if (res != ST_OK)
		return res;
	st = sql_stmt(s->writer, S_RESEAL_SET);
	if (!st) {
		sealed_release(&sl);
		return ST_IO;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, sl.kek_version);
	sqlite3_bind_int64(st, 3, sl.seal_version);
	sqlite3_bind_blob(st, 4, sl.wrapped_dek, WRAPPED_DEK_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, sl.blob, (int)sl.blob_len, SQLITE_TRANSIENT);
	sql_bind_text(st, 6, ih);
	res = sql_step_done(s->writer, st);
	sealed_release(&sl);
	return res;
}

static enum st tx_reseal(struct store *base, struct wjob *j)
{
	struct sq_store *s = (struct sq_store *)base;
	struct reseal_job *rj = j->arg;
	sqlite3_stmt *due = sql_stmt(s->writer, S_RESEAL_DUE);
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
		char ih[STORE_IDEM_HASH_BYTES] = "";
		sqlite3_stmt *st;

		/* The clear idempotency key goes, whatever becomes of the seal. */
		if (key && store_idem_hashed((const char *)key))
			str_copy(ih, sizeof(ih), (const char *)key);
		else if (key)
			store_idem_hash(s->kr, (const char *)key, ih);
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
		st = sql_stmt(s->writer, S_RESEAL_IDEM);
		if (!st) {
			res = ST_IO;
			break;
		}
		sqlite3_bind_int64(st, 1, id);
		sql_bind_text(st, 2, ih);
		sqlite3_bind_int(st, 3,
				 sqlite3_column_type(due, 7) == SQLITE_NULL ? ORDER_SEAL_BOUND
									    : ORDER_SEAL_LEGACY);
		res = sql_step_done(s->writer, st);
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
enum st orders_reseal_legacy(struct sq_store *s, char *err, size_t errlen)
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
		st = store_run(&s->base, &j);
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
	if (seen - stuck > 0 && sq_checkpoint(s) != ST_OK)
		log_warn("store: after resealing, the checkpoint failed; the next one copies it");
	if (stuck)
		log_warn(
		    "store: %lld orders from before migration 0009 cannot be opened (a missing "
		    "key version?); they keep their old binding until a start that can",
		    (long long)stuck);
	return ST_OK;
}

/* ---- readers --------------------------------------------------------- */

struct by_token {
	const unsigned char *hash;
	struct account *out;
};

static bool take_by_token(sqlite3_stmt *st, void *arg)
{
	struct by_token *t = arg;
	const void *b = sqlite3_column_blob(st, 11);

	/* The index found it; the comparison that decides is constant-time. */
	if (!b || sqlite3_column_bytes(st, 11) != HASH_BYTES ||
	    !crypto_equal(b, t->hash, HASH_BYTES))
		return false;
	account_from_row(st, t->out);
	return true;
}

enum st sq_account_by_token(struct sq_store *s, const unsigned char hash[HASH_BYTES],
			    struct account *out)
{
	sqlite3_stmt *st = conn_reader_stmt(s, S_ACCOUNT_BY_TOKEN);
	struct by_token t = {hash, out};

	if (!st)
		return ST_IO;
	sqlite3_bind_blob(st, 1, hash, HASH_BYTES, SQLITE_STATIC);
	return sql_step_take(st, take_by_token, &t);
}

enum st sq_account_get(struct sq_store *s, const char *name, struct account *out)
{
	struct conn *c = conn_reader(s);

	return c ? account_get(c, name, out) : ST_IO;
}

enum st sq_account_each(struct sq_store *s, void (*fn)(const struct account *a, void *arg),
			void *arg)
{
	sqlite3_stmt *st = conn_reader_stmt(s, S_ACCOUNT_ALL);
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

enum st sq_order_get(struct sq_store *s, const char *tn, struct order_row *out)
{
	struct conn *c = conn_reader(s);

	memset(out, 0, sizeof(*out));
	return c ? order_get(c, tn, out) : ST_IO;
}

enum st sq_order_get_id(struct sq_store *s, int64_t id, struct order_row *out)
{
	struct conn *c = conn_reader(s);
	sqlite3_stmt *st = c ? sql_stmt(c, S_ORDER_BY_ID) : NULL;
	struct order_fill f = {out, ST_OK};
	enum st res;

	memset(out, 0, sizeof(*out));
	if (!st)
		return ST_IO;
	sqlite3_bind_int64(st, 1, id);
	res = sql_step_one(c, st, fill_order, &f);
	if (res == ST_OK && f.st != ST_OK) {
		order_row_release(out);
		res = f.st;
	}
	return res;
}

static enum st count_query(struct sq_store *s, enum stmt id, int64_t arg, int64_t *n)
{
	sqlite3_stmt *st = conn_reader_stmt(s, id);
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

enum st sq_purge_due(struct sq_store *s, const struct purge_policy *p, int64_t *n)
{
	int64_t open = 0;
	enum st st = count_query(s, S_PURGE_COUNT, p->now, n);

	if (st == ST_OK && p->open_before > 0)
		st = count_query(s, S_PURGE_COUNT_OPEN, p->open_before, &open);
	*n += open;
	return st;
}

enum st sq_kek_in_use(struct sq_store *s, uint32_t version, int64_t *n)
{
	return count_query(s, S_KEK_USE, version, n);
}

enum st sq_order_list(struct sq_store *s, const struct order_query *q, struct order_row *rows,
		      size_t *n, bool *more)
{
	struct conn *c = conn_reader(s);
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
		st = sql_stmt(c, S_LIST_AFTER);
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
	st = sql_stmt(c, q->scope == ROLE_DEPOT ? S_LIST_DEPOT : S_LIST_COURIER);
	if (!st) {
		res = ST_IO;
		goto out;
	}
	sqlite3_bind_text(st, 1, q->who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	sql_bind_text(st, 3, q->status);
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
