/*
 * station.h - the pages of the depot print station and the auditor's page
 * (/station/, /station/audit): the static files of web_dir, read once at
 * start into memory, and the small configuration document the pages read
 * (/station/config.json: the issuer, the public client id, no secret).
 *
 * A request names a file by one path segment of [A-Za-z0-9._-] that does
 * not start with a dot; nothing else is looked up, so "..", an encoded
 * dot-dot, a subdirectory or a NUL never reach the file system.  Only
 * regular files directly in web_dir, with a known extension, are loaded:
 * a symbolic link (in or out of web_dir) is skipped at start and never
 * served.  Every answer under /station/ carries station_csp().
 */
#ifndef WAYBILL_STATION_H
#define WAYBILL_STATION_H

#include "common.h"

struct config;

#define STATION_NAME_MAX 64	       /* a file name, with its NUL */
#define STATION_FILES_MAX 64	       /* files loaded from web_dir */
#define STATION_FILE_BYTES (1u << 20)  /* one file */
#define STATION_TOTAL_BYTES (8u << 20) /* all of them */

struct station_file {
	char name[STATION_NAME_MAX];
	const char *ctype; /* Content-Type, with charset for text */
	char *data;
	size_t len;
	char etag[24]; /* "\"" 16 hex "\"" */
};

struct station;

/*
 * Load web_dir's files and build the policy and config.json from cfg.  A
 * web_dir that cannot be opened is no error: the station then answers 404
 * (and the start logs a warning); a file past the bounds, or unreadable, is.
 * *out is the caller's on ST_OK (station_free).
 */
enum st station_new(const struct config *cfg, struct station **out, char *err, size_t errlen);
void station_free(struct station *s);

/* The file for a request's name ("" is index.html, "audit" is audit.html), or NULL. */
const struct station_file *station_find(const struct station *s, const char *name);
/* The Content-Security-Policy of every answer under /station/. */
const char *station_csp(const struct station *s);
/* How many files were loaded. */
size_t station_count(const struct station *s);

/* A name a request may ask for: 1..STATION_NAME_MAX-1 of [A-Za-z0-9._-], no leading dot. */
bool station_name_ok(const char *name);

#endif
