-- 0014 (PostgreSQL only; SQLite has no 0014): every order adds one to its
-- number's vnum_numbers.held (P_VNUM_HOLD), and every order reads the pool's
-- rows (P_VNUM_LIST).  With held in an index (vnum_numbers_load, from 0010)
-- no such update can be HOT: each leaves a dead row and two index entries,
-- nothing but (auto)vacuum removes them, and the pool's hundred rows read as
-- tens of thousands within a minute.  make bench-pg measured one daemon at
-- a third of its rate after ~40 000 orders, back to it after a VACUUM.
-- Without the index (the table is the pool: a scan is the plan anyway) and
-- with room on each page, the update is HOT and the page prunes its own dead
-- rows as it is read.
DROP INDEX vnum_numbers_load;
ALTER TABLE vnum_numbers SET (fillfactor = 50);
