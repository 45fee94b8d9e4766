/*
 * retention.h - erasing personal data when its purpose ends, and the other
 * housekeeping a running daemon does on a timer.
 *
 * An order's sealed blob, wrapped data key and body digest are erased
 * retention_days after delivery, return or cancellation, or
 * retention_open_days after creation when it never reaches a final state
 * (its binding then ends and its extension rests for vnum_quarantine_days);
 * the clear columns
 * stay for statistics, and reads of personal data answer 410.  Each batch is
 * one transaction with its own audit entry; after a run that erased
 * anything, the WAL is checkpointed and truncated so the bytes leave the
 * disk.
 */
#ifndef WAYBILL_RETENTION_H
#define WAYBILL_RETENTION_H

#include "common.h"
#include "store.h"

struct app;
struct config;

#define RETENTION_BATCH 500

/* What is due at now under the configuration's retention settings. */
void retention_policy(const struct config *cfg, int64_t now, struct purge_policy *out);

/*
 * Erase everything due under p, in batches; actor/role name who asked (the
 * daemon, or the operator).  *erased gets the count.
 */
enum st retention_run(struct store *s, const struct purge_policy *p, const char *actor,
		      const char *role, int64_t *erased);

/*
 * The daemon's housekeeping thread: retention every purge_interval_s,
 * resting extensions given back, and key-file versions picked up (every
 * second: the only place but SIGHUP where a running keyring changes).
 */
enum st retention_start(struct app *app);
void retention_stop(void);
/*
 * Can the key file be opened?  Sets app->key_missing (/readyz 503 "key"),
 * logging once when it goes and once when it is back.  The housekeeping
 * thread calls it every second, with keyring_refresh(), and main.c on SIGHUP.
 */
void retention_key_check(struct app *app);
/*
 * The one path that takes up a rotated or retired key version: checks the
 * file (retention_key_check), then keyring_refresh(), which reads it only
 * when its mtime moved.  Called every second by housekeeping, on SIGHUP, and
 * through retention_keys_need() by a reader that meets a version it does not
 * know (another daemon or waybillctl sealed it a moment ago).
 */
enum st retention_keys_refresh(struct app *app, bool *changed);
void retention_keys_need(struct app *app, uint32_t version);
/*
 * Make the configured pool (vnum_pool) the stored pool; bindings on dropped
 * numbers run out.  At start (main.c); when the store cannot write then
 * (below min_free_mb), the daemon starts unready with app->pool_pending set
 * and housekeeping records it once writing works again.
 */
enum st retention_pool_record(struct app *app, char *err, size_t errlen);

#endif
