/*
 * store.c - store.h's functions, each a call through the backend's table
 * (store_ops.h), and the choice of backend by the database's name: a URL
 * "postgresql://..." (or "postgres://...") is PostgreSQL, anything else a
 * path to an SQLite file.
 */
#include "common.h"
#include "store_ops.h"

#include <pthread.h>
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

void wqueue_push(struct wqueue *q, struct wjob *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

struct wjob *wqueue_take(struct wqueue *q, size_t max, size_t *n)
{
	struct wjob *first = q->head, *last = first;

	*n = 0;
	if (!first)
		return NULL;
	*n = 1;
	while (last->next && *n < max) {
		last = last->next;
		(*n)++;
	}
	q->head = last->next;
	if (!q->head)
		q->tail = NULL;
	last->next = NULL;
	return first;
}

void wjobs_fail(struct wjob *jobs, enum st st)
{
	for (struct wjob *j = jobs; j; j = j->next)
		j->st = st;
}

/* store_run's wait: the job's done() on the writer thread wakes its submitter. */
struct waiter {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool done;
};

static void waiter_done(struct wjob *j)
{
	struct waiter *w = j->ctx;

	pthread_mutex_lock(&w->m);
	w->done = true;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

enum st store_run(struct store *s, struct wjob *j)
{
	struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
	void *ctx = j->ctx;

	j->done = waiter_done;
	j->ctx = &w;
	store_submit(s, j);
	pthread_mutex_lock(&w.m);
	while (!w.done)
		pthread_cond_wait(&w.c, &w.m);
	pthread_mutex_unlock(&w.m);
	j->ctx = ctx;
	return j->st;
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
	if (store_is_pg(path))
		return pg_store_open(path, mode, kr, out, err, errlen);
	return sq_store_open(path, mode, kr, out, err, errlen);
}

enum st store_audit_verify_marks(const char *path, const struct keyring *kr,
				 const struct audit_mark *marks, size_t nmarks,
				 struct audit_check *out, char *err, size_t errlen)
{
	if (store_is_pg(path))
		return pg_store_verify_marks(path, kr, marks, nmarks, out, err, errlen);
	return sq_store_verify_marks(path, kr, marks, nmarks, out, err, errlen);
}

enum st store_audit_verify_path(const char *path, const struct keyring *kr, struct audit_check *out,
				char *err, size_t errlen)
{
	return store_audit_verify_marks(path, kr, NULL, 0, out, err, errlen);
}
