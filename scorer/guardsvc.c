/* guardsvc.c — the guard in the service (see guardsvc.h). */
#include "guardsvc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guarddb.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "timeutil.h"
#include "xalloc.h"
#include "zone.h"

struct event {
    size_t result;
    int64_t server_id, ts_us;
    double score;
    unsigned zone;
    struct guard_decision d;
};

struct snapshot {
    unsigned zone;
    int64_t loaded_mono_us; /* wall time of the load … */
    int64_t at_us;          /* … and the decision time it was read for (results may be hours old: a backlog) */
    bool released;
    struct guarddb_member *m;
    size_t n;
};

struct zone_metric { /* per zone seen: the held gauge and when its alert was last recomputed */
    unsigned zone;
    struct metric *held;
    int64_t refreshed_mono_us;
    bool dirty; /* decisions since: recompute when zone_cache_s has passed (or at the periodic refresh) */
};

struct guardsvc {
    struct guard_settings g;
    char *overrides;
    const struct shard *sh;
    struct db *db;  /* the current attempt's connection */
    size_t result;
    bool failed;
    bool committed; /* the last attempt was committed: the zone snapshots it updated hold */
    struct event *ev;
    size_t n_ev, cap_ev;
    struct snapshot *snap;
    size_t n_snap;
    struct zone_metric *zm;
    size_t n_zm;
    struct metric *m_decisions[5], *m_alerts, *m_db_errors;
};

/* ---- the hook ---- */

/* A zone's snapshot read for decisions at now_us: reused while it is younger than zone_cache_s in wall time and
 * was read for a decision time within zone_cache_s of now_us. */
static struct snapshot *snapshot_of(struct guardsvc *gs, unsigned zone, int64_t now_us)
{
    int64_t ttl = (int64_t)gs->g.zone_cache_s * 1000000;
    for (size_t i = 0; i < gs->n_snap; i++) {
        if (gs->snap[i].zone != zone) continue;
        int64_t drift = now_us - gs->snap[i].at_us;
        if (drift <= ttl && drift >= -ttl) return &gs->snap[i];
        free(gs->snap[i].m);
        gs->snap[i] = gs->snap[--gs->n_snap];
        break;
    }
    struct snapshot s = {.zone = zone, .loaded_mono_us = time_mono_us(), .at_us = now_us};
    if (guarddb_zone_members(gs->db, &gs->g, zone_code(zone), now_us, &s.m, &s.n) < 0) return NULL;
    if (guarddb_zone_released(gs->db, &gs->g, zone_code(zone), now_us, &s.released) < 0) {
        free(s.m);
        return NULL;
    }
    gs->snap = xrealloc(gs->snap, (gs->n_snap + 1) * sizeof *gs->snap);
    gs->snap[gs->n_snap] = s;
    return &gs->snap[gs->n_snap++];
}

static int db_count(void *arg, const struct eng_server *s, int64_t now_us, struct guard_counts *c)
{
    struct guardsvc *gs = arg;
    struct snapshot *snap = snapshot_of(gs, s->zone, now_us);
    if (!snap) {
        LOG(WARN, "guard: reading zone %s failed: %s", zone_code(s->zone), db_error(gs->db));
        return -1;
    }
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < snap->n; i++)
        if (snap->m[i].id != s->id) guard_count(&gs->g, &snap->m[i].m, now_us, c);
    c->released = snap->released;
    return 0;
}

/* Keeps a zone's snapshot in step with a decision of this batch. */
static void snapshot_update(struct guardsvc *gs, const struct eng_server *s, bool in_pool)
{
    for (size_t i = 0; i < gs->n_snap; i++) {
        if (gs->snap[i].zone != s->zone) continue;
        for (size_t k = 0; k < gs->snap[i].n; k++) {
            struct guard_member *m = &gs->snap[i].m[k].m;
            if (gs->snap[i].m[k].id != s->id) continue;
            *m = (struct guard_member){in_pool, s->held_since_us, s->left_us, s->recovered_us, m->at_risk};
        }
    }
}

static bool hook(void *arg, struct eng *e, struct eng_server *s, bool score_in, int64_t ts_us)
{
    struct guardsvc *gs = arg;
    if (gs->failed || !gs->db) return score_in; /* the attempt is void already */
    struct guard_member before = {s->in_pool, s->held_since_us, s->left_us, s->recovered_us, false};
    struct guard_decision d;
    if (guard_apply(&gs->g, e, s, score_in, ts_us, db_count, gs, NULL, 0, &d) < 0) {
        gs->failed = true;
        return score_in;
    }
    bool changed = d.in_pool != before.in_pool || s->held_since_us != before.held_since_us ||
                   s->left_us != before.left_us || s->recovered_us != before.recovered_us;
    if (!changed) return d.in_pool;
    if (guarddb_write_server(gs->db, s, d.in_pool, d.verdict == GUARD_HOLD ? d.reason : NULL) < 0) {
        LOG(WARN, "guard: writing server %lld failed: %s", (long long)s->id, db_error(gs->db));
        gs->failed = true;
        return score_in;
    }
    if (s->zone) snapshot_update(gs, s, d.in_pool);
    if (gs->n_ev == gs->cap_ev) {
        gs->cap_ev = gs->cap_ev ? gs->cap_ev * 2 : 16;
        gs->ev = xrealloc(gs->ev, gs->cap_ev * sizeof *gs->ev);
    }
    gs->ev[gs->n_ev++] = (struct event){gs->result, s->id, ts_us, s->has_last ? s->last_score : 0, s->zone, d};
    return d.in_pool;
}

/* ---- lifecycle and settings ---- */

static const char *const verdict_labels[] = {"verdict=\"follow\"", "verdict=\"held\"", "verdict=\"kept\"",
                                             "verdict=\"released\"", "verdict=\"left\""};

struct guardsvc *guardsvc_new(struct eng *e, const struct shard *sh, const char *overrides)
{
    struct guardsvc *gs = xcalloc(1, sizeof *gs);
    guard_settings_defaults(&gs->g);
    gs->overrides = overrides ? xstrdup(overrides) : NULL;
    gs->sh = sh;
    for (int v = GUARD_HOLD; v <= GUARD_LEAVE; v++)
        if (v != GUARD_KEEP)
            gs->m_decisions[v] = metrics_counter("ntpmon_scorer_guard_decisions_total",
                                                 "mass-outage guard decisions: holds, releases, ends of holds",
                                                 verdict_labels[v]);
    gs->m_alerts = metrics_counter("ntpmon_scorer_guard_alerts_total",
                                   "zone alert messages published (status/zones/<zone>, clears included)", NULL);
    gs->m_db_errors = metrics_counter("ntpmon_scorer_guard_db_errors_total", "guard database operations that failed",
                                      NULL);
    eng_set_pool_hook(e, hook, gs);
    return gs;
}

void guardsvc_free(struct guardsvc *gs)
{
    if (!gs) return;
    guardsvc_begin(gs, NULL);
    free(gs->snap);
    free(gs->ev);
    free(gs->zm);
    free(gs->overrides);
    free(gs);
}

int guardsvc_load_settings(struct guardsvc *gs, struct db *db)
{
    char *stored = NULL;
    if (guarddb_settings_text(db, &stored) < 0) {
        LOG(WARN, "guard: reading system_settings failed: %s", db_error(db));
        return -1;
    }
    char err[CONFTAB_ERR_LEN], unknown[256];
    char *merged = conftab_merge(guard_settings_table(), stored, gs->overrides, err);
    struct guard_settings s;
    if (!merged || guard_settings_parse(merged, &s, err, unknown, sizeof unknown) < 0) {
        LOG(ERROR, "guard: %s; keeping the previous settings", err);
    } else {
        if (unknown[0]) LOG(WARN, "guard: ignoring unknown settings %s", unknown);
        if (!conftab_equal(guard_settings_table(), &s, &gs->g)) {
            char *json = conftab_to_json(guard_settings_table(), &s);
            LOG(INFO, "guard settings: %s", json);
            free(json);
            gs->g = s;
        }
    }
    free(stored);
    free(merged);
    return 0;
}

const struct guard_settings *guardsvc_settings(const struct guardsvc *gs) { return &gs->g; }

/* Zone snapshots live for zone_cache_s across batches (kept in step with this process's own decisions); after a
 * rollback they may hold decisions that never happened: then all go. */
void guardsvc_begin(struct guardsvc *gs, struct db *db)
{
    int64_t oldest = time_mono_us() - (int64_t)gs->g.zone_cache_s * 1000000;
    size_t kept = 0;
    for (size_t i = 0; i < gs->n_snap; i++) {
        if (db && gs->committed && gs->snap[i].loaded_mono_us > oldest) gs->snap[kept++] = gs->snap[i];
        else free(gs->snap[i].m);
    }
    gs->n_snap = kept;
    gs->committed = false;
    gs->n_ev = 0;
    gs->failed = false;
    gs->db = db;
}

void guardsvc_forget_zones(struct guardsvc *gs)
{
    for (size_t i = 0; i < gs->n_snap; i++) free(gs->snap[i].m);
    gs->n_snap = 0;
}

void guardsvc_set_result(struct guardsvc *gs, size_t result) { gs->result = result; }
bool guardsvc_failed(const struct guardsvc *gs) { return gs->failed; }

bool guardsvc_has_status(const struct guardsvc *gs, size_t result)
{
    for (size_t i = 0; i < gs->n_ev; i++)
        if (gs->ev[i].result == result && gs->ev[i].d.verdict != GUARD_FOLLOW) return true;
    return false;
}

/* ---- publishing ---- */

static void publish_status(struct guardsvc *gs, int64_t id, bool in_pool, bool held, int64_t ts_us, double score,
                           const char *reason, guardsvc_publish_fn pub, void *arg)
{
    (void)gs;
    struct msg_server_status st;
    sc_guard_status_message(&st, id, in_pool, held, ts_us, score, reason);
    struct msg_topic t = {.kind = MSG_TOPIC_SERVER_STATUS, .server_id = id};
    pub(arg, &t, msg_server_status_encode(&st));
}

static struct zone_metric *zone_state(struct guardsvc *gs, unsigned zone)
{
    for (size_t i = 0; i < gs->n_zm; i++)
        if (gs->zm[i].zone == zone) return &gs->zm[i];
    char labels[64];
    snprintf(labels, sizeof labels, "zone=\"%s\"", zone_code(zone));
    gs->zm = xrealloc(gs->zm, (gs->n_zm + 1) * sizeof *gs->zm);
    /* the registry keeps the label text: it lives as long as the process */
    gs->zm[gs->n_zm] = (struct zone_metric){zone, metrics_gauge("ntpmon_scorer_guard_held",
                                                                "servers held in the pool by the guard, per zone",
                                                                xstrdup(labels)), 0, false};
    return &gs->zm[gs->n_zm++];
}

static bool same_alert(const struct msg_zone_alert *a, const struct msg_zone_alert *b)
{
    if (a->held != b->held || a->in_pool != b->in_pool || a->leaving != b->leaving || a->n_monitors != b->n_monitors)
        return false;
    char x[48], y[48];
    msg_format_number(a->fraction, x);
    msg_format_number(b->fraction, y);
    if (strcmp(x, y) != 0) return false;
    for (size_t i = 0; i < a->n_monitors; i++)
        if (strcmp(a->monitors[i], b->monitors[i]) != 0) return false;
    return true;
}

/* Recomputes one zone's alert from the database; publishes and records it when it changed. */
static void refresh_alert(struct guardsvc *gs, struct db *db, unsigned zone, guardsvc_publish_fn pub, void *arg)
{
    const char *code = zone_code(zone);
    int64_t now = time_now_us();
    struct zone_metric *zs = zone_state(gs, zone);
    zs->refreshed_mono_us = time_mono_us();
    zs->dirty = false;
    struct guarddb_member *m = NULL;
    size_t n = 0;
    char *stored = NULL;
    if (guarddb_zone_members(db, &gs->g, code, now, &m, &n) < 0 || guarddb_alert_get(db, code, &stored) < 0) {
        metric_inc(gs->m_db_errors);
        LOG(WARN, "guard: refreshing the alert of zone %s failed: %s", code, db_error(db));
        free(m);
        return;
    }
    struct guard_counts all = {0};
    for (size_t i = 0; i < n; i++) guard_count(&gs->g, &m[i].m, now, &all);
    free(m);
    metric_set(zs->held, all.held);
    struct msg_topic t = {.kind = MSG_TOPIC_ZONE_STATUS};
    snprintf(t.zone, sizeof t.zone, "%s", code);
    if (all.held == 0) {
        if (stored) {
            if (guarddb_alert_put(db, code, NULL, now) < 0) {
                metric_inc(gs->m_db_errors);
            } else {
                LOG(INFO, "guard: zone %s holds no server any more: alert cleared", code);
                pub(arg, &t, xstrdup(""));
                metric_inc(gs->m_alerts);
            }
        }
        free(stored);
        return;
    }
    char (*names)[MSG_NAME_MAX] = xcalloc(MSG_ZONE_MONITORS_MAX, sizeof *names);
    const char *mon[MSG_ZONE_MONITORS_MAX];
    size_t n_mon = 0;
    if (guarddb_zone_monitors(db, code, now - (int64_t)gs->g.answer_window_s * 1000000, names, MSG_ZONE_MONITORS_MAX,
                              &n_mon) < 0)
        metric_inc(gs->m_db_errors);
    for (size_t i = 0; i < n_mon; i++) mon[i] = names[i];
    struct msg_zone_alert a, old;
    sc_zone_alert(&a, code, &all, mon, n_mon, now);
    free(names);
    char err[MSG_ERR_LEN];
    bool same = stored && msg_zone_alert_decode(stored, strlen(stored), &old, err) == 0 && same_alert(&a, &old);
    free(stored);
    if (same) return;
    char *json = msg_zone_alert_encode(&a);
    if (!json || guarddb_alert_put(db, code, json, now) < 0) {
        metric_inc(gs->m_db_errors);
        free(json);
        return;
    }
    LOG(INFO, "guard: zone %s: %d held, %d in the pool, %d leaving (%.0f %%)", code, a.held, a.in_pool, a.leaving,
        a.fraction * 100);
    pub(arg, &t, json);
    metric_inc(gs->m_alerts);
}

void guardsvc_publish(struct guardsvc *gs, struct db *db, guardsvc_publish_fn pub, void *arg)
{
    gs->committed = true;
    unsigned zones[64]; /* more zones in one batch: the periodic refresh has them */
    size_t n_zones = 0;
    for (size_t i = 0; i < gs->n_ev; i++) {
        const struct event *ev = &gs->ev[i];
        if (ev->d.verdict != GUARD_FOLLOW) {
            metric_inc(gs->m_decisions[ev->d.verdict]);
            LOG(INFO, "server %lld %s: %s", (long long)ev->server_id, guard_verdict_name(ev->d.verdict), ev->d.reason);
            publish_status(gs, ev->server_id, ev->d.in_pool, ev->d.held, ev->ts_us, ev->score, ev->d.reason, pub, arg);
        }
        bool seen = !ev->zone;
        for (size_t k = 0; k < n_zones && !seen; k++) seen = zones[k] == ev->zone;
        if (!seen && n_zones < sizeof zones / sizeof zones[0]) zones[n_zones++] = ev->zone;
    }
    gs->n_ev = 0;
    /* a zone's alert is recomputed at most every zone_cache_s while decisions keep coming (a mass event decides
     * on many servers in a row); the periodic refresh catches what is left */
    for (size_t k = 0; k < n_zones; k++) zone_state(gs, zones[k])->dirty = true;
    int64_t due = time_mono_us() - (int64_t)gs->g.zone_cache_s * 1000000;
    for (size_t i = 0; i < gs->n_zm; i++)
        if (gs->zm[i].dirty && gs->zm[i].refreshed_mono_us <= due) refresh_alert(gs, db, gs->zm[i].zone, pub, arg);
}

void guardsvc_refresh_alerts(struct guardsvc *gs, struct db *db, guardsvc_publish_fn pub, void *arg)
{
    unsigned *zones = NULL;
    size_t n = 0;
    if (guarddb_alert_zones(db, &zones, &n) < 0) {
        metric_inc(gs->m_db_errors);
        LOG(WARN, "guard: listing zones with holds failed: %s", db_error(db));
        return;
    }
    for (size_t i = 0; i < n; i++) refresh_alert(gs, db, zones[i], pub, arg);
    free(zones);
}

struct republish_ctx {
    struct guardsvc *gs;
    guardsvc_publish_fn pub;
    void *arg;
};

static void republish_status(void *arg, const struct guarddb_status *st)
{
    struct republish_ctx *c = arg;
    publish_status(c->gs, st->id, st->held, st->held, st->ts_us, st->score, st->reason, c->pub, c->arg);
}

int guardsvc_republish(struct guardsvc *gs, struct db *db, guardsvc_publish_fn pub, void *arg)
{
    struct republish_ctx c = {gs, pub, arg};
    if (guarddb_statuses(db, gs->sh, republish_status, &c) < 0) return -1;
    unsigned *zones = NULL;
    size_t n = 0;
    if (guarddb_alert_zones(db, &zones, &n) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
        char *json = NULL;
        if (guarddb_alert_get(db, zone_code(zones[i]), &json) < 0) {
            free(zones);
            return -1;
        }
        if (!json) continue;
        struct msg_topic t = {.kind = MSG_TOPIC_ZONE_STATUS};
        snprintf(t.zone, sizeof t.zone, "%s", zone_code(zones[i]));
        pub(arg, &t, json);
    }
    free(zones);
    return 0;
}
