/* web-sse-fanout.c — the SSE fan-out benchmark's client side (bench/web-sse.sh): opens N event streams to
 * ntpmon-web, waits until each has its first (retained) score, then publishes M scores as the scorer does (retained,
 * QoS 1, ts = the publish time) and measures for every stream and every score the delay from publish to arrival;
 * beside it, the same delay for one plain MQTT subscriber of the same topic (the broker's own delivery).
 *   web-sse-fanout WEB_PORT PATH CLIENTS MQTT_URL PUB_TOKEN SUB_TOKEN ENV SERVER_ID COUNT RATE
 * Prints "ready N", then "sse delivered D of E p50_ms A p99_ms B max_ms C" and "mqtt received … p50_ms … p99_ms …". */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "jwtpeek.h"
#include "mqtt.h"
#include "msg.h"
#include "timeutil.h"
#include "xalloc.h"

struct conn {
    int fd;
    char buf[8192];
    size_t len;
    bool ready;
};

static struct evloop *loop;
static struct conn *conns;
static int n_conns, n_ready, count, rate;
static int64_t server_id, started_wall;
static int64_t *sse_lat, *mqtt_lat;
static size_t n_sse, cap_sse, n_mqtt;
static struct mqtt_session *pub, *sub;
static char topic[MSG_TOPIC_MAX];
static int published;
static struct evloop_timer pub_timer, end_timer, start_timer;
static bool sub_ready;

/* The ts of a "data: {…}" line, or -1. */
static int64_t data_ts(const char *line)
{
    const char *p = strstr(line, "\"ts\":\"");
    if (!p) return -1;
    char ts[64];
    const char *q = strchr(p + 6, '"');
    if (!q || (size_t)(q - p - 6) >= sizeof ts) return -1;
    memcpy(ts, p + 6, (size_t)(q - p - 6));
    ts[q - p - 6] = '\0';
    int64_t us;
    return time_parse_rfc3339(ts, &us) == 0 ? us : -1;
}

static void on_line(struct conn *c, const char *line, int64_t now)
{
    if (strncmp(line, "data: ", 6) != 0) return;
    int64_t ts = data_ts(line);
    if (!c->ready) {
        c->ready = true;
        n_ready++;
        return;
    }
    if (ts < started_wall) return;
    if (n_sse == cap_sse) {
        cap_sse = cap_sse ? cap_sse * 2 : 65536;
        sse_lat = xrealloc(sse_lat, cap_sse * sizeof *sse_lat);
    }
    sse_lat[n_sse++] = now - ts;
}

static void on_read(struct evloop *l, int fd, unsigned events, void *arg)
{
    (void)l;
    (void)events;
    struct conn *c = arg;
    for (;;) {
        ssize_t n = read(fd, c->buf + c->len, sizeof c->buf - c->len - 1);
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                evloop_fd_remove(loop, fd);
                close(fd);
                c->fd = -1;
            }
            return;
        }
        int64_t now = time_now_us();
        c->len += (size_t)n;
        c->buf[c->len] = '\0';
        char *start = c->buf, *nl;
        while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
            *nl = '\0';
            on_line(c, start, now);
            start = nl + 1;
        }
        c->len -= (size_t)(start - c->buf);
        memmove(c->buf, start, c->len);
    }
}

static void on_publish_tick(struct evloop *l, void *arg)
{
    (void)arg;
    struct msg_score s = {.server_id = server_id, .score = 10 + published % 10, .step = 1, .in_pool = true,
                          .ts_us = time_now_us(), .monitors = 3};
    char *json = msg_score_encode(&s);
    mqtt_publish(pub, topic, json, strlen(json), 1, true, NULL);
    free(json);
    if (++published < count) evloop_timer_start(l, &pub_timer, 1000000 / rate);
    else evloop_timer_start(l, &end_timer, 3000000); /* let the last ones arrive */
}

static void on_start(struct evloop *l, void *arg)
{
    (void)arg;
    if (n_ready < n_conns || !sub_ready || !mqtt_session_connected(pub)) {
        evloop_timer_start(l, &start_timer, 100000);
        return;
    }
    printf("ready %d\n", n_ready);
    fflush(stdout);
    started_wall = time_now_us();
    evloop_timer_start(l, &pub_timer, 500000);
}

static void on_end(struct evloop *l, void *arg)
{
    (void)arg;
    evloop_stop(l);
}

static void on_sub_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *p,
                           void *arg)
{
    (void)s;
    (void)p;
    (void)arg;
    if (m->retain) return;
    int64_t ts = data_ts(m->payload);
    if (ts >= started_wall && started_wall) mqtt_lat[n_mqtt++ % (size_t)count] = time_now_us() - ts;
}

static void on_sub_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    (void)arg;
    sub_ready = true;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(int64_t *v, size_t n, double p)
{
    if (!n) return -1;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1000.0;
}

static struct mqtt_session *session(const char *url, const char *token, const char *suffix, struct mqtt_handlers *h)
{
    struct jwt_claims_peek c;
    char err[256];
    if (jwt_peek(token, &c, err, sizeof err) < 0) {
        fprintf(stderr, "bad token: %s\n", err);
        exit(2);
    }
    struct mqtt_config cfg = {.url = url, .client_id = suffix, .username = c.sub, .password = token,
                              .clean_start = true};
    struct mqtt_session *s = mqtt_session_new(loop, &cfg, h, NULL, err, sizeof err);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        exit(2);
    }
    return s;
}

int main(int argc, char **argv)
{
    if (argc != 11) {
        fprintf(stderr, "usage: web-sse-fanout WEB_PORT PATH CLIENTS MQTT_URL PUB_TOKEN SUB_TOKEN ENV SERVER_ID "
                        "COUNT RATE\n");
        return 2;
    }
    int port = atoi(argv[1]);
    const char *path = argv[2];
    n_conns = atoi(argv[3]);
    server_id = atoll(argv[8]);
    count = atoi(argv[9]);
    rate = atoi(argv[10]);
    mqtt_lat = xcalloc((size_t)count, sizeof *mqtt_lat);
    struct msg_topic t = {.kind = MSG_TOPIC_SCORES, .server_id = server_id};
    msg_topic_build(topic, sizeof topic, argv[7], &t);
    loop = evloop_new();
    conns = xcalloc((size_t)n_conns, sizeof *conns);
    char req[512];
    int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n", path);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    for (int i = 0; i < n_conns; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || write(fd, req, (size_t)rl) != rl) {
            fprintf(stderr, "connection %d failed: %s\n", i, strerror(errno));
            return 1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[i].fd = fd;
        evloop_fd_set(loop, fd, EVLOOP_READ, on_read, &conns[i]);
        fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    struct mqtt_handlers ph = {0}, sh = {.on_connect = on_sub_connect, .on_message = on_sub_message};
    pub = session(argv[4], argv[5], "bench-pub", &ph);
    sub = session(argv[4], argv[6], "bench-sub", &sh);
    mqtt_session_subscribe(sub, topic, 1);
    mqtt_session_start(pub);
    mqtt_session_start(sub);
    evloop_timer_init(&pub_timer, on_publish_tick, NULL);
    evloop_timer_init(&end_timer, on_end, NULL);
    evloop_timer_init(&start_timer, on_start, NULL);
    evloop_timer_start(loop, &start_timer, 100000);
    evloop_run(loop);
    qsort(sse_lat, n_sse, sizeof *sse_lat, cmp64);
    size_t nm = n_mqtt < (size_t)count ? n_mqtt : (size_t)count;
    qsort(mqtt_lat, nm, sizeof *mqtt_lat, cmp64);
    printf("sse delivered %zu of %lld p50_ms %.2f p99_ms %.2f max_ms %.2f\n", n_sse, (long long)n_conns * count,
           pct(sse_lat, n_sse, 0.5), pct(sse_lat, n_sse, 0.99), pct(sse_lat, n_sse, 1.0));
    printf("mqtt received %zu of %d p50_ms %.2f p99_ms %.2f max_ms %.2f\n", n_mqtt, count, pct(mqtt_lat, nm, 0.5),
           pct(mqtt_lat, nm, 0.99), pct(mqtt_lat, nm, 1.0));
    mqtt_session_free(pub);
    mqtt_session_free(sub);
    for (int i = 0; i < n_conns; i++)
        if (conns[i].fd >= 0) close(conns[i].fd);
    evloop_free(loop);
    free(conns);
    free(sse_lat);
    free(mqtt_lat);
    return 0;
}
