/*
 * state.h - the order state machine: which states there are, which are
 * final, and which changes are allowed.
 */
#ifndef WAYBILL_STATE_H
#define WAYBILL_STATE_H

#include "common.h"

/* Order states. */
bool status_known(const char *s);
bool status_final(const char *s);
bool status_transition_ok(const char *from, const char *to);

#endif
