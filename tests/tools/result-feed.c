/* result-feed.c — publishes result messages for tests and benchmarks while the agent is not in the picture:
 * reads lines from stdin and publishes each with QoS 1, then waits until the broker acknowledged them all.
 *   a JSON result          → ntpmon/<env>/results/<server_id>/<monitor> (taken from the payload)
 *   @TOPIC PAYLOAD         → exactly that topic and payload (bad input: wrong topics, broken JSON, …)
 * result-feed URL [--env E] [--rate N] [--window N] [--stamp] [--input FILE]
 *   --rate N     at most N messages per second (0: as fast as the window allows)
 *   --window N   at most N unacknowledged messages in flight (default 500)
 *   --stamp      replace each result's "ts" with the publish time (latency benchmarks)
 *   --input FILE read FILE instead of stdin (a background job's stdin is /dev/null)
 * With $MQTT_TOKEN (a broker with the auth plugin) it logs in as the token's sub; without, anonymously.
 * Prints "published N" and exits 0 once every message is acknowledged; 1 on a timeout or error. */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "jwtpeek.h"
#include "log.h"
#include "msg.h"
#include "mqtt.h"
#include "timeutil.h"

static struct evloop *loop;
static struct mqtt_session *sess;
static struct evloop_timer tick, deadline;
static char **lines;
static size_t n_lines, next, acked;
static const char *env = "test";
static double rate;
static int window = 500;
static bool stamp, started;
static int64_t t_start;
static int exit_code = 1;

static int topic_for(const char *line, char *topic, size_t len, char **payload_out)
{
    json_object *o = json_tokener_parse(line);
    json_object *sid = NULL, *mon = NULL;
    int rc = -1;
    if (o && json_object_object_get_ex(o, "server_id", &sid) && json_object_object_get_ex(o, "monitor", &mon)) {
        struct msg_topic t = {.kind = MSG_TOPIC_RESULT, .server_id = json_object_get_int64(sid)};
        snprintf(t.monitor, sizeof t.monitor, "%s", json_object_get_string(mon));
        rc = msg_topic_build(topic, len, env, &t);
        if (rc == 0 && stamp) {
            char ts[TIME_RFC3339_LEN];
            time_format_rfc3339(time_now_us(), ts);
            json_object_object_add(o, "ts", json_object_new_string(ts));
            *payload_out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        }
    }
    json_object_put(o);
    return rc;
}

static void pump(void)
{
    if (!started) return;
    int64_t now = time_mono_us();
    while (next < n_lines && (int)(next - acked) < window) {
        if (rate > 0 && (double)next > (double)(now - t_start) / 1e6 * rate) break;
        const char *line = lines[next];
        char topic[MSG_TOPIC_MAX];
        const char *payload = line;
        char *owned = NULL;
        if (line[0] == '@') {
            const char *sp = strchr(line, ' ');
            size_t tl = sp ? (size_t)(sp - line - 1) : strlen(line + 1);
            if (tl >= sizeof topic) tl = sizeof topic - 1;
            memcpy(topic, line + 1, tl);
            topic[tl] = '\0';
            payload = sp ? sp + 1 : "";
        } else if (topic_for(line, topic, sizeof topic, &owned) < 0) {
            fprintf(stderr, "line %zu: no server_id/monitor to build a topic from\n", next + 1);
            exit(1);
        }
        if (owned) payload = owned;
        int rc = mqtt_publish(sess, topic, payload, strlen(payload), 1, false, NULL);
        free(owned);
        if (rc != MOSQ_ERR_SUCCESS) break; /* not connected: the reconnect resumes */
        next++;
    }
    if (next < n_lines) evloop_timer_start(loop, &tick, rate > 0 ? 1000 : 200);
}

static void on_tick(struct evloop *l, void *arg)
{
    (void)l;
    (void)arg;
    pump();
}

static void on_deadline(struct evloop *l, void *arg)
{
    (void)arg;
    fprintf(stderr, "timeout: %zu of %zu acknowledged\n", acked, n_lines);
    evloop_stop(l);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    (void)arg;
    if (!started) {
        started = true;
        t_start = time_mono_us();
    }
    if (n_lines == 0) {
        exit_code = 0;
        evloop_stop(loop);
        return;
    }
    evloop_timer_start(loop, &tick, 0);
}

static void on_publish(struct mqtt_session *s, int mid, int reason, void *arg)
{
    (void)s;
    (void)mid;
    (void)arg;
    if (reason >= 0x80) fprintf(stderr, "publish refused: reason %d\n", reason);
    acked++;
    if (acked == n_lines) {
        exit_code = 0;
        evloop_stop(loop);
    } else if (!evloop_timer_active(&tick)) {
        evloop_timer_start(loop, &tick, 0);
    }
}

int main(int argc, char **argv)
{
    log_init("result-feed");
    if (argc < 2) {
        fprintf(stderr, "usage: result-feed URL [--env E] [--rate N] [--window N] [--stamp] [--input FILE]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--env") == 0 && i + 1 < argc) env = argv[++i];
        else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc) window = atoi(argv[++i]);
        else if (strcmp(argv[i], "--stamp") == 0) stamp = true;
        else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc) {
            if (!freopen(argv[++i], "r", stdin)) {
                perror(argv[i]);
                return 2;
            }
        }
        else {
            fprintf(stderr, "result-feed: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    char *line = NULL;
    size_t cap = 0, cap_lines = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        if (n_lines == cap_lines) {
            cap_lines = cap_lines ? cap_lines * 2 : 1024;
            lines = realloc(lines, cap_lines * sizeof *lines);
        }
        lines[n_lines++] = strdup(line);
    }
    free(line);
    signal(SIGPIPE, SIG_IGN);
    loop = evloop_new();
    evloop_timer_init(&tick, on_tick, NULL);
    evloop_timer_init(&deadline, on_deadline, NULL);
    char client_id[64], err[256];
    snprintf(client_id, sizeof client_id, "result-feed-%d", (int)getpid());
    const char *token = getenv("MQTT_TOKEN");
    struct jwt_claims_peek claims = {.sub = ""};
    if (token && *token && jwt_peek(token, &claims, err, sizeof err) < 0) {
        fprintf(stderr, "result-feed: bad $MQTT_TOKEN: %s\n", err);
        return 2;
    }
    struct mqtt_config cfg = {.url = argv[1], .client_id = client_id, .clean_start = true,
                              .username = claims.sub[0] ? claims.sub : NULL, .password = claims.sub[0] ? token : NULL};
    struct mqtt_handlers h = {on_connect, NULL, NULL, on_publish};
    sess = mqtt_session_new(loop, &cfg, &h, NULL, err, sizeof err);
    if (!sess) {
        fprintf(stderr, "result-feed: %s\n", err);
        return 2;
    }
    mqtt_session_start(sess);
    evloop_timer_start(loop, &deadline, 120 * 1000000LL);
    evloop_run(loop);
    mqtt_session_stop(sess);
    mqtt_session_free(sess);
    evloop_free(loop);
    double secs = (double)(time_mono_us() - t_start) / 1e6;
    printf("published %zu in %.3f s (%.0f/s)\n", acked, secs, secs > 0 ? (double)acked / secs : 0);
    for (size_t i = 0; i < n_lines; i++) free(lines[i]);
    free(lines);
    return exit_code;
}
