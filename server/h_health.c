/*
 * h_health.c - GET /healthz, GET /readyz and GET /metrics (no authentication; bind the
 * listener privately in production, or set metrics_listen: then /metrics is
 * served only there and answers 404 here).
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "auditcp.h"
#include "metrics.h"

void h_healthz(struct request *r)
{
	http_reply_json(r, 200, strdup("{\"status\":\"ok\"}"), false);
}

/*
 * Whether requests can be served now: 503 with the reasons while the store
 * cannot commit or is below min_free_mb ("store", "disk"), audit entries
 * cannot be written or the chain failed its walk ("audit"), or the key
 * file cannot be opened ("key").  /healthz stays 200 through all of them.
 */
void h_readyz(struct request *r)
{
	const char *why[4];
	size_t n = 0, off;
	char body[128];
	const char *st = store_trouble(r->app->store), *cp = auditcp_trouble(r->app->audit_cp);

	if (st)
		why[n++] = st;
	if (cp && (!st || strcmp(cp, st) != 0))
		why[n++] = cp;
	if (atomic_load(&r->app->key_missing))
		why[n++] = "key";
	if (n == 0) {
		http_reply_json(r, 200, strdup("{\"status\":\"ready\"}"), false);
		return;
	}
	off = (size_t)snprintf(body, sizeof(body), "{\"status\":\"not_ready\",\"reasons\":[");
	for (size_t i = 0; i < n && off < sizeof(body); i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off, "%s\"%s\"", i ? "," : "",
					why[i]);
	if (off < sizeof(body))
		snprintf(body + off, sizeof(body) - off, "]}");
	http_reply_json(r, 503, strdup(body), false);
}

void h_metrics(struct request *r)
{
	size_t len = 0;
	char *text;

	/* metrics_listen set: served only there, not to whoever reaches the API */
	if (r->app->cfg.metrics_listen[0]) {
		http_reply_st(r, ST_NOTFOUND);
		return;
	}
	text = metrics_text(r->app, &len);
	if (!text) {
		http_reply_st(r, ST_NOMEM);
		return;
	}
	http_reply_metrics(r, text, len);
}
