/* test_sdnotify.c — the readiness datagram reaches a socket the test owns, by path and in the abstract namespace;
 * without $NOTIFY_SOCKET nothing is sent; the watchdog interval follows $WATCHDOG_USEC and $WATCHDOG_PID. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"
#include "unit.h"

/* A datagram socket bound to name ("/path" or "@abstract"); returns the fd. */
static int listen_on(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(sa.sun_path, name, len);
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));
    if (name[0] == '@') sa.sun_path[0] = '\0';
    if (name[0] == '/') unlink(name);
    if (bind(fd, (struct sockaddr *)&sa, salen) < 0) perror("bind");
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void expect(int fd, const char *want)
{
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    CHECK_STR(buf, want);
}

TEST(by_path)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/ntpmon-sdnotify-%d.sock", (int)getpid());
    int fd = listen_on(path);
    setenv("NOTIFY_SOCKET", path, 1);
    CHECK_INT(sdnotify("READY=1\nSTATUS=serving"), 1);
    expect(fd, "READY=1\nSTATUS=serving");
    CHECK_INT(sdnotify("STOPPING=1"), 1);
    expect(fd, "STOPPING=1");
    close(fd);
    unlink(path);
    /* the manager went away: an error, never a signal */
    CHECK_INT(sdnotify("WATCHDOG=1"), -1);
}

TEST(abstract_namespace)
{
    char name[64];
    snprintf(name, sizeof name, "@ntpmon-sdnotify-%d", (int)getpid());
    int fd = listen_on(name);
    setenv("NOTIFY_SOCKET", name, 1);
    CHECK_INT(sdnotify("WATCHDOG=1"), 1);
    expect(fd, "WATCHDOG=1");
    close(fd);
}

TEST(unset_and_bad)
{
    unsetenv("NOTIFY_SOCKET");
    CHECK_INT(sdnotify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    CHECK_INT(sdnotify("READY=1"), -1);
    unsetenv("NOTIFY_SOCKET");
}

TEST(watchdog_interval)
{
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    CHECK_INT(sdnotify_watchdog_interval_us(), 0);
    setenv("WATCHDOG_USEC", "3000000", 1);
    CHECK_INT(sdnotify_watchdog_interval_us(), 1500000);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    CHECK_INT(sdnotify_watchdog_interval_us(), 1500000);
    setenv("WATCHDOG_PID", "1", 1); /* another process's watchdog */
    CHECK_INT(sdnotify_watchdog_interval_us(), 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "soon", 1);
    CHECK_INT(sdnotify_watchdog_interval_us(), 0);
    unsetenv("WATCHDOG_USEC");
}

int main(void)
{
    RUN(by_path);
    RUN(abstract_namespace);
    RUN(unset_and_bad);
    RUN(watchdog_interval);
    return unit_done();
}
