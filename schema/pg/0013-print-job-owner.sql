-- 0013 (PostgreSQL): a print job's sender (issue 15), as SQLite's
-- schema/0013-print-job-owner.sql.  The owner is a key each daemon picks at
-- start and holds as a session advisory lock (1464991746, owner) on its writer
-- connection for as long as it lives (taken again when that connection is
-- made again).  A start calls a `sending` job interrupted only when no session
-- holds its owner's lock (pg_locks): a live peer's jobs go on sending.
ALTER TABLE print_jobs ADD COLUMN owner bigint;
