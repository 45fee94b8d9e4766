/*
 * archive.h - audit archives: old entries moved out of the database into a
 * signed, compressed file (`waybillctl audit archive`), checked with the
 * live chain by `waybillctl audit verify --archive`.  The only user of zlib.
 *
 * The file is gzip; inside, one line each:
 *
 *   waybill audit archive v1
 *   e SEQ TS ACTOR ROLE ACTION TN REASON RESULT REQID PREV HASH    (one per entry)
 *   v1 archive first=F last=L head=HEX ts=TS sig=HEX128
 *
 * Text fields are lower-case hex of their bytes ("-" when empty), PREV and
 * HASH the entry's chain links.  The last line is the archive checkpoint
 * (audit_archive_msg) signed with the audit checkpoint key; the database
 * keeps the same one, and its live chain continues from entry L.
 */
#ifndef WAYBILL_ARCHIVE_H
#define WAYBILL_ARCHIVE_H

#include "common.h"
#include "buf.h"
#include "crypto.h"
#include "store.h"

struct archive_info {
	bool ok;
	int64_t first, last, entries;
	unsigned char head[HASH_BYTES]; /* entry last's hash */
	char ts[24];
	unsigned char sig[SIGN_BYTES];
	int64_t bad_seq; /* when !ok: the entry at fault (0: the file itself) */
	const char *why; /* when !ok: a constant */
};

/*
 * Write entries first..last of s into a new file at path (O_EXCL, 0600),
 * signed; out gets what the database must record (store_w_audit_archive).
 * first must be the live chain's first entry.
 */
enum st archive_write(const char *path, struct store *s, const struct keyring *kr, int64_t first,
		      int64_t last, struct archive_info *out, char *err, size_t errlen);

/*
 * Check an archive: every entry's link (the first's prev must be prev:
 * zeros for an archive that starts at seq 1, else the earlier archive's
 * head), that it starts at first, and its checkpoint's signature.  ST_OK
 * with out->ok false when it does not verify; err when it cannot be read.
 */
enum st archive_verify(const char *path, const struct keyring *kr, int64_t first,
		       const unsigned char prev[HASH_BYTES], struct archive_info *out, char *err,
		       size_t errlen);

#endif
