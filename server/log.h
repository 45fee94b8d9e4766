/*
 * log.h - leveled one-line logs to stderr.
 *
 * Lines are logfmt: ts= level= req= (the request id, "-" when none), then
 * msg="..." built by the caller from fixed text, status codes, tracking
 * numbers and account names - never from personal data - or, for
 * log_fields, the caller's own key=value pairs.  Values with spaces, quotes
 * or '=' are quoted; control bytes are written \n, \x01...: no value can
 * break a line or fake a field.
 */
#ifndef WAYBILL_LOG_H
#define WAYBILL_LOG_H

#include "common.h"

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_threshold;
extern const char *log_progname; /* prefix of fatal() lines */

/* Parse "error", "warn", "info", "debug"; false when unknown. */
bool log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level lvl, const char *reqid, const char *fmt, ...) PRINTF_LIKE(3, 4);
/* One line of fields: kv holds nkv strings, key, value, key, value...; keys
 * are the caller's constants, values anything (a NULL value is "-"). */
void log_fields(enum log_level lvl, const char *reqid, const char *const *kv, size_t nkv);

#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_threshold >= LOG_DEBUG)                                                    \
			log_msg(LOG_DEBUG, NULL, __VA_ARGS__);                                     \
	} while (0)

/* Print "waybilld: <msg>" on stderr and exit 1.  Only before serving. */
NORETURN void fatal(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif
