/*
 * test_buf.c - the bounded buffer: appends up to the maximum and not a byte
 * past it, the sticky failure, formatted appends across growth, reset,
 * take, and wiping.
 */
#include "../../server/common.h"
#include "../../server/buf.h"

#include "t.h"

static void test_bounds(void)
{
	struct buf b;
	unsigned char *out = NULL;
	size_t len = 0;

	buf_init(&b, 10, false);
	CHECK(buf_add(&b, "0123456789", 10) == ST_OK);
	CHECK(b.len == 10 && memcmp(b.p, "0123456789", 11) == 0); /* NUL-terminated */
	CHECK(buf_add(&b, "", 0) == ST_OK);
	CHECK(buf_add(&b, "x", 1) == ST_TOOBIG);
	CHECK(b.p == NULL && b.len == 0);	 /* the failure freed it */
	CHECK(buf_add(&b, "y", 1) == ST_TOOBIG); /* and sticks */
	CHECK(buf_addf(&b, "%d", 1) == ST_TOOBIG);
	CHECK(buf_grow(&b, 1) == NULL);
	CHECK(buf_st(&b) == ST_TOOBIG);
	CHECK(buf_take(&b, &out, &len) == ST_TOOBIG && out == NULL);
	buf_release(&b);
	CHECK(buf_st(&b) == ST_OK && b.max == 10);

	/* a single append larger than the maximum adds nothing */
	buf_init(&b, 4, false);
	CHECK(buf_add(&b, "abc", 3) == ST_OK);
	CHECK(buf_add(&b, "de", 2) == ST_TOOBIG);
	buf_release(&b);

	/* a maximum of 0 holds the empty string only */
	buf_init(&b, 0, false);
	CHECK(buf_take(&b, &out, &len) == ST_OK && out && len == 0 && out[0] == '\0');
	free(out);
}

static void test_growth(void)
{
	struct buf b;
	unsigned char *out = NULL;
	size_t len = 0;
	char want[64];
	bool same = true;

	buf_init(&b, 1 << 20, false);
	for (int i = 0; i < 10000; i++)
		CHECK(buf_addf(&b, "line %05d\n", i) == ST_OK);
	CHECK(b.len == 10000 * 11 && b.len < b.cap && b.cap <= b.max + 1);
	for (int i = 0; i < 10000 && same; i++) {
		snprintf(want, sizeof(want), "line %05d\n", i);
		same = memcmp(b.p + (size_t)i * 11, want, 11) == 0;
	}
	CHECK(same);
	/* one formatted piece longer than the room left */
	char big[3000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(buf_addf(&b, "[%s]", big) == ST_OK);
	CHECK(b.len == 110000 + 3001 && b.p[b.len - 1] == ']' && b.p[b.len] == '\0');
	CHECK(buf_take(&b, &out, &len) == ST_OK && len == 113001 && out[len] == '\0');
	CHECK(b.p == NULL && b.len == 0);
	free(out);

	/* formatted appends stop exactly at the maximum */
	buf_init(&b, 8, false);
	CHECK(buf_addf(&b, "%s", "12345678") == ST_OK && b.len == 8);
	CHECK(buf_addf(&b, "%s", "9") == ST_TOOBIG);
	buf_release(&b);
}

struct item {
	int a;
	double d;
};

static void test_grow_reset(void)
{
	struct buf b;
	struct item *it;

	buf_init(&b, 3 * sizeof(struct item), false);
	for (int i = 0; i < 3; i++) {
		it = buf_grow(&b, sizeof(*it));
		CHECK(it && it->a == 0 && it->d == 0);
		if (it)
			it->a = i + 1;
	}
	CHECK(b.len == 3 * sizeof(struct item));
	CHECK(((struct item *)b.p)[2].a == 3);
	CHECK(buf_grow(&b, sizeof(*it)) == NULL && buf_st(&b) == ST_TOOBIG);
	buf_reset(&b);
	CHECK(buf_st(&b) == ST_OK && b.len == 0);
	CHECK(buf_add(&b, "ok", 2) == ST_OK && strcmp((char *)b.p, "ok") == 0);
	unsigned char *before = b.p;
	buf_reset(&b);
	CHECK(b.p == before && b.len == 0 && b.p[0] == '\0'); /* memory kept */
	buf_release(&b);
}

/* A wipe buffer: reset wipes the bytes it forgets, and growth (which copies
 * into a new block and wipes the old one instead of realloc) keeps every
 * byte in place. */
static void test_wipe(void)
{
	struct buf b;
	unsigned char *out = NULL;
	size_t len = 0;

	buf_init(&b, 1 << 16, true);
	CHECK(buf_add(&b, "13812345678", 11) == ST_OK);
	buf_reset(&b);
	CHECK(b.p && memchr(b.p, '1', 11) == NULL); /* reset wiped the bytes */
	CHECK(buf_add(&b, "13812345678", 11) == ST_OK);
	for (int i = 0; i < 100; i++)
		CHECK(buf_add(&b, "secret-phone-13812345678|", 25) == ST_OK);
	CHECK(b.len == 11 + 2500 && memcmp(b.p, "13812345678", 11) == 0);
	CHECK(buf_take(&b, &out, &len) == ST_OK && len == 2511);
	free_wiped(out, len + 1);
	buf_release(&b);
}

int main(void)
{
	test_bounds();
	test_growth();
	test_grow_reset();
	test_wipe();
	return t_done();
}
