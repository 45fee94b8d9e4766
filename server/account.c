/*
 * account.c - roles and the rules for account names and depot codes.
 */
#include "common.h"
#include "account.h"

static const char *const role_names[] = {"courier", "depot", "admin", "auditor", "telephony"};

const char *role_name(enum role r)
{
	for (size_t i = 0; i < ARRAY_SIZE(role_names); i++)
		if (r == (enum role)(1 << i))
			return role_names[i];
	return "-";
}

enum role role_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(role_names); i++)
		if (strcmp(s, role_names[i]) == 0)
			return (enum role)(1 << i);
	return ROLE_NONE;
}

bool name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NAME_MAX_BYTES)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool depot_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NAME_MAX_BYTES)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

size_t account_seal_ad(const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "account:%s", name);

	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

/*
 * Names the audit log gives to actors that are not accounts ("-" for no
 * token, "waybilld" for the daemon, "op.<user>" for waybillctl), and names
 * that read as if they were: an account must never pass for one of them.
 * Reserved: these names, anything starting with "op.", "sys." or "waybill",
 * and anything not starting with a letter or digit.
 */
bool account_name_reserved(const char *name)
{
	static const char *const names[] = {
	    "-",     "admin",  "anonymous", "auditor", "courier",  "daemon",
	    "depot", "nobody", "none",	    "null",    "operator", "retention",
	    "root",  "system", "telephony", "unknown", "waybilld", "waybillctl",
	};
	static const char *const prefixes[] = {"op.", "sys.", "waybill"};

	if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}
