/*
 * sqlite_ceiling.c - the durable-commit ceiling of this machine: rows of an
 * order's size inserted one transaction each, WAL, synchronous=FULL, for a
 * fixed time.  `make bench` prints waybilld's order rate against it.
 *
 *   sqlite_ceiling DBPATH SECONDS
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	double t0, secs;
	long n = 0;

	if (argc != 3)
		return 2;
	secs = atof(argv[2]);
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
		snprintf(tn, sizeof(tn), "WB%018ld", n);
		sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		sqlite3_bind_text(ins, 1, tn, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 2, dek, sizeof(dek), SQLITE_STATIC);
		sqlite3_bind_blob(ins, 3, blob, sizeof(blob), SQLITE_STATIC);
		sqlite3_step(ins);
		sqlite3_reset(ins);
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			return 1;
		n++;
	}
	printf("%.0f\n", (double)n / (now() - t0));
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return 0;
}
