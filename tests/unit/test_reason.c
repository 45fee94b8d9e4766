/*
 * test_reason.c - what an admin's reason may hold (reason.c): a table of
 * what an insider would try, and what an honest admin writes.
 */
#include "reason.h"
#include "t.h"

struct reason_case {
	const char *reason; /* NULL: none given */
	bool ok;
	const char *why;
};

static const struct reason_case cases[] = {
    /* What honest admins write. */
    {"ticket T-4711: customer asks what was sent", true, "English, a ticket"},
    {"case ABC-12", true, "short case number"},
    {"ticket CS-2291", true, "four digits"},
    {"工单 CS-2291：收件人投诉", true, "Chinese with a full-width colon"},
    {"工单CS-2291 一直没收到，第二次投诉", true, "Chinese numerals in words"},
    {"ＣＳ－２２９１ 客户投诉丢件", true, "full-width ticket"},
    {"OPS#12 地址核实", true, "ticket with #"},
    {"T-1 退货核实", true, "one digit"},
    {"ticket X-1\u3000地址核实", true, "ideographic space"},
    /* Missing, short, long. */
    {NULL, false, "no reason"},
    {"", false, "empty"},
    {"T-1", false, "three characters"},
    {"ticket T-1 "
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxx",
     false, "201 characters"},
    /* 100 Chinese characters: 300 bytes, more than the audit entry holds. */
    {"工单 T-1 "
     "投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉"
     "投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉投诉"
     "投诉投诉投",
     false, "300 bytes of Chinese"},
    /* Phones and long numbers, in every notation. */
    {"T-1 call 13812345678 back", false, "mobile"},
    {"T-1 +8613812345678", false, "E.164"},
    {"T-1 call +86 138 1234 5678 back", false, "spaced"},
    {"T-1 call 138-1234-5678", false, "dashed"},
    {"T-1 call 138/1234/5678", false, "slashes"},
    {"T-1 call 138.1234.5678", false, "dots"},
    {"T-1 call 138_1234_5678", false, "underscores"},
    {"T-1 call (138)1234-5678", false, "parentheses"},
    {"T-1 call 138·1234·5678", false, "middle dots"},
    {"T-1 call 138\u30001234\u30005678", false, "ideographic spaces"},
    {"T-1 call 138、1234、5678", false, "enumeration commas"},
    {"T-1 call 138—1234—5678", false, "em dashes"},
    {"T-1 call １３８１２３４５６７８", false, "full-width digits"},
    {"T-1 call １３８ １２３４ ５６７８", false, "full-width, spaced"},
    {"T-1 call 138a1234b5678", false, "letters between the groups: 11 digits in all"},
    {"T-1 0755-22254189 asked", false, "landline"},
    {"T-1 一三八一二三四五六七八", false, "Chinese numerals"},
    {"T-1 幺三八 幺二三四 五六七八", false, "spoken numerals, spaced"},
    {"T-1 138一二三四5678", false, "mixed numerals: 11 digits in all"},
    {"T-1 12345", false, "five digits"},
    {"T-1 1234 5", false, "five digits across a space"},
    {"2026-11-22 T-1", false, "a date is 8 digits across separators"},
    {"T-1 ①③⑧①②③④⑤⑥⑦⑧", false, "circled digits: not allowed at all"},
    {"T-1 \u0661\u0663\u0668\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", false,
     "Arabic-Indic digits"},
    {"T-1 𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", false, "mathematical digits"},
    {"T-1 138\u200b1234\u200b5678", false, "zero-width spaces"},
    {"T-1 \u00b9\u00b3\u2078", false, "superscripts"},
    /* Control characters and bad UTF-8. */
    {"ticket T-1\nbreak", false, "newline"},
    {"ticket T-1\tx", false, "tab"},
    {"ticket T-1 \xc2\x85", false, "C1 control"},
    {"ticket T-1 \xe6\x8a", false, "cut UTF-8"},
    {"ticket T-1 \xc0\xaf", false, "overlong"},
    /* Names. */
    {"T-1 张三 asked", false, "a Chinese name alone"},
    {"T-1 欧阳娜娜", false, "compound surname"},
    {"T-1 收件人：张三投诉", false, "after a label"},
    {"T-1 客户李说没收到", false, "label, then surname"},
    {"T-1 王先生要求改地址", false, "surname and honorific"},
    {"T-1 阿依·买买提", false, "name dot"},
    {"T-1 John·Smith", false, "Latin name dot"},
    {"T-1 张*三", true, "a masked name is not a name (the view shows it anyway)"},
    /* No ticket. */
    {"customer asks what was sent", false, "no ticket"},
    {"收件人投诉，核实地址", false, "no ticket (Chinese)"},
    {"ticket 4711", false, "digits without letters"},
    {"ticket ABCDEFGHIJKLM-1", false, "13 letters"},
    {"ticket T-12345", false, "five digits is no ticket (and a long number)"},
    /* Other scripts and symbols. */
    {"T-1 😀 customer", false, "emoji"},
    {"T-1 Ünïcödé", false, "Latin with accents"},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct reason_case *c = &cases[i];
		const char *p = reason_problem(c->reason);
		CHECKF((p == NULL) == c->ok, "case %zu (%s): %s", i, c->why, p ? p : "accepted");
	}

	/* A refusal never quotes the input. */
	{
		const char *p = reason_problem("T-1 call 13812345678");
		CHECK(p && !strstr(p, "138"));
	}
	/* 200 characters pass when they fit in the bytes; 85 Chinese ones too. */
	{
		char buf[512];
		size_t n = (size_t)snprintf(buf, sizeof(buf), "T-1 ");
		while (n < 200)
			buf[n++] = 'x';
		buf[n] = '\0';
		CHECK(reason_problem(buf) == NULL);
		n = (size_t)snprintf(buf, sizeof(buf), "工单 T-1 ");
		for (int k = 0; k < 80; k++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "诉");
		CHECK(n <= REASON_TEXT_MAX && reason_problem(buf) == NULL);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "诉诉诉诉诉诉诉诉诉诉诉诉诉诉诉诉诉诉诉诉");
		CHECK(n > REASON_TEXT_MAX && reason_problem(buf) != NULL);
	}
	printf("%d passed, %d failed\n", t_pass, t_fail);
	return t_fail != 0;
}
