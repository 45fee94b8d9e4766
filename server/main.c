/*
 * main.c - waybilld: configuration, keys, storage, the listener, and a
 * clean stop on SIGTERM or SIGINT (stop accepting, drain, close).
 *
 * It refuses to start, with one line on stderr, on a bad key file, a
 * database that fails its quick check, or a broken audit chain.
 */
#include "common.h"

#include <sys/stat.h>
#include "app.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "label.h"
#include "log.h"
#include "store.h"

#include <pthread.h>
#include <signal.h>

#define DRAIN_TIMEOUT_S 10

int main(int argc, char **argv)
{
	static struct app app;
	struct http_server *http = NULL;
	char err[512];
	bool help;
	sigset_t sigs;
	int sig = 0;
	enum log_level lvl;

	log_progname = "waybilld";
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

	if (crypto_init() != ST_OK)
		fatal("libsodium failed to initialise");
	if (keyring_load(app.cfg.key_file, &app.kr, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (label_ctx_new(app.cfg.templates, app.cfg.font, &app.labels, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (store_open(app.cfg.db, app.kr, &app.store, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	if (http_start(&app, &http, err, sizeof(err)) != ST_OK)
		fatal("%s", err);
	log_info("waybilld ready (key version %u)", keyring_current(app.kr));

	while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
		log_info("SIGHUP ignored: restart to reload the configuration");
	log_info("signal %d: draining", sig);
	http_stop(http, DRAIN_TIMEOUT_S);
	store_close(app.store);
	label_ctx_free(app.labels);
	keyring_free(app.kr);
	log_info("stopped");
	return 0;
}
