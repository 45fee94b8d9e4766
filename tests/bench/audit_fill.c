/*
 * audit_fill.c - append N audit entries to a database, fast, for measuring
 * what the audit chain's length costs (start-up, verify, archive).
 *
 *   audit_fill DB KEYFILE N [DAYS_AGO]
 *
 * Entries go through the writer like any other (store_w_audit_append, so
 * each links to the one before), 20,000 per transaction.  With DAYS_AGO,
 * their times are spread evenly over the last DAYS_AGO days up to one day
 * ago, so that `audit archive --before` has old entries to move.
 */
#include "common.h"
#include "audit.h"
#include "crypto.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PER_JOB 20000

struct fill {
	long long done, total;
	long days;
	time_t now;
};

static enum st tx_fill(struct store *s, struct wjob *j)
{
	struct fill *f = j->arg;
	struct audit_entry e;
	char rid[REQID_BYTES + 8];

	for (int i = 0; i < PER_JOB && f->done < f->total; i++, f->done++) {
		snprintf(rid, sizeof(rid), "fill%012lld", f->done % 1000000000000LL);
		audit_entry_init(&e, "dep1", "depot", "order.read", "", rid);
		snprintf(e.result, sizeof(e.result), "ok");
		if (f->days > 0) {
			time_t t = f->now - 86400 * f->days +
				   (time_t)((double)f->done / (double)f->total * 86400.0 *
					    (double)(f->days - 1));
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(e.ts, sizeof(e.ts), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		}
		if (store_w_audit_append(s, &e) != ST_OK)
			return ST_UNAVAILABLE;
	}
	return ST_OK;
}

int main(int argc, char **argv)
{
	struct keyring *kr = NULL;
	struct store *s = NULL;
	struct fill f = {0};
	char err[512];

	if (argc < 4) {
		fprintf(stderr, "usage: audit_fill DB KEYFILE N [DAYS_AGO]\n");
		return 2;
	}
	f.total = atoll(argv[3]);
	f.days = argc > 4 ? atol(argv[4]) : 0;
	f.now = time(NULL);
	if (crypto_init() != ST_OK || keyring_load(argv[2], &kr, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "key: %s\n", err);
		return 1;
	}
	if (store_open(argv[1], STORE_TOOL, kr, &s, err, sizeof(err)) != ST_OK) {
		fprintf(stderr, "store: %s\n", err);
		return 1;
	}
	while (f.done < f.total) {
		struct wjob j = {0};

		j.fn = tx_fill;
		j.arg = &f;
		j.no_audit = true;
		if (store_run(s, &j) != ST_OK) {
			fprintf(stderr, "append failed at %lld\n", f.done);
			return 1;
		}
	}
	store_close(s);
	keyring_free(kr);
	printf("%lld entries appended\n", f.done);
	return 0;
}
