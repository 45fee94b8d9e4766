-- 0011: the order's route through the sorting hubs (issue 16, sort codes).
--
-- The sort code (三段码), the consolidation hub's code and its name (集包地)
-- are picked from the routing table (sort_table, server/sort.c) when the
-- order is created, and stored in the clear beside the destination region,
-- so a label, a list and a reprint print the route the order was given even
-- after the table changes.  They are not personal data (docs/DESIGN.md
-- "What is stored in the clear, and what is sealed": the destination province, city and district are
-- clear because routing needs them).  A route names a district, or a part
-- of a district that one street prefix covers, which thousands of
-- addresses share: it is the routing the clear region already is, a little
-- finer, and never a street address or a house.  The street address that
-- picked it stays sealed and is not kept anywhere else.
--
-- NULL: no route matched (the label prints the region, as before), or the
-- order is older than this migration.
ALTER TABLE orders ADD COLUMN sort_code TEXT;
ALTER TABLE orders ADD COLUMN hub_code TEXT;
ALTER TABLE orders ADD COLUMN hub_name TEXT;
