/*
 * vnum.c - parsing the pool and the numbers a call platform sends us.
 * Allocation lives in store.c (it must be one transaction with the order).
 */
#include "common.h"
#include "vnum.h"
#include "order.h"

#include <ctype.h>
#include <errno.h>

static bool digits_parse(const char *s, size_t n, unsigned long long *v)
{
	if (n < VNUM_DIGITS_MIN || n > VNUM_DIGITS_MAX)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		*v = *v * 10 + (unsigned)(s[i] - '0');
	}
	return s[0] != '0';
}

static int num_cmp(const void *a, const void *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

enum st vnum_pool_parse(const char *spec, struct vnum_pool *out, char *err, size_t errlen)
{
	const char *p = spec;
	size_t cap = 0;
	int part = 0;

	memset(out, 0, sizeof(*out));
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *dash = memchr(p, '-', len);
		unsigned long long a, b;
		size_t alen = dash ? (size_t)(dash - p) : len;
		size_t blen = dash ? len - alen - 1 : len;

		part++;
		if (!digits_parse(p, alen, &a) || !digits_parse(dash ? dash + 1 : p, blen, &b) ||
		    alen != blen || b < a) {
			snprintf(err, errlen,
				 "vnum_pool: part %d is not NUMBER or NUMBER-NUMBER (same length, "
				 "%d-%d digits, ascending)",
				 part, VNUM_DIGITS_MIN, VNUM_DIGITS_MAX);
			goto bad;
		}
		if (b - a + 1 > VNUM_POOL_MAX || out->n + (size_t)(b - a + 1) > VNUM_POOL_MAX) {
			snprintf(err, errlen, "vnum_pool: more than %d numbers", VNUM_POOL_MAX);
			goto bad;
		}
		for (unsigned long long v = a; v <= b; v++) {
			if (out->n == cap) {
				size_t ncap = cap ? cap * 2 : 128;
				void *np = realloc(out->nums, ncap * sizeof(*out->nums));
				if (!np) {
					snprintf(err, errlen, "vnum_pool: out of memory");
					goto bad;
				}
				out->nums = np;
				cap = ncap;
			}
			snprintf(out->nums[out->n++], VNUM_BYTES, "%llu", v);
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (out->n == 0) {
		snprintf(err, errlen, "vnum_pool: no numbers");
		goto bad;
	}
	/* Ascending, and no number twice. */
	qsort(out->nums, out->n, sizeof(*out->nums), num_cmp);
	for (size_t i = 1; i < out->n; i++)
		if (strcmp(out->nums[i - 1], out->nums[i]) == 0) {
			snprintf(err, errlen, "vnum_pool: %s is listed twice", out->nums[i]);
			goto bad;
		}
	return ST_OK;
bad:
	vnum_pool_release(out);
	return ST_INVALID;
}

void vnum_pool_release(struct vnum_pool *p)
{
	free(p->nums);
	memset(p, 0, sizeof(*p));
}

bool vnum_called_parse(const char *in, char out[VNUM_BYTES])
{
	char e164[PHONE_E164_MAX];
	const char *digits;

	if (!in || phone_normalize(in, e164) != ST_OK) {
		/* Pool numbers need not be valid subscriber numbers: take bare digits too. */
		size_t n = in ? strlen(in) : 0;
		unsigned long long v;
		if (!in || !digits_parse(in, n, &v))
			return false;
		snprintf(out, VNUM_BYTES, "%s", in);
		return true;
	}
	digits = e164 + 1;
	if (strncmp(e164, "+86", 3) == 0)
		digits = e164 + 3;
	if (strlen(digits) >= VNUM_BYTES)
		return false;
	snprintf(out, VNUM_BYTES, "%s", digits);
	return true;
}

void vnum_ext_format(int ext, char out[8])
{
	snprintf(out, 8, "%04d", ext % VNUM_EXTS);
}

int vnum_ext_parse(const char *s)
{
	if (!s || strlen(s) != 4)
		return -1;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	return atoi(s);
}
