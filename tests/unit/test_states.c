/*
 * test_states.c - the order state machine (state.c) against a table
 * written from docs/API.md.
 */
#include "../../server/common.h"
#include "../../server/state.h"

#include "t.h"

enum { CR, PU, IT, OFD, DL, RT, CN, NSTATES };

static const char *const names[NSTATES] = {
    [CR] = "created",	[PU] = "picked_up", [IT] = "in_transit", [OFD] = "out_for_delivery",
    [DL] = "delivered", [RT] = "returned",  [CN] = "cancelled",
};

/*
 * docs/API.md: created -> picked_up -> in_transit -> out_for_delivery ->
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
 * docs/API.md: the recipient's call reaches the courier only once the parcel is
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

int main(void)
{
	test_transitions();
	test_recipient_calls();
	return t_done();
}
