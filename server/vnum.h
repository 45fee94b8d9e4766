/*
 * vnum.h - the virtual-number pool (docs/API.md "Virtual numbers").
 *
 * vnum_pool is a list of numbers and ranges joined by commas:
 * "17000000000-17000000099,17100000000".  Each number serves up to
 * VNUM_EXTS orders at once through 4-digit extensions 0000-9999.
 */
#ifndef WAYBILL_VNUM_H
#define WAYBILL_VNUM_H

#include "common.h"
#include "crypto.h"

struct store;

#define VNUM_EXTS 10000
#define VNUM_POOL_MAX 100000 /* numbers in one pool (store.h STORE_VNUM_POOL_MAX) */
#define VNUM_DIGITS_MIN 5
#define VNUM_DIGITS_MAX 15
#define VNUM_BYTES 16

struct vnum_pool {
	size_t n;
	char (*nums)[VNUM_BYTES]; /* digits, ascending */
};

/* Parse a pool; on failure err says what and where.  vnum_pool_release frees. */
enum st vnum_pool_parse(const char *spec, struct vnum_pool *out, char *err, size_t errlen);
void vnum_pool_release(struct vnum_pool *p);

/*
 * The pool-number form of a called number in any accepted notation
 * ("+86 170 0000 1234" -> "17000001234"); false when it is not one.
 */
bool vnum_called_parse(const char *in, char out[VNUM_BYTES]);

/* "0042" */
void vnum_ext_format(int ext, char out[8]);
/* 0..9999 from exactly four digits; -1 otherwise. */
int vnum_ext_parse(const char *s);

/*
 * Take a free (number, extension) for a new binding: no extension held by
 * an open binding or resting before its reusable time.  Drawn uniformly at
 * random from the free ones (CSPRNG), avoiding numbers on which this
 * recipient already holds an open binding while another has room; nothing
 * else a client can see about other orders changes the draw.
 * ST_UNAVAILABLE when the pool is exhausted.  Writer thread, inside a job
 * (it takes the slot with store_w_slot_take); then bind it to the order
 * with store_w_binding_insert in the same job.  vnum and ext are written
 * only on ST_OK.
 */
enum st vnum_binding_pick(struct store *s, int64_t now, const unsigned char rcpt[HASH_BYTES],
			  char vnum[16], char ext[8]);

#endif
