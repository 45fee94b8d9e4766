/*
 * view.h - what non-admin reads return: the order view of docs/API.md, built
 * from the clear columns and the masked personal fields, and the list's
 * summary, built from the clear columns alone.  Masking happens
 * here and only here (with mask.c); nothing else formats personal data for
 * output.
 */
#ifndef WAYBILL_VIEW_H
#define WAYBILL_VIEW_H

#include "common.h"
#include "label.h"
#include "order.h"
#include "store.h"

#include <cJSON.h>

struct app;

/*
 * Open an order's sealed blob into *o (order_release it).  ST_GONE once
 * retention erased it, ST_CRYPTO when it fails to authenticate.
 */
enum st view_open(struct app *app, const struct order_row *r, struct order *o);

/* The masked view of a row and its opened order; NULL when out of memory. */
cJSON *view_order(const struct order_row *r, const struct order *o);

/*
 * The list's summary of a row (docs/API.md "The order summary"): clear columns
 * only, no personal field in any form, masked or not; nothing is opened.
 * NULL when out of memory.
 */
cJSON *view_summary(const struct order_row *r);

/*
 * What one label of an order shows (label.h): masked fields and clear
 * columns, the renderer sees nothing else.  h_labels.c and the print jobs
 * (printjob.c) both fill their pages here.
 */
void view_label_fields(struct label_fields *f, const struct order_row *row, const struct order *o);

/* Open and render in one step: *json is malloc'd (wipe it). */
enum st view_order_json(struct app *app, const struct order_row *r, char **json);

/* "2026-11-22T10:00:00Z" */
void view_time(int64_t t, char out[24]);

#endif
