/*
 * fuzz_vnum.c - libFuzzer target for vnum.c: the pool spec an operator
 * writes (vnum_pool = 13800000000-13800000999,...), the called number and
 * the extension a call platform sends.  The input up to the first newline
 * is the spec, the rest the called number; its first four bytes are also
 * tried as an extension.
 *
 * Besides memory errors it aborts when an invariant breaks:
 * - an accepted pool holds 1..VNUM_POOL_MAX numbers of 5-15 digits without
 *   a leading zero, strictly ascending (shorter first), so none twice;
 * - a refused pool is empty and its error is one non-empty line;
 * - an accepted called number is 1-15 digits;
 * - an extension parses only as four digits, and formats back to them.
 */
#include "common.h"

#include "vnum.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *why)
{
	fprintf(stderr, "invariant broken: %s\n", why);
	abort();
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void check_pool(const char *spec)
{
	struct vnum_pool pool;
	char err[256];
	enum st st;

	memset(err, 0xa5, sizeof(err));
	st = vnum_pool_parse(spec, &pool, err, sizeof(err));
	if (st != ST_OK) {
		if (st != ST_INVALID)
			die("pool parse answers neither ST_OK nor ST_INVALID");
		if (pool.n != 0 || pool.nums != NULL)
			die("a refused pool is not empty");
		if (!memchr(err, '\0', sizeof(err)) || !err[0] || strchr(err, '\n'))
			die("pool error is not one terminated line");
		return;
	}
	if (pool.n < 1 || pool.n > VNUM_POOL_MAX || !pool.nums)
		die("accepted pool size out of range");
	for (size_t i = 0; i < pool.n; i++) {
		const char *s = pool.nums[i];
		size_t n = strnlen(s, VNUM_BYTES);
		if (n == VNUM_BYTES || n < VNUM_DIGITS_MIN || n > VNUM_DIGITS_MAX ||
		    !all_digits(s) || s[0] == '0')
			die("pool number is not 5-15 digits without a leading zero");
		if (i > 0) {
			const char *p = pool.nums[i - 1];
			size_t pn = strlen(p);
			if (pn > n || (pn == n && strcmp(p, s) >= 0))
				die("pool not strictly ascending");
		}
	}
	vnum_pool_release(&pool);
	if (pool.n != 0 || pool.nums != NULL)
		die("release leaves the pool set");
}

static void check_called(const char *in)
{
	char out[VNUM_BYTES];

	memset(out, 0xa5, sizeof(out));
	if (!vnum_called_parse(in, out))
		return;
	if (!memchr(out, '\0', sizeof(out)) || !all_digits(out) || strlen(out) > VNUM_DIGITS_MAX)
		die("accepted called number is not 1-15 digits");
}

static void check_ext(const char *in, size_t n)
{
	char s[5], back[8];
	int ext;

	if (n > 4)
		n = 4;
	memcpy(s, in, n);
	s[n] = '\0';
	ext = vnum_ext_parse(s);
	if (ext < 0)
		return;
	if (ext >= VNUM_EXTS || strlen(s) != 4 || !all_digits(s))
		die("extension accepted that is not four digits");
	vnum_ext_format(ext, back);
	if (strcmp(back, s) != 0)
		die("extension does not format back to itself");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	char *nl;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	nl = strchr(in, '\n');
	if (nl)
		*nl = '\0';
	check_pool(in);
	if (nl) {
		check_called(nl + 1);
		check_ext(nl + 1, strlen(nl + 1));
	} else {
		check_called(in);
		check_ext(in, strlen(in));
	}
	free(in);
	return 0;
}
