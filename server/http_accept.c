/*
 * http_accept.c - the API's listening socket and the thread that accepts on it.
 *
 * libmicrohttpd 0.9.75 cannot stop listening safely on an epoll daemon:
 * MHD_quiesce_daemon() and the workers' own loop both take the listening
 * socket out of each worker's epoll set, neither under a lock, and the one
 * that loses gets ENOENT, on which the library aborts the process ("Failed
 * to remove listen FD from epoll set").  A stop under TLS hit it in about 1
 * of 20 tries.  So the daemon listens and accepts here and hands each
 * connection to libmicrohttpd (MHD_add_connection, which queues it for a
 * worker); libmicrohttpd has no listening socket to quiesce, and the drain
 * closes this one: a client is refused at once, not left in the backlog.
 *
 * What libmicrohttpd's accept did is done here: the per-address share and
 * max_connections (http_conns_admit), nonblocking close-on-exec sockets,
 * and a pause (not a spin) while the process is out of files.
 */
#include "common.h"
#include "http_int.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPT_BATCH 64	   /* connections taken per wake-up before polling again */
#define ACCEPT_PAUSE_MS 50 /* after EMFILE and the like: a closing connection frees one */
#define ACCEPT_LOG_EVERY_NS (60ull * 1000000000ull)

struct http_acceptor {
	pthread_t thread;
	int lfd;
	int wake[2]; /* a byte on wake[1] ends the thread */
	struct MHD_Daemon *d;
	struct conns *cs;
	uint64_t logged_ns; /* the last "out of files" line */
};

int http_listen_socket(const struct sockaddr_storage *ss, char *err, size_t errlen)
{
	int one = 1;
	socklen_t len =
	    ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		snprintf(err, errlen, "cannot make the listening socket: %s", strerror(errno));
		return -1;
	}
	/* As libmicrohttpd did: a restart may bind while old connections sit in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) != 0 || listen(fd, SOMAXCONN) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The process is out of files (or memory): one line a minute, and a pause. */
static void accept_starved(struct http_acceptor *a, int e)
{
	uint64_t now = clock_mono_ns();
	struct pollfd p = {.fd = a->wake[0], .events = POLLIN};

	if (a->logged_ns == 0 || now - a->logged_ns >= ACCEPT_LOG_EVERY_NS) {
		log_warn("http: cannot accept connections for now (%s); pausing %d ms at a time",
			 strerror(e), ACCEPT_PAUSE_MS);
		a->logged_ns = now;
	}
	poll(&p, 1, ACCEPT_PAUSE_MS);
}

/* Take what the backlog holds, up to ACCEPT_BATCH at a time. */
static void accept_some(struct http_acceptor *a)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd =
		    accept4(a->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int e = errno;
			if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == EPERM)
				continue; /* that client is gone or was refused: the next one */
			if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
				accept_starved(a, e);
			else if (e != EAGAIN && e != EWOULDBLOCK)
				log_error("http: accept: %s", strerror(e));
			return;
		}
		if (!http_conns_admit(a->cs, (struct sockaddr *)&ss, len)) {
			close(fd);
			continue;
		}
		/* libmicrohttpd owns fd now, and closes it itself when it cannot take it. */
		if (MHD_add_connection(a->d, fd, (struct sockaddr *)&ss, len) != MHD_YES)
			http_conns_unadmit(a->cs, (struct sockaddr *)&ss);
	}
}

static void *acceptor_main(void *arg)
{
	struct http_acceptor *a = arg;
	struct pollfd p[2] = {{.fd = a->lfd, .events = POLLIN},
			      {.fd = a->wake[0], .events = POLLIN}};

	pthread_setname_np(pthread_self(), "wb-accept");
	for (;;) {
		int n = poll(p, 2, -1);

		if (n < 0 && errno != EINTR) {
			log_error("http: poll on the listening socket: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (n > 0 && (p[0].revents & POLLIN))
			accept_some(a);
	}
	return NULL;
}

struct http_acceptor *http_acceptor_start(int lfd, struct MHD_Daemon *d, struct conns *cs)
{
	struct http_acceptor *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->lfd = lfd;
	a->d = d;
	a->cs = cs;
	if (pipe2(a->wake, O_CLOEXEC) != 0) {
		free(a);
		return NULL;
	}
	if (pthread_create(&a->thread, NULL, acceptor_main, a) != 0) {
		close(a->wake[0]);
		close(a->wake[1]);
		free(a);
		return NULL;
	}
	return a;
}

void http_acceptor_stop(struct http_acceptor *a)
{
	char b = 'x';

	if (!a)
		return;
	while (write(a->wake[1], &b, 1) < 0 && errno == EINTR)
		;
	pthread_join(a->thread, NULL);
	close(a->wake[0]);
	close(a->wake[1]);
	close(a->lfd); /* connections in the backlog are reset, new ones refused */
	free(a);
}
