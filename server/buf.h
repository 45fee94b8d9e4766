/*
 * buf.h - the one growable buffer: bounded, with a sticky error (curl's
 * dynbuf is the model).
 *
 * The maximum is set when the buffer is set up and never passed: an append
 * that would go past it fails with ST_TOOBIG, one that cannot get memory
 * with ST_NOMEM.  The first failure frees what was held and sticks: every
 * later append returns it and adds nothing, so a builder may append a run
 * of pieces and look once at the end (buf_st).  A buffer made with wipe
 * (personal data, keys) never leaves a copy behind: growing copies into a
 * new block and wipes the old one (no realloc), and releasing wipes.
 *
 * struct buf is the caller's (x_init / x_release); not thread-safe.
 */
#ifndef WAYBILL_BUF_H
#define WAYBILL_BUF_H

#include "common.h"

struct buf {
	unsigned char *p; /* len bytes, then a NUL (when p is not NULL) */
	size_t len, cap;  /* cap: bytes allocated, the NUL's included */
	size_t max;	  /* len never goes past it */
	bool wipe;
	enum st st; /* ST_OK, or the first failure */
};

/* An empty buffer that will hold at most max bytes. */
void buf_init(struct buf *b, size_t max, bool wipe);
/* Free what it holds (wiped when made so); b is empty again, same max. */
void buf_release(struct buf *b);
/* Forget the contents (wiped when made so), keep the memory; clears a failure. */
void buf_reset(struct buf *b);

/* Append n bytes; ST_TOOBIG past max, ST_NOMEM, or the earlier failure. */
enum st buf_add(struct buf *b, const void *data, size_t n);
/* Append a formatted string (not its NUL). */
enum st buf_addf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Room for n more bytes at b->p + b->len, zeroed and counted in len;
 * NULL on failure (as buf_add). */
void *buf_grow(struct buf *b, size_t n);

/* ST_OK, or the failure that stuck. */
enum st buf_st(const struct buf *b);

/*
 * Hand the bytes over: on ST_OK *out (NUL-terminated, *len bytes without the
 * NUL; never NULL, "" when nothing was added) is the caller's, to free with
 * free() (free_wiped(*out, *len + 1) for a wipe buffer), and b is empty.
 * Otherwise the failure that stuck; b is released either way.
 */
enum st buf_take(struct buf *b, unsigned char **out, size_t *len);

#endif
