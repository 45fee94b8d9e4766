/*
 * sqlite_ceiling.c - the durable-commit ceiling of this machine: rows of an
 * order's size inserted one transaction each, WAL, synchronous=FULL, for a
 * fixed time.  `make bench` prints waybilld's order rate against it, and
 * the commits' own p50 and p99: no request that waits for a durable commit
 * can beat them, so they are the floor under waybilld's latency.
 *
 *   sqlite_ceiling DBPATH SECONDS [PER_SECOND]   ->   "ROWS_PER_S P50_MS P99_MS"
 *
 * With PER_SECOND the commits are paced at that rate instead of back to
 * back: a disk that idles between commits answers them slower (measured
 * here: p99 0.6 ms back to back, 2-4 ms with 2 ms gaps), and the latency
 * runs of `make bench` are paced.
 */
#include <sqlite3.h>
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

int main(int argc, char **argv)
{
	sqlite3 *db;
	sqlite3_stmt *ins;
	unsigned char blob[620], dek[72];
	double t0, secs, gap, *lat;
	long n = 0, cap;

	if (argc != 3 && argc != 4)
		return 2;
	secs = atof(argv[2]);
	gap = argc == 4 && atof(argv[3]) > 0 ? 1.0 / atof(argv[3]) : 0;
	cap = (long)(secs * 100000) + 1; /* far above any disk's commit rate */
	lat = malloc((size_t)cap * sizeof(*lat));
	if (!lat)
		return 1;
	remove(argv[1]);
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
	t0 = now();
	while (now() - t0 < secs) {
		char tn[32];
		double c0;

		if (gap > 0) {
			/* The next slot of a fixed schedule (no drift, no catching up). */
			double at = t0 + gap * (double)n;
			if (at > now()) {
				struct timespec ts;
				double w = at - now();
				ts.tv_sec = (time_t)w;
				ts.tv_nsec = (long)((w - (double)ts.tv_sec) * 1e9);
				nanosleep(&ts, NULL);
			}
		}
		c0 = now();
		snprintf(tn, sizeof(tn), "WB%018ld", n);
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		sqlite3_bind_text(ins, 1, tn, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 2, dek, sizeof(dek), SQLITE_STATIC);
		sqlite3_bind_blob(ins, 3, blob, sizeof(blob), SQLITE_STATIC);
		sqlite3_step(ins);
		sqlite3_reset(ins);
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
