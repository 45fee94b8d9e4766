/*
 * vnum.h - the virtual-number pool (API.md "Virtual numbers").
 *
 * vnum_pool is a list of numbers and ranges joined by commas:
 * "17000000000-17000000099,17100000000".  Each number serves up to
 * VNUM_EXTS orders at once through 4-digit extensions 0000-9999.
 */
#ifndef WAYBILL_VNUM_H
#define WAYBILL_VNUM_H

#include "common.h"

#define VNUM_EXTS 10000
#define VNUM_POOL_MAX 100000 /* numbers in one pool */
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

#endif
