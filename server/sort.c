/*
 * sort.c - the routing table of sort.h: parse and check it, find the
 * longest route, and swap the daemon's table on SIGHUP.
 *
 * Entries are kept sorted by their folded "province|city|district" key and,
 * within one key, by street prefix longest first, so a look-up is a binary
 * search and a short walk of that district's prefixes.
 */
#include "common.h"
#include "sort.h"
#include "utf8.h"

#include <errno.h>
#include <pthread.h>

#define SORT_FILE_MAX (64u << 20)
#define REGION_CP_MAX 32
#define PREFIX_CP_MAX 64
#define HUB_NAME_CP_MAX SORT_HUB_NAME_CP_MAX
#define FOLD_MAX 512 /* folded text of one field: 128 code points of 4 bytes */
#define KEY_SEP '\x1f'

struct sort_entry {
	char *key;    /* folded province, city, district joined by KEY_SEP */
	char *prefix; /* folded street prefix, "" for the district itself */
	size_t prefix_len;
	unsigned line;
	struct sort_route route;
};

struct sort_table {
	struct sort_entry *e;
	size_t n;
};

/*
 * Fold s[0..n) into out: full-width ASCII (U+FF01..U+FF5E) to ASCII, every
 * space dropped (ASCII whitespace, U+3000, U+00A0).  False when s is not
 * well-formed UTF-8 or the result does not fit.
 */
static bool fold(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = utf8_decode(s + i, n - i, &cp);
		char enc[UTF8_MAX];
		size_t m;

		if (cp == UTF8_INVALID)
			return false;
		i += k;
		if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == '\v' ||
		    cp == '\f' || cp == 0x3000 || cp == 0xA0)
			continue;
		if (cp >= 0xFF01 && cp <= 0xFF5E)
			cp -= 0xFEE0;
		m = utf8_encode(cp, enc);
		if (m == 0 || o + m >= cap)
			return false;
		memcpy(out + o, enc, m);
		o += m;
	}
	out[o] = '\0';
	return true;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct sort_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->prefix_len != y->prefix_len)
		return x->prefix_len > y->prefix_len ? -1 : 1;
	return strcmp(x->prefix, y->prefix);
}

void sort_table_free(struct sort_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].key);
		free(t->e[i].prefix);
	}
	free(t->e);
	free(t);
}

size_t sort_table_count(const struct sort_table *t)
{
	return t ? t->n : 0;
}

/* A code: 1 to max - 1 of A-Z 0-9 and "-". */
static bool code_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Field i of a line without its surrounding ASCII spaces. */
struct field {
	const char *s;
	size_t n;
};

static void field_trim(struct field *f)
{
	while (f->n && (f->s[0] == ' ' || f->s[0] == '\r'))
		f->s++, f->n--;
	while (f->n && (f->s[f->n - 1] == ' ' || f->s[f->n - 1] == '\r'))
		f->n--;
}

enum { F_PROVINCE, F_CITY, F_DISTRICT, F_PREFIX, F_SORT, F_HUB_CODE, F_HUB_NAME, NFIELDS };
static const char *const field_names[NFIELDS] = {
    "province", "city", "district", "street prefix", "sort code", "hub code", "hub name",
};

/* Check and add one line; false with err set. */
static bool line_add(struct sort_table *t, const char *name, unsigned lineno, const char *s,
		     size_t n, char *err, size_t errlen)
{
	struct field f[NFIELDS];
	size_t nf = 0, start = 0;
	char folded[3][FOLD_MAX], prefix[FOLD_MAX], key[3 * FOLD_MAX + 2];
	struct sort_entry *e;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '\t')
			continue;
		if (nf == NFIELDS) {
			snprintf(err, errlen, "%s:%u: more than %d tab-separated fields", name,
				 lineno, NFIELDS);
			return false;
		}
		f[nf].s = s + start;
		f[nf].n = i - start;
		field_trim(&f[nf]);
		nf++;
		start = i + 1;
	}
	if (nf != NFIELDS) {
		snprintf(err, errlen,
			 "%s:%u: want %d tab-separated fields (province, city, district, street "
			 "prefix, sort code, hub code, hub name), got %zu",
			 name, lineno, NFIELDS, nf);
		return false;
	}
	for (int i = 0; i < NFIELDS; i++) {
		size_t cps;

		if (!utf8_valid(f[i].s, f[i].n)) {
			snprintf(err, errlen, "%s:%u: %s: not UTF-8", name, lineno, field_names[i]);
			return false;
		}
		if (f[i].n == 0 && i != F_PREFIX) {
			snprintf(err, errlen, "%s:%u: %s: empty", name, lineno, field_names[i]);
			return false;
		}
		cps = utf8_count(f[i].s, f[i].n);
		if ((i <= F_DISTRICT && cps > REGION_CP_MAX) ||
		    (i == F_PREFIX && cps > PREFIX_CP_MAX) ||
		    (i == F_HUB_NAME && cps > HUB_NAME_CP_MAX)) {
			snprintf(err, errlen, "%s:%u: %s: longer than %d characters", name, lineno,
				 field_names[i],
				 i == F_PREFIX
				     ? PREFIX_CP_MAX
				     : (i == F_HUB_NAME ? HUB_NAME_CP_MAX : REGION_CP_MAX));
			return false;
		}
	}
	for (int i = F_PROVINCE; i <= F_DISTRICT; i++)
		if (!fold(f[i].s, f[i].n, folded[i], sizeof(folded[i])) || !folded[i][0]) {
			snprintf(err, errlen, "%s:%u: %s: empty", name, lineno, field_names[i]);
			return false;
		}
	if (!fold(f[F_PREFIX].s, f[F_PREFIX].n, prefix, sizeof(prefix))) {
		snprintf(err, errlen, "%s:%u: street prefix: not UTF-8", name, lineno);
		return false;
	}
	if (strcmp(folded[F_DISTRICT], "*") == 0 && prefix[0]) {
		snprintf(err, errlen, "%s:%u: a street prefix needs a district, not \"*\"", name,
			 lineno);
		return false;
	}
	if (!code_ok(f[F_SORT].s, f[F_SORT].n, SORT_CODE_MAX)) {
		snprintf(err, errlen, "%s:%u: sort code: want 1-16 of A-Z 0-9 -", name, lineno);
		return false;
	}
	if (!code_ok(f[F_HUB_CODE].s, f[F_HUB_CODE].n, SORT_HUB_CODE_MAX)) {
		snprintf(err, errlen, "%s:%u: hub code: want 1-15 of A-Z 0-9 -", name, lineno);
		return false;
	}
	if (f[F_HUB_NAME].n >= SORT_HUB_NAME_MAX) {
		snprintf(err, errlen, "%s:%u: hub name: longer than %d bytes", name, lineno,
			 SORT_HUB_NAME_MAX - 1);
		return false;
	}
	snprintf(key, sizeof(key), "%s%c%s%c%s", folded[0], KEY_SEP, folded[1], KEY_SEP, folded[2]);

	if (t->n % 256 == 0) {
		struct sort_entry *ne = realloc(t->e, (t->n + 256) * sizeof(*ne));
		if (!ne) {
			snprintf(err, errlen, "%s: out of memory", name);
			return false;
		}
		t->e = ne;
	}
	e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->key = strdup(key);
	e->prefix = strdup(prefix);
	if (!e->key || !e->prefix) {
		free(e->key);
		free(e->prefix);
		snprintf(err, errlen, "%s: out of memory", name);
		return false;
	}
	t->n++;
	e->prefix_len = strlen(prefix);
	e->line = lineno;
	memcpy(e->route.sort_code, f[F_SORT].s, f[F_SORT].n);
	memcpy(e->route.hub_code, f[F_HUB_CODE].s, f[F_HUB_CODE].n);
	memcpy(e->route.hub_name, f[F_HUB_NAME].s, f[F_HUB_NAME].n);
	return true;
}

enum st sort_table_parse(const char *name, const char *text, size_t len, struct sort_table **out,
			 char *err, size_t errlen)
{
	struct sort_table *t = calloc(1, sizeof(*t));
	unsigned lineno = 0;
	size_t i = 0;

	*out = NULL;
	if (!t)
		return ST_NOMEM;
	while (i < len) {
		size_t end = i;
		const char *s;
		size_t n, k = 0;

		while (end < len && text[end] != '\n')
			end++;
		s = text + i;
		n = end - i;
		i = end + 1;
		lineno++;
		if (lineno > SORT_TABLE_MAX_LINES) {
			snprintf(err, errlen, "%s:%u: more than %d lines", name, lineno,
				 SORT_TABLE_MAX_LINES);
			goto bad;
		}
		if (memchr(s, '\0', n)) {
			snprintf(err, errlen, "%s:%u: a NUL byte", name, lineno);
			goto bad;
		}
		while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
			k++;
		if (k == n || s[k] == '#')
			continue;
		if (!line_add(t, name, lineno, s, n, err, errlen))
			goto bad;
	}
	if (t->n)
		qsort(t->e, t->n, sizeof(*t->e), entry_cmp);
	for (size_t j = 1; j < t->n; j++)
		if (strcmp(t->e[j].key, t->e[j - 1].key) == 0 &&
		    strcmp(t->e[j].prefix, t->e[j - 1].prefix) == 0) {
			unsigned a = t->e[j - 1].line, b = t->e[j].line;
			snprintf(err, errlen, "%s:%u: the same route as line %u", name,
				 a > b ? a : b, a > b ? b : a);
			goto bad;
		}
	*out = t;
	return ST_OK;
bad:
	sort_table_free(t);
	return ST_INVALID;
}

enum st sort_table_load(const char *path, struct sort_table **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	enum st st;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "sort_table %s: %s", path, strerror(errno));
		return ST_IO;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *nt;
			if (cap >= SORT_FILE_MAX) {
				fclose(f);
				free(text);
				snprintf(err, errlen, "sort_table %s: larger than %u MiB", path,
					 SORT_FILE_MAX >> 20);
				return ST_INVALID;
			}
			cap = cap ? cap * 2 : 65536;
			nt = realloc(text, cap);
			if (!nt) {
				fclose(f);
				free(text);
				return ST_NOMEM;
			}
			text = nt;
		}
		got = fread(text + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "sort_table %s: %s", path, strerror(errno));
		fclose(f);
		free(text);
		return ST_IO;
	}
	fclose(f);
	st = sort_table_parse(path, text ? text : "", len, out, err, errlen);
	free(text);
	return st;
}

/* The first entry of key, or NULL. */
static const struct sort_entry *key_find(const struct sort_table *t, const char *key)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->e[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && strcmp(t->e[lo].key, key) == 0 ? &t->e[lo] : NULL;
}

bool sort_table_match(const struct sort_table *t, const char *province, const char *city,
		      const char *district, const char *address, struct sort_route *out)
{
	char p[FOLD_MAX], c[FOLD_MAX], d[FOLD_MAX], a[FOLD_MAX * 2], key[3 * FOLD_MAX + 2];
	const struct sort_entry *e;
	bool have_addr;

	memset(out, 0, sizeof(*out));
	if (!t || !t->n || !fold(province, strlen(province), p, sizeof(p)) ||
	    !fold(city, strlen(city), c, sizeof(c)) ||
	    !fold(district, strlen(district), d, sizeof(d)))
		return false;
	have_addr = address && fold(address, strlen(address), a, sizeof(a));
	snprintf(key, sizeof(key), "%s%c%s%c%s", p, KEY_SEP, c, KEY_SEP, d);
	e = key_find(t, key);
	/* Longest prefix first; the district's own entry (prefix "") ends the run. */
	for (; e && e < t->e + t->n && strcmp(e->key, key) == 0; e++)
		if (!e->prefix_len || (have_addr && strncmp(a, e->prefix, e->prefix_len) == 0)) {
			*out = e->route;
			mem_wipe(a, sizeof(a));
			return true;
		}
	mem_wipe(a, sizeof(a));
	snprintf(key, sizeof(key), "%s%c%s%c*", p, KEY_SEP, c, KEY_SEP);
	e = key_find(t, key);
	if (e) {
		*out = e->route;
		return true;
	}
	return false;
}

/* ---- the daemon's table ------------------------------------------------ */

struct sorter {
	char path[512];
	pthread_rwlock_t lock;
	struct sort_table *t;
};

enum st sorter_new(const char *path, struct sorter **out, char *err, size_t errlen)
{
	struct sorter *s = calloc(1, sizeof(*s));
	enum st st;

	*out = NULL;
	if (!s)
		return ST_NOMEM;
	snprintf(s->path, sizeof(s->path), "%s", path);
	pthread_rwlock_init(&s->lock, NULL);
	if (path[0]) {
		st = sort_table_load(path, &s->t, err, errlen);
		if (st != ST_OK) {
			sorter_free(s);
			return st;
		}
	}
	*out = s;
	return ST_OK;
}

enum st sorter_reload(struct sorter *s, char *err, size_t errlen)
{
	struct sort_table *t = NULL, *old;
	enum st st;

	if (!s->path[0])
		return ST_OK;
	st = sort_table_load(s->path, &t, err, errlen);
	if (st != ST_OK)
		return st;
	pthread_rwlock_wrlock(&s->lock);
	old = s->t;
	s->t = t;
	pthread_rwlock_unlock(&s->lock);
	sort_table_free(old);
	return ST_OK;
}

bool sorter_match(struct sorter *s, const char *province, const char *city, const char *district,
		  const char *address, struct sort_route *out)
{
	bool hit;

	if (!s) {
		memset(out, 0, sizeof(*out));
		return false;
	}
	pthread_rwlock_rdlock(&s->lock);
	hit = sort_table_match(s->t, province, city, district, address, out);
	pthread_rwlock_unlock(&s->lock);
	return hit;
}

size_t sorter_count(struct sorter *s)
{
	size_t n;

	if (!s)
		return 0;
	pthread_rwlock_rdlock(&s->lock);
	n = sort_table_count(s->t);
	pthread_rwlock_unlock(&s->lock);
	return n;
}

void sorter_free(struct sorter *s)
{
	if (!s)
		return;
	sort_table_free(s->t);
	pthread_rwlock_destroy(&s->lock);
	free(s);
}
