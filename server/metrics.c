/*
 * metrics.c - the counters behind /metrics and their Prometheus text.
 */
#include "common.h"
#include "metrics.h"
#include "app.h"
#include "buf.h"
#include "http.h"
#include "version.h"

#include <dirent.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const unsigned metric_codes[] = {200, 201, 400, 401, 403, 404, 405, 409,
					410, 413, 415, 422, 429, 500, 503};
#define NCODES ARRAY_SIZE(metric_codes)
static const double latency_bounds_ms[] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
#define NBUCKETS (ARRAY_SIZE(latency_bounds_ms) + 1)

static atomic_ullong req_count[METRICS_MAX_ROUTES + 1][NCODES + 1];
/* Latency by route (the pattern, so the label's values are the route table's). */
static atomic_ullong lat_bucket[METRICS_MAX_ROUTES + 1][NBUCKETS];
static atomic_ullong lat_sum_us[METRICS_MAX_ROUTES + 1];
static atomic_ullong lat_count[METRICS_MAX_ROUTES + 1];

static size_t code_index(unsigned code)
{
	for (size_t i = 0; i < NCODES; i++)
		if (metric_codes[i] == code)
			return i;
	return NCODES;
}

void metrics_count(const struct route *rt, unsigned code, double ms)
{
	size_t ri = rt ? (size_t)(rt - routes) : METRICS_MAX_ROUTES;
	size_t b = 0;

	if (ri > METRICS_MAX_ROUTES)
		ri = METRICS_MAX_ROUTES;
	atomic_fetch_add(&req_count[ri][code_index(code)], 1);
	while (b < ARRAY_SIZE(latency_bounds_ms) && ms > latency_bounds_ms[b])
		b++;
	atomic_fetch_add(&lat_bucket[ri][b], 1);
	atomic_fetch_add(&lat_sum_us[ri], (unsigned long long)(ms * 1000));
	atomic_fetch_add(&lat_count[ri], 1);
}

/* The most /metrics text there can be: about 80 KiB with every route and
 * code; far past that is a bug, answered as out of memory. */
#define METRICS_TEXT_MAX (1u << 20)

/* The Prometheus process_* metrics, from /proc/self (each left out when unreadable). */
static void process_metrics(struct buf *sb)
{
	char buf[1024], *p;
	FILE *f;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	unsigned long long utime = 0, stime = 0, start = 0;
	long rss = -1;
	struct rlimit rl;
	DIR *d;

	f = fopen("/proc/self/stat", "r");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
		   "%*d %llu",
		   &utime, &stime, &start) == 3 &&
	    tick > 0)
		buf_addf(sb,
			 "# HELP process_cpu_seconds_total User and system CPU time spent.\n"
			 "# TYPE process_cpu_seconds_total counter\n"
			 "process_cpu_seconds_total %.2f\n",
			 (double)(utime + stime) / (double)tick);
	else
		start = 0;
	if (f)
		fclose(f);
	/* The start in ticks after boot, made absolute with the boot clock: /proc/stat's
	 * btime is out of reach under the unit's ProcSubset=pid. */
	if (start && tick > 0) {
		struct timespec now, boot;
		clock_gettime(CLOCK_REALTIME, &now);
		clock_gettime(CLOCK_BOOTTIME, &boot);
		buf_addf(sb,
			 "# HELP process_start_time_seconds Start time since the epoch.\n"
			 "# TYPE process_start_time_seconds gauge\n"
			 "process_start_time_seconds %.2f\n",
			 (double)now.tv_sec + now.tv_nsec / 1e9 -
			     ((double)boot.tv_sec + boot.tv_nsec / 1e9) +
			     (double)start / (double)tick);
	}
	f = fopen("/proc/self/statm", "r");
	if (f && fscanf(f, "%*d %ld", &rss) == 1 && rss >= 0 && page > 0)
		buf_addf(sb,
			 "# HELP process_resident_memory_bytes Resident memory size.\n"
			 "# TYPE process_resident_memory_bytes gauge\n"
			 "process_resident_memory_bytes %lld\n",
			 (long long)rss * page);
	if (f)
		fclose(f);
	d = opendir("/proc/self/fd");
	if (d) {
		long n = 0;
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				n++;
		closedir(d);
		buf_addf(sb,
			 "# HELP process_open_fds Open file descriptors.\n"
			 "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n",
			 n - 1); /* not the one reading the directory */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		buf_addf(sb,
			 "# HELP process_max_fds Most file descriptors the process may open.\n"
			 "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
			 (unsigned long long)rl.rlim_cur);
}

char *metrics_text(struct app *app, size_t *len)
{
	struct buf sb;
	struct store_stats ss;
	unsigned char *text;

	buf_init(&sb, METRICS_TEXT_MAX, false);

	buf_addf(&sb,
		 "# HELP waybill_build_info The version and commit this daemon was built from.\n"
		 "# TYPE waybill_build_info gauge\n"
		 "waybill_build_info{version=\"%s\",commit=\"%s\"} 1\n",
		 waybill_version, waybill_commit);
	buf_addf(&sb, "# HELP waybill_http_requests_total HTTP requests by route and status.\n"
		      "# TYPE waybill_http_requests_total counter\n");
	for (size_t r = 0; r <= METRICS_MAX_ROUTES; r++) {
		if (r < METRICS_MAX_ROUTES && r >= routes_count)
			continue;
		for (size_t c = 0; c <= NCODES; c++) {
			unsigned long long v = atomic_load(&req_count[r][c]);
			if (!v)
				continue;
			buf_addf(&sb,
				 "waybill_http_requests_total{method=\"%s\",route=\"%s\","
				 "code=\"%u\"} %llu\n",
				 r < METRICS_MAX_ROUTES ? routes[r].method : "-",
				 r < METRICS_MAX_ROUTES ? routes[r].pattern : "unmatched",
				 c < NCODES ? metric_codes[c] : 0, v);
		}
	}
	buf_addf(&sb,
		 "# HELP waybill_http_request_duration_seconds Time from first byte "
		 "to answer, by route.\n# TYPE waybill_http_request_duration_seconds histogram\n");
	for (size_t r = 0; r <= METRICS_MAX_ROUTES; r++) {
		unsigned long long cum = 0, count = atomic_load(&lat_count[r]);
		const char *method, *pattern;

		if ((r < METRICS_MAX_ROUTES && r >= routes_count) || !count)
			continue;
		/* Only now: routes[] has routes_count rows, not METRICS_MAX_ROUTES. */
		method = r < METRICS_MAX_ROUTES ? routes[r].method : "-";
		pattern = r < METRICS_MAX_ROUTES ? routes[r].pattern : "unmatched";
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += atomic_load(&lat_bucket[r][b]);
			if (b < ARRAY_SIZE(latency_bounds_ms))
				buf_addf(
				    &sb,
				    "waybill_http_request_duration_seconds_bucket{method=\"%s\","
				    "route=\"%s\",le=\"%g\"} %llu\n",
				    method, pattern, latency_bounds_ms[b] / 1000.0, cum);
		}
		/* +Inf is the count: a bucket read a moment later must not pass it */
		buf_addf(&sb,
			 "waybill_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\","
			 "le=\"+Inf\"} %llu\n"
			 "waybill_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} "
			 "%.6f\n"
			 "waybill_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} "
			 "%llu\n",
			 method, pattern, cum > count ? cum : count, method, pattern,
			 (double)atomic_load(&lat_sum_us[r]) / 1e6, method, pattern,
			 cum > count ? cum : count);
	}
	buf_addf(&sb,
		 "# HELP waybill_orders_created_total Orders created.\n"
		 "# TYPE waybill_orders_created_total counter\n"
		 "waybill_orders_created_total %llu\n",
		 atomic_load(&app->orders_created));
	buf_addf(&sb,
		 "# HELP waybill_labels_printed_total Label pages printed.\n"
		 "# TYPE waybill_labels_printed_total counter\n"
		 "waybill_labels_printed_total %llu\n",
		 atomic_load(&app->labels_printed));
	buf_addf(&sb,
		 "# HELP waybill_labels_unsorted_total Labels printed without a sort code (no "
		 "sort_table route matched their destination).\n"
		 "# TYPE waybill_labels_unsorted_total counter\n"
		 "waybill_labels_unsorted_total %llu\n",
		 atomic_load(&app->labels_unsorted));
	store_stats_get(app->store, &ss);
	buf_addf(&sb,
		 "# HELP waybill_store_commits_total Write transactions committed (group "
		 "commits).\n# TYPE waybill_store_commits_total counter\n"
		 "waybill_store_commits_total %llu\n"
		 "# HELP waybill_store_jobs_total Writes and audit entries carried by them.\n"
		 "# TYPE waybill_store_jobs_total counter\nwaybill_store_jobs_total %llu\n"
		 "# HELP waybill_store_commit_failures_total Batches that failed to commit.\n"
		 "# TYPE waybill_store_commit_failures_total counter\n"
		 "waybill_store_commit_failures_total %llu\n"
		 "# HELP waybill_store_batch_reruns_total Batches run again with a savepoint "
		 "per job, after a job failed having written.\n"
		 "# TYPE waybill_store_batch_reruns_total counter\n"
		 "waybill_store_batch_reruns_total %llu\n",
		 (unsigned long long)ss.batches, (unsigned long long)ss.jobs,
		 (unsigned long long)ss.commit_fail, (unsigned long long)ss.reruns);
	buf_addf(&sb,
		 "# HELP waybill_store_exec_seconds_total Writer time running jobs.\n"
		 "# TYPE waybill_store_exec_seconds_total counter\n"
		 "waybill_store_exec_seconds_total %.6f\n"
		 "# HELP waybill_store_commit_seconds_total Writer time committing (fsync).\n"
		 "# TYPE waybill_store_commit_seconds_total counter\n"
		 "waybill_store_commit_seconds_total %.6f\n"
		 "# HELP waybill_store_wal_pages_total Pages the commits wrote to the "
		 "write-ahead log.\n# TYPE waybill_store_wal_pages_total counter\n"
		 "waybill_store_wal_pages_total %llu\n",
		 (double)ss.exec_ns / 1e9, (double)ss.commit_ns / 1e9,
		 (unsigned long long)ss.wal_pages);
	{
		struct vnum_stats vs;
		if (store_vnum_stats(app->store, (int64_t)time(NULL), &vs) == ST_OK)
			buf_addf(&sb,
				 "# HELP waybill_vnum_bindings_active Virtual-number bindings that "
				 "route calls now.\n# TYPE waybill_vnum_bindings_active gauge\n"
				 "waybill_vnum_bindings_active %lld\n"
				 "# HELP waybill_vnum_free_capacity Extensions free for new orders "
				 "(neither active nor resting).\n"
				 "# TYPE waybill_vnum_free_capacity gauge\n"
				 "waybill_vnum_free_capacity %lld\n",
				 (long long)vs.active, (long long)(vs.capacity - vs.held));
	}
	{
		/* batch_hist[i] holds batches of 2^i to 2^(i+1)-1 jobs; the last, the rest */
		uint64_t n = 0;
		buf_addf(&sb, "# HELP waybill_store_batch_jobs Jobs per group commit.\n"
			      "# TYPE waybill_store_batch_jobs histogram\n");
		for (size_t i = 0; i < ARRAY_SIZE(ss.batch_hist); i++) {
			n += ss.batch_hist[i];
			if (i + 1 < ARRAY_SIZE(ss.batch_hist))
				buf_addf(&sb, "waybill_store_batch_jobs_bucket{le=\"%zu\"} %llu\n",
					 ((size_t)2 << i) - 1, (unsigned long long)n);
			else
				buf_addf(&sb, "waybill_store_batch_jobs_bucket{le=\"+Inf\"} %llu\n",
					 (unsigned long long)n);
		}
		buf_addf(&sb,
			 "waybill_store_batch_jobs_sum %llu\nwaybill_store_batch_jobs_count %llu\n",
			 (unsigned long long)ss.jobs, (unsigned long long)n);
	}
	{
		uint64_t n = 0;
		buf_addf(&sb, "# HELP waybill_store_commit_duration_seconds Time in COMMIT "
			      "(writing the log and fsync).\n"
			      "# TYPE waybill_store_commit_duration_seconds histogram\n");
		for (size_t i = 0; i <= STORE_COMMIT_BUCKETS; i++) {
			n += ss.commit_hist[i];
			if (i < STORE_COMMIT_BUCKETS)
				buf_addf(&sb,
					 "waybill_store_commit_duration_seconds_bucket{le=\"%g\"} "
					 "%llu\n",
					 store_commit_bounds_us[i] / 1e6, (unsigned long long)n);
			else
				buf_addf(
				    &sb,
				    "waybill_store_commit_duration_seconds_bucket{le=\"+Inf\"} "
				    "%llu\n",
				    (unsigned long long)n);
		}
		buf_addf(&sb,
			 "waybill_store_commit_duration_seconds_sum %.6f\n"
			 "waybill_store_commit_duration_seconds_count %llu\n",
			 (double)ss.commit_ns / 1e9, (unsigned long long)n);
	}
	{
		/* PostgreSQL: its database's size, the cluster's WAL when the role may read it. */
		int64_t dbb = 0, walb = -1;

		if (store_sizes(app->store, &dbb, &walb) == ST_OK)
			buf_addf(&sb,
				 "# HELP waybill_store_db_bytes Size of the database on disk.\n"
				 "# TYPE waybill_store_db_bytes gauge\nwaybill_store_db_bytes "
				 "%lld\n",
				 (long long)dbb);
		if (walb >= 0)
			buf_addf(&sb,
				 "# HELP waybill_store_wal_bytes Size of the write-ahead log.\n"
				 "# TYPE waybill_store_wal_bytes gauge\nwaybill_store_wal_bytes "
				 "%lld\n",
				 (long long)walb);
	}
	{
		int64_t seq;
		unsigned char head[HASH_BYTES];
		if (store_audit_head(app->store, &seq, head) == ST_OK)
			buf_addf(&sb,
				 "# HELP waybill_audit_entries Entries in the audit chain.\n"
				 "# TYPE waybill_audit_entries gauge\nwaybill_audit_entries %lld\n",
				 (long long)seq);
	}
	buf_addf(&sb,
		 "# HELP waybill_retention_last_purge_timestamp_seconds When the daemon's last "
		 "purge succeeded (0: none yet).\n"
		 "# TYPE waybill_retention_last_purge_timestamp_seconds gauge\n"
		 "waybill_retention_last_purge_timestamp_seconds %lld\n"
		 "# HELP waybill_retention_orders_erased_total Orders whose personal data the "
		 "daemon's purges erased.\n# TYPE waybill_retention_orders_erased_total counter\n"
		 "waybill_retention_orders_erased_total %llu\n"
		 "# HELP waybill_label_render_failures_total Label renders that failed.\n"
		 "# TYPE waybill_label_render_failures_total counter\n"
		 "waybill_label_render_failures_total %llu\n"
		 "# HELP waybill_key_version The key version new data is sealed with.\n"
		 "# TYPE waybill_key_version gauge\nwaybill_key_version %u\n",
		 (long long)atomic_load(&app->last_purge_s), atomic_load(&app->orders_erased),
		 atomic_load(&app->label_failures), keyring_current(app->kr));
	process_metrics(&sb);
	if (buf_take(&sb, &text, len) != ST_OK)
		return NULL;
	return (char *)text;
}
