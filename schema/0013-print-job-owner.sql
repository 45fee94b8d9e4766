-- 0013: a print job's sender (issue 15): the daemon that marked it `sending`.
-- On SQLite one daemon holds the file (db-lock), so a start still calls every
-- job left sending interrupted; the owner (the daemon's process id) only keeps
-- a job's end from being written by a daemon that no longer owns it.  Over
-- PostgreSQL (schema/pg/0013) several daemons send from one table, and a
-- start interrupts only the jobs whose owner is gone.
ALTER TABLE print_jobs ADD COLUMN owner INTEGER;
