/*
 * t.h - the tiny unit-test harness: CHECK macros and one closing line,
 * "N passed, N failed", that tests/run.sh adds up.
 */
#ifndef WAYBILL_T_H
#define WAYBILL_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_pass, t_fail;

/* Count one check; on failure print "file:line: CHECK(expr) failed" (no newline). */
static inline int t_check(int ok, const char *file, int line, const char *expr)
{
	if (ok) {
		t_pass++;
	} else {
		t_fail++;
		fprintf(stderr, "%s:%d: CHECK(%s) failed", file, line, expr);
	}
	return ok;
}

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!t_check(!!(c), __FILE__, __LINE__, #c))                                       \
			fputc('\n', stderr);                                                       \
	} while (0)

/* CHECK with a printf-style note saying which case failed. */
#define CHECKF(c, ...)                                                                             \
	do {                                                                                       \
		if (!t_check(!!(c), __FILE__, __LINE__, #c)) {                                     \
			fputs(": ", stderr);                                                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (g_ && w_ && strcmp(g_, w_) == 0) {                                             \
			t_pass++;                                                                  \
		} else {                                                                           \
			t_fail++;                                                                  \
			fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, __LINE__,    \
				g_ ? g_ : "(null)", w_ ? w_ : "(null)");                           \
		}                                                                                  \
	} while (0)

/* The whole file, malloc'd and NUL-terminated; *len its size.  NULL when it
 * cannot be read. */
static inline char *t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static inline int t_done(void)
{
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
