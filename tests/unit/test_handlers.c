/*
 * test_handlers.c - h_orders.c, h_labels.c, h_calls.c and h_admin.c driven
 * through fake requests (fake_request.h: no socket, no libmicrohttpd) over a
 * temporary store: each handler's main path and the refusals that matter
 * (wrong role, another depot, a bad body, an unknown tracking number, the
 * reprint limit, a reveal without a reason, a caller that does not match),
 * asserting the status, the body's fields and the audit entry written.
 */
#include "fake_request.h"

static char tn_a[TN_MAX], tn_b[TN_MAX];

/* h_orders.c: create, read, list, assign, status, delivery. */
static void test_orders(void)
{
	struct fr_reply rep = {0};
	char url[128], res[32], unknown[TN_MAX], *body = fr_order_body("h-1");

	CHECK(body != NULL);
	if (!body)
		return;
	CHECK(fr_run(&rep, FR_C1, "POST", "/v1/orders", body) == 201);
	CHECK_STR(fr_str(&rep, "status", NULL), "created");
	CHECK_STR(fr_str(&rep, "depot", NULL), "d1");
	str_copy(tn_a, sizeof(tn_a), fr_str(&rep, "tracking_no", NULL));
	CHECK(tn_valid(fr_app.cfg.tracking_prefix, tn_a));
	snprintf(url, sizeof(url), "/v1/orders/%s", tn_a);
	CHECK_STR(rep.raw.header[HDR_LOCATION], url);
	CHECK(!fr_holds(&rep, "13900002222") && !fr_holds(&rep, "李雷"));
	CHECK(fr_audit_last(tn_a, "order.create", res, sizeof(res), NULL, 0));
	CHECK_STR(res, "ok");

	/* The same client_order_id again: 200, the same order. */
	CHECK(fr_run(&rep, FR_C1, "POST", "/v1/orders", body) == 200);
	CHECK_STR(fr_str(&rep, "tracking_no", NULL), tn_a);
	free(body);

	/* Wrong role: a depot may not create (403, audited as denied). */
	body = fr_order_body("h-2");
	CHECK(fr_run(&rep, FR_D1, "POST", "/v1/orders", body) == 403);
	CHECK_STR(fr_code(&rep), "forbidden");
	free(body);
	/* Bad bodies: not JSON (400), an unknown field (422), no body (400). */
	CHECK(fr_run(&rep, FR_C1, "POST", "/v1/orders", "hello") == 400);
	CHECK_STR(fr_code(&rep), "malformed_json");
	CHECK(fr_run(&rep, FR_C1, "POST", "/v1/orders", "{\"x\":1}") == 422);
	CHECK(fr_run(&rep, FR_C1, "POST", "/v1/orders", NULL) == 400);

	/* Read: the depot sees it masked; another depot gets the 404 of not found. */
	CHECK(fr_run(&rep, FR_D1, "GET", url, NULL) == 200);
	CHECK_STR(fr_str(&rep, "tracking_no", NULL), tn_a);
	CHECK(!fr_holds(&rep, "13900002222"));
	CHECK(fr_run(&rep, FR_D2, "GET", url, NULL) == 404);
	CHECK_STR(fr_code(&rep), "not_found");
	CHECK(fr_audit_last(tn_a, "order.read", res, sizeof(res), NULL, 0));
	CHECK_STR(res, "denied");
	/* An unknown tracking number with good check digits: 404, audited. */
	tn_generate(fr_app.cfg.tracking_prefix, unknown);
	snprintf(url, sizeof(url), "/v1/orders/%s", unknown);
	CHECK(fr_run(&rep, FR_D1, "GET", url, NULL) == 404);
	CHECK(fr_audit_last(unknown, "order.read", res, sizeof(res), NULL, 0));
	CHECK_STR(res, "not_found");

	/* The list: the depot's own orders only. */
	CHECK(fr_run(&rep, FR_D1, "GET", "/v1/orders?status=created", NULL) == 200);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep.json, "orders")) == 1);
	CHECK(fr_run(&rep, FR_D2, "GET", "/v1/orders", NULL) == 200);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(rep.json, "orders")) == 0);
	CHECK(fr_run(&rep, FR_D1, "GET", "/v1/orders?limit=0", NULL) == 400);
	CHECK_STR(fr_code(&rep), "bad_limit");

	/* Assign: to a courier of another depot 422; to c2 200, audited. */
	snprintf(url, sizeof(url), "/v1/orders/%s/assign", tn_a);
	CHECK(fr_run(&rep, FR_D1, "POST", url, "{\"courier\":\"c3\"}") == 422);
	CHECK_STR(fr_str(&rep, "error", "field"), "courier");
	CHECK(fr_run(&rep, FR_D2, "POST", url, "{\"courier\":\"c2\"}") == 404);
	CHECK(fr_run(&rep, FR_C1, "POST", url, "{\"courier\":\"c2\"}") == 403);
	CHECK(fr_run(&rep, FR_D1, "POST", url, "{\"courier\":\"c2\"}") == 200);
	CHECK_STR(fr_str(&rep, "courier", NULL), "c2");
	CHECK(fr_audit_last(tn_a, "order.assign", res, sizeof(res), NULL, 0));
	CHECK_STR(res, "ok");

	/* Status: the assigned courier moves it; a jump or an unknown state is refused. */
	snprintf(url, sizeof(url), "/v1/orders/%s/status", tn_a);
	CHECK(fr_run(&rep, FR_C2, "POST", url, "{\"status\":\"no_such\"}") == 422);
	CHECK(fr_run(&rep, FR_C2, "POST", url, "{\"status\":\"delivered\"}") == 409);
	CHECK(fr_run(&rep, FR_C3, "POST", url, "{\"status\":\"picked_up\"}") == 404);
	CHECK(fr_run(&rep, FR_C2, "POST", url, "{\"status\":\"picked_up\"}") == 200);
	CHECK_STR(fr_str(&rep, "status", NULL), "picked_up");

	/* Delivery: the full address for the assigned courier, never the phone. */
	snprintf(url, sizeof(url), "/v1/orders/%s/delivery", tn_a);
	CHECK(fr_run(&rep, FR_C1, "GET", url, NULL) == 404);
	CHECK(fr_run(&rep, FR_C2, "GET", url, NULL) == 200);
	CHECK(fr_holds(&rep, "中关村大街1号"));
	CHECK(!fr_holds(&rep, "13900002222"));
	CHECK(fr_audit_last(tn_a, "order.delivery", res, sizeof(res), NULL, 0));
	CHECK_STR(res, "ok");
	fr_release(&rep);
}

/* h_labels.c: one label, the reprint limit, HEAD, a batch. */
static void test_labels(void)
{
	struct fr_reply rep = {0};
	char url[128], res[32], body[256];
	unsigned prints = 0;

	CHECK(fr_order_new("h-label", tn_b));
	snprintf(url, sizeof(url), "/v1/orders/%s/label.pdf?size=100x150", tn_b);
	CHECK(fr_run(&rep, FR_D1, "GET", url, NULL) == 200);
	CHECK_STR(rep.raw.ctype, "application/pdf");
	CHECK(rep.raw.len > 5 && memcmp(rep.raw.body, "%PDF-", 5) == 0);
	CHECK(strstr(rep.raw.header[HDR_CONTENT_DISPOSITION], tn_b) != NULL);
	CHECK(fr_audit_last(tn_b, "label.print", res, sizeof(res), NULL, 0));
	CHECK_STR(res, "ok");
	prints++;
	/* Another depot: 404; an unknown size: 422 naming it; HEAD would spend a print: 405. */
	CHECK(fr_run(&rep, FR_D2, "GET", url, NULL) == 404);
	snprintf(url, sizeof(url), "/v1/orders/%s/label.pdf?size=1x1", tn_b);
	CHECK(fr_run(&rep, FR_D1, "GET", url, NULL) == 422);
	CHECK_STR(fr_str(&rep, "error", "field"), "size");
	snprintf(url, sizeof(url), "/v1/orders/%s/label.pdf", tn_b);
	CHECK(fr_run(&rep, FR_D1, "HEAD", url, NULL) == 405);
	CHECK_STR(rep.raw.header[HDR_ALLOW], "GET");
	/* The first print and label_reprints_max reprints, then 429 with Retry-After. */
	while (prints < (unsigned)fr_app.cfg.label_reprints_max + 1) {
		CHECK(fr_run(&rep, FR_D1, "GET", url, NULL) == 200);
		prints++;
	}
	CHECK(fr_run(&rep, FR_D1, "GET", url, NULL) == 429);
	CHECK(fr_audit_last(tn_b, "label.print", res, sizeof(res), NULL, 0));
	CHECK(strcmp(res, "ok") != 0);

	/* A batch: its own order prints; another depot's is refused by its index. */
	snprintf(body, sizeof(body), "{\"tracking_nos\":[\"%s\"],\"size\":\"76x130\"}", tn_a);
	CHECK(fr_run(&rep, FR_D1, "POST", "/v1/labels", body) == 200);
	CHECK_STR(rep.raw.ctype, "application/pdf");
	CHECK(fr_run(&rep, FR_D2, "POST", "/v1/labels", body) == 404);
	CHECK_STR(fr_str(&rep, "error", "field"), "tracking_nos[0]");
	CHECK(fr_run(&rep, FR_D1, "POST", "/v1/labels", "{\"tracking_nos\":\"x\"}") == 422);
	CHECK(fr_run(&rep, FR_C1, "POST", "/v1/labels", body) == 403);
	fr_release(&rep);
}

/* h_calls.c: the assigned courier reaches the recipient; anyone else reaches nobody. */
static void test_calls(void)
{
	struct fr_reply rep = {0};
	char vnum[32], ext[8], body[256], res[32], url[128];

	snprintf(url, sizeof(url), "/v1/orders/%s", tn_a);
	CHECK(fr_run(&rep, FR_D1, "GET", url, NULL) == 200);
	str_copy(vnum, sizeof(vnum), fr_str(&rep, "virtual_number", NULL));
	str_copy(ext, sizeof(ext), fr_str(&rep, "extension", NULL));
	CHECK(vnum[0] && ext[0]);

	snprintf(body, sizeof(body),
		 "{\"caller\":\"13700000002\",\"called\":\"%s\",\"extension\":"
		 "\"%s\"}",
		 vnum, ext);
	CHECK(fr_run(&rep, FR_TEL, "POST", "/v1/calls/route", body) == 200);
	CHECK_STR(fr_str(&rep, "forward_to", NULL), "+8613900002222");
	CHECK(fr_str(&rep, "call_id", NULL) != NULL);
	CHECK(!fr_holds(&rep, tn_a));
	CHECK(fr_audit_last(tn_a, "call.route", res, sizeof(res), NULL, 0));
	CHECK_STR(res, "ok");
	/* Wrong role: 403. */
	CHECK(fr_run(&rep, FR_C2, "POST", "/v1/calls/route", body) == 403);
	/* A courier not assigned (c1) with the right number and extension: 404. */
	snprintf(body, sizeof(body),
		 "{\"caller\":\"13700000001\",\"called\":\"%s\",\"extension\":"
		 "\"%s\"}",
		 vnum, ext);
	CHECK(fr_run(&rep, FR_TEL, "POST", "/v1/calls/route", body) == 404);
	CHECK(!fr_holds(&rep, "13900002222"));
	/* The recipient before out_for_delivery reaches nobody. */
	snprintf(body, sizeof(body), "{\"caller\":\"13900002222\",\"called\":\"%s\"}", vnum);
	CHECK(fr_run(&rep, FR_TEL, "POST", "/v1/calls/route", body) == 404);
	/* Bad bodies: not a phone (422 naming caller), an extension of letters, a stray key. */
	CHECK(fr_run(&rep, FR_TEL, "POST", "/v1/calls/route",
		     "{\"caller\":\"abc\",\"called\":\"17000000000\"}") == 422);
	CHECK_STR(fr_code(&rep), "invalid_phone");
	CHECK_STR(fr_str(&rep, "error", "field"), "caller");
	CHECK(fr_run(&rep, FR_TEL, "POST", "/v1/calls/route",
		     "{\"caller\":\"13700000002\",\"called\":\"17000000000\",\"extension\":"
		     "\"abcd\"}") == 422);
	CHECK_STR(fr_code(&rep), "invalid_extension");
	CHECK(fr_run(&rep, FR_TEL, "POST", "/v1/calls/route", "{\"x\":1}") == 422);
	fr_release(&rep);
}

/* h_admin.c: a reveal needs a reason without personal data, and is audited first. */
static void test_admin(void)
{
	struct fr_reply rep = {0};
	char url[160], res[32], reason[300], unknown[TN_MAX];

	snprintf(url, sizeof(url), "/v1/admin/orders/%s", tn_a);
	CHECK(fr_run(&rep, FR_AD, "GET", url, NULL) == 400);
	CHECK_STR(fr_code(&rep), "reason_required");
	CHECK_STR(fr_str(&rep, "error", "field"), "reason");
	snprintf(url, sizeof(url), "/v1/admin/orders/%s?reason=call%%2013900002222", tn_a);
	CHECK(fr_run(&rep, FR_AD, "GET", url, NULL) == 400);
	CHECK(!fr_holds(&rep, "13900002222"));
	snprintf(url, sizeof(url), "/v1/admin/orders/%s?reason=ticket%%20CS-2291", tn_a);
	CHECK(fr_run(&rep, FR_D1, "GET", url, NULL) == 403);
	CHECK(fr_run(&rep, FR_AD, "HEAD", url, NULL) == 405);
	CHECK(fr_run(&rep, FR_AD, "GET", url, NULL) == 200);
	CHECK_STR(fr_str(&rep, "tracking_no", NULL), tn_a);
	CHECK(fr_holds(&rep, "13900002222") && fr_holds(&rep, "李雷"));
	CHECK(fr_audit_last(tn_a, "admin.reveal", res, sizeof(res), reason, sizeof(reason)));
	CHECK_STR(res, "ok");
	CHECK_STR(reason, "ticket CS-2291");
	/* An unknown order: 404, the reason on record all the same. */
	tn_generate(fr_app.cfg.tracking_prefix, unknown);
	snprintf(url, sizeof(url), "/v1/admin/orders/%s?reason=ticket%%20CS-2292", unknown);
	CHECK(fr_run(&rep, FR_AD, "GET", url, NULL) == 404);
	CHECK(fr_audit_last(unknown, "admin.reveal", res, sizeof(res), reason, sizeof(reason)));
	CHECK_STR(reason, "ticket CS-2292");
	fr_release(&rep);
}

/*
 * Which Content-Type a body route takes: application/json, any case, with
 * parameters or none.  The body "hello" is not JSON, so a taken type answers
 * 400 and a refused one 415, and no order is made either way.
 */
static void test_content_type(void)
{
	static const struct {
		const char *ct;
		unsigned status;
	} cases[] = {
	    {"application/json", 400},
	    {"application/json; charset=utf-8", 400},
	    {"application/json;charset=UTF-8", 400},
	    {"Application/JSON", 400},
	    {"application/json ", 400},
	    {"application/json x", 415},
	    {"application/json,text/plain", 415},
	    {"application/jsonx", 415},
	    {"application/json-patch+json", 415},
	    {"text/plain", 415},
	    {"text/json", 415},
	    {"", 415},
	};
	char auth[TOKEN_CHARS + 16];

	snprintf(auth, sizeof(auth), "Bearer %s", fr_accts[FR_C1].token);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct http_fake_header h[2] = {{"Content-Type", cases[i].ct},
						{"Authorization", auth}};
		struct http_fake_reply rep = {0};

		CHECK(http_request_run_fake(&fr_app, "POST", "/v1/orders", h, 2, "hello", 5,
					    &rep) == ST_OK);
		CHECKF(rep.status == cases[i].status, "Content-Type \"%s\": %u, not %u",
		       cases[i].ct, rep.status, cases[i].status);
		http_fake_reply_release(&rep);
	}
	/* No Content-Type at all. */
	{
		struct http_fake_header h[1] = {{"Authorization", auth}};
		struct http_fake_reply rep = {0};

		CHECK(http_request_run_fake(&fr_app, "POST", "/v1/orders", h, 1, "hello", 5,
					    &rep) == ST_OK);
		CHECK(rep.status == 415);
		http_fake_reply_release(&rep);
	}
}

int main(void)
{
	if (!fr_setup()) {
		fprintf(stderr, "set-up failed\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	test_orders();
	test_labels();
	test_calls();
	test_admin();
	test_content_type();
	fr_teardown();
	return t_done();
}
