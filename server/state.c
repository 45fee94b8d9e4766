/*
 * state.c - the order state machine (state.h) as one table: each state's
 * name and the states it may change to.
 */
#include "common.h"
#include "state.h"

#include <assert.h>

#define TO(s) (1u << (s))
/* Returned and cancelled end an order from any state before delivered. */
#define ENDS (TO(STATE_RETURNED) | TO(STATE_CANCELLED))

static const struct {
	const char *name;
	unsigned next; /* TO() bits of the states it may change to; none: final */
} states[STATE_COUNT] = {
    [STATE_CREATED] = {"created", TO(STATE_PICKED_UP) | ENDS},
    [STATE_PICKED_UP] = {"picked_up", TO(STATE_IN_TRANSIT) | ENDS},
    [STATE_IN_TRANSIT] = {"in_transit", TO(STATE_OUT_FOR_DELIVERY) | ENDS},
    [STATE_OUT_FOR_DELIVERY] = {"out_for_delivery", TO(STATE_DELIVERED) | ENDS},
    [STATE_DELIVERED] = {"delivered", 0},
    [STATE_RETURNED] = {"returned", 0},
    [STATE_CANCELLED] = {"cancelled", 0},
};

static bool state_ok(enum order_state s)
{
	return (unsigned)s < STATE_COUNT;
}

const char *state_name(enum order_state s)
{
	assert(state_ok(s));
	return states[s].name;
}

bool state_parse(const char *s, enum order_state *out)
{
	for (unsigned i = 0; i < STATE_COUNT; i++)
		if (strcmp(s, states[i].name) == 0) {
			*out = (enum order_state)i;
			return true;
		}
	return false;
}

bool state_final(enum order_state s)
{
	return state_ok(s) && states[s].next == 0;
}

bool state_transition_ok(enum order_state from, enum order_state to)
{
	return state_ok(from) && state_ok(to) && (states[from].next & TO(to)) != 0;
}

bool state_recipient_may_call(enum order_state s)
{
	return s == STATE_OUT_FOR_DELIVERY || s == STATE_DELIVERED;
}
