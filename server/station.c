/*
 * station.c - the station's pages (see station.h): web_dir read once at
 * start, looked up by name, never by path.
 */
#include "common.h"
#include "station.h"
#include "config.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

struct station {
	struct station_file files[STATION_FILES_MAX];
	size_t n;
	char csp[1024];
};

static const struct {
	const char *ext, *ctype;
} ctypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".png", "image/png"},
    {".svg", "image/svg+xml"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *ctype_of(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < ARRAY_SIZE(ctypes); i++) {
		size_t e = strlen(ctypes[i].ext);
		if (n > e && strcmp(name + n - e, ctypes[i].ext) == 0)
			return ctypes[i].ctype;
	}
	return NULL;
}

bool station_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= STATION_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* FNV-1a 64 of the bytes: an entity tag, not a security property. */
static void etag_of(struct station_file *f)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < f->len; i++) {
		h ^= (unsigned char)f->data[i];
		h *= 0x100000001b3ull;
	}
	snprintf(f->etag, sizeof(f->etag), "\"%016llx\"", (unsigned long long)h);
}

/* The file name in dir opened without following a link; its bytes into f. */
static enum st file_read(int dfd, const char *name, struct station_file *f, size_t *total,
			 char *err, size_t errlen)
{
	struct stat sb;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "web_dir: %s: %s", name,
			 fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return ST_IO;
	}
	if ((uint64_t)sb.st_size > STATION_FILE_BYTES ||
	    *total + (size_t)sb.st_size > STATION_TOTAL_BYTES) {
		snprintf(err, errlen, "web_dir: %s: over %u bytes (or the pages over %u in all)",
			 name, STATION_FILE_BYTES, STATION_TOTAL_BYTES);
		close(fd);
		return ST_INVALID;
	}
	f->len = (size_t)sb.st_size;
	f->data = malloc(f->len ? f->len : 1);
	if (!f->data) {
		close(fd);
		return ST_NOMEM;
	}
	while (got < f->len) {
		ssize_t k = read(fd, f->data + got, f->len - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "web_dir: %s: read failed", name);
			close(fd);
			return ST_IO;
		}
		got += (size_t)k;
	}
	close(fd);
	*total += f->len;
	str_copy(f->name, sizeof(f->name), name);
	etag_of(f);
	return ST_OK;
}

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct station_file *)a)->name,
		      ((const struct station_file *)b)->name);
}

/* scheme://host[:port] of an http(s) URL into out; false when it is none. */
static bool url_origin(const char *url, char *out, size_t cap)
{
	const char *p = url;
	size_t n;

	if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else if (strncmp(p, "http://", 7) == 0)
		p += 7;
	else
		return false;
	p += strcspn(p, "/?#");
	n = (size_t)(p - url);
	if (n >= cap || url[n - 1] == '/' || memchr(url, '@', n))
		return false;
	for (size_t i = 0; i < n; i++) /* nothing that could end a CSP source */
		if (url[i] <= ' ' || url[i] == ';' || url[i] == ',' || url[i] == '\'' ||
		    url[i] == '"' || (unsigned char)url[i] >= 0x7f)
			return false;
	memcpy(out, url, n);
	out[n] = '\0';
	return true;
}

/* /station/config.json: what the pages need to sign in, and no secret. */
static enum st config_doc(const struct config *cfg, struct station_file *f, size_t *total)
{
	cJSON *root = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(root, "issuer", cfg->oidc_issuer);
	cJSON_AddStringToObject(root, "client_id", cfg->station_client_id);
	cJSON_AddStringToObject(root, "resource",
				cfg->oidc_audience[0] ? cfg->oidc_audience : cfg->oidc_client_id);
	cJSON_AddStringToObject(root, "scope", cfg->station_scope);
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!s)
		return ST_NOMEM;
	str_copy(f->name, sizeof(f->name), "config.json");
	f->ctype = "application/json";
	f->data = s;
	f->len = strlen(s);
	*total += f->len;
	etag_of(f);
	return ST_OK;
}

enum st station_new(const struct config *cfg, struct station **out, char *err, size_t errlen)
{
	struct station *s = calloc(1, sizeof(*s));
	char origin[512] = "";
	size_t total = 0;
	enum st st = ST_OK;
	DIR *d = NULL;
	struct dirent *e;
	int dfd = -1;

	if (!s)
		return ST_NOMEM;
	if (cfg->oidc_issuer[0] && !url_origin(cfg->oidc_issuer, origin, sizeof(origin))) {
		snprintf(err, errlen, "oidc_issuer: no http(s) origin the pages could name");
		st = ST_INVALID;
		goto out;
	}
	snprintf(s->csp, sizeof(s->csp),
		 "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
		 "connect-src 'self'%s%s; object-src 'none'; base-uri 'none'; form-action 'none'; "
		 "frame-ancestors 'none'",
		 origin[0] ? " " : "", origin);
	st = config_doc(cfg, &s->files[s->n], &total);
	if (st != ST_OK)
		goto out;
	s->n++;
	dfd = open(cfg->web_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		log_warn("web_dir %s: %s; /station/ answers 404", cfg->web_dir, strerror(errno));
		goto out;
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		st = ST_NOMEM;
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat sb;
		const char *ct;

		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISLNK(sb.st_mode)) {
			log_warn("web_dir: %s is a symbolic link: not served", e->d_name);
			continue;
		}
		ct = ctype_of(e->d_name);
		if (!S_ISREG(sb.st_mode) || !ct || !station_name_ok(e->d_name) ||
		    strcmp(e->d_name, "config.json") == 0) {
			log_warn("web_dir: %s is no page file: not served", e->d_name);
			continue;
		}
		if (s->n == STATION_FILES_MAX) {
			snprintf(err, errlen, "web_dir: more than %d files", STATION_FILES_MAX);
			st = ST_INVALID;
			goto out;
		}
		st = file_read(dfd, e->d_name, &s->files[s->n], &total, err, errlen);
		if (st != ST_OK)
			goto out;
		s->files[s->n++].ctype = ct;
	}
	qsort(s->files, s->n, sizeof(s->files[0]), file_cmp);
	log_info("station: %zu page files from %s", s->n - 1, cfg->web_dir);
out:
	if (d)
		closedir(d); /* closes dfd */
	if (st != ST_OK) {
		station_free(s);
		return st;
	}
	*out = s;
	return ST_OK;
}

void station_free(struct station *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < STATION_FILES_MAX; i++)
		free(s->files[i].data);
	free(s);
}

const struct station_file *station_find(const struct station *s, const char *name)
{
	struct station_file key;

	if (!s)
		return NULL;
	if (!*name)
		name = "index.html";
	else if (strcmp(name, "audit") == 0)
		name = "audit.html";
	if (!station_name_ok(name))
		return NULL;
	str_copy(key.name, sizeof(key.name), name);
	return bsearch(&key, s->files, s->n, sizeof(s->files[0]), file_cmp);
}

const char *station_csp(const struct station *s)
{
	return s ? s->csp
		 : "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action "
		   "'none'";
}

size_t station_count(const struct station *s)
{
	return s ? s->n : 0;
}
