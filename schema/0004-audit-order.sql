-- 0004: find an order's audit entries through the order's row id.
--
-- An index on audit(tracking_no) takes a random page for every entry, since
-- tracking numbers are random: measured, it cost a fifth of the order rate.
-- Entries about an existing order now carry its row id, which grows with
-- each new order, so the index mostly appends; entries naming a tracking
-- number that has no order (a refused guess) keep a small index of their own.
-- The row id is a look-up aid filled in from the tracking number, which the
-- chain's MAC covers; queries match on both.
ALTER TABLE audit ADD COLUMN order_id INTEGER;
DROP INDEX audit_tn;
CREATE INDEX audit_order ON audit (order_id, seq) WHERE order_id IS NOT NULL;
CREATE INDEX audit_tn_orphan ON audit (tracking_no, seq)
	WHERE order_id IS NULL AND tracking_no IS NOT NULL;
