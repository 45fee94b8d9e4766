/*
 * state.h - the order state machine (docs/API.md "Order states"):
 *
 *   created -> picked_up -> in_transit -> out_for_delivery -> delivered,
 *   one step at a time; returned and cancelled end an order from any state
 *   before delivered; nothing leaves delivered, returned or cancelled.
 *
 * The stored column and the JSON stay strings: state_parse and state_name
 * convert at the edges, and a string that is no state (exactly: case and
 * all) parses to nothing.
 */
#ifndef WAYBILL_STATE_H
#define WAYBILL_STATE_H

#include "common.h"

enum order_state {
	STATE_CREATED,
	STATE_PICKED_UP,
	STATE_IN_TRANSIT,
	STATE_OUT_FOR_DELIVERY,
	STATE_DELIVERED,
	STATE_RETURNED,
	STATE_CANCELLED,
};
#define STATE_COUNT 7

/* "created", "picked_up", ...: the stored column and the JSON. */
const char *state_name(enum order_state s);
/* The state s names; false (and *out untouched) for any other string. */
bool state_parse(const char *s, enum order_state *out);
/* Final: the order has ended (delivered, returned, cancelled) and no change leaves it. */
bool state_final(enum order_state s);
/* May an order in state from change to state to? */
bool state_transition_ok(enum order_state from, enum order_state to);
/*
 * May the recipient's call reach the courier?  Only while the parcel is on
 * its way to them: out for delivery, or delivered (the binding then routes
 * until its grace period ends).
 */
bool state_recipient_may_call(enum order_state s);

#endif
