/*
 * printjob.h - print jobs sent to depot printers over raw TCP (port 9100
 * style; docs/API.md "Print jobs").
 *
 * A job's life (printjob_next, the one table of it):
 *
 *     queued --claim--> sending --sent--> sent
 *        ^                 |  \--fail--> failed --retry--> queued
 *        |                 \--crash--> interrupted --retry--/
 *        \------------------------------------------------/
 *
 * Each label's print is reserved when the job is accepted (or retried): the
 * print count moves and label.print / label.reprint is audited per label,
 * so the reprint limit holds for jobs as for PDFs.  A sender thread claims
 * a queued job (sending, committed before the first byte leaves), renders
 * it in the printer's language and dpi, connects within
 * printer_connect_timeout_ms and writes, failing when the printer takes no
 * byte for printer_write_timeout_ms; "sent" means the printer's TCP
 * acknowledged every byte.  A job that fails before any byte left gives
 * each print back (label.unprint, audited per label); once a byte left, the
 * prints stay spent (the printer may have printed).  A job caught sending by
 * a crash is interrupted at the next start and never sent again by itself.
 */
#ifndef WAYBILL_PRINTJOB_H
#define WAYBILL_PRINTJOB_H

#include "common.h"
#include "printer.h"
#include "store.h"

#include <stdatomic.h>

struct app;

enum pj_state { PJ_QUEUED, PJ_SENDING, PJ_SENT, PJ_FAILED, PJ_INTERRUPTED, PJ_NSTATES };
enum pj_event {
	PJ_EV_CLAIM, /* a sender takes the job */
	PJ_EV_SENT,  /* every byte acknowledged */
	PJ_EV_FAIL,  /* connect, write, render or printer look-up failed */
	PJ_EV_CRASH, /* found sending at start */
	PJ_EV_RETRY, /* POST /v1/print-jobs/{id}/retry */
};
const char *printjob_state_name(enum pj_state s);
bool printjob_state_parse(const char *name, enum pj_state *out);
/* The state ev leads to from from; false when the table has no such move. */
bool printjob_next(enum pj_state from, enum pj_event ev, enum pj_state *to);

/*
 * Writer primitives (a job's fn): reserve one print of each of tns[0..n)
 * under max_prints (first print + reprints), auditing label.print or
 * label.reprint per label ("print job ID"); ST_LIMIT with *bad the index
 * of a label already printed max_prints times; ST_NOTFOUND for a number
 * with no order.  printjob_w_unprint gives one back per label (never below
 * 0), auditing label.unprint with why.
 */
enum st printjob_w_reserve(struct store *s, const char (*tns)[TN_MAX], size_t n, long max_prints,
			   const struct audit_entry *who, int64_t job_id, size_t *bad);
enum st printjob_w_unprint(struct store *s, const char (*tns)[TN_MAX], size_t n,
			   const struct audit_entry *who, int64_t job_id, const char *why);

/* "TN TN ..." into tns (at most max); the count, 0 when it is not that. */
size_t printjob_tns_split(const char *text, char (*tns)[TN_MAX], size_t max);

/*
 * Send len bytes to host:port: connect within connect_ms, then fail when
 * the peer takes no byte for write_ms, until its TCP acknowledged them all.
 * *written gets the bytes handed to the socket (0: none left this host).
 * On failure reason gets a code ("printer_unreachable", "printer_stalled",
 * "printer_closed", "stopping") and detail a line naming host:port and why.
 * stop (may be NULL) is looked at every 100 ms: set, the send gives up
 * (ST_UNAVAILABLE, reason "stopping").
 */
enum st printjob_send(const char *host, const char *port, const unsigned char *buf, size_t len,
		      long connect_ms, long write_ms, const atomic_bool *stop, int64_t *written,
		      char reason[32], char *detail, size_t detail_len);

/* The senders: a small fixed pool of threads taking queued jobs in order. */
struct printq;
/*
 * Interrupt the jobs a crash left sending (audited), queue the queued ones,
 * start the threads.  On failure err holds one line.
 */
enum st printq_start(struct app *app, struct printq **out, char *err, size_t errlen);
/* A job was queued (or re-queued): wake a sender.  q NULL: no-op. */
void printq_wake(struct printq *q, int64_t id);
/* Stop taking jobs, let a send in progress end (its timeouts bound it), join. */
void printq_stop(struct printq *q);

#endif
