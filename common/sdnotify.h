/* sdnotify.h — the service manager's readiness protocol (sd_notify(3)), written by hand so no daemon links
 * libsystemd (the agent must stay small; the protocol is documented as stable for exactly this): one datagram of
 * newline-separated KEY=VALUE assignments ("READY=1", "STOPPING=1", "STATUS=…", "WATCHDOG=1") sent to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace). Without $NOTIFY_SOCKET
 * every call is a no-op, so daemons call it unconditionally. */
#ifndef NTPMON_SDNOTIFY_H
#define NTPMON_SDNOTIFY_H

#include <stdint.h>

/* Sends state; 1 sent, 0 when $NOTIFY_SOCKET is unset, -1 on an error (errno set; a bad address is EINVAL). */
int sdnotify(const char *state);
/* How often this process must send WATCHDOG=1: half of $WATCHDOG_USEC when it is set and $WATCHDOG_PID is unset or
 * this process's PID; 0 when no watchdog is armed for us. */
int64_t sdnotify_watchdog_interval_us(void);

#endif
