/*
 * sqlite_ceiling.c - the durable-commit ceiling of this machine: rows of an
 * order's size inserted one transaction each, WAL, synchronous=FULL, for a
 * fixed time.  `make bench` prints waybilld's order rate against it, and
 * the commits' own p50 and p99: no request that waits for a durable commit
 * can beat them, so they are the floor under waybilld's latency.
 *
 *   sqlite_ceiling DBPATH SECONDS [PER_SECOND]   ->   "ROWS_PER_S P50_MS P99_MS"
 *   sqlite_ceiling DBPATH SECONDS --group RATE   ->   "ROWS_PER_S P50_MS P99_MS COMMITS_PER_S"
 *
 * With PER_SECOND the commits are paced at that rate instead of back to
 * back: a disk that idles between commits answers them slower (measured
 * here: p99 0.6 ms back to back, 2-4 ms with 2 ms gaps), and the latency
 * runs of `make bench` are paced.
 *
 * --group is the floor under waybilld's latency at a given order rate:
 * rows arrive as a Poisson stream of RATE a second (random tracking
 * numbers, as waybilld's are) and one writer commits all that have arrived
 * in one durable transaction, as waybilld's writer does, with no HTTP, no
 * crypto and one table.  P50 and P99 run from a row's arrival to the end of
 * the COMMIT that made it durable.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An order's size: a wrapped data key and a sealed body. */
static unsigned char dek[72], blob[620];

static void insert_row(sqlite3_stmt *ins, const char *tn)
{
	sqlite3_bind_text(ins, 1, tn, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(ins, 2, dek, sizeof(dek), SQLITE_STATIC);
	sqlite3_bind_blob(ins, 3, blob, sizeof(blob), SQLITE_STATIC);
	sqlite3_step(ins);
	sqlite3_reset(ins);
}

static double uniform(void)
{
	return ((double)random() + 1.0) / ((double)RAND_MAX + 2.0);
}

static void sleep_until(double at)
{
	double w = at - now();
	if (w > 0) {
		struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

/* A writer committing every row that has arrived, one transaction each time. */
static int group(sqlite3 *db, sqlite3_stmt *ins, double secs, double rate, double *lat, long cap)
{
	double t0, next, *due;
	long n = 0, arrived = 0, commits = 0;

	srandom(1);
	/* No checkpoint in the way: the log grows for the whole run. */
	sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
	due = malloc((size_t)cap * sizeof(*due));
	if (!due)
		return 1;
	t0 = next = now();
	while (now() - t0 < secs && n < cap) {
		/* Rows whose arrival time has passed: the batch. */
		while (next <= now() && arrived < cap) {
			due[arrived++] = next;
			next += -log(uniform()) / rate;
		}
		if (arrived == n) {
			sleep_until(next);
			continue;
		}
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		for (long i = n; i < arrived; i++) {
			char tn[32];
			snprintf(tn, sizeof(tn), "WB%08ld%08ld%02ld", random() % 100000000,
				 random() % 100000000, i % 97);
			insert_row(ins, tn);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			free(due);
			return 1;
		}
		commits++;
		double done = now();
		for (; n < arrived; n++)
			lat[n] = (done - due[n]) * 1000;
	}
	double t = now() - t0;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("%.0f %.2f %.2f %.0f\n", (double)n / t, n ? lat[n / 2] : 0,
	       n ? lat[n * 99 / 100] : 0, (double)commits / t);
	free(due);
	return 0;
}

int main(int argc, char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *ins;
	double t0, secs, gap, *lat;
	long n = 0, cap;
	bool grouped = argc == 5 && strcmp(argv[3], "--group") == 0;

	if (argc != 3 && argc != 4 && !grouped)
		return 2;
	secs = atof(argv[2]);
	gap = argc == 4 && atof(argv[3]) > 0 ? 1.0 / atof(argv[3]) : 0;
	cap = (long)(secs * 100000) + 1; /* far above any disk's commit rate */
	lat = malloc((size_t)cap * sizeof(*lat));
	if (!lat)
		return 1;
	/* A log left behind would be replayed into the new file. */
	for (int i = 0; i < 3; i++) {
		char f[4096];
		snprintf(f, sizeof(f), "%s%s", argv[1], (const char *[]){"", "-wal", "-shm"}[i]);
		remove(f);
	}
	if (sqlite3_open(argv[1], &db) != SQLITE_OK)
		return 1;
	sqlite3_exec(db,
		     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		     "CREATE TABLE t (id INTEGER PRIMARY KEY, tn TEXT UNIQUE, status TEXT, "
		     "created INTEGER, depot TEXT, creator TEXT, p1 TEXT, c1 TEXT, d1 TEXT, p2 TEXT, "
		     "c2 TEXT, d2 TEXT, w INTEGER, n INTEGER, dek BLOB, sealed BLOB);"
		     "CREATE TABLE a (seq INTEGER PRIMARY KEY, ts TEXT, actor TEXT, action TEXT, "
		     "tn TEXT, result TEXT, prev BLOB, hash BLOB);",
		     NULL, NULL, NULL);
	sqlite3_prepare_v2(db,
			   "INSERT INTO t VALUES (NULL, ?1, 'created', 1, 'd1', 'c1', '江苏省', "
			   "'镇江市', '京口区', '广东省', '深圳市', '宝安区', 1200, 1, ?2, ?3)",
			   -1, &ins, NULL);
	memset(blob, 0x5a, sizeof(blob));
	memset(dek, 0xa5, sizeof(dek));
	if (grouped) {
		int rc = group(db, ins, secs, atof(argv[4]), lat, cap);
		free(lat);
		sqlite3_finalize(ins);
		sqlite3_close(db);
		return rc;
	}
	t0 = now();
	while (now() - t0 < secs) {
		char tn[32];
		double c0;

		/* The next slot of a fixed schedule (no drift, no catching up). */
		if (gap > 0)
			sleep_until(t0 + gap * (double)n);
		c0 = now();
		snprintf(tn, sizeof(tn), "WB%018ld", n);
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		insert_row(ins, tn);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			return 1;
		if (n < cap)
			lat[n] = (now() - c0) * 1000;
		n++;
	}
	printf("%.0f", (double)n / (now() - t0));
	if (n > cap)
		n = cap;
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf(" %.2f %.2f\n", n ? lat[n / 2] : 0, n ? lat[n * 99 / 100] : 0);
	free(lat);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return 0;
}
