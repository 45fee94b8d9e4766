/*
 * sort.h - sort codes (三段码) and consolidation hubs (集包地) from the
 * routing table `sort_table` (docs/API.md "Sort codes").
 *
 * The table is a TSV file, one route a line: province, city, district,
 * street prefix (may be empty), sort code, hub code, hub name.  "#" starts
 * a comment line; blank lines are skipped.  A district of "*" routes the
 * whole city.  The match is the longest one: a street prefix (the longest
 * that starts the recipient's address) beats its district, a district beats
 * "*".  Regions and prefixes are compared after folding full-width ASCII
 * (Ａ-Ｚ, ０-９...) to ASCII and dropping every space (ASCII, U+3000, U+00A0),
 * so "朝阳区 " and "朝阳区" are one district and "建国路１号" starts with
 * "建国路1".
 *
 * The street address is personal data: it is used to pick a route at the
 * order's creation and nothing of it is kept or logged; what is stored is
 * the route (a code and a hub), which many addresses share.
 */
#ifndef WAYBILL_SORT_H
#define WAYBILL_SORT_H

#include "common.h"

#define SORT_CODE_MAX 17	/* 16 of A-Z 0-9 -, + NUL */
#define SORT_HUB_CODE_MAX 16	/* 15 of A-Z 0-9 -, + NUL (the label's hub Code 128) */
#define SORT_HUB_NAME_MAX 96	/* bytes with the NUL (the label's field) */
#define SORT_HUB_NAME_CP_MAX 24 /* and at most this many code points */
#define SORT_TABLE_MAX_LINES 200000

/* A route; "" everywhere when none matched. */
struct sort_route {
	char sort_code[SORT_CODE_MAX];
	char hub_code[SORT_HUB_CODE_MAX];
	char hub_name[SORT_HUB_NAME_MAX];
};

struct sort_table;

/*
 * Parse a table file.  On ST_OK *out is the caller's (sort_table_free).
 * ST_INVALID with err "FILE:LINE: problem" for the first bad line (wrong
 * number of fields, an empty or too long field, a sort or hub code that is
 * not 1-16 (a hub code 1-15) of A-Z 0-9 -, a hub name over 24 characters
 * (or 95 bytes), ill-formed UTF-8, a route given twice); ST_IO when
 * it cannot be read; ST_NOMEM.
 */
enum st sort_table_load(const char *path, struct sort_table **out, char *err, size_t errlen);
/* The same from text in memory (name stands for the file in err). */
enum st sort_table_parse(const char *name, const char *text, size_t len, struct sort_table **out,
			 char *err, size_t errlen);
void sort_table_free(struct sort_table *t);
size_t sort_table_count(const struct sort_table *t);

/* The longest route for a destination; false (out all "") when none. address may be NULL. */
bool sort_table_match(const struct sort_table *t, const char *province, const char *city,
		      const char *district, const char *address, struct sort_route *out);

/*
 * The daemon's table, swapped whole on SIGHUP: lookups run in any thread
 * beside a reload.  An empty path: no table, nothing matches.
 */
struct sorter;
enum st sorter_new(const char *path, struct sorter **out, char *err, size_t errlen);
/* Read the file again; on failure the old table stays and err says why. */
enum st sorter_reload(struct sorter *s, char *err, size_t errlen);
bool sorter_match(struct sorter *s, const char *province, const char *city, const char *district,
		  const char *address, struct sort_route *out);
size_t sorter_count(struct sorter *s);
void sorter_free(struct sorter *s);

#endif
