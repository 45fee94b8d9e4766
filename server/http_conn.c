/*
 * http_conn.c - connections: counts per client address, the header and body
 * deadlines and the watchdog that enforces them, and max_connections fitted
 * to the open-file limit.
 */
#include "common.h"
#include "http_int.h"
#include "config.h"
#include "log.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

/* ---- connections: counts per address, total deadlines ----------------- */

/*
 * libmicrohttpd's own limits are a per-address cap, a total and an idle
 * timeout.  Alone they let a few addresses (each under its cap) take every
 * connection, and a request trickled a byte at a time never time out.  So
 * each connection is counted here by client address (IPv6 by its /64):
 * past CONN_SHARE_PCT of max_connections, an address holding CONN_FEW or
 * more gets no new one, which keeps the rest for addresses holding few.
 * And a watchdog closes a connection whose request line and headers take
 * longer than header_timeout_s in all (counted from the connection's start
 * or its previous answer), or whose body takes longer than body_timeout_s
 * once the headers are in.
 */
#define CONN_SHARE_PCT 80
#define CONN_FEW 8
#define CONN_BUCKETS 1024
#define CONN_FD_RESERVE 64 /* files kept for the database, logs and keys */
#define WATCHDOG_MS 250

struct conn_slot {
	struct conn_slot *prev, *next;
	struct addr_count *addr;
	int fd;
	bool cut;
	atomic_int phase;
	atomic_ullong since_ns;
	struct request *req; /* the request on_uri began here (its worker's alone) */
};

struct addr_count {
	struct addr_count *next;
	unsigned char key[LIMITER_KEY_MAX];
	size_t len;
	unsigned n;
};

struct conns {
	pthread_mutex_t lock;
	struct http_ticker *watchdog;
	struct conn_slot *live;
	struct addr_count *bucket[CONN_BUCKETS];
	unsigned total, share_at, limit;
	unsigned pending; /* handed to libmicrohttpd, not yet started (under lock) */
	unsigned long long refused, refused_logged;
	uint64_t header_ns, body_ns;
};

static size_t addr_bucket(const unsigned char *key, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % CONN_BUCKETS;
}

/* The count of key; with create, made when missing (NULL when out of memory). */
static struct addr_count *addr_find(struct conns *cs, const unsigned char *key, size_t len,
				    bool create)
{
	size_t b = addr_bucket(key, len);
	struct addr_count *a;

	for (a = cs->bucket[b]; a; a = a->next)
		if (a->len == len && memcmp(a->key, key, len) == 0)
			return a;
	if (!create)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	memcpy(a->key, key, len);
	a->len = len;
	a->next = cs->bucket[b];
	cs->bucket[b] = a;
	return a;
}

static void addr_drop(struct conns *cs, struct addr_count *a)
{
	struct addr_count **pp = &cs->bucket[addr_bucket(a->key, a->len)];

	while (*pp && *pp != a)
		pp = &(*pp)->next;
	if (*pp)
		*pp = a->next;
	free(a);
}

/*
 * For the accept thread (http_accept.c): may this connection in?  Past
 * CONN_SHARE_PCT of max_connections an address holding CONN_FEW or more
 * gets no new one, and the total stays under max_connections.  Both count
 * the connections handed to libmicrohttpd and not yet started, each under
 * its address at once: a flood accepted faster than the workers start it
 * (ASan's build, a busy machine) once took every slot, the share included,
 * before the counts saw it.  libmicrohttpd's own limit must never be what
 * refuses (its refusal of a connection added from outside can leave a
 * worker waiting on a lock for good), so the daemon gives it a limit it
 * never reaches.  True counts it as pending under its address.
 */
bool http_conns_admit(struct conns *cs, const struct sockaddr *addr, socklen_t addrlen)
{
	unsigned char key[LIMITER_KEY_MAX];
	size_t len = http_addr_key(addr, key);
	struct addr_count *a;
	unsigned held;
	bool ok = false;
	UNUSED(addrlen);

	if (atomic_load(&http_stopping))
		return false;
	pthread_mutex_lock(&cs->lock);
	held = cs->total + cs->pending;
	a = addr_find(cs, key, len, false);
	if (held < cs->limit && !(held >= cs->share_at && a && a->n >= CONN_FEW)) {
		if (!a)
			a = addr_find(cs, key, len, true);
		if (a) {
			a->n++;
			cs->pending++;
			ok = true;
		}
	}
	if (!ok)
		cs->refused++;
	pthread_mutex_unlock(&cs->lock);
	return ok;
}

/* Undo one pending count of key's address (under lock). */
static void addr_unpend(struct conns *cs, const unsigned char *key, size_t len)
{
	struct addr_count *a = addr_find(cs, key, len, false);

	if (a && --a->n == 0)
		addr_drop(cs, a);
	if (cs->pending)
		cs->pending--;
}

/* libmicrohttpd did not take a connection http_conns_admit let in. */
void http_conns_unadmit(struct conns *cs, const struct sockaddr *addr)
{
	unsigned char key[LIMITER_KEY_MAX];
	size_t len = http_addr_key(addr, key);

	pthread_mutex_lock(&cs->lock);
	addr_unpend(cs, key, len);
	pthread_mutex_unlock(&cs->lock);
}

void http_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode code)
{
	struct conns *cs = cls;
	struct conn_slot *slot = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ai =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const union MHD_ConnectionInfo *fi =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		unsigned char key[LIMITER_KEY_MAX];
		size_t len = http_addr_key(ai ? ai->client_addr : NULL, key);

		slot = calloc(1, sizeof(*slot));
		pthread_mutex_lock(&cs->lock);
		if (!slot) {
			/* not counted, no deadline: only when memory runs out */
			addr_unpend(cs, key, len);
			pthread_mutex_unlock(&cs->lock);
			return;
		}
		slot->fd = fi ? fi->connect_fd : -1;
		atomic_store(&slot->phase, PH_HEADERS);
		atomic_store(&slot->since_ns, clock_mono_ns());
		/* admitted under this address: the count moves from pending to total */
		slot->addr = addr_find(cs, key, len, false);
		slot->next = cs->live;
		if (cs->live)
			cs->live->prev = slot;
		cs->live = slot;
		cs->total++;
		if (cs->pending)
			cs->pending--;
		pthread_mutex_unlock(&cs->lock);
		*socket_context = slot;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_CLOSED || !slot)
		return;
	/* Before libmicrohttpd closes the socket: the watchdog never sees a stale fd. */
	pthread_mutex_lock(&cs->lock);
	if (slot->prev)
		slot->prev->next = slot->next;
	else
		cs->live = slot->next;
	if (slot->next)
		slot->next->prev = slot->prev;
	if (slot->addr && --slot->addr->n == 0)
		addr_drop(cs, slot->addr);
	cs->total--;
	pthread_mutex_unlock(&cs->lock);
	free(slot);
	*socket_context = NULL;
}

static struct conn_slot *slot_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

void http_conn_set_request(struct MHD_Connection *c, struct request *r)
{
	struct conn_slot *slot = slot_of(c);

	if (slot)
		slot->req = r;
}

struct request *http_conn_request(struct MHD_Connection *c)
{
	struct conn_slot *slot = slot_of(c);

	return slot ? slot->req : NULL;
}

/* The connection's request entered phase ph now. */
void http_conn_phase(struct MHD_Connection *c, enum http_conn_phase ph)
{
	struct conn_slot *slot = slot_of(c);

	if (!slot || atomic_load(&slot->phase) == (int)ph)
		return;
	atomic_store(&slot->since_ns, clock_mono_ns());
	atomic_store(&slot->phase, (int)ph);
}

/* One pass of the watchdog: cut what is past its deadline, log what was refused. */
static void watchdog_tick(void *arg)
{
	struct conns *cs = arg;
	uint64_t now = clock_mono_ns();
	unsigned cut_h = 0, cut_b = 0;

	pthread_mutex_lock(&cs->lock);
	for (struct conn_slot *s = cs->live; s; s = s->next) {
		int ph = atomic_load(&s->phase);
		uint64_t since = atomic_load(&s->since_ns);
		/* A phase that began after this pass took the time is no age at all. */
		uint64_t age = since < now ? now - since : 0;

		if (s->cut || s->fd < 0 || ph == PH_HANDLED)
			continue;
		if (ph == PH_HEADERS && age > cs->header_ns)
			cut_h++;
		else if (ph == PH_BODY && age > cs->body_ns)
			cut_b++;
		else
			continue;
		/* Its next read sees the end: libmicrohttpd closes it. */
		shutdown(s->fd, SHUT_RDWR);
		s->cut = true;
	}
	if (cut_h || cut_b)
		log_warn("http: closed %u connections past header_timeout_s, %u past "
			 "body_timeout_s",
			 cut_h, cut_b);
	if (cs->refused - cs->refused_logged >= 1 &&
	    (cs->refused_logged == 0 || cs->refused - cs->refused_logged >= 1000)) {
		log_warn("http: %llu connections refused so far: past %u%% of "
			 "max_connections, from addresses holding %u or more",
			 cs->refused, CONN_SHARE_PCT, CONN_FEW);
		cs->refused_logged = cs->refused;
	}
	pthread_mutex_unlock(&cs->lock);
}

struct conns *http_conns_new(const struct config *cfg, unsigned limit, char *err, size_t errlen)
{
	struct conns *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	pthread_mutex_init(&cs->lock, NULL);
	cs->header_ns = (uint64_t)cfg->header_timeout_s * 1000000000ull;
	cs->body_ns = (uint64_t)cfg->body_timeout_s * 1000000000ull;
	cs->share_at = limit / 100 * CONN_SHARE_PCT + limit % 100 * CONN_SHARE_PCT / 100;
	cs->limit = limit;
	cs->watchdog = http_ticker_start("wb-conns", WATCHDOG_MS, watchdog_tick, cs);
	if (!cs->watchdog) {
		snprintf(err, errlen, "cannot start the connection watchdog");
		http_conns_free(cs);
		return NULL;
	}
	return cs;
}

void http_conns_free(struct conns *cs)
{
	if (!cs)
		return;
	http_ticker_stop(cs->watchdog);
	for (size_t b = 0; b < CONN_BUCKETS; b++)
		while (cs->bucket[b]) {
			struct addr_count *a = cs->bucket[b];
			cs->bucket[b] = a->next;
			free(a);
		}
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

/* max_connections, lowered to fit the open-file limit. */
unsigned http_conn_limit(long want)
{
	struct rlimit rl;
	unsigned long long n = (unsigned long long)want;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		unsigned long long fit =
		    rl.rlim_cur > CONN_FD_RESERVE + 16 ? rl.rlim_cur - CONN_FD_RESERVE : 16;
		if (fit < n) {
			log_warn("http: max_connections %ld lowered to %llu to fit the open-file "
				 "limit (%llu)",
				 want, fit, (unsigned long long)rl.rlim_cur);
			n = fit;
		}
	}
	return (unsigned)n;
}

/* ---- background threads ----------------------------------------------- */

struct http_ticker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	char name[16];
	long period_ms;
	void (*tick)(void *arg);
	void *arg;
};

static void *ticker_main(void *arg)
{
	struct http_ticker *t = arg;

	pthread_setname_np(pthread_self(), t->name);
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += t->period_ms / 1000;
		ts.tv_nsec += t->period_ms % 1000 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->wake, &t->lock, &ts);
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		t->tick(t->arg);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

struct http_ticker *http_ticker_start(const char *name, long period_ms, void (*tick)(void *arg),
				      void *arg)
{
	struct http_ticker *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	str_copy(t->name, sizeof(t->name), name);
	t->period_ms = period_ms;
	t->tick = tick;
	t->arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake, NULL);
	if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
		pthread_cond_destroy(&t->wake);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	return t;
}

void http_ticker_stop(struct http_ticker *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
