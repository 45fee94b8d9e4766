/*
 * limits.c - fixed-window counters in an open-addressed table, one mutex.
 *
 * Keys are reduced to 64 bits with FNV-1a seeded by a per-process random
 * value and a final mix: enough here, since a collision only merges two
 * counters.  When a probe run is full, an entry of an older window is
 * reused; failing that, the oldest one is evicted.
 */
#include "common.h"
#include "limits.h"
#include "crypto.h"

#include <pthread.h>

struct slot {
	uint64_t key; /* 0: empty */
	time_t window;
	unsigned count;
};

struct limiter {
	pthread_mutex_t lock;
	unsigned window_s, limit;
	size_t cap; /* power of two */
	uint64_t seed;
	struct slot *slots;
};

struct limiter *limiter_new(unsigned window_s, unsigned limit, size_t capacity)
{
	struct limiter *l = calloc(1, sizeof(*l));
	size_t cap = 64;

	if (!l)
		return NULL;
	while (cap < capacity * 2)
		cap *= 2;
	l->slots = calloc(cap, sizeof(*l->slots));
	if (!l->slots) {
		free(l);
		return NULL;
	}
	l->cap = cap;
	l->window_s = window_s ? window_s : 1;
	l->limit = limit;
	crypto_random(&l->seed, sizeof(l->seed));
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void limiter_free(struct limiter *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l->slots);
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

/* The slot for key (found, or claimed for it); never NULL. */
static struct slot *slot_get(struct limiter *l, uint64_t k, time_t window)
{
	size_t mask = l->cap - 1, i = (size_t)k & mask;
	struct slot *reuse = NULL, *oldest = NULL;

	for (size_t probe = 0; probe < 32; probe++, i = (i + 1) & mask) {
		struct slot *s = &l->slots[i];
		if (s->key == k)
			return s;
		if (s->key == 0) {
			if (!reuse)
				reuse = s;
			break;
		}
		if (s->window != window && !reuse)
			reuse = s;
		if (!oldest || s->window < oldest->window)
			oldest = s;
	}
	if (!reuse)
		reuse = oldest;
	reuse->key = k;
	reuse->window = window;
	reuse->count = 0;
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
	s = slot_get(l, k, window);
	if (s->window != window) {
		s->window = window;
		s->count = 0;
	}
	if (s->count < UINT32_MAX)
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
	for (size_t probe = 0; probe < 32; probe++, i = (i + 1) & mask) {
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
