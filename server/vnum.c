/*
 * vnum.c - parsing the pool and the numbers a call platform sends us, and
 * the allocation policy: which number and extension an order gets.  The
 * policy runs inside a writer job over the store's slot primitives, so it
 * is one transaction with the order, on any backend.
 */
#include "common.h"
#include "vnum.h"
#include "buf.h"
#include "crypto.h"
#include "order.h"
#include "store.h"

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
	struct buf nums; /* VNUM_BYTES a number, the parse's check below keeps it in max */
	unsigned char *taken;
	size_t taken_len;
	int part = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&nums, (size_t)VNUM_POOL_MAX * VNUM_BYTES, false);
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
			char *num = buf_grow(&nums, VNUM_BYTES);
			if (!num) {
				snprintf(err, errlen, "vnum_pool: out of memory");
				goto bad;
			}
			snprintf(num, VNUM_BYTES, "%llu", v);
			out->n++;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	if (out->n == 0) {
		snprintf(err, errlen, "vnum_pool: no numbers");
		goto bad;
	}
	if (buf_take(&nums, &taken, &taken_len) != ST_OK) {
		snprintf(err, errlen, "vnum_pool: out of memory");
		goto bad;
	}
	out->nums = (char(*)[VNUM_BYTES])taken;
	/* Ascending, and no number twice. */
	qsort(out->nums, out->n, sizeof(*out->nums), num_cmp);
	for (size_t i = 1; i < out->n; i++)
		if (strcmp(out->nums[i - 1], out->nums[i]) == 0) {
			snprintf(err, errlen, "vnum_pool: %s is listed twice", out->nums[i]);
			goto bad;
		}
	return ST_OK;
bad:
	buf_release(&nums);
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

/* ---- which number and extension an order gets ---------------------------- */

_Static_assert(VNUM_EXTS == STORE_VNUM_EXTS, "the store keeps as many extensions as vnum.h");
_Static_assert(VNUM_POOL_MAX == STORE_VNUM_POOL_MAX,
	       "the store reads back as many numbers as a pool holds");

/*
 * Which number and extension: drawn uniformly at random (CSPRNG) from the
 * free (number, extension) slots of the pool, so what a client is handed
 * says nothing about other orders: not how many there were (extensions are
 * not handed out in sequence), nor whether this recipient had one.  A
 * recipient calling a number back must match exactly one binding, so a
 * number on which the recipient already holds an open binding is drawn
 * again among the others; the outcome is then uniform over the numbers the
 * recipient does not hold, which an observer who does not know those cannot
 * tell from uniform.  Only when every number with room is one the
 * recipient holds, or they hold CLASH_MAX numbers already, do two of their
 * orders share one.  Which numbers they hold is one look-up
 * (vnum_bindings_holder, schema/0007) per order.
 *
 * First up to PICK_TRIES draws of a slot from the whole pool, each kept
 * when free (rejection sampling: uniform over the free slots); on a pool
 * that full, a draw of a number weighted by its free extensions, then of
 * one of those.  Entries of vnum_bindings_held land on random pages (no
 * run of orders shares a number any more: runs showed the order volume).
 *
 * All of it runs inside the caller's writer job, over the store's slot
 * primitives (store.h), so the pick and the order it is for commit or roll
 * back together, whatever the backend.
 */
#define PICK_TRIES 64
#define CLASH_MAX 8 /* numbers a recipient holds before their orders share one */

/* The numbers the recipient holds a binding on that a call back could match (up to CLASH_MAX). */
struct held_by {
	size_t n;
	char vnum[CLASH_MAX][16];
};

static bool held_has(const struct held_by *h, const char *vnum)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->vnum[i], vnum) == 0)
			return true;
	return false;
}

/* A uniformly random free extension of vnum into ext; ST_UNAVAILABLE when none is. */
static enum st ext_draw(struct store *s, const char *vnum, int64_t now, char ext[8], int64_t *stale)
{
	unsigned char *busy;
	uint32_t nfree = 0, k;
	enum st res;

	for (int t = 0; t < PICK_TRIES; t++) {
		bool is_free;
		snprintf(ext, 8, "%04u", (unsigned)crypto_uniform(VNUM_EXTS));
		res = store_w_slot_free(s, vnum, ext, now, &is_free, stale);
		if (res != ST_OK || is_free)
			return res;
	}
	/* Nearly full: list what is busy and take the k-th free one. */
	busy = malloc(VNUM_EXTS);
	if (!busy)
		return ST_NOMEM;
	res = store_w_vnum_busy(s, vnum, now, busy);
	if (res != ST_OK) {
		free(busy);
		return res;
	}
	for (int x = 0; x < VNUM_EXTS; x++)
		nfree += !busy[x];
	res = ST_UNAVAILABLE;
	if (nfree) {
		k = crypto_uniform(nfree);
		for (int x = 0; x < VNUM_EXTS; x++) {
			if (busy[x] || k--)
				continue;
			bool is_free;
			snprintf(ext, 8, "%04u", (unsigned)x % VNUM_EXTS);
			res = store_w_slot_free(s, vnum, ext, now, &is_free, stale);
			if (res == ST_OK && !is_free)
				res = ST_INTERNAL;
			break;
		}
	}
	free(busy);
	return res;
}

/* The pool nearly full: a number weighted by its free extensions, then one of those. */
static enum st pick_weighted(struct store *s, int64_t now, const struct held_by *held, bool avoid,
			     char vnum[16], char ext[8], int64_t *stale)
{
	struct vnum_room *rooms = NULL;
	size_t n = 0;
	uint64_t total = 0;
	bool swept = false;
	enum st res = ST_OK;

again:
	free(rooms);
	total = 0;
	res = store_w_vnum_rooms(s, &rooms, &n);
	if (res != ST_OK)
		return res;
	for (size_t i = 0; i < n; i++) {
		/* Draw among the others; when none is left, share one. */
		if (avoid && held_has(held, rooms[i].vnum))
			rooms[i].free = 0;
		total += rooms[i].free;
	}
	if (total == 0 && avoid && n > 0) {
		avoid = false;
		goto again;
	}
	if (total == 0 && !swept) {
		/* Every number looks full: give back rests that ended, then look again. */
		int64_t released = 0;
		swept = true;
		res = store_w_binding_sweep(s, now, &released);
		if (res != ST_OK || released == 0) {
			free(rooms);
			return res != ST_OK ? res : ST_UNAVAILABLE;
		}
		goto again;
	}
	while (total > 0) {
		uint64_t r = crypto_uniform((uint32_t)total);
		size_t i = 0;

		while (r >= rooms[i].free) {
			r -= rooms[i].free;
			i++;
		}
		res = ext_draw(s, rooms[i].vnum, now, ext, stale);
		if (res == ST_UNAVAILABLE) {
			/* Its held count ran ahead of what is free: try the others. */
			total -= rooms[i].free;
			rooms[i].free = 0;
			res = ST_UNAVAILABLE;
			continue;
		}
		if (res == ST_OK)
			snprintf(vnum, 16, "%s", rooms[i].vnum);
		break;
	}
	if (total == 0 && res == ST_OK)
		res = ST_UNAVAILABLE;
	free(rooms);
	return res;
}

/* vnum and ext are written only on ST_OK. */
static enum st binding_pick(struct store *s, int64_t now, const unsigned char rcpt[HASH_BYTES],
			    char vnum[16], char ext[8])
{
	struct held_by held;
	const char(*pool)[16];
	size_t pool_n;
	int64_t stale = 0;
	bool avoid;
	enum st res;

	res = store_w_vnum_pool(s, &pool, &pool_n);
	if (res != ST_OK)
		return res;
	/* A recipient holding CLASH_MAX numbers or more shares one: someone
	 * with that many parcels on the way calls back through the label's. */
	res = store_w_vnum_held_by(s, rcpt, now, held.vnum, CLASH_MAX, &held.n);
	if (res != ST_OK)
		return res;
	avoid = held.n < CLASH_MAX;
	for (int t = 0; t < PICK_TRIES && pool_n; t++) {
		size_t i = crypto_uniform((uint32_t)pool_n);
		bool is_free;

		if (avoid && held_has(&held, pool[i]))
			continue;
		snprintf(ext, 8, "%04u", (unsigned)crypto_uniform(VNUM_EXTS));
		res = store_w_slot_free(s, pool[i], ext, now, &is_free, &stale);
		if (res != ST_OK)
			return res;
		if (!is_free)
			continue;
		snprintf(vnum, 16, "%s", pool[i]);
		return store_w_slot_take(s, vnum, stale);
	}
	res = pick_weighted(s, now, &held, avoid, vnum, ext, &stale);
	if (res != ST_OK)
		return res;
	return store_w_slot_take(s, vnum, stale);
}

enum st vnum_binding_pick(struct store *s, int64_t now, const unsigned char rcpt[HASH_BYTES],
			  char vnum[16], char ext[8])
{
	char v[16] = "", e[8] = "";
	enum st res = binding_pick(s, now, rcpt, v, e);

	if (res == ST_OK) {
		memcpy(vnum, v, sizeof(v));
		memcpy(ext, e, sizeof(e));
	}
	return res;
}
