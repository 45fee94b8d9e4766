/*
 * store.c - store.h's functions, each a call through the backend's table
 * (store_ops.h), and the choice of backend by the database's name: a URL
 * "postgresql://..." (or "postgres://...") is PostgreSQL, anything else a
 * path to an SQLite file.
 */
#include "common.h"
#include "store_ops.h"

#include <string.h>

#define X(ret, name, params, args)                                                                 \
	ret store_##name(struct store *s, STORE_EXP params)                                        \
	{                                                                                          \
		return s->ops->name(s, STORE_EXP args);                                            \
	}
#define XV(name, params, args)                                                                     \
	void store_##name(struct store *s, STORE_EXP params)                                       \
	{                                                                                          \
		s->ops->name(s, STORE_EXP args);                                                   \
	}
STORE_OPS(X)
STORE_OPS_VOID(XV)
#undef X
#undef XV

enum st store_run(struct store *s, struct wjob *j)
{
	return s->ops->run(s, j);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_trouble(struct store *s)
{
	return s->ops->trouble(s);
}

enum st store_checkpoint(struct store *s)
{
	return s->ops->checkpoint(s);
}

bool store_is_pg(const char *db)
{
	return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

enum st store_open(const char *path, enum store_mode mode, const struct keyring *kr,
		   struct store **out, char *err, size_t errlen)
{
	*out = NULL;
	if (store_is_pg(path)) {
		snprintf(err, errlen, "PostgreSQL is not built in");
		return ST_INTERNAL;
	}
	return sq_store_open(path, mode, kr, out, err, errlen);
}

enum st store_audit_verify_marks(const char *path, const struct keyring *kr,
				 const struct audit_mark *marks, size_t nmarks,
				 struct audit_check *out, char *err, size_t errlen)
{
	if (store_is_pg(path)) {
		snprintf(err, errlen, "PostgreSQL is not built in");
		return ST_INTERNAL;
	}
	return sq_store_verify_marks(path, kr, marks, nmarks, out, err, errlen);
}

enum st store_audit_verify_path(const char *path, const struct keyring *kr, struct audit_check *out,
				char *err, size_t errlen)
{
	return store_audit_verify_marks(path, kr, NULL, 0, out, err, errlen);
}
