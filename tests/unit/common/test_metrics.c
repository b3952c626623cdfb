/* test_metrics.c — the metric registry's exposition text and the HTTP endpoint (/metrics, /healthz, 404), and its
 * limits: a request that does not complete within the deadline is cut, one address cannot take more than its share
 * of connections, and /healthz answers while others hold connections open. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "timeutil.h"

#include "metrics.h"
#include "unit.h"

static int http_get(int port, const char *path, char *out, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t r;
    while (got + 1 < len && (r = read(fd, out + got, len - 1 - got)) > 0) got += (size_t)r;
    out[got] = '\0';
    close(fd);
    return (int)got;
}

TEST(render)
{
    struct metric *a = metrics_counter("ntpmon_test_events_total", "events seen", "kind=\"a\"");
    struct metric *b = metrics_counter("ntpmon_test_events_total", "events seen", "kind=\"b\"");
    struct metric *g = metrics_gauge("ntpmon_test_depth", "queue depth", NULL);
    metric_inc(a);
    metric_add(a, 2);
    metric_inc(b);
    metric_set(g, 12.5);
    CHECK_NEAR(metric_value(a), 3, 0);
    char *text = metrics_render();
    CHECK_CONTAINS(text, "# HELP ntpmon_test_events_total events seen\n# TYPE ntpmon_test_events_total counter\n"
                         "ntpmon_test_events_total{kind=\"a\"} 3\nntpmon_test_events_total{kind=\"b\"} 1\n");
    CHECK_CONTAINS(text, "# TYPE ntpmon_test_depth gauge\nntpmon_test_depth 12.5\n");
    free(text);
}

TEST(http)
{
    char err[256], buf[4096];
    int port = 0;
    for (int attempt = 0; attempt < 20 && !port; attempt++) {
        int p = 20000 + (int)(getpid() * 7 + attempt * 131) % 40000;
        char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", p);
        if (metrics_listen(addr, NULL, err, sizeof err) == 0) port = p;
    }
    CHECK(port != 0);
    CHECK(http_get(port, "/metrics", buf, sizeof buf) > 0);
    CHECK_CONTAINS(buf, "200 OK");
    CHECK_CONTAINS(buf, "ntpmon_test_depth 12.5");
    CHECK(http_get(port, "/healthz", buf, sizeof buf) > 0);
    CHECK_CONTAINS(buf, "200 OK");
    metrics_set_health(false, "database unreachable");
    CHECK(http_get(port, "/healthz", buf, sizeof buf) > 0);
    CHECK_CONTAINS(buf, "503");
    CHECK_CONTAINS(buf, "unhealthy: database unreachable");
    CHECK(http_get(port, "/nope", buf, sizeof buf) > 0);
    CHECK_CONTAINS(buf, "404");
    metrics_stop();
    CHECK_INT(metrics_listen("nonsense", NULL, err, sizeof err), -1);
    CHECK_CONTAINS(err, "must be ADDR:PORT");
    CHECK_INT(metrics_listen("127.0.0.1:99999", NULL, err, sizeof err), -1);
    CHECK_CONTAINS(err, "has an invalid port");
    CHECK_INT(metrics_listen("127.0.0.1", NULL, err, sizeof err), -1);
    CHECK_CONTAINS(err, "must be ADDR:PORT");
    CHECK_INT(metrics_listen("[::1:9100", NULL, err, sizeof err), -1);
    CHECK_CONTAINS(err, "unterminated");
    CHECK_INT(metrics_listen("db.example:9100", NULL, err, sizeof err), -1);
    CHECK_CONTAINS(err, "is not an IP address");
    struct metrics_limits bad = {0, 10, 5};
    CHECK_INT(metrics_listen("127.0.0.1:1", &bad, err, sizeof err), -1);
    CHECK_CONTAINS(err, "limits out of range");
}

/* A connection from 127.0.0.1 (src NULL) or another loopback source address, not yet sending anything. */
static int open_from(int port, const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (src) {
        struct sockaddr_in me = {.sin_family = AF_INET};
        inet_pton(AF_INET, src, &me.sin_addr);
        if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits up to timeout_ms for the server to end the connection (EOF or reset); true when it did. */
static bool closed_by_server(int fd, int timeout_ms)
{
    int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int64_t left = (deadline - time_mono_us()) / 1000;
        if (left <= 0) return false;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) > 0) {
            char b[512];
            ssize_t n = read(fd, b, sizeof b);
            if (n <= 0) return true;
        }
    }
}

static int start_limited(const struct metrics_limits *lim)
{
    char err[256];
    for (int attempt = 0; attempt < 20; attempt++) {
        int p = 20000 + (int)(getpid() * 13 + attempt * 137) % 40000;
        char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", p);
        if (metrics_listen(addr, lim, err, sizeof err) == 0) return p;
    }
    return 0;
}

TEST(slow_request_is_cut_at_the_deadline)
{
    metrics_set_health(true, "");
    struct metrics_limits lim = {500000, 16, 4}; /* 0.5 s a request */
    int port = start_limited(&lim);
    CHECK(port != 0);
    if (!port) return;
    int fd = open_from(port, NULL);
    CHECK(fd >= 0);
    /* one header line at a time, each well within the idle timeout: only the whole-request deadline ends it */
    int64_t t0 = time_mono_us();
    const char *lines[] = {"GET /metrics HTTP/1.1\r\n", "Host: x\r\n", "X-A: 1\r\n", "X-B: 2\r\n", "X-C: 3\r\n"};
    bool cut = false;
    for (size_t i = 0; i < 5 && !cut; i++) {
        if (write(fd, lines[i], strlen(lines[i])) < 0) cut = true;
        else cut = closed_by_server(fd, 300);
    }
    if (!cut) cut = closed_by_server(fd, 5000);
    CHECK(cut);
    double took = (double)(time_mono_us() - t0) / 1e6;
    CHECK(took >= 0.45);
    close(fd);
    char buf[4096];
    CHECK(http_get(port, "/healthz", buf, sizeof buf) > 0);
    CHECK_CONTAINS(buf, "200 OK");
    metrics_stop();
}

TEST(one_address_cannot_take_every_connection)
{
    struct metrics_limits lim = {10000000, 16, 3};
    int port = start_limited(&lim);
    CHECK(port != 0);
    if (!port) return;
    /* 127.0.0.2 opens six idle connections: three are refused at once */
    int fds[6], refused = 0;
    for (int i = 0; i < 6; i++) {
        fds[i] = open_from(port, "127.0.0.2");
        CHECK(fds[i] >= 0);
    }
    for (int i = 0; i < 6; i++)
        if (fds[i] >= 0 && closed_by_server(fds[i], i < 3 ? 200 : 3000)) refused++;
    CHECK_INT(refused, 3);
    /* while they are held, /healthz from another address answers */
    char buf[4096];
    CHECK(http_get(port, "/healthz", buf, sizeof buf) > 0);
    CHECK_CONTAINS(buf, "200 OK");
    for (int i = 0; i < 6; i++)
        if (fds[i] >= 0) close(fds[i]);
    metrics_stop();
}

int main(void)
{
    RUN(render);
    RUN(http);
    RUN(slow_request_is_cut_at_the_deadline);
    RUN(one_address_cannot_take_every_connection);
    return unit_done();
}
