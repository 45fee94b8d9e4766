-- 0003: admin reveal quota, counted per account and UTC day in the same
-- transaction as the reveal's audit entry.
CREATE TABLE admin_reveals (
	actor  TEXT NOT NULL,
	day    TEXT NOT NULL,   -- "2026-11-22" (UTC)
	count  INTEGER NOT NULL,
	PRIMARY KEY (actor, day)
) WITHOUT ROWID;
