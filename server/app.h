/*
 * app.h - what the whole daemon shares: configuration, keys, storage, the
 * label renderer, and counters.  One instance, made by main.c.
 */
#ifndef WAYBILL_APP_H
#define WAYBILL_APP_H

#include "common.h"
#include "config.h"
#include "crypto.h"
#include "store.h"

#include <stdatomic.h>

struct auditcp;
struct label_ctx;
struct limiter;
struct oidc;
struct printers;
struct printq;
struct sorter;
struct station;

struct app {
	struct config cfg;
	struct keyring *kr;
	struct store *store;
	struct label_ctx *labels;
	struct limiter *misses;	     /* 404s per token per 10 minutes */
	struct limiter *call_routes; /* call routes per caller number per hour */
	struct limiter *call_tokens; /* call routes per telephony token per minute */
	struct limiter *auth_fails;  /* 401s per client address per minute (http.c's) */
	atomic_ullong orders_created;
	atomic_ullong labels_printed;
	atomic_ullong label_failures;  /* renders that failed (not a size too small) */
	atomic_ullong labels_unsorted; /* printed without a sort code (no route matched) */
	atomic_ullong orders_erased;   /* by the daemon's own purges */
	atomic_llong last_purge_s;     /* when the daemon's last purge succeeded; 0 = none yet */
	atomic_int inflight;
	struct auditcp *audit_cp;  /* the signed checkpoints, and the chain's trouble */
	atomic_bool key_missing;   /* the key file cannot be opened (retention_key_check) */
	struct oidc *oidc;	   /* bearer JWTs from oidc_issuer; NULL when unset */
	atomic_bool pool_pending;  /* the pool is not recorded yet (retention_pool_record) */
	struct sorter *sort;	   /* sort_table (sort.h); never NULL once started */
	struct printers *printers; /* the printers file (printer.h); never NULL once started */
	struct printq *printq;	   /* the print job senders (printjob.h); NULL in tools and tests */
	struct station *station;   /* the pages under /station/ (station.h) */
};

#endif
