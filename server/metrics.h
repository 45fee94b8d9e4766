/*
 * metrics.h - request counters and the Prometheus text for /metrics.
 */
#ifndef WAYBILL_METRICS_H
#define WAYBILL_METRICS_H

#include "common.h"

struct app;
struct route;

/* Routes the counters have room for; http_start refuses more. */
#define METRICS_MAX_ROUTES 32

/* Count one answered request (rt NULL when no route matched). */
void metrics_count(const struct route *rt, unsigned code, double ms);

/* Prometheus text for /metrics; caller frees; NULL when out of memory or
 * past the bound (METRICS_TEXT_MAX in metrics.c, far above what is written). */
char *metrics_text(struct app *app, size_t *len);

#endif
