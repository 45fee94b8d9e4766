/*
 * json.h - the strict pre-validator that runs over a request body before
 * cJSON sees it, and a few helpers for the cJSON trees we build from it.
 *
 * cJSON accepts invalid UTF-8, "\u0000" (and silently cuts the string
 * there), lone surrogates and bytes after the value.  json_prescan() checks
 * the raw bytes in one pass with no allocation: the RFC 8259 grammar,
 * well-formed UTF-8 (no overlongs, no encoded surrogates, nothing above
 * U+10FFFF), escapes, no "\u0000", surrogate escapes only in pairs, nesting
 * no deeper than JSON_DEPTH_MAX, nothing but whitespace after the value, no
 * byte-order mark.
 *
 * Inside strings (keys and values alike) it also refuses control
 * characters, raw or escaped: U+0000-U+001F (so "\n" and "\t" too),
 * U+007F-U+009F, the line and paragraph separators U+2028/U+2029 and the
 * bidirectional overrides and isolates U+202A-U+202E, U+2066-U+2069.  None
 * of them belongs in a name, an address or a note, and they can garble
 * labels and logs.
 *
 * Duplicate keys are not checked here: order.c finds them while it walks
 * each object of the parsed tree.
 */
#ifndef WAYBILL_JSON_H
#define WAYBILL_JSON_H

#include "common.h"

#include <cJSON.h>

#define JSON_DEPTH_MAX 8 /* objects and arrays, the outermost one is 1 */
#define JSON_KEY_MAX 32	 /* longer keys are never in a reported path */
#define JSON_PATH_MAX 64 /* same as struct field_err's field */

enum json_err {
	JSON_OK = 0,
	JSON_ERR_SYNTAX,    /* not JSON (RFC 8259), or empty */
	JSON_ERR_TRAILING,  /* something other than whitespace after the value */
	JSON_ERR_DEPTH,	    /* nested deeper than JSON_DEPTH_MAX */
	JSON_ERR_UTF8,	    /* ill-formed UTF-8 in a string */
	JSON_ERR_SURROGATE, /* a "\uD8xx"-style escape not in a valid pair */
	JSON_ERR_CONTROL,   /* a control character in a string */
	JSON_ERR_NUL,	    /* U+0000 in a string, raw or "\u0000" */
};

/*
 * Where a pre-scan failed.  path is the dotted chain of keys leading to the
 * fault, made only of keys from the caller's list of known names: it stops
 * at the first key that is not one of them and at arrays.  A fault inside a
 * key reports the path of the object holding it; a syntax fault, the member
 * the scan was in.  Nothing but known names is ever copied from the input.
 */
struct json_fault {
	enum json_err err;
	size_t offset; /* byte offset of the fault in the body */
	char path[JSON_PATH_MAX];
};

/*
 * Check len bytes of buf (need not be NUL-terminated).  known is a
 * NULL-terminated list of the key names allowed to appear in a path (may be
 * NULL).  Returns JSON_OK or the first fault, also stored in *fault.
 */
enum json_err json_prescan(const char *buf, size_t len, const char *const *known,
			   struct json_fault *fault);

/* The stable error code ("invalid_utf8") and a fixed message for a fault. */
const char *json_err_code(enum json_err e);
const char *json_err_message(enum json_err e);
/* ST_MALFORMED for grammar faults (syntax, trailing, depth), else ST_INVALID. */
enum st json_err_status(enum json_err e);

/*
 * Parse a body that json_prescan() accepted into a cJSON tree (copied into
 * a NUL-terminated scratch buffer that is wiped afterwards).  ST_MALFORMED
 * when cJSON refuses it, ST_NOMEM.  *out is the caller's: json_delete_wiped.
 */
enum st json_parse_tree(const char *buf, size_t len, cJSON **out);

/* Wipe every key and string of a tree, then cJSON_Delete it.  NULL is a no-op. */
void json_delete_wiped(cJSON *root);

#endif
