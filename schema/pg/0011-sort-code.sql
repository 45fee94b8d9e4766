-- 0011 (PostgreSQL): the order's route through the sorting hubs, as SQLite's
-- schema/0011-sort-code.sql (which says why it is not personal data).
-- NULL: no route matched, or the order is older than this migration.
ALTER TABLE orders ADD COLUMN sort_code text;
ALTER TABLE orders ADD COLUMN hub_code text;
ALTER TABLE orders ADD COLUMN hub_name text;
