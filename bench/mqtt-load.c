/* mqtt-load.c — MQTT load generator for benchmarks (bench/broker-auth-*.sh), MQTT 5 with TCP_NODELAY:
 *   mqtt-load -p PORT throughput -t TOPIC -s FILTER -n N [-q QOS] [-b BYTES] [-u U -P TOKEN] [-U U2 -W TOKEN2]
 *       one publisher (-u/-P) sends N messages of BYTES to TOPIC, one subscriber (-U/-W) on FILTER receives them;
 *       prints "throughput msgs=N seconds=S rate=R" (first publish to last message received)
 *   mqtt-load -p PORT connect -n N [-u U -P TOKEN]
 *       N sequential connect + CONNACK + disconnect; prints "connect n=N seconds=S rate=R refused=K" */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timeutil.h"

static atomic_int received, subscribed, connacked = -1;
static int want;
static int64_t last_us;

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
    (void)m;
    (void)obj;
    (void)msg;
    if (++received == want) last_us = time_mono_us();
}
static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
    (void)m;
    (void)obj;
    (void)mid;
    subscribed = n > 0 && granted[0] < 0x80 ? 1 : -1;
}
static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    (void)obj;
    connacked = rc;
}

static struct mosquitto *client(const char *user, const char *pass, int port)
{
    struct mosquitto *m = mosquitto_new(NULL, true, NULL);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 100);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, 100);
    if (user) mosquitto_username_pw_set(m, user, pass);
    mosquitto_connect_callback_set(m, on_connect);
    connacked = -1;
    if (mosquitto_connect(m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m);
        return NULL;
    }
    return m;
}

static bool wait_connack(struct mosquitto *m)
{
    int64_t deadline = time_mono_us() + 5000000;
    while (connacked < 0 && time_mono_us() < deadline) mosquitto_loop(m, 10, 1);
    return connacked == 0;
}

int main(int argc, char **argv)
{
    const char *pu = NULL, *pp = NULL, *su = NULL, *sp = NULL, *topic = "bench/t", *filter = "bench/#";
    int port = 1883, n = 10000, qos = 1, bytes = 280, opt;
    while ((opt = getopt(argc, argv, "p:t:s:n:q:b:u:P:U:W:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 't': topic = optarg; break;
        case 's': filter = optarg; break;
        case 'n': n = atoi(optarg); break;
        case 'q': qos = atoi(optarg); break;
        case 'b': bytes = atoi(optarg); break;
        case 'u': pu = optarg; break;
        case 'P': pp = optarg; break;
        case 'U': su = optarg; break;
        case 'W': sp = optarg; break;
        default: return 2;
        }
    }
    if (optind >= argc) return 2;
    mosquitto_lib_init();
    if (strcmp(argv[optind], "connect") == 0) {
        int refused = 0;
        int64_t t0 = time_mono_us();
        for (int i = 0; i < n; i++) {
            struct mosquitto *m = client(pu, pp, port);
            if (!m || !wait_connack(m)) refused++;
            if (m) {
                mosquitto_disconnect(m);
                mosquitto_loop(m, 1, 1);
                mosquitto_destroy(m);
            }
        }
        double s = (double)(time_mono_us() - t0) / 1e6;
        printf("connect n=%d seconds=%.3f rate=%.0f refused=%d\n", n, s, n / s, refused);
        return refused ? 1 : 0;
    }
    want = n;
    struct mosquitto *sub = client(su ? su : pu, su ? sp : pp, port);
    if (!sub || !wait_connack(sub)) {
        printf("subscriber cannot connect\n");
        return 1;
    }
    mosquitto_message_callback_set(sub, on_message);
    mosquitto_subscribe_callback_set(sub, on_subscribe);
    mosquitto_subscribe(sub, NULL, filter, qos);
    while (!subscribed) mosquitto_loop(sub, 10, 1);
    if (subscribed < 0) {
        printf("subscription refused\n");
        return 1;
    }
    mosquitto_loop_start(sub);
    struct mosquitto *pub = client(pu, pp, port);
    if (!pub || !wait_connack(pub)) {
        printf("publisher cannot connect\n");
        return 1;
    }
    mosquitto_loop_start(pub);
    char *payload = malloc((size_t)bytes);
    memset(payload, 'x', (size_t)bytes);
    int64_t t0 = time_mono_us();
    for (int i = 0; i < n; i++) {
        int rc;
        while ((rc = mosquitto_publish(pub, NULL, topic, bytes, payload, qos, false)) == MOSQ_ERR_OVERSIZE_PACKET ||
               rc == MOSQ_ERR_NOMEM)
            usleep(100);
        if (rc != MOSQ_ERR_SUCCESS) {
            printf("publish failed: %s\n", mosquitto_strerror(rc));
            return 1;
        }
    }
    int64_t deadline = time_mono_us() + 120000000;
    while (received < want && time_mono_us() < deadline) usleep(1000);
    double s = (double)((received == want ? last_us : time_mono_us()) - t0) / 1e6;
    printf("throughput msgs=%d seconds=%.3f rate=%.0f\n", (int)received, s, received / s);
    mosquitto_disconnect(pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(pub, false);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    free(payload);
    mosquitto_lib_cleanup();
    return received == want ? 0 : 1;
}
