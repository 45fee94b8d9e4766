/*
 * printer.c - the printers file of printer.h: parse and check it, and the
 * daemon's table, swapped whole on SIGHUP.
 */
#include "common.h"
#include "printer.h"
#include "account.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>

#define PRINTERS_FILE_MAX (4u << 20)

struct printer_table {
	struct printer *p;
	size_t n;
};

const char *printer_lang_name(enum printer_lang l)
{
	switch (l) {
	case PRINTER_ZPL:
		return "zpl";
	case PRINTER_TSPL:
		return "tspl";
	case PRINTER_PDF:
		return "pdf";
	}
	return "?";
}

void printer_table_free(struct printer_table *t)
{
	if (!t)
		return;
	free(t->p);
	free(t);
}

size_t printer_table_count(const struct printer_table *t)
{
	return t ? t->n : 0;
}

const struct printer *printer_table_at(const struct printer_table *t, size_t i)
{
	return t && i < t->n ? &t->p[i] : NULL;
}

static bool name_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      strchr("._-", s[i])))
			return false;
	return true;
}

/* A DNS name: labels of a-z A-Z 0-9 -, joined by dots. */
static bool hostname_ok(const char *s)
{
	size_t label = 0;

	if (!*s || strlen(s) >= PRINTER_HOST_MAX)
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || (*p == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* "HOST:PORT" or "[V6]:PORT" into p->host and p->port. */
static bool endpoint_parse(const char *s, size_t n, struct printer *p)
{
	char buf[PRINTER_HOST_MAX + 16], *colon, *host, *end;
	unsigned char addr[16];
	long port;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	colon = strrchr(buf, ':');
	if (!colon || colon == buf)
		return false;
	*colon = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
		return false;
	host = buf;
	if (host[0] == '[') {
		size_t hl = strlen(host);
		if (hl < 3 || host[hl - 1] != ']')
			return false;
		host[hl - 1] = '\0';
		host++;
		if (inet_pton(AF_INET6, host, addr) != 1)
			return false;
	} else if (inet_pton(AF_INET, host, addr) != 1 && !hostname_ok(host)) {
		return false;
	}
	if (strlen(host) >= sizeof(p->host))
		return false;
	memcpy(p->host, host, strlen(host) + 1);
	snprintf(p->port, sizeof(p->port), "%ld", port);
	return true;
}

struct span {
	const char *s;
	size_t n;
};

static bool word_is(const struct span *w, const char *lit)
{
	return w->n == strlen(lit) && memcmp(w->s, lit, w->n) == 0;
}

enum { P_NAME, P_DEPOT, P_ENDPOINT, P_LANG, P_DPI, P_SIZE, PFIELDS };

static bool line_add(struct printer_table *t, const char *file, unsigned lineno, const char *s,
		     size_t n, printer_size_fn size_ok, void *arg, char *err, size_t errlen)
{
	struct span w[PFIELDS + 1];
	size_t nw = 0, i = 0;
	struct printer p;

	memset(&p, 0, sizeof(p));
	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i == n)
			break;
		if (nw == PFIELDS + 1)
			break;
		w[nw].s = s + i;
		while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		w[nw].n = (size_t)(s + i - w[nw].s);
		nw++;
	}
	if (nw != PFIELDS) {
		snprintf(
		    err, errlen,
		    "%s:%u: want 6 fields (name, depot, host:port, language, dpi, size), got %s%zu",
		    file, lineno, nw > PFIELDS ? "more than " : "", nw > PFIELDS ? PFIELDS : nw);
		return false;
	}
	if (!name_ok(w[P_NAME].s, w[P_NAME].n, PRINTER_NAME_MAX)) {
		snprintf(err, errlen, "%s:%u: name: want 1-32 of a-z 0-9 . _ -", file, lineno);
		return false;
	}
	memcpy(p.name, w[P_NAME].s, w[P_NAME].n);
	if (w[P_DEPOT].n < sizeof(p.depot))
		memcpy(p.depot, w[P_DEPOT].s, w[P_DEPOT].n);
	if (w[P_DEPOT].n >= sizeof(p.depot) || !depot_valid(p.depot)) {
		snprintf(err, errlen, "%s:%u: depot: want 1-32 of A-Z a-z 0-9 . _ -", file, lineno);
		return false;
	}
	if (!endpoint_parse(w[P_ENDPOINT].s, w[P_ENDPOINT].n, &p)) {
		snprintf(err, errlen,
			 "%s:%u: address: want HOST:PORT (a name, IPv4 or [IPv6], port 1-65535)",
			 file, lineno);
		return false;
	}
	if (word_is(&w[P_LANG], "zpl"))
		p.lang = PRINTER_ZPL;
	else if (word_is(&w[P_LANG], "tspl"))
		p.lang = PRINTER_TSPL;
	else if (word_is(&w[P_LANG], "pdf"))
		p.lang = PRINTER_PDF;
	else {
		snprintf(err, errlen, "%s:%u: language: want zpl, tspl or pdf", file, lineno);
		return false;
	}
	if (word_is(&w[P_DPI], "203"))
		p.dpi = 203;
	else if (word_is(&w[P_DPI], "300"))
		p.dpi = 300;
	else {
		snprintf(err, errlen, "%s:%u: dpi: want 203 or 300", file, lineno);
		return false;
	}
	if (w[P_SIZE].n == 0 || w[P_SIZE].n >= sizeof(p.size)) {
		snprintf(err, errlen, "%s:%u: size: not a label size", file, lineno);
		return false;
	}
	memcpy(p.size, w[P_SIZE].s, w[P_SIZE].n);
	if (size_ok && !size_ok(p.size, arg)) {
		snprintf(err, errlen, "%s:%u: size: no label template %s", file, lineno, p.size);
		return false;
	}
	for (size_t k = 0; k < t->n; k++)
		if (strcmp(t->p[k].name, p.name) == 0) {
			snprintf(err, errlen, "%s:%u: printer %s is named twice", file, lineno,
				 p.name);
			return false;
		}
	if (t->n == PRINTER_MAX) {
		snprintf(err, errlen, "%s:%u: more than %d printers", file, lineno, PRINTER_MAX);
		return false;
	}
	if (t->n % 64 == 0) {
		struct printer *np = realloc(t->p, (t->n + 64) * sizeof(*np));
		if (!np) {
			snprintf(err, errlen, "%s: out of memory", file);
			return false;
		}
		t->p = np;
	}
	t->p[t->n++] = p;
	return true;
}

enum st printer_table_parse(const char *name, const char *text, size_t len, printer_size_fn size_ok,
			    void *arg, struct printer_table **out, char *err, size_t errlen)
{
	struct printer_table *t = calloc(1, sizeof(*t));
	unsigned lineno = 0;
	size_t i = 0;

	*out = NULL;
	if (!t)
		return ST_NOMEM;
	while (i < len) {
		size_t end = i, k = 0, n;
		const char *s = text + i;

		while (end < len && text[end] != '\n')
			end++;
		n = end - i;
		i = end + 1;
		lineno++;
		if (memchr(s, '\0', n)) {
			snprintf(err, errlen, "%s:%u: a NUL byte", name, lineno);
			goto bad;
		}
		while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
			k++;
		if (k == n || s[k] == '#')
			continue;
		if (!line_add(t, name, lineno, s, n, size_ok, arg, err, errlen))
			goto bad;
	}
	*out = t;
	return ST_OK;
bad:
	printer_table_free(t);
	return ST_INVALID;
}

enum st printer_table_load(const char *path, printer_size_fn size_ok, void *arg,
			   struct printer_table **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t len;
	enum st st;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "printers %s: %s", path, strerror(errno));
		return ST_IO;
	}
	text = malloc(PRINTERS_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		return ST_NOMEM;
	}
	len = fread(text, 1, PRINTERS_FILE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "printers %s: %s", path, strerror(errno));
		fclose(f);
		free(text);
		return ST_IO;
	}
	fclose(f);
	if (len > PRINTERS_FILE_MAX) {
		snprintf(err, errlen, "printers %s: larger than %u MiB", path,
			 PRINTERS_FILE_MAX >> 20);
		free(text);
		return ST_INVALID;
	}
	st = printer_table_parse(path, text, len, size_ok, arg, out, err, errlen);
	free(text);
	return st;
}

/* ---- the daemon's table ------------------------------------------------ */

struct printers {
	char path[512];
	printer_size_fn size_ok;
	void *arg;
	pthread_rwlock_t lock;
	struct printer_table *t;
};

enum st printers_new(const char *path, printer_size_fn size_ok, void *arg, struct printers **out,
		     char *err, size_t errlen)
{
	struct printers *ps = calloc(1, sizeof(*ps));
	enum st st;

	*out = NULL;
	if (!ps)
		return ST_NOMEM;
	snprintf(ps->path, sizeof(ps->path), "%s", path);
	ps->size_ok = size_ok;
	ps->arg = arg;
	pthread_rwlock_init(&ps->lock, NULL);
	if (path[0]) {
		st = printer_table_load(path, size_ok, arg, &ps->t, err, errlen);
		if (st != ST_OK) {
			printers_free(ps);
			return st;
		}
	}
	*out = ps;
	return ST_OK;
}

enum st printers_reload(struct printers *ps, char *err, size_t errlen)
{
	struct printer_table *t = NULL, *old;
	enum st st;

	if (!ps->path[0])
		return ST_OK;
	st = printer_table_load(ps->path, ps->size_ok, ps->arg, &t, err, errlen);
	if (st != ST_OK)
		return st;
	pthread_rwlock_wrlock(&ps->lock);
	old = ps->t;
	ps->t = t;
	pthread_rwlock_unlock(&ps->lock);
	printer_table_free(old);
	return ST_OK;
}

bool printers_find(struct printers *ps, const char *depot, const char *name, struct printer *out)
{
	bool hit = false;

	memset(out, 0, sizeof(*out));
	if (!ps || !depot[0])
		return false;
	pthread_rwlock_rdlock(&ps->lock);
	for (size_t i = 0; ps->t && i < ps->t->n; i++)
		if (strcmp(ps->t->p[i].name, name) == 0) {
			/* Another depot's printer is not found: the same answer as none. */
			if (strcmp(ps->t->p[i].depot, depot) == 0) {
				*out = ps->t->p[i];
				hit = true;
			}
			break;
		}
	pthread_rwlock_unlock(&ps->lock);
	return hit;
}

bool printers_find_any(struct printers *ps, const char *name, struct printer *out)
{
	bool hit = false;

	memset(out, 0, sizeof(*out));
	if (!ps)
		return false;
	pthread_rwlock_rdlock(&ps->lock);
	for (size_t i = 0; ps->t && i < ps->t->n && !hit; i++)
		if (strcmp(ps->t->p[i].name, name) == 0) {
			*out = ps->t->p[i];
			hit = true;
		}
	pthread_rwlock_unlock(&ps->lock);
	return hit;
}

enum st printers_of_depot(struct printers *ps, const char *depot, struct printer **out, size_t *n)
{
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!ps || !depot[0])
		return ST_OK;
	pthread_rwlock_rdlock(&ps->lock);
	for (size_t i = 0; ps->t && i < ps->t->n; i++)
		if (strcmp(ps->t->p[i].depot, depot) == 0)
			k++;
	if (k) {
		*out = calloc(k, sizeof(**out));
		if (!*out) {
			pthread_rwlock_unlock(&ps->lock);
			return ST_NOMEM;
		}
		for (size_t i = 0; i < ps->t->n; i++)
			if (strcmp(ps->t->p[i].depot, depot) == 0)
				(*out)[(*n)++] = ps->t->p[i];
	}
	pthread_rwlock_unlock(&ps->lock);
	return ST_OK;
}

size_t printers_count(struct printers *ps)
{
	size_t n;

	if (!ps)
		return 0;
	pthread_rwlock_rdlock(&ps->lock);
	n = printer_table_count(ps->t);
	pthread_rwlock_unlock(&ps->lock);
	return n;
}

void printers_free(struct printers *ps)
{
	if (!ps)
		return;
	printer_table_free(ps->t);
	pthread_rwlock_destroy(&ps->lock);
	free(ps);
}
