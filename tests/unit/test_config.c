/*
 * test_config.c - the option table of config.h: the defaults of docs/API.md,
 * the order file < environment < flag, and what each source refuses (with
 * a message that names the key, and the line for a file).
 */
#include "../../server/common.h"
#include "../../server/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "t.h"

extern char **environ;

static char dir[256];
static int nfile;

/* ---- helpers ----------------------------------------------------------- */

/* Every WAYBILL_* variable out of the environment. */
static void env_clear(void)
{
	for (;;) {
		char name[256];
		bool found = false;

		for (char **e = environ; *e; e++) {
			if (strncmp(*e, "WAYBILL_", 8) == 0) {
				size_t n = strcspn(*e, "=");
				snprintf(name, sizeof(name), "%.*s", (int)n, *e);
				found = true;
				break;
			}
		}
		if (!found)
			return;
		unsetenv(name);
	}
}

/* A temp config file with this text; the path is static until the next call. */
static const char *conf_file(const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/c%d.conf", dir, nfile++);
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return path;
	}
	fputs(text, f);
	fclose(f);
	return path;
}

/*
 * config_load on defaults with argv built from a NULL-terminated list
 * (argv[0] added).  err gets the message.
 */
static enum st load_args(struct config *c, const char *const *args, char *err, size_t errlen)
{
	char *argv[32];
	int argc = 0;
	bool help = false;

	argv[argc++] = (char *)"waybilld";
	for (size_t i = 0; args && args[i] && argc < 31; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	config_defaults(c);
	err[0] = '\0';
	return config_load(c, argc, argv, &help, err, errlen);
}

/* ---- the field each key sets, as a string (written from docs/API.md) -------- */

struct field {
	const char *key;
	bool is_long;
	size_t off;
};

#define FS(k)                                                                                      \
	{                                                                                          \
#k, false, offsetof(struct config, k)                                              \
	}
#define FL(k)                                                                                      \
	{                                                                                          \
#k, true, offsetof(struct config, k)                                               \
	}

static const struct field fields[] = {
    FS(listen),
    FS(trusted_proxy),
    FS(db),
    FS(key_file),
    FS(tls_cert),
    FS(tls_key),
    FL(threads),
    FS(tracking_prefix),
    FS(vnum_pool),
    FL(vnum_grace_hours),
    FL(retention_days),
    FL(retention_open_days),
    FL(purge_interval_s),
    FL(admin_reveals_per_day),
    FL(label_reprints_max),
    FL(call_routes_per_hour),
    FL(call_routes_per_token_per_minute),
    FL(auth_failures_per_minute),
    FL(miss_limit),
    FL(max_batch_labels),
    FS(log_level),
};

static const struct field *field_of(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

/* The value of key in c, formatted as a config file would write it. */
static const char *value_of(const struct config *c, const char *key, char *buf, size_t cap)
{
	const struct field *f = field_of(key);
	const char *base = (const char *)c;

	if (!f)
		return "(no such field)";
	if (f->is_long) {
		long v;
		memcpy(&v, base + f->off, sizeof(v));
		snprintf(buf, cap, "%ld", v);
	} else {
		snprintf(buf, cap, "%s", base + f->off);
	}
	return buf;
}

/* ---- defaults ---------------------------------------------------------- */

/* docs/API.md "Configuration": key and default. */
static const struct {
	const char *key, *def;
} defaults[] = {
    {"listen", "127.0.0.1:8080"},
    {"db", "var/waybill.db"},
    {"key_file", "var/waybill.key"},
    {"tls_cert", ""},
    {"tls_key", ""},
    {"threads", "0"},
    {"tracking_prefix", "WB"},
    {"vnum_pool", "17000000000-17000000099"},
    {"vnum_grace_hours", "24"},
    {"retention_days", "30"},
    {"retention_open_days", "180"},
    {"purge_interval_s", "3600"},
    {"admin_reveals_per_day", "20"},
    {"label_reprints_max", "3"},
    {"call_routes_per_hour", "30"},
    {"call_routes_per_token_per_minute", "600"},
    {"auth_failures_per_minute", "60"},
    {"miss_limit", "30"},
    {"max_batch_labels", "500"},
    {"log_level", "info"},
};

static void test_defaults(void)
{
	struct config c;
	char err[512], buf[1100];

	config_defaults(&c);
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		CHECK_STR(value_of(&c, defaults[i].key, buf, sizeof(buf)), defaults[i].def);

	/* config_load with nothing set keeps them all. */
	CHECK(load_args(&c, NULL, err, sizeof(err)) == ST_OK);
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		CHECK_STR(value_of(&c, defaults[i].key, buf, sizeof(buf)), defaults[i].def);

	/* Every default is itself a value config_set accepts. */
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		CHECK(config_set(&c, defaults[i].key, defaults[i].def, err, sizeof(err)) == ST_OK);

	/* --help says so and names every option as a flag with its default. */
	{
		const char *args[] = {"--help", NULL};
		char *argv[] = {(char *)"waybilld", (char *)args[0], NULL};
		bool help = false;
		FILE *f = tmpfile();
		char text[8192];
		size_t n = 0;

		config_defaults(&c);
		CHECK(config_load(&c, 2, argv, &help, err, sizeof(err)) == ST_OK);
		CHECK(help);
		if (f) {
			config_usage(f);
			rewind(f);
			n = fread(text, 1, sizeof(text) - 1, f);
			fclose(f);
		}
		text[n] = '\0';
		for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
			char flag[64], quoted[1100];
			size_t k;
			snprintf(flag, sizeof(flag), "--%s", defaults[i].key);
			for (k = 0; flag[k]; k++)
				if (flag[k] == '_')
					flag[k] = '-';
			snprintf(quoted, sizeof(quoted), "\"%s\"", defaults[i].def);
			if (!strstr(text, flag) || !strstr(text, quoted))
				fprintf(stderr, "usage lacks %s or %s\n", flag, quoted);
			CHECK(strstr(text, flag) != NULL);
			CHECK(strstr(text, quoted) != NULL);
		}
	}
}

/* ---- precedence -------------------------------------------------------- */

struct prec_case {
	const char *file; /* label_reprints_max in the file, or NULL */
	const char *env;  /* WAYBILL_LABEL_REPRINTS_MAX, or NULL */
	int flag;	  /* 0 none, 1 "--label-reprints-max 7", 2 "--label-reprints-max=7" */
	const char *want;
};

static const struct prec_case prec_cases[] = {
    {NULL, NULL, 0, "3"}, {"5", NULL, 0, "5"},	{NULL, "6", 0, "6"}, {"5", "6", 0, "6"},
    {NULL, NULL, 1, "7"}, {NULL, NULL, 2, "7"}, {"5", NULL, 1, "7"}, {"5", NULL, 2, "7"},
    {NULL, "6", 1, "7"},  {NULL, "6", 2, "7"},	{"5", "6", 1, "7"},  {"5", "6", 2, "7"},
};

static void test_precedence(void)
{
	char err[512], buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(prec_cases); i++) {
		const struct prec_case *p = &prec_cases[i];
		const char *args[8];
		size_t n = 0;
		struct config c;
		char text[256];
		enum st st;

		env_clear();
		if (p->file) {
			snprintf(text, sizeof(text), "# precedence\nlabel_reprints_max = %s\n",
				 p->file);
			args[n++] = "--config";
			args[n++] = conf_file(text);
		}
		if (p->env)
			setenv("WAYBILL_LABEL_REPRINTS_MAX", p->env, 1);
		if (p->flag == 1) {
			args[n++] = "--label-reprints-max";
			args[n++] = "7";
		} else if (p->flag == 2) {
			args[n++] = "--label-reprints-max=7";
		}
		args[n] = NULL;
		st = load_args(&c, args, err, sizeof(err));
		if (st != ST_OK)
			fprintf(stderr, "precedence case %zu: %s\n", i, err);
		CHECK(st == ST_OK);
		CHECK_STR(value_of(&c, "label_reprints_max", buf, sizeof(buf)), p->want);
		/* Nothing else moved. */
		CHECK_STR(value_of(&c, "miss_limit", buf, sizeof(buf)), "30");
	}
	env_clear();

	/* The file is read first wherever --config stands, and flags after it still win. */
	{
		const char *f = conf_file("label_reprints_max = 5\nmiss_limit = 9\n");
		char fcopy[512];
		const char *args[] = {"--label-reprints-max", "7", "--config", fcopy, NULL};
		struct config c;

		snprintf(fcopy, sizeof(fcopy), "%s", f);
		CHECK(load_args(&c, args, err, sizeof(err)) == ST_OK);
		CHECK(c.label_reprints_max == 7);
		CHECK(c.miss_limit == 9);
	}
	/* --config=FILE, and WAYBILL_CONFIG naming the file. */
	{
		char arg[600];
		const char *args[] = {arg, NULL};
		struct config c;

		snprintf(arg, sizeof(arg), "--config=%s", conf_file("miss_limit = 11\n"));
		CHECK(load_args(&c, args, err, sizeof(err)) == ST_OK);
		CHECK(c.miss_limit == 11);

		setenv("WAYBILL_CONFIG", conf_file("miss_limit = 12\n"), 1);
		CHECK(load_args(&c, NULL, err, sizeof(err)) == ST_OK);
		CHECK(c.miss_limit == 12);
		/* --config beats WAYBILL_CONFIG. */
		snprintf(arg, sizeof(arg), "--config=%s", conf_file("miss_limit = 13\n"));
		CHECK(load_args(&c, args, err, sizeof(err)) == ST_OK);
		CHECK(c.miss_limit == 13);
		env_clear();
	}
	/* Every option has an environment form and a flag form. */
	{
		static const struct {
			const char *key, *env, *flag, *value;
		} forms[] = {
		    {"listen", "WAYBILL_LISTEN", "--listen", "0.0.0.0:9090"},
		    {"db", "WAYBILL_DB", "--db", "/tmp/x.db"},
		    {"key_file", "WAYBILL_KEY_FILE", "--key-file", "/tmp/x.key"},
		    {"threads", "WAYBILL_THREADS", "--threads", "4"},
		    {"tracking_prefix", "WAYBILL_TRACKING_PREFIX", "--tracking-prefix", "ABCD"},
		    {"vnum_pool", "WAYBILL_VNUM_POOL", "--vnum-pool",
		     "17000000000-17000000009,17100000000-17100000009"},
		    {"vnum_grace_hours", "WAYBILL_VNUM_GRACE_HOURS", "--vnum-grace-hours", "0"},
		    {"retention_days", "WAYBILL_RETENTION_DAYS", "--retention-days", "0"},
		    {"purge_interval_s", "WAYBILL_PURGE_INTERVAL_S", "--purge-interval-s", "60"},
		    {"admin_reveals_per_day", "WAYBILL_ADMIN_REVEALS_PER_DAY",
		     "--admin-reveals-per-day", "5"},
		    {"call_routes_per_hour", "WAYBILL_CALL_ROUTES_PER_HOUR",
		     "--call-routes-per-hour", "8"},
		    {"miss_limit", "WAYBILL_MISS_LIMIT", "--miss-limit", "31"},
		    {"max_batch_labels", "WAYBILL_MAX_BATCH_LABELS", "--max-batch-labels", "50"},
		    {"log_level", "WAYBILL_LOG_LEVEL", "--log-level", "debug"},
		};
		for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
			const char *args[] = {forms[i].flag, forms[i].value, NULL};
			struct config c;
			char big[1100];

			env_clear();
			setenv(forms[i].env, forms[i].value, 1);
			CHECK(load_args(&c, NULL, err, sizeof(err)) == ST_OK);
			CHECK_STR(value_of(&c, forms[i].key, big, sizeof(big)), forms[i].value);
			env_clear();
			CHECK(load_args(&c, args, err, sizeof(err)) == ST_OK);
			CHECK_STR(value_of(&c, forms[i].key, big, sizeof(big)), forms[i].value);
		}
		env_clear();
	}
}

/* ---- refusals ---------------------------------------------------------- */

struct bad_case {
	const char *key, *value;
};

static const struct bad_case bad_values[] = {
    /* integers: out of range, not whole, not numbers */
    {"threads", "-1"},
    {"threads", "65"},
    {"threads", "12x"},
    {"threads", "x12"},
    {"threads", ""},
    {"threads", "1.5"},
    {"threads", "0x10"},
    {"threads", "99999999999999999999999"},
    {"label_reprints_max", "-1"},
    {"label_reprints_max", "12x"},
    {"label_reprints_max", "1001"},
    {"label_reprints_max", "3 4"},
    {"vnum_grace_hours", "-1"},
    {"vnum_grace_hours", "8761"},
    {"retention_days", "-1"},
    {"retention_days", "3651"},
    {"retention_days", "1e3"},
    {"retention_open_days", "0"}, /* 0 would erase every open order at the next purge */
    {"retention_open_days", "3651"},
    {"purge_interval_s", "0"},
    {"purge_interval_s", "604801"},
    {"admin_reveals_per_day", "-5"},
    {"admin_reveals_per_day", "100001"},
    {"call_routes_per_hour", "0"},
    {"call_routes_per_token_per_minute", "0"},
    {"call_routes_per_token_per_minute", "1000001"},
    {"auth_failures_per_minute", "0"},
    {"miss_limit", "0"},
    {"miss_limit", "-9223372036854775809"},
    {"max_batch_labels", "0"},
    {"max_batch_labels", "501"},
    /* prefix: 2-4 capital letters */
    {"tracking_prefix", "wb"},
    {"tracking_prefix", "W"},
    {"tracking_prefix", "ABCDE"},
    {"tracking_prefix", ""},
    {"tracking_prefix", "W1"},
    {"tracking_prefix", "Wb"},
    {"tracking_prefix", "W B"},
    {"tracking_prefix", "\xc3\x84\xc3\x84"},
    /* log level */
    {"log_level", "loud"},
    {"log_level", "INFO"},
    {"log_level", ""},
    {"log_level", "warning"},
    /* listen: HOST:PORT */
    {"listen", "127.0.0.1"},
    {"listen", "127.0.0.1:"},
    {"listen", ":8080"},
    {"listen", "127.0.0.1:0"},
    {"listen", "127.0.0.1:65536"},
    {"listen", "127.0.0.1:80x"},
    {"listen", "127.0.0.1:-80"},
    {"listen", ""},
    {"listen", "localhost"},
    /* trusted_proxy: one numeric address, nothing around it */
    {"trusted_proxy", "10.0.0.0/8"},
    {"trusted_proxy", "[::1]"},
    {"trusted_proxy", "127.0.0.1:8080"},
    {"trusted_proxy", "localhost"},
    {"trusted_proxy", "1.2.3"},
    {"trusted_proxy", "127.0.0.1,10.0.0.1"},
    {"trusted_proxy", "::1%lo"},
};

static const struct bad_case good_values[] = {
    {"threads", "0"},
    {"threads", "64"},
    {"label_reprints_max", "0"},
    {"label_reprints_max", "7"},
    {"retention_days", "0"},
    {"retention_open_days", "1"},
    {"vnum_grace_hours", "0"},
    {"max_batch_labels", "1"},
    {"max_batch_labels", "500"},
    {"tracking_prefix", "AB"},
    {"tracking_prefix", "ABC"},
    {"tracking_prefix", "ABCD"},
    {"log_level", "error"},
    {"log_level", "warn"},
    {"log_level", "info"},
    {"log_level", "debug"},
    {"listen", "0.0.0.0:1"},
    {"listen", "localhost:65535"},
    {"listen", "[::1]:8443"},
    {"trusted_proxy", ""},
    {"trusted_proxy", "127.0.0.1"},
    {"trusted_proxy", "::1"},
    {"trusted_proxy", "2001:db8::1"},
    {"trusted_proxy", "::ffff:10.0.0.1"},
};

static void test_bad_values(void)
{
	char err[512], buf[1100];

	for (size_t i = 0; i < ARRAY_SIZE(bad_values); i++) {
		const struct bad_case *b = &bad_values[i];
		struct config c, before;
		enum st st;

		/* config_set: refused, named, and the old value kept. */
		config_defaults(&c);
		before = c;
		err[0] = '\0';
		st = config_set(&c, b->key, b->value, err, sizeof(err));
		if (st == ST_OK)
			fprintf(stderr, "%s = \"%s\" accepted\n", b->key, b->value);
		CHECK(st == ST_INVALID);
		CHECK(strstr(err, b->key) != NULL);
		CHECK(memcmp(&c, &before, sizeof(c)) == 0);

		/* The flag form. */
		{
			char flag[128];
			const char *args[] = {flag, NULL};
			snprintf(flag, sizeof(flag), "--%s=%s", b->key, b->value);
			for (char *p = flag + 2; *p && *p != '='; p++)
				if (*p == '_')
					*p = '-';
			CHECK(load_args(&c, args, err, sizeof(err)) == ST_INVALID);
			CHECK(strstr(err, b->key) != NULL);
		}
		/* The environment form names the variable. */
		{
			char env[80];
			size_t k = (size_t)snprintf(env, sizeof(env), "WAYBILL_%s", b->key);
			for (size_t j = 8; j < k; j++)
				if (env[j] >= 'a' && env[j] <= 'z')
					env[j] = (char)(env[j] - 'a' + 'A');
			env_clear();
			setenv(env, b->value, 1);
			CHECK(load_args(&c, NULL, err, sizeof(err)) == ST_INVALID);
			CHECK(strstr(err, env) != NULL);
			env_clear();
		}
		/* The file form names the key and the line (3). */
		if (!strchr(b->value, '#') && b->value[0] &&
		    b->value[strlen(b->value) - 1] != ' ') {
			char text[512], want[64];
			const char *args[3] = {"--config", NULL, NULL};
			snprintf(text, sizeof(text), "# a comment\n\n%s = %s\n", b->key, b->value);
			args[1] = conf_file(text);
			CHECK(load_args(&c, args, err, sizeof(err)) == ST_INVALID);
			CHECK(strstr(err, b->key) != NULL);
			snprintf(want, sizeof(want), ":3:");
			CHECK(strstr(err, want) != NULL);
		}
		/* Messages are one line. */
		CHECK(strchr(err, '\n') == NULL);
	}

	for (size_t i = 0; i < ARRAY_SIZE(good_values); i++) {
		struct config c;
		enum st st;

		config_defaults(&c);
		st = config_set(&c, good_values[i].key, good_values[i].value, err, sizeof(err));
		if (st != ST_OK)
			fprintf(stderr, "%s = \"%s\" refused: %s\n", good_values[i].key,
				good_values[i].value, err);
		CHECK(st == ST_OK);
		CHECK_STR(value_of(&c, good_values[i].key, buf, sizeof(buf)), good_values[i].value);
	}

	/* Unknown keys, to config_set and as a flag. */
	{
		struct config c;
		const char *args[] = {"--colour", "red", NULL};
		const char *args2[] = {"stray", NULL};
		const char *args3[] = {"--label-reprints-max", NULL};

		config_defaults(&c);
		CHECK(config_set(&c, "colour", "red", err, sizeof(err)) == ST_INVALID);
		CHECK(strstr(err, "colour") != NULL);
		CHECK(config_set(&c, "", "red", err, sizeof(err)) == ST_INVALID);
		CHECK(config_set(&c, "label_reprints", "3", err, sizeof(err)) == ST_INVALID);
		CHECK(config_set(&c, "label_reprints_max_", "3", err, sizeof(err)) == ST_INVALID);
		CHECK(load_args(&c, args, err, sizeof(err)) == ST_INVALID);
		CHECK(strstr(err, "colour") != NULL);
		/* A positional argument, and a flag without its value. */
		CHECK(load_args(&c, args2, err, sizeof(err)) == ST_INVALID);
		CHECK(strstr(err, "stray") != NULL);
		CHECK(load_args(&c, args3, err, sizeof(err)) == ST_INVALID);
		CHECK(strstr(err, "label-reprints-max") != NULL);
	}
	/* Strings longer than their field. */
	{
		struct config c;
		char longv[2048];

		memset(longv, 'a', sizeof(longv) - 1);
		longv[sizeof(longv) - 1] = '\0';
		config_defaults(&c);
		CHECK(config_set(&c, "db", longv, err, sizeof(err)) == ST_INVALID);
		CHECK(strstr(err, "db") != NULL);
		CHECK_STR(c.db, "var/waybill.db");
		longv[sizeof(c.db) - 1] = '\0'; /* exactly fits */
		CHECK(config_set(&c, "db", longv, err, sizeof(err)) == ST_OK);
		CHECK(strlen(c.db) == sizeof(c.db) - 1);
		longv[sizeof(c.db)] = '\0';
		longv[sizeof(c.db) - 1] = 'a'; /* one more */
		CHECK(config_set(&c, "db", longv, err, sizeof(err)) == ST_INVALID);
	}
}

/* ---- config files ------------------------------------------------------ */

struct file_case {
	const char *what, *text;
	bool ok;
	const char *want_key, *want_value; /* ok: what it set */
	const char *err_has[3];		   /* !ok: substrings of the message */
};

static const struct file_case file_cases[] = {
    {"comments, blank lines, spacing",
     "# waybill\n"
     "\n"
     "   \n"
     "\t# indented comment\n"
     "label_reprints_max = 9   # trailing comment\n"
     "\n",
     true,
     "label_reprints_max",
     "9",
     {NULL}},
    {"no spaces around =", "miss_limit=44\n", true, "miss_limit", "44", {NULL}},
    {"tabs around =", "\tmiss_limit\t=\t45\t\n", true, "miss_limit", "45", {NULL}},
    {"CRLF line ends", "# dos\r\nmiss_limit = 46\r\n\r\n", true, "miss_limit", "46", {NULL}},
    {"no newline at the end", "miss_limit = 47", true, "miss_limit", "47", {NULL}},
    {"last one wins", "miss_limit = 1\nmiss_limit = 2\n", true, "miss_limit", "2", {NULL}},
    {"only comments", "# nothing\n#miss_limit = 1\n", true, "miss_limit", "30", {NULL}},
    {"empty file", "", true, "miss_limit", "30", {NULL}},
    {"value with = in it", "db = var/a=b.db\n", true, "db", "var/a=b.db", {NULL}},
    {"two ranges",
     "vnum_pool = 17000000000-17000000001,17100000000-17100000001\n",
     true,
     "vnum_pool",
     "17000000000-17000000001,17100000000-17100000001",
     {NULL}},
    {"unknown key, line 4",
     "# one\n\nmiss_limit = 5\ncolour = red\n",
     false,
     NULL,
     NULL,
     {":4:", "colour", NULL}},
    {"missing =, line 2",
     "miss_limit = 5\nlabel_reprints_max 4\n",
     false,
     NULL,
     NULL,
     {":2:", "key = value", NULL}},
    {"a bare word, line 1", "garbage\n", false, NULL, NULL, {":1:", NULL}},
    {"bad value, line 3",
     "\n\nlog_level = loud\n",
     false,
     NULL,
     NULL,
     {":3:", "log_level", "loud"}},
    {"key commented out, value left", "# miss_limit\n= 4\n", false, NULL, NULL, {":2:", NULL}},
    {"bad line after good ones",
     "miss_limit = 5\n# c\nthreads = 12x\n",
     false,
     NULL,
     NULL,
     {":3:", "threads", NULL}},
    {"listen without a port", "listen = 127.0.0.1\n", false, NULL, NULL, {":1:", "listen", NULL}},
};

static void test_files(void)
{
	char err[512], buf[1100];

	env_clear();
	for (size_t i = 0; i < ARRAY_SIZE(file_cases); i++) {
		const struct file_case *fc = &file_cases[i];
		const char *args[] = {"--config", conf_file(fc->text), NULL};
		struct config c;
		enum st st = load_args(&c, args, err, sizeof(err));

		if ((st == ST_OK) != fc->ok)
			fprintf(stderr, "file \"%s\": %s (%s)\n", fc->what, st_name(st), err);
		CHECK((st == ST_OK) == fc->ok);
		if (fc->ok) {
			CHECK_STR(value_of(&c, fc->want_key, buf, sizeof(buf)), fc->want_value);
			continue;
		}
		/* The message names the file and the line. */
		CHECK(strstr(err, args[1]) != NULL);
		for (size_t k = 0; k < 3 && fc->err_has[k]; k++) {
			if (!strstr(err, fc->err_has[k]))
				fprintf(stderr, "file \"%s\": \"%s\" lacks \"%s\"\n", fc->what, err,
					fc->err_has[k]);
			CHECK(strstr(err, fc->err_has[k]) != NULL);
		}
	}

	/* A missing file is refused, naming it. */
	{
		char path[512];
		const char *args[] = {"--config", path, NULL};
		struct config c;

		snprintf(path, sizeof(path), "%s/absent.conf", dir);
		CHECK(load_args(&c, args, err, sizeof(err)) == ST_INVALID);
		CHECK(strstr(err, path) != NULL);
	}
	/* A comment line longer than any buffer is still a comment. */
	{
		static char text[8192];
		const char *args[3] = {"--config", NULL, NULL};
		struct config c;
		size_t n = 0;
		enum st st;

		text[n++] = '#';
		memset(text + n, 'x', 5000);
		n += 5000;
		memcpy(text + n, "\nmiss_limit = 77\n", 18);
		args[1] = conf_file(text);
		st = load_args(&c, args, err, sizeof(err));
		if (st != ST_OK)
			fprintf(stderr, "long comment: %s\n", err);
		CHECK(st == ST_OK);
		CHECK(c.miss_limit == 77);
	}
	/* A value longer than any buffer is refused at its own line, not the next. */
	{
		static char text[8192];
		const char *args[3] = {"--config", NULL, NULL};
		struct config c;
		size_t n = 0;

		memcpy(text, "# long\ndb = ", 12);
		n = 12;
		memset(text + n, 'd', 5000);
		n += 5000;
		memcpy(text + n, "\nmiss_limit = 78\n", 18);
		args[1] = conf_file(text);
		CHECK(load_args(&c, args, err, sizeof(err)) == ST_INVALID);
		CHECK(strstr(err, ":2:") != NULL);
		CHECK(strstr(err, "db") != NULL);
	}
}

/* ---- TLS needs both halves --------------------------------------------- */

static void test_tls(void)
{
	struct {
		const char *what;
		const char *args[5];
		const char *file;
		const char *env_cert, *env_key;
		bool ok;
	} cases[] = {
	    {"neither", {NULL}, NULL, NULL, NULL, true},
	    {"both flags", {"--tls-cert", "c.pem", "--tls-key", "k.pem"}, NULL, NULL, NULL, true},
	    {"cert flag only", {"--tls-cert", "c.pem"}, NULL, NULL, NULL, false},
	    {"key flag only", {"--tls-key", "k.pem"}, NULL, NULL, NULL, false},
	    {"cert in file only", {NULL}, "tls_cert = c.pem\n", NULL, NULL, false},
	    {"both in file", {NULL}, "tls_cert = c.pem\ntls_key = k.pem\n", NULL, NULL, true},
	    {"cert in file, key in env", {NULL}, "tls_cert = c.pem\n", NULL, "k.pem", true},
	    {"cert in env only", {NULL}, NULL, "c.pem", NULL, false},
	    {"key in env only", {NULL}, NULL, NULL, "k.pem", false},
	    {"both in env", {NULL}, NULL, "c.pem", "k.pem", true},
	    {"both in file, key emptied by flag",
	     {"--tls-key="},
	     "tls_cert = c.pem\ntls_key = k\n",
	     NULL,
	     NULL,
	     false},
	};
	char err[512];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *args[8];
		size_t n = 0;
		struct config c;
		enum st st;

		env_clear();
		if (cases[i].file) {
			args[n++] = "--config";
			args[n++] = conf_file(cases[i].file);
		}
		for (size_t k = 0; k < 5 && cases[i].args[k]; k++)
			args[n++] = cases[i].args[k];
		args[n] = NULL;
		if (cases[i].env_cert)
			setenv("WAYBILL_TLS_CERT", cases[i].env_cert, 1);
		if (cases[i].env_key)
			setenv("WAYBILL_TLS_KEY", cases[i].env_key, 1);
		st = load_args(&c, args, err, sizeof(err));
		if ((st == ST_OK) != cases[i].ok)
			fprintf(stderr, "tls \"%s\": %s (%s)\n", cases[i].what, st_name(st), err);
		CHECK((st == ST_OK) == cases[i].ok);
		if (!cases[i].ok) {
			CHECK(strstr(err, "tls_cert") != NULL);
			CHECK(strstr(err, "tls_key") != NULL);
		}
	}
	env_clear();
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/waybill-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	env_clear();
	test_defaults();
	test_precedence();
	test_bad_values();
	test_files();
	test_tls();
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done();
}
