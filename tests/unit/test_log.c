/*
 * test_log.c - logfmt lines: plain values bare, the rest quoted with every
 * control byte, quote and backslash escaped, so that no value a client
 * controls (a method, a header) can break a line or add a field; values cut
 * to fit never end inside an escape or without their closing quote.
 */
#include "../../server/log.c"

#include <fcntl.h>

#include "t.h"

static const char *val(const char *v, size_t cap)
{
	static char out[256];
	size_t n = put_value(out, cap, v);

	out[n] = '\0';
	return out;
}

/* Run one log call with stderr on a temporary file; its text in out. */
static void capture(char *out, size_t cap, void (*fn)(void))
{
	char path[] = "/tmp/test_log.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	out[0] = '\0';
	if (fd < 0 || saved < 0)
		return;
	unlink(path);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, cap - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void one_request(void)
{
	const char *kv[] = {"method", "G\x01T", "route", "(unmatched)", "status",
			    "405",    "actor",	NULL,	 "ip",		"127.0.0.1"};
	log_fields(LOG_INFO, "0123456789abcdef", kv, ARRAY_SIZE(kv));
}

static void one_msg(void)
{
	log_msg(LOG_WARN, NULL, "line one\nfake=field level=error");
}

static void below_threshold(void)
{
	log_msg(LOG_DEBUG, NULL, "not shown");
}

int main(void)
{
	char line[2048];

	CHECK_STR(val("POST", 64), "POST");
	CHECK_STR(val("/v1/orders/{tn}", 64), "/v1/orders/{tn}");
	CHECK_STR(val("", 64), "\"\"");
	CHECK_STR(val("two words", 64), "\"two words\"");
	CHECK_STR(val("a=b", 64), "\"a=b\"");
	CHECK_STR(val("GE\"T", 64), "\"GE\\\"T\"");
	CHECK_STR(val("back\\slash", 64), "\"back\\\\slash\"");
	CHECK_STR(val("G\x01T", 64), "\"G\\x01T\"");
	CHECK_STR(val("a\nb\rc\td\x7f", 64), "\"a\\nb\\rc\\td\\x7f\"");
	/* UTF-8 (an account name) passes as it is */
	CHECK_STR(val("\xe5\xbc\xa0", 64), "\xe5\xbc\xa0");
	/* Cut to fit: at an escape's boundary, the closing quote kept. */
	CHECK_STR(val("\x01\x01\x01", 10), "\"\\x01\\x01\"");
	CHECK_STR(val("a b c d e f", 6), "\"a b \"");

	capture(line, sizeof(line), one_request);
	CHECKF(strncmp(line, "ts=", 3) == 0 && strstr(line, " level=info req=0123456789abcdef "),
	       "%s", line);
	CHECKF(strstr(line, " method=\"G\\x01T\" route=(unmatched) status=405 actor=- "
			    "ip=127.0.0.1\n") != NULL,
	       "%s", line);
	CHECK(strchr(line, '\x01') == NULL);
	CHECK(strchr(line, '\n') == line + strlen(line) - 1);

	capture(line, sizeof(line), one_msg);
	CHECKF(strstr(line, " level=warn req=- msg=\"line one\\nfake=field level=error\"\n") !=
		   NULL,
	       "%s", line);
	CHECK(strchr(line, '\n') == line + strlen(line) - 1);

	capture(line, sizeof(line), below_threshold);
	CHECK_STR(line, "");
	return t_done();
}
