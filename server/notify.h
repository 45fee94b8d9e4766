/*
 * notify.h - telling the service manager where the daemon is (systemd's
 * Type=notify): ready once it serves, stopping once it drains.  A no-op
 * when the daemon was not started by one ($NOTIFY_SOCKET unset).
 */
#ifndef WAYBILL_NOTIFY_H
#define WAYBILL_NOTIFY_H

#include "common.h"

/* "READY=1": the listener is up and every start check passed. */
void notify_ready(void);
/* "STOPPING=1": draining; no new connections. */
void notify_stopping(void);

#endif
