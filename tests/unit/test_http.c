/*
 * test_http.c - the request path without a socket: http_request_run_fake()
 * against a real store in a temporary directory, a generated key and the
 * real templates.  What a connection would see: routing (404, 405 with
 * Allow), the body limit (413), authentication (header names without
 * case), query arguments decoded as microhttpd decodes them, and deferred
 * answers (an order written, then read back) completed before it returns.
 */
#include "fake_request.h"

static const char order_body[] =
    "{\"client_order_id\":\"t-1\",\"sender\":{\"name\":\"王小明\",\"phone\":\"13800001111\","
    "\"province\":\"广东省\",\"city\":\"深圳市\",\"district\":\"南山区\",\"address\":\"科技园1号\"}"
    ","
    "\"recipient\":{\"name\":\"李雷\",\"phone\":\"13900002222\",\"province\":\"北京市\","
    "\"city\":\"北京市\",\"district\":\"海淀区\",\"address\":\"中关村大街1号\"},"
    "\"parcel\":{\"weight_g\":1000,\"count\":1}}";

/* One request; auth is a token (sent as "Bearer TOKEN" under hname) or NULL. */
static unsigned run(const char *method, const char *url, const char *hname, const char *token,
		    const char *body, struct http_fake_reply *rep)
{
	char auth[TOKEN_CHARS + 16];
	struct http_fake_header h[2] = {{hname ? hname : "Authorization", auth},
					{"Content-Type", "application/json"}};

	snprintf(auth, sizeof(auth), "Bearer %s", token ? token : "");
	if (http_request_run_fake(&fr_app, method, url, h, token ? 2 : 1, body,
				  body ? strlen(body) : 0, rep) != ST_OK)
		return 0;
	return rep->status;
}

static char *json_str(const struct http_fake_reply *rep, const char *key, const char *sub)
{
	cJSON *root = cJSON_ParseWithLength(rep->body, rep->len), *v;
	char *out = NULL;

	v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (sub)
		v = cJSON_GetObjectItemCaseSensitive(v, sub);
	if (cJSON_IsString(v))
		out = strdup(v->valuestring);
	cJSON_Delete(root);
	return out;
}

static void test_routing(void)
{
	struct http_fake_reply rep;
	char *s;

	CHECK(run("GET", "/healthz", NULL, NULL, NULL, &rep) == 200);
	CHECK(rep.body && strstr(rep.body, "\"ok\""));
	http_fake_reply_release(&rep);

	CHECK(run("GET", "/nowhere", NULL, NULL, NULL, &rep) == 404);
	http_fake_reply_release(&rep);

	/* A path that takes other methods: 405 naming them. */
	CHECK(run("DELETE", "/v1/orders", NULL, fr_accts[FR_C1].token, NULL, &rep) == 405);
	CHECK_STR(rep.header[HDR_ALLOW], "GET, HEAD, POST");
	s = json_str(&rep, "error", "code");
	CHECK_STR(s, "method_not_allowed");
	free(s);
	http_fake_reply_release(&rep);

	/* The route's body limit (4 KiB for assign), before any authentication. */
	{
		char *big = malloc(5000);
		CHECK(big != NULL);
		if (big) {
			memset(big, ' ', 4999);
			big[4999] = '\0';
			CHECK(run("POST", "/v1/orders/WB0000000000000000/assign", NULL, NULL, big,
				  &rep) == 413);
			http_fake_reply_release(&rep);
			free(big);
		}
	}
}

static void test_auth(void)
{
	struct http_fake_reply rep;

	CHECK(run("GET", "/v1/orders", NULL, NULL, NULL, &rep) == 401);
	http_fake_reply_release(&rep);
	CHECK(run("GET", "/v1/orders", NULL, "wb_0000", NULL, &rep) == 401);
	http_fake_reply_release(&rep);
	/* Header names match without case, as they do on a connection. */
	CHECK(run("GET", "/v1/orders", "authorization", fr_accts[FR_C1].token, NULL, &rep) == 200);
	http_fake_reply_release(&rep);
	CHECK(run("GET", "/v1/orders", "AUTHORIZATION", fr_accts[FR_D1].token, NULL, &rep) == 200);
	http_fake_reply_release(&rep);
	/* A courier on an auditor's route: 403, its audit entry committed first. */
	CHECK(run("GET", "/v1/audit", NULL, fr_accts[FR_C1].token, NULL, &rep) == 403);
	http_fake_reply_release(&rep);
}

static void test_orders(void)
{
	struct http_fake_reply rep;
	char url[128], *tn, *masked;

	/* A write: deferred to the writer, answered once committed. */
	CHECK(run("POST", "/v1/orders", NULL, fr_accts[FR_C1].token, order_body, &rep) == 201);
	tn = json_str(&rep, "tracking_no", NULL);
	CHECKF(tn != NULL, "%u %.*s", rep.status, (int)rep.len, rep.body ? rep.body : "");
	http_fake_reply_release(&rep);
	if (!tn)
		return;
	snprintf(url, sizeof(url), "/v1/orders/%s", tn);
	CHECK(run("GET", url, NULL, fr_accts[FR_D1].token, NULL, &rep) == 200);
	masked = json_str(&rep, "recipient", "phone");
	CHECKF(masked && !strstr(masked, "13900002222"), "%s", masked ? masked : "(none)");
	CHECK(!memmem(rep.body, rep.len, "13900002222", 11));
	free(masked);
	http_fake_reply_release(&rep);
	/* The same path percent-escaped reaches the same order. */
	snprintf(url, sizeof(url), "/v1/orders/%%%02X%s", (unsigned char)tn[0], tn + 1);
	CHECK(run("GET", url, NULL, fr_accts[FR_D1].token, NULL, &rep) == 200);
	http_fake_reply_release(&rep);

	/* Query arguments are decoded: limit=%31 is limit=1; limit=x is refused. */
	CHECK(run("GET", "/v1/orders?limit=%31", NULL, fr_accts[FR_C1].token, NULL, &rep) == 200);
	http_fake_reply_release(&rep);
	CHECK(run("GET", "/v1/orders?limit=x", NULL, fr_accts[FR_C1].token, NULL, &rep) == 400);
	http_fake_reply_release(&rep);

	/* An unknown key that reads like a name is never echoed. */
	{
		char body[sizeof(order_body) + 32];
		snprintf(body, sizeof(body), "%.*s,\"wangxiaoming\":1}",
			 (int)(sizeof(order_body) - 2), order_body);
		CHECK(run("POST", "/v1/orders", NULL, fr_accts[FR_C1].token, body, &rep) == 422);
		CHECK(!memmem(rep.body, rep.len, "wangxiaoming", 12));
		http_fake_reply_release(&rep);
	}
	free(tn);
}

/*
 * What a handler reads is copied on the first call, within bounds: query
 * keys match without case and the first of a key wins (as microhttpd's
 * look-up); past HTTP_ARGS_MAX arguments 400, past HTTP_HEADERS_BYTES of
 * the headers read 431, each with its code.
 */
static void test_copies(void)
{
	struct http_fake_reply rep;
	char url[HTTP_ARGS_MAX * 8 + 64], *s, *big;
	size_t n;

	CHECK(run("GET", "/v1/orders?LIMIT=x", NULL, fr_accts[FR_C1].token, NULL, &rep) == 400);
	http_fake_reply_release(&rep);
	CHECK(run("GET", "/v1/orders?limit=1&limit=x", NULL, fr_accts[FR_C1].token, NULL, &rep) ==
	      200);
	http_fake_reply_release(&rep);
	CHECK(run("GET", "/v1/orders?limit=x&limit=1", NULL, fr_accts[FR_C1].token, NULL, &rep) ==
	      400);
	http_fake_reply_release(&rep);
	/* A key without a value is no value at all: the default limit. */
	CHECK(run("GET", "/v1/orders?limit", NULL, fr_accts[FR_C1].token, NULL, &rep) == 200);
	http_fake_reply_release(&rep);

	/* HTTP_ARGS_MAX arguments are read; one more is refused. */
	n = (size_t)snprintf(url, sizeof(url), "/v1/orders?limit=2");
	for (int i = 1; i < HTTP_ARGS_MAX; i++)
		n += (size_t)snprintf(url + n, sizeof(url) - n, "&a%d=1", i);
	CHECK(run("GET", url, NULL, fr_accts[FR_C1].token, NULL, &rep) == 200);
	http_fake_reply_release(&rep);
	snprintf(url + n, sizeof(url) - n, "&z=1");
	CHECK(run("GET", url, NULL, fr_accts[FR_C1].token, NULL, &rep) == 400);
	s = json_str(&rep, "error", "code");
	CHECK_STR(s, "too_many_arguments");
	free(s);
	http_fake_reply_release(&rep);

	/* An Authorization header past the bound: 431, not a 401. */
	big = malloc(HTTP_HEADERS_BYTES + 1);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, 'a', HTTP_HEADERS_BYTES);
	big[HTTP_HEADERS_BYTES] = '\0';
	{
		struct http_fake_header h = {"Authorization", big};
		CHECK(http_request_run_fake(&fr_app, "GET", "/v1/orders", &h, 1, NULL, 0, &rep) ==
		      ST_OK);
		CHECK(rep.status == 431);
	}
	s = json_str(&rep, "error", "code");
	CHECK_STR(s, "headers_too_large");
	free(s);
	http_fake_reply_release(&rep);
	free(big);
}

int main(void)
{
	if (!fr_setup()) {
		fprintf(stderr, "set-up failed\n");
		printf("0 passed, 1 failed\n");
		return 1;
	}
	test_routing();
	test_auth();
	test_orders();
	test_copies();
	fr_teardown();
	return t_done();
}
