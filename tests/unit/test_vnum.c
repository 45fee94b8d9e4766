/*
 * test_vnum.c - the virtual-number pool: parsing, allocation spread across
 * numbers, exhaustion, extensions resting before reuse, the look-ups call
 * routing uses, the slot primitives the allocation policy (vnum.c) stands
 * on, its last-slot and shared-number cases; and the shared rate limiter.
 */
#include "common.h"
#include "crypto.h"
#include "limits.h"
#include "log.h"
#include "store.h"
#include "vnum.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "t.h"

static void test_pool_parse(void)
{
	static const struct {
		const char *spec;
		bool ok;
		size_t n;
		const char *first, *last;
	} cases[] = {
	    {"17000000000-17000000099", true, 100, "17000000000", "17000000099"},
	    {"17000000000", true, 1, "17000000000", "17000000000"},
	    {"17100000000-17100000001,17000000005", true, 3, "17000000005", "17100000001"},
	    {"17000000003,17000000001-17000000002", true, 3, "17000000001", "17000000003"},
	    {"", false, 0, NULL, NULL},
	    {"1700000000a", false, 0, NULL, NULL},
	    {"17000000099-17000000000", false, 0, NULL, NULL},
	    {"1700000000-17000000000", false, 0, NULL, NULL},  /* lengths differ */
	    {"17000000000,17000000000", false, 0, NULL, NULL}, /* twice */
	    {"17000000000-17000000001,17000000001", false, 0, NULL, NULL},
	    {"1234", false, 0, NULL, NULL},		       /* too short */
	    {"01700000000", false, 0, NULL, NULL},	       /* leading zero */
	    {"17000000000-17000200000", false, 0, NULL, NULL}, /* over VNUM_POOL_MAX */
	    {"17000000000,", true, 1, "17000000000", "17000000000"},
	    {",", false, 0, NULL, NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vnum_pool p;
		char err[256] = "";
		enum st st = vnum_pool_parse(cases[i].spec, &p, err, sizeof(err));

		CHECK((st == ST_OK) == cases[i].ok);
		if (st != ST_OK) {
			CHECK(strncmp(err, "vnum_pool:", 10) == 0);
			continue;
		}
		CHECK(p.n == cases[i].n);
		CHECK_STR(p.nums[0], cases[i].first);
		CHECK_STR(p.nums[p.n - 1], cases[i].last);
		vnum_pool_release(&p);
	}
}

static void test_called(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"17000001234", "17000001234"},
	    {"+86 170 0000 1234", "17000001234"},
	    {"170-0000-1234", "17000001234"},
	    {"008617000001234", "17000001234"},
	    {"95013", "95013"},
	    {"+14155550123", "14155550123"},
	    {"abc", NULL},
	    {"", NULL},
	    {"1234", NULL},
	    {"+", NULL},
	};
	char out[VNUM_BYTES];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool ok = vnum_called_parse(cases[i].in, out);
		CHECK(ok == (cases[i].want != NULL));
		if (ok && cases[i].want)
			CHECK_STR(out, cases[i].want);
	}
	CHECK(vnum_ext_parse("0042") == 42);
	CHECK(vnum_ext_parse("9999") == 9999);
	CHECK(vnum_ext_parse("42") == -1);
	CHECK(vnum_ext_parse("00421") == -1);
	CHECK(vnum_ext_parse("00a1") == -1);
	CHECK(vnum_ext_parse(NULL) == -1);
	vnum_ext_format(42, out);
	CHECK_STR(out, "0042");
}

/* ---- allocation, through the store ------------------------------------- */

static struct store *S;
static char db_path[300];

/* Bindings that still keep a recipient's phone hash: of one slot, or (vnum
 * NULL) released ones, which never should. */
static int64_t hashes(const char *vnum, const char *ext)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db,
			       vnum ? "SELECT count(*) FROM vnum_bindings WHERE vnum = ?1 AND "
				      "ext = ?2 AND recipient_index IS NOT NULL"
				    : "SELECT count(*) FROM vnum_bindings WHERE released = 1 AND "
				      "recipient_index IS NOT NULL",
			       -1, &st, NULL) == SQLITE_OK) {
		if (vnum) {
			sqlite3_bind_text(st, 1, vnum, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, ext, -1, SQLITE_STATIC);
		}
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

struct pool_job {
	char (*nums)[16];
	size_t n;
};

static enum st job_sync(struct store *s, struct wjob *j)
{
	struct pool_job *p = j->arg;
	return store_w_vnum_sync(s, p->nums, p->n);
}

struct pick_job {
	int count; /* picks to make */
	int64_t now;
	bool same_rcpt;			 /* every pick for one recipient (else a new one each) */
	const unsigned char *reuse_rcpt; /* with same_rcpt: that recipient (else a new one) */
	int done;			 /* picks that succeeded */
	char vnum[16], ext[8];
	unsigned char rcpt[HASH_BYTES]; /* the last pick's recipient index */
	enum st last;
	int per_number[4]; /* picks per pool number 0..3 */
	int switches;	   /* picks on another number than the pick before */
	int ascents;	   /* picks whose extension is above the pick before's */
	int low;	   /* picks with an extension below 1000 */
	double ext_sum;
};

/* A bare order row for a binding to point at (bindings reference orders). */
static enum st order_stub(struct store *s, int64_t *id)
{
	static unsigned seq;
	struct order_row r;
	unsigned char digest[HASH_BYTES] = {0}, blob[48] = {0};

	memset(&r, 0, sizeof(r));
	snprintf(r.tracking_no, sizeof(r.tracking_no), "WB%018u", ++seq);
	snprintf(r.status, sizeof(r.status), "created");
	snprintf(r.depot, sizeof(r.depot), "d1");
	snprintf(r.creator, sizeof(r.creator), "c1");
	snprintf(r.origin_province, sizeof(r.origin_province), "p");
	snprintf(r.origin_city, sizeof(r.origin_city), "c");
	snprintf(r.origin_district, sizeof(r.origin_district), "d");
	snprintf(r.dest_province, sizeof(r.dest_province), "p");
	snprintf(r.dest_city, sizeof(r.dest_city), "c");
	snprintf(r.dest_district, sizeof(r.dest_district), "d");
	r.weight_g = r.count = 1;
	r.kek_version = r.seal_version = 1;
	r.sealed = blob;
	r.sealed_len = sizeof(blob);
	return store_w_order_insert(s, &r, NULL, digest, id);
}

static enum st job_pick(struct store *s, struct wjob *j)
{
	static uint32_t rseq;
	struct pick_job *p = j->arg;
	int64_t order_id;
	char prev[16] = "";
	int prev_ext = -1;

	for (int i = 0; i < p->count; i++) {
		if (p->reuse_rcpt && i == 0) {
			memmove(p->rcpt, p->reuse_rcpt, sizeof(p->rcpt));
		} else if (!p->same_rcpt || i == 0) {
			rseq++;
			memset(p->rcpt, 0x5a, sizeof(p->rcpt));
			memcpy(p->rcpt, &rseq, sizeof(rseq));
		}
		p->last = vnum_binding_pick(s, p->now, p->rcpt, p->vnum, p->ext);
		if (p->last != ST_OK)
			return ST_OK; /* keep the picks made so far */
		if (order_stub(s, &order_id) != ST_OK)
			return ST_IO;
		if (store_w_binding_insert(s, p->vnum, p->ext, order_id, p->rcpt, p->now) != ST_OK)
			return ST_IO;
		p->done++;
		p->per_number[(p->vnum[10] - '0') & 3]++;
		p->switches += prev[0] && strcmp(prev, p->vnum) != 0;
		p->ascents += prev[0] && atoi(p->ext) > prev_ext;
		p->low += atoi(p->ext) < 1000;
		p->ext_sum += atoi(p->ext);
		prev_ext = atoi(p->ext);
		snprintf(prev, sizeof(prev), "%s", p->vnum);
	}
	return ST_OK;
}

struct end_job {
	char vnum[16], ext[8];
	int64_t order_id, until, reusable, now;
};

static enum st job_end(struct store *s, struct wjob *j)
{
	struct end_job *e = j->arg;
	return store_w_binding_end(s, e->vnum, e->ext, e->order_id, e->until, e->reusable, e->now);
}

static enum st run(wjob_fn fn, void *arg)
{
	struct wjob j = {0};

	j.fn = fn;
	j.arg = arg;
	j.no_audit = true;
	return store_run(S, &j);
}

static void sync_pool(const char *spec)
{
	struct vnum_pool p;
	struct pool_job pj;
	char err[256];

	CHECK(vnum_pool_parse(spec, &p, err, sizeof(err)) == ST_OK);
	pj.nums = p.nums;
	pj.n = p.n;
	CHECK(run(job_sync, &pj) == ST_OK);
	vnum_pool_release(&p);
}

#define SPREAD 2000

static void test_spread(int64_t now)
{
	struct pick_job pk = {.count = SPREAD, .now = now};
	struct pick_job two = {.count = 2, .now = now, .same_rcpt = true};
	struct pick_job five = {.count = 5, .now = now, .same_rcpt = true};
	struct vnum_stats vs;

	sync_pool("17000000000-17000000003");
	CHECK(run(job_pick, &pk) == ST_OK);
	CHECK(pk.done == SPREAD);
	/* Each pick is a random free slot: about a quarter on each number (500,
	 * sd 19), the number changing from one pick to the next three times in
	 * four (1500, sd 19), extensions anywhere (mean 5000, sd 65; a tenth
	 * below 1000) and rising from one pick to the next half of the time.
	 * Handed out in sequence they would be 0000, 0001, ... */
	for (int i = 0; i < 4; i++)
		CHECKF(pk.per_number[i] > 400 && pk.per_number[i] < 600, "number %d: %d", i,
		       pk.per_number[i]);
	CHECKF(pk.switches > 1350 && pk.switches < 1650, "%d", pk.switches);
	CHECKF(pk.ext_sum / SPREAD > 4600 && pk.ext_sum / SPREAD < 5400, "%f", pk.ext_sum / SPREAD);
	CHECKF(pk.low > 120 && pk.low < 290, "%d", pk.low);
	CHECKF(pk.ascents > 850 && pk.ascents < 1150, "%d", pk.ascents);
	CHECK(store_vnum_stats(S, now, &vs) == ST_OK);
	CHECK(vs.active == SPREAD);
	CHECK(vs.held == SPREAD);
	CHECK(vs.capacity == 4 * VNUM_EXTS);

	/* Two orders for one recipient: two numbers, so a call back from that
	 * recipient to either number finds exactly one binding. */
	CHECK(run(job_pick, &two) == ST_OK);
	CHECK(two.done == 2);
	CHECK(two.switches == 1);
	/* Five for one recipient on four numbers: the fifth has to share one. */
	CHECK(run(job_pick, &five) == ST_OK);
	CHECK(five.done == 5);
	for (int i = 0; i < 4; i++)
		CHECKF(five.per_number[i] >= 1 && five.per_number[i] <= 2, "number %d: %d", i,
		       five.per_number[i]);
}

static void test_exhaustion(int64_t now)
{
	struct pick_job pk = {.count = VNUM_EXTS + 5, .now = now};
	struct end_job e = {0};
	struct vnum_stats vs;
	int64_t id, until;
	char ext0[8] = "";

	/* A new pool of one number: the numbers of test_spread leave it. */
	sync_pool("17100000000");
	CHECK(run(job_pick, &pk) == ST_OK);
	CHECK(pk.done == VNUM_EXTS);
	CHECK(pk.last == ST_UNAVAILABLE);
	CHECK(store_vnum_stats(S, now, &vs) == ST_OK);
	CHECK(vs.capacity - vs.held == 0);

	/* An ended binding rests: its extension is not handed out again yet. */
	CHECK(store_binding_find(S, "17100000000", "0000", now, &id, &until) == ST_OK);
	snprintf(e.vnum, sizeof(e.vnum), "17100000000");
	snprintf(e.ext, sizeof(e.ext), "0000");
	snprintf(ext0, sizeof(ext0), "0000");
	e.order_id = id;
	e.until = now;
	e.reusable = now + 7 * 86400;
	e.now = now;
	CHECK(hashes("17100000000", "0000") == 1);
	CHECK(run(job_end, &e) == ST_OK);
	CHECK(store_binding_find(S, "17100000000", "0000", now, &id, &until) == ST_NOTFOUND);
	/* Ended at once, it routes nothing again: the phone hash is gone; others keep theirs. */
	CHECK(hashes("17100000000", "0000") == 0);
	CHECK(hashes("17100000000", "0001") == 1);
	pk = (struct pick_job){.count = 1, .now = now + 86400};
	CHECK(run(job_pick, &pk) == ST_OK);
	CHECK(pk.done == 0 && pk.last == ST_UNAVAILABLE);

	/* After its rest, that extension (and only it) comes back. */
	pk = (struct pick_job){.count = 2, .now = now + 8 * 86400};
	CHECK(run(job_pick, &pk) == ST_OK);
	CHECK(pk.done == 1);
	CHECK_STR(pk.ext, ext0);
	CHECK(pk.last == ST_UNAVAILABLE);
	/* The new binding keeps its hash; the released one keeps none. */
	CHECK(hashes("17100000000", "0000") == 1);
	CHECK(hashes(NULL, NULL) == 0);
}

/*
 * Only a binding a call back could still match steers a recipient's next
 * order off its number: once it ended, where the next one lands is as for
 * anyone.  On two numbers: while the first is open, the second order of
 * the recipient always takes the other number; after it ended, either.
 */
static void test_avoid_open_only(int64_t now)
{
	int other = 0, same_after_end = 0;

	sync_pool("17300000000-17300000001");
	for (int k = 0; k < 40; k++) {
		struct pick_job first = {.count = 1, .now = now};
		struct pick_job again = {.count = 1, .now = now, .same_rcpt = true};
		struct end_job e = {0};
		int64_t id, until;
		char v1[16];

		CHECK(run(job_pick, &first) == ST_OK && first.done == 1);
		snprintf(v1, sizeof(v1), "%s", first.vnum);
		/* the same recipient again, while the first binding is open */
		again.reuse_rcpt = first.rcpt;
		CHECK(run(job_pick, &again) == ST_OK && again.done == 1);
		other += strcmp(again.vnum, v1) != 0;
		/* end both at once (cancelled), then once more */
		CHECK(store_binding_find(S, first.vnum, first.ext, now, &id, &until) == ST_OK);
		e = (struct end_job){
		    .order_id = id, .until = now, .reusable = now + 86400, .now = now};
		snprintf(e.vnum, sizeof(e.vnum), "%s", first.vnum);
		snprintf(e.ext, sizeof(e.ext), "%s", first.ext);
		CHECK(run(job_end, &e) == ST_OK);
		CHECK(store_binding_find(S, again.vnum, again.ext, now, &id, &until) == ST_OK);
		e.order_id = id;
		snprintf(e.vnum, sizeof(e.vnum), "%s", again.vnum);
		snprintf(e.ext, sizeof(e.ext), "%s", again.ext);
		CHECK(run(job_end, &e) == ST_OK);
		again = (struct pick_job){.count = 1, .now = now, .same_rcpt = true};
		again.reuse_rcpt = first.rcpt;
		CHECK(run(job_pick, &again) == ST_OK && again.done == 1);
		same_after_end += strcmp(again.vnum, v1) == 0;
	}
	CHECK(other == 40);
	/* half of 40 (sd 3.2): never 0 and never 40 */
	CHECKF(same_after_end > 5 && same_after_end < 35, "%d", same_after_end);
}

static void test_lookups(int64_t now)
{
	struct pick_job pk = {.count = 1, .now = now};
	struct end_job e = {0};
	unsigned char rcpt[HASH_BYTES];
	int64_t ids[2], id, until;
	size_t n;

	sync_pool("17200000000");
	CHECK(run(job_pick, &pk) == ST_OK);
	CHECK(store_binding_find(S, pk.vnum, pk.ext, now, &id, &until) == ST_OK);
	CHECK(until == 0);
	memcpy(rcpt, pk.rcpt, sizeof(rcpt));
	CHECK(store_binding_callback(S, pk.vnum, rcpt, now, ids, 1, &n) == ST_OK);
	CHECK(n == 1 && ids[0] == id);
	CHECK(store_binding_callback(S, "17000000000", rcpt, now, ids, 1, &n) == ST_OK);
	CHECK(n == 0);

	/* Delivered with a grace period: routes until then, not after. */
	snprintf(e.vnum, sizeof(e.vnum), "%s", pk.vnum);
	snprintf(e.ext, sizeof(e.ext), "%s", pk.ext);
	e.order_id = id;
	e.until = now + 3600;
	e.reusable = e.until + 86400;
	e.now = now;
	CHECK(run(job_end, &e) == ST_OK);
	CHECK(store_binding_find(S, pk.vnum, pk.ext, now + 3599, &id, &until) == ST_OK);
	CHECK(until == now + 3600);
	/* A call back from the recipient still works in the grace period. */
	CHECK(store_binding_callback(S, pk.vnum, rcpt, now + 3599, ids, 1, &n) == ST_OK);
	CHECK(n == 1 && ids[0] == id);
	CHECK(store_binding_find(S, pk.vnum, pk.ext, now + 3600, &id, &until) == ST_NOTFOUND);
	CHECK(store_binding_callback(S, pk.vnum, rcpt, now + 3600, ids, 1, &n) == ST_OK);
	CHECK(n == 0);
}

/*
 * The slot primitives the policy stands on (store.h), in one job: a taken
 * slot is busy, counted held and known as the recipient's; ended, it rests;
 * after its rest it is free again and taking it hands the hold over.
 */
static enum st job_slots(struct store *s, struct wjob *j)
{
	int64_t now = *(const int64_t *)j->arg, stale = -1, id = 0;
	const char(*pool)[16] = NULL;
	unsigned char rcpt[HASH_BYTES], other[HASH_BYTES], *busy = malloc(VNUM_EXTS);
	char held[4][16];
	struct vnum_room *rooms = NULL;
	size_t n = 0, busy_n = 0;
	bool is_free = false, seen_a = false, seen_b = false;

	memset(rcpt, 0x71, sizeof(rcpt));
	memset(other, 0x72, sizeof(other));
	if (!busy)
		return ST_NOMEM;
	CHECK(store_w_vnum_pool(s, &pool, &n) == ST_OK && n == 2);
	for (size_t i = 0; i < n; i++) {
		seen_a |= strcmp(pool[i], "17700000000") == 0;
		seen_b |= strcmp(pool[i], "17700000001") == 0;
	}
	CHECK(seen_a && seen_b);

	CHECK(store_w_slot_free(s, "17700000000", "0007", now, &is_free, &stale) == ST_OK);
	CHECK(is_free && stale == 0);
	CHECK(store_w_slot_take(s, "17700000000", 0) == ST_OK);
	CHECK(order_stub(s, &id) == ST_OK);
	CHECK(store_w_binding_insert(s, "17700000000", "0007", id, rcpt, now) == ST_OK);
	CHECK(store_w_slot_free(s, "17700000000", "0007", now, &is_free, &stale) == ST_OK);
	CHECK(!is_free);
	CHECK(store_w_vnum_busy(s, "17700000000", now, busy) == ST_OK);
	for (int x = 0; x < VNUM_EXTS; x++)
		busy_n += busy[x];
	CHECK(busy[7] == 1 && busy_n == 1);
	CHECK(store_w_vnum_rooms(s, &rooms, &n) == ST_OK && n == 2);
	for (size_t i = 0; rooms && i < n; i++)
		CHECKF(rooms[i].free ==
			   (strcmp(rooms[i].vnum, "17700000000") == 0 ? VNUM_EXTS - 1 : VNUM_EXTS),
		       "%s: %u", rooms[i].vnum, rooms[i].free);
	free(rooms);
	CHECK(store_w_vnum_held_by(s, rcpt, now, held, 4, &n) == ST_OK);
	CHECK(n == 1 && strcmp(held[0], "17700000000") == 0);
	CHECK(store_w_vnum_held_by(s, other, now, held, 4, &n) == ST_OK && n == 0);

	/* Ended now, resting for 10 s: no call back matches it, the slot stays busy. */
	CHECK(store_w_binding_end(s, "17700000000", "0007", id, now, now + 10, now) == ST_OK);
	CHECK(store_w_vnum_held_by(s, rcpt, now, held, 4, &n) == ST_OK && n == 0);
	CHECK(store_w_slot_free(s, "17700000000", "0007", now + 10, &is_free, &stale) == ST_OK);
	CHECK(!is_free);
	/* Its rest over: free, and the resting binding is the stale one to release. */
	CHECK(store_w_slot_free(s, "17700000000", "0007", now + 11, &is_free, &stale) == ST_OK);
	CHECK(is_free && stale != 0);
	CHECK(store_w_vnum_busy(s, "17700000000", now + 11, busy) == ST_OK);
	busy_n = 0;
	for (int x = 0; x < VNUM_EXTS; x++)
		busy_n += busy[x];
	CHECK(busy_n == 0);
	/* Taken again: the hold passes over (still one held), the old binding goes. */
	CHECK(store_w_slot_take(s, "17700000000", stale) == ST_OK);
	CHECK(store_w_vnum_rooms(s, &rooms, &n) == ST_OK);
	for (size_t i = 0; rooms && i < n; i++)
		if (strcmp(rooms[i].vnum, "17700000000") == 0)
			CHECK(rooms[i].free == VNUM_EXTS - 1);
	free(rooms);
	CHECK(store_w_slot_free(s, "17700000000", "0007", now + 11, &is_free, &stale) == ST_OK);
	CHECK(is_free && stale == 0);
	free(busy);
	return ST_OK;
}

static void test_slots(int64_t now)
{
	sync_pool("17700000000-17700000001");
	CHECK(run(job_slots, &now) == ST_OK);
}

/* Bind every extension of vnum but skip, as picks would have. */
struct fill_job {
	const char *vnum;
	int skip;
	int64_t now;
};

static enum st job_fill(struct store *s, struct wjob *j)
{
	struct fill_job *f = j->arg;
	unsigned char rcpt[HASH_BYTES];

	memset(rcpt, 0x44, sizeof(rcpt));
	for (int x = 0; x < VNUM_EXTS; x++) {
		char ext[8];
		int64_t id;

		if (x == f->skip)
			continue;
		vnum_ext_format(x, ext);
		rcpt[0] = (unsigned char)x;
		rcpt[1] = (unsigned char)(x >> 8);
		if (order_stub(s, &id) != ST_OK || store_w_slot_take(s, f->vnum, 0) != ST_OK ||
		    store_w_binding_insert(s, f->vnum, ext, id, rcpt, f->now) != ST_OK)
			return ST_IO;
	}
	return ST_OK;
}

/*
 * A pool with one free slot left: 17100000000 is full since
 * test_exhaustion and 17500000000 has every extension but 4321 bound.
 * Random draws all but never find it, so the weighted draw and the list
 * of busy extensions must: the pick is exactly that slot, then none.
 */
static void test_last_slot(int64_t now)
{
	struct fill_job f = {"17500000000", 4321, now};
	struct pick_job pk = {.count = 1, .now = now};

	sync_pool("17100000000,17500000000");
	CHECK(run(job_fill, &f) == ST_OK);
	CHECK(run(job_pick, &pk) == ST_OK);
	CHECK(pk.done == 1);
	CHECK_STR(pk.vnum, "17500000000");
	CHECK_STR(pk.ext, "4321");
	pk = (struct pick_job){.count = 1, .now = now};
	CHECK(run(job_pick, &pk) == ST_OK);
	CHECK(pk.done == 0 && pk.last == ST_UNAVAILABLE);
}

/* One recipient's picks on a pool of nine numbers; how many landed on held ones. */
struct clash_job {
	int64_t now;
	unsigned seed;
	int distinct_first; /* of the first CLASH picks, on numbers not held before */
	bool last_on_held;  /* the pick after those shares a number */
};

#define CLASH 8 /* vnum.c CLASH_MAX */

static enum st job_clash(struct store *s, struct wjob *j)
{
	struct clash_job *c = j->arg;
	unsigned char rcpt[HASH_BYTES];
	char held[CLASH + 1][16], vnum[16], ext[8];

	memset(rcpt, 0x66, sizeof(rcpt));
	memcpy(rcpt, &c->seed, sizeof(c->seed));
	c->distinct_first = 0;
	for (int i = 0; i <= CLASH; i++) {
		bool dup = false;
		int64_t id;

		if (vnum_binding_pick(s, c->now, rcpt, vnum, ext) != ST_OK ||
		    order_stub(s, &id) != ST_OK ||
		    store_w_binding_insert(s, vnum, ext, id, rcpt, c->now) != ST_OK)
			return ST_IO;
		for (int k = 0; k < i; k++)
			dup |= strcmp(held[k], vnum) == 0;
		if (i < CLASH)
			c->distinct_first += !dup;
		else
			c->last_on_held = dup;
		snprintf(held[i], sizeof(held[i]), "%s", vnum);
	}
	return ST_OK;
}

/*
 * Up to CLASH_MAX numbers a recipient holds are avoided, so the first
 * eight orders land on eight numbers; with eight held the ninth is drawn
 * from the whole pool and shares one of them 8 times in 9 (20 runs: 17.8,
 * sd 1.4), where still avoiding would never share.
 */
static void test_clash(int64_t now)
{
	int shared = 0;

	sync_pool("17600000000-17600000008");
	for (unsigned k = 0; k < 20; k++) {
		struct clash_job c = {.now = now, .seed = 0xc1a50000u + k};
		CHECK(run(job_clash, &c) == ST_OK);
		CHECKF(c.distinct_first == CLASH, "run %u: %d", k, c.distinct_first);
		shared += c.last_on_held;
	}
	CHECKF(shared >= 12, "%d", shared);
}

static void test_limiter(void)
{
	struct limiter *l = limiter_new(60, 3, 16);
	const char *a = "caller-a", *b = "caller-b";
	time_t t = 6000; /* the start of a window */

	CHECK(l != NULL);
	CHECK(limiter_limit(l) == 3);
	CHECK(!limiter_over(l, a, strlen(a), t));
	CHECK(limiter_hit(l, a, strlen(a), t) == 1);
	CHECK(limiter_hit(l, a, strlen(a), t + 1) == 2);
	CHECK(!limiter_over(l, a, strlen(a), t + 2));
	CHECK(limiter_hit(l, a, strlen(a), t + 2) == 3);
	CHECK(limiter_over(l, a, strlen(a), t + 3));
	CHECK(limiter_hit(l, a, strlen(a), t + 3) == 4);
	/* Another key is counted apart. */
	CHECK(!limiter_over(l, b, strlen(b), t + 3));
	CHECK(limiter_hit(l, b, strlen(b), t + 3) == 1);
	/* A new window starts from zero. */
	CHECK(!limiter_over(l, a, strlen(a), t + 60));
	CHECK(limiter_hit(l, a, strlen(a), t + 60) == 1);
	/* Many more keys than the capacity: the keys counted already keep their
	 * counts (a flood of other keys never resets one), and the keys the
	 * table has no room for are refused (over any limit), not counted. */
	{
		int refused = 0;
		for (int i = 0; i < 1000; i++) {
			char k[16];
			snprintf(k, sizeof(k), "k%d", i);
			refused += limiter_hit(l, k, strlen(k), t + 60) == LIMITER_REFUSED;
		}
		CHECKF(refused >= 1000 - 16, "%d", refused);
		CHECK(limiter_hit(l, "k999", 4, t + 60) == LIMITER_REFUSED);
	}
	CHECK(limiter_hit(l, a, strlen(a), t + 61) == 2);
	CHECK(limiter_hit(l, a, strlen(a), t + 62) == 3);
	CHECK(limiter_over(l, a, strlen(a), t + 62));
	/* The next window: old entries make room again. */
	CHECK(limiter_hit(l, "k999", 4, t + 120) == 1);
	CHECK(limiter_hit(l, a, strlen(a), t + 120) == 1);
	CHECK(limiter_retry_after(l, t + 125) == 55);
	limiter_free(l);
	limiter_free(NULL);
}

struct seen {
	int n;
	unsigned total;
	time_t start;
};

static void seen_one(const void *key, size_t len, time_t start, unsigned count, void *arg)
{
	struct seen *s = arg;
	UNUSED(key);
	UNUSED(len);
	s->n++;
	s->total += count;
	s->start = start;
}

/* A tally limiter reports each key's count once its window is over, and
 * keeps a slot with an unreported count from being reused. */
static void test_tally(void)
{
	struct limiter *l = limiter_new_tally(60, 5, 4);
	struct seen sn = {0};
	time_t t = 6000;

	CHECK(l != NULL);
	for (int i = 0; i < 7; i++)
		limiter_hit(l, "addr-a", 6, t + 1);
	limiter_hit(l, "addr-b", 6, t + 2);
	CHECK(limiter_report(l, t + 30, false, seen_one, &sn) == 0);
	CHECK(limiter_hit(l, "addr-a", 6, t + 59) == 8);
	/* The window is over: a, 8 and b, 1, each once. */
	CHECK(limiter_report(l, t + 60, false, seen_one, &sn) == 2);
	CHECK(sn.n == 2 && sn.total == 9 && sn.start == t);
	CHECK(limiter_report(l, t + 61, false, seen_one, &sn) == 0);
	/* At stop, the current window too. */
	CHECK(limiter_hit(l, "addr-a", 6, t + 61) == 1);
	CHECK(limiter_report(l, t + 62, true, seen_one, &sn) == 1);
	CHECK(sn.n == 3 && sn.total == 10);
	/* Counted again in a new window before the report ran: the earlier
	 * window's count is kept and reported with its own start. */
	sn = (struct seen){0};
	CHECK(limiter_hit(l, "addr-a", 6, t + 125) == 1);
	CHECK(limiter_hit(l, "addr-a", 6, t + 181) == 1);
	CHECK(limiter_hit(l, "addr-a", 6, t + 182) == 2);
	CHECK(limiter_report(l, t + 183, false, seen_one, &sn) == 1);
	CHECK(sn.n == 1 && sn.total == 1 && sn.start == t + 120);
	CHECK(limiter_report(l, t + 240, false, seen_one, &sn) == 1);
	CHECK(sn.n == 2 && sn.total == 3 && sn.start == t + 180);
	/* Not yet reported, an old count holds its slot: the table refuses new keys. */
	limiter_free(l);
	l = limiter_new_tally(60, 5, 1);
	CHECK(limiter_hit(l, "addr-a", 6, t) == 1);
	for (int i = 0; i < 200; i++) {
		char k[16];
		snprintf(k, sizeof(k), "x%d", i);
		limiter_hit(l, k, strlen(k), t);
	}
	CHECK(limiter_hit(l, "addr-c", 6, t) == LIMITER_REFUSED);
	sn = (struct seen){0};
	CHECK(limiter_report(l, t + 60, false, seen_one, &sn) == 1);
	CHECK(sn.total == 1);
	limiter_free(l);
}

int main(void)
{
	char dir[256], db[300], key[300], err[512];
	struct keyring *kr = NULL;
	const char *tmp = getenv("TMPDIR");
	int64_t now = (int64_t)time(NULL);

	log_threshold = LOG_WARN;
	test_pool_parse();
	test_called();
	test_limiter();
	test_tally();

	snprintf(dir, sizeof(dir), "%s/waybill-vnum-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir) || crypto_init() != ST_OK)
		return 1;
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(db_path, sizeof(db_path), "%s", db);
	snprintf(key, sizeof(key), "%s/key", dir);
	CHECK(keyring_generate(key, err, sizeof(err)) == ST_OK);
	CHECK(keyring_load(key, &kr, err, sizeof(err)) == ST_OK);
	CHECK(store_open(db, STORE_DAEMON, kr, &S, err, sizeof(err)) == ST_OK);
	if (S) {
		test_spread(now);
		test_exhaustion(now);
		test_lookups(now);
		test_avoid_open_only(now);
		test_slots(now);
		test_last_slot(now);
		test_clash(now);
		store_close(S);
	}
	keyring_free(kr);
	{
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done();
}
