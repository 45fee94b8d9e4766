/*
 * util.c - the status names and the few helpers common.h declares.
 */
#include "common.h"

#include <stdlib.h>
#include <stdio.h>
#include <time.h>

const char *st_name(enum st st)
{
	switch (st) {
	case ST_OK:
		return "ok";
	case ST_NOMEM:
		return "out_of_memory";
	case ST_MALFORMED:
		return "malformed";
	case ST_UNAUTH:
		return "unauthorized";
	case ST_FORBIDDEN:
		return "forbidden";
	case ST_NOTFOUND:
		return "not_found";
	case ST_CONFLICT:
		return "conflict";
	case ST_GONE:
		return "gone";
	case ST_TOOBIG:
		return "too_large";
	case ST_MEDIATYPE:
		return "unsupported_media_type";
	case ST_INVALID:
		return "invalid";
	case ST_LIMIT:
		return "rate_limited";
	case ST_UNAVAILABLE:
		return "unavailable";
	case ST_IO:
		return "io_error";
	case ST_CRYPTO:
		return "integrity_error";
	case ST_INTERNAL:
		return "internal";
	}
	return "internal";
}

void field_err_set(struct field_err *e, const char *code, const char *message, const char *field)
{
	if (!e)
		return;
	e->code = code;
	e->message = message;
	str_copy(e->field, sizeof(e->field), field ? field : "");
}

void str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

void mem_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

void free_wiped(void *p, size_t len)
{
	if (!p)
		return;
	mem_wipe(p, len);
	free(p);
}

uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
