/*
 * access.c - who may do what to which order (access.h).
 */
#include "common.h"
#include "access.h"

bool scope_may_see(const struct account *a, const struct order_row *o)
{
	switch (a->role) {
	case ROLE_COURIER:
		return strcmp(o->creator, a->name) == 0 || strcmp(o->courier, a->name) == 0;
	case ROLE_DEPOT:
		return a->depot[0] && strcmp(o->depot, a->depot) == 0;
	case ROLE_ADMIN:
		return true;
	default:
		return false;
	}
}

bool scope_may_set_status(const struct account *a, const struct order_row *o)
{
	switch (a->role) {
	case ROLE_COURIER:
		return o->courier[0] && strcmp(o->courier, a->name) == 0;
	case ROLE_DEPOT:
		return a->depot[0] && strcmp(o->depot, a->depot) == 0;
	default:
		return false;
	}
}

bool scope_may_print(const struct account *a, const struct order_row *o)
{
	if (a->role == ROLE_DEPOT)
		return a->depot[0] && strcmp(o->depot, a->depot) == 0;
	if (a->role == ROLE_COURIER)
		return strcmp(o->creator, a->name) == 0;
	return false;
}

bool scope_may_deliver(const struct account *a, const struct order_row *o)
{
	return o->courier[0] && strcmp(o->courier, a->name) == 0;
}
