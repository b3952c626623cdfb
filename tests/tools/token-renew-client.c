/* token-renew-client.c — stands in for the agent's token renewal (DESIGN.md §4) in the broker-auth tests until the
 * agent lands: connects as monitor NAME with the token in TOKEN_FILE (persistent session), publishes its status
 * every INTERVAL_MS, and when less than a third of the token's lifetime is left publishes `token/request`, takes
 * the answer from `…/token` and reconnects with the new token.
 *   token-renew-client URL NAME TOKEN_FILE [INTERVAL_MS]      (env from $DEPLOYMENT_MODE, default test)
 * Prints "connected N", "renew requested", "renewed exp=E at=T" (T: when it arrived, Unix s), "refused: REASON", "publish denied"; on SIGTERM
 * "summary ok=N denied=N renewals=N connects=N". */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "jwtpeek.h"
#include "log.h"
#include "mqtt.h"
#include "msg.h"
#include "timeutil.h"

static struct evloop *loop;
static struct mqtt_session *sess;
static struct evloop_timer tick;
static const char *env, *name;
static char *token;
static int64_t iat, exp_s, interval_us, request_sent_us, retry_after_us;
static bool renew_pending, reconnect_needed;
static int n_ok, n_denied, n_renewals, n_connects;
static char status_topic[MSG_TOPIC_MAX], request_topic[MSG_TOPIC_MAX], token_topic[MSG_TOPIC_MAX];

static int use_token(char *t)
{
    struct jwt_claims_peek p;
    char err[160];
    if (jwt_peek(t, &p, err, sizeof err) < 0 || p.exp <= 0) {
        printf("bad token: %s\n", err);
        return -1;
    }
    free(token);
    token = t;
    iat = p.iat ? p.iat : time_now_us() / 1000000;
    exp_s = p.exp;
    return 0;
}

static void on_tick(struct evloop *l, void *arg)
{
    (void)arg;
    int64_t now = time_mono_us(), wall = time_now_us() / 1000000;
    if (reconnect_needed) {
        reconnect_needed = false;
        mqtt_session_reconnect(sess);
    }
    if (mqtt_session_connected(sess)) {
        mqtt_publish(sess, status_topic, "{\"online\":true}", 15, 1, false, NULL);
        bool due = wall >= exp_s - (exp_s - iat) / 3;
        if (due && now >= retry_after_us && (!renew_pending || now - request_sent_us > 5000000)) {
            if (mqtt_publish(sess, request_topic, "{}", 2, 1, false, NULL) == MOSQ_ERR_SUCCESS) {
                renew_pending = true;
                request_sent_us = now;
                printf("renew requested\n");
            }
        }
    }
    fflush(stdout);
    evloop_timer_start(l, &tick, interval_us);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    (void)arg;
    printf("connected %d\n", ++n_connects);
    fflush(stdout);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)props;
    (void)arg;
    if (strcmp(m->topic, token_topic) != 0) return;
    struct msg_token t;
    char err[MSG_ERR_LEN];
    renew_pending = false;
    if (msg_token_decode(m->payload, (size_t)m->payloadlen, &t, err) < 0) {
        printf("bad reply: %s\n", err);
    } else if (t.error[0] || !t.token) {
        printf("refused: %s\n", t.error);
        retry_after_us = time_mono_us() + 2000000;
    } else {
        char *nt = t.token;
        t.token = NULL;
        if (use_token(nt) == 0) {
            n_renewals++;
            printf("renewed exp=%lld at=%lld\n", (long long)exp_s, (long long)(time_now_us() / 1000000));
            mqtt_session_set_credentials(s, name, token);
            reconnect_needed = true;
        } else {
            free(nt);
        }
    }
    msg_token_free(&t);
    fflush(stdout);
}

static void on_publish(struct mqtt_session *s, int mid, int reason, void *arg)
{
    (void)s;
    (void)mid;
    (void)arg;
    if (reason >= 0x80) {
        n_denied++;
        printf("publish denied\n");
    } else {
        n_ok++;
    }
}

static void on_signal(struct evloop *l, int signo, void *arg)
{
    (void)signo;
    (void)arg;
    evloop_stop(l);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: token-renew-client URL NAME TOKEN_FILE [INTERVAL_MS]\n");
        return 2;
    }
    log_init("token-renew-client");
    env = getenv("DEPLOYMENT_MODE") ? getenv("DEPLOYMENT_MODE") : "test";
    name = argv[2];
    interval_us = (argc > 4 ? atoll(argv[4]) : 200) * 1000;
    FILE *f = fopen(argv[3], "r");
    char buf[8192];
    if (!f || !fgets(buf, sizeof buf, f)) {
        fprintf(stderr, "cannot read %s\n", argv[3]);
        return 2;
    }
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    if (use_token(strdup(buf)) < 0) return 2;
    struct msg_topic t = {.kind = MSG_TOPIC_MONITOR_STATUS};
    snprintf(t.monitor, sizeof t.monitor, "%s", name);
    msg_topic_build(status_topic, sizeof status_topic, env, &t);
    t.kind = MSG_TOPIC_TOKEN_REQUEST;
    msg_topic_build(request_topic, sizeof request_topic, env, &t);
    t.kind = MSG_TOPIC_TOKEN;
    msg_topic_build(token_topic, sizeof token_topic, env, &t);

    loop = evloop_new();
    struct mqtt_config cfg = {.url = argv[1], .client_id = name, .username = name, .password = token,
                              .clean_start = false, .backoff_min_us = 100000, .backoff_max_us = 1000000};
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message, .on_publish = on_publish};
    char err[256];
    sess = mqtt_session_new(loop, &cfg, &h, NULL, err, sizeof err);
    if (!sess) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    mqtt_session_subscribe(sess, token_topic, 1);
    evloop_signal(loop, SIGTERM, on_signal, NULL);
    evloop_signal(loop, SIGINT, on_signal, NULL);
    evloop_timer_init(&tick, on_tick, NULL);
    evloop_timer_start(loop, &tick, interval_us);
    mqtt_session_start(sess);
    evloop_run(loop);
    mqtt_session_flush(sess, 1000000);
    mqtt_session_stop(sess);
    mqtt_session_free(sess);
    evloop_free(loop);
    printf("summary ok=%d denied=%d renewals=%d connects=%d\n", n_ok, n_denied, n_renewals, n_connects);
    free(token);
    return 0;
}
