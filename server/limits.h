/*
 * limits.h - in-memory rate limits, shared by every route that has one:
 * 404s per token (enumeration), call routes per caller number and per
 * telephony token, authentication failures per client address.  A limit is
 * a fixed window per key; keys are hashed, never kept as given (but by a
 * tally limiter, for keys that are no personal data).  The table is bounded:
 * when it is full, new keys are refused, never old ones forgotten.
 */
#ifndef WAYBILL_LIMITS_H
#define WAYBILL_LIMITS_H

#include "common.h"

#include <time.h>

struct limiter;

#define LIMITER_KEY_MAX 16    /* bytes of a key a tally limiter keeps */
#define LIMITER_REFUSED (~0u) /* limiter_hit's count for a key the table has no room for */

/* limit events per window_s seconds per key; capacity keys in one window at most. */
struct limiter *limiter_new(unsigned window_s, unsigned limit, size_t capacity);
/* The same, keeping each key's first LIMITER_KEY_MAX bytes for limiter_report. */
struct limiter *limiter_new_tally(unsigned window_s, unsigned limit, size_t capacity);
void limiter_free(struct limiter *l);

/*
 * Count one event for key; returns the key's count in this window, this one
 * included.  A key the table has no room for (capacity keys are counted in
 * this window already, or its probe run is full) is not counted and gets
 * LIMITER_REFUSED: over any limit.
 */
unsigned limiter_hit(struct limiter *l, const void *key, size_t keylen, time_t now);
/* The limit the limiter was made with. */
unsigned limiter_limit(const struct limiter *l);
/* Is the key over its limit now?  Counts nothing. */
bool limiter_over(struct limiter *l, const void *key, size_t keylen, time_t now);
/* Seconds until the current window ends (for Retry-After). */
unsigned limiter_retry_after(const struct limiter *l, time_t now);
/*
 * Tally limiters: call fn (under the limiter's lock: it must not block or
 * call back) once for each key with a count not reported yet, of a window
 * before now's (all: of now's too, for a last report at stop), with the
 * window's start time and the key's count in it.  Returns how many.
 */
size_t limiter_report(struct limiter *l, time_t now, bool all,
		      void (*fn)(const void *key, size_t len, time_t start, unsigned count,
				 void *arg),
		      void *arg);

#endif
