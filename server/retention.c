/*
 * retention.c - the purge, and the daemon's housekeeping thread.
 */
#include "common.h"
#include "retention.h"
#include "app.h"
#include "audit.h"
#include "log.h"
#include "vnum.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Seconds between the housekeeping thread's looks at the key file: a version
 * rotated in is sealed with, and opens, within a second of the rotation
 * (sealing and opening never read the file themselves). */
#define TICK_S 1

struct purge_job {
	const struct purge_policy *p;
	int64_t erased;
};

void retention_policy(const struct config *cfg, int64_t now, struct purge_policy *out)
{
	out->now = now;
	out->open_before = now - (int64_t)cfg->retention_open_days * 86400;
	out->rest_until = now + (int64_t)cfg->vnum_quarantine_days * 86400;
}

static enum st tx_purge(struct store *s, struct wjob *j)
{
	struct purge_job *pj = j->arg;
	enum st st = store_w_purge_batch(s, pj->p, RETENTION_BATCH, &pj->erased);

	if (st == ST_OK)
		snprintf(j->audit.reason, sizeof(j->audit.reason), "erased %lld orders",
			 (long long)pj->erased);
	/* An empty batch leaves no trace: the run that found nothing is not news. */
	if (st == ST_OK && pj->erased == 0)
		j->no_audit = true;
	return st;
}

enum st retention_run(struct store *s, const struct purge_policy *p, const char *actor,
		      const char *role, int64_t *erased)
{
	enum st st;

	*erased = 0;
	for (;;) {
		struct purge_job pj = {p, 0};
		struct wjob j = {0};

		audit_entry_init(&j.audit, actor, role, "retention.purge", NULL, NULL);
		j.fn = tx_purge;
		j.arg = &pj;
		st = store_run(s, &j);
		if (st != ST_OK)
			return st;
		*erased += pj.erased;
		if (pj.erased < RETENTION_BATCH)
			break;
	}
	if (*erased > 0)
		return store_checkpoint(s);
	return ST_OK;
}

static enum st tx_sweep(struct store *s, struct wjob *j)
{
	int64_t *n = j->arg;
	return store_w_binding_sweep(s, (int64_t)time(NULL), n);
}

/* Finished print jobs are kept retention_days (at least a day, so a depot can read how
 * its job ended), then deleted: the table does not grow without bound. */
struct jobs_purge {
	int64_t before; /* finished before this */
	int64_t n;
};

static enum st tx_jobs_purge(struct store *s, struct wjob *j)
{
	struct jobs_purge *jp = j->arg;
	enum st st = store_w_job_purge(s, jp->before, 1000, &jp->n);

	if (st == ST_OK && jp->n == 0)
		j->no_audit = true;
	else if (st == ST_OK)
		snprintf(j->audit.reason, sizeof(j->audit.reason), "deleted %lld finished jobs",
			 (long long)jp->n);
	return st;
}

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool stopping, started;

void retention_key_check(struct app *app)
{
	int fd = open(app->cfg.key_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int e = errno;
	bool was;

	if (fd >= 0)
		close(fd);
	was = atomic_exchange(&app->key_missing, fd < 0);
	if (fd < 0 && !was)
		log_error("keys: key file %s cannot be opened (%s); the loaded keys still serve, "
			  "/readyz answers 503 (key) until it is back",
			  app->cfg.key_file, strerror(e));
	else if (fd >= 0 && was)
		log_info("keys: key file %s can be opened again", app->cfg.key_file);
}

enum st retention_keys_refresh(struct app *app, bool *changed)
{
	char err[256];
	enum st st;
	bool ch = false;

	retention_key_check(app);
	st = keyring_refresh(app->kr, app->cfg.key_file, &ch, err, sizeof(err));
	if (st != ST_OK)
		log_warn("keys: %s", err);
	else if (ch)
		log_info("keys: key file changed; current version %u", keyring_current(app->kr));
	if (changed)
		*changed = ch;
	return st;
}

void retention_keys_need(struct app *app, uint32_t version)
{
	if (version > keyring_versions(app->kr))
		retention_keys_refresh(app, NULL);
}

static enum st tx_pool_sync(struct store *s, struct wjob *j)
{
	const struct vnum_pool *pool = j->arg;
	return store_w_vnum_sync(s, pool->nums, pool->n);
}

enum st retention_pool_record(struct app *app, char *err, size_t errlen)
{
	struct vnum_pool pool;
	struct wjob j = {0};
	enum st st;

	st = vnum_pool_parse(app->cfg.vnum_pool, &pool, err, errlen);
	if (st != ST_OK)
		return st;
	j.fn = tx_pool_sync;
	j.arg = &pool;
	j.no_audit = true;
	st = store_run(app->store, &j);
	if (st == ST_OK) {
		log_info("vnum: %zu numbers in the pool", pool.n);
		atomic_store(&app->pool_pending, false);
	} else {
		snprintf(err, errlen, "cannot record the virtual-number pool (%s)",
			 store_trouble(app->store) ? store_trouble(app->store) : st_name(st));
	}
	vnum_pool_release(&pool);
	return st;
}

static void *housekeeping(void *arg)
{
	struct app *app = arg;
	time_t next_purge = 0;

	pthread_setname_np(pthread_self(), "wb-housekeeping");
	pthread_mutex_lock(&lock);
	while (!stopping) {
		time_t now = time(NULL);
		struct timespec until;

		pthread_mutex_unlock(&lock);
		retention_keys_refresh(app, NULL);
		if (atomic_load(&app->pool_pending)) {
			char err[256];
			if (retention_pool_record(app, err, sizeof(err)) == ST_OK)
				log_info("vnum: the pool is recorded; writing works again");
		}
		if (now >= next_purge) {
			int64_t erased = 0, swept = 0;
			struct wjob j = {0};
			struct purge_policy p;
			enum st st;

			retention_policy(&app->cfg, now, &p);
			st = retention_run(app->store, &p, "waybilld", "system", &erased);

			if (st == ST_OK) {
				atomic_fetch_add(&app->orders_erased, (unsigned long long)erased);
				atomic_store(&app->last_purge_s, (long long)now);
			}
			if (st != ST_OK)
				log_error("retention: purge failed (%s); will retry", st_name(st));
			else if (erased)
				log_info("retention: erased the personal data of %lld orders",
					 (long long)erased);
			j.fn = tx_sweep;
			j.arg = &swept;
			j.no_audit = true;
			if (store_run(app->store, &j) == ST_OK && swept)
				log_info("vnum: %lld extensions back in the pool",
					 (long long)swept);
			{
				struct wjob pj = {0};
				int64_t days =
				    app->cfg.retention_days > 0 ? app->cfg.retention_days : 1;
				struct jobs_purge jp = {(int64_t)now - days * 86400, 0};

				audit_entry_init(&pj.audit, "waybilld", "system", "print_job.purge",
						 NULL, NULL);
				pj.fn = tx_jobs_purge;
				pj.arg = &jp;
				if (store_run(app->store, &pj) == ST_OK && jp.n)
					log_info("print jobs: %lld finished jobs deleted",
						 (long long)jp.n);
			}
			next_purge = now + app->cfg.purge_interval_s;
		}
		pthread_mutex_lock(&lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TICK_S;
		if (!stopping)
			pthread_cond_timedwait(&wake, &lock, &until);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

enum st retention_start(struct app *app)
{
	stopping = false;
	if (pthread_create(&thread, NULL, housekeeping, app) != 0)
		return ST_INTERNAL;
	started = true;
	return ST_OK;
}

void retention_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	started = false;
}
