/*
 * metrics.c - the counters behind /metrics and their Prometheus text.
 */
#include "common.h"
#include "metrics.h"
#include "app.h"
#include "http.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>

static const unsigned metric_codes[] = {200, 201, 400, 401, 403, 404, 405, 409,
					410, 413, 415, 422, 429, 500, 503};
#define NCODES ARRAY_SIZE(metric_codes)
static const double latency_bounds_ms[] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000};
#define NBUCKETS (ARRAY_SIZE(latency_bounds_ms) + 1)

static atomic_ullong req_count[METRICS_MAX_ROUTES + 1][NCODES + 1];
static atomic_ullong lat_bucket[NBUCKETS];
static atomic_ullong lat_sum_us;
static atomic_ullong lat_count;

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
	atomic_fetch_add(&lat_bucket[b], 1);
	atomic_fetch_add(&lat_sum_us, (unsigned long long)(ms * 1000));
	atomic_fetch_add(&lat_count, 1);
}

struct strbuf {
	char *p;
	size_t len, cap;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!sb->p)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < sb->cap - sb->len) {
			sb->len += (size_t)n;
			return;
		}
		{
			char *np = realloc(sb->p, sb->cap * 2 + (size_t)n);
			if (!np) {
				free(sb->p);
				sb->p = NULL;
				return;
			}
			sb->p = np;
			sb->cap = sb->cap * 2 + (size_t)n;
		}
	}
}

char *metrics_text(struct app *app, size_t *len)
{
	struct strbuf sb = {malloc(8192), 0, 8192};
	struct store_stats ss;
	unsigned long long cum = 0;

	sb_printf(&sb, "# HELP waybill_http_requests_total HTTP requests by route and status.\n"
		       "# TYPE waybill_http_requests_total counter\n");
	for (size_t r = 0; r <= METRICS_MAX_ROUTES; r++) {
		if (r < METRICS_MAX_ROUTES && r >= routes_count)
			continue;
		for (size_t c = 0; c <= NCODES; c++) {
			unsigned long long v = atomic_load(&req_count[r][c]);
			if (!v)
				continue;
			sb_printf(&sb,
				  "waybill_http_requests_total{method=\"%s\",route=\"%s\","
				  "code=\"%u\"} %llu\n",
				  r < METRICS_MAX_ROUTES ? routes[r].method : "-",
				  r < METRICS_MAX_ROUTES ? routes[r].pattern : "unmatched",
				  c < NCODES ? metric_codes[c] : 0, v);
		}
	}
	sb_printf(&sb, "# HELP waybill_http_request_duration_seconds Time from first byte "
		       "to answer.\n# TYPE waybill_http_request_duration_seconds histogram\n");
	for (size_t b = 0; b < NBUCKETS; b++) {
		cum += atomic_load(&lat_bucket[b]);
		if (b < ARRAY_SIZE(latency_bounds_ms))
			sb_printf(&sb,
				  "waybill_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
				  latency_bounds_ms[b] / 1000.0, cum);
		else
			sb_printf(
			    &sb, "waybill_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			    cum);
	}
	sb_printf(&sb, "waybill_http_request_duration_seconds_sum %.6f\n",
		  (double)atomic_load(&lat_sum_us) / 1e6);
	sb_printf(&sb, "waybill_http_request_duration_seconds_count %llu\n",
		  atomic_load(&lat_count));
	sb_printf(&sb,
		  "# HELP waybill_orders_created_total Orders created.\n"
		  "# TYPE waybill_orders_created_total counter\n"
		  "waybill_orders_created_total %llu\n",
		  atomic_load(&app->orders_created));
	sb_printf(&sb,
		  "# HELP waybill_labels_printed_total Label pages printed.\n"
		  "# TYPE waybill_labels_printed_total counter\n"
		  "waybill_labels_printed_total %llu\n",
		  atomic_load(&app->labels_printed));
	store_stats_get(app->store, &ss);
	sb_printf(&sb,
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
	sb_printf(&sb,
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
			sb_printf(
			    &sb,
			    "# HELP waybill_vnum_bindings_active Virtual-number bindings that "
			    "route calls now.\n# TYPE waybill_vnum_bindings_active gauge\n"
			    "waybill_vnum_bindings_active %lld\n"
			    "# HELP waybill_vnum_free_capacity Extensions free for new orders "
			    "(neither active nor resting).\n"
			    "# TYPE waybill_vnum_free_capacity gauge\n"
			    "waybill_vnum_free_capacity %lld\n",
			    (long long)vs.active, (long long)(vs.capacity - vs.held));
	}
	sb_printf(&sb, "# HELP waybill_store_batch_jobs Jobs per commit, by power of two.\n"
		       "# TYPE waybill_store_batch_jobs counter\n");
	for (size_t i = 0; i < ARRAY_SIZE(ss.batch_hist); i++)
		sb_printf(&sb, "waybill_store_batch_jobs{ge=\"%zu\"} %llu\n", (size_t)1 << i,
			  (unsigned long long)ss.batch_hist[i]);
	{
		uint64_t n = 0;
		sb_printf(&sb, "# HELP waybill_store_commit_duration_seconds Time in COMMIT "
			       "(writing the log and fsync).\n"
			       "# TYPE waybill_store_commit_duration_seconds histogram\n");
		for (size_t i = 0; i <= STORE_COMMIT_BUCKETS; i++) {
			n += ss.commit_hist[i];
			if (i < STORE_COMMIT_BUCKETS)
				sb_printf(&sb,
					  "waybill_store_commit_duration_seconds_bucket{le=\"%g\"} "
					  "%llu\n",
					  store_commit_bounds_us[i] / 1e6, (unsigned long long)n);
			else
				sb_printf(
				    &sb,
				    "waybill_store_commit_duration_seconds_bucket{le=\"+Inf\"} "
				    "%llu\n",
				    (unsigned long long)n);
		}
		sb_printf(&sb,
			  "waybill_store_commit_duration_seconds_sum %.6f\n"
			  "waybill_store_commit_duration_seconds_count %llu\n",
			  (double)ss.commit_ns / 1e9, (unsigned long long)n);
	}
	if (!sb.p)
		return NULL;
	*len = sb.len;
	return sb.p;
}
