/* assign-count.c — the assignment traffic for bench/scale.sh: one MQTT session (an admin token: only it may read
 * every monitor's assign topic) subscribed QoS 1 to E/monitors/+/assign/# (the assign topic and anything a later
 * selector puts under it, e.g. a delta topic), writing one line per message received:
 *
 *   <receive time, unix µs> <retained 0|1> <payload bytes> <ts> <seq> <servers> <topic>
 *
 * ts, seq and the length of servers are read from the JSON payload ("-" when absent or unreadable): the selector
 * stamps every message of one publication pass with the same ts, so bench/scale.sh groups messages into review
 * rounds by ts — no clock of ours decides what belongs together.
 *
 *   assign-count --mqtt-url URL --out FILE [-e ENV] [--filter F]   (token: $MQTT_TOKEN, its sub as user name)
 * Runs until SIGTERM/SIGINT. */
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "mqtt.h"
#include "msg.h"
#include "opts.h"
#include "timeutil.h"

static struct opts_common common;
static const char *url, *out_path, *filter_opt, *user;
static const struct opt_spec specs[] = {
    {"mqtt-url", 0, "MQTT_URL", OPT_STRING, &url, "mqtt://127.0.0.1:1883", 0, 0, "URL", "broker"},
    {"user", 0, NULL, OPT_STRING, &user, "admin", 0, 0, "NAME", "the token's sub (the admin role's is 'admin')"},
    {"out", 0, NULL, OPT_STRING, &out_path, NULL, 0, 0, "FILE", "one line per message received (required)"},
    {"filter", 0, NULL, OPT_STRING, &filter_opt, NULL, 0, 0, "FILTER", "default: ntpmon/<env>/monitors/+/assign/#"},
    {0},
};

static struct evloop *loop;
static FILE *out;
static uint64_t n_msgs, n_bytes;

static void on_signal(struct evloop *l, int signo, void *arg)
{
    (void)signo;
    (void)arg;
    evloop_stop(l);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *msg, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    (void)arg;
    int64_t now = time_now_us();
    char ts[64] = "-", seq[32] = "-", servers[32] = "-";
    struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
    struct json_object *root = tok ? json_tokener_parse_ex(tok, msg->payload, msg->payloadlen) : NULL;
    struct json_object *v;
    if (root && json_object_is_type(root, json_type_object)) {
        if (json_object_object_get_ex(root, "ts", &v)) {
            snprintf(ts, sizeof ts, "%s", json_object_get_string(v));
            for (char *p = ts; *p; p++)
                if (*p == ' ') *p = '_'; /* one field of the line */
        }
        if (json_object_object_get_ex(root, "seq", &v)) snprintf(seq, sizeof seq, "%" PRId64, json_object_get_int64(v));
        if (json_object_object_get_ex(root, "servers", &v) && json_object_is_type(v, json_type_array))
            snprintf(servers, sizeof servers, "%zu", json_object_array_length(v));
    }
    json_object_put(root);
    if (tok) json_tokener_free(tok);
    n_msgs++;
    n_bytes += (uint64_t)msg->payloadlen;
    fprintf(out, "%" PRId64 " %d %d %s %s %s %s\n", now, msg->retain ? 1 : 0, msg->payloadlen, ts, seq, servers,
            msg->topic);
    fflush(out); /* the script reads the file while we run */
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    (void)arg;
    fprintf(stderr, "assign-count: subscribed\n");
}

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&common), specs, NULL};
    struct opt_program prog = {"assign-count", "[options]", "Counts assign messages for bench/scale.sh (see the source).",
                               groups, NULL};
    opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &common);
    if (!out_path) opts_usage_error(&prog, "--out is required");
    const char *token = getenv("MQTT_TOKEN");
    if (!token || !*token) opts_usage_error(&prog, "MQTT_TOKEN must hold a token that may read the assign topics");
    if (!(out = fopen(out_path, "w"))) opts_usage_error(&prog, "cannot write %s", out_path);
    char filter[MSG_TOPIC_MAX + 8];
    /* a filter, not a topic: common/msg builds topics for one named monitor only */
    if (filter_opt) snprintf(filter, sizeof filter, "%s", filter_opt);
    else snprintf(filter, sizeof filter, "ntpmon/%s/monitors/+/assign/#", common.env);

    loop = evloop_new();
    char client_id[128], err[512];
    mqtt_client_id_for(user, "assign-count", client_id, sizeof client_id);
    struct mqtt_config cfg = {.url = url, .client_id = client_id, .username = user, .password = token,
                              .clean_start = true, .backoff_min_us = 100000, .backoff_max_us = 2000000,
                              .receive_maximum = 1000};
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message};
    struct mqtt_session *sess = mqtt_session_new(loop, &cfg, &h, NULL, err, sizeof err);
    if (!sess) opts_usage_error(&prog, "%s", err);
    mqtt_session_subscribe(sess, filter, 1);
    mqtt_session_start(sess);
    evloop_signal(loop, SIGTERM, on_signal, NULL);
    evloop_signal(loop, SIGINT, on_signal, NULL);
    evloop_run(loop);
    fprintf(stderr, "assign-count: %" PRIu64 " messages, %" PRIu64 " bytes\n", n_msgs, n_bytes);
    mqtt_session_stop(sess);
    mqtt_session_free(sess);
    evloop_free(loop);
    fclose(out);
    return 0;
}
