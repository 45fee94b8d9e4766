/*
 * notify.c - the only user of libsystemd: sd_notify(3) readiness and
 * stopping messages for a Type=notify unit.
 *
 * libsystemd rather than the datagram protocol by hand: it handles the
 * abstract socket namespace, credentials and the variables' cleanup, and
 * libsystemd0 is on every Debian system already.  A failure to notify is
 * logged and otherwise ignored: systemd's start timeout then says so.
 */
#include "common.h"
#include "notify.h"
#include "log.h"

#include <systemd/sd-daemon.h>

static void notify_send(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0)
		log_warn("notify: cannot tell the service manager \"%s\": %s", state,
			 strerror(-rc));
}

void notify_ready(void)
{
	notify_send("READY=1\nSTATUS=serving");
}

void notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=draining");
}
