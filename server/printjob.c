/*
 * printjob.c - print jobs (printjob.h): their state table, reserving and
 * giving back prints, rendering a job in its printer's language, sending
 * it over TCP with timeouts, and the sender threads.
 */
#include "common.h"
#include "printjob.h"
#include "app.h"
#include "audit.h"
#include "label.h"
#include "log.h"
#include "order.h"
#include "printer.h"
#include "view.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SENDERS 2
#define SNDBUF_BYTES (32 * 1024)
#define SLICE_MS 100 /* how often a wait looks at the stop flag */

/* ---- the state table ------------------------------------------------------ */

static const char *const state_names[PJ_NSTATES] = {
    [PJ_QUEUED] = "queued", [PJ_SENDING] = "sending",	      [PJ_SENT] = "sent",
    [PJ_FAILED] = "failed", [PJ_INTERRUPTED] = "interrupted",
};

static const struct {
	enum pj_state from;
	enum pj_event ev;
	enum pj_state to;
} moves[] = {
    {PJ_QUEUED, PJ_EV_CLAIM, PJ_SENDING}, {PJ_SENDING, PJ_EV_SENT, PJ_SENT},
    {PJ_SENDING, PJ_EV_FAIL, PJ_FAILED},  {PJ_SENDING, PJ_EV_CRASH, PJ_INTERRUPTED},
    {PJ_FAILED, PJ_EV_RETRY, PJ_QUEUED},  {PJ_INTERRUPTED, PJ_EV_RETRY, PJ_QUEUED},
};

const char *printjob_state_name(enum pj_state s)
{
	return (unsigned)s < PJ_NSTATES ? state_names[s] : "?";
}

bool printjob_state_parse(const char *name, enum pj_state *out)
{
	for (int i = 0; i < PJ_NSTATES; i++)
		if (strcmp(name, state_names[i]) == 0) {
			*out = (enum pj_state)i;
			return true;
		}
	return false;
}

bool printjob_next(enum pj_state from, enum pj_event ev, enum pj_state *to)
{
	for (size_t i = 0; i < ARRAY_SIZE(moves); i++)
		if (moves[i].from == from && moves[i].ev == ev) {
			*to = moves[i].to;
			return true;
		}
	return false;
}

size_t printjob_tns_split(const char *text, char (*tns)[TN_MAX], size_t max)
{
	size_t n = 0;

	while (*text) {
		size_t k;

		text += strspn(text, " ");
		k = strcspn(text, " ");
		if (k == 0)
			break;
		if (k >= TN_MAX || n == max)
			return 0;
		memcpy(tns[n], text, k);
		tns[n][k] = '\0';
		n++;
		text += k;
	}
	return n;
}

/* ---- prints: reserved per label, given back when nothing left ------------- */

static enum st label_audit(struct store *s, const struct audit_entry *who, const char *action,
			   const char *tn, int64_t job_id, const char *why)
{
	struct audit_entry e;

	audit_entry_init(&e, who->actor, who->role, action, tn, who->request_id);
	if (why)
		snprintf(e.reason, sizeof(e.reason), "print job %lld: %s", (long long)job_id, why);
	else
		snprintf(e.reason, sizeof(e.reason), "print job %lld", (long long)job_id);
	snprintf(e.result, sizeof(e.result), "ok");
	return store_w_audit_append(s, &e) == ST_OK ? ST_OK : ST_UNAVAILABLE;
}

enum st printjob_w_reserve(struct store *s, const char (*tns)[TN_MAX], size_t n, long max_prints,
			   const struct audit_entry *who, int64_t job_id, size_t *bad)
{
	enum st st = ST_OK;

	for (size_t i = 0; i < n && st == ST_OK; i++) {
		struct order_row row = {0};

		st = store_w_order_get(s, tns[i], &row);
		if (st != ST_OK) {
			*bad = i;
			break;
		}
		if (row.print_count >= max_prints) {
			*bad = i;
			st = ST_LIMIT;
		} else {
			st = store_w_order_set_prints(s, row.id, row.print_count + 1);
		}
		if (st == ST_OK)
			st = label_audit(s, who, row.print_count ? "label.reprint" : "label.print",
					 row.tracking_no, job_id, NULL);
		order_row_release(&row);
	}
	return st;
}

enum st printjob_w_unprint(struct store *s, const char (*tns)[TN_MAX], size_t n,
			   const struct audit_entry *who, int64_t job_id, const char *why)
{
	enum st st = ST_OK;

	for (size_t i = 0; i < n && st == ST_OK; i++) {
		struct order_row row = {0};

		st = store_w_order_get(s, tns[i], &row);
		if (st == ST_NOTFOUND) {
			st = ST_OK;
			continue;
		}
		if (st != ST_OK)
			break;
		if (row.print_count > 0)
			st = store_w_order_set_prints(s, row.id, row.print_count - 1);
		if (st == ST_OK)
			st = label_audit(s, who, "label.unprint", row.tracking_no, job_id, why);
		order_row_release(&row);
	}
	return st;
}

/* ---- sending --------------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connect one address within deadline (ms, monotonic); the socket or -1 with errno. */
static int connect_one(const struct addrinfo *ai, int64_t deadline, const atomic_bool *stop)
{
	int fd =
	    socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1, buf = SNDBUF_BYTES, err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
		goto fail;
	}
	for (;;) {
		struct pollfd p = {fd, POLLOUT, 0};
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0) {
			err = ETIMEDOUT;
			goto fail;
		}
		rc = poll(&p, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
		if ((rc < 0 && errno == EINTR) ||
		    (rc == 0 && !(stop && atomic_load(stop)) && deadline - now_ms() > 0))
			continue;
		if (rc <= 0) {
			err = rc == 0 ? ETIMEDOUT : errno;
			goto fail;
		}
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
		err = errno;
	if (err == 0)
		return fd;
fail:
	close(fd);
	errno = err;
	return -1;
}

/* Bytes the kernel still holds unacknowledged; -1 when it cannot say. */
static int outq(int fd)
{
	int n = 0;

	return ioctl(fd, TIOCOUTQ, &n) == 0 ? n : -1;
}

static bool stopped(const atomic_bool *stop, char reason[32], char *detail, size_t detail_len)
{
	if (!stop || !atomic_load(stop))
		return false;
	snprintf(reason, 32, "stopping");
	snprintf(detail, detail_len, "the daemon stopped during the send");
	return true;
}

enum st printjob_send(const char *host, const char *port, const unsigned char *buf, size_t len,
		      long connect_ms, long write_ms, const atomic_bool *stop, int64_t *written,
		      char reason[32], char *detail, size_t detail_len)
{
	struct addrinfo hints, *res = NULL, *ai;
	int64_t deadline = now_ms() + connect_ms, last;
	int fd = -1, gai, cerr = 0, pending;
	size_t off = 0;

	*written = 0;
	reason[0] = '\0';
	detail[0] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(reason, 32, "printer_unreachable");
		snprintf(detail, detail_len, "%s:%s: cannot resolve: %s", host, port,
			 gai_strerror(gai));
		return ST_UNAVAILABLE;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = connect_one(ai, deadline, stop);
		if (fd < 0)
			cerr = errno;
	}
	freeaddrinfo(res);
	if (fd < 0 && stopped(stop, reason, detail, detail_len))
		return ST_UNAVAILABLE;
	if (fd < 0) {
		snprintf(reason, 32, "printer_unreachable");
		if (cerr == ETIMEDOUT)
			snprintf(detail, detail_len, "%s:%s: no connection within %ld ms", host,
				 port, connect_ms);
		else
			snprintf(detail, detail_len, "%s:%s: connect: %s", host, port,
				 strerror(cerr));
		return ST_UNAVAILABLE;
	}
	last = now_ms();
	while (off < len) {
		ssize_t k = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		struct pollfd p = {fd, POLLOUT, 0};
		int64_t left;

		if (k > 0) {
			off += (size_t)k;
			*written = (int64_t)off;
			last = now_ms();
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(reason, 32, "printer_closed");
			snprintf(detail, detail_len, "%s:%s: %s after %zu of %zu bytes", host, port,
				 strerror(errno), off, len);
			close(fd);
			return ST_UNAVAILABLE;
		}
		if (stopped(stop, reason, detail, detail_len)) {
			close(fd);
			return ST_UNAVAILABLE;
		}
		left = last + write_ms - now_ms();
		if (left <= 0 || (poll(&p, 1, (int)(left < SLICE_MS ? left : SLICE_MS)) == 0)) {
			if (now_ms() - last < write_ms)
				continue;
			snprintf(reason, 32, "printer_stalled");
			snprintf(detail, detail_len,
				 "%s:%s: took no byte for %ld ms (%zu of %zu bytes sent)", host,
				 port, write_ms, off, len);
			close(fd);
			return ST_UNAVAILABLE;
		}
	}
	/* Written is not received: wait until the printer's TCP acknowledged every byte. */
	last = now_ms();
	pending = outq(fd);
	while (pending > 0) {
		struct timespec nap = {0, 5 * 1000000};
		int again;

		if (stopped(stop, reason, detail, detail_len)) {
			close(fd);
			return ST_UNAVAILABLE;
		}
		nanosleep(&nap, NULL);
		again = outq(fd);
		if (again < pending)
			last = now_ms();
		pending = again;
		if (pending > 0 && now_ms() - last >= write_ms) {
			snprintf(reason, 32, "printer_stalled");
			snprintf(
			    detail, detail_len,
			    "%s:%s: took no byte for %ld ms (%d of %zu bytes not acknowledged)",
			    host, port, write_ms, pending, len);
			close(fd);
			return ST_UNAVAILABLE;
		}
	}
	shutdown(fd, SHUT_WR);
	close(fd);
	return ST_OK;
}

/* ---- rendering a job ---------------------------------------------------- */

/*
 * The job's labels as its printer takes them; on failure reason and detail
 * say why (no personal data: an index, a status).
 */
static enum st job_render(struct app *app, const struct printer *p, const char (*tns)[TN_MAX],
			  size_t n, unsigned char **out, size_t *len, size_t *unsorted,
			  char reason[32], char *detail, size_t detail_len)
{
	const struct label_tmpl *t = label_tmpl_find(app->labels, p->size);
	struct label_fields *pages = calloc(n, sizeof(*pages));
	enum st st = ST_OK;

	*out = NULL;
	*len = 0;
	*unsorted = 0;
	if (!pages)
		return ST_NOMEM;
	if (!t) {
		snprintf(reason, 32, "render_failed");
		snprintf(detail, detail_len, "no label template %s", p->size);
		free(pages);
		return ST_INVALID;
	}
	for (size_t i = 0; i < n && st == ST_OK; i++) {
		struct order_row row = {0};
		struct order o;

		st = store_order_get(app->store, tns[i], &row);
		if (st == ST_OK) {
			st = view_open(app, &row, &o);
			if (st == ST_OK) {
				view_label_fields(&pages[i], &row, &o);
				order_release(&o);
				if (!row.sort_code[0])
					(*unsorted)++;
			}
			order_row_release(&row);
		}
		if (st != ST_OK) {
			snprintf(reason, 32, st == ST_GONE ? "order_erased" : "render_failed");
			snprintf(detail, detail_len, "label %zu: %s", i,
				 st == ST_GONE ? "the order's personal data was erased"
					       : st_name(st));
		}
	}
	if (st == ST_OK) {
		enum label_format fmt = p->lang == PRINTER_ZPL	  ? LABEL_ZPL
					: p->lang == PRINTER_TSPL ? LABEL_TSPL
								  : LABEL_PDF;

		st = label_render_to(app->labels, t, fmt, p->dpi, pages, n, out, len);
		if (st != ST_OK) {
			snprintf(reason, 32, "render_failed");
			snprintf(detail, detail_len, "%s at %d dpi, size %s: %s",
				 printer_lang_name(p->lang), p->dpi, p->size, st_name(st));
			if (st != ST_INVALID)
				atomic_fetch_add(&app->label_failures, 1);
		}
	}
	free_wiped(pages, n * sizeof(*pages));
	return st;
}

/* ---- the senders ---------------------------------------------------------- */

struct printq {
	struct app *app;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int64_t *ids; /* a ring of job ids to look at */
	size_t head, count, cap;
	bool stopping;
	atomic_bool stop;	/* stopping, for a send in progress */
	bool interrupt_pending; /* the start could not mark interrupted jobs yet */
	pthread_t threads[SENDERS];
	size_t nthreads;
};

static bool push_locked(struct printq *q, int64_t id)
{
	if (q->count == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 64;
		int64_t *n = malloc(ncap * sizeof(*n));

		if (!n)
			return false;
		for (size_t i = 0; i < q->count; i++)
			n[i] = q->ids[(q->head + i) % q->cap];
		free(q->ids);
		q->ids = n;
		q->head = 0;
		q->cap = ncap;
	}
	q->ids[(q->head + q->count) % q->cap] = id;
	q->count++;
	return true;
}

void printq_wake(struct printq *q, int64_t id)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	/* Out of memory: the job stays queued in the database; the next start takes it. */
	if (!push_locked(q, id))
		log_error("print job %lld: cannot queue it in memory", (long long)id);
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

struct claim {
	int64_t id;
	struct print_job_row *job;
	bool claimed;
};

static enum st tx_claim(struct store *s, struct wjob *j)
{
	struct claim *c = j->arg;
	enum pj_state from, to;
	enum st st = store_w_job_get(s, c->id, c->job);

	c->claimed = false;
	if (st == ST_NOTFOUND)
		return ST_OK;
	if (st != ST_OK)
		return st;
	if (!printjob_state_parse(c->job->status, &from) || !printjob_next(from, PJ_EV_CLAIM, &to))
		return ST_OK; /* taken already, or no longer queued */
	c->job->attempts++;
	st = store_w_job_set(s, c->id, printjob_state_name(to), "", "", c->job->attempts, 0,
			     (int64_t)time(NULL));
	if (st == ST_OK)
		c->claimed = true;
	return st;
}

struct finish {
	struct print_job_row *job;
	char (*tns)[TN_MAX];
	size_t n;
	bool sent;
	int64_t written;
	const char *reason, *detail;
};

static enum st tx_finish(struct store *s, struct wjob *j)
{
	struct finish *f = j->arg;
	enum pj_state to;
	enum st st;

	if (!printjob_next(PJ_SENDING, f->sent ? PJ_EV_SENT : PJ_EV_FAIL, &to))
		return ST_INTERNAL;
	st = store_w_job_set(s, f->job->id, printjob_state_name(to), f->sent ? "" : f->reason,
			     f->sent ? "" : f->detail, f->job->attempts, f->written,
			     (int64_t)time(NULL));
	/* Nothing left the host: no label can have printed, each print goes back. */
	if (st == ST_OK && !f->sent && f->written == 0)
		st = printjob_w_unprint(s, (const char(*)[TN_MAX])f->tns, f->n, &j->audit,
					f->job->id, f->reason);
	if (f->sent)
		snprintf(j->audit.reason, sizeof(j->audit.reason),
			 "job %lld on %s: %zu labels sent (%lld bytes)", (long long)f->job->id,
			 f->job->printer, f->n, (long long)f->written);
	else
		snprintf(j->audit.reason, sizeof(j->audit.reason),
			 "job %lld on %s: %s after %lld bytes%s", (long long)f->job->id,
			 f->job->printer, f->reason, (long long)f->written,
			 f->written ? ", prints kept" : ", prints given back");
	j->result = f->sent ? "ok" : "failed";
	return st;
}

static void job_run(struct printq *q, int64_t id)
{
	struct app *app = q->app;
	struct print_job_row *job = calloc(1, sizeof(*job));
	char(*tns)[TN_MAX] = calloc(PRINT_JOB_LABELS_MAX, sizeof(*tns));
	struct claim c = {id, job, false};
	struct wjob j = {0};
	struct printer p;
	unsigned char *bytes = NULL;
	size_t len = 0, n = 0, unsorted = 0;
	char reason[32] = "", detail[PRINT_JOB_DETAIL_MAX] = "";
	int64_t written = 0;
	enum st st;

	if (!job || !tns) {
		log_error("print job %lld: out of memory; it stays queued", (long long)id);
		goto out;
	}
	j.fn = tx_claim;
	j.arg = &c;
	j.no_audit = true;
	st = store_run(app->store, &j);
	if (st != ST_OK) {
		log_error("print job %lld: cannot claim it (%s); it stays queued", (long long)id,
			  st_name(st));
		goto out;
	}
	if (!c.claimed)
		goto out;
	n = printjob_tns_split(job->tracking_nos, tns, PRINT_JOB_LABELS_MAX);
	if (n == 0) {
		st = ST_INTERNAL;
		snprintf(reason, sizeof(reason), "render_failed");
		snprintf(detail, sizeof(detail), "the job's tracking numbers do not read back");
	} else if (!printers_find(app->printers, job->depot, job->printer, &p)) {
		st = ST_NOTFOUND;
		snprintf(reason, sizeof(reason), "printer_unknown");
		snprintf(detail, sizeof(detail), "printer %s is no longer in the printers file",
			 job->printer);
	} else {
		st = job_render(app, &p, (const char(*)[TN_MAX])tns, n, &bytes, &len, &unsorted,
				reason, detail, sizeof(detail));
		if (st == ST_OK)
			st = printjob_send(p.host, p.port, bytes, len,
					   app->cfg.printer_connect_timeout_ms,
					   app->cfg.printer_write_timeout_ms, &q->stop, &written,
					   reason, detail, sizeof(detail));
	}
	if (st != ST_OK && strcmp(reason, "stopping") == 0) {
		/* Left "sending": the next start calls it interrupted (part of it may have
		 * printed), and never sends it again by itself. */
		log_warn("print job %lld: the stop cut its send (%lld bytes out); it will read "
			 "interrupted",
			 (long long)id, (long long)written);
		goto out;
	}
	{
		struct finish f = {job, tns, n, st == ST_OK, written, reason, detail};
		struct wjob fj = {0};
		enum st fst;

		audit_entry_init(&fj.audit, "waybilld", "system", "print_job.send", NULL, NULL);
		fj.fn = tx_finish;
		fj.arg = &f;
		fst = store_run(app->store, &fj);
		if (fst != ST_OK)
			/* It stays "sending": the next start calls it interrupted, never resends.
			 */
			log_error("print job %lld: cannot record its end (%s)", (long long)id,
				  st_name(fst));
		if (st == ST_OK) {
			atomic_fetch_add(&app->labels_printed, n);
			atomic_fetch_add(&app->labels_unsorted, unsorted);
			log_info("print job %lld: %zu labels sent to %s (%zu bytes)", (long long)id,
				 n, job->printer, len);
		} else {
			log_warn("print job %lld on %s failed: %s: %s", (long long)id, job->printer,
				 reason, detail);
		}
	}
out:
	free(bytes);
	free(tns);
	free(job);
}

static enum st tx_interrupt(struct store *s, struct wjob *j)
{
	int64_t *n = j->arg;
	enum st st = store_w_job_interrupt(s, (int64_t)time(NULL), n);

	if (st == ST_OK && *n == 0)
		j->no_audit = true;
	else if (st == ST_OK)
		snprintf(j->audit.reason, sizeof(j->audit.reason),
			 "%lld jobs caught sending by a stop: interrupted, not resent",
			 (long long)*n);
	return st;
}

/*
 * Jobs a crash or a stop left "sending" become interrupted, before this run
 * claims any (else its own would be marked).  On a full disk the start goes
 * on (unready, as the rest of the daemon) and the senders try again each
 * second before they claim anything: a row left "sending" is never sent.
 */
static enum st interrupt_mark(struct printq *q)
{
	struct wjob j = {0};
	int64_t interrupted = 0;
	enum st st;

	audit_entry_init(&j.audit, "waybilld", "system", "print_job.interrupt", NULL, NULL);
	j.fn = tx_interrupt;
	j.arg = &interrupted;
	st = store_run(q->app->store, &j);
	if (st == ST_OK && interrupted)
		log_warn("print jobs: %lld caught sending by the last stop are interrupted (not "
			 "resent; POST /v1/print-jobs/{id}/retry sends one again)",
			 (long long)interrupted);
	return st;
}

static void *sender_main(void *arg)
{
	struct printq *q = arg;

	pthread_setname_np(pthread_self(), "wb-printer");
	pthread_mutex_lock(&q->lock);
	for (;;) {
		int64_t id;

		while (!q->stopping && q->count == 0)
			pthread_cond_wait(&q->wake, &q->lock);
		if (q->stopping)
			break;
		if (q->interrupt_pending) {
			/* Under the lock: one sender marks, none claims before it is done. */
			if (interrupt_mark(q) == ST_OK) {
				q->interrupt_pending = false;
				log_info("print jobs: interrupted jobs marked; sending resumes");
			} else {
				struct timespec until;
				clock_gettime(CLOCK_REALTIME, &until);
				until.tv_sec += 1;
				pthread_cond_timedwait(&q->wake, &q->lock, &until);
			}
			continue;
		}
		id = q->ids[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		pthread_mutex_unlock(&q->lock);
		job_run(q, id);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

enum st printq_start(struct app *app, struct printq **out, char *err, size_t errlen)
{
	struct printq *q = calloc(1, sizeof(*q));
	int64_t after = 0, ids[256];
	size_t n;
	enum st st;

	*out = NULL;
	if (!q)
		return ST_NOMEM;
	q->app = app;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	st = interrupt_mark(q);
	if (st == ST_UNAVAILABLE) {
		log_warn("print jobs: cannot mark interrupted jobs yet (%s); no job is sent until "
			 "they are",
			 st_name(st));
		q->interrupt_pending = true;
	} else if (st != ST_OK) {
		snprintf(err, errlen, "print jobs: cannot mark interrupted jobs: %s", st_name(st));
		goto fail;
	}
	do {
		st = store_job_queued(app->store, after, ids, ARRAY_SIZE(ids), &n);
		if (st != ST_OK) {
			snprintf(err, errlen, "print jobs: cannot read the queue: %s", st_name(st));
			goto fail;
		}
		for (size_t i = 0; i < n; i++)
			if (!push_locked(q, ids[i])) {
				st = ST_NOMEM;
				snprintf(err, errlen, "print jobs: out of memory");
				goto fail;
			}
		if (n)
			after = ids[n - 1];
	} while (n == ARRAY_SIZE(ids));
	if (q->count)
		log_info("print jobs: %zu queued jobs resume", q->count);
	for (; q->nthreads < SENDERS; q->nthreads++)
		if (pthread_create(&q->threads[q->nthreads], NULL, sender_main, q) != 0) {
			snprintf(err, errlen, "print jobs: cannot start a sender thread");
			printq_stop(q);
			return ST_INTERNAL;
		}
	*out = q;
	return ST_OK;
fail:
	printq_stop(q);
	return st;
}

void printq_stop(struct printq *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	atomic_store(&q->stop, true);
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
	for (size_t i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->wake);
	free(q->ids);
	free(q);
}
