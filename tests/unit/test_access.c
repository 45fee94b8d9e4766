/*
 * test_access.c - the action x role table (access.c): against the matrix
 * tests/e2e/30-matrix.sh drives through the daemon, against the route
 * table it feeds, and case by case against docs/API.md's roles.
 */
#include "../../server/common.h"
#include "../../server/access.h"
#include "../../server/http.h"
#include "../../server/store.h"

#include "t.h"

static const enum role all_roles[] = {ROLE_COURIER, ROLE_DEPOT, ROLE_ADMIN, ROLE_AUDITOR,
				      ROLE_TELEPHONY};

static bool action_find(const char *name, enum access_action *out)
{
	for (unsigned i = 0; i < ACCESS_ACTION_COUNT; i++)
		if (strcmp(access_action_name((enum access_action)i), name) == 0) {
			*out = (enum access_action)i;
			return true;
		}
	return false;
}

static const struct route *route_find(const char *action)
{
	for (size_t i = 0; i < routes_count; i++)
		if (routes[i].action && strcmp(routes[i].action, action) == 0)
			return &routes[i];
	return NULL;
}

/* ---- reading and changing an order, case by case ------------------------- */

static struct account acct(const char *name, enum role role, const char *depot)
{
	struct account a;

	memset(&a, 0, sizeof(a));
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.role = role;
	snprintf(a.depot, sizeof(a.depot), "%s", depot);
	return a;
}

static struct order_row order(const char *depot, const char *creator, const char *courier)
{
	struct order_row o;

	memset(&o, 0, sizeof(o));
	snprintf(o.tracking_no, sizeof(o.tracking_no), "WB000000000000000000");
	snprintf(o.status, sizeof(o.status), "created");
	snprintf(o.depot, sizeof(o.depot), "%s", depot);
	snprintf(o.creator, sizeof(o.creator), "%s", creator);
	snprintf(o.courier, sizeof(o.courier), "%s", courier);
	return o;
}

struct scope_case {
	const char *what;
	const char *name;
	enum role role;
	const char *depot;
	/* the order */
	const char *o_depot, *o_creator, *o_courier;
	bool see, set_status;
};

/*
 * docs/API.md roles: a courier sees orders it created or that are assigned to
 * it, and sets status only on those assigned to it; a depot sees and sets
 * status on its own depot's orders; an admin sees any (masked) and sets no
 * status; an auditor and the call platform see no order.
 */
static const struct scope_case scope_cases[] = {
    /* courier */
    {"courier, creator, assigned to another", "c1", ROLE_COURIER, "d1", "d1", "c1", "c2", true,
     false},
    {"courier, assigned, not creator", "c2", ROLE_COURIER, "d1", "d1", "c1", "c2", true, true},
    {"courier, other of the same depot", "c3", ROLE_COURIER, "d1", "d1", "c1", "c2", false, false},
    {"courier, other depot", "c4", ROLE_COURIER, "d2", "d1", "c1", "c2", false, false},
    {"courier, creator, unassigned", "c1", ROLE_COURIER, "d1", "d1", "c1", "", true, false},
    {"courier, other, unassigned", "c2", ROLE_COURIER, "d1", "d1", "c1", "", false, false},
    {"courier, creator and assigned", "c1", ROLE_COURIER, "d1", "d1", "c1", "c1", true, true},
    {"courier, name prefix of creator", "c", ROLE_COURIER, "d1", "d1", "c1", "c2", false, false},
    {"courier, name extends courier", "c22", ROLE_COURIER, "d1", "d1", "c1", "c2", false, false},
    {"courier named like the depot", "d1", ROLE_COURIER, "d1", "d1", "c1", "c2", false, false},
    /* depot */
    {"depot, own depot", "desk1", ROLE_DEPOT, "d1", "d1", "c1", "c2", true, true},
    {"depot, own depot, unassigned", "desk1", ROLE_DEPOT, "d1", "d1", "c1", "", true, true},
    {"depot, other depot", "desk2", ROLE_DEPOT, "d2", "d1", "c1", "c2", false, false},
    {"depot, depot name prefix", "desk1", ROLE_DEPOT, "d", "d1", "c1", "c2", false, false},
    {"depot account without a depot", "desk0", ROLE_DEPOT, "", "d1", "c1", "c2", false, false},
    {"depot account without a depot, order without one", "desk0", ROLE_DEPOT, "", "", "c1", "c2",
     false, false},
    {"depot named like the creator", "c1", ROLE_DEPOT, "d2", "d1", "c1", "c2", false, false},
    /* admin */
    {"admin, any order", "root", ROLE_ADMIN, "", "d1", "c1", "c2", true, false},
    {"admin with a depot, other depot", "root", ROLE_ADMIN, "d2", "d1", "c1", "", true, false},
    /* auditor, telephony, none */
    {"auditor", "aud", ROLE_AUDITOR, "", "d1", "c1", "c2", false, false},
    {"auditor named like the creator", "c1", ROLE_AUDITOR, "d1", "d1", "c1", "c2", false, false},
    {"telephony", "tel", ROLE_TELEPHONY, "", "d1", "c1", "c2", false, false},
    {"telephony named like the courier", "c2", ROLE_TELEPHONY, "d1", "d1", "c1", "c2", false,
     false},
    {"no role, named like the courier", "c2", ROLE_NONE, "d1", "d1", "c1", "c2", false, false},
    {"several role bits", "c2", ROLE_COURIER | ROLE_ADMIN, "d1", "d1", "c1", "c2", false, false},
};

static void test_scope(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(scope_cases); i++) {
		const struct scope_case *c = &scope_cases[i];
		struct account a = acct(c->name, c->role, c->depot);
		struct order_row o = order(c->o_depot, c->o_creator, c->o_courier);
		bool see = access_may(ACT_ORDER_READ, &a, &o);
		bool set = access_may(ACT_ORDER_STATUS, &a, &o);

		if (see != c->see || set != c->set_status)
			fprintf(stderr, "scope \"%s\": see %d (want %d), set_status %d (want %d)\n",
				c->what, see, c->see, set, c->set_status);
		CHECK(see == c->see);
		CHECK(set == c->set_status);
		/* Whoever may set the status may also see the order. */
		CHECK(!set || see);
	}
}

/* ---- the e2e matrix -------------------------------------------------------- */

enum { C1, C2, C3, C4, DEP1, DEP2, ADM1, AUD1, TEL1, NCALLERS };

/* tests/e2e/lib.sh's accounts, and 30-matrix.sh's c4. */
static const struct {
	const char *name;
	enum role role;
	const char *depot;
} callers[NCALLERS] = {
    [C1] = {"c1", ROLE_COURIER, "d1"},	   [C2] = {"c2", ROLE_COURIER, "d1"},
    [C3] = {"c3", ROLE_COURIER, "d2"},	   [C4] = {"c4", ROLE_COURIER, "d1"},
    [DEP1] = {"dep1", ROLE_DEPOT, "d1"},   [DEP2] = {"dep2", ROLE_DEPOT, "d2"},
    [ADM1] = {"adm1", ROLE_ADMIN, ""},	   [AUD1] = {"aud1", ROLE_AUDITOR, ""},
    [TEL1] = {"tel1", ROLE_TELEPHONY, ""},
};

/*
 * 30-matrix.sh's MATRIX without its 401 columns (none, bad, dis1: those
 * never authenticate): the order is c1's, of depot d1, assigned to c2.
 * names_order: the request names that order (else it names none, or finds
 * its own, as a call does).
 */
static const struct {
	const char *action;
	bool names_order;
	unsigned want[NCALLERS]; /* c1 c2 c3 c4 dep1 dep2 adm1 aud1 tel1 */
} matrix[] = {
    {"order.create", false, {201, 201, 201, 201, 403, 403, 403, 403, 403}},
    {"order.list", false, {200, 200, 200, 200, 200, 200, 403, 403, 403}},
    {"order.read", true, {200, 200, 404, 404, 200, 404, 200, 403, 403}},
    {"order.assign", true, {403, 403, 403, 403, 200, 404, 403, 403, 403}},
    {"order.status", true, {404, 200, 404, 404, 200, 404, 403, 403, 403}},
    {"label.print", true, {200, 404, 404, 404, 200, 404, 403, 403, 403}},
    {"label.batch", true, {403, 403, 403, 403, 200, 404, 403, 403, 403}},
    {"label.preview", true, {200, 404, 404, 404, 200, 404, 403, 403, 403}},
    {"order.delivery", true, {404, 200, 404, 404, 403, 403, 403, 403, 403}},
    {"call.route", false, {403, 403, 403, 403, 403, 403, 403, 403, 200}},
    {"admin.reveal", true, {403, 403, 403, 403, 403, 403, 200, 403, 403}},
    {"audit.read", false, {403, 403, 403, 403, 403, 403, 403, 200, 403}},
    {"audit.verify", false, {403, 403, 403, 403, 403, 403, 403, 200, 403}},
    /* A depot's own printers and jobs: "names_order" stands for a job of depot d1. */
    {"printer.list", false, {403, 403, 403, 403, 200, 200, 403, 403, 403}},
    {"print_job.create", true, {403, 403, 403, 403, 202, 404, 403, 403, 403}},
    {"print_job.read", true, {403, 403, 403, 403, 200, 404, 403, 403, 403}},
    {"print_job.retry", true, {403, 403, 403, 403, 202, 404, 403, 403, 403}},
};

/* What the route table (http.c) and then the handler's access_may() answer. */
static unsigned decide(const struct route *rt, enum access_action act, const struct account *a,
		       const struct order_row *o)
{
	if (!(rt->roles & (unsigned)a->role))
		return 403;
	if (!access_may(act, a, o))
		return o ? 404 : 403;
	if (act == ACT_PRINT_JOB_CREATE || act == ACT_PRINT_JOB_RETRY)
		return 202;
	return act == ACT_ORDER_CREATE ? 201 : 200;
}

static void test_matrix(void)
{
	struct order_row o = order("d1", "c1", "c2");

	CHECK(ARRAY_SIZE(matrix) == 17);
	for (size_t i = 0; i < ARRAY_SIZE(matrix); i++) {
		const struct route *rt = route_find(matrix[i].action);
		enum access_action act;

		CHECK(rt != NULL);
		CHECK(action_find(matrix[i].action, &act));
		if (!rt || !action_find(matrix[i].action, &act))
			continue;
		for (int k = 0; k < NCALLERS; k++) {
			struct account a = acct(callers[k].name, callers[k].role, callers[k].depot);
			unsigned got = decide(rt, act, &a, matrix[i].names_order ? &o : NULL);

			if (got != matrix[i].want[k])
				fprintf(stderr, "%s as %s: %u, want %u\n", matrix[i].action,
					callers[k].name, got, matrix[i].want[k]);
			CHECK(got == matrix[i].want[k]);
		}
	}
}

/* ---- the route table is the table's ---------------------------------------- */

static void test_routes(void)
{
	size_t with_roles = 0;

	for (size_t i = 0; i < routes_count; i++) {
		const struct route *rt = &routes[i];
		enum access_action act;

		if (!rt->roles) {
			/* No authentication, no audit: /healthz, /readyz, /metrics. */
			CHECK(rt->action == NULL);
			continue;
		}
		/* an action served by several routes (label and its alias label.pdf)
		 * is one row of the matrix */
		with_roles += route_find(rt->action) == rt;
		CHECK(rt->action && action_find(rt->action, &act));
		if (!rt->action || !action_find(rt->action, &act))
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(all_roles); k++) {
			bool admits = (rt->roles & (unsigned)all_roles[k]) != 0;
			bool scoped = access_scope(act, all_roles[k]) != ACCESS_NONE;

			if (admits != scoped)
				fprintf(stderr, "route %s %s: role %s admitted %d, scope %d\n",
					rt->method, rt->pattern, role_name(all_roles[k]), admits,
					scoped);
			CHECK(admits == scoped);
		}
	}
	/* Every route row of the table has its route(s); the rules without one have none. */
	CHECK(with_roles == ARRAY_SIZE(matrix));
	CHECK(route_find(access_action_name(ACT_ORDER_ASSIGNEE)) == NULL);
	CHECK(route_find(access_action_name(ACT_CALL_ANSWER)) == NULL);
	/* The store lists two scopes only: a courier's own orders and a depot's. */
	for (size_t k = 0; k < ARRAY_SIZE(all_roles); k++) {
		enum access_scope s = access_scope(ACT_ORDER_LIST, all_roles[k]);
		CHECK(s == ACCESS_NONE || s == ACCESS_OWN || s == ACCESS_DEPOT);
	}
	/* No role, several role bits, an action out of range: no scope at all. */
	for (unsigned i = 0; i < ACCESS_ACTION_COUNT; i++) {
		CHECK(access_scope((enum access_action)i, ROLE_NONE) == ACCESS_NONE);
		CHECK(access_scope((enum access_action)i, ROLE_DEPOT | ROLE_ADMIN) == ACCESS_NONE);
		CHECK(access_action_name((enum access_action)i)[0] != '\0');
	}
	CHECK(access_scope(ACCESS_ACTION_COUNT, ROLE_ADMIN) == ACCESS_NONE);
}

/* ---- the other rows, case by case ---------------------------------------------- */

struct may_case {
	const char *what;
	enum access_action act;
	const char *name;
	enum role role;
	const char *depot;
	const char *o_depot, *o_creator, *o_courier; /* o_depot NULL: no order */
	bool want;
};

static const struct may_case may_cases[] = {
    /* docs/API.md: a courier prints the labels of orders it created; a depot its depot's. */
    {"print: courier, creator", ACT_LABEL_PRINT, "c1", ROLE_COURIER, "d1", "d1", "c1", "c2", true},
    {"print: courier, assigned only", ACT_LABEL_PRINT, "c2", ROLE_COURIER, "d1", "d1", "c1", "c2",
     false},
    {"print: depot, own", ACT_LABEL_PRINT, "dep1", ROLE_DEPOT, "d1", "d1", "c1", "", true},
    {"print: depot, other", ACT_LABEL_PRINT, "dep2", ROLE_DEPOT, "d2", "d1", "c1", "", false},
    {"print: depot without a depot", ACT_LABEL_PRINT, "dep0", ROLE_DEPOT, "", "", "c1", "", false},
    {"print: admin", ACT_LABEL_PRINT, "adm1", ROLE_ADMIN, "", "d1", "c1", "c2", false},
    /* The delivery view is the assigned courier's alone. */
    {"delivery: assigned", ACT_ORDER_DELIVERY, "c2", ROLE_COURIER, "d1", "d1", "c1", "c2", true},
    {"delivery: creator", ACT_ORDER_DELIVERY, "c1", ROLE_COURIER, "d1", "d1", "c1", "c2", false},
    {"delivery: unassigned", ACT_ORDER_DELIVERY, "c1", ROLE_COURIER, "d1", "d1", "c1", "", false},
    {"delivery: depot", ACT_ORDER_DELIVERY, "dep1", ROLE_DEPOT, "d1", "d1", "c1", "c2", false},
    /* Assign: a depot its own orders, to an active courier of that depot. */
    {"assign: depot, own", ACT_ORDER_ASSIGN, "dep1", ROLE_DEPOT, "d1", "d1", "c1", "", true},
    {"assign: depot, other", ACT_ORDER_ASSIGN, "dep2", ROLE_DEPOT, "d2", "d1", "c1", "", false},
    {"assignee: courier of the depot", ACT_ORDER_ASSIGNEE, "c4", ROLE_COURIER, "d1", "d1", "c1", "",
     true},
    {"assignee: courier of another depot", ACT_ORDER_ASSIGNEE, "c3", ROLE_COURIER, "d2", "d1", "c1",
     "", false},
    {"assignee: courier without a depot", ACT_ORDER_ASSIGNEE, "c0", ROLE_COURIER, "", "", "c1", "",
     false},
    {"assignee: depot account", ACT_ORDER_ASSIGNEE, "dep1", ROLE_DEPOT, "d1", "d1", "c1", "",
     false},
    {"assignee: admin", ACT_ORDER_ASSIGNEE, "adm1", ROLE_ADMIN, "d1", "d1", "c1", "", false},
    /* A call is forwarded to the assigned courier, no one else. */
    {"call answer: assigned courier", ACT_CALL_ANSWER, "c2", ROLE_COURIER, "d1", "d1", "c1", "c2",
     true},
    {"call answer: creator", ACT_CALL_ANSWER, "c1", ROLE_COURIER, "d1", "d1", "c1", "c2", false},
    {"call answer: depot named like the courier", ACT_CALL_ANSWER, "c2", ROLE_DEPOT, "d1", "d1",
     "c1", "c2", false},
    /* Before an order is known: a courier creates only with a depot (403 no_depot). */
    {"create: courier with a depot", ACT_ORDER_CREATE, "c1", ROLE_COURIER, "d1", NULL, NULL, NULL,
     true},
    {"create: courier without a depot", ACT_ORDER_CREATE, "c0", ROLE_COURIER, "", NULL, NULL, NULL,
     false},
    {"create: depot", ACT_ORDER_CREATE, "dep1", ROLE_DEPOT, "d1", NULL, NULL, NULL, false},
    {"list: courier", ACT_ORDER_LIST, "c1", ROLE_COURIER, "d1", NULL, NULL, NULL, true},
    {"list: auditor", ACT_ORDER_LIST, "aud1", ROLE_AUDITOR, "", NULL, NULL, NULL, false},
    {"audit: auditor", ACT_AUDIT_READ, "aud1", ROLE_AUDITOR, "", NULL, NULL, NULL, true},
    {"call route: telephony", ACT_CALL_ROUTE, "tel1", ROLE_TELEPHONY, "", NULL, NULL, NULL, true},
    {"reveal: admin, any order", ACT_ADMIN_REVEAL, "adm1", ROLE_ADMIN, "", "d9", "c9", "", true},
};

static void test_may_cases(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(may_cases); i++) {
		const struct may_case *c = &may_cases[i];
		struct account a = acct(c->name, c->role, c->depot);
		struct order_row o;
		bool got;

		if (c->o_depot)
			o = order(c->o_depot, c->o_creator, c->o_courier);
		got = access_may(c->act, &a, c->o_depot ? &o : NULL);
		if (got != c->want)
			fprintf(stderr, "\"%s\": %d, want %d\n", c->what, got, c->want);
		CHECK(got == c->want);
	}
}

int main(void)
{
	test_scope();
	test_matrix();
	test_routes();
	test_may_cases();
	return t_done();
}
