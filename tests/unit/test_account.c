/*
 * test_account.c - roles and the name rules (account.h): which names and
 * depot codes pass, role names both ways, and the binding an account's
 * phone is sealed under.  (test_store.c holds more depot codes.)
 */
#include "common.h"
#include "account.h"

#include "t.h"

static void test_names(void)
{
	static const struct {
		const char *s;
		bool name, depot;
	} cases[] = {
	    {"demo-courier", true, true},
	    {"op.alice", true, true},
	    {"a_b.c-9", true, true},
	    {"0", true, true},
	    {"-", true, true},
	    {"..", true, true},
	    {"Alice", false, true},
	    {"alice bob", false, false},
	    {"alice@d1", false, false},
	    {"alice\t", false, false},
	    {"\xc3\xa9", false, false},			/* é */
	    {"\xe5\xbc\xa0\xe4\xb8\x89", false, false}, /* 张三 */
	    {"abcdefghijklmnopqrstuvwxyz012345", true, true},
	    {"abcdefghijklmnopqrstuvwxyz0123456", false, false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECKF(name_valid(cases[i].s) == cases[i].name, "name %zu", i);
		CHECKF(depot_valid(cases[i].s) == cases[i].depot, "depot %zu", i);
	}
}

static void test_roles(void)
{
	static const struct {
		enum role r;
		const char *name;
	} cases[] = {
	    {ROLE_COURIER, "courier"}, {ROLE_DEPOT, "depot"},	      {ROLE_ADMIN, "admin"},
	    {ROLE_AUDITOR, "auditor"}, {ROLE_TELEPHONY, "telephony"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		CHECK_STR(role_name(cases[i].r), cases[i].name);
		CHECK(role_parse(cases[i].name) == cases[i].r);
	}
	/* Not a role: no name, and no text parses to one. */
	CHECK_STR(role_name(ROLE_NONE), "-");
	CHECK_STR(role_name(ROLE_COURIER | ROLE_DEPOT), "-");
	CHECK(role_parse("-") == ROLE_NONE);
	CHECK(role_parse("Courier") == ROLE_NONE);
	CHECK(role_parse("courier ") == ROLE_NONE);
	CHECK(role_parse("") == ROLE_NONE);
	CHECK(role_parse("system") == ROLE_NONE);
}

static void test_seal_ad(void)
{
	static const struct {
		const char *name;
		size_t cap;
		const char *want; /* "" when it does not fit */
	} cases[] = {
	    {"demo-courier", ACCOUNT_AD_MAX, "account:demo-courier"},
	    {"a", ACCOUNT_AD_MAX, "account:a"},
	    {"abcdefghijklmnopqrstuvwxyz012345", ACCOUNT_AD_MAX,
	     "account:abcdefghijklmnopqrstuvwxyz012345"},
	    {"a", 10, "account:a"},
	    /* Never cut: a cut binding would bind less. */
	    {"ab", 10, ""},
	    {"a", 1, ""},
	};
	char out[ACCOUNT_AD_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(out, 'x', sizeof(out));
		size_t n = account_seal_ad(cases[i].name, out, cases[i].cap);
		CHECKF(n == strlen(cases[i].want), "case %zu: %zu", i, n);
		CHECK_STR(out, cases[i].want);
	}
	/* Two accounts never share one. */
	char a[ACCOUNT_AD_MAX], b[ACCOUNT_AD_MAX];
	account_seal_ad("c1", a, sizeof(a));
	account_seal_ad("c10", b, sizeof(b));
	CHECK(strcmp(a, b) != 0);
}

/* Names that are, or read as, the audit log's own actors. */
static void test_reserved(void)
{
	static const struct {
		const char *s;
		bool reserved;
	} cases[] = {
	    {"-", true},	   {"waybilld", true},	{"waybillctl", true}, {"waybill-x", true},
	    {"op.alice", true},	   {"sys.cron", true},	{"root", true},	      {"admin", true},
	    {"telephony", true},   {".hidden", true},	{"_x", true},	      {"alice", false},
	    {"opal", false},	   {"d1-admin", false}, {"0day", false},      {"systemd", false},
	    {"demo-depot", false}, {"courier7", false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		CHECKF(account_name_reserved(cases[i].s) == cases[i].reserved, "reserved %zu (%s)",
		       i, cases[i].s);
}

int main(void)
{
	test_names();
	test_roles();
	test_seal_ad();
	test_reserved();
	return t_done();
}
