/*
 * access.c - the action x role table of access.h, and what a scope means
 * for one account and one order.
 */
#include "common.h"
#include "access.h"

enum { COL_COURIER, COL_DEPOT, COL_ADMIN, COL_AUDITOR, COL_TELEPHONY, COLS };

static const struct {
	const char *name;
	enum access_scope by[COLS];
} rules[ACCESS_ACTION_COUNT] = {
#define ACCESS_X(id, name, courier, depot, admin, auditor, telephony)                              \
	[ACT_##id] = {name,                                                                        \
		      {ACCESS_##courier, ACCESS_##depot, ACCESS_##admin, ACCESS_##auditor,         \
		       ACCESS_##telephony}},
    ACCESS_TABLE(ACCESS_X)
#undef ACCESS_X
};

/* One role, one column; no column for ROLE_NONE or several bits at once. */
static int column(enum role role)
{
	switch (role) {
	case ROLE_COURIER:
		return COL_COURIER;
	case ROLE_DEPOT:
		return COL_DEPOT;
	case ROLE_ADMIN:
		return COL_ADMIN;
	case ROLE_AUDITOR:
		return COL_AUDITOR;
	case ROLE_TELEPHONY:
		return COL_TELEPHONY;
	default:
		return -1;
	}
}

const char *access_action_name(enum access_action act)
{
	return (unsigned)act < ACCESS_ACTION_COUNT ? rules[act].name : "";
}

enum access_scope access_scope(enum access_action act, enum role role)
{
	int col = column(role);

	if ((unsigned)act >= ACCESS_ACTION_COUNT || col < 0)
		return ACCESS_NONE;
	return rules[act].by[col];
}

bool access_may(enum access_action act, const struct account *a, const struct order_row *o)
{
	bool created = o && strcmp(o->creator, a->name) == 0;
	bool assigned = o && o->courier[0] && strcmp(o->courier, a->name) == 0;

	switch (access_scope(act, a->role)) {
	case ACCESS_NONE:
		return false;
	case ACCESS_CREATED:
		return !o || created;
	case ACCESS_ASSIGNED:
		return !o || assigned;
	case ACCESS_OWN:
		return !o || created || assigned;
	case ACCESS_DEPOT:
		return a->depot[0] && (!o || strcmp(o->depot, a->depot) == 0);
	case ACCESS_ALL:
		return true;
	}
	return false;
}
