/*
 * test_printjob.c - print jobs (printjob.c): the state table, every move it
 * has and every one it refuses; the stored tracking numbers read back; and
 * the sender against sockets of this process: a closed port, a listener
 * that reads everything, a stop flag that cuts a send.
 */
#include "common.h"
#include "t.h"
#include "printjob.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_states(void)
{
	/* from, event, want (PJ_NSTATES: no such move) */
	static const struct {
		enum pj_state from;
		enum pj_event ev;
		enum pj_state want;
	} cases[] = {
	    {PJ_QUEUED, PJ_EV_CLAIM, PJ_SENDING},      {PJ_QUEUED, PJ_EV_SENT, PJ_NSTATES},
	    {PJ_QUEUED, PJ_EV_FAIL, PJ_NSTATES},       {PJ_QUEUED, PJ_EV_CRASH, PJ_NSTATES},
	    {PJ_QUEUED, PJ_EV_RETRY, PJ_NSTATES},      {PJ_SENDING, PJ_EV_CLAIM, PJ_NSTATES},
	    {PJ_SENDING, PJ_EV_SENT, PJ_SENT},	       {PJ_SENDING, PJ_EV_FAIL, PJ_FAILED},
	    {PJ_SENDING, PJ_EV_CRASH, PJ_INTERRUPTED}, {PJ_SENDING, PJ_EV_RETRY, PJ_NSTATES},
	    {PJ_SENT, PJ_EV_CLAIM, PJ_NSTATES},	       {PJ_SENT, PJ_EV_RETRY, PJ_NSTATES},
	    {PJ_SENT, PJ_EV_FAIL, PJ_NSTATES},	       {PJ_FAILED, PJ_EV_RETRY, PJ_QUEUED},
	    {PJ_FAILED, PJ_EV_CLAIM, PJ_NSTATES},      {PJ_FAILED, PJ_EV_SENT, PJ_NSTATES},
	    {PJ_INTERRUPTED, PJ_EV_RETRY, PJ_QUEUED},  {PJ_INTERRUPTED, PJ_EV_CLAIM, PJ_NSTATES},
	    {PJ_INTERRUPTED, PJ_EV_CRASH, PJ_NSTATES},
	};
	int moves = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum pj_state to = PJ_NSTATES;
		bool ok = printjob_next(cases[i].from, cases[i].ev, &to);

		CHECKF(ok == (cases[i].want != PJ_NSTATES), "case %zu", i);
		CHECKF(!ok || to == cases[i].want, "case %zu: %d", i, (int)to);
	}
	/* Exactly six moves in all: never a way back to queued without a retry, and a job
	 * caught sending never goes back to queued by itself. */
	for (int f = 0; f < PJ_NSTATES; f++)
		for (int e = PJ_EV_CLAIM; e <= PJ_EV_RETRY; e++) {
			enum pj_state to;
			if (printjob_next((enum pj_state)f, (enum pj_event)e, &to)) {
				moves++;
				CHECK(to != PJ_QUEUED || e == PJ_EV_RETRY);
			}
		}
	CHECK(moves == 6);
	for (int s = 0; s < PJ_NSTATES; s++) {
		enum pj_state back;
		CHECK(printjob_state_parse(printjob_state_name((enum pj_state)s), &back) &&
		      back == (enum pj_state)s);
	}
	{
		enum pj_state x;
		CHECK(!printjob_state_parse("Queued", &x));
		CHECK(!printjob_state_parse("", &x));
	}
}

static void test_split(void)
{
	char tns[4][TN_MAX];

	CHECK(printjob_tns_split("WB1 WB2 WB3", tns, 4) == 3);
	CHECK_STR(tns[2], "WB3");
	CHECK(printjob_tns_split("WB1", tns, 4) == 1);
	CHECK(printjob_tns_split("", tns, 4) == 0);
	/* More than max, or one too long: not a job's list at all. */
	CHECK(printjob_tns_split("A B C D E", tns, 4) == 0);
	CHECK(printjob_tns_split("WB1234567890123456789012345", tns, 4) == 0);
}

/* A listener on 127.0.0.1; its port into *port. */
static int listener(char port[8])
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	snprintf(port, 8, "%u", (unsigned)ntohs(a.sin_port));
	return fd;
}

struct reader {
	int lfd;
	unsigned char *got;
	size_t len, cap;
};

static void *read_all(void *arg)
{
	struct reader *rd = arg;
	int c = accept(rd->lfd, NULL, NULL);
	ssize_t k;

	if (c < 0)
		return NULL;
	while (rd->len < rd->cap && (k = read(c, rd->got + rd->len, rd->cap - rd->len)) > 0)
		rd->len += (size_t)k;
	close(c);
	return NULL;
}

static void test_send(void)
{
	char port[8], reason[32], detail[160];
	size_t n = 300000;
	unsigned char *buf = malloc(n);
	int64_t written;
	int lfd;

	CHECK(buf != NULL);
	if (!buf)
		return;
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 7);

	/* A closed port: refused at once, nothing written, the port named. */
	lfd = listener(port);
	CHECK(lfd >= 0);
	close(lfd);
	CHECK(printjob_send("127.0.0.1", port, buf, n, 2000, 2000, NULL, &written, reason, detail,
			    sizeof(detail)) == ST_UNAVAILABLE);
	CHECK(written == 0);
	CHECK_STR(reason, "printer_unreachable");
	CHECKF(strstr(detail, port) && strstr(detail, "refused"), "%s", detail);
	CHECK(printjob_send("no-such-host.invalid", "9100", buf, n, 2000, 2000, NULL, &written,
			    reason, detail, sizeof(detail)) == ST_UNAVAILABLE);
	CHECK_STR(reason, "printer_unreachable");

	/* A listener that reads everything: every byte arrives, in order. */
	{
		struct reader rd = {listener(port), malloc(n + 16), 0, n + 16};
		pthread_t th;

		CHECK(rd.lfd >= 0 && rd.got);
		pthread_create(&th, NULL, read_all, &rd);
		CHECK(printjob_send("127.0.0.1", port, buf, n, 2000, 5000, NULL, &written, reason,
				    detail, sizeof(detail)) == ST_OK);
		pthread_join(th, NULL);
		CHECK(written == (int64_t)n);
		CHECK(rd.len == n && memcmp(rd.got, buf, n) == 0);
		close(rd.lfd);
		free(rd.got);
	}

	/* A listener that never accepts nor reads, and a stop already asked: cut at once,
	 * however long the write timeout. */
	{
		atomic_bool stop = true;
		lfd = listener(port);
		CHECK(printjob_send("127.0.0.1", port, buf, n, 2000, 600000, &stop, &written,
				    reason, detail, sizeof(detail)) == ST_UNAVAILABLE);
		CHECK_STR(reason, "stopping");
		close(lfd);
	}
	/* ... and without a stop, the write timeout (short here) ends it. */
	{
		lfd = listener(port); /* accepted by the kernel's backlog, never read */
		CHECK(printjob_send("127.0.0.1", port, buf, n, 2000, 300, NULL, &written, reason,
				    detail, sizeof(detail)) == ST_UNAVAILABLE);
		CHECK_STR(reason, "printer_stalled");
		CHECK(written > 0 && written < (int64_t)n);
		CHECKF(strstr(detail, "took no byte for 300 ms") != NULL, "%s", detail);
		close(lfd);
	}
	free(buf);
}

int main(void)
{
	test_states();
	test_split();
	test_send();
	return t_done();
}
