/*
 * h_station.c - GET /station/... : the station's pages (station.h), with
 * their own Content-Security-Policy on every answer, found or not.  No
 * authentication: the pages hold no data; what they show comes from the
 * API, with the signed-in person's bearer token.
 */
#include "common.h"
#include "handlers.h"
#include "app.h"
#include "station.h"

#include <string.h>

#define STATION_PREFIX "/station/"

void h_station(struct request *r)
{
	const struct station_file *f;
	const char *inm = http_header(r, "If-None-Match");
	char *copy;

	r->csp = station_csp(r->app->station);
	if (strcmp(r->path, "/station") == 0) {
		/* The pages' relative links resolve under /station/. */
		http_reply_header(r, HDR_LOCATION, "%s", STATION_PREFIX);
		http_reply_bytes(r, 308, strdup(""), 0, "text/plain; charset=utf-8");
		return;
	}
	if (strncmp(r->path, STATION_PREFIX, strlen(STATION_PREFIX)) != 0) {
		http_reply_st(r, ST_NOTFOUND); /* a path too long for r->path */
		return;
	}
	f = station_find(r->app->station, r->path + strlen(STATION_PREFIX));
	if (!f) {
		http_reply_st(r, ST_NOTFOUND);
		return;
	}
	/* Revalidated on every use: a new daemon's pages are seen at once. */
	r->cache = "no-cache";
	http_reply_header(r, HDR_ETAG, "%s", f->etag);
	if (inm && strcmp(inm, f->etag) == 0) {
		http_reply_bytes(r, 304, strdup(""), 0, f->ctype);
		return;
	}
	copy = malloc(f->len ? f->len : 1);
	if (copy)
		memcpy(copy, f->data, f->len);
	http_reply_bytes(r, 200, copy, f->len, f->ctype);
}
