/*
 * test_store_jobs.c - print jobs in storage (store_jobs.c through store.h):
 * a job goes in queued, its depot's open count moves, state changes read
 * back, only "sending" rows become interrupted, the queue lists queued ones
 * in order, and the purge deletes finished jobs older than its bound and
 * nothing open.  Through store.h only, so a second backend can run it too.
 */
#include "common.h"
#include "audit.h"
#include "crypto.h"
#include "log.h"
#include "store.h"
#include "t.h"

#include <stdlib.h>
#include <unistd.h>

static struct store *S;

struct op {
	int what;
	struct print_job_row *row;
	int64_t id, n, now;
	const char *status, *reason;
};

enum { OP_INSERT, OP_COUNT, OP_SET, OP_INTERRUPT, OP_PURGE, OP_GET };

static enum st tx(struct store *s, struct wjob *j)
{
	struct op *o = j->arg;

	switch (o->what) {
	case OP_INSERT:
		return store_w_job_insert(s, o->row, &o->id);
	case OP_COUNT:
		return store_w_job_open_count(s, o->row->depot, &o->n);
	case OP_SET:
		return store_w_job_set(s, o->id, o->status, o->reason, o->reason[0] ? "why" : "", 1,
				       42, o->now);
	case OP_INTERRUPT:
		return store_w_job_interrupt(s, o->now, &o->n);
	case OP_PURGE:
		return store_w_job_purge(s, o->now, 1000, &o->n);
	case OP_GET:
		return store_w_job_get(s, o->id, o->row);
	}
	return ST_INTERNAL;
}

static enum st run(struct op *o)
{
	struct wjob j;

	memset(&j, 0, sizeof(j));
	j.fn = tx;
	j.arg = o;
	j.no_audit = true;
	return store_run(S, &j);
}

static int64_t insert(const char *depot, const char *tns, int64_t now)
{
	struct print_job_row *r = calloc(1, sizeof(*r));
	struct op o = {OP_INSERT, r, 0, 0, 0, NULL, NULL};

	snprintf(r->depot, sizeof(r->depot), "%s", depot);
	snprintf(r->printer, sizeof(r->printer), "p-%s", depot);
	snprintf(r->actor, sizeof(r->actor), "desk");
	snprintf(r->role, sizeof(r->role), "depot");
	snprintf(r->tracking_nos, sizeof(r->tracking_nos), "%s", tns);
	r->labels = 1;
	r->created_at = now;
	CHECK(run(&o) == ST_OK && o.id > 0);
	free(r);
	return o.id;
}

static int64_t open_count(const char *depot)
{
	struct print_job_row r;
	struct op o = {OP_COUNT, &r, 0, -1, 0, NULL, NULL};

	memset(&r, 0, sizeof(r));
	snprintf(r.depot, sizeof(r.depot), "%s", depot);
	CHECK(run(&o) == ST_OK);
	return o.n;
}

static enum st set(int64_t id, const char *status, const char *reason, int64_t now)
{
	struct op o = {OP_SET, NULL, id, 0, now, status, reason};
	return run(&o);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], db[300], key[300], err[512] = "";
	struct keyring *kr = NULL;
	struct print_job_row *got = calloc(1, sizeof(*got));
	int64_t a, b, c, d, ids[8];
	size_t n;

	log_threshold = LOG_WARN;
	snprintf(dir, sizeof(dir), "%s/waybill-jobs-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!got || !mkdtemp(dir) || crypto_init() != ST_OK)
		return 1;
	snprintf(db, sizeof(db), "%s/db", dir);
	snprintf(key, sizeof(key), "%s/key", dir);
	if (keyring_generate(key, err, sizeof(err)) != ST_OK ||
	    keyring_load(key, &kr, err, sizeof(err)) != ST_OK ||
	    store_open(db, STORE_DAEMON, kr, &S, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}

	a = insert("d1", "WB1 WB2", 1000);
	b = insert("d1", "WB3", 1001);
	c = insert("d2", "WB4", 1002);
	d = insert("d1", "WB5", 1003);
	CHECK(a < b && b < c && c < d);
	CHECK(open_count("d1") == 3 && open_count("d2") == 1 && open_count("d9") == 0);

	/* Read back whole, queued, nothing failed yet. */
	CHECK(store_job_get(S, a, got) == ST_OK);
	CHECK_STR(got->status, "queued");
	CHECK_STR(got->tracking_nos, "WB1 WB2");
	CHECK_STR(got->printer, "p-d1");
	CHECK(got->reason[0] == '\0' && got->attempts == 0 && got->created_at == 1000);
	CHECK(store_job_get(S, 999999, got) == ST_NOTFOUND);

	/* a sent, b sending, d failed: only b stays open in d1.  How a job ended is
	 * written only by the daemon that marked it sending (schema/0013): a queued
	 * job never claimed cannot be called sent or failed. */
	CHECK(set(c, "sent", "", 2000) == ST_NOTFOUND);
	CHECK(set(c, "failed", "printer_unreachable", 2000) == ST_NOTFOUND);
	CHECK(set(a, "sending", "", 1500) == ST_OK && set(a, "sent", "", 2000) == ST_OK);
	CHECK(set(b, "sending", "", 2000) == ST_OK);
	CHECK(set(d, "sending", "", 1500) == ST_OK);
	CHECK(set(d, "failed", "printer_unreachable", 2000) == ST_OK);
	CHECK(set(777777, "sent", "", 2000) == ST_NOTFOUND);
	CHECK(open_count("d1") == 1);
	CHECK(store_job_get(S, d, got) == ST_OK);
	CHECK_STR(got->reason, "printer_unreachable");
	CHECK_STR(got->detail, "why");
	CHECK(got->attempts == 1 && got->bytes_sent == 42 && got->updated_at == 2000);
	/* The writer sees what it wrote. */
	{
		struct op o = {OP_GET, got, c, 0, 0, NULL, NULL};
		CHECK(run(&o) == ST_OK);
		CHECK_STR(got->depot, "d2");
	}

	/* The queue: queued jobs only (c), in order, after a cursor. */
	CHECK(store_job_queued(S, 0, ids, 8, &n) == ST_OK && n == 1 && ids[0] == c);
	CHECK(store_job_queued(S, c, ids, 8, &n) == ST_OK && n == 0);

	/* A start after a crash: the sending one (b) becomes interrupted, nothing else. */
	{
		struct op o = {OP_INTERRUPT, NULL, 0, 0, 3000, NULL, NULL};
		CHECK(run(&o) == ST_OK && o.n == 1);
		CHECK(store_job_get(S, b, got) == ST_OK);
		CHECK_STR(got->status, "interrupted");
		CHECK_STR(got->reason, "interrupted");
		CHECK(store_job_get(S, c, got) == ST_OK);
		CHECK_STR(got->status, "queued");
		CHECK(run(&o) == ST_OK && o.n == 0);
	}

	/* The purge: finished jobs changed before the bound; open ones never. */
	{
		struct op o = {OP_PURGE, NULL, 0, 0, 2500, NULL, NULL};
		CHECK(run(&o) == ST_OK && o.n == 2); /* a and d (2000); b changed at 3000 */
		CHECK(store_job_get(S, a, got) == ST_NOTFOUND);
		CHECK(store_job_get(S, d, got) == ST_NOTFOUND);
		CHECK(store_job_get(S, b, got) == ST_OK);
		o.now = 1 << 30;
		CHECK(run(&o) == ST_OK && o.n == 1);	  /* b */
		CHECK(store_job_get(S, c, got) == ST_OK); /* still queued: kept */
	}

	store_close(S);
	keyring_free(kr);
	free(got);
	{
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done();
}
