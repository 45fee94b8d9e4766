/*
 * access.h - who may do what to which order.  Roles are checked by http.c
 * against the route table; these decide the scope (own orders, own depot),
 * and a handler answers "not yours" with the same 404 as "not found".
 */
#ifndef WAYBILL_ACCESS_H
#define WAYBILL_ACCESS_H

#include "common.h"
#include "store.h"

/* May this account see the order (masked)?  Not yours answers 404 like not found. */
bool scope_may_see(const struct account *a, const struct order_row *o);
/* May it change the order's status? */
bool scope_may_set_status(const struct account *a, const struct order_row *o);
/* May it print the order's label? */
bool scope_may_print(const struct account *a, const struct order_row *o);
/* The delivery view is the assigned courier's alone. */
bool scope_may_deliver(const struct account *a, const struct order_row *o);

#endif
