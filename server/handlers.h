/*
 * handlers.h - the route handlers (h_*.c) and what they share: the order a
 * path names, small request bodies, and "audit first, then answer".
 */
#ifndef WAYBILL_HANDLERS_H
#define WAYBILL_HANDLERS_H

#include "common.h"
#include "access.h"
#include "http.h"

#include <cJSON.h>

/* h_health.c */
void h_healthz(struct request *r);
void h_readyz(struct request *r);
void h_metrics(struct request *r);

/* h_orders.c */
void h_order_create(struct request *r);
void h_order_list(struct request *r);
void h_order_get(struct request *r);
void h_order_assign(struct request *r);
void h_order_status(struct request *r);
void h_order_delivery(struct request *r);

/* h_admin.c */
void h_admin_reveal(struct request *r);

/* h_calls.c */
void h_call_route(struct request *r);

/* h_labels.c */
void h_label_one(struct request *r);
void h_label_pdf(struct request *r);
void h_label_preview(struct request *r);
void h_label_batch(struct request *r);

/* h_print.c */
void h_printers_list(struct request *r);
void h_print_job_create(struct request *r);
void h_print_job_get(struct request *r);
void h_print_job_retry(struct request *r);

/* h_audit.c */
void h_audit_list(struct request *r);
void h_audit_verify(struct request *r);

/* h_station.c */
void h_station(struct request *r);

/* ---- shared (h_common.c) ---------------------------------------------- */

/*
 * A whole-number query argument ?name= in [min, max]; *out is left alone
 * when it is absent.  On false the request is answered: 400 with code and
 * message, naming the argument.
 */
bool query_number(struct request *r, const char *name, int64_t min, int64_t max, const char *code,
		  const char *message, int64_t *out);
/* A list's ?limit=: 1 to max, def when absent; 400 bad_limit otherwise. */
bool query_limit(struct request *r, int def, int max, int *out);

/*
 * Does the request's Content-Type name JSON?  "application/json" in any
 * case, then optional whitespace, then the end or ";" and parameters (RFC
 * 9110 8.3): "application/jsonp" and "application/json x" are not.  Every
 * route that takes a body asks this, and answers 415 when not.
 */
bool body_is_json(struct request *r);

/*
 * A small JSON object body: Content-Type checked (415), strictly scanned,
 * parsed, only the given keys allowed, none twice.  On failure the request
 * is answered and a non-OK status returned.  *out: json_delete_wiped.
 */
enum st body_object(struct request *r, const char *const *keys, cJSON **out);

/*
 * The order named by the path, when the caller may have it: check digits
 * first (404, storage untouched), then the look-up, then access_may(act)
 * (not yours answers the same 404, audited as denied), then, when o is not
 * NULL, the sealed part opened into *o (410 once erased, audited).  On false
 * the request is answered.  On true release *row (and *o) when done.
 */
struct order;
bool order_for_request(struct request *r, enum access_action act, struct order_row *row,
		       struct order *o);

/* The tracking number in the path: check digits first, storage never touched for a bad one. */
bool tn_path_ok(struct request *r);

/* The JSON and the state a deferred read keeps until its audit entry is committed. */
struct pending_body {
	char *json;
	size_t len;
};
/*
 * The tail of every audited read: audit it, then send tree as JSON (200)
 * once the entry is durable; 503 if it is not, 500 when tree is NULL (out
 * of memory).  Takes tree, and deletes it wiped.
 */
void reply_after_audit(struct request *r, cJSON *tree);

#endif
