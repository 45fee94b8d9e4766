-- 0009: keep less, and bind what is kept.
--
-- Orders that never reach a final state are erased retention_open_days
-- after creation (retention.c): find them by age.  Only open orders that
-- still hold personal data are indexed, and created_at grows with each new
-- order, so inserts append to this index.
CREATE INDEX orders_open_age ON orders (created_at)
	WHERE retain_until IS NULL AND sealed IS NOT NULL;
