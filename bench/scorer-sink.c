/* scorer-sink.c — the receiving end of the scorer benchmarks: subscribes to a filter with QoS 1 (TCP_NODELAY, as
 * the scorer does), counts messages until it has N, and reports the rate and the latency of each message as
 * now − its "ts" field (the publisher stamped ts with the publish time: result-feed --stamp; the scorer copies a
 * result's ts into its scores message, so the latency is result publish → score publish → here).
 *   scorer-sink URL FILTER N [TIMEOUT_S]
 * With $MQTT_TOKEN it logs in as the token's sub. Prints "ready" once connected (its subscription sent), then one line:
 * "received N in S s: R/s; latency ms p50 P p99 Q max M". Exit 0 when all N arrived. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "jwtpeek.h"
#include "log.h"
#include "mqtt.h"
#include "timeutil.h"

static struct evloop *loop;
static struct evloop_timer deadline;
static long want, got;
static int64_t first_us, last_us;
static double *lat_ms;

static void on_deadline(struct evloop *l, void *arg)
{
    (void)arg;
    evloop_stop(l);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    (void)arg;
    printf("ready\n");
    fflush(stdout);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *p,
                       void *arg)
{
    (void)s;
    (void)p;
    (void)arg;
    if (m->retain) return; /* a previous run's state, not this run's traffic */
    int64_t now = time_now_us();
    if (got == 0) first_us = now;
    last_us = now;
    static json_tokener *tok;
    if (!tok) tok = json_tokener_new();
    json_tokener_reset(tok);
    json_object *o = json_tokener_parse_ex(tok, m->payload, m->payloadlen);
    json_object *ts = NULL;
    int64_t us;
    if (got < want && o && json_object_object_get_ex(o, "ts", &ts) && time_parse_rfc3339(json_object_get_string(ts), &us) == 0)
        lat_ms[got] = (double)(now - us) / 1000.0;
    else if (got < want)
        lat_ms[got] = -1;
    json_object_put(o);
    if (++got >= want) evloop_stop(loop);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    log_init("scorer-sink");
    if (argc < 4) {
        fprintf(stderr, "usage: scorer-sink URL FILTER N [TIMEOUT_S]\n");
        return 2;
    }
    want = atol(argv[3]);
    int timeout = argc > 4 ? atoi(argv[4]) : 300;
    lat_ms = calloc((size_t)want, sizeof *lat_ms);
    loop = evloop_new();
    evloop_timer_init(&deadline, on_deadline, NULL);
    char id[64], err[256];
    snprintf(id, sizeof id, "scorer-sink-%d", (int)getpid());
    const char *token = getenv("MQTT_TOKEN");
    struct jwt_claims_peek claims = {.sub = ""};
    if (token && *token && jwt_peek(token, &claims, err, sizeof err) < 0) {
        fprintf(stderr, "scorer-sink: bad $MQTT_TOKEN: %s\n", err);
        return 2;
    }
    struct mqtt_config cfg = {.url = argv[1], .client_id = id, .clean_start = true, .receive_maximum = 1000,
                              .username = claims.sub[0] ? claims.sub : NULL, .password = claims.sub[0] ? token : NULL};
    struct mqtt_handlers h = {on_connect, NULL, on_message, NULL};
    struct mqtt_session *s = mqtt_session_new(loop, &cfg, &h, NULL, err, sizeof err);
    if (!s) {
        fprintf(stderr, "scorer-sink: %s\n", err);
        return 2;
    }
    mqtt_session_subscribe(s, argv[2], 1);
    mqtt_session_start(s);
    evloop_timer_start(loop, &deadline, (int64_t)timeout * 1000000);
    evloop_run(loop);
    mqtt_session_stop(s);
    mqtt_session_free(s);
    evloop_free(loop);
    double secs = got > 1 ? (double)(last_us - first_us) / 1e6 : 0;
    long n = 0;
    for (long i = 0; i < got && i < want; i++)
        if (lat_ms[i] >= 0) lat_ms[n++] = lat_ms[i];
    qsort(lat_ms, (size_t)n, sizeof *lat_ms, cmp_double);
    printf("received %ld in %.3f s: %.0f/s; latency ms p50 %.1f p99 %.1f max %.1f\n", got, secs,
           secs > 0 ? (double)got / secs : 0, n ? lat_ms[n / 2] : 0, n ? lat_ms[(long)(n * 0.99)] : 0,
           n ? lat_ms[n - 1] : 0);
    free(lat_ms);
    return got >= want ? 0 : 1;
}
