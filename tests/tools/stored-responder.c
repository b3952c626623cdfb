/* stored-responder.c — plays ingest's confirmations for the agent's tests: subscribes to ntpmon/<env>/results/#
 * (persistent session), validates each result with the shared validator and answers
 * ntpmon/<env>/monitors/<name>/stored with the ULIDs, batched per monitor;
 *   --withhold-file F: while F exists nothing is confirmed (results are still recorded);
 *   --reject-server ID: results for that server are confirmed as "rejected".
 * Prints one line per event on stdout for the shell test to assert on:
 *   result <ULID> server <id> monitor <name> seen <n> error '<error>' offset <x> status <status>
 *   invalid <reason>
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    const char *withhold_file;
    int64_t reject_server;
} o;

static const struct opt_spec specs[] = {
    {"withhold-file", 0, NULL, OPT_STRING, &o.withhold_file, NULL, 0, 0, "FILE", "confirm nothing while FILE exists"},
    {"reject-server", 0, NULL, OPT_INT, &o.reject_server, "0", 0, 0, "ID", "confirm this server's results as rejected"},
    {0},
};

struct seen {
    char id[ULID_LEN + 1];
    int count;
};

struct batch {
    char monitor[MSG_NAME_MAX];
    size_t n_ids, n_rej;
    char (*ids)[ULID_LEN + 1];
    char (*rej)[ULID_LEN + 1];
};

static struct evloop *loop;
static struct mqtt_session *sess;
static struct evloop_timer flush_timer;
static struct seen *seen;
static size_t n_seen, cap_seen;
static struct batch *batches;
static size_t n_batches;

static int seen_count(const char *id)
{
    for (size_t i = n_seen; i-- > 0;) /* recent first: re-sends usually follow closely */
        if (strcmp(seen[i].id, id) == 0) return ++seen[i].count;
    if (n_seen == cap_seen) {
        cap_seen = cap_seen ? cap_seen * 2 : 1024;
        seen = xrealloc(seen, cap_seen * sizeof *seen);
    }
    snprintf(seen[n_seen].id, sizeof seen[n_seen].id, "%s", id);
    seen[n_seen].count = 1;
    n_seen++;
    return 1;
}

static struct batch *batch_for(const char *monitor)
{
    for (size_t i = 0; i < n_batches; i++)
        if (strcmp(batches[i].monitor, monitor) == 0) return &batches[i];
    batches = xrealloc(batches, (n_batches + 1) * sizeof *batches);
    struct batch *b = &batches[n_batches++];
    memset(b, 0, sizeof *b);
    snprintf(b->monitor, sizeof b->monitor, "%s", monitor);
    return b;
}

static void on_flush(struct evloop *l, void *arg)
{
    (void)l;
    (void)arg;
    for (size_t i = 0; i < n_batches; i++) {
        struct batch *b = &batches[i];
        if (b->n_ids == 0 && b->n_rej == 0) continue;
        struct msg_stored s = {.n_ids = b->n_ids, .n_rejected = b->n_rej, .ids = b->ids, .rejected = b->rej};
        char *json = msg_stored_encode(&s);
        char topic[MSG_TOPIC_MAX];
        struct msg_topic t = {.kind = MSG_TOPIC_STORED};
        snprintf(t.monitor, sizeof t.monitor, "%s", b->monitor);
        msg_topic_build(topic, sizeof topic, o.common.env, &t);
        if (json && mqtt_publish(sess, topic, json, strlen(json), 1, false, NULL) != MOSQ_ERR_SUCCESS)
            printf("stored publish failed for %s\n", b->monitor);
        free(json);
        b->n_ids = b->n_rej = 0;
    }
}

static void add_id(char (**arr)[ULID_LEN + 1], size_t *n, const char *id)
{
    *arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
    snprintf((*arr)[*n], 27, "%s", id);
    (*n)++;
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    (void)arg;
    struct msg_topic t;
    if (msg_topic_parse(o.common.env, m->topic, &t) != MSG_TOPIC_RESULT) return;
    struct msg_result r;
    char err[MSG_ERR_LEN];
    if (msg_result_validate(o.common.env, m->topic, m->payload, (size_t)m->payloadlen, &r, err) < 0) {
        printf("invalid %s\n", err);
        return;
    }
    int n = seen_count(r.id);
    printf("result %s server %lld monitor %s seen %d error '%s' offset %s%.6f status %s\n", r.id,
           (long long)r.server_id, r.monitor, n, r.error, r.has_offset ? "" : "none", r.has_offset ? r.offset : 0.0,
           msg_pair_status_str(r.status));
    if (o.withhold_file && access(o.withhold_file, F_OK) == 0) return;
    struct batch *b = batch_for(r.monitor);
    if (o.reject_server && r.server_id == o.reject_server) add_id(&b->rej, &b->n_rej, r.id);
    else add_id(&b->ids, &b->n_ids, r.id);
    if (b->n_ids + b->n_rej >= 1000) on_flush(loop, NULL);
    if (!evloop_timer_active(&flush_timer)) evloop_timer_start(loop, &flush_timer, 20000);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)arg;
    printf("connected session_present=%d\n", present);
}

static void on_signal(struct evloop *l, int signo, void *arg)
{
    (void)signo;
    (void)arg;
    evloop_stop(l);
}

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&o.common), opts_mqtt_specs(&o.mqtt), specs, NULL};
    const struct opt_program prog = {.name = "stored-responder", .usage = "[options]",
                                     .description = "Confirms agents' results in tests.",
                                     .groups = groups};
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &o.common);
    if (first < argc) opts_usage_error(&prog, "unexpected argument '%s'", argv[first]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    char err[256];
    char *token = NULL;
    struct jwt_claims_peek claims = {0};
    if (o.mqtt.token_file || getenv("MQTT_TOKEN")) {
        token = opts_mqtt_token(&o.mqtt, err, sizeof err);
        if (!token || jwt_peek(token, &claims, err, sizeof err) < 0) opts_usage_error(&prog, "%s", err);
    }
    loop = evloop_new();
    struct mqtt_config cfg = {.url = o.mqtt.url, .client_id = o.mqtt.client_id ? o.mqtt.client_id : "stored-responder",
                              .username = token ? claims.sub : NULL, .password = token, .ca_file = o.mqtt.ca_file,
                              .clean_start = false, .backoff_min_us = 100000, .backoff_max_us = 1000000};
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message};
    sess = mqtt_session_new(loop, &cfg, &h, NULL, err, sizeof err);
    if (!sess) opts_usage_error(&prog, "%s", err);
    char filter[MSG_TOPIC_MAX];
    msg_filter_results(filter, sizeof filter, o.common.env);
    mqtt_session_subscribe(sess, filter, 1);
    evloop_timer_init(&flush_timer, on_flush, NULL);
    evloop_signal(loop, SIGTERM, on_signal, NULL);
    evloop_signal(loop, SIGINT, on_signal, NULL);
    mqtt_session_start(sess);
    evloop_run(loop);
    on_flush(loop, NULL);
    mqtt_session_flush(sess, 1000000);
    mqtt_session_free(sess);
    evloop_free(loop);
    for (size_t i = 0; i < n_batches; i++) {
        free(batches[i].ids);
        free(batches[i].rej);
    }
    free(batches);
    free(seen);
    free(token);
    return 0;
}
