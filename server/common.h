/*
 * common.h - first include of every file in server/.
 *
 * Feature macros, the one status enum, small helpers, and the calls we
 * never use (unbounded string functions).
 */
#ifndef WAYBILL_COMMON_H
#define WAYBILL_COMMON_H

#define _GNU_SOURCE 1

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UNUSED(x) ((void)(x))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#define WARN_UNUSED __attribute__((warn_unused_result))
#else
#define PRINTF_LIKE(f, a)
#define NORETURN
#define WARN_UNUSED
#endif

/*
 * The one status every fallible function returns.  Only http.c turns it
 * into an HTTP status; only the stable code string reaches a client.
 */
enum st {
	ST_OK = 0,
	ST_NOMEM,	/* 503 */
	ST_MALFORMED,	/* 400: not parseable, or a missing required parameter */
	ST_UNAUTH,	/* 401 */
	ST_FORBIDDEN,	/* 403: the role may not use this route */
	ST_NOTFOUND,	/* 404: not found, or not yours */
	ST_CONFLICT,	/* 409 */
	ST_GONE,	/* 410: personal data erased */
	ST_TOOBIG,	/* 413 */
	ST_MEDIATYPE,	/* 415 */
	ST_INVALID,	/* 422: a field breaks a rule */
	ST_LIMIT,	/* 429 */
	ST_UNAVAILABLE, /* 503: cannot write durably, cannot audit, exhausted */
	ST_IO,		/* 503 */
	ST_CRYPTO,	/* 500: a seal failed to open: tampering or a bug */
	ST_INTERNAL,	/* 500 */
};

const char *st_name(enum st st);

/*
 * A validation error: the stable code, the JSON path of the field at fault
 * (empty when no one field is), and a fixed message.  Messages are string
 * constants chosen by the code, never built from input, so they cannot carry
 * personal data.
 */
struct field_err {
	const char *code;    /* e.g. "too_long"; NULL when unset */
	const char *message; /* e.g. "string is longer than allowed" */
	char field[64];	     /* e.g. "recipient.phone" */
};

void field_err_set(struct field_err *e, const char *code, const char *message, const char *field);

/* utf8_valid() and the decoder every module shares. */
#include "utf8.h"

/* Copy src (NULL: "") into dst of cap > 0 bytes, cut to fit; always ends in
 * '\0'.  What snprintf(dst, cap, "%s", src) does, without the formatter
 * (measured: ~3% of a request's CPU went to copies through snprintf). */
void str_copy(char *dst, size_t cap, const char *src);

/* The one wipe: zero memory that held personal data or key material, in a
 * way the compiler cannot drop (explicit_bzero). */
void mem_wipe(void *p, size_t len);
/* mem_wipe() p, then free it; NULL is a no-op. */
void free_wiped(void *p, size_t len);

/* The one monotonic clock: nanoseconds since some fixed point (boot), for
 * durations and deadlines; never goes back. */
uint64_t clock_mono_ns(void);

/*
 * The calls we never use.  Bounded versions exist for all of them.  (clang
 * refuses to poison names that _FORTIFY_SOURCE made macros; gcc builds
 * every file, so it is enough that gcc checks.)
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC poison strcpy strcat sprintf vsprintf gets strtok
#endif

#endif
