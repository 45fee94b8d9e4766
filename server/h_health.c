/*
 * h_health.c - GET /healthz and GET /metrics (no authentication; bind the
 * listener privately in production, or set metrics_listen: then /metrics is
 * served only there and answers 404 here).
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "metrics.h"

void h_healthz(struct request *r)
{
	http_reply_json(r, 200, strdup("{\"status\":\"ok\"}"), false);
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
	http_reply_json(r, 200, text, false);
	r->ctype = "text/plain; version=0.0.4";
}
