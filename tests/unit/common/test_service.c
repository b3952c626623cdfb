/* test_service.c — the daemon frame: steps start in order and stop in reverse, a failing step stops only what
 * started before it (with its exit status), SIGTERM drains then stops, service_exit skips the drain, readiness
 * (deferred or not), STOPPING=1, WATCHDOG=1 (also from long work in a step) and STATUS= with the daemon's own
 * failing conditions reach a notify socket the test owns. No broker, no database: the steps here are the test's. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "service.h"
#include "unit.h"

static char trail[512]; /* what happened, in order */
static int fail_at = -1, fail_status;
static const char *own_reason;
static bool keepalive_in_step;
static struct evloop_timer kick;
static void (*kick_action)(struct service *svc);

static void note(const char *what)
{
    size_t n = strlen(trail);
    snprintf(trail + n, sizeof trail - n, "%s%s", n ? " " : "", what);
}

static void on_kick(struct evloop *loop, void *arg)
{
    (void)loop;
    kick_action(arg);
}

static int step_start(struct service *svc, void *arg, int i)
{
    (void)arg;
    char w[16];
    snprintf(w, sizeof w, "+%c", 'A' + i);
    note(w);
    if (i == fail_at) {
        service_fail(svc, fail_status, "step %c refuses", 'A' + i);
        return -1;
    }
    if (i == 1 && keepalive_in_step) { /* long work in a step keeps the watchdog fed */
        usleep(3000);
        service_keepalive(svc);
    }
    if (i == 0) { /* the first step arms what the test does once the loop runs */
        evloop_timer_init(&kick, on_kick, svc);
        evloop_timer_start(service_loop(svc), &kick, 1000);
    }
    return 0;
}

static void step_stop(int i)
{
    char w[16];
    snprintf(w, sizeof w, "-%c", 'A' + i);
    note(w);
}

static int a_start(struct service *s, void *arg) { return step_start(s, arg, 0); }
static int b_start(struct service *s, void *arg) { return step_start(s, arg, 1); }
static int c_start(struct service *s, void *arg) { return step_start(s, arg, 2); }
static void a_stop(struct service *s, void *arg) { (void)s, (void)arg, step_stop(0); }
static void b_stop(struct service *s, void *arg) { (void)s, (void)arg, step_stop(1); }
static void c_stop(struct service *s, void *arg) { (void)s, (void)arg, step_stop(2); }

static const struct service_step steps[] = {{"A", a_start, a_stop}, {"B", b_start, b_stop}, {"C", c_start, c_stop}, {0}};

static struct evloop_timer drain_timer;
static void drained_later(struct evloop *loop, void *arg)
{
    (void)loop;
    note("drained");
    service_drained(arg);
}
static void drain(struct service *svc, void *arg)
{
    (void)arg;
    note("drain");
    evloop_timer_init(&drain_timer, drained_later, svc);
    evloop_timer_start(service_loop(svc), &drain_timer, 1000);
}

static void status_words(struct service *svc, void *arg, char *buf, size_t len)
{
    (void)svc;
    (void)arg;
    snprintf(buf, len, "queue 7");
}

static const char *own_health(void *arg)
{
    (void)arg;
    return own_reason;
}

static void do_sigterm(struct service *svc)
{
    (void)svc;
    raise(SIGTERM);
}
static void do_exit3(struct service *svc) { service_exit(svc, 3); }
static void do_ready_then_term(struct service *svc)
{
    service_health_add(svc, "own", own_health, NULL);
    own_reason = "falling behind: 12 s";
    service_ready(svc);
    service_shutdown(svc);
}

static int run(bool with_drain, bool defer, void (*action)(struct service *))
{
    trail[0] = '\0';
    kick_action = action;
    static struct service_def def;
    def = (struct service_def){.name = "test", .steps = steps, .drain = with_drain ? drain : NULL,
                               .defer_ready = defer, .status = status_words};
    struct service *svc = service_new(&def);
    return service_run(svc);
}

TEST(steps_in_order_stopped_in_reverse)
{
    fail_at = -1;
    CHECK_INT(run(false, false, do_sigterm), 0);
    CHECK_STR(trail, "+A +B +C -C -B -A");
}

TEST(a_failing_step_stops_only_what_started)
{
    fail_at = 1;
    fail_status = 2;
    CHECK_INT(run(false, false, do_sigterm), 2);
    CHECK_STR(trail, "+A +B -A");
    fail_at = 2;
    fail_status = 0; /* no status given: 1 */
    CHECK_INT(run(false, false, do_sigterm), 1);
    CHECK_STR(trail, "+A +B +C -B -A");
    fail_at = -1;
}

TEST(sigterm_drains_then_stops)
{
    CHECK_INT(run(true, false, do_sigterm), 0);
    CHECK_STR(trail, "+A +B +C drain drained -C -B -A");
}

TEST(exit_skips_the_drain)
{
    CHECK_INT(run(true, false, do_exit3), 3);
    CHECK_STR(trail, "+A +B +C -C -B -A");
}

/* A datagram socket standing in for the service manager's. */
static int listen_notify(char *path, size_t len)
{
    snprintf(path, len, "/tmp/ntpmon-test-service-%d.sock", (int)getpid());
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    struct timeval tv = {0, 100000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", path, 1);
    return fd;
}

/* Every datagram received so far, joined by " / ", newlines as '|'. */
static void read_all(int fd, char *out, size_t len)
{
    out[0] = '\0';
    char buf[1024];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
        buf[n] = '\0';
        for (char *p = buf; *p; p++)
            if (*p == '\n') *p = '|';
        size_t k = strlen(out);
        snprintf(out + k, len - k, "%s%s", k ? " / " : "", buf);
    }
}

TEST(notify_ready_status_stopping)
{
    char path[108], got[4096];
    int fd = listen_notify(path, sizeof path);
    CHECK_INT(run(false, false, do_sigterm), 0);
    read_all(fd, got, sizeof got);
    CHECK_CONTAINS(got, "READY=1|STATUS=serving; queue 7");
    CHECK_CONTAINS(got, "STOPPING=1");
    CHECK(strstr(got, "READY=1") < strstr(got, "STOPPING=1"));

    /* deferred readiness: READY only when the daemon says so; its own failing condition shows in STATUS= */
    CHECK_INT(run(false, true, do_ready_then_term), 0);
    read_all(fd, got, sizeof got);
    CHECK_CONTAINS(got, "STATUS=starting; queue 7");
    CHECK_CONTAINS(got, "READY=1|STATUS=unhealthy; queue 7; falling behind: 12 s");
    CHECK(strstr(got, "STATUS=starting") < strstr(got, "READY=1"));

    /* the watchdog: WATCHDOG=1 from the loop, and from long work in a step before READY */
    setenv("WATCHDOG_USEC", "2000", 1);
    keepalive_in_step = true;
    CHECK_INT(run(false, false, do_sigterm), 0);
    keepalive_in_step = false;
    unsetenv("WATCHDOG_USEC");
    read_all(fd, got, sizeof got);
    CHECK(strstr(got, "WATCHDOG=1") && strstr(got, "WATCHDOG=1") < strstr(got, "READY=1"));

    /* a failure before ready still tells the manager it is stopping */
    fail_at = 0;
    fail_status = 2;
    CHECK_INT(run(false, false, do_sigterm), 2);
    read_all(fd, got, sizeof got);
    CHECK(!strstr(got, "READY=1"));
    CHECK_CONTAINS(got, "STOPPING=1");
    fail_at = -1;
    close(fd);
    unlink(path);
    unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
    log_init("test_service");
    log_set_level(LOG_LEVEL_ERROR);
    RUN(steps_in_order_stopped_in_reverse);
    RUN(a_failing_step_stops_only_what_started);
    RUN(sigterm_drains_then_stops);
    RUN(exit_skips_the_drain);
    RUN(notify_ready_status_stopping);
    return unit_done();
}
