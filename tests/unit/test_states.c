/*
 * test_states.c - the order state machine (state.c) and the scope rules
 * (access.c), each against a table written from API.md.
 */
#include "../../server/common.h"
#include "../../server/handlers.h"
#include "../../server/state.h"
#include "../../server/store.h"

#include "t.h"

enum { CR, PU, IT, OFD, DL, RT, CN, NSTATES };

static const char *const names[NSTATES] = {
    [CR] = "created",	[PU] = "picked_up", [IT] = "in_transit", [OFD] = "out_for_delivery",
    [DL] = "delivered", [RT] = "returned",  [CN] = "cancelled",
};

/*
 * API.md: created -> picked_up -> in_transit -> out_for_delivery ->
 * delivered, one step at a time; returned and cancelled end an order from
 * any state before delivered; nothing leaves delivered, returned or
 * cancelled.  Row: from; column: to.
 */
static const bool allowed[NSTATES][NSTATES] = {
    /*          CR PU IT OFD DL RT CN */
    [CR] = {0, 1, 0, 0, 0, 1, 1},  [PU] = {0, 0, 1, 0, 0, 1, 1}, [IT] = {0, 0, 0, 1, 0, 1, 1},
    [OFD] = {0, 0, 0, 0, 1, 1, 1}, [DL] = {0, 0, 0, 0, 0, 0, 0}, [RT] = {0, 0, 0, 0, 0, 0, 0},
    [CN] = {0, 0, 0, 0, 0, 0, 0},
};

static const bool final_state[NSTATES] = {[DL] = 1, [RT] = 1, [CN] = 1};

/* Strings that are not states: near misses, case, padding, empty. */
static const char *const not_states[] = {
    "",	       "Created", "CREATED",	 "created ", " created", "picked-up", "pickedup",
    "transit", "deliver", "delivered\n", "canceled", "return",	 "lost",      "null",
};

static void test_transitions(void)
{
	int count_ok = 0;

	for (int f = 0; f < NSTATES; f++) {
		enum order_state got_state;

		/* The enum and the strings at the edges are the same list, in the same order. */
		CHECK(strcmp(state_name((enum order_state)f), names[f]) == 0);
		CHECK(state_parse(names[f], &got_state) && got_state == (enum order_state)f);
		if (state_final((enum order_state)f) != final_state[f]) {
			fprintf(stderr, "state_final(%s) wrong\n", names[f]);
			CHECK(false);
		} else {
			CHECK(true);
		}
		for (int t = 0; t < NSTATES; t++) {
			bool got = state_transition_ok((enum order_state)f, (enum order_state)t);
			if (got != allowed[f][t])
				fprintf(stderr, "transition %s -> %s: got %d, want %d\n", names[f],
					names[t], got, allowed[f][t]);
			CHECK(got == allowed[f][t]);
			count_ok += got;
		}
	}
	/* 4 forward steps, and returned/cancelled out of each of the 4 open states. */
	CHECK(count_ok == 4 + 4 * 2);
	CHECK(STATE_COUNT == NSTATES);

	/* A string that is no state parses to nothing and leaves *out alone. */
	for (size_t i = 0; i < ARRAY_SIZE(not_states); i++) {
		enum order_state st = STATE_IN_TRANSIT;

		if (state_parse(not_states[i], &st))
			fprintf(stderr, "\"%s\" parsed as a state\n", not_states[i]);
		CHECK(!state_parse(not_states[i], &st));
		CHECK(st == STATE_IN_TRANSIT);
	}
	/* Out of range: no state, final or not, and no transition to or from it. */
	CHECK(!state_final((enum order_state)NSTATES));
	for (int s = 0; s < NSTATES; s++) {
		CHECK(!state_transition_ok((enum order_state)NSTATES, (enum order_state)s));
		CHECK(!state_transition_ok((enum order_state)s, (enum order_state)NSTATES));
	}

	/* Walking the happy path visits every open state once and ends final. */
	{
		const enum order_state path[] = {STATE_CREATED, STATE_PICKED_UP, STATE_IN_TRANSIT,
						 STATE_OUT_FOR_DELIVERY, STATE_DELIVERED};
		for (size_t i = 0; i + 1 < ARRAY_SIZE(path); i++) {
			CHECK(!state_final(path[i]));
			CHECK(state_transition_ok(path[i], path[i + 1]));
			/* Skipping a step and going back are both refused. */
			if (i + 2 < ARRAY_SIZE(path))
				CHECK(!state_transition_ok(path[i], path[i + 2]));
			CHECK(!state_transition_ok(path[i + 1], path[i]));
		}
		CHECK(state_final(path[ARRAY_SIZE(path) - 1]));
	}
}

/*
 * API.md: the recipient's call reaches the courier only once the parcel is
 * out for delivery, and (within the binding's grace period) once delivered.
 */
static void test_recipient_calls(void)
{
	static const bool may_call[NSTATES] = {[OFD] = 1, [DL] = 1};

	for (int s = 0; s < NSTATES; s++) {
		if (state_recipient_may_call((enum order_state)s) != may_call[s])
			fprintf(stderr, "recipient call in %s wrong\n", names[s]);
		CHECK(state_recipient_may_call((enum order_state)s) == may_call[s]);
	}
}

/* ---- scope ------------------------------------------------------------- */

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
 * API.md roles: a courier sees orders it created or that are assigned to
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
		bool see = scope_may_see(&a, &o), set = scope_may_set_status(&a, &o);

		if (see != c->see || set != c->set_status)
			fprintf(stderr, "scope \"%s\": see %d (want %d), set_status %d (want %d)\n",
				c->what, see, c->see, set, c->set_status);
		CHECK(see == c->see);
		CHECK(set == c->set_status);
		/* Whoever may set the status may also see the order. */
		CHECK(!set || see);
	}
}

int main(void)
{
	test_transitions();
	test_recipient_calls();
	test_scope();
	return t_done();
}
