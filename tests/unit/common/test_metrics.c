/* test_metrics.c — the metric registry's exposition text and the HTTP endpoint (/metrics, /healthz, 404). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

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
        if (metrics_listen(addr, err, sizeof err) == 0) port = p;
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
    CHECK_INT(metrics_listen("nonsense", err, sizeof err), -1);
    CHECK_CONTAINS(err, "must be ADDR:PORT");
    CHECK_INT(metrics_listen("127.0.0.1:99999", err, sizeof err), -1);
    CHECK_CONTAINS(err, "invalid port");
}

int main(void)
{
    RUN(render);
    RUN(http);
    return unit_done();
}
