/*
 * config.c - one table of options: name, type, default, bounds, help.
 * Everything that reads options reads struct config; nothing else parses.
 */
#include "common.h"
#include "config.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>

enum opt_type { OPT_STR, OPT_LONG };

struct opt {
	const char *name;
	enum opt_type type;
	size_t off;
	size_t size; /* for strings */
	const char *def;
	long min, max;
	bool (*check)(const char *value);
	const char *help;
};

static bool check_prefix(const char *v)
{
	size_t n = strlen(v);

	if (n < 2 || n > 4)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 'A' || v[i] > 'Z')
			return false;
	return true;
}

static bool check_level(const char *v)
{
	enum log_level l;
	return log_level_parse(v, &l);
}

static bool check_listen(const char *v)
{
	const char *colon = strrchr(v, ':');
	char *end;
	long port;

	if (!colon || colon == v)
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return errno == 0 && *end == '\0' && port > 0 && port < 65536;
}

static bool check_listen_or_none(const char *v)
{
	return !*v || check_listen(v);
}

/* A numeric IPv4 or IPv6 address (no brackets, no port), or empty for none. */
static bool check_address(const char *v)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return !*v || inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1;
}

/* Printable ASCII without quotes or backslashes: it goes into a page's JSON and URLs. */
static bool check_token_chars(const char *v)
{
	for (; *v; v++)
		if (*v < ' ' || *v > '~' || *v == '"' || *v == '\\' || *v == '<' || *v == '>')
			return false;
	return true;
}

#define S(field) OPT_STR, offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define L(field) OPT_LONG, offsetof(struct config, field), 0

static const struct opt opts[] = {
    {"listen", S(listen), "127.0.0.1:8080", 0, 0, check_listen, "address and port (HOST:PORT)"},
    {"metrics_listen", S(metrics_listen), "", 0, 0, check_listen_or_none,
     "HOST:PORT serving only /metrics (plain HTTP); the API then answers 404 for it"},
    {"trusted_proxy", S(trusted_proxy), "", 0, 0, check_address,
     "the reverse proxy's address: X-Forwarded-For is believed from it alone"},
    {"db", S(db), "var/waybill.db", 0, 0, NULL, "SQLite database file, or a postgresql:// URL"},
    {"min_free_mb", L(min_free_mb), "64", 0, 1048576, NULL,
     "refuse writes (503) below this much free space beside db (0 = no bound)"},
    {"key_file", S(key_file), "var/waybill.key", 0, 0, NULL, "root key file (mode 0600)"},
    {"audit_checkpoints", S(audit_checkpoints), "var/audit.checkpoints", 0, 0, NULL,
     "append-only file of signed audit checkpoints"},
    {"audit_checkpoint_s", L(audit_checkpoint_s), "60", 1, 86400, NULL,
     "how often a signed audit checkpoint is written"},
    {"tls_cert", S(tls_cert), "", 0, 0, NULL, "PEM certificate; HTTPS when set with tls_key"},
    {"tls_key", S(tls_key), "", 0, 0, NULL, "PEM private key, mode 0600"},
    {"templates", S(templates), "templates", 0, 0, NULL, "label template directory"},
    {"font", S(font), "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, 0, NULL,
     "CJK TrueType font for labels"},
    {"threads", L(threads), "0", 0, 64, NULL, "HTTP worker threads (0 = one per core)"},
    {"tracking_prefix", S(tracking_prefix), "WB", 0, 0, check_prefix,
     "tracking number prefix, 2-4 capital letters"},
    {"vnum_pool", S(vnum_pool), "17000000000-17000000099", 0, 0, NULL,
     "virtual numbers, ranges joined by commas"},
    {"vnum_grace_hours", L(vnum_grace_hours), "24", 0, 24 * 365, NULL,
     "binding life after delivery (0 ends it at delivery)"},
    {"vnum_quarantine_days", L(vnum_quarantine_days), "7", 0, 365, NULL,
     "days an ended extension rests before reuse"},
    {"retention_days", L(retention_days), "30", 0, 3650, NULL,
     "erase personal data this long after delivery, return or cancellation"},
    {"retention_open_days", L(retention_open_days), "180", 1, 3650, NULL,
     "erase personal data of orders that never reach a final state this long after creation"},
    {"purge_interval_s", L(purge_interval_s), "3600", 1, 86400 * 7, NULL,
     "how often the daemon purges by itself"},
    {"admin_reveals_per_day", L(admin_reveals_per_day), "20", 0, 100000, NULL,
     "full reveals per admin account per day"},
    {"admin_max_auth_age_s", L(admin_max_auth_age_s), "0", 0, 86400 * 30, NULL,
     "an OIDC admin's reveal needs a login (auth_time) this recent (0 = any)"},
    {"label_reprints_max", L(label_reprints_max), "3", 0, 1000, NULL,
     "prints of one label after the first"},
    {"call_routes_per_hour", L(call_routes_per_hour), "30", 1, 1000000, NULL,
     "call routes per caller number per hour"},
    {"call_routes_per_token_per_minute", L(call_routes_per_token_per_minute), "600", 1, 1000000,
     NULL, "call routes per telephony token per minute"},
    {"auth_failures_per_minute", L(auth_failures_per_minute), "60", 1, 1000000, NULL,
     "401s per client address per minute before they answer 429"},
    {"miss_limit", L(miss_limit), "30", 1, 1000000, NULL,
     "404s per token per 10 minutes before 429"},
    {"cluster_size", L(cluster_size), "1", 1, 64, NULL,
     "daemons sharing one PostgreSQL db: per-process limits are divided by it"},
    {"db_timeout_s", L(db_timeout_s), "5", 1, 600, NULL,
     "PostgreSQL: longest a write's statement or commit may wait (a lock, the synchronous "
     "standby); past it the batch answers 503 and /readyz says store"},
    {"max_batch_labels", L(max_batch_labels), "500", 1, 500, NULL, "labels per batch request"},
    {"conn_timeout_s", L(conn_timeout_s), "10", 1, 3600, NULL,
     "idle connection timeout in seconds"},
    {"max_conns_per_ip", L(max_conns_per_ip), "256", 1, 65535, NULL,
     "concurrent connections per client address"},
    {"max_connections", L(max_connections), "4096", 16, 1000000, NULL,
     "concurrent connections in all (kept below the open-file limit)"},
    {"header_timeout_s", L(header_timeout_s), "10", 1, 3600, NULL,
     "time for a request's line and headers, however slowly they trickle"},
    {"body_timeout_s", L(body_timeout_s), "60", 1, 3600, NULL,
     "time for a request's body once its headers are in"},
    {"drain_s", L(drain_s), "10", 1, 600, NULL,
     "time SIGTERM gives requests in flight before the daemon stops"},
    {"sort_table", S(sort_table), "", 0, 0, NULL,
     "routing table (TSV: province, city, district, street prefix, sort code, hub code, hub "
     "name); re-read on SIGHUP"},
    {"printers", S(printers), "", 0, 0, NULL,
     "depot printers (name, depot, host:port, language, dpi, size); re-read on SIGHUP"},
    {"printer_connect_timeout_ms", L(printer_connect_timeout_ms), "3000", 100, 60000, NULL,
     "time to connect to a depot printer before its job fails"},
    {"printer_write_timeout_ms", L(printer_write_timeout_ms), "10000", 100, 600000, NULL,
     "time a depot printer may stall taking a job's bytes before the job fails"},
    {"print_jobs_per_depot", L(print_jobs_per_depot), "100", 1, 100000, NULL,
     "print jobs queued or sending per depot before new ones answer 429"},
    {"log_level", S(log_level), "info", 0, 0, check_level, "error, warn, info or debug"},
    {"oidc_issuer", S(oidc_issuer), "", 0, 0, NULL,
     "OpenID provider's issuer URL (http or https); bearer JWTs from it are accepted when set"},
    {"oidc_client_id", S(oidc_client_id), "", 0, 0, NULL, "this API's client id at the provider"},
    {"oidc_audience", S(oidc_audience), "", 0, 0, NULL,
     "the aud a token must hold (empty: oidc_client_id)"},
    {"oidc_role_claim", S(oidc_role_claim), "groups", 0, 0, NULL,
     "claim holding the groups (string or array) that oidc_role_map turns into a role"},
    {"oidc_depot_claim", S(oidc_depot_claim), "depot", 0, 0, NULL,
     "claim holding the depot code of couriers and depot staff"},
    {"oidc_name_claim", S(oidc_name_claim), "preferred_username", 0, 0, NULL,
     "claim naming the person, unique at the provider (actor oidc:NAME)"},
    {"oidc_role_map", S(oidc_role_map), "", 0, 0, NULL,
     "GROUP=ROLE pairs joined by commas (empty: group names are role names)"},
    {"web_dir", S(web_dir), "web", 0, 0, NULL,
     "the station's page files, served at /station/ (read once at start)"},
    {"station_client_id", S(station_client_id), "waybill-station", 0, 0, check_token_chars,
     "the station pages' public client id at oidc_issuer (code flow with PKCE, no secret)"},
    {"station_scope", S(station_scope), "openid", 0, 0, check_token_chars,
     "scopes the station pages ask the provider for, joined by spaces"},
};

static const struct opt *opt_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (strlen(opts[i].name) == len && memcmp(opts[i].name, name, len) == 0)
			return &opts[i];
	return NULL;
}

static enum st opt_apply(struct config *c, const struct opt *o, const char *value, char *err,
			 size_t errlen)
{
	char *base = (char *)c + o->off;

	if (o->type == OPT_STR) {
		if (strlen(value) >= o->size) {
			snprintf(err, errlen, "%s: value too long (max %zu bytes)", o->name,
				 o->size - 1);
			return ST_INVALID;
		}
		if (o->check && !o->check(value)) {
			snprintf(err, errlen, "%s: invalid value \"%s\" (%s)", o->name, value,
				 o->help);
			return ST_INVALID;
		}
		memcpy(base, value, strlen(value) + 1);
		return ST_OK;
	}
	{
		char *end;
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || end == value || *end != '\0' || v < o->min || v > o->max) {
			snprintf(err, errlen, "%s: want an integer in %ld..%ld, got \"%s\"",
				 o->name, o->min, o->max, value);
			return ST_INVALID;
		}
		memcpy(base, &v, sizeof(v));
	}
	return ST_OK;
}

void config_defaults(struct config *c)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (opt_apply(c, &opts[i], opts[i].def, err, sizeof(err)) != ST_OK)
			fatal("bad built-in default: %s", err);
}

enum st config_set(struct config *c, const char *name, const char *value, char *err, size_t errlen)
{
	const struct opt *o = opt_find(name, strlen(name));

	if (!o) {
		snprintf(err, errlen, "unknown option \"%s\"", name);
		return ST_INVALID;
	}
	return opt_apply(c, o, value, err, errlen);
}

static char *trim(char *s)
{
	char *e;

	while (*s && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static enum st config_file(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[2048], msg[512];
	FILE *f = fopen(path, "r");
	unsigned lineno = 0;
	enum st st = ST_OK;

	if (!f) {
		snprintf(err, errlen, "config %s: %s", path, strerror(errno));
		return ST_INVALID;
	}
	while (fgets(line, sizeof(line), f)) {
		char *eq, *k, *v, *hash;
		bool whole = strchr(line, '\n') || feof(f);

		lineno++;
		/* A line longer than the buffer: drop the rest; only a comment may be that long. */
		if (!whole) {
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		k = trim(line);
		if (!*k)
			continue;
		if (!whole) {
			snprintf(err, errlen, "config %s:%u: %.*s: line too long", path, lineno,
				 (int)strcspn(k, " \t="), k);
			st = ST_INVALID;
			break;
		}
		eq = strchr(k, '=');
		if (!eq) {
			snprintf(err, errlen, "config %s:%u: want \"key = value\"", path, lineno);
			st = ST_INVALID;
			break;
		}
		*eq = '\0';
		v = trim(eq + 1);
		k = trim(k);
		if (config_set(c, k, v, msg, sizeof(msg)) != ST_OK) {
			snprintf(err, errlen, "config %s:%u: %s", path, lineno, msg);
			st = ST_INVALID;
			break;
		}
	}
	fclose(f);
	return st;
}

/* "--key-name" -> "key_name"; false when it is not a long option. */
static bool flag_name(const char *arg, char *out, size_t outlen)
{
	size_t n;

	if (strncmp(arg, "--", 2) != 0)
		return false;
	arg += 2;
	n = strcspn(arg, "=");
	if (n == 0 || n >= outlen)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = arg[i] == '-' ? '_' : arg[i];
	out[n] = '\0';
	return true;
}

enum st config_load(struct config *c, int argc, char **argv, bool *help, char *err, size_t errlen)
{
	const char *file = getenv("WAYBILL_CONFIG");
	char name[64], msg[512];

	*help = false;
	/* The file first, wherever --config stands. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			file = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			file = argv[i] + 9;
	}
	if (file && *file && config_file(c, file, err, errlen) != ST_OK)
		return ST_INVALID;

	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		char env[80];
		const char *v;
		size_t k;

		k = (size_t)snprintf(env, sizeof(env), "WAYBILL_%s", opts[i].name);
		for (size_t j = 8; j < k; j++)
			env[j] = (char)toupper((unsigned char)env[j]);
		v = getenv(env);
		if (v && opt_apply(c, &opts[i], v, msg, sizeof(msg)) != ST_OK) {
			snprintf(err, errlen, "%s: %s", env, msg);
			return ST_INVALID;
		}
	}

	for (int i = 1; i < argc; i++) {
		const char *v, *eq;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			*help = true;
			return ST_OK;
		}
		if (!flag_name(argv[i], name, sizeof(name))) {
			snprintf(err, errlen, "unexpected argument \"%s\" (try --help)", argv[i]);
			return ST_INVALID;
		}
		eq = strchr(argv[i], '=');
		if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			snprintf(err, errlen, "%s needs a value", argv[i]);
			return ST_INVALID;
		}
		if (strcmp(name, "config") == 0)
			continue;
		if (config_set(c, name, v, msg, sizeof(msg)) != ST_OK) {
			snprintf(err, errlen, "%s", msg);
			return ST_INVALID;
		}
	}
	if (!!c->tls_cert[0] != !!c->tls_key[0]) {
		snprintf(err, errlen, "tls_cert and tls_key must be set together");
		return ST_INVALID;
	}
	return ST_OK;
}

void config_usage(FILE *f)
{
	fprintf(f, "usage: waybilld [--config FILE] [--OPTION VALUE]...\n"
		   "       waybilld --version\n\n"
		   "Options (file key, --flag form, WAYBILL_ environment form):\n");
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		char flag[64];
		size_t n = strlen(opts[i].name);

		for (size_t j = 0; j <= n; j++)
			flag[j] = opts[i].name[j] == '_' ? '-' : opts[i].name[j];
		if (opts[i].type == OPT_LONG)
			fprintf(f, "  --%-24s %s (default \"%s\", %ld..%ld)\n", flag, opts[i].help,
				opts[i].def, opts[i].min, opts[i].max);
		else
			fprintf(f, "  --%-24s %s (default \"%s\")\n", flag, opts[i].help,
				opts[i].def);
	}
}
