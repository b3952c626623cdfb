/* mqtt-request.c — sends ad-hoc NTP check requests to one agent the way the web UI does (MQTT 5 response topic +
 * correlation data) and reports what came back, for the agent's tests:
 *   mqtt-request --mqtt-url URL -e ENV --monitor NAME --ip IP [--samples N] [--count N] [--payload JSON]
 *                [--response-topic T] [--wait S]
 * Prints one line per answer, then a summary:
 *   answer <i> corr ok|WRONG <payload>
 *   summary sent <n> answered <a> results <r> errors <e> rate_limited <l> missing <m> bad_corr <b>
 * Exit 0 when the run completed (the test asserts on the numbers). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "jwtpeek.h"
#include "log.h"
#include "mqtt.h"
#include "msg.h"
#include "opts.h"
#include "xalloc.h"

static struct {
    struct opts_common common;
    struct opts_mqtt mqtt;
    const char *monitor, *ip, *payload, *response_topic;
    int64_t samples, count, wait_us;
} o;

static const struct opt_spec specs[] = {
    {"monitor", 0, NULL, OPT_STRING, &o.monitor, NULL, 0, 0, "NAME", "the agent to ask"},
    {"ip", 0, NULL, OPT_STRING, &o.ip, NULL, 0, 0, "IP", "the address to check"},
    {"samples", 0, NULL, OPT_INT, &o.samples, "1", 0, 100, "N", "samples to ask for"},
    {"count", 0, NULL, OPT_INT, &o.count, "1", 1, 100000, "N", "requests to send at once"},
    {"payload", 0, NULL, OPT_STRING, &o.payload, NULL, 0, 0, "JSON", "send this body instead"},
    {"response-topic", 0, NULL, OPT_STRING, &o.response_topic, NULL, 0, 0, "TOPIC",
     "use this response topic (to test refusals)"},
    {"wait", 0, NULL, OPT_DURATION, &o.wait_us, "10s", 0, 600, "DURATION", "how long to wait for answers"},
    {0},
};

static struct evloop *loop;
static struct mqtt_session *sess;
static struct evloop_timer deadline;
static bool *answered;
static long n_answered, n_results, n_errors, n_limited, n_bad_corr;

static void on_deadline(struct evloop *l, void *arg)
{
    (void)arg;
    evloop_stop(l);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)present;
    (void)arg;
    static bool sent;
    if (sent) return;
    sent = true;
    char topic[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_REQUEST_NTP};
    snprintf(t.monitor, sizeof t.monitor, "%s", o.monitor);
    msg_topic_build(topic, sizeof topic, o.common.env, &t);
    char *body;
    if (o.payload) {
        body = xstrdup(o.payload);
    } else {
        struct msg_ntp_request r = {.samples = (int)o.samples};
        snprintf(r.ip, sizeof r.ip, "%s", o.ip ? o.ip : "");
        body = msg_ntp_request_encode(&r);
    }
    for (long i = 0; i < o.count; i++) {
        char rt[MSG_TOPIC_MAX], corr[32];
        struct msg_topic rtt = {.kind = MSG_TOPIC_RESPONSE};
        snprintf(rtt.monitor, sizeof rtt.monitor, "%s", o.monitor);
        snprintf(rtt.request_id, sizeof rtt.request_id, "req%ld", i);
        msg_topic_build(rt, sizeof rt, o.common.env, &rtt);
        snprintf(corr, sizeof corr, "corr-%ld", i);
        mqtt_publish_request(s, topic, body, strlen(body), o.response_topic ? o.response_topic : rt, corr,
                             (uint16_t)strlen(corr), NULL);
    }
    free(body);
    evloop_timer_start(loop, &deadline, o.wait_us);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)arg;
    struct msg_topic t;
    if (msg_topic_parse(o.common.env, m->topic, &t) != MSG_TOPIC_RESPONSE) return;
    long i = strncmp(t.request_id, "req", 3) == 0 ? strtol(t.request_id + 3, NULL, 10) : -1;
    char *rt;
    void *corr;
    uint16_t clen;
    mqtt_props_response(props, &rt, &corr, &clen);
    char want[32];
    snprintf(want, sizeof want, "corr-%ld", i);
    bool ok = corr && clen == strlen(want) && memcmp(corr, want, clen) == 0;
    free(rt);
    free(corr);
    if (!ok) n_bad_corr++;
    if (i >= 0 && i < o.count && !answered[i]) {
        answered[i] = true;
        n_answered++;
    }
    char error[MSG_ERROR_MAX];
    if (msg_error_decode(m->payload, (size_t)m->payloadlen, error, sizeof error)) {
        n_errors++;
        if (strstr(error, "rate limited")) n_limited++;
    } else {
        n_results++;
    }
    printf("answer %ld corr %s %.*s\n", i, ok ? "ok" : "WRONG", m->payloadlen, (const char *)m->payload);
    if (n_answered == o.count) evloop_stop(loop);
}

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&o.common), opts_mqtt_specs(&o.mqtt), specs, NULL};
    const struct opt_program prog = {.name = "mqtt-request", .usage = "--monitor NAME --ip IP [options]",
                                     .description = "Sends ad-hoc NTP check requests to an agent.", .groups = groups};
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &o.common);
    if (first < argc || !o.monitor) opts_usage_error(&prog, "--monitor is required");
    setvbuf(stdout, NULL, _IOLBF, 0);
    char err[256];
    char *token = NULL;
    struct jwt_claims_peek claims = {0};
    if (o.mqtt.token_file || getenv("MQTT_TOKEN")) {
        token = opts_mqtt_token(&o.mqtt, err, sizeof err);
        if (!token || jwt_peek(token, &claims, err, sizeof err) < 0) opts_usage_error(&prog, "%s", err);
    }
    answered = xcalloc((size_t)o.count, sizeof *answered);
    loop = evloop_new();
    struct mqtt_config cfg = {.url = o.mqtt.url, .client_id = o.mqtt.client_id ? o.mqtt.client_id : "mqtt-request",
                              .username = token ? claims.sub : NULL, .password = token, .ca_file = o.mqtt.ca_file,
                              .clean_start = true};
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message};
    sess = mqtt_session_new(loop, &cfg, &h, NULL, err, sizeof err);
    if (!sess) opts_usage_error(&prog, "%s", err);
    char filter[MSG_TOPIC_MAX];
    snprintf(filter, sizeof filter, "ntpmon/%s/responses/%s/#", o.common.env, o.monitor);
    mqtt_session_subscribe(sess, filter, 1);
    evloop_timer_init(&deadline, on_deadline, NULL);
    evloop_timer_start(loop, &deadline, o.wait_us + 5000000); /* covers connecting */
    mqtt_session_start(sess);
    evloop_run(loop);
    printf("summary sent %lld answered %ld results %ld errors %ld rate_limited %ld missing %lld bad_corr %ld\n",
           (long long)o.count, n_answered, n_results, n_errors, n_limited, (long long)(o.count - n_answered),
           n_bad_corr);
    mqtt_session_flush(sess, 500000);
    mqtt_session_free(sess);
    evloop_free(loop);
    free(answered);
    free(token);
    return 0;
}
