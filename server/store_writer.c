/*
 * store_writer.c - the writer thread and the checkpoint thread: batches of
 * jobs in one transaction, the savepoint rerun, the cross-process lock
 * guard on "<db>-lock", whether writing works (/readyz), checkpoints, and
 * store_submit/store_run.
 */
#include "common.h"
#include "store_int.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* ---- whether writing works -------------------------------------------- */

enum { WF_NONE, WF_DISK, WF_COMMIT, WF_AUDIT };
static const char *const wfail_names[] = {NULL, "disk", "store", "audit"};
static const char *const wfail_why[] = {NULL, "free space below min_free_mb", "a commit failed",
					"an audit entry cannot be written"};

/*
 * Is the room on the database's filesystem below what must stay free?
 * That is min_free plus what a checkpoint would need to copy the log's
 * pages not yet copied (pending frames, s->lock held by the caller) into
 * the database file, which may grow by a page for each: so a checkpoint
 * always finds room, whatever the bound (the incident: a log of 14.5 MiB
 * on an 18 MiB disk that no checkpoint could copy back).
 */
static bool space_low(const struct sq_store *s, int pending)
{
	struct statvfs sv;
	uint64_t need;

	if (!s->min_free || statvfs(s->path, &sv) != 0)
		return false;
	need = s->min_free + (uint64_t)(pending > 0 ? pending : 0) * (uint64_t)s->page_size;
	return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize < need;
}

static int pending_frames(struct sq_store *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->wal_frames - s->ckpt_done;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/*
 * Writing starts failing or recovers: one line each way, however many
 * batches fail between them (a failed batch itself logs nothing).
 */
static void wfail_set(struct sq_store *s, int to)
{
	pthread_mutex_lock(&s->wfail_lock);
	int from = atomic_exchange(&s->wfail, to);
	if (from == WF_NONE && to != WF_NONE) {
		s->wfail_since_ns = clock_mono_ns();
		s->wfail_refused = 0;
		log_error("store: writing failed (%s): writes and audited reads answer 503 until "
			  "it recovers",
			  wfail_why[to]);
	} else if (from != WF_NONE && to == WF_NONE) {
		log_info("store: writing recovered after %.1f s (%llu batches refused meanwhile)",
			 (double)(clock_mono_ns() - s->wfail_since_ns) / 1e9,
			 (unsigned long long)s->wfail_refused);
	}
	if (to != WF_NONE)
		s->wfail_refused++;
	pthread_mutex_unlock(&s->wfail_lock);
}

void sq_set_write_timeout(struct sq_store *s, unsigned ms)
{
	/* The writer is in this process and waits on the disk alone: no bound to keep. */
	UNUSED(s);
	UNUSED(ms);
}

void sq_set_min_free(struct sq_store *s, uint64_t bytes)
{
	sqlite3_stmt *st = NULL;

	s->page_size = 4096;
	if (sqlite3_prepare_v2(s->writer->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		s->page_size = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	s->min_free = bytes;
}

const char *sq_trouble(struct sq_store *s)
{
	int wf = atomic_load(&s->wfail);

	/* The disk as it is now: it may fill while nothing writes. */
	if (space_low(s, pending_frames(s)))
		return wfail_names[WF_DISK];
	if (wf == WF_DISK) {
		wfail_set(s, WF_NONE); /* the room is back: say so as /readyz does */
		return NULL;
	}
	return wfail_names[wf];
}

/* ---- the writer thread ----------------------------------------------- */

static bool run_plain(struct sq_store *s, enum stmt id)
{
	sqlite3_stmt *st = sql_stmt(s->writer, id);
	return st && sql_step_done(s->writer, st) == ST_OK;
}

/* What the writer keeps in memory about the open transaction. */
struct wstate {
	int64_t audit_seq, rewrap_after[2];
	unsigned char audit_head[HASH_BYTES];
};

static void wstate_save(const struct sq_store *s, struct wstate *w)
{
	w->audit_seq = s->audit_seq;
	memcpy(w->audit_head, s->audit_head, HASH_BYTES);
	memcpy(w->rewrap_after, s->rewrap_after, sizeof(w->rewrap_after));
}

static void wstate_restore(struct sq_store *s, const struct wstate *w)
{
	s->audit_seq = w->audit_seq;
	memcpy(s->audit_head, w->audit_head, HASH_BYTES);
	memcpy(s->rewrap_after, w->rewrap_after, sizeof(s->rewrap_after));
}

/*
 * Run a batch's jobs inside its transaction.  A job that fails must leave
 * nothing behind but its audit entry, while the others' changes stay.
 *
 * A savepoint per job would do that, but each costs a copy of every page
 * the job touches (SQLite's statement journal): ~12% of the writer's time
 * here.  And jobs almost never fail after writing (a refusal is decided
 * before anything is written).  So a batch first runs without savepoints
 * (safe = false): a job that failed having changed no row just gets its
 * entry (rows as sqlite3_total_changes64 counts them: inserts, updates and
 * deletes, triggers' too; no job changes the schema); one that failed after
 * changing rows makes this return false, the
 * caller rolls the whole transaction back, and the batch runs again with a
 * savepoint around each job (safe = true).  Jobs see the same database both
 * times, so they decide the same way.
 */
static bool run_jobs(struct sq_store *s, struct wjob *jobs, bool safe)
{
	sqlite3 *db = s->writer->db;

	for (struct wjob *j = jobs; j; j = j->next) {
		struct wstate w;
		enum st st = ST_OK;
		sqlite3_int64 changes = sqlite3_total_changes64(db);

		wstate_save(s, &w);
		if (safe && !run_plain(s, S_SAVEPOINT)) {
			j->st = ST_UNAVAILABLE;
			continue;
		}
		if (j->fn)
			st = j->fn(&s->base, j);
		if (st != ST_OK && sqlite3_total_changes64(db) != changes) {
			if (!safe)
				return false;
			run_plain(s, S_ROLLBACK_TO);
			wstate_restore(s, &w);
		}
		if (!j->no_audit) {
			if (st != ST_OK)
				j->audit.order_id = 0; /* that order may be gone with the job */
			snprintf(j->audit.result, sizeof(j->audit.result), "%s",
				 j->result ? j->result : st_name(st));
			if (sq_w_audit_append(s, &j->audit) != ST_OK) {
				s->batch_audit_failed = true;
				if (!safe)
					return false;
				run_plain(s, S_ROLLBACK_TO);
				wstate_restore(s, &w);
				st = ST_UNAVAILABLE;
			} else {
				s->batch_audited = true;
			}
		}
		if (safe)
			run_plain(s, S_RELEASE);
		j->st = st;
	}
	return true;
}

bool guard_lock(struct sq_store *s, int byte, short type, bool wait)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1};

	while (fcntl(s->guard_fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EACCES)
			log_error("store: %s-lock: %s", s->path, strerror(errno));
		return false;
	}
	return true;
}

/* Does a daemon store (this process's or another's) hold the database? */
bool guard_daemon_runs(struct sq_store *s)
{
	struct flock fl = {
	    .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = GUARD_DAEMON, .l_len = 1};

	if (!s->tool)
		return true;
	if (fcntl(s->guard_fd, F_OFD_GETLK, &fl) == -1)
		return true; /* cannot tell: assume so */
	return fl.l_type != F_UNLCK;
}

/*
 * Checkpoints that ran anywhere, counted in the first 8 bytes of
 * "<db>-lock" (read and bumped under GUARD_SECTION): a daemon store sees
 * by it that a tool's checkpoint ran since its own last look.
 */
uint64_t guard_count(struct sq_store *s, bool bump)
{
	uint64_t n = 0;

	if (pread(s->guard_fd, &n, sizeof(n), 0) != (ssize_t)sizeof(n))
		n = 0;
	if (bump) {
		n++;
		if (pwrite(s->guard_fd, &n, sizeof(n), 0) != (ssize_t)sizeof(n))
			log_error("store: %s-lock: %s", s->path, strerror(errno));
	}
	return n;
}

const unsigned store_commit_bounds_us[STORE_COMMIT_BUCKETS] = {250,   500,   1000,  2000,  5000,
							       10000, 25000, 50000, 100000};

static void run_batch(struct sq_store *s, struct wjob *jobs, size_t n)
{
	struct wstate w0;
	size_t bucket = 0;
	uint64_t t0 = clock_mono_ns(), t1 = t0, t2 = t0;
	bool safe = false, section = false;
	sqlite3_int64 changes0 = 0;

	pthread_mutex_lock(&s->txn_lock);
	if (s->tool) {
		section = guard_lock(s, GUARD_SECTION, F_WRLCK, true);
		if (!section) {
			wjobs_fail(jobs, ST_UNAVAILABLE);
			goto done;
		}
	}
	/* Below the bound nothing more is written: what room is left is the checkpoint's. */
	if (space_low(s, pending_frames(s))) {
		wfail_set(s, WF_DISK);
		wjobs_fail(jobs, ST_UNAVAILABLE);
		goto done;
	}
	changes0 = sqlite3_total_changes64(s->writer->db);
again:
	s->batch_audit_failed = s->batch_audited = false;
	pthread_mutex_lock(&s->lock);
	s->txn_seq = s->ckpt_seq;
	pthread_mutex_unlock(&s->lock);
	if (!run_plain(s, S_BEGIN)) {
		wjobs_fail(jobs, ST_UNAVAILABLE);
		goto done;
	}
	if (chain_load_head(s) != ST_OK) {
		run_plain(s, S_ROLLBACK);
		wjobs_fail(jobs, ST_UNAVAILABLE);
		goto done;
	}
	wstate_save(s, &w0);
	if (!run_jobs(s, jobs, safe)) {
		run_plain(s, S_ROLLBACK);
		wstate_restore(s, &w0);
		safe = true;
		pthread_mutex_lock(&s->lock);
		s->stats.reruns++;
		pthread_mutex_unlock(&s->lock);
		goto again;
	}
	t1 = clock_mono_ns();
	if (!run_plain(s, S_COMMIT)) {
		/* A full disk rolls the transaction back itself: no ROLLBACK then. */
		if (!sqlite3_get_autocommit(s->writer->db))
			run_plain(s, S_ROLLBACK);
		wstate_restore(s, &w0);
		wjobs_fail(jobs, ST_UNAVAILABLE);
		wfail_set(s, WF_COMMIT);
		pthread_mutex_lock(&s->lock);
		s->stats.commit_fail++;
		pthread_mutex_unlock(&s->lock);
	} else if (s->batch_audit_failed) {
		wfail_set(s, WF_AUDIT);
	} else if ((sqlite3_total_changes64(s->writer->db) != changes0 &&
		    (s->batch_audited || atomic_load(&s->wfail) != WF_AUDIT)) ||
		   atomic_load(&s->wfail) == WF_DISK) {
		/* Only a commit that wrote shows that writing works again. */
		wfail_set(s, WF_NONE);
	}
	t2 = clock_mono_ns();
done:
	if (section)
		guard_lock(s, GUARD_SECTION, F_UNLCK, false);
	pthread_mutex_unlock(&s->txn_lock);
	while ((size_t)1 << (bucket + 1) <= n && bucket < ARRAY_SIZE(s->stats.batch_hist) - 1)
		bucket++;
	size_t cb = 0;
	while (cb < STORE_COMMIT_BUCKETS && t2 - t1 > (uint64_t)store_commit_bounds_us[cb] * 1000)
		cb++;
	pthread_mutex_lock(&s->lock);
	s->stats.exec_ns += t1 - t0;
	s->stats.commit_ns += t2 - t1;
	s->stats.batches++;
	s->stats.jobs += n;
	s->stats.batch_hist[bucket]++;
	if (t2 > t1) /* a COMMIT ran */
		s->stats.commit_hist[cb]++;
	pthread_mutex_unlock(&s->lock);
	while (jobs) {
		struct wjob *next = jobs->next;
		jobs->next = NULL;
		jobs->done(jobs); /* may free the job */
		jobs = next;
	}
}

/*
 * Checkpoints.  A daemon store runs them on their own thread: copying
 * pages into the database and syncing it inside a commit would stall
 * every request waiting on it.  The writer's WAL hook wakes the thread
 * once the log holds ckpt_frames frames not yet copied (and it runs once
 * a second); its PASSIVE checkpoints never block the writer or the
 * readers.
 *
 * How many frames to let build up between passes depends on the load.
 * Each pass ends in an fsync of the database that competes with the
 * commits' fsyncs of the log: rare passes make rare, long stalls, frequent
 * ones short ones but copy a hot page again each time (a pass every 512
 * frames cost ~12% of the peak rate).  So the checkpointer looks at the
 * share of the last second the writer spent running jobs (not committing:
 * waiting on fsync fills the time at any load): below CKPT_BUSY it passes
 * every CKPT_FRAMES_SHORT frames, above it every CKPT_FRAMES_LONG.
 *
 * Under steady writes a pass never quite catches up, and SQLite starts the
 * log over from its beginning only when one has: the log would grow
 * without end.  So once it is half of CKPT_LOG_MAX and the last pass left
 * at most CKPT_TAIL frames, the writer copies that tail itself between
 * batches, and at CKPT_LOG_MAX it waits out the pass and copies the rest:
 * that back-pressure bounds the log (and the -wal file, which never
 * shrinks) whatever the load.  Either costs the writer a database fsync,
 * 2-12 ms here, which every request arriving meanwhile waits out: done
 * every 512-1,024 frames, as it first was, that was ~4% of the time at
 * half load and the largest part of p99 there (p99 12-28 ms; 7-16 ms with
 * the long bound, same minutes, and no lower peak rate).
 *
 * The WAL-reset bug (see tool) allows no PASSIVE checkpoint while a
 * transaction that restarts the log commits, and a transaction restarts
 * the log when it starts on one a checkpoint has just copied in full.
 * So one checkpoint runs at a time (ckpt_running), and after each the
 * next waits (ckpt_gate) until a transaction that began after it has
 * committed pages: the log then holds pages no checkpoint has copied, and
 * no transaction can restart it until one has, which closes the gate
 * again.  The writer never waits for a checkpoint.  Only when the gate
 * has stayed shut for a whole second (no writes) does the thread take
 * txn_lock, which keeps the writer out of a transaction, and checkpoint
 * anyway.  A tool's checkpoint, which the gate cannot see, bumps the
 * count in "<db>-lock": finding it changed shuts the gate.
 */

int ckpt_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sq_store *s = arg;
	UNUSED(db);
	UNUSED(name);
	pthread_mutex_lock(&s->lock);
	/* The log starts over after a finished checkpoint: then all are new. */
	s->stats.wal_pages += (uint64_t)(frames >= s->wal_frames ? frames - s->wal_frames : frames);
	if (frames < s->wal_frames)
		s->ckpt_done = 0;
	s->wal_frames = frames;
	/* Pages of a transaction that began after the last checkpoint ended. */
	if (s->txn_seq == s->ckpt_seq)
		s->ckpt_gate = false;
	if (frames - s->ckpt_done >= s->ckpt_frames && !s->ckpt_gate)
		pthread_cond_signal(&s->ckpt_wake);
	pthread_mutex_unlock(&s->lock);
	return SQLITE_OK;
}

/*
 * One checkpoint of a daemon store, the caller holding ckpt_running; with
 * writer_out, txn_lock is held too.  SQLITE_BUSY when it did not run.
 */
int ckpt_run(struct sq_store *s, struct conn *c, int mode, bool writer_out, int *log, int *copied)
{
	int rc = SQLITE_BUSY;

	*log = *copied = 0;
	if (guard_lock(s, GUARD_SECTION, F_WRLCK, true)) {
		uint64_t seen = guard_count(s, false);
		/* A tool checkpointed since our last look: the log may be whole. */
		if (seen == s->ckpt_seen || writer_out || mode != SQLITE_CHECKPOINT_PASSIVE)
			rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, log, copied);
		s->ckpt_seen = seen;
		guard_lock(s, GUARD_SECTION, F_UNLCK, false);
	}
	pthread_mutex_lock(&s->lock);
	s->ckpt_seq++;
	s->ckpt_gate = true;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void *ckpt_main(void *arg)
{
	struct sq_store *s = arg;
	uint64_t busy0 = 0, t0 = clock_mono_ns(), shut_since = 0;

	pthread_setname_np(pthread_self(), "wb-checkpoint");
	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec ts;
		int log = 0, done = 0;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		if (s->wal_frames - s->ckpt_done < s->ckpt_frames || s->ckpt_gate)
			pthread_cond_timedwait(&s->ckpt_wake, &s->lock, &ts);
		if (s->stopping)
			break;
		/* Space back while nothing writes: say so without waiting for a write. */
		if (atomic_load(&s->wfail) == WF_DISK &&
		    !space_low(s, s->wal_frames - s->ckpt_done))
			wfail_set(s, WF_NONE);
		/* The writer's share of the time since the last look. */
		uint64_t busy = s->stats.exec_ns, t = clock_mono_ns();
		if (t - t0 >= 250000000) {
			double frac = (double)(busy - busy0) / (double)(t - t0);
			s->ckpt_frames = frac < CKPT_BUSY ? CKPT_FRAMES_SHORT : CKPT_FRAMES_LONG;
			busy0 = busy;
			t0 = t;
		}
		if (s->ckpt_hold || s->ckpt_running) {
			/* The writer is copying the log itself: wait for it. */
			pthread_cond_timedwait(&s->ckpt_idle, &s->lock, &ts);
			continue;
		}
		bool writer_out = false;
		if (s->ckpt_gate) {
			if (!shut_since)
				shut_since = t;
			if (t - shut_since < 1000000000)
				continue;
			writer_out = true;
		}
		shut_since = 0;
		s->ckpt_running = true;
		pthread_mutex_unlock(&s->lock);
		if (writer_out)
			pthread_mutex_lock(&s->txn_lock);
		if (ckpt_run(s, s->ckpt, SQLITE_CHECKPOINT_PASSIVE, writer_out, &log, &done) !=
		    SQLITE_OK)
			done = 0;
		if (writer_out)
			pthread_mutex_unlock(&s->txn_lock);
		pthread_mutex_lock(&s->lock);
		s->ckpt_done = done;
		s->ckpt_running = false;
		pthread_cond_broadcast(&s->ckpt_idle);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Between batches: finish a nearly done checkpoint so the log starts over. */
static void ckpt_tail(struct sq_store *s)
{
	pthread_mutex_lock(&s->lock);
	int frames = s->wal_frames, done = s->ckpt_done;
	/*
	 * Once the log is half its bound, a tail of up to CKPT_TAIL frames.
	 * Or the whole rest at the bound: big batches (hundreds of pages
	 * each) outrun the checkpointer, and the writer waiting on the copy is
	 * the back-pressure that keeps the log (and the -wal file, which
	 * never shrinks) bounded.
	 */
	bool hold = frames >= CKPT_LOG_MAX;
	bool tail = frames >= CKPT_LOG_MAX / 2 && done > 0 && frames - done <= CKPT_TAIL;
	if (hold) {
		/* Only one checkpoint at a time: wait out the checkpointer's pass. */
		s->ckpt_hold = true;
		while (s->ckpt_running)
			pthread_cond_wait(&s->ckpt_idle, &s->lock);
	}
	/*
	 * A shut gate: the checkpointer's pass ended after this batch began.
	 * The next batch opens it (a hold stays set until then).
	 */
	if (!(hold || tail) || s->ckpt_running || s->ckpt_gate) {
		if (!hold && s->ckpt_hold) {
			s->ckpt_hold = false;
			pthread_cond_broadcast(&s->ckpt_idle);
		}
		pthread_mutex_unlock(&s->lock);
		return;
	}
	s->ckpt_running = true;
	pthread_mutex_unlock(&s->lock);

	int log = 0, copied = 0;
	int rc = ckpt_run(s, s->writer, SQLITE_CHECKPOINT_PASSIVE, false, &log, &copied);
	pthread_mutex_lock(&s->lock);
	s->ckpt_running = false;
	s->ckpt_hold = false;
	pthread_cond_broadcast(&s->ckpt_idle);
	if (rc == SQLITE_OK) {
		/* All copied: the next transaction starts the log over. */
		s->ckpt_done = copied < log ? copied : 0;
		s->wal_frames = copied < log ? log : 0;
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * A tool store's checkpoint: FULL, RESTART and TRUNCATE run under SQLite's
 * write lock, so no commit overlaps them.  Bumps the count a daemon reads.
 */
int ckpt_tool(struct sq_store *s, struct conn *c, int mode)
{
	int rc = SQLITE_BUSY;

	if (guard_lock(s, GUARD_SECTION, F_WRLCK, true)) {
		rc = sqlite3_wal_checkpoint_v2(c->db, NULL, mode, NULL, NULL);
		guard_count(s, true);
		guard_lock(s, GUARD_SECTION, F_UNLCK, false);
	}
	return rc;
}

void *writer_main(void *arg)
{
	struct sq_store *s = arg;

	pthread_setname_np(pthread_self(), "wb-writer");
	for (;;) {
		struct wjob *jobs;
		size_t n;

		pthread_mutex_lock(&s->lock);
		while (!s->q.head && !s->stopping)
			pthread_cond_wait(&s->wake, &s->lock);
		jobs = wqueue_take(&s->q, BATCH_MAX, &n);
		pthread_mutex_unlock(&s->lock);
		if (!jobs)
			break;
		run_batch(s, jobs, n);
		if (!s->tool) {
			ckpt_tail(s);
			continue;
		}
		pthread_mutex_lock(&s->lock);
		bool long_log = s->wal_frames >= 2 * CKPT_FRAMES_LONG;
		pthread_mutex_unlock(&s->lock);
		/* A long waybillctl job (rewrap, purge): keep the log bounded. */
		if (long_log && ckpt_tool(s, s->writer, SQLITE_CHECKPOINT_RESTART) == SQLITE_OK) {
			pthread_mutex_lock(&s->lock);
			s->wal_frames = 0;
			pthread_mutex_unlock(&s->lock);
		}
	}
	return NULL;
}

void sq_submit(struct sq_store *s, struct wjob *j)
{
	pthread_mutex_lock(&s->lock);
	wqueue_push(&s->q, j);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

enum st sq_checkpoint(struct sq_store *s)
{
	/* A connection of its own: TRUNCATE waits for readers, then empties the WAL file. */
	struct conn *c = NULL;
	char err[256];
	int rc, log, copied;

	if (conn_open(s->path, false, &c, err, sizeof(err)) != ST_OK)
		return ST_UNAVAILABLE;
	if (s->tool) {
		rc = ckpt_tool(s, c, SQLITE_CHECKPOINT_TRUNCATE);
	} else {
		pthread_mutex_lock(&s->lock);
		while (s->ckpt_running)
			pthread_cond_wait(&s->ckpt_idle, &s->lock);
		s->ckpt_running = true;
		pthread_mutex_unlock(&s->lock);
		rc = ckpt_run(s, c, SQLITE_CHECKPOINT_TRUNCATE, false, &log, &copied);
		pthread_mutex_lock(&s->lock);
		s->ckpt_running = false;
		pthread_cond_broadcast(&s->ckpt_idle);
		pthread_mutex_unlock(&s->lock);
	}
	conn_close(c);
	return rc == SQLITE_OK ? ST_OK : ST_UNAVAILABLE;
}

void sq_stats_get(struct sq_store *s, struct store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
