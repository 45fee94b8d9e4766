-- 0002: virtual-number bindings (AXB with 4-digit extensions) and courier phones.
-- Real phones stay sealed; equality look-ups use keyed blind indexes.

ALTER TABLE accounts ADD COLUMN phone_index BLOB;          -- keyed hash of the E.164 phone
ALTER TABLE accounts ADD COLUMN phone_kek_version INTEGER;
ALTER TABLE accounts ADD COLUMN phone_seal_version INTEGER;
ALTER TABLE accounts ADD COLUMN phone_wrapped_dek BLOB;
ALTER TABLE accounts ADD COLUMN phone_sealed BLOB;          -- sealed under "account:NAME"

-- One row per pool number: how many of its extensions are held (active or
-- resting), and where the next search for a free one starts.
CREATE TABLE vnum_numbers (
	vnum      TEXT PRIMARY KEY,
	in_pool   INTEGER NOT NULL DEFAULT 1,  -- 0 once vnum_pool no longer lists it
	held      INTEGER NOT NULL DEFAULT 0,
	next_ext  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX vnum_numbers_load ON vnum_numbers (held, vnum) WHERE in_pool = 1;

CREATE TABLE vnum_bindings (
	id              INTEGER PRIMARY KEY,
	vnum            TEXT NOT NULL,
	ext             TEXT NOT NULL,
	order_id        INTEGER NOT NULL REFERENCES orders (id),
	recipient_index BLOB,              -- keyed hash of the recipient's phone
	created_at      INTEGER NOT NULL,
	active_until    INTEGER,           -- NULL: open; else routes stop at this time
	reusable_at     INTEGER,           -- NULL: open; else the extension rests until then
	released        INTEGER NOT NULL DEFAULT 0  -- counted out of vnum_numbers.held
);
CREATE INDEX vnum_bindings_slot ON vnum_bindings (vnum, ext);
CREATE INDEX vnum_bindings_callback ON vnum_bindings (vnum, recipient_index)
	WHERE recipient_index IS NOT NULL;
-- Only ended bindings rest; open ones are not indexed here (cheaper inserts).
CREATE INDEX vnum_bindings_rest ON vnum_bindings (reusable_at)
	WHERE released = 0 AND reusable_at IS NOT NULL;
