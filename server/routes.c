/*
 * routes.c - the route table: every route, the roles it admits and its body
 * limit.  A path or method not listed here is answered 404/405; a role with
 * no scope for the route's action in access.h's table is answered 403 (the
 * roles column is that table's, ACCESS_ROLES_*; each route's audit action
 * names its row).  Deny by default.
 */
#include "common.h"
#include "handlers.h"

#define KB 1024

const struct route routes[] = {
    {"GET", "/healthz", h_healthz, 0, 0, NULL},
    {"GET", "/readyz", h_readyz, 0, 0, NULL},
    {"GET", "/metrics", h_metrics, 0, 0, NULL},
    {"POST", "/v1/orders", h_order_create, ACCESS_ROLES_ORDER_CREATE, 64 * KB, "order.create"},
    {"GET", "/v1/orders", h_order_list, ACCESS_ROLES_ORDER_LIST, 0, "order.list"},
    {"GET", "/v1/orders/{tn}", h_order_get, ACCESS_ROLES_ORDER_READ, 0, "order.read"},
    {"POST", "/v1/orders/{tn}/assign", h_order_assign, ACCESS_ROLES_ORDER_ASSIGN, 4 * KB,
     "order.assign"},
    {"POST", "/v1/orders/{tn}/status", h_order_status, ACCESS_ROLES_ORDER_STATUS, 4 * KB,
     "order.status"},
    {"GET", "/v1/orders/{tn}/label", h_label_one, ACCESS_ROLES_LABEL_PRINT, 0, "label.print"},
    {"GET", "/v1/orders/{tn}/label.pdf", h_label_pdf, ACCESS_ROLES_LABEL_PRINT, 0, "label.print"},
    {"GET", "/v1/orders/{tn}/preview.png", h_label_preview, ACCESS_ROLES_LABEL_PREVIEW, 0,
     "label.preview"},
    {"POST", "/v1/labels", h_label_batch, ACCESS_ROLES_LABEL_BATCH, 64 * KB, "label.batch"},
    {"GET", "/v1/printers", h_printers_list, ACCESS_ROLES_PRINTER_LIST, 0, "printer.list"},
    {"POST", "/v1/print-jobs", h_print_job_create, ACCESS_ROLES_PRINT_JOB_CREATE, 64 * KB,
     "print_job.create"},
    {"GET", "/v1/print-jobs/{tn}", h_print_job_get, ACCESS_ROLES_PRINT_JOB_READ, 0,
     "print_job.read"},
    {"POST", "/v1/print-jobs/{tn}/retry", h_print_job_retry, ACCESS_ROLES_PRINT_JOB_RETRY, 0,
     "print_job.retry"},
    {"GET", "/v1/orders/{tn}/delivery", h_order_delivery, ACCESS_ROLES_ORDER_DELIVERY, 0,
     "order.delivery"},
    {"POST", "/v1/calls/route", h_call_route, ACCESS_ROLES_CALL_ROUTE, 4 * KB, "call.route"},
    {"GET", "/v1/admin/orders/{tn}", h_admin_reveal, ACCESS_ROLES_ADMIN_REVEAL, 0, "admin.reveal"},
    {"GET", "/v1/audit", h_audit_list, ACCESS_ROLES_AUDIT_READ, 0, "audit.read"},
    {"GET", "/v1/audit/verify", h_audit_verify, ACCESS_ROLES_AUDIT_VERIFY, 0, "audit.verify"},
    /* the station's pages (no data in them: the API answers them with a person's token) */
    {"GET", "/station", h_station, 0, 0, NULL},
    {"GET", "/station/*", h_station, 0, 0, NULL},
};

const size_t routes_count = ARRAY_SIZE(routes);

/*
 * HEAD is served wherever GET is, through the GET handler (libmicrohttpd
 * sends the headers and drops the body), except where the GET itself spends
 * something: a print counted against reprint_limit, a reveal from the
 * admin's daily quota (and the label preview, which renders and audits like
 * a print without spending one).  A HEAD must never spend either, and answering it
 * without running the handler could not give GET's status (404, 410, 429):
 * those answer 405 with Allow: GET.
 */
const char *const routes_head_refused[] = {"label.print", "label.preview", "admin.reveal"};
const size_t routes_head_refused_count = ARRAY_SIZE(routes_head_refused);
