-- 0001: accounts, orders (clear columns + one sealed blob), the audit chain.
-- Personal data exists only inside orders.sealed (XChaCha20-Poly1305).

CREATE TABLE accounts (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL UNIQUE,
	role        TEXT NOT NULL CHECK (role IN ('courier', 'depot', 'admin', 'auditor', 'telephony')),
	depot       TEXT,
	token_hash  BLOB NOT NULL UNIQUE,  -- keyed hash; the token itself is never stored
	disabled    INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL
);

CREATE TABLE orders (
	id               INTEGER PRIMARY KEY,  -- never exposed
	tracking_no      TEXT NOT NULL UNIQUE,
	status           TEXT NOT NULL,
	created_at       INTEGER NOT NULL,     -- unix seconds
	updated_at       INTEGER NOT NULL,
	ended_at         INTEGER,              -- delivered, returned or cancelled
	depot            TEXT NOT NULL,
	creator          TEXT NOT NULL,        -- account name
	courier          TEXT,                 -- assigned courier's account name
	idem_key         TEXT,                 -- client_order_id or Idempotency-Key
	body_digest      BLOB,                 -- keyed digest of the submitted order
	origin_province  TEXT NOT NULL,
	origin_city      TEXT NOT NULL,
	origin_district  TEXT NOT NULL,
	dest_province    TEXT NOT NULL,
	dest_city        TEXT NOT NULL,
	dest_district    TEXT NOT NULL,
	weight_g         INTEGER NOT NULL,
	count            INTEGER NOT NULL,
	vnum             TEXT,
	ext              TEXT,
	print_count      INTEGER NOT NULL DEFAULT 0,
	retain_until     INTEGER,              -- erase personal data after this
	kek_version      INTEGER,              -- wraps the data key now
	seal_version     INTEGER,              -- bound into the blob
	wrapped_dek      BLOB,
	sealed           BLOB,
	erased_at        INTEGER
);
-- Partial indexes where most rows have nothing to index: an insert then
-- touches fewer pages, and every page is WAL bytes and checkpoint work.
CREATE UNIQUE INDEX orders_idem ON orders (creator, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX orders_depot ON orders (depot, id);
CREATE INDEX orders_creator ON orders (creator, id);
CREATE INDEX orders_courier ON orders (courier, id) WHERE courier IS NOT NULL;
CREATE INDEX orders_retain ON orders (retain_until)
	WHERE retain_until IS NOT NULL AND sealed IS NOT NULL;

CREATE TABLE audit (
	seq          INTEGER PRIMARY KEY,
	ts           TEXT NOT NULL,            -- UTC, ISO 8601 with milliseconds
	actor        TEXT NOT NULL,
	role         TEXT NOT NULL,
	action       TEXT NOT NULL,
	tracking_no  TEXT,
	reason       TEXT,
	result       TEXT NOT NULL,
	request_id   TEXT,
	prev         BLOB NOT NULL,
	hash         BLOB NOT NULL             -- HMAC-SHA256(audit key, prev || entry)
);
CREATE INDEX audit_tn ON audit (tracking_no) WHERE tracking_no IS NOT NULL;
CREATE INDEX audit_actor ON audit (actor, seq);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit is append-only');
END;
