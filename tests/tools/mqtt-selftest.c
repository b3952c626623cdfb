/* mqtt-selftest.c — exercises common/mqtt.c against a real broker for the foundation's integration test:
 *   mqtt-selftest URL ROUNDTRIP   subscribe, publish 200 QoS 1 messages to ourselves, check all arrive, then a
 *                                 request with response topic + correlation data that we answer and read back
 *   mqtt-selftest URL PERSIST ID  connect with a persistent session, subscribe, disconnect (prints "ready")
 *   mqtt-selftest URL DRAIN ID N  reconnect the same session and count N queued messages (prints "got N")
 *   mqtt-selftest URL RECONNECT   stay connected; print "connected" on every (re)connect, until SIGTERM
 * Prints TAP-free lines; the shell test asserts on them. Exit 0 on success. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "mqtt.h"

static struct evloop *loop;
static struct mqtt_session *sess;
static const char *mode;
static int received, want = 200, responses, connects;
static bool requested;
static struct evloop_timer deadline;

static int exit_code;

/* Handlers run inside libmosquitto: they only ask the loop to stop; main() flushes and exits. */
static void finish(int code)
{
    exit_code = code;
    evloop_stop(loop);
}

static void on_deadline(struct evloop *l, void *arg)
{
    (void)l;
    (void)arg;
    printf("timeout: received %d, responses %d\n", received, responses);
    finish(1);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)arg;
    connects++;
    printf("connected %d session_present=%d\n", connects, present);
    fflush(stdout);
    if (strcmp(mode, "ROUNDTRIP") == 0 && connects == 1) {
        for (int i = 0; i < want; i++) {
            char payload[64];
            snprintf(payload, sizeof payload, "{\"n\":%d}", i);
            if (mqtt_publish(s, "selftest/data", payload, strlen(payload), 1, false, NULL) != MOSQ_ERR_SUCCESS) {
                printf("publish failed\n");
                finish(1);
            }
        }
    } else if (strcmp(mode, "PERSIST") == 0) {
        printf("ready\n");
        finish(0);
    }
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props, void *arg)
{
    (void)arg;
    if (strcmp(m->topic, "selftest/data") == 0) {
        received++;
        if (strcmp(mode, "DRAIN") == 0 && received == want) {
            printf("got %d\n", received);
            finish(0);
        }
        if (strcmp(mode, "ROUNDTRIP") == 0 && received == want && !requested) {
            requested = true;
            mqtt_publish_request(s, "selftest/request", "{\"q\":1}", 7, "selftest/response/abc", "corr-42", 7, NULL);
        }
    } else if (strcmp(m->topic, "selftest/request") == 0) {
        char *rt;
        void *corr;
        uint16_t clen;
        mqtt_props_response(props, &rt, &corr, &clen);
        if (rt) mqtt_publish_response(s, rt, "{\"a\":1}", 7, corr, clen, NULL);
        free(rt);
        free(corr);
    } else if (strcmp(m->topic, "selftest/response/abc") == 0) {
        char *rt;
        void *corr;
        uint16_t clen;
        mqtt_props_response(props, &rt, &corr, &clen);
        bool ok = corr && clen == 7 && memcmp(corr, "corr-42", 7) == 0;
        free(rt);
        free(corr);
        printf("response correlation %s\n", ok ? "ok" : "wrong");
        printf("roundtrip %d/%d\n", received, want);
        finish(ok ? 0 : 1);
    }
}

static void on_signal(struct evloop *l, int signo, void *arg)
{
    (void)l;
    (void)signo;
    (void)arg;
    finish(0);
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    log_init("mqtt-selftest");
    setvbuf(stdout, NULL, _IOLBF, 0);
    mode = argv[2];
    const char *id = argc > 3 ? argv[3] : "selftest";
    if (strcmp(mode, "DRAIN") == 0 && argc > 4) want = atoi(argv[4]);
    loop = evloop_new();
    struct mqtt_config cfg = {.url = argv[1], .client_id = id, .clean_start = strcmp(mode, "ROUNDTRIP") == 0 ||
                                                                           strcmp(mode, "RECONNECT") == 0,
                              .backoff_min_us = 100000, .backoff_max_us = 500000};
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message};
    char err[256];
    sess = mqtt_session_new(loop, &cfg, &h, NULL, err, sizeof err);
    if (!sess) {
        printf("error: %s\n", err);
        return 2;
    }
    if (strcmp(mode, "RECONNECT") != 0) mqtt_session_subscribe(sess, "selftest/#", 1);
    evloop_signal(loop, SIGTERM, on_signal, NULL);
    evloop_timer_init(&deadline, on_deadline, NULL);
    if (strcmp(mode, "RECONNECT") != 0) evloop_timer_start(loop, &deadline, 20000000);
    mqtt_session_start(sess);
    evloop_run(loop);
    mqtt_session_flush(sess, 1000000);
    mqtt_session_free(sess);
    evloop_free(loop);
    return exit_code;
}
