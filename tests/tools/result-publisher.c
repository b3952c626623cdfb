/* result-publisher.c — a stand-in for the agent's spool in ingest's tests and benchmark (the agent has not landed):
 * one monitor publishing valid results for a set of servers with QoS 1, keeping every result until a `stored`
 * message names it, re-sending what is unconfirmed after a timeout and after every reconnect — the contract of
 * DESIGN.md §2 — and reporting at the end how many it made and how many were confirmed.
 *
 *   result-publisher --monitor NAME --servers 1-10 --count N [--window W] [--resend-timeout 5s] [--deadline 300s]
 *                    [--rate N] [--ids-out FILE] [--latency-out FILE]
 *   result-publisher --monitor NAME --servers 1-10 --count N --no-confirm   publish, count PUBACKs (no ingest)
 *   result-publisher --sink --count N                                      count N results on the shared filter
 * The last line is "key=value …"; exit 0 when every result was confirmed (or acknowledged / received). */
#include <inttypes.h>
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
#include "timeutil.h"
#include "ulid.h"
#include "xalloc.h"

enum item_state { IT_UNSENT = 0, IT_SENT, IT_CONFIRMED, IT_REJECTED };

struct item {
    char id[ULID_LEN + 1];
    int64_t server_id;
    char *payload;
    int64_t last_send_mono;
    int64_t first_send_wall;
    int64_t latency_us;
    uint8_t state;
};

static struct opts_common common;
static const char *url, *monitor, *servers_arg, *client_id, *ids_out, *latency_out, *group;
static int64_t count, window, resend_timeout, deadline, rate;
static bool no_confirm, sink;

static const struct opt_spec specs[] = {
    {"mqtt-url", 0, "MQTT_URL", OPT_STRING, &url, "mqtt://127.0.0.1:1883", 0, 0, "URL", "broker"},
    {"monitor", 0, NULL, OPT_STRING, &monitor, "pub1", 0, 0, "NAME", "monitor name (topic level and client id)"},
    {"client-id", 0, NULL, OPT_STRING, &client_id, NULL, 0, 0, "ID", "MQTT client id (default: the monitor name)"},
    {"servers", 0, NULL, OPT_STRING, &servers_arg, "1", 0, 0, "LIST", "server ids: 1,2,5 or 1-10"},
    {"count", 'n', NULL, OPT_INT, &count, "1000", 1, 100000000, "N", "results to make"},
    {"window", 0, NULL, OPT_INT, &window, "2000", 1, 100000000, "N", "unconfirmed results in flight at most"},
    {"resend-timeout", 0, NULL, OPT_DURATION, &resend_timeout, "5s", 0.01, 86400, "DURATION",
     "re-send a result unconfirmed for this long"},
    {"rate", 0, NULL, OPT_INT, &rate, "0", 0, 10000000, "N", "publish at most N new results per second (0: no limit)"},
    {"deadline", 0, NULL, OPT_DURATION, &deadline, "300s", 0.1, 86400, "DURATION", "give up after this long"},
    {"ids-out", 0, NULL, OPT_STRING, &ids_out, NULL, 0, 0, "FILE", "write every id made, one per line"},
    {"latency-out", 0, NULL, OPT_STRING, &latency_out, NULL, 0, 0, "FILE",
     "write each result's publish→confirmation latency in µs, one per line"},
    {"no-confirm", 0, NULL, OPT_FLAG, &no_confirm, NULL, 0, 0, NULL, "done when the broker acknowledged everything"},
    {"sink", 0, NULL, OPT_FLAG, &sink, NULL, 0, 0, NULL, "subscribe to the shared results filter and count"},
    {"group", 0, NULL, OPT_STRING, &group, "ingest", 0, 0, "NAME", "shared subscription group for --sink"},
    {0},
};

static struct evloop *loop;
static struct mqtt_session *sess;
static struct item *items;
static int32_t *index_tab; /* open addressing: id → item index + 1 */
static size_t index_cap;
static int64_t *server_ids;
static size_t n_servers;
static size_t next_unsent, outstanding, acked;
static uint64_t resent, confirmed, rejected, unexpected, dup_confirms, received;
static int64_t first_us, last_us, started_mono;
static int connects, exit_code = 1;
static unsigned seed = 12345;
static struct evloop_timer resend_timer, deadline_timer, pace_timer;
static char stored_topic[MSG_TOPIC_MAX];

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void index_put(size_t idx)
{
    size_t i = hash_id(items[idx].id) & (index_cap - 1);
    while (index_tab[i]) i = (i + 1) & (index_cap - 1);
    index_tab[i] = (int32_t)idx + 1;
}

static long index_find(const char *id)
{
    size_t i = hash_id(id) & (index_cap - 1);
    while (index_tab[i]) {
        if (strcmp(items[index_tab[i] - 1].id, id) == 0) return index_tab[i] - 1;
        i = (i + 1) & (index_cap - 1);
    }
    return -1;
}

static double rnd(void) { return rand_r(&seed) / (double)RAND_MAX; }

/* A plausible result: three samples, one result in twenty a timeout. */
static char *make_result(struct item *it)
{
    struct msg_result r;
    memset(&r, 0, sizeof r);
    r.v = 1;
    memcpy(r.id, it->id, sizeof r.id);
    snprintf(r.monitor, sizeof r.monitor, "%s", monitor);
    r.has_server_id = true;
    r.server_id = it->server_id;
    snprintf(r.ip, sizeof r.ip, "192.0.2.%d", (int)(it->server_id % 250) + 1);
    r.ts_us = time_now_us();
    r.status = MSG_STATUS_ACTIVE;
    bool timeout = rand_r(&seed) % 20 == 0;
    r.n_samples = 3;
    for (size_t i = 0; i < r.n_samples; i++) {
        struct msg_sample *s = &r.samples[i];
        s->ts_us = r.ts_us - (int64_t)(2 - i) * 2000000;
        if (timeout) {
            snprintf(s->error, sizeof s->error, "timeout");
        } else {
            s->has_offset = s->has_rtt = true;
            s->offset = (rnd() - 0.5) * 0.002;
            s->rtt = 0.01 + rnd() * 0.05;
            s->stratum = 2;
            snprintf(s->refid, sizeof s->refid, "GPS");
        }
    }
    if (timeout) {
        snprintf(r.error, sizeof r.error, "timeout");
    } else {
        const struct msg_sample *best = &r.samples[0];
        for (size_t i = 1; i < r.n_samples; i++)
            if (r.samples[i].rtt < best->rtt) best = &r.samples[i];
        r.has_offset = r.has_rtt = true;
        r.offset = best->offset;
        r.rtt = best->rtt;
        r.stratum = 2;
        snprintf(r.refid, sizeof r.refid, "GPS");
    }
    snprintf(r.agent, sizeof r.agent, "result-publisher/%s", NTPMON_VERSION);
    return msg_result_encode(&r);
}

static bool send_item(struct item *it)
{
    char topic[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_RESULT, .server_id = it->server_id};
    snprintf(t.monitor, sizeof t.monitor, "%s", monitor);
    msg_topic_build(topic, sizeof topic, common.env, &t);
    int rc = mqtt_publish(sess, topic, it->payload, strlen(it->payload), 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS) return false;
    it->last_send_mono = time_mono_us();
    if (!it->first_send_wall) it->first_send_wall = time_now_us();
    if (!first_us) first_us = it->first_send_wall;
    return true;
}

static void report_and_stop(bool ok)
{
    last_us = time_now_us();
    if (sink) {
        printf("sink received=%" PRIu64 " first_us=%" PRId64 " last_us=%" PRId64 "\n", received, first_us, last_us);
    } else {
        printf("monitor=%s made=%zu confirmed=%" PRIu64 " rejected=%" PRIu64 " acked=%zu resent=%" PRIu64
               " unexpected=%" PRIu64 " dup_confirms=%" PRIu64 " first_us=%" PRId64 " last_us=%" PRId64
               " elapsed=%.3f\n",
               monitor, next_unsent, confirmed, rejected, acked, resent, unexpected, dup_confirms, first_us, last_us,
               (time_mono_us() - started_mono) / 1e6);
    }
    fflush(stdout);
    exit_code = ok ? 0 : 1;
    evloop_stop(loop);
}

static void check_done(void)
{
    if (sink) {
        if ((int64_t)received >= count) report_and_stop(true);
    } else if (no_confirm) {
        if ((int64_t)acked >= count) report_and_stop(true);
    } else if ((int64_t)(confirmed + rejected) >= count) {
        report_and_stop(true);
    }
}

static void pump(void)
{
    if (sink || !mqtt_session_connected(sess)) return;
    size_t limit = (size_t)count;
    if (rate > 0) { /* open loop: new results at a steady rate, whatever the confirmations do */
        int64_t allowed = (time_mono_us() - started_mono) * rate / 1000000 + 1;
        if (allowed < count) limit = (size_t)allowed;
    }
    while (next_unsent < limit && (int64_t)outstanding < window) {
        struct item *it = &items[next_unsent];
        it->server_id = server_ids[next_unsent % n_servers];
        ulid_new(it->id);
        it->payload = make_result(it);
        if (!send_item(it)) {
            free(it->payload);
            it->payload = NULL;
            return;
        }
        it->state = IT_SENT;
        index_put(next_unsent);
        next_unsent++;
        outstanding++;
    }
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)arg;
    connects++;
    if (sink) {
        printf("ready session_present=%d\n", present);
        fflush(stdout);
        return;
    }
    if (connects > 1 && !no_confirm) { /* the agent's rule: everything unconfirmed goes again after a reconnect */
        for (size_t i = 0; i < next_unsent; i++)
            if (items[i].state == IT_SENT && send_item(&items[i])) resent++;
    }
    pump();
}

static void on_publish(struct mqtt_session *s, int mid, int reason, void *arg)
{
    (void)s;
    (void)mid;
    (void)arg;
    if (reason >= 0x80 || !no_confirm) return;
    acked++;
    if (outstanding) outstanding--;
    check_done();
    if (exit_code) pump();
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    (void)arg;
    if (sink) {
        if (!received) first_us = time_now_us();
        received++;
        check_done();
        return;
    }
    if (strcmp(m->topic, stored_topic) != 0) return;
    struct msg_stored st;
    char err[MSG_ERR_LEN];
    if (msg_stored_decode(m->payload, (size_t)m->payloadlen, &st, err) < 0) {
        fprintf(stderr, "bad stored message: %s\n", err);
        return;
    }
    int64_t now = time_now_us();
    for (size_t k = 0; k < st.n_ids + st.n_rejected; k++) {
        bool rej = k >= st.n_ids;
        const char *id = rej ? st.rejected[k - st.n_ids] : st.ids[k];
        long i = index_find(id);
        if (i < 0) {
            unexpected++;
            continue;
        }
        struct item *it = &items[i];
        if (it->state != IT_SENT) {
            dup_confirms++;
            continue;
        }
        it->state = rej ? IT_REJECTED : IT_CONFIRMED;
        it->latency_us = now - it->first_send_wall;
        free(it->payload);
        it->payload = NULL;
        outstanding--;
        if (rej) rejected++;
        else confirmed++;
    }
    msg_stored_free(&st);
    check_done();
    if (exit_code) pump();
}

static void on_resend(struct evloop *l, void *arg)
{
    (void)arg;
    if (!no_confirm && mqtt_session_connected(sess)) {
        int64_t now = time_mono_us();
        for (size_t i = 0; i < next_unsent; i++) {
            struct item *it = &items[i];
            if (it->state == IT_SENT && now - it->last_send_mono >= resend_timeout && send_item(it)) resent++;
        }
    }
    pump();
    evloop_timer_start(l, &resend_timer, 250000);
}

static void on_pace(struct evloop *l, void *arg)
{
    (void)arg;
    pump();
    evloop_timer_start(l, &pace_timer, 2000);
}

static void on_deadline(struct evloop *l, void *arg)
{
    (void)l;
    (void)arg;
    fprintf(stderr, "deadline reached\n");
    report_and_stop(false);
}

static void on_signal(struct evloop *l, int signo, void *arg)
{
    (void)l;
    (void)signo;
    (void)arg;
    report_and_stop(false);
}

static void parse_servers(const struct opt_program *prog)
{
    char *copy = xstrdup(servers_arg);
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        long long a, b;
        if (sscanf(tok, "%lld-%lld", &a, &b) == 2 && a >= 1 && b >= a && b - a < 1000000) {
        } else if (sscanf(tok, "%lld", &a) == 1 && a >= 1) {
            b = a;
        } else {
            opts_usage_error(prog, "bad --servers '%s'", servers_arg);
        }
        for (long long v = a; v <= b; v++) {
            server_ids = xrealloc(server_ids, (n_servers + 1) * sizeof *server_ids);
            server_ids[n_servers++] = v;
        }
    }
    free(copy);
    if (!n_servers) opts_usage_error(prog, "no servers");
}

static void write_outputs(void)
{
    if (ids_out) {
        FILE *f = fopen(ids_out, "w");
        if (f) {
            for (size_t i = 0; i < next_unsent; i++) fprintf(f, "%s\n", items[i].id);
            fclose(f);
        }
    }
    if (latency_out) {
        FILE *f = fopen(latency_out, "w");
        if (f) {
            for (size_t i = 0; i < next_unsent; i++)
                if (items[i].state == IT_CONFIRMED) fprintf(f, "%" PRId64 "\n", items[i].latency_us);
            fclose(f);
        }
    }
}

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&common), specs, NULL};
    struct opt_program prog = {"result-publisher", "[options]", "Test publisher of results (see the source).",
                               groups, NULL};
    opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &common);
    if (!msg_name_is_valid(monitor)) opts_usage_error(&prog, "invalid --monitor");
    parse_servers(&prog);
    setvbuf(stdout, NULL, _IOLBF, 0);
    items = xcalloc((size_t)count, sizeof *items);
    index_cap = 16;
    while (index_cap < (size_t)count * 2) index_cap *= 2;
    index_tab = xcalloc(index_cap, sizeof *index_tab);
    seed = (unsigned)getpid();

    loop = evloop_new();
    char err_peek[256];
    char cid[MSG_NAME_MAX];
    snprintf(cid, sizeof cid, "%s%s", client_id ? client_id : monitor, sink ? "-sink" : "");
    /* With $MQTT_TOKEN (a broker with the auth plugin) the username is the token's sub; without, anonymous. */
    const char *token = getenv("MQTT_TOKEN");
    struct jwt_claims_peek claims = {.sub = ""};
    if (token && *token && jwt_peek(token, &claims, err_peek, sizeof err_peek) < 0) {
        fprintf(stderr, "result-publisher: bad $MQTT_TOKEN: %s\n", err_peek);
        return 2;
    }
    struct mqtt_config cfg = {.url = url, .client_id = cid, .clean_start = sink || no_confirm,
                              .username = claims.sub[0] ? claims.sub : NULL, .password = claims.sub[0] ? token : NULL,
                              .backoff_min_us = 100000, .backoff_max_us = 1000000, .receive_maximum = 1000};
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message, .on_publish = on_publish};
    char err[256];
    sess = mqtt_session_new(loop, &cfg, &h, NULL, err, sizeof err);
    if (!sess) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    char filter[MSG_TOPIC_MAX];
    if (sink) {
        msg_filter_results_shared(filter, sizeof filter, group, common.env);
        mqtt_session_subscribe(sess, filter, 1);
    } else {
        struct msg_topic t = {.kind = MSG_TOPIC_STORED};
        snprintf(t.monitor, sizeof t.monitor, "%s", monitor);
        msg_topic_build(stored_topic, sizeof stored_topic, common.env, &t);
        if (!no_confirm) mqtt_session_subscribe(sess, stored_topic, 1);
    }
    evloop_signal(loop, SIGTERM, on_signal, NULL);
    evloop_signal(loop, SIGINT, on_signal, NULL);
    evloop_timer_init(&resend_timer, on_resend, NULL);
    evloop_timer_init(&deadline_timer, on_deadline, NULL);
    evloop_timer_init(&pace_timer, on_pace, NULL);
    if (rate > 0) evloop_timer_start(loop, &pace_timer, 2000);
    evloop_timer_start(loop, &resend_timer, 250000);
    evloop_timer_start(loop, &deadline_timer, deadline);
    started_mono = time_mono_us();
    mqtt_session_start(sess);
    evloop_run(loop);
    mqtt_session_flush(sess, 1000000);
    mqtt_session_free(sess);
    write_outputs();
    for (size_t i = 0; i < next_unsent; i++) free(items[i].payload);
    free(items);
    free(index_tab);
    free(server_ids);
    evloop_free(loop);
    return exit_code;
}
