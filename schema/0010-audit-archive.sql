-- 0007: where the live audit chain starts once old entries were archived.
--
-- `waybillctl audit archive` moves entries 1..last (or first..last after an
-- earlier archive) into a signed file and deletes them here; this one row
-- says the chain now continues from entry `last`, whose hash is `head`.
-- sig is the audit checkpoint key's Ed25519 signature of
-- "v1 archive first=F last=L head=HEX ts=TS" (audit.h), so a row an insider
-- writes to cover entries they deleted does not verify.
CREATE TABLE audit_base (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	first INTEGER NOT NULL,
	last  INTEGER NOT NULL,
	head  BLOB NOT NULL,
	ts    TEXT NOT NULL,
	sig   BLOB NOT NULL
);
