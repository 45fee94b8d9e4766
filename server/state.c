/*
 * state.c - the order state machine (state.h).
 */
#include "common.h"
#include "state.h"

static const char *const states[] = {"created",	  "picked_up", "in_transit", "out_for_delivery",
				     "delivered", "returned",  "cancelled"};

bool status_known(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		if (strcmp(s, states[i]) == 0)
			return true;
	return false;
}

static int status_rank(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(s, states[i]) == 0)
			return i;
	return -1;
}

bool status_final(const char *s)
{
	return strcmp(s, "delivered") == 0 || strcmp(s, "returned") == 0 ||
	       strcmp(s, "cancelled") == 0;
}

/*
 * created -> picked_up -> in_transit -> out_for_delivery -> delivered, one
 * step at a time; returned and cancelled from any state before delivered.
 */
bool status_transition_ok(const char *from, const char *to)
{
	int f = status_rank(from), t = status_rank(to);

	if (status_final(from))
		return false;
	if (strcmp(to, "returned") == 0 || strcmp(to, "cancelled") == 0)
		return f >= 0;
	return f >= 0 && t == f + 1;
}
