-- 0009: keep less, and bind what is kept.
--
-- Orders that never reach a final state are erased retention_open_days
-- after creation (retention.c): find them by age.  Only open orders that
-- still hold personal data are indexed, and created_at grows with each new
-- order, so inserts append to this index.
CREATE INDEX orders_open_age ON orders (created_at)
	WHERE retain_until IS NULL AND sealed IS NOT NULL;

-- The sealed blob and its wrapped data key were bound to "TN|version" only,
-- so a database writer could move an order to another depot or creator (a
-- clear column) and read it through the API.  Now they are bound to
-- "TN|depot|creator|version".  A schema migration has no keys, so rows from
-- before it keep seal_bind = 0 and store_open() reseals them (and replaces a
-- clear idempotency key by its keyed hash), setting seal_bind = 1; new rows
-- are written with 1.  The index holds only rows still to be done.
ALTER TABLE orders ADD COLUMN seal_bind INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_seal_legacy ON orders (id) WHERE seal_bind = 0;
