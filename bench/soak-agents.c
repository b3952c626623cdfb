/* soak-agents.c — many simulated monitors in one process for bench/soak.sh: each monitor its own MQTT session
 * with its own token (client id = its name), publishing results QoS 1 on results/<server>/<name> exactly as the
 * agent does (the same encoder, three samples), keeping every result until a `stored` message names it and
 * re-sending what is unconfirmed after --resend-timeout and after every reconnect, with at most --spool-window
 * publishes unacknowledged by the broker at a time (the agent's spool contract and pump, agent/daemon.c). Together the monitors make --rate results/s, each cycling through the servers
 * 1..--servers from its own starting point; after --duration they stop making results and wait (at most --drain)
 * for the last confirmations.
 *
 *   soak-agents --mqtt-url URL --token-dir DIR --monitors N --servers S --rate R --duration 600s
 *               [--prefix soak-] [--ids-out FILE] [--resend-timeout 120s] [--spool-window 200] [--drain 120s]
 * Tokens are read from DIR/<name>.jwt, names <prefix>001 … The status a result carries is the one bench/soak.sh
 * seeds for the pair: (server + monitor index) mod N < 7 active, < 12 testing, else candidate. Prints one line
 * "made=… confirmed=… rejected=… resent=… unconfirmed=… connects=… elapsed=…" and exits 0 when every result
 * made was confirmed. --ids-out gets "<ULID> <monitor>" for every result made. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evloop.h"
#include "fileio.h"
#include "mqtt.h"
#include "msg.h"
#include "opts.h"
#include "timeutil.h"
#include "ulid.h"
#include "xalloc.h"

struct pending { /* one unconfirmed result */
    char id[ULID_LEN + 1];
    int64_t server_id;
    char *payload;
    int64_t last_send_mono;
    bool used, queued; /* queued: waiting in the monitor's send queue */
};

struct idq { /* the ids due to be sent, in order (a ring that grows) */
    char (*ids)[ULID_LEN + 1];
    size_t head, len, cap;
};

struct monitor {
    int index;
    char name[MSG_NAME_MAX];
    char stored_topic[MSG_TOPIC_MAX];
    struct mqtt_session *sess;
    char *token;
    int64_t next_server; /* 0-based position in 1..servers */
    double owed;         /* results owed at the current time (rate pacing) */
    struct pending *tab; /* open addressing by id hash; grows */
    size_t cap, n;
    struct idq due;
    int connects;
};

static struct opts_common common;
static const char *url, *token_dir, *prefix, *ids_out, *unconfirmed_out;
static int64_t n_monitors, n_servers, rate, duration, resend_timeout, drain, window;
static const struct opt_spec specs[] = {
    {"mqtt-url", 0, "MQTT_URL", OPT_STRING, &url, "mqtt://127.0.0.1:1883", 0, 0, "URL", "broker"},
    {"token-dir", 0, NULL, OPT_STRING, &token_dir, ".", 0, 0, "DIR", "monitor tokens, DIR/<name>.jwt"},
    {"prefix", 0, NULL, OPT_STRING, &prefix, "soak-", 0, 0, "TEXT", "monitor names: <prefix>001, <prefix>002, …"},
    {"monitors", 0, NULL, OPT_INT, &n_monitors, "40", 1, 999, "N", "simulated monitors"},
    {"servers", 0, NULL, OPT_INT, &n_servers, "6000", 1, 10000000, "N", "server ids 1..N"},
    {"rate", 0, NULL, OPT_INT, &rate, "900", 1, 1000000, "N", "results per second, all monitors together"},
    {"duration", 0, NULL, OPT_DURATION, &duration, "600s", 0.1, 86400, "DURATION", "how long results are made"},
    {"resend-timeout", 0, NULL, OPT_DURATION, &resend_timeout, "120s", 0.1, 86400, "DURATION",
     "re-send a result unconfirmed for this long (the agent's default)"},
    {"spool-window", 0, NULL, OPT_INT, &window, "200", 1, 100000, "N",
     "publishes unacknowledged by the broker at most, per monitor (the agent's default)"},
    {"drain", 0, NULL, OPT_DURATION, &drain, "120s", 0, 86400, "DURATION", "wait this long for the last confirmations"},
    {"ids-out", 0, NULL, OPT_STRING, &ids_out, NULL, 0, 0, "FILE", "write \"<ULID> <monitor>\" for every result made"},
    {"unconfirmed-out", 0, NULL, OPT_STRING, &unconfirmed_out, NULL, 0, 0, "FILE",
     "at the end, write the ids still unconfirmed (still in the simulated spools: late, not lost)"},
    {0},
};

static struct evloop *loop;
static struct monitor *mons;
static FILE *ids_file;
static uint64_t made, confirmed, rejected, resent, unexpected;
static int64_t started_mono, last_pace_mono;
static bool making = true;
static struct evloop_timer pace_timer, resend_timer, end_timer, drain_timer;
static unsigned seed = 1;

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct pending *slot_for(struct monitor *m, const char *id)
{
    size_t i = hash_id(id) & (m->cap - 1);
    while (m->tab[i].used && strcmp(m->tab[i].id, id) != 0) i = (i + 1) & (m->cap - 1);
    return &m->tab[i];
}

static void grow(struct monitor *m)
{
    struct pending *old = m->tab;
    size_t old_cap = m->cap;
    m->cap = old_cap ? old_cap * 2 : 1024;
    m->tab = xcalloc(m->cap, sizeof *m->tab);
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used) *slot_for(m, old[i].id) = old[i];
    free(old);
}

/* Removing from open addressing: re-insert the rest of the cluster. */
static void remove_slot(struct monitor *m, struct pending *p)
{
    free(p->payload);
    *p = (struct pending){0};
    m->n--;
    for (size_t i = ((size_t)(p - m->tab) + 1) & (m->cap - 1); m->tab[i].used; i = (i + 1) & (m->cap - 1)) {
        struct pending moved = m->tab[i];
        m->tab[i] = (struct pending){0};
        *slot_for(m, moved.id) = moved;
    }
}

static enum msg_pair_status seeded_status(const struct monitor *m, int64_t server_id)
{
    int64_t k = (server_id + m->index) % n_monitors;
    return k < 7 ? MSG_STATUS_ACTIVE : k < 12 ? MSG_STATUS_TESTING : MSG_STATUS_CANDIDATE;
}

static double rnd(void) { return rand_r(&seed) / (double)RAND_MAX; }

static void due_push(struct monitor *m, struct pending *p)
{
    struct idq *q = &m->due;
    if (p->queued) return;
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        char(*ids)[ULID_LEN + 1] = xmalloc(cap * sizeof *ids);
        for (size_t i = 0; i < q->len; i++) memcpy(ids[i], q->ids[(q->head + i) % q->cap], sizeof ids[i]);
        free(q->ids);
        q->ids = ids;
        q->head = 0;
        q->cap = cap;
    }
    memcpy(q->ids[(q->head + q->len) % q->cap], p->id, sizeof p->id);
    q->len++;
    p->queued = true;
}

/* A result as the agent makes it: three samples 2 s apart, the best one's values on top; one in twenty a timeout. */
static char *make_result(const struct monitor *m, const char *id, int64_t server_id)
{
    struct msg_result r;
    memset(&r, 0, sizeof r);
    r.v = 1;
    memcpy(r.id, id, sizeof r.id);
    snprintf(r.monitor, sizeof r.monitor, "%s", m->name);
    r.has_server_id = true;
    r.server_id = server_id;
    snprintf(r.ip, sizeof r.ip, "100.%d.%d.%d", (int)(64 + server_id / 65536 % 64), (int)(server_id / 256 % 256),
             (int)(server_id % 256));
    r.status = seeded_status(m, server_id);
    bool timeout = rand_r(&seed) % 20 == 0;
    int64_t now = time_now_us();
    r.n_samples = 3;
    size_t best = 0;
    for (size_t i = 0; i < r.n_samples; i++) {
        struct msg_sample *s = &r.samples[i];
        s->ts_us = now - (int64_t)(2 - i) * 2000000;
        if (timeout) {
            snprintf(s->error, sizeof s->error, "timeout");
            continue;
        }
        s->has_offset = s->has_rtt = true;
        s->offset = (rnd() - 0.5) * 0.002;
        s->rtt = 0.01 + rnd() * 0.05;
        s->stratum = 2;
        snprintf(s->refid, sizeof s->refid, "GPS");
        if (s->rtt < r.samples[best].rtt) best = i;
    }
    /* the result's time is when it was made (the last sample): made → stored and → scored are measured from it */
    r.ts_us = now;
    if (timeout) {
        snprintf(r.error, sizeof r.error, "timeout");
    } else {
        r.has_offset = r.has_rtt = true;
        r.offset = r.samples[best].offset;
        r.rtt = r.samples[best].rtt;
        r.stratum = 2;
        snprintf(r.refid, sizeof r.refid, "GPS");
    }
    snprintf(r.agent, sizeof r.agent, "soak-agents/%s", NTPMON_VERSION);
    return msg_result_encode(&r);
}

static bool send_pending(struct monitor *m, struct pending *p)
{
    char topic[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_RESULT, .server_id = p->server_id};
    snprintf(t.monitor, sizeof t.monitor, "%s", m->name);
    msg_topic_build(topic, sizeof topic, common.env, &t);
    if (mqtt_publish(m->sess, topic, p->payload, strlen(p->payload), 1, false, NULL) != MOSQ_ERR_SUCCESS) return false;
    p->last_send_mono = time_mono_us();
    return true;
}

/* The agent's pump: due results go out while fewer than --spool-window publishes await the broker's PUBACK. */
static void pump(struct monitor *m)
{
    struct idq *q = &m->due;
    while (q->len && mqtt_session_connected(m->sess) && mqtt_session_unacked(m->sess) < window) {
        struct pending *p = slot_for(m, q->ids[q->head]);
        q->head = (q->head + 1) % q->cap;
        q->len--;
        if (!p->used) continue; /* confirmed meanwhile */
        p->queued = false;
        bool again = p->last_send_mono != 0;
        if (!send_pending(m, p)) {
            due_push(m, p);
            break;
        }
        if (again) resent++;
    }
}

/* Makes one result: spooled (kept) first, then queued for the pump. */
static void make_one(struct monitor *m)
{
    if ((m->n + 1) * 2 > m->cap) grow(m);
    char id[ULID_LEN + 1];
    ulid_new(id);
    int64_t sid = m->next_server + 1;
    m->next_server = (m->next_server + 1) % n_servers;
    struct pending *p = slot_for(m, id);
    *p = (struct pending){.server_id = sid, .payload = make_result(m, id, sid), .used = true};
    memcpy(p->id, id, sizeof p->id);
    m->n++;
    made++;
    if (ids_file) fprintf(ids_file, "%s %s\n", id, m->name);
    due_push(m, p);
    pump(m);
}

static void finish(void)
{
    FILE *f = unconfirmed_out ? fopen(unconfirmed_out, "w") : NULL;
    for (int64_t i = 0; f && i < n_monitors; i++)
        for (size_t k = 0; k < mons[i].cap; k++)
            if (mons[i].tab[k].used) fprintf(f, "%s\n", mons[i].tab[k].id);
    if (f) fclose(f);
    uint64_t left = 0;
    for (int64_t i = 0; i < n_monitors; i++) left += mons[i].n;
    int connects = 0;
    for (int64_t i = 0; i < n_monitors; i++) connects += mons[i].connects;
    printf("made=%" PRIu64 " confirmed=%" PRIu64 " rejected=%" PRIu64 " resent=%" PRIu64 " unconfirmed=%" PRIu64
           " unexpected=%" PRIu64 " connects=%d elapsed=%.1f\n",
           made, confirmed, rejected, resent, left, unexpected, connects, (time_mono_us() - started_mono) / 1e6);
    fflush(stdout);
    evloop_stop(loop);
}

static void check_drained(void)
{
    if (making) return;
    for (int64_t i = 0; i < n_monitors; i++)
        if (mons[i].n) return;
    finish();
}

/* Paces the monitors: each owes rate / monitors results a second. */
static void on_pace(struct evloop *l, void *arg)
{
    (void)arg;
    int64_t now = time_mono_us();
    double dt = (now - last_pace_mono) / 1e6;
    last_pace_mono = now;
    if (making) {
        double per = (double)rate / (double)n_monitors * dt;
        for (int64_t i = 0; i < n_monitors; i++) {
            struct monitor *m = &mons[i];
            m->owed += per;
            while (m->owed >= 1) {
                make_one(m);
                m->owed -= 1;
            }
        }
    }
    evloop_timer_start(l, &pace_timer, 5000);
}

static void on_resend(struct evloop *l, void *arg)
{
    (void)arg;
    int64_t now = time_mono_us();
    for (int64_t i = 0; i < n_monitors; i++) {
        struct monitor *m = &mons[i];
        if (!mqtt_session_connected(m->sess)) continue;
        for (size_t k = 0; k < m->cap; k++) {
            struct pending *p = &m->tab[k];
            if (p->used && !p->queued && p->last_send_mono && now - p->last_send_mono >= resend_timeout)
                due_push(m, p);
        }
        pump(m);
    }
    evloop_timer_start(l, &resend_timer, 1000000);
}

static void on_end(struct evloop *l, void *arg)
{
    (void)arg;
    making = false;
    fprintf(stderr, "soak-agents: made %" PRIu64 " results; waiting for the last confirmations\n", made);
    evloop_timer_start(l, &drain_timer, drain);
    check_drained();
}

static void on_drain_timeout(struct evloop *l, void *arg)
{
    (void)l;
    (void)arg;
    fprintf(stderr, "soak-agents: drain timeout\n");
    finish();
}

static void on_signal(struct evloop *l, int signo, void *arg)
{
    (void)l;
    (void)signo;
    (void)arg;
    finish();
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    struct monitor *m = arg;
    m->connects++;
    for (size_t k = 0; k < m->cap; k++) /* the agent's rule: everything unconfirmed goes again after a reconnect */
        if (m->tab[k].used) due_push(m, &m->tab[k]);
    pump(m);
}

static void on_publish(struct mqtt_session *s, int mid, int reason, void *arg)
{
    (void)s;
    (void)mid;
    (void)reason;
    pump(arg);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *msg, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct monitor *m = arg;
    if (strcmp(msg->topic, m->stored_topic) != 0) return;
    struct msg_stored st;
    char err[MSG_ERR_LEN];
    if (msg_stored_decode(msg->payload, (size_t)msg->payloadlen, &st, err) < 0) {
        fprintf(stderr, "soak-agents: %s: bad stored message: %s\n", m->name, err);
        return;
    }
    for (size_t k = 0; k < st.n_ids + st.n_rejected; k++) {
        bool rej = k >= st.n_ids;
        struct pending *p = slot_for(m, rej ? st.rejected[k - st.n_ids] : st.ids[k]);
        if (!p->used) { /* a replay's second confirmation, or not ours */
            unexpected++;
            continue;
        }
        remove_slot(m, p);
        if (rej) rejected++;
        else confirmed++;
    }
    msg_stored_free(&st);
    check_drained();
}

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&common), specs, NULL};
    struct opt_program prog = {"soak-agents", "[options]", "Simulated monitors for bench/soak.sh (see the source).",
                               groups, NULL};
    opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &common);
    setvbuf(stdout, NULL, _IOLBF, 0);
    seed = (unsigned)getpid();
    if (ids_out && !(ids_file = fopen(ids_out, "w"))) opts_usage_error(&prog, "cannot write %s", ids_out);

    loop = evloop_new();
    mons = xcalloc((size_t)n_monitors, sizeof *mons);
    for (int64_t i = 0; i < n_monitors; i++) {
        struct monitor *m = &mons[i];
        m->index = (int)i;
        snprintf(m->name, sizeof m->name, "%s%03d", prefix, (int)(i + 1));
        if (!msg_name_is_valid(m->name)) opts_usage_error(&prog, "invalid monitor name %s", m->name);
        m->next_server = (int64_t)((double)n_servers * (double)i / (double)n_monitors); /* spread over the servers */
        char path[4096], err[512];
        size_t len;
        snprintf(path, sizeof path, "%s/%s.jwt", token_dir, m->name);
        if (!(m->token = file_read_all(path, 8192, &len, err, sizeof err))) opts_usage_error(&prog, "%s", err);
        while (len && (m->token[len - 1] == '\n' || m->token[len - 1] == ' ')) m->token[--len] = '\0';
        struct msg_topic t = {.kind = MSG_TOPIC_STORED};
        snprintf(t.monitor, sizeof t.monitor, "%s", m->name);
        msg_topic_build(m->stored_topic, sizeof m->stored_topic, common.env, &t);
        struct mqtt_config cfg = {.url = url, .client_id = m->name, .username = m->name, .password = m->token,
                                  .backoff_min_us = 100000, .backoff_max_us = 2000000, .receive_maximum = 1000};
        struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message, .on_publish = on_publish};
        m->sess = mqtt_session_new(loop, &cfg, &h, m, err, sizeof err);
        if (!m->sess) opts_usage_error(&prog, "%s", err);
        mqtt_session_subscribe(m->sess, m->stored_topic, 1);
        grow(m);
        mqtt_session_start(m->sess);
    }
    evloop_signal(loop, SIGTERM, on_signal, NULL);
    evloop_signal(loop, SIGINT, on_signal, NULL);
    evloop_timer_init(&pace_timer, on_pace, NULL);
    evloop_timer_init(&resend_timer, on_resend, NULL);
    evloop_timer_init(&end_timer, on_end, NULL);
    evloop_timer_init(&drain_timer, on_drain_timeout, NULL);
    started_mono = last_pace_mono = time_mono_us();
    evloop_timer_start(loop, &pace_timer, 5000);
    evloop_timer_start(loop, &resend_timer, 1000000);
    evloop_timer_start(loop, &end_timer, duration);
    evloop_run(loop);
    int rc = made && confirmed + rejected == made ? 0 : 1;
    if (ids_file) fclose(ids_file);
    for (int64_t i = 0; i < n_monitors; i++) {
        struct monitor *m = &mons[i];
        mqtt_session_flush(m->sess, 200000);
        mqtt_session_free(m->sess);
        for (size_t k = 0; k < m->cap; k++) free(m->tab[k].payload);
        free(m->tab);
        free(m->due.ids);
        free(m->token);
    }
    free(mons);
    evloop_free(loop);
    return rc;
}
