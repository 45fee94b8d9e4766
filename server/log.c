/*
 * log.c - one logfmt line per event (ts= level= req= then key=value
 * fields), written with a single write(2) so lines from several threads
 * never interleave.
 */
#include "common.h"
#include "log.h"

#include <stdarg.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_INFO;
const char *log_progname = "waybilld";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

bool log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

/* A logfmt value: bare when it is plain, else quoted with \" \\ \n \r \t and
 * \xHH for every other control byte, so no client byte can fake a field or
 * break the line.  Cut to what fits (at an escape's boundary). */
static size_t put_value(char *out, size_t cap, const char *v)
{
	size_t n = 0;
	bool quote = !*v;

	for (const char *p = v; *p && !quote; p++) {
		unsigned char ch = (unsigned char)*p;
		quote = ch <= ' ' || ch == '"' || ch == '=' || ch == '\\' || ch == 0x7f;
	}
	if (cap < 3)
		return 0;
	if (quote)
		out[n++] = '"';
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		char esc[5];
		size_t k;

		if (ch == '"' || ch == '\\')
			k = (size_t)snprintf(esc, sizeof(esc), "\\%c", ch);
		else if (ch == '\n')
			k = (size_t)snprintf(esc, sizeof(esc), "\\n");
		else if (ch == '\r')
			k = (size_t)snprintf(esc, sizeof(esc), "\\r");
		else if (ch == '\t')
			k = (size_t)snprintf(esc, sizeof(esc), "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			k = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", ch);
		else
			k = (size_t)snprintf(esc, sizeof(esc), "%c", ch);
		if (n + k + 1 > cap) /* room for the closing quote */
			break;
		memcpy(out + n, esc, k);
		n += k;
	}
	if (quote)
		out[n++] = '"';
	return n;
}

/* ts= level= req= and then the fields; one write(2). */
static void emit(enum log_level lvl, const char *reqid, const char *const *kv, size_t nkv)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int k;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	k = snprintf(line, sizeof(line),
		     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s req=", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, level_names[lvl]);
	n = k > 0 ? (size_t)k : 0;
	n += put_value(line + n, sizeof(line) - n - 1, reqid && *reqid ? reqid : "-");
	for (size_t i = 0; i + 1 < nkv; i += 2) {
		size_t klen = strlen(kv[i]);
		if (n + klen + 4 >= sizeof(line) - 1)
			break;
		line[n++] = ' ';
		memcpy(line + n, kv[i], klen);
		n += klen;
		line[n++] = '=';
		n += put_value(line + n, sizeof(line) - n - 1, kv[i + 1] ? kv[i + 1] : "-");
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nowhere left to report it */
	}
}

void log_msg(enum log_level lvl, const char *reqid, const char *fmt, ...)
{
	char msg[1024];
	const char *kv[2] = {"msg", msg};
	va_list ap;

	if (lvl > log_threshold)
		return;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	emit(lvl, reqid, kv, ARRAY_SIZE(kv));
}

void log_fields(enum log_level lvl, const char *reqid, const char *const *kv, size_t nkv)
{
	if (lvl > log_threshold)
		return;
	emit(lvl, reqid, kv, nkv);
}

void fatal(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", log_progname, n >= 0 ? line : "fatal error");
	exit(1);
}
