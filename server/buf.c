/*
 * buf.c - the one growable buffer; see buf.h.
 */
#include "common.h"

#include "buf.h"

#include <stdarg.h>

#define BUF_FIRST 256 /* bytes of the first allocation, NUL included */

void buf_init(struct buf *b, size_t max, bool wipe)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->wipe = wipe;
}

void buf_release(struct buf *b)
{
	if (b->wipe)
		free_wiped(b->p, b->cap);
	else
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->st = ST_OK;
}

void buf_reset(struct buf *b)
{
	if (b->p && b->wipe)
		mem_wipe(b->p, b->len);
	if (b->p)
		b->p[0] = '\0';
	b->len = 0;
	b->st = ST_OK;
}

static enum st buf_fail(struct buf *b, enum st st)
{
	buf_release(b);
	b->st = st;
	return st;
}

/* Make room for n more bytes and the NUL. */
static enum st buf_room(struct buf *b, size_t n)
{
	size_t need, cap;
	unsigned char *p;

	if (b->st != ST_OK)
		return b->st;
	if (n > b->max - b->len)
		return buf_fail(b, ST_TOOBIG);
	need = b->len + n + 1;
	if (need <= b->cap)
		return ST_OK;
	cap = b->cap ? b->cap : BUF_FIRST;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	if (b->wipe) {
		p = malloc(cap);
		if (p && b->p)
			memcpy(p, b->p, b->len + 1);
		if (p)
			free_wiped(b->p, b->cap);
	} else {
		p = realloc(b->p, cap);
	}
	if (!p)
		return buf_fail(b, ST_NOMEM);
	if (!b->p)
		p[0] = '\0';
	b->p = p;
	b->cap = cap;
	return ST_OK;
}

enum st buf_add(struct buf *b, const void *data, size_t n)
{
	enum st st = buf_room(b, n);

	if (st != ST_OK)
		return st;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return ST_OK;
}

void *buf_grow(struct buf *b, size_t n)
{
	unsigned char *at;

	if (buf_room(b, n) != ST_OK)
		return NULL;
	at = b->p + b->len;
	memset(at, 0, n + 1);
	b->len += n;
	return at;
}

enum st buf_addf(struct buf *b, const char *fmt, ...)
{
	size_t room = b->p ? b->cap - b->len : 0;
	va_list ap;
	int n;
	enum st st;

	if (b->st != ST_OK)
		return b->st;
	va_start(ap, fmt);
	n = vsnprintf(room ? (char *)b->p + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return buf_fail(b, ST_INTERNAL);
	if ((size_t)n < room && (size_t)n <= b->max - b->len) {
		b->len += (size_t)n;
		return ST_OK;
	}
	st = buf_room(b, (size_t)n);
	if (st != ST_OK)
		return st;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return ST_OK;
}

enum st buf_st(const struct buf *b)
{
	return b->st;
}

enum st buf_take(struct buf *b, unsigned char **out, size_t *len)
{
	enum st st = b->st;

	if (st == ST_OK && !b->p)
		st = buf_room(b, 0);
	if (st != ST_OK) {
		buf_release(b);
		return st;
	}
	*out = b->p;
	*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return ST_OK;
}
