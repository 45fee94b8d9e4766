/*
 * util.c - the status names and the few helpers common.h declares.
 */
#include "common.h"

#include <stdlib.h>
#include <stdio.h>

const char *st_name(enum st st)
{
	switch (st) {
	case ST_OK:
		return "ok";
	case ST_NOMEM:
		return "out_of_memory";
	case ST_MALFORMED:
		return "malformed";
	case ST_UNAUTH:
		return "unauthorized";
	case ST_FORBIDDEN:
		return "forbidden";
	case ST_NOTFOUND:
		return "not_found";
	case ST_CONFLICT:
		return "conflict";
	case ST_GONE:
		return "gone";
	case ST_TOOBIG:
		return "too_large";
	case ST_MEDIATYPE:
		return "unsupported_media_type";
	case ST_INVALID:
		return "invalid";
	case ST_LIMIT:
		return "rate_limited";
	case ST_UNAVAILABLE:
		return "unavailable";
	case ST_IO:
		return "io_error";
	case ST_CRYPTO:
		return "integrity_error";
	case ST_INTERNAL:
		return "internal";
	}
	return "internal";
}

void field_err_set(struct field_err *e, const char *code, const char *message, const char *field)
{
	if (!e)
		return;
	e->code = code;
	e->message = message;
	str_copy(e->field, sizeof(e->field), field ? field : "");
}

void str_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

void free_wiped(void *p, size_t len)
{
	if (!p)
		return;
	explicit_bzero(p, len);
	free(p);
}

bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t extra;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			extra = 1;
		else if (c >= 0xe0 && c <= 0xef)
			extra = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			extra = 3;
		else
			return false;
		if (n - i <= extra)
			return false;
		cp = c & (0x3fu >> extra);
		for (size_t k = 1; k <= extra; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += extra + 1;
	}
	return true;
}
