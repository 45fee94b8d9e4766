/*
 * audit.h - the audit chain's pure parts: an entry, its canonical encoding
 * and its link, hash = HMAC-SHA256(audit key, prev || encoding).  The store
 * (store_audit.c) appends and walks; this file decides what is hashed.  It
 * needs nothing of the store: storage sits above it, never below.
 */
#ifndef WAYBILL_AUDIT_H
#define WAYBILL_AUDIT_H

#include "common.h"
#include "account.h"
#include "crypto.h"
#include "order.h"

#include <cJSON.h>

#define REASON_MAX_BYTES 257 /* audit reason */
#define REQID_BYTES 24

/* An audit entry as stored; no personal data ever goes in one. */
struct audit_entry {
	int64_t seq;
	char ts[32];
	char actor[NAME_MAX_BYTES];
	char role[12];
	char action[32];
	char tracking_no[TN_MAX];
	char reason[REASON_MAX_BYTES];
	char result[32];
	char request_id[REQID_BYTES];
	unsigned char prev[HASH_BYTES], hash[HASH_BYTES];
	/* Appending: the row id of the order tracking_no names, when the job
	 * knows it (0: looked up).  Not part of the chain's MAC: verify checks
	 * it against tracking_no instead. */
	int64_t order_id;
};

/* Compute e->hash from e->prev and the entry's fields. */
void audit_link(const struct keyring *kr, struct audit_entry *e);
/* True when e->hash is the link of e->prev and its fields. */
bool audit_link_ok(const struct keyring *kr, const struct audit_entry *e);
/* An entry as the auditors' JSON (GET /v1/audit, audit export); NULL on no memory. */
cJSON *audit_entry_json(const struct audit_entry *e);
/*
 * The signed text of an archive checkpoint: entries first..last were moved
 * to an archive and the live chain continues from last, whose hash is head
 * (ts: when, "YYYY-MM-DDTHH:MM:SSZ").  "v1 archive first=F last=L head=HEX
 * ts=TS"; it cannot be mistaken for a checkpoint line ("v1 seq=...").
 * Returns its length (< cap), or 0 when it does not fit.
 */
size_t audit_archive_msg(char *out, size_t cap, int64_t first, int64_t last,
			 const unsigned char head[HASH_BYTES], const char *ts);

/* Current UTC time as "2026-11-22T10:00:00.123Z". */
void audit_now(char ts[32]);
/*
 * A "since" bound for queries on ts: "2026-11-22", "2026-11-22T10:00",
 * "2026-11-22T10:00:00Z" or with milliseconds.  Written to out as a prefix
 * that compares right against stored times (no trailing "Z": stored ones
 * carry milliseconds).  False when it is none of those.
 */
bool audit_since_parse(const char *in, char out[32]);

/* Fill the who/what of an entry; result and seq are the writer's. */
void audit_entry_init(struct audit_entry *e, const char *actor, const char *role,
		      const char *action, const char *tracking_no, const char *request_id);

#endif
