/*
 * access.h - who may do what, and to which orders: one action x role table.
 *
 * Each row is an action (the audit action of its route in routes.c, or a
 * rule with no route of its own); each column the scope a role has for it.  The route
 * table takes its role column from here (ACCESS_ROLES_*): a role with no
 * scope is answered 403 by http.c before any handler runs.  Handlers ask
 * access_may() for the order at hand, and answer "not yours" with the same
 * 404 as "not found".  Nothing else decides who may do what.
 */
#ifndef WAYBILL_ACCESS_H
#define WAYBILL_ACCESS_H

#include "common.h"
#include "store.h"

enum access_scope {
	ACCESS_NONE,	 /* may not: 403 at the route */
	ACCESS_CREATED,	 /* orders the account created */
	ACCESS_ASSIGNED, /* orders assigned to the account */
	ACCESS_OWN,	 /* orders the account created or is assigned */
	ACCESS_DEPOT,	 /* orders of the account's depot; none without a depot */
	ACCESS_ALL,	 /* any order, or the action names none (its own rules find it) */
};

/*
 * The table.  X(ID, "name", courier, depot, admin, auditor, telephony); the
 * cells name an ACCESS_ scope.
 */
/* clang-format off */
#define ACCESS_TABLE(X)                                                                            \
	/*id              name              courier   depot  admin audit tel                    */ \
	/* orders (h_orders.c)                                                                  */ \
	X(ORDER_CREATE,   "order.create",   DEPOT,    NONE,  NONE, NONE, NONE)                    \
	X(ORDER_LIST,     "order.list",     OWN,      DEPOT, NONE, NONE, NONE)                    \
	X(ORDER_READ,     "order.read",     OWN,      DEPOT, ALL,  NONE, NONE)                    \
	X(ORDER_ASSIGN,   "order.assign",   NONE,     DEPOT, NONE, NONE, NONE)                    \
	X(ORDER_STATUS,   "order.status",   ASSIGNED, DEPOT, NONE, NONE, NONE)                    \
	X(ORDER_DELIVERY, "order.delivery", ASSIGNED, NONE,  NONE, NONE, NONE)                    \
	/* labels (h_labels.c)                                                                  */ \
	X(LABEL_PRINT,    "label.print",    CREATED,  DEPOT, NONE, NONE, NONE)                    \
	X(LABEL_BATCH,    "label.batch",    NONE,     DEPOT, NONE, NONE, NONE)                    \
	X(LABEL_PREVIEW,  "label.preview",  CREATED,  DEPOT, NONE, NONE, NONE)                    \
	/* depot printers and print jobs (h_print.c): a depot's own, no other role              */ \
	X(PRINTER_LIST,     "printer.list",     NONE, DEPOT, NONE, NONE, NONE)                    \
	X(PRINT_JOB_CREATE, "print_job.create", NONE, DEPOT, NONE, NONE, NONE)                    \
	X(PRINT_JOB_READ,   "print_job.read",   NONE, DEPOT, NONE, NONE, NONE)                    \
	X(PRINT_JOB_RETRY,  "print_job.retry",  NONE, DEPOT, NONE, NONE, NONE)                    \
	/* calls, reveals and the audit log (h_calls.c, h_admin.c, h_audit.c)                    */ \
	X(CALL_ROUTE,     "call.route",     NONE,     NONE,  NONE, NONE, ALL)                     \
	X(ADMIN_REVEAL,   "admin.reveal",   NONE,     NONE,  ALL,  NONE, NONE)                    \
	X(AUDIT_READ,     "audit.read",     NONE,     NONE,  NONE, ALL,  NONE)                    \
	X(AUDIT_VERIFY,   "audit.verify",   NONE,     NONE,  NONE, ALL,  NONE)                    \
	/* no route: rules about the account an order is given to, not about the caller         */ \
	X(ORDER_ASSIGNEE, "order.assignee", DEPOT,    NONE,  NONE, NONE, NONE) /* be assigned it */ \
	X(CALL_ANSWER,    "call.answer",    ASSIGNED, NONE,  NONE, NONE, NONE) /* take its calls */
/* clang-format on */

enum access_action {
#define ACCESS_X(id, name, courier, depot, admin, auditor, telephony) ACT_##id,
	ACCESS_TABLE(ACCESS_X)
#undef ACCESS_X
	    ACCESS_ACTION_COUNT
};

/* The roles with any scope for an action: the route table's role column. */
#define ACCESS_ROLE_IF(scope, role) (ACCESS_##scope != ACCESS_NONE ? (role) : 0)
enum {
#define ACCESS_X(id, name, courier, depot, admin, auditor, telephony)                              \
	ACCESS_ROLES_##id =                                                                        \
	    ACCESS_ROLE_IF(courier, ROLE_COURIER) | ACCESS_ROLE_IF(depot, ROLE_DEPOT) |            \
	    ACCESS_ROLE_IF(admin, ROLE_ADMIN) | ACCESS_ROLE_IF(auditor, ROLE_AUDITOR) |            \
	    ACCESS_ROLE_IF(telephony, ROLE_TELEPHONY),
	ACCESS_TABLE(ACCESS_X)
#undef ACCESS_X
};

/* "order.read", ...: the row's name (the audit action of its route). */
const char *access_action_name(enum access_action act);

/* The scope role has for act; ACCESS_NONE for ROLE_NONE or several role bits. */
enum access_scope access_scope(enum access_action act, enum role role);

/*
 * May account a take act on order o?  With o NULL: on any order at all,
 * before one is known (false for ACCESS_NONE, and for ACCESS_DEPOT when the
 * account has no depot).
 */
bool access_may(enum access_action act, const struct account *a, const struct order_row *o);

#endif
