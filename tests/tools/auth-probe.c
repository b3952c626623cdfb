/* auth-probe.c — a small MQTT 5 client for the broker-auth tests: connects with a username and token, then runs
 * operations and prints one result line each, so shell tests can assert on exactly what the broker allowed.
 *
 *   auth-probe -p PORT -u USER (-P TOKEN | -f TOKEN_FILE) [-i CLIENT_ID] [-c] [-w MS] OP…
 *     pub:TOPIC      publish QoS 1          → "pub TOPIC ok" | "pub TOPIC denied" | "pub TOPIC timeout"
 *     size:BYTES     later pubs carry BYTES of 'x' (default 1)
 *     sub:FILTER     subscribe QoS 1        → "sub FILTER ok" | "sub FILTER denied" | …
 *     recv:TOPIC     wait for a message     → "recv TOPIC got PAYLOAD" | "recv TOPIC none"
 *     -              read further OPs from stdin, one per line, until EOF
 *   first line: "connect ok" or "connect refused CODE"; "disconnected CODE" whenever the broker drops us.
 *   -c: persistent session (clean start off, session expiry 1 h); -w: per-operation timeout (default 3000 ms);
 *   -l: print received payloads as their length ("got N bytes"). */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timeutil.h"

static int connack = -1, pending_mid = -1, pending_result = -1;
static bool print_lengths;
/* Messages received and not yet consumed by a recv op (they may arrive before the op is read). */
#define INBOX_MAX 64
static struct {
    char topic[256], payload[8192];
} inbox[INBOX_MAX];
static int inbox_n;

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags, const mosquitto_property *props)
{
    (void)m;
    (void)obj;
    (void)flags;
    (void)props;
    connack = rc;
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *props)
{
    (void)m;
    (void)obj;
    (void)props;
    if (connack == 0) printf("disconnected %d\n", rc);
    fflush(stdout);
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason, const mosquitto_property *props)
{
    (void)m;
    (void)obj;
    (void)props;
    if (mid == pending_mid) pending_result = reason;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
    (void)m;
    (void)obj;
    (void)props;
    if (mid == pending_mid) pending_result = n > 0 ? granted[0] : 0x80;
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)m;
    (void)obj;
    (void)props;
    if (inbox_n == INBOX_MAX) return;
    snprintf(inbox[inbox_n].topic, sizeof inbox[0].topic, "%s", msg->topic);
    if (print_lengths)
        snprintf(inbox[inbox_n].payload, sizeof inbox[0].payload, "%d bytes", msg->payloadlen);
    else
        snprintf(inbox[inbox_n].payload, sizeof inbox[0].payload, "%.*s", msg->payloadlen,
                 msg->payload ? (char *)msg->payload : "");
    inbox_n++;
}

static const char *wanted_topic;
static char taken_payload[8192];
/* Takes the first inbox message on wanted_topic. */
static bool take_wanted(void)
{
    for (int i = 0; i < inbox_n; i++) {
        if (strcmp(inbox[i].topic, wanted_topic) != 0) continue;
        snprintf(taken_payload, sizeof taken_payload, "%s", inbox[i].payload);
        memmove(&inbox[i], &inbox[i + 1], (size_t)(inbox_n - i - 1) * sizeof inbox[0]);
        inbox_n--;
        return true;
    }
    return false;
}

/* Runs the network loop until *flag says done or timeout_ms passes. */
static bool wait_for(struct mosquitto *m, bool (*done)(void), int timeout_ms)
{
    int64_t deadline = time_mono_us() + (int64_t)timeout_ms * 1000;
    while (!done()) {
        if (time_mono_us() >= deadline) return false;
        int rc = mosquitto_loop(m, 50, 1);
        if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_CONN_LOST) usleep(10000);
        if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) usleep(10000);
    }
    return true;
}
static bool connack_done(void) { return connack >= 0; }
static bool result_done(void) { return pending_result >= 0; }

static int timeout_ms = 3000;
static char *pub_payload;
static size_t pub_size = 1;

static void run_op(struct mosquitto *m, const char *op)
{
    if (strncmp(op, "pub:", 4) == 0) {
        pending_result = -1;
        int rc = mosquitto_publish_v5(m, &pending_mid, op + 4, (int)pub_size, pub_payload, 1, false, NULL);
        if (rc != MOSQ_ERR_SUCCESS) printf("pub %s error %s\n", op + 4, mosquitto_strerror(rc));
        else if (!wait_for(m, result_done, timeout_ms)) printf("pub %s timeout\n", op + 4);
        else printf("pub %s %s\n", op + 4, pending_result >= 0x80 ? "denied" : "ok");
    } else if (strncmp(op, "sub:", 4) == 0) {
        pending_result = -1;
        int rc = mosquitto_subscribe_v5(m, &pending_mid, op + 4, 1, 0, NULL);
        if (rc != MOSQ_ERR_SUCCESS) printf("sub %s error %s\n", op + 4, mosquitto_strerror(rc));
        else if (!wait_for(m, result_done, timeout_ms)) printf("sub %s timeout\n", op + 4);
        else printf("sub %s %s\n", op + 4, pending_result >= 0x80 ? "denied" : "ok");
    } else if (strncmp(op, "size:", 5) == 0) {
        size_t n = strtoul(op + 5, NULL, 10);
        char *p = n ? malloc(n) : NULL;
        if (!p) {
            printf("size %s error\n", op + 5);
        } else {
            memset(p, 'x', n);
            free(pub_payload);
            pub_payload = p;
            pub_size = n;
            printf("size %zu ok\n", n);
        }
    } else if (strncmp(op, "recv:", 5) == 0) {
        wanted_topic = op + 5;
        if (wait_for(m, take_wanted, timeout_ms)) printf("recv %s got %s\n", op + 5, taken_payload);
        else printf("recv %s none\n", op + 5);
    } else {
        printf("bad op %s\n", op);
    }
    fflush(stdout);
}

/* Ops from stdin; between lines the network loop keeps running so a disconnect is reported when it happens. */
static void run_stdin(struct mosquitto *m)
{
    char buf[8192];
    size_t len = 0;
    for (;;) {
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        int r = poll(&pfd, 1, 20);
        if (r > 0) {
            ssize_t n = read(STDIN_FILENO, buf + len, sizeof buf - 1 - len);
            if (n <= 0) return;
            len += (size_t)n;
            char *nl;
            while ((nl = memchr(buf, '\n', len))) {
                *nl = '\0';
                buf[strcspn(buf, "\r")] = '\0';
                if (buf[0]) run_op(m, buf);
                len -= (size_t)(nl + 1 - buf);
                memmove(buf, nl + 1, len);
            }
            if (len == sizeof buf - 1) len = 0;
        }
        mosquitto_loop(m, 10, 1);
    }
}

int main(int argc, char **argv)
{
    const char *user = NULL, *pass = NULL, *pass_file = NULL, *id = NULL, *host = "127.0.0.1";
    int port = 1883, opt;
    bool persistent = false;
    while ((opt = getopt(argc, argv, "h:p:u:P:f:i:cw:l")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'u': user = optarg; break;
        case 'P': pass = optarg; break;
        case 'f': pass_file = optarg; break;
        case 'i': id = optarg; break;
        case 'c': persistent = true; break;
        case 'w': timeout_ms = atoi(optarg); break;
        case 'l': print_lengths = true; break;
        default: fprintf(stderr, "usage: see the comment at the top of auth-probe.c\n"); return 2;
        }
    }
    static char token[16384];
    if (pass_file) {
        FILE *f = fopen(pass_file, "r");
        if (!f || !fgets(token, sizeof token, f)) {
            fprintf(stderr, "auth-probe: cannot read %s\n", pass_file);
            return 2;
        }
        fclose(f);
        token[strcspn(token, "\r\n")] = '\0';
        pass = token;
    }
    pub_payload = strdup("x");
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new(id, !persistent, NULL);
    if (!m) return 2;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_disconnect_v5_callback_set(m, on_disconnect);
    mosquitto_publish_v5_callback_set(m, on_publish);
    mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, on_message);
    if (user) mosquitto_username_pw_set(m, user, pass);
    mosquitto_property *props = NULL;
    if (persistent) mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 3600);
    int rc = mosquitto_connect_bind_v5(m, host, port, 30, NULL, props);
    mosquitto_property_free_all(&props);
    int status = 0;
    if (rc != MOSQ_ERR_SUCCESS) {
        printf("connect error %s\n", mosquitto_strerror(rc));
        status = 1;
    } else if (!wait_for(m, connack_done, timeout_ms)) {
        printf("connect timeout\n");
        status = 1;
    } else if (connack != 0) {
        printf("connect refused %d\n", connack);
    }
    if (status || connack != 0) {
        mosquitto_destroy(m);
        mosquitto_lib_cleanup();
        free(pub_payload);
        return status;
    }
    printf("connect ok\n");
    fflush(stdout);
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            run_stdin(m);
        } else {
            run_op(m, argv[i]);
        }
    }
    mosquitto_disconnect_v5(m, 0, NULL);
    mosquitto_loop(m, 50, 1);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    free(pub_payload);
    return 0;
}
