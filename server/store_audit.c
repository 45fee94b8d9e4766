/*
 * store_audit.c - the audit chain in SQLite: appending (writer), walking and
 * verifying it, the signed archive checkpoint it continues from, archiving,
 * and the auditors' readers.  What is hashed is audit.c's.
 */
#include "common.h"
#include "store_int.h"
#include "audit.h"

static void audit_from_row(sqlite3_stmt *st, struct audit_entry *e)
{
	static const struct sql_text_col text[] = {
	    SQL_TEXT_COL(1, struct audit_entry, ts),
	    SQL_TEXT_COL(2, struct audit_entry, actor),
	    SQL_TEXT_COL(3, struct audit_entry, role),
	    SQL_TEXT_COL(4, struct audit_entry, action),
	    SQL_TEXT_COL(5, struct audit_entry, tracking_no),
	    SQL_TEXT_COL(6, struct audit_entry, reason),
	    SQL_TEXT_COL(7, struct audit_entry, result),
	    SQL_TEXT_COL(8, struct audit_entry, request_id),
	};

	memset(e, 0, sizeof(*e));
	e->seq = sqlite3_column_int64(st, 0);
	sql_cols_text(st, text, ARRAY_SIZE(text), e);
	sql_col_blob(st, 9, e->prev, HASH_BYTES);
	sql_col_blob(st, 10, e->hash, HASH_BYTES);
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
		sql_col_text(st, 3, b->ts, sizeof(b->ts));
		if (h && sqlite3_column_bytes(st, 2) == HASH_BYTES && g &&
		    sqlite3_column_bytes(st, 4) == SIGN_BYTES) {
			memcpy(b->head, h, HASH_BYTES);
			memcpy(b->sig, g, SIGN_BYTES);
			n = audit_archive_msg(msg, sizeof(msg), b->first, b->last, b->head, b->ts);
			crypto_checkpoint_key(kr, pk);
			*sig_ok = n > 0 && b->first >= 1 && b->last >= b->first &&
				  crypto_ed25519_verify(pk, msg, n, b->sig);
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
	sqlite3_stmt *st = sql_stmt(c, S_AUDIT_AT);
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
enum st chain_walk(const struct keyring *kr, struct conn *c, int64_t from_seq,
		   const unsigned char from_head[HASH_BYTES], const struct audit_mark *marks,
		   size_t nmarks, struct audit_check *out)
{
	sqlite3_stmt *st = sql_stmt(c, S_AUDIT_ALL), *link = sql_stmt(c, S_AUDIT_LINK_BAD);
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

enum st chain_load_head(struct sq_store *s)
{
	sqlite3_stmt *st = sql_stmt(s->writer, S_AUDIT_HEAD);
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

enum st sq_w_audit_append(struct sq_store *s, const struct audit_entry *in)
{
	struct audit_entry e = *in;
	sqlite3_stmt *st = sql_stmt(s->writer, in->order_id ? S_AUDIT_INSERT_ID : S_AUDIT_INSERT);
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
	res = sql_step_done(s->writer, st);
	if (res != ST_OK)
		return ST_UNAVAILABLE;
	s->audit_seq = e.seq;
	memcpy(s->audit_head, e.hash, HASH_BYTES);
	return ST_OK;
}

enum st sq_audit_each(struct sq_store *s, const char *since,
		      bool (*fn)(const struct audit_entry *e, void *arg), void *arg)
{
	struct conn *c = conn_reader(s);
	sqlite3_stmt *st = c ? sql_stmt(c, since ? S_AUDIT_SINCE : S_AUDIT_ALL) : NULL;
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

enum st sq_audit_list(struct sq_store *s, const struct audit_query *q, struct audit_entry *out,
		      size_t *n)
{
	sqlite3_stmt *st = conn_reader_stmt(s, q->tracking_no ? S_AUDIT_LIST_TN : S_AUDIT_LIST);
	int rc;

	*n = 0;
	if (!st)
		return ST_IO;
	if (q->tracking_no)
		sqlite3_bind_text(st, 1, q->tracking_no, -1, SQLITE_STATIC);
	sql_bind_text(st, 2, q->actor);
	sql_bind_text(st, 3, q->since);
	sqlite3_bind_int64(st, 4, q->after_seq);
	sqlite3_bind_int(st, 5, q->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < (size_t)q->limit)
		audit_from_row(st, &out[(*n)++]);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ST_OK : ST_IO;
}

enum st sq_audit_verify(struct sq_store *s, struct audit_check *out)
{
	struct conn *c = conn_reader(s);

	return c ? chain_walk(s->kr, c, 0, NULL, NULL, 0, out) : ST_IO;
}

enum st sq_audit_verify_from(struct sq_store *s, int64_t seq, const unsigned char head[HASH_BYTES],
			     struct audit_check *out)
{
	struct conn *c = conn_reader(s);

	return c ? chain_walk(s->kr, c, seq, head, NULL, 0, out) : ST_IO;
}

enum st sq_store_verify_marks(const char *path, const struct keyring *kr,
			      const struct audit_mark *marks, size_t nmarks,
			      struct audit_check *out, char *err, size_t errlen)
{
	struct conn *c = NULL;
	enum st st = conn_open(path, false, &c, err, errlen);

	if (st != ST_OK)
		return st;
	st = chain_walk(kr, c, 0, NULL, marks, nmarks, out);
	if (st != ST_OK)
		snprintf(err, errlen, "audit chain: cannot read it");
	conn_close(c);
	return st;
}

enum st sq_audit_at(struct sq_store *s, int64_t seq, unsigned char hash[HASH_BYTES])
{
	struct conn *c = conn_reader(s);

	return c ? audit_hash_at(s->kr, c, seq, hash) : ST_IO;
}

enum st sq_audit_base(struct sq_store *s, int64_t *last, unsigned char head[HASH_BYTES])
{
	struct conn *c = conn_reader(s);
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

enum st sq_w_audit_archive(struct sq_store *s, int64_t first, int64_t last,
			   const unsigned char head[HASH_BYTES], const char *ts,
			   const unsigned char sig[SIGN_BYTES])
{
	sqlite3 *db = s->writer->db;
	sqlite3_stmt *st = NULL;
	char err[256];
	enum st res = ST_IO;

	if (last >= s->audit_seq)
		return ST_INVALID; /* the head stays: the writer continues from it */
	if (sql_exec(db, "DROP TRIGGER audit_no_delete", err, sizeof(err)) != ST_OK)
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
	if (sql_exec(db, audit_no_delete_sql, err, sizeof(err)) != ST_OK)
		res = ST_IO;
	return res;
}

enum st sq_audit_head(struct sq_store *s, int64_t *seq, unsigned char head[HASH_BYTES])
{
	sqlite3_stmt *st = conn_reader_stmt(s, S_AUDIT_HEAD);
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
