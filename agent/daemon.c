/* daemon.c — `ntpmon-agent monitor`: its steps in the daemon frame (common/service.h) and the glue of its event
 * loop. It owns the MQTT session's content (status + will, subscription to its monitor topics), the work list
 * (assign → sched → probe → result), the spool and the pump that publishes from it (window of unacknowledged
 * publishes, re-send after a timeout or a reconnect, confirmation by `stored`), ad-hoc requests, the local clock
 * check, address-family watching, token renewal and state.json reloads (inotify, SIGHUP). MQTT handlers never
 * flush, stop or reconnect the session: they arm timers. */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "clockcheck.h"
#include "evloop.h"
#include "jwtpeek.h"
#include "fileio.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "msg.h"
#include "netwatch.h"
#include "probe.h"
#include "service.h"
#include "ratelimit.h"
#include "reply.h"
#include "sched.h"
#include "spool.h"
#include "state.h"
#include "timeutil.h"
#include "tracing.h"
#include "ulid.h"
#include "xalloc.h"

#ifndef NTPMON_VERSION
#define NTPMON_VERSION "0.0.0"
#endif

struct adhoc;

struct agent {
    const struct agent_opts *o;
    struct service *svc;
    struct evloop *loop;
    char *dir, *state_path, *assign_path, *spool_path;
    int lock_fd;
    struct agent_state st; /* the last good state.json */
    struct jwt_claims_peek claims;
    int64_t token_loaded_s;
    char status_topic[MSG_TOPIC_MAX], filter[MSG_TOPIC_MAX], token_req_topic[MSG_TOPIC_MAX];
    struct mqtt_session *mq;
    struct spool *spool;
    struct sched *sched;
    struct probe_engine *eng;
    struct clockcheck *clock;
    struct netwatch *nw;
    struct tracing *tracing; /* traceroutes: triggers, limits, trace messages (agent/tracing.h) */
    struct ratelimit rl;
    struct adhoc *adhocs;
    int64_t assign_seq;
    bool have_assign;
    bool v4, v6;     /* probing allowed per family now */
    int clock_state; /* clockcheck_state(): 1 ok, 0 bad, -1 unknown, -2 not yet known */
    bool stopping, reexec;
    int inotify_fd;
    struct evloop_timer pump_timer, resend_timer, status_timer, reconnect_timer, token_timer, reload_timer,
        once_timer, metrics_timer;
    bool token_wanted; /* a renewal is due and no new token has arrived */
    char *will_json;   /* the will ({"online":false}) the session carries */
    /* --once */
    bool once_armed;
    size_t once_expected;
    /* counters */
    uint64_t made, published, republished, confirmed, rejected, requests, refused;
    size_t n_servers; /* for the last summary, after the work list is gone */
    struct tracing_counters traces; /* the same, for tracing */
};

struct adhoc {
    struct agent *a;
    struct probe *probe;
    char *topic;
    void *corr;
    uint16_t corr_len;
    struct adhoc *next;
};

static struct agent *the_agent; /* for the probe callbacks */

static bool result_logging(void) { return log_get_level() >= LOG_LEVEL_DEBUG; }

/* ---------- status ---------- */

static void publish_status(struct agent *a)
{
    if (!mqtt_session_connected(a->mq)) return;
    struct msg_monitor_status s = {.online = true, .ipv4 = a->v4, .ipv6 = a->v6,
                                   .clock_ok = a->clock_state >= 0 ? a->clock_state : -1,
                                   .spool = (int64_t)spool_live(a->spool), .spool_dropped = spool_dropped(a->spool),
                                   .ts_us = time_now_us()};
    snprintf(s.version, sizeof s.version, "%s", NTPMON_VERSION);
    char *json = msg_monitor_status_encode(&s);
    if (!json) return;
    int rc = mqtt_publish(a->mq, a->status_topic, json, strlen(json), 1, true, NULL);
    if (rc != MOSQ_ERR_SUCCESS) LOG(WARN, "cannot publish the status: %s", mosquitto_strerror(rc));
    free(json);
}

/* ---------- metrics (--metrics-listen) ---------- */

/* The daemon keeps its own counters; a 1 s timer copies them into the exported metrics. */
static struct {
    struct metric *made, *published, *republished, *confirmed, *rejected, *requests, *refused, *spool, *dropped,
        *servers, *connected, *clock_ok;
} am;

static void metrics_register(void)
{
    am.made = metrics_counter("ntpmon_agent_results_total", "results made (one per probe of one server)", NULL);
    am.published = metrics_counter("ntpmon_agent_publishes_total", "results published", "kind=\"first\"");
    am.republished = metrics_counter("ntpmon_agent_publishes_total", "results published", "kind=\"resend\"");
    am.confirmed = metrics_counter("ntpmon_agent_confirmed_total", "results confirmed by ingest", "as=\"stored\"");
    am.rejected = metrics_counter("ntpmon_agent_confirmed_total", "results confirmed by ingest", "as=\"rejected\"");
    am.requests = metrics_counter("ntpmon_agent_requests_total", "ad-hoc requests", "answer=\"probed\"");
    am.refused = metrics_counter("ntpmon_agent_requests_total", "ad-hoc requests", "answer=\"refused\"");
    am.spool = metrics_gauge("ntpmon_agent_spool_depth", "results in the spool, not yet confirmed", NULL);
    am.dropped = metrics_gauge("ntpmon_agent_spool_dropped", "results dropped because the spool was full", NULL);
    am.servers = metrics_gauge("ntpmon_agent_servers_assigned", "servers in the work list", NULL);
    am.connected = metrics_gauge("ntpmon_agent_mqtt_connected", "1 while connected to the broker", NULL);
    am.clock_ok = metrics_gauge("ntpmon_agent_clock_ok", "local clock check: 1 ok, 0 bad, -1 unknown", NULL);
}

static void on_metrics_timer(struct evloop *loop, void *arg)
{
    struct agent *a = arg;
    metric_set(am.made, (double)a->made);
    metric_set(am.published, (double)a->published);
    metric_set(am.republished, (double)a->republished);
    metric_set(am.confirmed, (double)a->confirmed);
    metric_set(am.rejected, (double)a->rejected);
    metric_set(am.requests, (double)(a->requests - a->refused));
    metric_set(am.refused, (double)a->refused);
    metric_set(am.spool, (double)spool_live(a->spool));
    metric_set(am.dropped, (double)spool_dropped(a->spool));
    metric_set(am.servers, a->sched ? (double)sched_count(a->sched) : 0);
    bool connected = mqtt_session_connected(a->mq);
    metric_set(am.connected, connected);
    metric_set(am.clock_ok, a->clock_state >= 0 ? a->clock_state : -1);
    evloop_timer_start(loop, &a->metrics_timer, 1000000);
}

static void on_status_timer(struct evloop *loop, void *arg)
{
    struct agent *a = arg;
    publish_status(a);
    evloop_timer_start(loop, &a->status_timer, a->o->status_us);
}

/* ---------- the spool pump ---------- */

static void kick_pump(struct agent *a)
{
    if (!evloop_timer_active(&a->pump_timer)) evloop_timer_start(a->loop, &a->pump_timer, 0);
}

static void check_once_done(struct agent *a)
{
    if (!a->o->once || !a->once_armed || a->once_expected > 0 || spool_live(a->spool) > 0) return;
    LOG(INFO, "monitor --once: every result is confirmed");
    a->stopping = true;
    service_exit(a->svc, 0);
}

static void on_pump(struct evloop *loop, void *arg)
{
    (void)loop;
    struct agent *a = arg;
    spool_sync(a->spool); /* group commit: what we publish is on disk first (and offline results too) */
    if (!mqtt_session_connected(a->mq)) return;
    int64_t now = time_mono_us();
    while (mqtt_session_unacked(a->mq) < a->o->spool_window) {
        const struct spool_entry *e = spool_next_due(a->spool);
        if (!e) break;
        char *payload = spool_payload(a->spool, e);
        if (!payload) { /* an I/O error: try again after the re-send timeout */
            spool_mark_sent(a->spool, e, now);
            continue;
        }
        struct msg_topic t = {.kind = e->kind == SPOOL_TRACE ? MSG_TOPIC_TRACE : MSG_TOPIC_RESULT,
                              .server_id = e->server_id};
        snprintf(t.monitor, sizeof t.monitor, "%s", a->st.name);
        char topic[MSG_TOPIC_MAX];
        if (msg_topic_build(topic, sizeof topic, a->o->common.env, &t) < 0) {
            LOG(ERROR, "spool: result %s has an unusable server id %" PRId64 "; dropping it", e->id, e->server_id);
            char id[ULID_LEN + 1];
            memcpy(id, e->id, sizeof id);
            free(payload);
            spool_confirm(a->spool, id);
            continue;
        }
        int rc = mqtt_publish(a->mq, topic, payload, e->len, 1, false, NULL);
        free(payload);
        if (rc == MOSQ_ERR_NO_CONN) break;
        if (rc != MOSQ_ERR_SUCCESS) {
            /* this one is retried after the re-send timeout; it must not block the ones behind it */
            LOG(WARN, "publish of result %s failed: %s", e->id, mosquitto_strerror(rc));
            spool_mark_sent(a->spool, e, now);
            continue;
        }
        spool_mark_sent(a->spool, e, now);
        a->published++;
    }
}

static void on_resend_timer(struct evloop *loop, void *arg)
{
    struct agent *a = arg;
    size_t n = spool_expire(a->spool, time_mono_us(), a->o->resend_us);
    if (n > 0) {
        a->republished += n;
        LOG(INFO, "re-sending %zu result(s) not confirmed within %.1f s", n, a->o->resend_us / 1e6);
        kick_pump(a);
    }
    int64_t every = a->o->resend_us / 10;
    if (every > 5000000) every = 5000000;
    if (every < 10000) every = 10000;
    evloop_timer_start(loop, &a->resend_timer, every);
}

/* ---------- results ---------- */

static bool family_on(const struct agent *a, int family) { return family == AF_INET ? a->v4 : a->v6; }

static void on_probe_done(struct probe *p, const struct probe_outcome *oc, void *arg)
{
    (void)p;
    struct sched_server *srv = arg;
    struct agent *a = the_agent;
    struct msg_result *r = xcalloc(1, sizeof *r);
    r->v = 1;
    ulid_new(r->id);
    snprintf(r->monitor, sizeof r->monitor, "%s", a->st.name);
    r->has_server_id = true;
    r->server_id = srv->id;
    r->status = srv->status;
    snprintf(r->agent, sizeof r->agent, "%s", agent_version_string());
    probe_outcome_to_result(oc, r);
    char *json = msg_result_encode(r);
    a->made++;
    if (json) {
        if (spool_add(a->spool, r->id, r->server_id, json, strlen(json)) < 0)
            LOG(ERROR, "spool: cannot store result %s for server %" PRId64 ": %s; it is lost", r->id, r->server_id,
                strerror(errno));
        else if (result_logging())
            LOG_ALWAYS(DEBUG, "result %s server %" PRId64 " ip %s offset %s%.6f error '%s'", r->id, r->server_id,
                       r->ip, r->has_offset ? "" : "(none) ", r->has_offset ? r->offset : 0.0, r->error);
        free(json);
        kick_pump(a);
    }
    tracing_note_result(a->tracing, srv->id, &srv->addr, r, &srv->trace_state);
    free(r);
    sched_probe_done(a->sched, srv);
    if (a->o->once && a->once_armed && a->once_expected > 0) a->once_expected--;
    check_once_done(a);
}

static bool clock_allows(const struct agent *a) { return a->clock_state == 1 || a->clock_state == -1; }

static void on_due(struct sched *s, struct sched_server *srv, void *arg)
{
    struct agent *a = arg;
    if (a->stopping) return;
    if (a->o->once && (!a->once_armed || srv->last_probe_us != 0)) {
        sched_hold(s, srv);
        return;
    }
    if (!family_on(a, srv->addr.family) || !clock_allows(a)) {
        sched_hold(s, srv);
        return;
    }
    const char *why = netaddr_forbidden_reason(&srv->addr, agent_target_allow(a->o));
    if (why) {
        LOG(WARN, "not probing server %" PRId64 " (%s): %s address", srv->id, srv->ip, why);
        sched_probe_done(s, srv); /* reschedule, never probe */
        return;
    }
    struct probe *p = probe_start(a->eng, &srv->addr, 0, srv->samples, on_probe_done, srv);
    sched_probe_started(s, srv, p);
}

static void on_removed(struct sched *s, struct sched_server *srv, void *arg)
{
    (void)s;
    (void)arg;
    if (srv->probe) probe_cancel(srv->probe);
    srv->probe = NULL;
}

static bool release_filter(const struct sched_server *srv, void *arg)
{
    return family_on(arg, srv->addr.family);
}

static void release_held(struct agent *a)
{
    if (a->stopping || !clock_allows(a)) return;
    if (a->o->once) return; /* --once arms its own probes */
    sched_release_held(a->sched, release_filter, a);
}

/* ---------- what tracing borrows (agent/tracing.h) ---------- */

static bool tracing_family_on(void *arg, int family) { return family_on(arg, family); }
static void tracing_spooled(void *arg) { kick_pump(arg); }
static int64_t tracing_server_for(void *arg, const struct netaddr *addr)
{
    struct agent *a = arg;
    for (size_t i = 0; a->sched && i < sched_count(a->sched); i++) {
        const struct sched_server *srv = sched_at(a->sched, i);
        if (srv->addr.family == addr->family && memcmp(srv->addr.bytes, addr->bytes, 16) == 0) return srv->id;
    }
    return 0;
}

static void start_tracing(struct agent *a)
{
    const struct agent_opts *o = a->o;
    struct tracing_config tc = {
        .engine = {.port = (uint16_t)o->ntp_port, .max_hops = (int)o->trace_max_hops, .probes = (int)o->trace_probes,
                   .max_silent = (int)o->trace_silent, .timeout_us = o->trace_timeout_us,
                   .max_running = (int)o->trace_concurrency},
        .server_interval_us = o->trace_server_interval_us, .rate = o->trace_rate, .window_us = o->trace_window_us,
        .env = o->common.env, .monitor = a->st.name, .agent = agent_version_string(), .allow = agent_target_allow(o),
    };
    struct tracing_hooks th = {.family_on = tracing_family_on, .spooled = tracing_spooled,
                               .server_for = tracing_server_for};
    a->tracing = tracing_new(a->loop, &tc, a->spool, a->mq, &th, a);
}

/* ---------- --once ---------- */

static void arm_once(struct agent *a)
{
    if (!a->o->once || a->once_armed || !a->have_assign || a->clock_state == -2) return;
    if (!clock_allows(a)) {
        LOG(ERROR, "monitor --once: the local clock is bad; not probing");
        return;
    }
    a->once_armed = true;
    a->once_expected = 0;
    for (size_t i = 0; i < sched_count(a->sched); i++)
        if (family_on(a, sched_at(a->sched, i)->addr.family)) a->once_expected++;
    LOG(INFO, "monitor --once: probing %zu server(s)", a->once_expected);
    sched_all_now(a->sched);
    check_once_done(a);
}

static void on_once_timeout(struct evloop *loop, void *arg)
{
    struct agent *a = arg;
    if (!a->have_assign)
        LOG(ERROR, "monitor --once: gave up after %.0f s: no assignment (none saved, none from the broker)",
            a->o->once_timeout_us / 1e6);
    else
        LOG(ERROR, "monitor --once: gave up after %.0f s: %zu probe(s) pending, %zu result(s) unconfirmed (they stay "
                   "in the spool)", a->o->once_timeout_us / 1e6, a->once_expected, spool_live(a->spool));
    (void)loop;
    a->stopping = true;
    service_exit(a->svc, 1);
}

/* ---------- assign ---------- */

static void apply_assign(struct agent *a, const struct msg_assign *as, const char *source)
{
    struct sched_apply_stats st;
    sched_apply(a->sched, as, &st);
    a->assign_seq = as->seq;
    a->have_assign = true;
    LOG(INFO, "assignment seq %" PRId64 " from %s: %zu server(s) (%zu added, %zu removed, %zu changed)%s", as->seq,
        source, st.total, st.added, st.removed, st.changed, st.duplicates ? " (duplicate ids ignored)" : "");
    arm_once(a);
}

static void handle_assign(struct agent *a, const char *payload, size_t len)
{
    struct msg_assign as;
    char err[MSG_ERR_LEN];
    if (msg_assign_decode(payload, len, &as, err) < 0) {
        LOG(ERROR, "ignoring an invalid assignment: %s (keeping seq %" PRId64 ")", err, a->assign_seq);
        return;
    }
    if (a->have_assign && as.seq <= a->assign_seq) {
        if (as.seq < a->assign_seq)
            LOG(WARN, "ignoring an older assignment (seq %" PRId64 " < %" PRId64 ")", as.seq, a->assign_seq);
        msg_assign_free(&as);
        return;
    }
    /* Keep it before using it, so a restart with the broker away probes the same servers. */
    char ferr[256];
    if (file_write_atomic(a->assign_path, payload, len, 0600, ferr, sizeof ferr) < 0)
        LOG(ERROR, "cannot keep the assignment: %s", ferr);
    apply_assign(a, &as, "the broker");
    msg_assign_free(&as);
    malloc_trim(0); /* a large assignment's parse tree is gone: give the memory back */
}

static void load_saved_assign(struct agent *a)
{
    if (access(a->assign_path, F_OK) < 0) return;
    size_t len;
    char err[256];
    char *text = file_read_all(a->assign_path, MSG_MAX_ASSIGN_PAYLOAD, &len, err, sizeof err);
    if (!text) {
        LOG(ERROR, "cannot read the saved assignment: %s", err);
        return;
    }
    struct msg_assign as;
    char merr[MSG_ERR_LEN];
    if (msg_assign_decode(text, len, &as, merr) < 0) {
        LOG(ERROR, "ignoring the saved assignment %s: %s", a->assign_path, merr);
    } else {
        apply_assign(a, &as, a->assign_path);
        msg_assign_free(&as);
    }
    free(text);
    malloc_trim(0);
}

/* ---------- stored ---------- */

static void handle_stored(struct agent *a, const char *payload, size_t len)
{
    struct msg_stored s;
    char err[MSG_ERR_LEN];
    if (msg_stored_decode(payload, len, &s, err) < 0) {
        LOG(ERROR, "ignoring an invalid stored message: %s", err);
        return;
    }
    size_t hit = 0;
    for (size_t i = 0; i < s.n_ids; i++)
        if (spool_confirm(a->spool, s.ids[i])) hit++;
    for (size_t i = 0; i < s.n_rejected; i++) {
        if (spool_confirm(a->spool, s.rejected[i])) hit++;
        a->rejected++;
        LOG(WARN, "ingest rejected result %s (kept in results_rejected); dropped from the spool", s.rejected[i]);
    }
    a->confirmed += hit;
    LOG(DEBUG, "stored: %zu confirmed, %zu rejected, %zu were ours; spool %zu", s.n_ids, s.n_rejected, hit,
        spool_live(a->spool));
    msg_stored_free(&s);
    kick_pump(a); /* compaction may have reset the cursor */
    check_once_done(a);
}

/* ---------- ad-hoc requests ---------- */

static void adhoc_free(struct adhoc *h)
{
    struct agent *a = h->a;
    for (struct adhoc **pp = &a->adhocs; *pp; pp = &(*pp)->next)
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    free(h->topic);
    free(h->corr);
    free(h);
}

static void on_adhoc_done(struct probe *p, const struct probe_outcome *oc, void *arg)
{
    (void)p;
    struct adhoc *h = arg;
    struct agent *a = h->a;
    struct msg_result *r = xcalloc(1, sizeof *r);
    r->v = 1;
    ulid_new(r->id);
    snprintf(r->monitor, sizeof r->monitor, "%s", a->st.name);
    snprintf(r->agent, sizeof r->agent, "%s", agent_version_string());
    probe_outcome_to_result(oc, r);
    char *json = msg_result_encode(r);
    if (json) {
        if (mqtt_session_connected(a->mq)) reply_json(a->mq, h->topic, h->corr, h->corr_len, json);
        else LOG(WARN, "ad-hoc check of %s done but the broker is away; the answer is dropped", r->ip);
    }
    free(json);
    free(r);
    adhoc_free(h);
}

static void handle_request(struct agent *a, const struct mosquitto_message *m, const mosquitto_property *props)
{
    a->requests++;
    char *rt;
    void *corr;
    uint16_t corr_len;
    mqtt_props_response(props, &rt, &corr, &corr_len);
    struct msg_topic t;
    if (!rt || msg_topic_parse(a->o->common.env, rt, &t) != MSG_TOPIC_RESPONSE || strcmp(t.monitor, a->st.name) != 0) {
        LOG(WARN, "refusing an ad-hoc request: its response topic '%.200s' is not ntpmon/%s/responses/%s/<id>",
            rt ? rt : "(none)", a->o->common.env, a->st.name);
        a->refused++;
        free(rt);
        free(corr);
        return;
    }
    struct msg_ntp_request req;
    char err[MSG_ERR_LEN];
    char why[MSG_ERR_LEN + 32];
    struct netaddr addr = {0};
    const char *forbidden = NULL;
    int decoded = msg_ntp_request_decode(m->payload, (size_t)m->payloadlen, &req, err);
    if (decoded == 0 && netaddr_parse(req.ip, &addr) == 0)
        forbidden = netaddr_forbidden_reason(&addr, agent_target_allow(a->o));
    if (decoded < 0) {
        LOG(WARN, "refusing an invalid ad-hoc request: %s", err);
        snprintf(why, sizeof why, "bad request: %s", err);
        reply_error(a->mq, rt, corr, corr_len, why);
        a->refused++;
    } else if (forbidden) {
        snprintf(why, sizeof why, "forbidden address: %s is a %s address", req.ip, forbidden);
        LOG(INFO, "refusing an ad-hoc request: %s", why);
        reply_error(a->mq, rt, corr, corr_len, why);
        a->refused++;
    } else if (!family_on(a, addr.family)) {
        snprintf(why, sizeof why, "IPv%d is not available on this monitor", addr.family == AF_INET ? 4 : 6);
        reply_error(a->mq, rt, corr, corr_len, why);
        a->refused++;
    } else if (!ratelimit_take(&a->rl, time_mono_us())) {
        LOG(WARN, "refusing an ad-hoc request for %s: more than %" PRId64 " in %.0f s", req.ip, a->o->request_rate,
            a->o->request_window_us / 1e6);
        reply_error(a->mq, rt, corr, corr_len, "rate limited: too many requests, try again later");
        a->refused++;
    } else {
        struct adhoc *h = xcalloc(1, sizeof *h);
        h->a = a;
        h->topic = rt;
        h->corr = corr;
        h->corr_len = corr_len;
        h->next = a->adhocs;
        a->adhocs = h;
        LOG(INFO, "ad-hoc check of %s (%d sample%s)", req.ip, req.samples, req.samples == 1 ? "" : "s");
        h->probe = probe_start(a->eng, &addr, 0, req.samples, on_adhoc_done, h);
        return; /* h owns rt and corr */
    }
    free(rt);
    free(corr);
}

/* ---------- token renewal ---------- */

static void schedule_token(struct agent *a)
{
    evloop_timer_stop(a->loop, &a->token_timer);
    if (a->claims.exp <= 0) return; /* a token without exp needs no renewal */
    int64_t start = a->claims.iat > 0 ? a->claims.iat : a->token_loaded_s;
    int64_t life = a->claims.exp - start;
    if (life < 3) life = 3;
    int64_t renew_at = a->claims.exp - life / 3;
    int64_t delay_us = (renew_at - time_now_us() / 1000000) * 1000000;
    evloop_timer_start(a->loop, &a->token_timer, delay_us > 0 ? delay_us : 0);
}

static void request_token(struct agent *a)
{
    if (!mqtt_session_connected(a->mq)) return;
    char *json = msg_token_request_encode();
    int rc = json ? mqtt_publish(a->mq, a->token_req_topic, json, strlen(json), 1, false, NULL) : MOSQ_ERR_NOMEM;
    free(json);
    if (rc == MOSQ_ERR_SUCCESS)
        LOG(INFO, "asked the token service for a new token (this one expires in %" PRId64 " s)",
            a->claims.exp - time_now_us() / 1000000);
}

static void on_token_timer(struct evloop *loop, void *arg)
{
    struct agent *a = arg;
    a->token_wanted = true;
    request_token(a);
    evloop_timer_start(loop, &a->token_timer, a->o->token_retry_us); /* until an answer arrives */
}

static void adopt_token(struct agent *a, const char *token)
{
    struct jwt_claims_peek c;
    char err[160];
    if (jwt_peek(token, &c, err, sizeof err) < 0) return;
    a->claims = c;
    a->token_loaded_s = time_now_us() / 1000000;
    if (c.exp > 0 && c.exp < a->token_loaded_s)
        LOG(ERROR, "the token expired %" PRId64 " s ago: the broker will refuse it; run 'ntpmon-agent setup' with a "
                   "new one", a->token_loaded_s - c.exp);
    mqtt_session_set_credentials(a->mq, c.sub, token);
    a->token_wanted = false;
    schedule_token(a);
}

static void handle_token(struct agent *a, const char *payload, size_t len)
{
    struct msg_token t;
    char err[MSG_ERR_LEN];
    if (msg_token_decode(payload, len, &t, err) < 0) {
        LOG(ERROR, "ignoring an invalid token message: %s", err);
        return;
    }
    if (t.error[0] || !t.token) {
        LOG(ERROR, "the token service refused to renew the token: %s", t.error[0] ? t.error : "no token");
        msg_token_free(&t);
        return;
    }
    struct jwt_claims_peek c;
    char why[160] = "";
    if (jwt_peek(t.token, &c, why, sizeof why) < 0) {
    } else if (strcmp(c.sub, a->st.name) != 0) {
        snprintf(why, sizeof why, "it is for monitor '%.60s'", c.sub);
    } else if (c.exp > 0 && c.exp <= time_now_us() / 1000000) {
        snprintf(why, sizeof why, "it has expired");
    }
    if (why[0]) {
        LOG(ERROR, "ignoring a renewed token: %s", why);
        msg_token_free(&t);
        return;
    }
    free(a->st.token);
    a->st.token = xstrdup(t.token);
    msg_token_free(&t);
    char ferr[256];
    if (state_save(a->state_path, &a->st, ferr, sizeof ferr) < 0)
        LOG(ERROR, "cannot write the renewed token to state.json: %s (using it anyway)", ferr);
    LOG(INFO, "token renewed (expires %" PRId64 "); reconnecting with it", c.exp);
    adopt_token(a, a->st.token);
    evloop_timer_start(a->loop, &a->reconnect_timer, 0);
}

static void on_reconnect_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct agent *a = arg;
    mqtt_session_reconnect(a->mq);
}

/* ---------- MQTT handlers ---------- */

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)present;
    struct agent *a = arg;
    publish_status(a);
    /* the broker may or may not have what we sent on the last connection: everything unconfirmed goes again */
    spool_mark_all_due(a->spool);
    kick_pump(a);
    if (a->token_wanted) request_token(a);
}

static void on_disconnect(struct mqtt_session *s, int reason, const char *why, void *arg)
{
    (void)s;
    (void)arg;
    LOG(DEBUG, "mqtt: disconnected (%d: %s)", reason, why);
}

static void on_publish(struct mqtt_session *s, int mid, int reason, void *arg)
{
    (void)s;
    (void)mid;
    struct agent *a = arg;
    if (reason >= 0x80) LOG(WARN, "the broker refused a publish (reason 0x%02x: %s)", reason, mosquitto_reason_string(reason));
    kick_pump(a);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    struct agent *a = arg;
    struct msg_topic t;
    enum msg_topic_kind kind = msg_topic_parse(a->o->common.env, m->topic, &t);
    if (kind != MSG_TOPIC_UNKNOWN && kind != MSG_TOPIC_RESPONSE && strcmp(t.monitor, a->st.name) != 0) return;
    /* while stopping, confirmations still shrink the spool; nothing else may start work */
    if (a->stopping && kind != MSG_TOPIC_STORED) return;
    const char *payload = m->payload ? m->payload : "";
    size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
    switch (kind) {
    case MSG_TOPIC_ASSIGN: handle_assign(a, payload, len); break;
    case MSG_TOPIC_STORED: handle_stored(a, payload, len); break;
    case MSG_TOPIC_REQUEST_NTP: handle_request(a, m, props); break;
    case MSG_TOPIC_REQUEST_TRACEROUTE: tracing_handle_request(a->tracing, m, props); break;
    case MSG_TOPIC_TOKEN: handle_token(a, payload, len); break;
    case MSG_TOPIC_MONITOR_STATUS: /* our own retained status */
    case MSG_TOPIC_TOKEN_REQUEST:  /* our own renewal request */
        break;
    default: LOG(DEBUG, "ignoring a message on %.200s", m->topic); break;
    }
}

/* ---------- clock, network ---------- */

static void on_clock(struct clockcheck *c, int state, void *arg)
{
    (void)c;
    struct agent *a = arg;
    a->clock_state = state;
    publish_status(a);
    release_held(a);
    arm_once(a);
}

static void set_families(struct agent *a, bool v4, bool v6)
{
    bool n4 = !a->o->no_ipv4 && (a->o->allow_loopback || v4);
    bool n6 = !a->o->no_ipv6 && (a->o->allow_loopback || v6);
    if (n4 == a->v4 && n6 == a->v6) return;
    a->v4 = n4;
    a->v6 = n6;
    LOG(INFO, "probing over IPv4 %s, IPv6 %s", n4 ? "on" : "off", n6 ? "on" : "off");
    publish_status(a);
    release_held(a);
}

static void on_netwatch(bool v4, bool v6, void *arg) { set_families(arg, v4, v6); }

static void apply_clock_refs(struct agent *a)
{
    const struct opt_list *flag = &a->o->clock_refs;
    if (flag->n > 0) clockcheck_set_refs(a->clock, flag->items, flag->n, a->v4, a->v6);
    else clockcheck_set_refs(a->clock, (const char *const *)a->st.clock_refs, a->st.n_clock_refs, a->v4, a->v6);
}

/* ---------- state.json reloads ---------- */

static void shutdown_now(struct agent *a, int code)
{
    a->stopping = true;
    service_exit(a->svc, code);
}

static void reload_state(struct agent *a, const char *why)
{
    struct agent_state ns;
    char err[512];
    if (state_load(a->state_path, &ns, err, sizeof err) < 0) {
        LOG(ERROR, "state.json changed (%s) but is unusable: %s; keeping the last good state", why, err);
        return;
    }
    if (strcmp(ns.name, a->st.name) != 0) {
        LOG(WARN, "state.json now names monitor '%s' (was '%s'): restarting as that monitor", ns.name, a->st.name);
        state_free(&ns);
        a->reexec = true;
        shutdown_now(a, 0);
        return;
    }
    bool conn = !state_same_connection(&ns, &a->st);
    bool refs = !state_same_clock_refs(&ns, &a->st);
    bool url = (ns.mqtt_url && a->st.mqtt_url && strcmp(ns.mqtt_url, a->st.mqtt_url) != 0) ||
               (!ns.mqtt_ca_file != !a->st.mqtt_ca_file) ||
               (ns.mqtt_ca_file && a->st.mqtt_ca_file && strcmp(ns.mqtt_ca_file, a->st.mqtt_ca_file) != 0);
    state_free(&a->st);
    a->st = ns;
    if (!conn && !refs) {
        LOG(DEBUG, "state.json reloaded (%s): nothing changed", why);
        return;
    }
    if (conn) {
        if (url) mqtt_session_set_url(a->mq, a->st.mqtt_url, a->st.mqtt_ca_file);
        adopt_token(a, a->st.token);
        LOG(INFO, "state.json changed (%s): new %s; reconnecting", why, url ? "broker" : "token");
        evloop_timer_start(a->loop, &a->reconnect_timer, 0);
    }
    if (refs && a->o->clock_refs.n == 0) {
        LOG(INFO, "state.json changed (%s): new clock references", why);
        apply_clock_refs(a);
    }
}

static void on_reload_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    reload_state(arg, "file changed");
}

static void on_inotify(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    struct agent *a = arg;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool ours = false;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            if (ev->len && strcmp(ev->name, STATE_FILE) == 0) ours = true;
            p += sizeof *ev + ev->len;
        }
    }
    if (ours) evloop_timer_start(loop, &a->reload_timer, 100000); /* let a burst of writes settle */
}

/* ---------- the frame's callbacks ---------- */

static void on_reload(struct service *svc, void *arg)
{
    (void)svc;
    reload_state(arg, "SIGHUP");
}

/* SIGTERM/SIGINT: nothing new starts; the steps stop in reverse (probing, then the offline status and the flush). */
static void on_drain(struct service *svc, void *arg)
{
    struct agent *a = arg;
    a->stopping = true;
    service_drained(svc);
}

static const char *health_clock(void *arg)
{
    const struct agent *a = arg;
    return a->clock_state == 0 ? "local clock check failed: probing paused" : NULL;
}

static void status_words(struct service *svc, void *arg, char *buf, size_t len)
{
    (void)svc;
    struct agent *a = arg;
    snprintf(buf, len, "%zu servers; spool %zu; clock %s", a->sched ? sched_count(a->sched) : 0,
             spool_live(a->spool), a->clock_state == 1 ? "ok" : a->clock_state == 0 ? "bad" : "unknown");
}

static void print_summary(struct agent *a)
{
    struct spool_stats ss;
    spool_get_stats(a->spool, &ss);
    if (a->tracing) tracing_get_counters(a->tracing, &a->traces);
    LOG_ALWAYS(INFO, "summary: %zu server(s), %" PRIu64 " results made, %" PRIu64 " published (%" PRIu64
                     " re-sent), %" PRIu64 " confirmed, %" PRIu64 " rejected; spool %zu (%" PRId64 " dropped); "
                     "%" PRIu64 " ad-hoc requests (%" PRIu64 " refused); %" PRIu64 " traces (%" PRIu64
                     " on status changes, %" PRIu64 " requested, %" PRIu64 " pool changes; %" PRIu64
                     " held back by the per-server limit, %" PRIu64 " by the agent's)",
               a->sched ? sched_count(a->sched) : a->n_servers, a->made, a->published, a->republished, a->confirmed, a->rejected, ss.live,
               ss.dropped, a->requests, a->refused, a->traces.made, a->traces.by_trigger[MSG_TRIGGER_STATUS_CHANGE],
               a->traces.by_trigger[MSG_TRIGGER_REQUEST], a->traces.by_trigger[MSG_TRIGGER_POOL_CHANGE],
               a->traces.limited_server, a->traces.limited_agent);
}

static void on_summary(struct service *svc, void *arg)
{
    (void)svc;
    print_summary(arg);
}

/* ---------- the steps ---------- */

/* The state directory (locked: one agent per directory) and state.json. */
static int state_start(struct service *svc, void *arg)
{
    struct agent *a = arg;
    const struct agent_opts *o = a->o;
    char err[512];
    a->dir = state_env_dir(o->state_dir, o->common.env);
    a->state_path = xasprintf("%s/%s", a->dir, STATE_FILE);
    a->assign_path = xasprintf("%s/%s", a->dir, ASSIGN_FILE);
    a->spool_path = xasprintf("%s/%s", a->dir, SPOOL_FILE);
    if (state_dir_prepare(a->dir, err, sizeof err) < 0 || (a->lock_fd = state_lock(a->dir, err, sizeof err)) < 0 ||
        state_load(a->state_path, &a->st, err, sizeof err) < 0) {
        service_fail(svc, 2, "%s", err);
        if (a->lock_fd >= 0) close(a->lock_fd);
        free(a->dir);
        free(a->state_path);
        free(a->assign_path);
        free(a->spool_path);
        return -1;
    }
    return 0;
}

static void state_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct agent *a = arg;
    state_free(&a->st);
    close(a->lock_fd);
    free(a->dir);
    free(a->state_path);
    free(a->assign_path);
    free(a->spool_path);
}

static int spool_step_start(struct service *svc, void *arg)
{
    struct agent *a = arg;
    const struct agent_opts *o = a->o;
    char err[512];
    a->spool = spool_open(a->spool_path, (size_t)o->spool_max, !o->no_spool_fsync, err, sizeof err);
    if (!a->spool) {
        service_fail(svc, 2, "%s", err);
        return -1;
    }
    struct spool_stats ss;
    spool_get_stats(a->spool, &ss);
    LOG_ALWAYS(INFO, "starting %s as monitor '%s' (env %s, state %s); spool: %zu unconfirmed result(s), %" PRId64
                     " dropped so far", agent_version_string(), a->st.name, o->common.env, a->dir, ss.live,
               ss.dropped);
    return 0;
}

/* The last summary comes from the spool's numbers, after everything else has stopped. */
static void spool_step_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct agent *a = arg;
    print_summary(a);
    spool_close(a->spool);
}

/* The MQTT session's configuration from state.json (the frame's MQTT step creates it next). */
static int session_start(struct service *svc, void *arg)
{
    struct agent *a = arg;
    const struct agent_opts *o = a->o;
    char err[512];
    struct msg_topic t = {.kind = MSG_TOPIC_MONITOR_STATUS};
    memcpy(t.monitor, a->st.name, sizeof t.monitor);
    msg_topic_build(a->status_topic, sizeof a->status_topic, o->common.env, &t);
    t.kind = MSG_TOPIC_TOKEN_REQUEST;
    msg_topic_build(a->token_req_topic, sizeof a->token_req_topic, o->common.env, &t);
    msg_filter_monitor_all(a->filter, sizeof a->filter, o->common.env, a->st.name);
    struct msg_monitor_status will = {.online = false};
    a->will_json = msg_monitor_status_encode(&will);
    a->token_loaded_s = time_now_us() / 1000000;
    jwt_peek(a->st.token, &a->claims, err, sizeof err); /* state_load checked it */
    struct mqtt_config mc = {
        .url = a->st.mqtt_url,
        .client_id = o->mqtt_client_id ? o->mqtt_client_id : a->st.name,
        .username = a->claims.sub,
        .password = a->st.token,
        .ca_file = a->st.mqtt_ca_file,
        .clean_start = false,
        .will_topic = a->status_topic,
        .will_payload = a->will_json,
        .will_retain = true,
        .backoff_min_us = o->backoff_min_us,
        .backoff_max_us = o->backoff_max_us,
    };
    struct mqtt_handlers mh = {.on_connect = on_connect, .on_disconnect = on_disconnect, .on_message = on_message,
                               .on_publish = on_publish};
    service_set_mqtt(svc, &mc, &mh);
    return 0;
}

static void session_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct agent *a = arg;
    free(a->will_json);
}

/* Probing: the engine, the work list, address families, the local clock check, state.json watching. */
static int probing_start(struct service *svc, void *arg)
{
    struct agent *a = arg;
    const struct agent_opts *o = a->o;
    a->loop = service_loop(svc);
    a->mq = service_mqtt(svc);
    agent_raise_fd_limit();
    ratelimit_init(&a->rl, (size_t)o->request_rate, o->request_window_us);
    struct probe_config pc = {.port = (uint16_t)o->ntp_port, .timeout_us = o->timeout_us,
                              .spacing_us = o->spacing_us, .max_sockets = (int)o->max_sockets};
    a->eng = probe_engine_new(a->loop, &pc);
    struct sched_config sc = {.min_interval_us = o->min_interval_us, .jitter = o->jitter,
                              .first_max_us = o->first_max_us, .start_floor_us = time_mono_us() + o->min_interval_us};
    if (o->once) sc.start_floor_us = 0;
    a->sched = sched_new(a->loop, &sc, on_due, on_removed, a);

    bool v4 = true, v6 = true;
    if (!o->allow_loopback) {
        a->nw = netwatch_new(a->loop, o->netwatch_us, on_netwatch, a);
        netwatch_get(a->nw, &v4, &v6);
    }
    a->v4 = !o->no_ipv4 && (o->allow_loopback || v4);
    a->v6 = !o->no_ipv6 && (o->allow_loopback || v6);
    LOG(INFO, "probing over IPv4 %s, IPv6 %s", a->v4 ? "on" : "off", a->v6 ? "on" : "off");
    if (o->allow_documentation_nets)
        LOG(WARN, "--allow-documentation-nets: documentation ranges are probed and traced (labs and tests only)");

    a->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (a->inotify_fd < 0 ||
        inotify_add_watch(a->inotify_fd, a->dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE) < 0 ||
        evloop_fd_set(a->loop, a->inotify_fd, EVLOOP_READ, on_inotify, a) < 0)
        LOG(WARN, "cannot watch %s for changes (%s): send SIGHUP after editing state.json", a->dir, strerror(errno));

    a->clock = clockcheck_new(a->loop, a->eng,
                              &(struct clockcheck_config){.cache_us = o->clock_cache_us,
                                                          .max_offset = o->clock_max_offset,
                                                          .samples = (int)o->clock_samples,
                                                          .default_port = (uint16_t)o->ntp_port},
                              on_clock, a);
    start_tracing(a);
    service_health_add(svc, "clock", health_clock, a);
    return 0;
}

/* Probing stops first: no result is made after this. */
static void probing_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct agent *a = arg;
    a->stopping = true;
    clockcheck_free(a->clock);
    a->n_servers = sched_count(a->sched);
    sched_free(a->sched);
    a->sched = NULL;
    while (a->adhocs) {
        probe_cancel(a->adhocs->probe);
        adhoc_free(a->adhocs);
    }
    tracing_get_counters(a->tracing, &a->traces); /* for the last summary */
    tracing_free(a->tracing);
    a->tracing = NULL;
    probe_engine_free(a->eng);
    if (a->nw) netwatch_free(a->nw);
    if (a->inotify_fd >= 0) {
        evloop_fd_remove(a->loop, a->inotify_fd);
        close(a->inotify_fd);
    }
    ratelimit_free(&a->rl);
}

/* The work: the subscription, the timers, the saved assignment, the clock references. Its stop says goodbye
 * (the retained status offline) before the frame flushes the session. */
static int work_start(struct service *svc, void *arg)
{
    (void)svc;
    struct agent *a = arg;
    const struct agent_opts *o = a->o;
    mqtt_session_subscribe(a->mq, a->filter, 1);
    if (a->claims.exp > 0 && a->claims.exp < a->token_loaded_s)
        LOG(ERROR, "the token in %s expired %" PRId64 " s ago: the broker will refuse it; run 'ntpmon-agent setup' "
                   "with a new one", a->state_path, a->token_loaded_s - a->claims.exp);
    evloop_timer_init(&a->pump_timer, on_pump, a);
    evloop_timer_init(&a->resend_timer, on_resend_timer, a);
    evloop_timer_init(&a->status_timer, on_status_timer, a);
    evloop_timer_init(&a->reconnect_timer, on_reconnect_timer, a);
    evloop_timer_init(&a->token_timer, on_token_timer, a);
    evloop_timer_init(&a->reload_timer, on_reload_timer, a);
    evloop_timer_init(&a->once_timer, on_once_timeout, a);
    evloop_timer_init(&a->metrics_timer, on_metrics_timer, a);
    if (o->metrics.listen && *o->metrics.listen) {
        metrics_register();
        evloop_timer_start(a->loop, &a->metrics_timer, 0);
    }
    evloop_timer_start(a->loop, &a->resend_timer, 1000000);
    evloop_timer_start(a->loop, &a->status_timer, o->status_us);
    if (o->once) evloop_timer_start(a->loop, &a->once_timer, o->once_timeout_us);
    schedule_token(a);
    load_saved_assign(a);
    apply_clock_refs(a);
    return 0;
}

static void work_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct agent *a = arg;
    struct evloop_timer *timers[] = {&a->pump_timer, &a->resend_timer, &a->status_timer, &a->reconnect_timer,
                                     &a->token_timer, &a->reload_timer, &a->once_timer, &a->metrics_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) evloop_timer_stop(a->loop, timers[i]);
    if (mqtt_session_connected(a->mq)) {
        struct msg_monitor_status off = {.online = false, .ts_us = time_now_us()};
        char *json = msg_monitor_status_encode(&off);
        if (json) mqtt_publish(a->mq, a->status_topic, json, strlen(json), 1, true, NULL);
        free(json);
    }
}

static const struct service_step steps[] = {
    {"state", state_start, state_stop},
    {"spool", spool_step_start, spool_step_stop},
    SERVICE_STEP_METRICS,
    {"session", session_start, session_stop},
    SERVICE_STEP_MQTT,
    {"probing", probing_start, probing_stop},
    {"work", work_start, work_stop},
    {0},
};

int agent_monitor(const struct agent_opts *o, char **argv)
{
    static struct agent A;
    struct agent *a = &A;
    *a = (struct agent){.o = o, .lock_fd = -1, .inotify_fd = -1, .clock_state = -2};
    the_agent = a;
    const struct service_def def = {.name = AGENT_NAME, .steps = steps, .arg = a, .drain = on_drain,
                                    .flush_timeout_us = o->shutdown_us ? o->shutdown_us : 1,
                                    .reload = on_reload, .status = status_words, .summary = on_summary,
                                    .summary_interval_us = 3600 * INT64_C(1000000)};
    a->svc = service_new(&def);
    service_set_metrics(a->svc, &o->metrics);
    int rc = service_run(a->svc);
    if (a->reexec && rc == 0) {
        execv("/proc/self/exe", argv);
        LOG_ALWAYS(ERROR, "cannot restart myself: %s", strerror(errno));
        return 1;
    }
    return rc;
}
