/*
 * test_station.c - the station's page files: which names a request may
 * ask for, what is loaded from web_dir and what is not (links, dot files,
 * subdirectories, unknown extensions), the bounds, and the policy built
 * from the issuer.
 */
#include "common.h"
#include "t.h"
#include "station.c"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void put(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_names(void)
{
	static const char *const good[] = {"index.html", "a", "station.js", "x_y-z.css", "A.PNG"};
	static const char *const bad[] = {"",	  ".",	 "..",	".hidden.js", "../x",	     "a/b",
					  "a\\b", "%2e", "a b", "a\tb",	      "\xe4\xb8\xad"};
	char longname[STATION_NAME_MAX + 1];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		CHECKF(station_name_ok(good[i]), "%s", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		CHECKF(!station_name_ok(bad[i]), "%s", bad[i]);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!station_name_ok(longname));
	longname[STATION_NAME_MAX - 1] = '\0';
	CHECK(station_name_ok(longname));
}

static void test_load(void)
{
	struct config cfg;
	struct station *s = NULL;
	const struct station_file *f;
	char err[256] = "", p[512], q[512];

	config_defaults(&cfg);
	snprintf(cfg.web_dir, sizeof(cfg.web_dir), "%s", dir);
	snprintf(cfg.oidc_issuer, sizeof(cfg.oidc_issuer), "https://sso.example.com/realms/x");
	put("index.html", "<p>index</p>");
	put("audit.html", "<p>audit</p>");
	put("app.js", "export {};");
	put(".secret.js", "no");
	put("notes.md", "no extension of ours");
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0700);
	put("sub/inner.js", "no");
	snprintf(p, sizeof(p), "%s/../station-outside.js", dir);
	snprintf(q, sizeof(q), "%s/link.js", dir);
	CHECK(symlink(p, q) == 0);
	CHECK(station_new(&cfg, &s, err, sizeof(err)) == ST_OK);
	if (!s)
		return;
	CHECK(station_count(s) == 4); /* config.json, app.js, audit.html, index.html */
	f = station_find(s, "");
	CHECK(f && strcmp(f->name, "index.html") == 0 && f->len == 12);
	CHECK(f && strcmp(f->ctype, "text/html; charset=utf-8") == 0 && f->etag[0] == '"');
	f = station_find(s, "audit");
	CHECK(f && strcmp(f->name, "audit.html") == 0);
	f = station_find(s, "app.js");
	CHECK(f && strcmp(f->ctype, "text/javascript; charset=utf-8") == 0);
	CHECK(station_find(s, "link.js") == NULL);
	CHECK(station_find(s, ".secret.js") == NULL);
	CHECK(station_find(s, "notes.md") == NULL);
	CHECK(station_find(s, "sub") == NULL);
	CHECK(station_find(s, "sub/inner.js") == NULL);
	CHECK(station_find(s, "../index.html") == NULL);
	f = station_find(s, "config.json");
	CHECK(f && strstr(f->data, "\"issuer\":\"https://sso.example.com/realms/x\"") &&
	      strstr(f->data, "\"client_id\":\"waybill-station\"") && !strstr(f->data, "secret"));
	CHECK(strstr(station_csp(s), "connect-src 'self' https://sso.example.com;") != NULL);
	CHECK(strstr(station_csp(s), "frame-ancestors 'none'") != NULL);
	CHECK(strstr(station_csp(s), "'unsafe-inline'") == NULL);
	station_free(s);

	/* An issuer that could break out of its CSP source: refused at start. */
	snprintf(cfg.oidc_issuer, sizeof(cfg.oidc_issuer), "https://a.example;script-src *");
	s = NULL;
	CHECK(station_new(&cfg, &s, err, sizeof(err)) == ST_INVALID && !s);
	snprintf(cfg.oidc_issuer, sizeof(cfg.oidc_issuer), "https://user@a.example");
	CHECK(station_new(&cfg, &s, err, sizeof(err)) == ST_INVALID && !s);

	/* No web_dir: no error, nothing but config.json. */
	cfg.oidc_issuer[0] = '\0';
	snprintf(cfg.web_dir, sizeof(cfg.web_dir), "%s/none", dir);
	CHECK(station_new(&cfg, &s, err, sizeof(err)) == ST_OK);
	CHECK(s && station_count(s) == 1 && station_find(s, "") == NULL);
	CHECK(s && strstr(station_csp(s), "connect-src 'self';") != NULL);
	station_free(s);
	CHECK(station_find(NULL, "") == NULL);
	CHECK(strstr(station_csp(NULL), "default-src 'none'") != NULL);
}

static void test_bounds(void)
{
	struct config cfg;
	struct station *s = NULL;
	char err[256] = "", name[32];

	config_defaults(&cfg);
	snprintf(cfg.web_dir, sizeof(cfg.web_dir), "%s", dir);
	for (int i = 0; i < STATION_FILES_MAX + 1; i++) {
		snprintf(name, sizeof(name), "f%02d.txt", i);
		put(name, "x");
	}
	CHECK(station_new(&cfg, &s, err, sizeof(err)) == ST_INVALID && !s);
	CHECK(strstr(err, "more than") != NULL);
}

int main(void)
{
	char tmpl[] = "/tmp/test_station.XXXXXX";

	if (!mkdtemp(tmpl))
		return 1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	log_threshold = LOG_ERROR;
	test_names();
	test_load();
	test_bounds();
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return t_done();
}
