-- 0005: one index over the bindings that hold an extension, instead of two.
--
-- vnum_bindings_callback was keyed by (number, recipient index), and the
-- recipient index is a keyed hash: every new order put its entry on a random
-- page.  vnum_bindings_slot was random too, as each order went to the least
-- loaded number.  Measured under load: of the ~80 pages a group commit wrote
-- to the log, 41 were these two indexes' (the tracking-number index, random
-- by design, was 20).
--
-- Now a number serves a run of consecutive orders (store.c), so their
-- (number, extension) entries land side by side, and the recipient index
-- rides along in the same entry.  Only bindings that hold their extension
-- (not yet released) are indexed: at most 10,000 per number, which bounds
-- the scan of a recipient's call back to a number.
DROP INDEX vnum_bindings_slot;
DROP INDEX vnum_bindings_callback;
CREATE INDEX vnum_bindings_held ON vnum_bindings (vnum, ext, recipient_index)
	WHERE released = 0;
-- Erasing an order's data reaches all its bindings (one per courier it had).
CREATE INDEX vnum_bindings_order ON vnum_bindings (order_id);
