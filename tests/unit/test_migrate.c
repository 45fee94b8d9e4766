/*
 * test_migrate.c - `waybillctl migrate` forgets nothing: the schemas side
 * by side, without a server.  A fresh SQLite database (every migration of
 * schema/ applied by store_open) holds exactly the tables migrate copies
 * (store_migrate_tables) and the ones it skips for a reason
 * (store_migrate_skip); each copied table exists in PostgreSQL's
 * migrations (schema/pg/) with the same columns, none more, none fewer;
 * PostgreSQL's own tables are only audit_head and waybill_schema.  A table
 * or a column added to one schema and not to the other, or to SQLite's and
 * not to the list, fails here.  The copy itself is tests/e2e/99-migrate.sh.
 */
#include "t.h"
#include "../../server/store.h"
#include "../../server/store_pg.h"
#include "../../server/log.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAMES_MAX 64
struct names {
	char v[NAMES_MAX][64];
	size_t n;
};

static void names_add(struct names *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == len && strncmp(s->v[i], name, len) == 0)
			return;
	if (s->n < NAMES_MAX && len < sizeof(s->v[0])) {
		memcpy(s->v[s->n], name, len);
		s->v[s->n][len] = '\0';
		s->n++;
	}
}

static bool names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return true;
	return false;
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static void sq_names(sqlite3 *db, const char *sql, struct names *out)
{
	sqlite3_stmt *st = NULL;

	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (v)
			names_add(out, v, strlen(v));
	}
	sqlite3_finalize(st);
}

static size_t word(const char *p)
{
	size_t n = 0;
	while (p[n] && (isalnum((unsigned char)p[n]) || p[n] == '_'))
		n++;
	return n;
}

/* The tables PostgreSQL's migrations create. */
static void pg_tables(struct names *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < pg_schema_migrations_count; i++)
		for (const char *p = pg_schema_migrations[i].sql;
		     (p = strstr(p, "CREATE TABLE "));) {
			p += strlen("CREATE TABLE ");
			names_add(out, p, word(p));
		}
}

/*
 * The columns of table in PostgreSQL's migrations: the first word of each
 * line of its CREATE TABLE (constraints aside), and each ADD COLUMN.
 */
static void pg_columns(const char *table, struct names *out)
{
	char create[96], alter[96];

	memset(out, 0, sizeof(*out));
	snprintf(create, sizeof(create), "CREATE TABLE %s (", table);
	snprintf(alter, sizeof(alter), "ALTER TABLE %s ADD COLUMN ", table);
	for (size_t i = 0; i < pg_schema_migrations_count; i++) {
		const char *sql = pg_schema_migrations[i].sql, *p;

		if ((p = strstr(sql, create))) {
			const char *end = strstr(p, "\n);");
			p = strchr(p, '\n');
			while (p && end && p < end) {
				size_t n;
				p++;
				while (*p == '\t' || *p == ' ')
					p++;
				n = word(p);
				if (n && strncmp(p, "PRIMARY", n) && strncmp(p, "UNIQUE", n) &&
				    strncmp(p, "CHECK", n) && strncmp(p, "CONSTRAINT", n) &&
				    strncmp(p, "FOREIGN", n) && p < end)
					names_add(out, p, n);
				p = strchr(p, '\n');
			}
		}
		for (p = sql; (p = strstr(p, alter));) {
			p += strlen(alter);
			names_add(out, p, word(p));
		}
	}
}

int main(void)
{
	char dir[64], path[128], err[512] = "", key[128], sql[256], cmd[160];
	struct keyring *kr = NULL;
	struct store *s = NULL;
	struct names sqt, pgt, sqc, pgc;
	sqlite3 *db = NULL;

	log_threshold = LOG_ERROR;
	snprintf(dir, sizeof(dir), "/tmp/waybill-migunit-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	CHECK(system(cmd) == 0);
	snprintf(path, sizeof(path), "%s/db", dir);
	snprintf(key, sizeof(key), "%s/key", dir);
	CHECK(crypto_init() == ST_OK);
	CHECK(keyring_generate(key, err, sizeof(err)) == ST_OK);
	CHECK(keyring_load(key, &kr, err, sizeof(err)) == ST_OK);
	CHECKF(store_open(path, STORE_TOOL, kr, &s, err, sizeof(err)) == ST_OK, "%s", err);
	store_close(s);
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
	sq_names(db,
		 "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE "
		 "'sqlite\\_%' ESCAPE '\\'",
		 &sqt);
	CHECK(sqt.n >= store_migrate_tables_n);

	/* SQLite's tables: each copied or skipped, each of the list there. */
	for (size_t i = 0; i < sqt.n; i++)
		CHECKF(in_list(sqt.v[i], store_migrate_tables, store_migrate_tables_n) ||
			   in_list(sqt.v[i], store_migrate_skip, store_migrate_skip_n),
		       "SQLite's table %s is neither copied by migrate nor skipped (add it to "
		       "store_migrate_tables in server/store_migrate.c)",
		       sqt.v[i]);
	for (size_t i = 0; i < store_migrate_tables_n; i++)
		CHECKF(names_has(&sqt, store_migrate_tables[i]),
		       "migrate copies %s, SQLite has none", store_migrate_tables[i]);
	CHECK(store_migrate_tables_n <= MIGRATE_TABLES_MAX);

	/* PostgreSQL's tables: the copied ones and its own two. */
	pg_tables(&pgt);
	CHECK(names_has(&pgt, "audit_head"));
	for (size_t i = 0; i < pgt.n; i++)
		CHECKF(in_list(pgt.v[i], store_migrate_tables, store_migrate_tables_n) ||
			   strcmp(pgt.v[i], "audit_head") == 0,
		       "PostgreSQL's table %s is not one migrate fills", pgt.v[i]);

	/* Each copied table: the same columns on both sides. */
	for (size_t i = 0; i < store_migrate_tables_n; i++) {
		const char *t = store_migrate_tables[i];

		CHECKF(names_has(&pgt, t), "PostgreSQL's migrations create no table %s", t);
		snprintf(sql, sizeof(sql), "SELECT name FROM pragma_table_info('%s')", t);
		sq_names(db, sql, &sqc);
		pg_columns(t, &pgc);
		CHECKF(sqc.n > 0, "%s: no columns in SQLite", t);
		for (size_t k = 0; k < sqc.n; k++)
			CHECKF(names_has(&pgc, sqc.v[k]), "%s.%s is SQLite's, not PostgreSQL's", t,
			       sqc.v[k]);
		for (size_t k = 0; k < pgc.n; k++)
			CHECKF(names_has(&sqc, pgc.v[k]), "%s.%s is PostgreSQL's, not SQLite's", t,
			       pgc.v[k]);
	}

	/* The check sees what it must: a table SQLite gained and the list did not. */
	sqlite3_close(db);
	db = NULL;
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
	CHECK(sqlite3_exec(db, "CREATE TABLE courier_notes (x TEXT)", NULL, NULL, NULL) ==
	      SQLITE_OK);
	sqlite3_close(db);
	db = NULL;
	{
		struct migrate_report rep;
		enum st st = store_migrate(path, "postgresql:///nowhere?host=/nonexistent", kr,
					   "op.test", &rep, err, sizeof(err));
		CHECKF(st == ST_INVALID && strstr(err, "courier_notes"), "%d %s", (int)st, err);
		st = store_migrate(path, "/tmp/not-a-url", kr, "op.test", &rep, err, sizeof(err));
		CHECKF(st == ST_INVALID && strstr(err, "PostgreSQL URL"), "%s", err);
	}

	keyring_free(kr);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}
