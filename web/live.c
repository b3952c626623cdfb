/* live.c — the MQTT side of ntpmon-web and the server directory (see live.h). Messages are validated with the
 * common decoders before anything is passed on; a valid payload is forwarded as the publisher wrote it (so fields
 * added by newer publishers reach the page), unless it spans lines, which an event stream cannot carry. */
#include "live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "netaddr.h"
#include "timeutil.h"
#include "xalloc.h"

struct score_entry {
    int64_t id;
    struct msg_score s;
};

struct live {
    struct evloop *loop;
    struct dbq *db;
    char env[MSG_ENV_MAX];
    int64_t refresh_us, settle_us;
    struct live_handlers h;
    void *arg;
    struct mqtt_session *mq;
    bool connected;
    char down_reason[160];
    struct check_roster roster;
    int64_t connected_at_us; /* wall clock of the last connect */
    struct score_entry *scores; /* sorted by id */
    size_t n_scores, cap_scores;
    struct live_server *servers; /* sorted by id */
    size_t n_servers;
    bool loaded, loading, stopped;
    struct evloop_timer refresh_timer, settle_timer;
    struct {
        struct metric *connected, *messages, *invalid, *servers, *monitors_online;
    } m;
};

/* ---- the score cache ---- */

static struct score_entry *score_find(const struct live *l, int64_t id, size_t *pos)
{
    size_t lo = 0, hi = l->n_scores;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->scores[mid].id == id) {
            if (pos) *pos = mid;
            return &l->scores[mid];
        }
        if (l->scores[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    if (pos) *pos = lo;
    return NULL;
}

const struct msg_score *live_score(const struct live *l, int64_t id)
{
    struct score_entry *e = score_find(l, id, NULL);
    return e ? &e->s : NULL;
}

/* Stores a score; true when it is new or differs from the one known. */
static bool score_store(struct live *l, const struct msg_score *s)
{
    size_t pos;
    struct score_entry *e = score_find(l, s->server_id, &pos);
    if (e) {
        bool changed = e->s.ts_us != s->ts_us || e->s.score != s->score || e->s.in_pool != s->in_pool;
        e->s = *s;
        return changed;
    }
    if (l->n_scores == l->cap_scores) {
        l->cap_scores = l->cap_scores ? l->cap_scores * 2 : 256;
        l->scores = xrealloc(l->scores, l->cap_scores * sizeof *l->scores);
    }
    memmove(&l->scores[pos + 1], &l->scores[pos], (l->n_scores - pos) * sizeof *l->scores);
    l->scores[pos] = (struct score_entry){s->server_id, *s};
    l->n_scores++;
    return true;
}

/* ---- the directory ---- */

static struct live_server *server_find(const struct live *l, int64_t id)
{
    size_t lo = 0, hi = l->n_servers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->servers[mid].id == id) return &l->servers[mid];
        if (l->servers[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const struct live_server *live_server_by_id(const struct live *l, int64_t id) { return server_find(l, id); }

const struct live_server *live_server_by_ip(const struct live *l, const char *ip)
{
    for (size_t i = 0; i < l->n_servers; i++)
        if (strcmp(l->servers[i].ip, ip) == 0) return &l->servers[i];
    return NULL;
}

const struct live_server *live_servers(const struct live *l, size_t *n)
{
    *n = l->n_servers;
    return l->servers;
}

static void apply_score(struct live_server *srv, const struct msg_score *s)
{
    if (srv->has_score && srv->score_ts_us > s->ts_us) return;
    srv->has_score = true;
    srv->score = s->score;
    srv->score_ts_us = s->ts_us;
    srv->in_pool = s->in_pool;
}

static void free_servers(struct live_server *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].active);
        free(v[i].testing);
    }
    free(v);
}

void live_server_add(struct live *l, int64_t id, const char *ip)
{
    if (server_find(l, id)) return;
    l->servers = xrealloc(l->servers, (l->n_servers + 1) * sizeof *l->servers);
    size_t pos = l->n_servers;
    while (pos > 0 && l->servers[pos - 1].id > id) pos--;
    memmove(&l->servers[pos + 1], &l->servers[pos], (l->n_servers - pos) * sizeof *l->servers);
    memset(&l->servers[pos], 0, sizeof l->servers[pos]);
    l->servers[pos].id = id;
    snprintf(l->servers[pos].ip, sizeof l->servers[pos].ip, "%s", ip);
    const struct msg_score *s = live_score(l, id);
    if (s) apply_score(&l->servers[pos], s);
    l->n_servers++;
}

struct load_job {
    struct live *l;
    struct live_server *v;
    size_t n, cap;
};

static int take_server(void *arg, const struct db_row *row)
{
    struct load_job *j = arg;
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 1024;
        j->v = xrealloc(j->v, j->cap * sizeof *j->v);
    }
    struct live_server *s = &j->v[j->n++];
    memset(s, 0, sizeof *s);
    s->id = db_row_int(row, 0);
    snprintf(s->ip, sizeof s->ip, "%s", db_row_str(row, 1));
    s->has_score = !db_row_is_null(row, 3);
    s->score = db_row_double(row, 2);
    s->score_ts_us = db_row_time_us(row, 3);
    s->in_pool = db_row_int(row, 4) != 0;
    if (!db_row_is_null(row, 5)) s->active = xstrdup(db_row_str(row, 5));
    if (!db_row_is_null(row, 6)) s->testing = xstrdup(db_row_str(row, 6));
    return 0;
}

/* On a worker thread: touches only the job. */
static int load_work(struct db *db, void *arg, char err[DBQ_ERR_LEN])
{
    struct load_job *j = arg;
    static const char sql[] =
        "SELECT s.id, s.ip, s.score_raw, s.score_ts, s.in_pool,"
        " GROUP_CONCAT(IF(ss.status = 'active', m.name, NULL) ORDER BY m.name),"
        " GROUP_CONCAT(IF(ss.status = 'testing', m.name, NULL) ORDER BY m.name)"
        " FROM servers s"
        " LEFT JOIN server_scores ss ON ss.server_id = s.id AND ss.status IN ('active', 'testing')"
        " LEFT JOIN monitors m ON m.id = ss.monitor_id"
        " WHERE s.deletion_on IS NULL OR s.deletion_on > UTC_DATE()"
        " GROUP BY s.id ORDER BY s.id";
    if (db_query(db, sql, NULL, 0, take_server, j) < 0) {
        snprintf(err, DBQ_ERR_LEN, "loading servers: %s", db_error(db));
        return -1;
    }
    return 0;
}

static void load_done(void *arg, int rc, const char *err)
{
    struct load_job *j = arg;
    struct live *l = j->l;
    l->loading = false;
    if (rc < 0) {
        LOG(WARN, "server directory not reloaded: %s", err);
        free_servers(j->v, j->n);
    } else {
        /* scores heard since the database row was written are newer */
        for (size_t i = 0; i < j->n; i++) {
            const struct msg_score *s = live_score(l, j->v[i].id);
            if (s) apply_score(&j->v[i], s);
        }
        free_servers(l->servers, l->n_servers);
        l->servers = j->v;
        l->n_servers = j->n;
        if (!l->loaded) LOG(INFO, "server directory loaded: %zu servers", j->n);
        l->loaded = true;
        metric_set(l->m.servers, (double)l->n_servers);
    }
    free(j);
    if (!l->stopped)
        evloop_timer_start(l->loop, &l->refresh_timer, rc < 0 && l->refresh_us > 2000000 ? 2000000 : l->refresh_us);
}

static void reload(struct live *l)
{
    if (l->loading || l->stopped) return;
    struct load_job *j = xcalloc(1, sizeof *j);
    j->l = l;
    if (dbq_submit(l->db, load_work, load_done, j) < 0) {
        free(j);
        evloop_timer_start(l->loop, &l->refresh_timer, 1000000);
        return;
    }
    l->loading = true;
}

static void on_refresh(struct evloop *loop, void *arg)
{
    (void)loop;
    reload(arg);
}

/* ---- MQTT ---- */

static void emit(struct live *l, int64_t id, const char *event, const struct mosquitto_message *m,
                 char *(*encode)(const void *), const void *decoded)
{
    if (!l->h.on_event) return;
    const char *p = m->payload;
    size_t len = (size_t)m->payloadlen;
    if (!memchr(p, '\n', len) && !memchr(p, '\r', len)) {
        l->h.on_event(id, event, p, len, l->arg);
        return;
    }
    char *json = encode(decoded);
    if (json) l->h.on_event(id, event, json, strlen(json), l->arg);
    free(json);
}

static char *enc_score(const void *v) { return msg_score_encode(v); }
static char *enc_status(const void *v) { return msg_server_status_encode(v); }
static char *enc_selection(const void *v) { return msg_selection_encode(v); }
static char *enc_result(const void *v) { return msg_result_encode(v); }

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct live *l = arg;
    metric_inc(l->m.messages);
    struct msg_topic t;
    char err[MSG_ERR_LEN];
    const char *payload = m->payload ? m->payload : "";
    size_t len = (size_t)m->payloadlen;
    switch (msg_topic_parse(l->env, m->topic, &t)) {
    case MSG_TOPIC_MONITOR_STATUS: {
        if (check_roster_update(&l->roster, t.monitor, payload, len, time_now_us(), err) < 0) {
            metric_inc(l->m.invalid);
            LOG(WARN, "ignoring the status of monitor %s: %s", t.monitor, err);
        }
        size_t v4 = check_roster_serving(&l->roster, 4), v6 = check_roster_serving(&l->roster, 6);
        metric_set(l->m.monitors_online, (double)(v4 > v6 ? v4 : v6));
        break;
    }
    case MSG_TOPIC_SCORES: {
        struct msg_score sc;
        if (len == 0) break; /* a cleared retained score */
        if (msg_score_decode(payload, len, &sc, err) < 0 || sc.server_id != t.server_id) {
            metric_inc(l->m.invalid);
            LOG(WARN, "ignoring a score on %s: %s", m->topic, sc.server_id != t.server_id ? "server id mismatch" : err);
            break;
        }
        bool changed = score_store(l, &sc);
        struct live_server *srv = server_find(l, sc.server_id);
        if (srv) apply_score(srv, &sc);
        if (!m->retain || changed) emit(l, sc.server_id, "score", m, enc_score, &sc);
        break;
    }
    case MSG_TOPIC_SERVER_STATUS: {
        struct msg_server_status st;
        if (len == 0) break;
        if (msg_server_status_decode(payload, len, &st, err) < 0 || st.server_id != t.server_id) {
            metric_inc(l->m.invalid);
            LOG(WARN, "ignoring a server status on %s: %s", m->topic, err);
            break;
        }
        if (!m->retain) emit(l, st.server_id, "status", m, enc_status, &st);
        break;
    }
    case MSG_TOPIC_SELECTION: {
        struct msg_selection sel;
        if (msg_selection_decode(payload, len, &sel, err) < 0 || sel.server_id != t.server_id) {
            metric_inc(l->m.invalid);
            LOG(WARN, "ignoring a selection message on %s: %s", m->topic, err);
            msg_selection_free(&sel);
            break;
        }
        emit(l, sel.server_id, "selection", m, enc_selection, &sel);
        msg_selection_free(&sel);
        /* active/testing lists changed: reload soon (one reload covers a burst of changes) */
        if (!l->loading && (!evloop_timer_active(&l->refresh_timer) || l->refresh_us > 1000000))
            evloop_timer_start(l->loop, &l->refresh_timer, 1000000);
        break;
    }
    case MSG_TOPIC_RESULT: {
        struct msg_result *r = xmalloc(sizeof *r);
        if (msg_result_validate(l->env, m->topic, payload, len, r, err) < 0) {
            metric_inc(l->m.invalid);
            LOG(DEBUG, "ignoring a result on %s: %s", m->topic, err);
        } else {
            emit(l, r->server_id, "result", m, enc_result, r);
        }
        free(r);
        break;
    }
    case MSG_TOPIC_RESPONSE:
        if (l->h.on_response) l->h.on_response(t.monitor, t.request_id, payload, len, l->arg);
        break;
    default:
        break;
    }
}

/* Monitors that did not report again after a reconnect are gone (their retained status was cleared). */
static void on_settle(struct evloop *loop, void *arg)
{
    (void)loop;
    struct live *l = arg;
    struct check_roster *r = &l->roster;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->m[i].seen_us >= l->connected_at_us) r->m[k++] = r->m[i];
    r->n = k;
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    struct live *l = arg;
    l->connected = true;
    l->connected_at_us = time_now_us();
    metric_set(l->m.connected, 1);
    evloop_timer_start(l->loop, &l->settle_timer, l->settle_us);
}

static void on_disconnect(struct mqtt_session *s, int reason, const char *why, void *arg)
{
    (void)s;
    (void)reason;
    struct live *l = arg;
    l->connected = false;
    snprintf(l->down_reason, sizeof l->down_reason, "%s", why ? why : "disconnected");
    metric_set(l->m.connected, 0);
}

struct live *live_start(struct evloop *loop, struct dbq *db, const struct live_config *cfg,
                        const struct live_handlers *h, void *arg, char *err, size_t err_len)
{
    struct live *l = xcalloc(1, sizeof *l);
    l->loop = loop;
    l->db = db;
    snprintf(l->env, sizeof l->env, "%s", cfg->env);
    l->refresh_us = cfg->refresh_us;
    l->settle_us = cfg->roster_settle_us;
    if (h) l->h = *h;
    l->arg = arg;
    snprintf(l->down_reason, sizeof l->down_reason, "not connected yet");
    l->m.connected = metrics_gauge("ntpmon_web_mqtt_connected", "1 while connected to the broker", NULL);
    l->m.messages = metrics_counter("ntpmon_web_mqtt_messages_total", "messages received from the broker", NULL);
    l->m.invalid = metrics_counter("ntpmon_web_mqtt_invalid_total", "messages refused by the validators", NULL);
    l->m.servers = metrics_gauge("ntpmon_web_servers", "servers in the directory", NULL);
    l->m.monitors_online = metrics_gauge("ntpmon_web_monitors_online", "online monitors (the larger family)", NULL);
    struct mqtt_handlers mh = {.on_connect = on_connect, .on_disconnect = on_disconnect, .on_message = on_message};
    l->mq = mqtt_session_new(loop, &cfg->mqtt, &mh, l, err, err_len);
    if (!l->mq) {
        free(l);
        return NULL;
    }
    char filter[MSG_TOPIC_MAX];
    int (*filters[])(char *, size_t, const char *) = {msg_filter_monitor_statuses, msg_filter_scores,
                                                      msg_filter_status_all, msg_filter_results, msg_filter_responses};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if (filters[i](filter, sizeof filter, l->env) == 0) mqtt_session_subscribe(l->mq, filter, 1);
    evloop_timer_init(&l->refresh_timer, on_refresh, l);
    evloop_timer_init(&l->settle_timer, on_settle, l);
    mqtt_session_start(l->mq);
    reload(l);
    return l;
}

void live_stop(struct live *l)
{
    if (!l || l->stopped) return;
    l->stopped = true;
    evloop_timer_stop(l->loop, &l->refresh_timer);
    evloop_timer_stop(l->loop, &l->settle_timer);
    mqtt_session_stop(l->mq);
}

void live_free(struct live *l)
{
    if (!l) return;
    live_stop(l);
    mqtt_session_free(l->mq);
    check_roster_free(&l->roster);
    free(l->scores);
    free_servers(l->servers, l->n_servers);
    free(l);
}

struct mqtt_session *live_mqtt(struct live *l) { return l->mq; }
const struct check_roster *live_roster(const struct live *l) { return &l->roster; }
bool live_directory_loaded(const struct live *l) { return l->loaded; }

bool live_broker_up(const struct live *l, char *why, size_t len)
{
    if (why && len) snprintf(why, len, "%s", l->connected ? "" : l->down_reason);
    return l->connected;
}
