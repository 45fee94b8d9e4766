/*
 * main.c - waybilld: configuration, keys, storage, the listener, and a
 * clean stop on SIGTERM or SIGINT (stop accepting, drain, close).
 *
 * It refuses to start, with one line on stderr, on a bad key file, an
 * audit chain that is behind (or contradicts) the last signed checkpoint
 * in its file, or whose entries after that checkpoint do not link.  The
 * database's quick check and the walk of the whole chain read everything,
 * so they run beside serving (auditcp.c): a failure turns /readyz to 503.
 */
#include "common.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include "app.h"
#include "auditcp.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "label.h"
#include "limits.h"
#include "mask.h"
#include "order.h"
#include "retention.h"
#include "printer.h"
#include "printjob.h"
#include "sort.h"
#include "vnum.h"
#include "log.h"
#include "notify.h"
#include "oidc.h"
#include "station.h"
#include "store.h"
#include "version.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define LIMITER_KEYS 65536

/*
 * Each label size must print this deployment's tracking numbers.  The
 * template loader already sizes barcode zones for the longest prefix, so
 * this is a render of each size at start, as a smoke test of the font and
 * templates: fatal for the default size, a warning for the others (their
 * requests would then answer 422 size_too_small).
 */
static void labels_check(const struct app *app)
{
	static const char *const sizes[] = {"100x150", "100x180", "76x130"};
	struct label_fields f;

	memset(&f, 0, sizeof(f));
	tn_generate(app->cfg.tracking_prefix, f.tracking_no);
	snprintf(f.dest.province, sizeof(f.dest.province), "北京市");
	snprintf(f.dest.city, sizeof(f.dest.city), "北京市");
	snprintf(f.dest.district, sizeof(f.dest.district), "朝阳区");
	f.sndr = f.dest;
	mask_name("张三", &f.rcpt_name);
	mask_name("李四", &f.sndr_name);
	mask_phone("+8613800000000", &f.rcpt_phone);
	mask_phone("+8613900000000", &f.sndr_phone);
	mask_address("建国路1号", &f.rcpt_address);
	f.weight_g = 1;
	f.count = 1;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		const struct label_tmpl *t = label_tmpl_find(app->labels, sizes[i]);
		unsigned char *pdf = NULL;
		size_t len = 0;

		if (!t)
			fatal("templates: no template for label size %s", sizes[i]);
		if (label_render(app->labels, t, &f, 1, &pdf, &len) != ST_OK) {
			if (i == 0)
				fatal(
				    "templates: size %s cannot print tracking numbers with prefix "
				    "%s (the barcode does not fit its zone)",
				    sizes[i], app->cfg.tracking_prefix);
			log_warn("templates: size %s cannot print tracking numbers with prefix %s "
				 "(the barcode does not fit its zone); requests for it answer 422",
				 sizes[i], app->cfg.tracking_prefix);
		}
		free(pdf);
	}
}

/* A printer's size must be one of the label templates. */
static bool printer_size_ok(const char *size, void *arg)
{
	return label_tmpl_find(arg, size) != NULL;
}

/* As many open files as the hard limit allows: each connection holds one. */
static void nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("cannot raise the open-file limit: %s", strerror(errno));
}

/*
 * One daemon's share of a per-process limit when cluster_size daemons
 * serve together (README, cluster_size): the limit divided, at least 1.
 */
static long cluster_share(long limit, long daemons)
{
	long share = daemons > 1 ? limit / daemons : limit;
	return share > 0 ? share : 1;
}

int main(int argc, char **argv)
{
	static struct app app;
	struct http_server *http = NULL;
	struct auditcp *cp = NULL;
	char err[512];
	bool help;
	sigset_t sigs;
	int sig = 0;
	enum log_level lvl;
	const struct rlimit no_core = {0, 0};

	log_progname = "waybilld";
	/* No core file, no ptrace by our own user: either would hold opened orders and keys. */
	if (setrlimit(RLIMIT_CORE, &no_core) != 0 || prctl(PR_SET_DUMPABLE, 0) != 0)
		fatal("cannot turn core dumps off: %s", strerror(errno));
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--version") == 0) {
			printf("waybilld %s (commit %s)\n", waybill_version, waybill_commit);
			return 0;
		}
	umask(077); /* the database, its WAL and any key file: owner only */
	config_defaults(&app.cfg);
	if (config_load(&app.cfg, argc, argv, &help, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (help) {
		config_usage(stdout);
		return 0;
	}
	if (log_level_parse(app.cfg.log_level, &lvl))
		log_threshold = lvl;

	/* Every thread made from here on inherits the blocked signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	nofile_raise();

	/* Everything that can refuse a start is checked before anything is opened. */
	if (app.cfg.tls_cert[0] && access(app.cfg.tls_cert, R_OK) != 0)
		fatal("tls_cert %s: %s", app.cfg.tls_cert, strerror(errno));
	if (app.cfg.tls_key[0] && access(app.cfg.tls_key, R_OK) != 0)
		fatal("tls_key %s: %s", app.cfg.tls_key, strerror(errno));
	if (app.cfg.tls_key[0]) {
		struct stat sb;
		if (stat(app.cfg.tls_key, &sb) == 0 && (sb.st_mode & (S_IRWXG | S_IRWXO)))
			fatal("tls_key %s: mode %03o lets group or others in; chmod 600 it",
			      app.cfg.tls_key, (unsigned)(sb.st_mode & 0777));
	}
	if (crypto_init() != ST_OK)
		fatal("libsodium failed to initialise");
	if (keyring_load(app.cfg.key_file, &app.kr, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (label_ctx_new(app.cfg.templates, app.cfg.font, &app.labels, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	labels_check(&app);
	if (sorter_new(app.cfg.sort_table, &app.sort, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (app.cfg.sort_table[0])
		log_info("sort_table: %zu routes", sorter_count(app.sort));
	if (printers_new(app.cfg.printers, printer_size_ok, app.labels, &app.printers, err,
			 sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (app.cfg.printers[0])
		log_info("printers: %zu", printers_count(app.printers));
	if (store_open(app.cfg.db, STORE_DAEMON, app.kr, &app.store, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	store_set_min_free(app.store, (uint64_t)app.cfg.min_free_mb << 20);
	store_set_write_timeout(app.store, (unsigned)app.cfg.db_timeout_s * 1000u);
	/* The chain must still hold the last signed checkpoint (not shortened meanwhile). */
	if (auditcp_open(app.cfg.audit_checkpoints, app.kr, app.store, &cp, err, sizeof(err)) !=
	    ST_OK)
		fatal("%s", err);
	app.audit_cp = cp;
	{
		/* The configured pool becomes the pool; on a full disk the daemon starts
		 * unready (/readyz 503 "disk") and housekeeping records it later. */
		struct vnum_pool pool;
		enum st pst;

		if (vnum_pool_parse(app.cfg.vnum_pool, &pool, err, sizeof(err)) != ST_OK)
			fatal("%s", err);
		vnum_pool_release(&pool);
		pst = retention_pool_record(&app, err, sizeof(err));
		if (pst == ST_UNAVAILABLE) {
			log_warn("%s; starting unready, retried every second", err);
			atomic_store(&app.pool_pending, true);
		} else if (pst != ST_OK) {
			fatal("%s", err);
		}
	}
	/* Each daemon of a cluster counts its own share: together they never pass the limit. */
	app.cfg.miss_limit = cluster_share(app.cfg.miss_limit, app.cfg.cluster_size);
	app.cfg.call_routes_per_hour =
	    cluster_share(app.cfg.call_routes_per_hour, app.cfg.cluster_size);
	app.cfg.call_routes_per_token_per_minute =
	    cluster_share(app.cfg.call_routes_per_token_per_minute, app.cfg.cluster_size);
	app.cfg.auth_failures_per_minute =
	    cluster_share(app.cfg.auth_failures_per_minute, app.cfg.cluster_size);
	app.misses = limiter_new(600, (unsigned)app.cfg.miss_limit, LIMITER_KEYS);
	app.call_routes = limiter_new(3600, (unsigned)app.cfg.call_routes_per_hour, LIMITER_KEYS);
	app.call_tokens =
	    limiter_new(60, (unsigned)app.cfg.call_routes_per_token_per_minute, LIMITER_KEYS);
	if (!app.misses || !app.call_routes || !app.call_tokens)
		fatal("out of memory");
	if (oidc_new(&app.cfg, app.kr, &app.oidc, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	oidc_start(app.oidc);
	/* Jobs a crash caught sending become interrupted; queued ones resume. */
	if (printq_start(&app, &app.printq, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (station_new(&app.cfg, &app.station, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (http_start(&app, &http, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	log_info("waybilld %s (commit %s)", waybill_version, waybill_commit);
	if (retention_start(&app) != ST_OK)
		fatal("cannot start the housekeeping thread");
	if (auditcp_start(cp, app.cfg.audit_checkpoint_s) != ST_OK)
		fatal("cannot start the audit checkpoint thread");
	log_info("waybilld ready (key version %u)", keyring_current(app.kr));
	notify_ready();

	while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
		if (retention_keys_refresh(&app, NULL) == ST_OK)
			log_info("SIGHUP: key file re-read (current version %u); other settings "
				 "need a restart",
				 keyring_current(app.kr));
		if (sorter_reload(app.sort, err, sizeof(err)) != ST_OK)
			log_error("SIGHUP: %s; the old routing table stays", err);
		else if (app.cfg.sort_table[0])
			log_info("SIGHUP: sort_table re-read (%zu routes)", sorter_count(app.sort));
		if (printers_reload(app.printers, err, sizeof(err)) != ST_OK)
			log_error("SIGHUP: %s; the old printers stay", err);
		else if (app.cfg.printers[0])
			log_info("SIGHUP: printers re-read (%zu)", printers_count(app.printers));
	}
	log_info("signal %d: draining", sig);
	notify_stopping();
	if (http_stop(http, (int)app.cfg.drain_s) != ST_OK) {
		/* Answers still owed: every acknowledged write is durable, but no clean stop. */
		log_error("stopped without a clean drain");
		_exit(1);
	}
	printq_stop(app.printq); /* a send in progress ends within its timeouts */
	app.printq = NULL;
	retention_stop();
	auditcp_close(cp); /* the stop checkpoint: after the last write */
	store_close(app.store);
	label_ctx_free(app.labels);
	sorter_free(app.sort);
	printers_free(app.printers);
	limiter_free(app.misses);
	limiter_free(app.call_routes);
	limiter_free(app.call_tokens);
	oidc_free(app.oidc);
	station_free(app.station);
	keyring_free(app.kr);
	log_info("stopped");
	return 0;
}
