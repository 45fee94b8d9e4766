/*
 * limits.c - fixed-window counters in an open-addressed table, one mutex.
 *
 * Keys are reduced to 64 bits with FNV-1a seeded by a per-process random
 * value and a final mix: enough here, since a collision only merges two
 * counters.
 *
 * The table is bounded, and it never forgets a key counted in the current
 * window to make room for another: that would let anyone reset a caller's
 * count by flooding the table with other keys.  A new key takes an empty
 * slot or one whose window has passed; when there is none within its probe
 * run, or capacity keys are already counted in this window, it is refused
 * (counted as over its limit) until the window turns.
 *
 * A tally limiter also keeps each key as given (for client addresses,
 * which limiter_report names); its slot is reused only once reported.
 */
#include "common.h"
#include "limits.h"
#include "crypto.h"

#include <pthread.h>

#define PROBES 32

struct slot {
	uint64_t key; /* 0: empty */
	time_t window;
	unsigned count;
	bool reported; /* tally limiters: this count was handed to limiter_report */
	/* Tally limiters: the count of an earlier window, not reported yet, kept
	 * when the key was counted again in a new one before the report ran. */
	time_t pwindow;
	unsigned pcount;
};

struct tally_key {
	unsigned char len;
	unsigned char b[LIMITER_KEY_MAX];
};

struct limiter {
	pthread_mutex_t lock;
	unsigned window_s, limit;
	size_t cap;	 /* slots, a power of two */
	size_t keys_max; /* keys counted in one window at most */
	size_t live;	 /* keys counted in live_window */
	time_t live_window;
	uint64_t seed;
	struct slot *slots;
	struct tally_key *keys; /* tally limiters only: the key of each slot */
};

static struct limiter *limiter_make(unsigned window_s, unsigned limit, size_t capacity, bool tally)
{
	struct limiter *l = calloc(1, sizeof(*l));
	size_t cap = 64;

	if (!l)
		return NULL;
	if (capacity == 0)
		capacity = 1;
	while (cap < capacity * 2)
		cap *= 2;
	l->slots = calloc(cap, sizeof(*l->slots));
	l->keys = tally ? calloc(cap, sizeof(*l->keys)) : NULL;
	if (!l->slots || (tally && !l->keys)) {
		free(l->slots);
		free(l->keys);
		free(l);
		return NULL;
	}
	l->cap = cap;
	l->keys_max = capacity;
	l->window_s = window_s ? window_s : 1;
	l->limit = limit;
	crypto_random(&l->seed, sizeof(l->seed));
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

struct limiter *limiter_new(unsigned window_s, unsigned limit, size_t capacity)
{
	return limiter_make(window_s, limit, capacity, false);
}

struct limiter *limiter_new_tally(unsigned window_s, unsigned limit, size_t capacity)
{
	return limiter_make(window_s, limit, capacity, true);
}

void limiter_free(struct limiter *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->slots);
	free(l->keys);
	free(l);
}

static uint64_t key_hash(const struct limiter *l, const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull ^ l->seed;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h ? h : 1;
}

/* May this slot be given to another key in window? */
static bool slot_reusable(const struct limiter *l, const struct slot *s, time_t window)
{
	if (s->key == 0)
		return true;
	if (s->window == window)
		return false;
	return !l->keys || ((s->reported || s->count == 0) && s->pcount == 0);
}

/* The slot for key (found, or claimed for it); NULL when the table has no room. */
static struct slot *slot_get(struct limiter *l, uint64_t k, const void *key, size_t keylen,
			     time_t window)
{
	size_t mask = l->cap - 1, i = (size_t)k & mask;
	struct slot *reuse = NULL;

	if (l->live_window != window) {
		l->live_window = window;
		l->live = 0;
	}
	for (size_t probe = 0; probe < PROBES; probe++, i = (i + 1) & mask) {
		struct slot *s = &l->slots[i];
		if (s->key == k)
			return s;
		if (!reuse && slot_reusable(l, s, window))
			reuse = s;
		if (s->key == 0)
			break;
	}
	if (!reuse || l->live >= l->keys_max)
		return NULL;
	reuse->key = k;
	reuse->window = window;
	reuse->count = 0;
	reuse->reported = false;
	reuse->pcount = 0;
	if (l->keys) {
		struct tally_key *tk = &l->keys[reuse - l->slots];
		tk->len = (unsigned char)(keylen < LIMITER_KEY_MAX ? keylen : LIMITER_KEY_MAX);
		memcpy(tk->b, key, tk->len);
	}
	l->live++;
	return reuse;
}

unsigned limiter_limit(const struct limiter *l)
{
	return l->limit;
}

unsigned limiter_hit(struct limiter *l, const void *key, size_t keylen, time_t now)
{
	time_t window = now / (time_t)l->window_s;
	uint64_t k = key_hash(l, key, keylen);
	struct slot *s;
	unsigned count;

	pthread_mutex_lock(&l->lock);
	s = slot_get(l, k, key, keylen, window);
	if (!s) {
		pthread_mutex_unlock(&l->lock);
		return LIMITER_REFUSED;
	}
	if (s->window != window) {
		/* The key's own slot, from a window that has passed. */
		if (l->keys && !s->reported && s->count) {
			if (s->pcount == 0)
				s->pwindow = s->window;
			s->pcount += s->count; /* two windows unreported: merged, not lost */
		}
		s->window = window;
		s->count = 0;
		s->reported = false;
		l->live++;
	}
	if (s->count < LIMITER_REFUSED - 1)
		s->count++;
	count = s->count;
	pthread_mutex_unlock(&l->lock);
	return count;
}

bool limiter_over(struct limiter *l, const void *key, size_t keylen, time_t now)
{
	time_t window = now / (time_t)l->window_s;
	uint64_t k = key_hash(l, key, keylen);
	size_t mask = l->cap - 1, i = (size_t)k & mask;
	bool over = false;

	pthread_mutex_lock(&l->lock);
	for (size_t probe = 0; probe < PROBES; probe++, i = (i + 1) & mask) {
		struct slot *s = &l->slots[i];
		if (s->key == 0)
			break;
		if (s->key == k) {
			over = s->window == window && s->count >= l->limit;
			break;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return over;
}

unsigned limiter_retry_after(const struct limiter *l, time_t now)
{
	return l->window_s - (unsigned)(now % (time_t)l->window_s);
}

size_t limiter_report(struct limiter *l, time_t now, bool all,
		      void (*fn)(const void *key, size_t len, time_t start, unsigned count,
				 void *arg),
		      void *arg)
{
	time_t window = now / (time_t)l->window_s;
	size_t n = 0;

	if (!l->keys)
		return 0;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->cap; i++) {
		struct slot *s = &l->slots[i];
		if (s->key == 0)
			continue;
		if (s->pcount) {
			fn(l->keys[i].b, l->keys[i].len, s->pwindow * (time_t)l->window_s,
			   s->pcount, arg);
			s->pcount = 0;
			n++;
		}
		if (s->reported || s->count == 0 || (s->window == window && !all))
			continue;
		fn(l->keys[i].b, l->keys[i].len, s->window * (time_t)l->window_s, s->count, arg);
		s->reported = true;
		n++;
	}
	pthread_mutex_unlock(&l->lock);
	return n;
}
