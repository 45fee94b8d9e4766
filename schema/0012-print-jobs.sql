-- 0012: print jobs sent to depot printers (issue 16, docs/API.md "Print jobs").
--
-- A job is a depot's request to print labels on one of its printers; the
-- daemon's senders (server/printjob.c) take queued jobs in id order, mark a
-- job `sending` (committed before the first byte leaves), then `sent` or
-- `failed`.  A job found `sending` at start was caught by a crash and becomes
-- `interrupted`: it may have printed, so it is never sent again by itself.
-- The rows hold no personal data: tracking numbers (space-separated, at most
-- max_batch_labels of them), the printer's name and a failure's code and
-- detail.  Finished jobs are deleted retention_days after they ended (the
-- housekeeping thread), so the table does not grow forever.
CREATE TABLE print_jobs (
	id           INTEGER PRIMARY KEY,
	depot        TEXT NOT NULL,
	printer      TEXT NOT NULL,
	actor        TEXT NOT NULL,
	role         TEXT NOT NULL,
	tracking_nos TEXT NOT NULL,
	labels       INTEGER NOT NULL CHECK (labels > 0),
	status       TEXT NOT NULL
	             CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'interrupted')),
	reason       TEXT,
	detail       TEXT,
	attempts     INTEGER NOT NULL DEFAULT 0,
	bytes_sent   INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
-- The jobs still to finish, per depot (the bound print_jobs_per_depot) and in
-- order (what a start resumes); small: only open jobs are in it.
CREATE INDEX print_jobs_open ON print_jobs (depot, id) WHERE status IN ('queued', 'sending');
-- Finished jobs by age, for the purge.
CREATE INDEX print_jobs_done ON print_jobs (updated_at)
	WHERE status IN ('sent', 'failed', 'interrupted');
