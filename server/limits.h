/*
 * limits.h - in-memory rate limits, shared by every route that has one:
 * 404s per token (enumeration), call routes per caller number.  A limit is
 * a fixed window per key; keys are hashed, never kept as given.
 */
#ifndef WAYBILL_LIMITS_H
#define WAYBILL_LIMITS_H

#include "common.h"

#include <time.h>

struct limiter;

/* limit events per window_s seconds per key; capacity keys at most. */
struct limiter *limiter_new(unsigned window_s, unsigned limit, size_t capacity);
void limiter_free(struct limiter *l);

/* Count one event for key; returns the key's count in this window, this one included. */
unsigned limiter_hit(struct limiter *l, const void *key, size_t keylen, time_t now);
/* The limit the limiter was made with. */
unsigned limiter_limit(const struct limiter *l);
/* Is the key over its limit now?  Counts nothing. */
bool limiter_over(struct limiter *l, const void *key, size_t keylen, time_t now);

#endif
