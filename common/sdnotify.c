/* sdnotify.c — one SOCK_DGRAM socket, opened on first use and kept (the watchdog pings every few seconds),
 * close-on-exec so a re-executed daemon opens its own. Called from the daemon's loop thread only. */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int notify_fd = -1;

int sdnotify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    /* "@name" is the abstract namespace: a leading NUL and no terminator; a path must be absolute */
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) {
        errno = EINVAL;
        return -1;
    }
    memcpy(sa.sun_path, path, len);
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
    if (path[0] == '@') sa.sun_path[0] = '\0';
    if (notify_fd < 0) notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd < 0) return -1;
    /* MSG_NOSIGNAL: a manager that went away must not kill us with SIGPIPE */
    if (sendto(notify_fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0) return -1;
    return 1;
}

int64_t sdnotify_watchdog_interval_us(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    if (!usec || !*usec) return 0;
    char *end;
    errno = 0;
    long long us = strtoll(usec, &end, 10);
    if (errno || *end || us <= 0) return 0;
    if (pid && *pid) {
        long long p = strtoll(pid, &end, 10);
        if (*end || p != (long long)getpid()) return 0;
    }
    return us / 2;
}
