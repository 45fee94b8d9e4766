/*
 * printer.h - the depot printers (docs/API.md "Printers"): the `printers`
 * file, checked at start and re-read on SIGHUP.
 *
 * One printer a line, six fields separated by spaces or tabs:
 *
 *     NAME  DEPOT  HOST:PORT  LANGUAGE  DPI  SIZE
 *     d1-dock-1  d1  192.0.2.10:9100  zpl  203  100x150
 *
 * NAME is 1-32 of a-z 0-9 . _ - and unique in the file; DEPOT an account's
 * depot; HOST a name, a numeric IPv4 address or [IPv6]; LANGUAGE zpl, tspl
 * or pdf; DPI 203 or 300; SIZE a label template ("100x150").  "#" starts a
 * comment line.  A printer belongs to one depot: only that depot's staff
 * see it and print on it.
 */
#ifndef WAYBILL_PRINTER_H
#define WAYBILL_PRINTER_H

#include "common.h"

#define PRINTER_NAME_MAX 33
#define PRINTER_DEPOT_MAX 33 /* NAME_MAX_BYTES: a depot code */
#define PRINTER_HOST_MAX 256
#define PRINTER_MAX 10000 /* printers in one file */

enum printer_lang { PRINTER_ZPL, PRINTER_TSPL, PRINTER_PDF };

struct printer {
	char name[PRINTER_NAME_MAX];
	char depot[PRINTER_DEPOT_MAX];
	char host[PRINTER_HOST_MAX]; /* without brackets */
	char port[6];
	enum printer_lang lang;
	int dpi;
	char size[16];
};

/* "zpl", "tspl", "pdf" */
const char *printer_lang_name(enum printer_lang l);

struct printer_table;

/*
 * Parse a printers file; size_ok (may be NULL) says whether a size names a
 * template.  On ST_OK *out is the caller's (printer_table_free).  ST_INVALID
 * with err "FILE:LINE: problem" for the first bad line; ST_IO when it cannot
 * be read; ST_NOMEM.
 */
typedef bool (*printer_size_fn)(const char *size, void *arg);
enum st printer_table_parse(const char *name, const char *text, size_t len, printer_size_fn size_ok,
			    void *arg, struct printer_table **out, char *err, size_t errlen);
enum st printer_table_load(const char *path, printer_size_fn size_ok, void *arg,
			   struct printer_table **out, char *err, size_t errlen);
void printer_table_free(struct printer_table *t);
size_t printer_table_count(const struct printer_table *t);
const struct printer *printer_table_at(const struct printer_table *t, size_t i);

/*
 * The daemon's printers, swapped whole on SIGHUP; look-ups copy out, so a
 * reload never pulls a printer from under a job.  An empty path: none.
 */
struct printers;
enum st printers_new(const char *path, printer_size_fn size_ok, void *arg, struct printers **out,
		     char *err, size_t errlen);
enum st printers_reload(struct printers *ps, char *err, size_t errlen);
/* The printer called name of depot into *out; false when there is none
 * (another depot's printer is none too). */
bool printers_find(struct printers *ps, const char *depot, const char *name, struct printer *out);
/* The printer called name, whatever its depot (to audit a foreign one as denied). */
bool printers_find_any(struct printers *ps, const char *name, struct printer *out);
/* The depot's printers in file order: *out malloc'd (free it), *n of them. */
enum st printers_of_depot(struct printers *ps, const char *depot, struct printer **out, size_t *n);
size_t printers_count(struct printers *ps);
void printers_free(struct printers *ps);

#endif
