/* tracing.c — triggers, limits, and finished traces into the spool or a response. The answering/failing memory is
 * one byte the daemon keeps in each work-list entry; the per-server limit needs the time of each address's last
 * trace, kept in a small open-addressing table of traced addresses only (entries older than the interval are
 * dropped whenever it would grow), so memory follows the traces made, not the servers assigned. */
#include "tracing.h"

#include <errno.h>
#include <inttypes.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ratelimit.h"
#include "reply.h"
#include "timeutil.h"
#include "ulid.h"
#include "xalloc.h"

enum answer_state { ST_UNKNOWN = 0, ST_ANSWERING, ST_FAILING };

struct addr_state {
    struct netaddr addr;
    bool used;
    int64_t last_trace_us; /* monotonic */
};

struct job {
    struct tracing *t;
    struct trace *trace;
    enum msg_trace_trigger trigger;
    bool has_server_id;
    int64_t server_id;
    char *reply_topic;
    void *corr;
    uint16_t corr_len;
    struct job *next;
};

struct tracing {
    struct tracing_config cfg;
    struct evloop *loop;
    struct trace_engine *engine;
    struct spool *spool;
    struct mqtt_session *mq;
    struct tracing_hooks hooks;
    void *arg;
    struct ratelimit rl;
    struct addr_state *tab;
    size_t cap, used;
    struct job *jobs;
    struct tracing_counters c;
};

/* ---- the address table ---- */

static uint64_t addr_hash(const struct netaddr *a)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)a->family;
    for (int i = 0; i < 16; i++) h = (h ^ a->bytes[i]) * 1099511628211ULL;
    return h;
}

/* Rebuilds the table with room for one more, leaving out entries whose interval has passed. */
static bool still_limited(const struct tracing *t, const struct addr_state *e, int64_t now)
{
    return e->used && e->last_trace_us && now - e->last_trace_us < t->cfg.server_interval_us;
}

static void rebuild(struct tracing *t)
{
    int64_t now = evloop_now(t->loop);
    size_t keep = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (still_limited(t, &t->tab[i], now)) keep++;
    size_t ncap = 16;
    while ((keep + 1) * 2 > ncap) ncap *= 2;
    struct addr_state *ntab = xcalloc(ncap, sizeof *ntab);
    for (size_t i = 0; i < t->cap; i++) {
        if (!still_limited(t, &t->tab[i], now)) continue;
        size_t s = addr_hash(&t->tab[i].addr) & (ncap - 1);
        while (ntab[s].used) s = (s + 1) & (ncap - 1);
        ntab[s] = t->tab[i];
    }
    free(t->tab);
    t->tab = ntab;
    t->cap = ncap;
    t->used = keep;
}

/* The entry of an address, created when missing (last_trace_us 0: never traced). */
static struct addr_state *lookup(struct tracing *t, const struct netaddr *a)
{
    if ((t->used + 1) * 2 > t->cap) rebuild(t);
    size_t s = addr_hash(a) & (t->cap - 1);
    while (t->tab[s].used) {
        if (t->tab[s].addr.family == a->family && memcmp(t->tab[s].addr.bytes, a->bytes, 16) == 0) return &t->tab[s];
        s = (s + 1) & (t->cap - 1);
    }
    memset(&t->tab[s], 0, sizeof t->tab[s]);
    t->tab[s].used = true;
    t->tab[s].addr = *a;
    t->used++;
    return &t->tab[s];
}

/* ---- finished traces ---- */

static void job_free(struct job *j)
{
    struct tracing *t = j->t;
    for (struct job **pp = &t->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    free(j->reply_topic);
    free(j->corr);
    free(j);
}

/* Answers a request (when it came with a response topic). */
static void answer(struct tracing *t, const char *topic, const void *corr, uint16_t corr_len, const char *json)
{
    if (!topic) return;
    if (!mqtt_session_connected(t->mq)) {
        LOG(WARN, "traceroute request: the broker is away; the answer on %s is dropped", topic);
        return;
    }
    if (reply_json(t->mq, topic, corr, corr_len, json)) t->c.answered++;
}

static void refuse(struct tracing *t, const char *topic, const void *corr, uint16_t corr_len, const char *why)
{
    if (topic && reply_error(t->mq, topic, corr, corr_len, why)) t->c.answered++;
}

static void on_trace_done(struct trace *tr, const struct trace_outcome *o, void *arg)
{
    (void)tr;
    struct job *j = arg;
    struct tracing *t = j->t;
    struct msg_trace *m = xcalloc(1, sizeof *m);
    m->v = 1;
    ulid_new(m->id);
    snprintf(m->monitor, sizeof m->monitor, "%s", t->cfg.monitor);
    m->has_server_id = j->has_server_id;
    m->server_id = j->server_id;
    m->trigger = j->trigger;
    snprintf(m->agent, sizeof m->agent, "%s", t->cfg.agent);
    trace_outcome_to_msg(o, m);
    if (m->ts_us == 0) m->ts_us = time_now_us();
    t->c.made++;
    char ip[NETADDR_STRLEN];
    netaddr_format(&o->target, ip);
    LOG(INFO, "trace %s of %s (server %" PRId64 ", %s): %s after %zu hop(s), %" PRIu64 " packets, %.3f s%s%s", m->id,
        ip, j->server_id, msg_trace_trigger_str(j->trigger), o->reached ? "reached" : "not reached", o->n_hops,
        o->packets_sent, o->duration_us / 1e6, o->error[0] ? "; " : "", o->error);
    char *json = msg_trace_encode(m);
    if (json) {
        if (j->has_server_id) {
            if (spool_add_kind(t->spool, SPOOL_TRACE, m->id, m->server_id, json, strlen(json)) < 0) {
                LOG(ERROR, "spool: cannot store trace %s: %s; it is lost", m->id, strerror(errno));
            } else {
                t->c.published_to_spool++;
                if (t->hooks.spooled) t->hooks.spooled(t->arg);
            }
        }
        answer(t, j->reply_topic, j->corr, j->corr_len, json);
    }
    free(json);
    free(m);
    job_free(j);
}

/* ---- starting one ---- */

/* Applies the limits and starts a trace; NULL with *why set when refused. Takes nothing from the caller. */
static struct job *start(struct tracing *t, const struct netaddr *addr, enum msg_trace_trigger trigger,
                         bool has_server_id, int64_t server_id, char *why, size_t why_len)
{
    char ip[NETADDR_STRLEN];
    netaddr_format(addr, ip);
    const char *forbidden = netaddr_forbidden_reason(addr, t->cfg.allow);
    if (forbidden) {
        snprintf(why, why_len, "forbidden address: %s is a %s address", ip, forbidden);
        t->c.refused++;
        return NULL;
    }
    if (t->hooks.family_on && !t->hooks.family_on(t->arg, addr->family)) {
        snprintf(why, why_len, "IPv%d is not available on this monitor", addr->family == AF_INET ? 4 : 6);
        t->c.refused++;
        return NULL;
    }
    int64_t now = evloop_now(t->loop);
    struct addr_state *st = lookup(t, addr);
    if (still_limited(t, st, now)) {
        snprintf(why, why_len, "rate limited: %s was traced %.0f s ago (one trace per %.0f s)", ip,
                 (now - st->last_trace_us) / 1e6, t->cfg.server_interval_us / 1e6);
        t->c.limited_server++;
        return NULL;
    }
    if (!ratelimit_take(&t->rl, now)) {
        snprintf(why, why_len, "rate limited: more than %" PRId64 " traces in %.0f s", t->cfg.rate,
                 t->cfg.window_us / 1e6);
        t->c.limited_agent++;
        return NULL;
    }
    st->last_trace_us = now;
    struct job *j = xcalloc(1, sizeof *j);
    j->t = t;
    j->trigger = trigger;
    j->has_server_id = has_server_id;
    j->server_id = server_id;
    j->next = t->jobs;
    t->jobs = j;
    t->c.by_trigger[trigger]++;
    j->trace = trace_start(t->engine, addr, 0, on_trace_done, j);
    return j;
}

bool tracing_result_failing(const struct msg_result *r)
{
    return msg_error_is_no_response(r->error) || (r->stratum == 0 && r->error[0] != '\0');
}

void tracing_note_result(struct tracing *t, int64_t server_id, const struct netaddr *addr, const struct msg_result *r,
                         uint8_t *state)
{
    uint8_t now_state = tracing_result_failing(r) ? ST_FAILING : ST_ANSWERING;
    uint8_t before = *state;
    *state = now_state;
    if (before == ST_UNKNOWN || before == now_state) return;
    char ip[NETADDR_STRLEN], why[MSG_ERR_LEN];
    netaddr_format(addr, ip);
    const char *change = now_state == ST_FAILING ? "stopped answering" : "answers again";
    if (start(t, addr, MSG_TRIGGER_STATUS_CHANGE, true, server_id, why, sizeof why))
        LOG(INFO, "server %" PRId64 " (%s) %s (%s): tracing the path", server_id, ip, change,
            r->error[0] ? r->error : "a good reply");
    else
        LOG(INFO, "server %" PRId64 " (%s) %s; not tracing: %s", server_id, ip, change, why);
}

void tracing_handle_request(struct tracing *t, const struct mosquitto_message *m, const mosquitto_property *props)
{
    t->c.requests++;
    char *rt;
    void *corr;
    uint16_t corr_len;
    mqtt_props_response(props, &rt, &corr, &corr_len);
    struct msg_topic topic;
    if (rt && (msg_topic_parse(t->cfg.env, rt, &topic) != MSG_TOPIC_RESPONSE || strcmp(topic.monitor, t->cfg.monitor) != 0)) {
        LOG(WARN, "refusing a traceroute request: its response topic '%.200s' is not ntpmon/%s/responses/%s/<id>", rt,
            t->cfg.env, t->cfg.monitor);
        t->c.refused++;
        free(rt);
        free(corr);
        return;
    }
    struct msg_traceroute_request req;
    char err[MSG_ERR_LEN], why[MSG_ERR_LEN + 32];
    struct netaddr addr;
    if (msg_traceroute_request_decode(m->payload, m->payloadlen > 0 ? (size_t)m->payloadlen : 0, &req, err) < 0 ||
        netaddr_parse(req.ip, &addr) < 0) {
        LOG(WARN, "refusing an invalid traceroute request: %s", err);
        snprintf(why, sizeof why, "bad request: %s", err);
        refuse(t, rt, corr, corr_len, why);
        t->c.refused++;
        free(rt);
        free(corr);
        return;
    }
    int64_t sid = req.has_server_id ? req.server_id : (t->hooks.server_for ? t->hooks.server_for(t->arg, &addr) : 0);
    struct job *j = start(t, &addr, req.trigger, sid > 0, sid, why, sizeof why);
    if (!j) {
        LOG(INFO, "refusing a traceroute request (%s) for %s: %s", msg_trace_trigger_str(req.trigger), req.ip, why);
        refuse(t, rt, corr, corr_len, why);
        free(rt);
        free(corr);
        return;
    }
    LOG(INFO, "traceroute request (%s) for %s%s", msg_trace_trigger_str(req.trigger), req.ip,
        rt ? "" : " (no response topic: published only)");
    j->reply_topic = rt; /* the job owns them now */
    j->corr = corr;
    j->corr_len = corr_len;
}

void tracing_get_counters(const struct tracing *t, struct tracing_counters *c) { *c = t->c; }

struct tracing *tracing_new(struct evloop *loop, const struct tracing_config *cfg, struct spool *spool,
                            struct mqtt_session *mq, const struct tracing_hooks *hooks, void *arg)
{
    struct tracing *t = xcalloc(1, sizeof *t);
    t->cfg = *cfg;
    t->loop = loop;
    t->engine = trace_engine_new(loop, &cfg->engine);
    t->spool = spool;
    t->mq = mq;
    t->hooks = *hooks;
    t->arg = arg;
    ratelimit_init(&t->rl, cfg->rate > 0 ? (size_t)cfg->rate : 0, cfg->window_us);
    return t;
}

void tracing_free(struct tracing *t)
{
    if (!t) return;
    trace_engine_free(t->engine); /* cancels every trace: no callbacks */
    while (t->jobs) job_free(t->jobs);
    ratelimit_free(&t->rl);
    free(t->tab);
    free(t);
}
