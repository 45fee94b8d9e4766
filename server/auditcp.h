/*
 * auditcp.h - signed audit checkpoints: what the chain held, kept outside
 * the database, so that it cannot be shortened quietly.
 *
 * A checkpoint is one line of the file `audit_checkpoints`:
 *
 *   v1 seq=N head=HEX64 ts=YYYY-MM-DDTHH:MM:SSZ sig=HEX128
 *
 * seq is the last entry's number, head its hash (lower-case hex), ts the
 * UTC time it was taken; sig is the Ed25519 signature (crypto.h: the audit
 * checkpoint key) of the line's bytes before " sig=".  The daemon appends
 * one every audit_checkpoint_s when the head moved, and one at stop; each
 * is fsync'd and logged.  docs/operations.md says how to ship them.
 */
#ifndef WAYBILL_AUDITCP_H
#define WAYBILL_AUDITCP_H

#include "common.h"
#include "crypto.h"
#include "store.h"

#define AUDITCP_LINE_MAX 256 /* a line: at most 254 bytes with its newline */

struct auditcp_line {
	int64_t seq;
	unsigned char head[HASH_BYTES];
	char ts[24];
	unsigned char sig[SIGN_BYTES];
};

/* The signed line for (seq, head) at UTC time now, with its '\n'; its length. */
size_t auditcp_format(const struct keyring *kr, int64_t seq, const unsigned char head[HASH_BYTES],
		      int64_t now, char *line, size_t cap);

/*
 * Parse one line (len bytes, no '\n'): ST_INVALID when it is not exactly of
 * the form above.  *sig_ok tells whether sig is pk's signature of it.
 */
enum st auditcp_parse(const char *line, size_t len, const unsigned char pk[SIGN_PK_BYTES],
		      struct auditcp_line *out, bool *sig_ok);

/*
 * Call fn for each line of the file at path, in order (lineno from 1):
 * st is ST_OK or ST_INVALID (not a checkpoint line), *sig_ok as above;
 * last_incomplete tells the final line had no '\n' (a write cut short).
 * fn returns false to stop.  A missing file is ST_NOTFOUND.
 */
typedef bool (*auditcp_fn)(size_t lineno, enum st st, const struct auditcp_line *cp, bool sig_ok,
			   bool incomplete, void *arg);
enum st auditcp_each(const char *path, const unsigned char pk[SIGN_PK_BYTES], auditcp_fn fn,
		     void *arg, char *err, size_t errlen);

/*
 * The daemon's checkpoints.  auditcp_open refuses (one line in err) when
 * the file cannot be read or appended to, when its last line is not a
 * checkpoint or its signature is bad, or when the chain in s is behind or
 * contradicts it, or when an entry after that checkpoint does not link (the
 * start walks only those: its cost does not grow with the chain).
 * auditcp_start runs the timer thread; auditcp_close
 * stops it and writes the stop checkpoint.  kr and s are borrowed.
 */
struct auditcp;
enum st auditcp_open(const char *path, const struct keyring *kr, struct store *s,
		     struct auditcp **out, char *err, size_t errlen);
enum st auditcp_start(struct auditcp *cp, long interval_s);
/*
 * What keeps the chain from being trusted, for /readyz: "audit" once the
 * whole walk (which auditcp_start runs beside the serving daemon, after the
 * open's walk from the last checkpoint) found a break or the chain lost a
 * checkpoint under the running daemon, "store" when the database failed its
 * quick check (run there too); NULL while neither.
 */
const char *auditcp_trouble(struct auditcp *cp);
/*
 * The last signed checkpoint the daemon wrote or found at start, for GET
 * /v1/audit/verify: false when there is none yet (or cp is NULL); else its
 * seq and head, and *held: the chain still holds that entry with that hash
 * (an archived one counts as held: a signed archive checkpoint covers it).
 */
bool auditcp_last(struct auditcp *cp, int64_t *seq, unsigned char head[HASH_BYTES], bool *held);
void auditcp_close(struct auditcp *cp);

#endif
