/* daemon.c — the scorer service (see daemon.h). One event loop: MQTT handlers only validate and queue; a timer
 * takes up to batch_max queued results, and one transaction (retried on deadlock or a lost connection) checks
 * which were scored already, loads the servers not in memory, scores the rest with the engine and writes every
 * row; only after the commit are the messages published. If the transaction fails, the servers it touched are
 * dropped from memory (they are reloaded from the database, which has the truth) and the results stay queued. */
#include "daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guarddb.h"
#include "guardsvc.h"
#include "log.h"
#include "messages.h"
#include "ring.h"
#include "metrics.h"
#include "service.h"
#include "timeutil.h"
#include "traces.h"
#include "xalloc.h"

#define RESCAN_PAGE 20000
#define QUEUE_MIN 1024 /* results the queue holds before it first grows (288 KB) */
#define DB_ATTEMPTS 3 /* deadlocks and a lost connection; longer outages are retried by drain's backoff */
#define OLDER_GROUP 256 /* servers per load of older rows: the store's IN-list chunk */
#define TX_DUPLICATE 2 /* batch_tx: a result of the batch was scored before; db_tx rolls back and returns it */

struct outcome_rec {
    size_t result;         /* index in the batch */
    struct eng_outcome oc;
    int64_t in_pool_ts_us; /* the server's last change, as carried in the overall row */
    double in_pool_score;
};

struct publication {
    char topic[MSG_TOPIC_MAX];
    char *payload;
};

struct batch {
    struct sc_result *r;
    size_t n;
    bool *skip;  /* not scored: see reasons in prepare() */
    bool *done;  /* scored before (a log row exists) */
    char (*ids)[ULID_LEN + 1];
    int attempts;
    int64_t now_us;
    /* outputs of the last attempt */
    struct outcome_rec *out;
    size_t n_out;
    struct scorer_store_log_row *rows;
    size_t n_rows;
    struct scorer_store_pair_update *pairs;
    size_t n_pairs;
    struct scorer_store_server_update *servers;
    size_t n_servers;
    int64_t *touched;
    size_t n_touched;
    int64_t *missing; /* touched servers not in memory; then: a group needing older rows */
    struct older_need *older; /* servers needing older rows, and from when */
    bool dup_found;   /* the check found results scored before */
};

struct scorer {
    const struct daemon_opts *o;
    struct service *svc;
    struct evloop *loop;
    struct mqtt_session *mq;
    struct db *db;
    struct eng *e;
    struct directory *dir;
    struct guardsvc *gs;   /* the mass-outage guard: the engine's pool hook */
    struct msg_result msg; /* decode scratch */

    struct ring q; /* of struct sc_result */

    struct evloop_timer start_timer, batch_timer, reload_timer, rescan_timer, republish_timer, report_timer,
        guard_timer;
    int64_t retry_delay_us;
    int64_t last_monitor_reload, last_server_reload; /* monotonic */
    int64_t rescan_from_us;                             /* received_at lower bound of the next rescan */
    bool waiting; /* the last batch could not even be prepared (database away) */
    bool ready;   /* loaded and connecting: before, publications are dropped (the first connect republishes) */
    bool check_scored; /* look up which results were scored before each batch (see batch_tx) */

    int64_t *subscribed; /* sorted server ids with a per-server subscription (--shard-topics) */
    size_t n_subscribed, cap_subscribed;

    struct batch b;
    struct publication *pubs;
    size_t n_pubs, cap_pubs;

    struct {
        struct metric *received, *other_shard, *scored, *duplicates, *recorded, *crossings, *published, *publish_failed;
        struct metric *skip_invalid, *skip_monitor, *skip_server, *skip_old, *dropped, *rescanned, *db_errors;
        struct metric *pending, *servers_loaded, *older_rows_loads, *batch_seconds, *latency_seconds;
    } m;
};

/* ---- queue ---- */

/* The queue's memory follows what is queued (common/ring): it doubles when full, up to --max-pending, and halves
 * again once drained to a quarter, so the backlog of a database outage is given back when it is scored. */
static void q_push(struct scorer *sc, const struct sc_result *r)
{
    if (ring_full(&sc->q)) {
        /* The database has been away too long: drop the oldest. It is in the results table (ingest stored it),
         * so the next rescan scores it. */
        ring_pop(&sc->q, 1);
        metric_inc(sc->m.dropped);
        LOG(WARN, "queue full (%zu results): dropped the oldest; the rescan of the results table will score it",
            sc->o->max_pending);
    }
    struct sc_result *slot = ring_push(&sc->q);
    *slot = *r;
    if (!slot->received_mono_us) slot->received_mono_us = time_mono_us(); /* a rescanned row: queued now */
    metric_set(sc->m.pending, (double)ring_len(&sc->q));
}

static void schedule_batch(struct scorer *sc, int64_t delay_us)
{
    if (!evloop_timer_active(&sc->batch_timer)) evloop_timer_start(sc->loop, &sc->batch_timer, delay_us);
}

/* ---- directory lookups ---- */

/* Reloads are rate-limited when on demand; -1 when the database failed (the old lists stay). */
static int reload_monitors(struct scorer *sc, bool on_demand)
{
    int64_t now = time_mono_us();
    if (on_demand && now - sc->last_monitor_reload < sc->o->unknown_reload_us) return 0;
    sc->last_monitor_reload = now;
    if (scorer_store_load_monitors(sc->db, sc->dir) < 0) {
        LOG(WARN, "reloading monitors failed: %s", db_error(sc->db));
        sc->last_monitor_reload = 0; /* try again at the next need */
        return -1;
    }
    return 0;
}

static void subscribe_new_servers(struct scorer *sc);

static int reload_servers(struct scorer *sc, bool on_demand)
{
    int64_t now = time_mono_us();
    if (on_demand && now - sc->last_server_reload < sc->o->unknown_reload_us) return 0;
    sc->last_server_reload = now;
    if (scorer_store_load_servers(sc->db, sc->dir, &sc->o->shard) < 0) {
        LOG(WARN, "reloading servers failed: %s", db_error(sc->db));
        sc->last_server_reload = 0;
        return -1;
    }
    subscribe_new_servers(sc);
    return 0;
}

static void report(struct scorer *sc, const char *key, const char *fmt, const char *a, const char *b)
{
    if (dir_report_once(sc->dir, key)) LOG(WARN, fmt, a, b);
}

/* Decides which results of the batch are scored; resolves monitor ids. -1 when an unknown name could not be
 * checked because the database is away: then nothing is skipped, the batch waits. */
static int prepare(struct scorer *sc, struct batch *b)
{
    bool reloaded_m = false, reloaded_s = false;
    int64_t oldest = b->now_us - sc->o->max_age_us;
    for (size_t i = 0; i < b->n; i++) {
        struct sc_result *r = &b->r[i];
        b->skip[i] = false;
        if (r->rec.ts_us < oldest) {
            b->skip[i] = true;
            metric_inc(sc->m.skip_old);
            LOG(DEBUG, "result %s of %s is older than --max-age: not scored", r->rec.id, r->rec.monitor);
            continue;
        }
        const struct dir_monitor *m = NULL;
        if (r->rec.monitor[0]) m = dir_monitor_by_name(sc->dir, r->rec.monitor);
        else if (r->monitor_id) m = dir_monitor_by_id(sc->dir, r->monitor_id);
        if (!m && !reloaded_m) {
            if (reload_monitors(sc, true) < 0) return -1;
            reloaded_m = true;
            m = r->rec.monitor[0] ? dir_monitor_by_name(sc->dir, r->rec.monitor) : dir_monitor_by_id(sc->dir, r->monitor_id);
        }
        if (!m || m->deleted) {
            char key[96], id[32];
            snprintf(id, sizeof id, "%lld", (long long)r->monitor_id);
            snprintf(key, sizeof key, "monitor %s", r->rec.monitor[0] ? r->rec.monitor : id);
            report(sc, key, "skipping results of %s monitor %s", m ? "deleted" : "unknown",
                   r->rec.monitor[0] ? r->rec.monitor : id);
            b->skip[i] = true;
            metric_inc(sc->m.skip_monitor);
            continue;
        }
        r->monitor_id = m->id;
        snprintf(r->rec.monitor, sizeof r->rec.monitor, "%s", m->name);
        const struct dir_server *s = dir_server(sc->dir, r->rec.server_id);
        if (!s && !reloaded_s) {
            if (reload_servers(sc, true) < 0) return -1;
            reloaded_s = true;
            s = dir_server(sc->dir, r->rec.server_id);
        }
        if (!s) {
            char key[64], id[32];
            snprintf(id, sizeof id, "%lld", (long long)r->rec.server_id);
            snprintf(key, sizeof key, "server %s", id);
            report(sc, key, "skipping results for %s server %s", "unknown", id);
            b->skip[i] = true;
            metric_inc(sc->m.skip_server);
            continue;
        }
        /* the same result twice in one batch: the later one is a duplicate */
        for (size_t k = 0; k < i; k++) {
            if (!b->skip[k] && b->r[k].monitor_id == r->monitor_id && strcmp(b->r[k].rec.id, r->rec.id) == 0) {
                b->skip[i] = true;
                metric_inc(sc->m.duplicates);
                break;
            }
        }
    }
    return 0;
}

/* ---- one batch in one transaction ---- */

/* Notes a server the batch changes; true the first time. */
static bool touch(struct batch *b, int64_t server_id)
{
    for (size_t i = 0; i < b->n_touched; i++)
        if (b->touched[i] == server_id) return false;
    b->touched[b->n_touched++] = server_id;
    return true;
}

static void clear_outputs(struct batch *b)
{
    for (size_t i = 0; i < b->n_rows; i++) free(b->rows[i].attributes);
    b->n_rows = b->n_pairs = b->n_servers = b->n_out = 0;
}

static void forget_touched(struct scorer *sc, struct batch *b)
{
    for (size_t i = 0; i < b->n_touched; i++) eng_server_drop(sc->e, b->touched[i]);
    b->n_touched = 0;
}

struct older_need {
    int64_t server_id, from_us;
};

static int older_need_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct older_need *)a)->from_us, y = ((const struct older_need *)b)->from_us;
    return (x > y) - (x < y);
}

/* Memory holds a server's rows from its rows_from_us on (and each pair's latest before): a result older than that
 * (a late one: from an agent's spool, or queued while the scorer was away) first loads the older rows it needs.
 * Servers are loaded together in order of how far back they need (up to 256 a query, from the oldest of them), so
 * one result from three hours ago does not make hundreds of servers read three hours of rows. */
static int load_older_rows(struct scorer *sc, struct db *db, struct batch *b)
{
    struct older_need *need = b->older;
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->skip[i] || b->done[i]) continue;
        const struct sc_result *r = &b->r[i];
        const struct eng_server *s = eng_server_find(sc->e, r->rec.server_id);
        if (!s || r->rec.ts_us >= s->rows_from_us) continue;
        size_t k = 0;
        while (k < n && need[k].server_id != s->id) k++;
        if (k == n) need[n++] = (struct older_need){s->id, r->rec.ts_us};
        else if (r->rec.ts_us < need[k].from_us) need[k].from_us = r->rec.ts_us;
    }
    if (!n) return 0;
    qsort(need, n, sizeof *need, older_need_cmp);
    for (size_t first = 0; first < n; first += OLDER_GROUP) {
        size_t m = n - first < OLDER_GROUP ? n - first : OLDER_GROUP;
        for (size_t k = 0; k < m; k++) b->missing[k] = need[first + k].server_id;
        if (scorer_store_load_older_rows(db, sc->e, b->missing, m, need[first].from_us, b->now_us) < 0) return -1;
    }
    metric_add(sc->m.older_rows_loads, (double)n);
    return 0;
}

/* After a batch: each server it touched keeps its rows of the last --history-tail, or from the oldest late result
 * it had while late ones keep coming (within --history-tail of each other). */
static void trim_touched(struct scorer *sc, struct batch *b)
{
    int64_t horizon = b->now_us - sc->o->history_tail_us;
    for (size_t i = 0; i < b->n; i++) {
        if (b->skip[i] || b->done[i] || b->r[i].rec.ts_us >= horizon) continue;
        struct eng_server *s = eng_server_find(sc->e, b->r[i].rec.server_id);
        if (!s) continue;
        if (b->now_us - s->late_seen_us > sc->o->history_tail_us) s->late_from_us = INT64_MAX; /* a new run */
        if (b->r[i].rec.ts_us < s->late_from_us) s->late_from_us = b->r[i].rec.ts_us;
        s->late_seen_us = b->now_us;
    }
    for (size_t i = 0; i < b->n_touched; i++) {
        struct eng_server *s = eng_server_find(sc->e, b->touched[i]);
        if (!s) continue;
        if (b->now_us - s->late_seen_us > sc->o->history_tail_us) s->late_from_us = INT64_MAX;
        eng_server_trim(sc->e, s, s->late_from_us < horizon ? s->late_from_us : horizon);
    }
}

static int batch_tx(struct db *db, void *arg)
{
    struct scorer *sc = arg;
    struct batch *b = &sc->b;
    if (b->attempts++ > 0) forget_touched(sc, b); /* the previous attempt's changes were rolled back */
    clear_outputs(b);
    guardsvc_begin(sc->gs, db);

    /* Which results were scored before (redeliveries): the log rows' unique key (result_id, monitor_key) answers
     * that for free when none was — the common case — so the batch is scored optimistically and the SELECT runs
     * only when the insert met a duplicate (the batch is then rolled back and retried with it), and for the next
     * batches until one of them finds none (redeliveries come in runs: after a reconnect or a restart). */
    b->dup_found = false;
    if (sc->check_scored) {
        size_t n_ids = 0;
        for (size_t i = 0; i < b->n; i++)
            if (!b->skip[i]) memcpy(b->ids[n_ids++], b->r[i].rec.id, ULID_LEN + 1);
        bool *done_compact = b->done + b->n; /* second half of the buffer */
        if (scorer_store_find_scored(db, (const char (*)[ULID_LEN + 1])b->ids, n_ids, done_compact) < 0) return -1;
        for (size_t i = 0, k = 0; i < b->n; i++) {
            b->done[i] = b->skip[i] ? false : done_compact[k++];
            if (b->done[i]) b->dup_found = true;
        }
    } else {
        for (size_t i = 0; i < b->n; i++) b->done[i] = false;
    }

    size_t n_missing = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->skip[i] || b->done[i]) continue;
        const struct sc_result *r = &b->r[i];
        if (touch(b, r->rec.server_id) && !eng_server_find(sc->e, r->rec.server_id)) b->missing[n_missing++] = r->rec.server_id;
    }
    int64_t rows_from = b->now_us - sc->o->history_tail_us;
    if (n_missing) {
        if (scorer_store_load_servers_state(db, sc->e, b->missing, n_missing, rows_from, b->now_us) < 0) return -1;
        metric_add(sc->m.servers_loaded, (double)n_missing);
    }
    if (load_older_rows(sc, db, b) < 0) return -1;

    for (size_t i = 0; i < b->n; i++) {
        if (b->skip[i] || b->done[i]) continue;
        const struct sc_result *r = &b->r[i];
        struct eng_server *s = eng_server_find(sc->e, r->rec.server_id);
        s->touched_us = b->now_us;
        /* deletion follows the server list (reloaded periodically): a deleted server leaves the pool */
        const struct dir_server *ds = dir_server(sc->dir, r->rec.server_id);
        if (ds) {
            s->deleted = ds->deleted;
            s->zone = ds->zone;
        }
        struct outcome_rec *o = &b->out[b->n_out++];
        o->result = i;
        guardsvc_set_result(sc->gs, i);
        eng_score(sc->e, s, r->monitor_id, &r->rec, b->now_us, &o->oc);
        if (guardsvc_failed(sc->gs)) return -1; /* the database failed under the guard: roll back, retry */
        o->in_pool_ts_us = s->in_pool_ts_us;
        o->in_pool_score = s->in_pool_score;
        struct eng_pair *p = eng_pair_get(s, r->monitor_id, false);

        struct scorer_store_log_row *row = &b->rows[b->n_rows++];
        *row = (struct scorer_store_log_row){
            .monitor_id = r->monitor_id,
            .server_id = r->rec.server_id,
            .ts_us = r->rec.ts_us,
            .score = o->oc.pair_score,
            .step = o->oc.step.step,
            .has_offset = r->rec.has_offset,
            .offset = r->rec.offset,
            .has_rtt = r->rec.has_rtt,
            .rtt_us = r->rec.has_rtt ? eng_rtt_us(r->rec.rtt) : 0,
            .attributes = scorer_store_monitor_attributes(r->rec.leap, r->rec.error, r->rec.stratum, o->oc.status_used),
        };
        memcpy(row->result_id, r->rec.id, sizeof row->result_id);
        b->pairs[b->n_pairs++] = (struct scorer_store_pair_update){r->monitor_id, r->rec.server_id, p->score,
                                                                   p->score_ts_us, p->stratum,
                                                                   p->status != MSG_STATUS_NONE};
        /* a pair the database did not have is inserted, as a candidate (the column's default) */
        if (p->status == MSG_STATUS_NONE) p->status = MSG_STATUS_CANDIDATE;
        if (!o->oc.recorded) continue;
        row = &b->rows[b->n_rows++];
        *row = (struct scorer_store_log_row){
            .monitor_id = 0,
            .server_id = r->rec.server_id,
            .ts_us = r->rec.ts_us,
            .score = o->oc.chosen.score,
            .step = o->oc.chosen.step,
            .attributes = scorer_store_overall_attributes(o->oc.chosen.leap, eng_error_text(sc->e, o->oc.chosen.error),
                                                          o->oc.chosen.stratum, o->oc.chosen_monitor_id, o->oc.monitors,
                                                          o->oc.in_pool, s->in_pool_ts_us, s->in_pool_score),
        };
        memcpy(row->result_id, r->rec.id, sizeof row->result_id);
        struct scorer_store_server_update *su = NULL;
        for (size_t k = 0; k < b->n_servers; k++)
            if (b->servers[k].server_id == r->rec.server_id) su = &b->servers[k];
        if (!su) su = &b->servers[b->n_servers++];
        *su = (struct scorer_store_server_update){r->rec.server_id, o->oc.chosen.score, r->rec.ts_us, o->oc.in_pool};
    }
    trim_touched(sc, b);
    if (scorer_store_write(db, b->rows, b->n_rows, b->pairs, b->n_pairs, b->servers, b->n_servers) == 0) return 0;
    /* scored before (and not checked): roll back, score again with the check */
    if (!sc->check_scored && db_errno_is_duplicate(db_errno(db))) return TX_DUPLICATE;
    return -1;
}

static void add_publication(struct scorer *sc, const struct msg_topic *t, char *payload)
{
    if (!payload) return;
    if (sc->n_pubs == sc->cap_pubs) {
        sc->cap_pubs = sc->cap_pubs ? sc->cap_pubs * 2 : 64;
        sc->pubs = xrealloc(sc->pubs, sc->cap_pubs * sizeof *sc->pubs);
    }
    struct publication *p = &sc->pubs[sc->n_pubs];
    if (msg_topic_build(p->topic, sizeof p->topic, sc->o->env, t) < 0) {
        free(payload);
        return;
    }
    p->payload = payload;
    sc->n_pubs++;
}

static void publish_all(struct scorer *sc)
{
    for (size_t i = 0; i < sc->n_pubs; i++) {
        struct publication *p = &sc->pubs[i];
        if (!sc->ready) { /* the start-up scan, before the broker: the first connect republishes the latest */
            free(p->payload);
            continue;
        }
        int rc = mqtt_publish(sc->mq, p->topic, p->payload, strlen(p->payload), 1, true, NULL);
        if (rc == MOSQ_ERR_SUCCESS) {
            metric_inc(sc->m.published);
        } else {
            /* the retained state is republished from the database on the next connect */
            metric_inc(sc->m.publish_failed);
            LOG(WARN, "publishing %s failed (%s); it is republished on reconnect", p->topic, mosquitto_strerror(rc));
        }
        free(p->payload);
    }
    sc->n_pubs = 0;
}

static void guard_publication(void *arg, const struct msg_topic *t, char *payload)
{
    add_publication(arg, t, payload);
}

/* Queues the messages of a committed batch. */
static void collect_publications(struct scorer *sc, struct batch *b)
{
    int64_t now_mono = time_mono_us();
    for (size_t i = 0; i < b->n_out; i++) {
        const struct outcome_rec *o = &b->out[i];
        const struct sc_result *r = &b->r[o->result];
        metric_inc(sc->m.scored);
        if (r->received_mono_us) metric_set(sc->m.latency_seconds, (double)(now_mono - r->received_mono_us) / 1e6);
        bool guard_status = guardsvc_has_status(sc->gs, o->result); /* the guard held, released or let go */
        if (o->oc.crossed) metric_inc(sc->m.crossings);
        /* after the commit, so a trace request never runs ahead of the change it is about; a hold is the score
         * crossing the line too */
        if ((o->oc.crossed || guard_status) && sc->o->pool_change_traces && sc->mq && mqtt_session_connected(sc->mq))
            sc_request_traces(sc->db, sc->mq, sc->o->env, r->rec.server_id);
        if (!o->oc.recorded) continue;
        metric_inc(sc->m.recorded);
        struct msg_score ms;
        sc_score_message(&ms, r->rec.server_id, r->rec.ts_us, o->oc.chosen.score, o->oc.chosen.step, o->oc.in_pool,
                         o->oc.monitors);
        struct msg_topic t = {.kind = MSG_TOPIC_SCORES, .server_id = r->rec.server_id};
        add_publication(sc, &t, msg_score_encode(&ms));
        if (o->oc.crossed && !guard_status) { /* else the guard's status says why */
            struct msg_server_status st;
            sc_status_message(&st, r->rec.server_id, o->oc.in_pool, o->in_pool_ts_us, o->in_pool_score,
                              sc->o->params.in_pool_score);
            LOG(INFO, "server %lld %s the pool: %s", (long long)r->rec.server_id, o->oc.in_pool ? "enters" : "leaves",
                st.reason);
            t.kind = MSG_TOPIC_SERVER_STATUS;
            add_publication(sc, &t, msg_server_status_encode(&st));
        }
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->done[i]) metric_inc(sc->m.duplicates);
    guardsvc_publish(sc->gs, sc->db, guard_publication, sc);
}

/* Scores b->r[0..n) in one transaction. 0 on commit; -1 with the database error (results not scored). */
static int score_batch(struct scorer *sc, struct sc_result *r, size_t n)
{
    struct batch *b = &sc->b;
    b->r = r;
    b->n = n;
    b->attempts = 0;
    b->n_touched = 0;
    b->now_us = time_now_us();
    sc->waiting = false;
    if (prepare(sc, b) < 0) {
        sc->waiting = true; /* the database is away: retried like a lost connection */
        return -1;
    }
    int64_t t0 = time_mono_us();
    int rc = db_tx(sc->db, batch_tx, sc, DB_ATTEMPTS);
    if (rc == TX_DUPLICATE) {
        LOG(DEBUG, "a batch of %zu had results scored before: scoring it again with the check", n);
        sc->check_scored = true;
        rc = db_tx(sc->db, batch_tx, sc, DB_ATTEMPTS); /* attempts > 0: the first one's servers are forgotten */
    } else if (rc == 0 && sc->check_scored && !b->dup_found) {
        sc->check_scored = false; /* the run of redeliveries is over */
    }
    metric_set(sc->m.batch_seconds, (double)(time_mono_us() - t0) / 1e6);
    if (rc != 0) {
        forget_touched(sc, b);
        clear_outputs(b);
        metric_inc(sc->m.db_errors);
        return -1;
    }
    collect_publications(sc, b);
    clear_outputs(b);
    b->n_touched = 0;
    return 0;
}

static void batch_alloc(struct batch *b, size_t cap)
{
    b->skip = xcalloc(cap, sizeof *b->skip);
    b->done = xcalloc(2 * cap, sizeof *b->done);
    b->ids = xcalloc(cap, sizeof *b->ids);
    b->out = xcalloc(cap, sizeof *b->out);
    b->rows = xcalloc(2 * cap, sizeof *b->rows);
    b->pairs = xcalloc(cap, sizeof *b->pairs);
    b->servers = xcalloc(cap, sizeof *b->servers);
    b->touched = xcalloc(cap, sizeof *b->touched);
    b->missing = xcalloc(cap, sizeof *b->missing);
    b->older = xcalloc(cap, sizeof *b->older);
}

static void batch_release(struct batch *b)
{
    clear_outputs(b);
    free(b->skip);
    free(b->done);
    free(b->ids);
    free(b->out);
    free(b->rows);
    free(b->pairs);
    free(b->servers);
    free(b->touched);
    free(b->missing);
    free(b->older);
}

static void q_pop(struct scorer *sc, size_t n) { ring_pop(&sc->q, n); }

static bool transient(const struct scorer *sc) { return sc->waiting || db_errno_is_retryable(db_errno(sc->db)); }

static void refused(struct scorer *sc, const struct sc_result *r)
{
    LOG(ERROR, "result %s of %s for server %lld cannot be stored: %s", r->rec.id, r->rec.monitor, (long long)r->rec.server_id,
        db_error(sc->db));
}

/* Scores queued results until the queue is empty or the database is unavailable. A batch the database refuses
 * for good (not a lost connection or a deadlock) is retried one result at a time, so one bad result cannot hold
 * up the rest. Returns 0, or -1 when results stay queued for a later retry. */
static int drain(struct scorer *sc, size_t max_batches)
{
    struct sc_result *chunk = xmalloc(sc->o->batch_max * sizeof *chunk);
    int rc = 0;
    for (size_t k = 0; ring_len(&sc->q) > 0 && k < max_batches && rc == 0; k++) {
        size_t n = ring_len(&sc->q) < sc->o->batch_max ? ring_len(&sc->q) : sc->o->batch_max;
        for (size_t i = 0; i < n; i++) chunk[i] = *(struct sc_result *)ring_at(&sc->q, i);
        if (score_batch(sc, chunk, n) == 0) {
            q_pop(sc, n);
        } else if (transient(sc)) {
            LOG(WARN, "database unavailable (%s): %zu results stay queued", db_error(sc->db), ring_len(&sc->q));
            service_db_report(sc->svc, false, db_error(sc->db));
            rc = -1;
        } else if (n == 1) {
            refused(sc, &chunk[0]);
            q_pop(sc, 1);
        } else {
            LOG(WARN, "a batch of %zu failed (%s): scoring them one by one", n, db_error(sc->db));
            size_t i = 0;
            for (; i < n; i++) {
                if (score_batch(sc, &chunk[i], 1) == 0) continue;
                if (transient(sc)) break;
                refused(sc, &chunk[i]);
            }
            q_pop(sc, i);
            if (i < n) rc = -1;
        }
        publish_all(sc);
        service_keepalive(sc->svc); /* a long drain (start-up scan, shutdown) is work, not a stuck loop */
        if (rc == 0) {
            service_db_report(sc->svc, true, NULL);
            sc->retry_delay_us = 0;
        }
    }
    metric_set(sc->m.pending, (double)ring_len(&sc->q));
    free(chunk);
    return rc;
}

static void on_batch_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct scorer *sc = arg;
    if (drain(sc, 4) < 0) {
        sc->retry_delay_us = sc->retry_delay_us ? sc->retry_delay_us * 2 : 500000;
        if (sc->retry_delay_us > 30000000) sc->retry_delay_us = 30000000;
        evloop_timer_start(sc->loop, &sc->batch_timer, sc->retry_delay_us);
    } else if (ring_len(&sc->q) > 0) {
        evloop_timer_start(sc->loop, &sc->batch_timer, 0); /* let MQTT in between batches */
    }
}

/* ---- rescans of the results table ---- */

struct rescan_ctx {
    struct scorer *sc;
    int64_t last_ts;
    char last_id[ULID_LEN + 1];
};

static void rescan_row(void *arg, const struct sc_result *r)
{
    struct rescan_ctx *c = arg;
    q_push(c->sc, r);
    c->last_ts = r->rec.ts_us;
    memcpy(c->last_id, r->rec.id, sizeof c->last_id);
}

/* Queues (and scores) the results received in [from, to] that have no log row. 0, or -1 on a database error. */
static int rescan(struct scorer *sc, int64_t from_us, int64_t to_us)
{
    int64_t now = time_now_us();
    struct rescan_ctx c = {sc, INT64_MIN / 4, ""};
    long total = 0;
    for (;;) {
        long n = scorer_store_unscored(sc->db, &sc->o->shard, now - sc->o->max_age_us, from_us, to_us,
                                       c.last_ts < 0 ? 0 : c.last_ts, c.last_id, RESCAN_PAGE, rescan_row, &c);
        if (n < 0) {
            LOG(WARN, "scanning the results table failed: %s", db_error(sc->db));
            return -1;
        }
        total += n;
        if (drain(sc, SIZE_MAX) < 0) return -1;
        if (n < RESCAN_PAGE) break;
    }
    if (total) {
        metric_add(sc->m.rescanned, (double)total);
        LOG(INFO, "scored %ld results from the results table that had no score yet", total);
    }
    return 0;
}

static void on_rescan_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct scorer *sc = arg;
    if (ring_len(&sc->q) == 0) {
        int64_t to = time_now_us() - sc->o->rescan_settle_us;
        if (to > sc->rescan_from_us && rescan(sc, sc->rescan_from_us, to) == 0) sc->rescan_from_us = to;
    }
    evloop_timer_start(sc->loop, &sc->rescan_timer, ring_len(&sc->q) == 0 ? sc->o->rescan_us : 10000000);
}

/* ---- periodic reloads ---- */

static void on_reload_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct scorer *sc = arg;
    (void)reload_monitors(sc, false);
    (void)reload_servers(sc, false);
    if (scorer_store_reload_statuses(sc->db, sc->e, &sc->o->shard) < 0)
        LOG(WARN, "reloading monitor statuses failed: %s", db_error(sc->db));
    size_t evicted = eng_evict(sc->e, time_now_us() - sc->o->idle_evict_us);
    if (evicted) LOG(DEBUG, "forgot %zu idle servers", evicted);
    evloop_timer_start(sc->loop, &sc->reload_timer, sc->o->reload_us);
}

/* ---- the mass-outage guard's periodic check ---- */

/* Held servers are looked at again without a result (the longest hold, an outage that is over, the guard turned
 * off): loaded afresh from the database (the truth after any rollback), decided by the same hook. */
static int guard_check_tx(struct db *db, void *arg)
{
    struct scorer *sc = arg;
    guardsvc_forget_zones(sc->gs);
    guardsvc_begin(sc->gs, db);
    int64_t *ids = NULL;
    size_t n = 0;
    if (guarddb_held_servers(db, &sc->o->shard, &ids, &n) < 0) return -1;
    int64_t now = time_now_us();
    for (size_t i = 0; i < n; i++) eng_server_drop(sc->e, ids[i]);
    int rc = n ? scorer_store_load_servers_state(db, sc->e, ids, n, now - sc->o->history_tail_us, now) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct eng_server *s = eng_server_find(sc->e, ids[i]);
        if (!s) continue;
        s->touched_us = now;
        guardsvc_set_result(sc->gs, SIZE_MAX);
        if (eng_pool_recheck(sc->e, s, now)) metric_inc(sc->m.crossings);
        if (guardsvc_failed(sc->gs)) rc = -1;
    }
    if (rc < 0)
        for (size_t i = 0; i < n; i++) eng_server_drop(sc->e, ids[i]);
    free(ids);
    return rc;
}

static void on_guard_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct scorer *sc = arg;
    if (guardsvc_load_settings(sc->gs, sc->db) == 0) {
        if (db_tx(sc->db, guard_check_tx, sc, DB_ATTEMPTS) == 0) guardsvc_publish(sc->gs, sc->db, guard_publication, sc);
        else LOG(WARN, "guard: checking held servers failed: %s", db_error(sc->db));
        guardsvc_refresh_alerts(sc->gs, sc->db, guard_publication, sc);
        publish_all(sc);
    }
    evloop_timer_start(sc->loop, &sc->guard_timer, (int64_t)guardsvc_settings(sc->gs)->refresh_s * 1000000);
}

static void on_report_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct scorer *sc = arg;
    dir_forget_reports(sc->dir);
    evloop_timer_start(sc->loop, &sc->report_timer, sc->o->report_us);
}

/* ---- republishing the retained messages ---- */

static void republish_one(void *arg, const struct scorer_store_latest *l)
{
    struct scorer *sc = arg;
    struct msg_score ms;
    sc_score_message(&ms, l->server_id, l->ts_us, l->score, l->step, l->in_pool, l->monitors);
    struct msg_topic t = {.kind = MSG_TOPIC_SCORES, .server_id = l->server_id};
    add_publication(sc, &t, msg_score_encode(&ms));
    if (l->has_change) {
        struct msg_server_status st;
        sc_status_message(&st, l->server_id, l->in_pool, l->in_pool_ts_us, l->in_pool_score,
                          sc->o->params.in_pool_score);
        t.kind = MSG_TOPIC_SERVER_STATUS;
        add_publication(sc, &t, msg_server_status_encode(&st));
    }
}

static void on_republish_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct scorer *sc = arg;
    if (!mqtt_session_connected(sc->mq)) return;
    if (scorer_store_latest_scores(sc->db, &sc->o->shard, republish_one, sc) < 0 ||
        guardsvc_republish(sc->gs, sc->db, guard_publication, sc) < 0) {
        LOG(WARN, "republishing retained scores failed: %s; retrying in 10 s", db_error(sc->db));
        for (size_t i = 0; i < sc->n_pubs; i++) free(sc->pubs[i].payload);
        sc->n_pubs = 0;
        evloop_timer_start(sc->loop, &sc->republish_timer, 10000000);
        return;
    }
    size_t n = sc->n_pubs;
    publish_all(sc);
    LOG(INFO, "republished the retained messages of the last recorded scores (%zu messages)", n);
}

/* ---- MQTT ---- */

static void on_connect(struct mqtt_session *s, bool session_present, void *arg)
{
    (void)s;
    struct scorer *sc = arg;
    LOG(INFO, "connected to the broker (session %s)", session_present ? "resumed" : "new");
    sc->check_scored = true; /* what was in flight is delivered again */
    if (sc->o->republish) evloop_timer_start(sc->loop, &sc->republish_timer, 0);
}

static void on_disconnect(struct mqtt_session *s, int reason, const char *why, void *arg)
{
    (void)s;
    (void)arg;
    LOG(WARN, "broker connection lost (%d: %s); reconnecting", reason, why ? why : "");
}

static void handle_selection(struct scorer *sc, const struct mosquitto_message *m)
{
    struct msg_selection sel;
    char err[MSG_ERR_LEN];
    if (msg_selection_decode(m->payload, (size_t)m->payloadlen, &sel, err) < 0) {
        char key[MSG_TOPIC_MAX + 16];
        snprintf(key, sizeof key, "selection %s", m->topic);
        report(sc, key, "ignoring a bad selection message on %s: %s", m->topic, err);
        return;
    }
    struct eng_server *s = eng_server_find(sc->e, sel.server_id);
    for (size_t i = 0; s && i < sel.n_changes; i++) {
        const struct dir_monitor *dm = dir_monitor_by_name(sc->dir, sel.changes[i].monitor);
        if (!dm) continue; /* the periodic reload picks it up */
        eng_pair_get(s, dm->id, true)->status = sel.changes[i].to;
    }
    msg_selection_free(&sel);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct scorer *sc = arg;
    struct msg_topic t;
    enum msg_topic_kind kind = msg_topic_parse(sc->o->env, m->topic, &t);
    if (kind == MSG_TOPIC_SELECTION) {
        handle_selection(sc, m);
        return;
    }
    if (kind != MSG_TOPIC_RESULT) return;
    if (!shard_has(&sc->o->shard, t.server_id)) { /* another shard's: not even decoded */
        metric_inc(sc->m.other_shard);
        return;
    }
    metric_inc(sc->m.received);
    char err[MSG_ERR_LEN];
    if (msg_result_validate(sc->o->env, m->topic, m->payload, (size_t)m->payloadlen, &sc->msg, err) < 0) {
        metric_inc(sc->m.skip_invalid);
        char key[MSG_ERR_LEN + MSG_NAME_MAX + 16];
        snprintf(key, sizeof key, "invalid %s %.60s", t.monitor, err);
        report(sc, key, "skipping an invalid result on %s: %s", m->topic, err);
        return;
    }
    struct sc_result r = {.monitor_id = 0};
    msg_result_record_of(&sc->msg, &r.rec);
    r.received_mono_us = time_mono_us();
    q_push(sc, &r);
    if (ring_len(&sc->q) >= sc->o->batch_max && sc->retry_delay_us == 0) evloop_timer_start(sc->loop, &sc->batch_timer, 0);
    else schedule_batch(sc, sc->o->batch_delay_us);
}

/* SIGTERM/SIGINT: score what is queued and publish it; the broker keeps the rest for our session. */
static void scoring_drain(struct service *svc, void *arg)
{
    struct scorer *sc = arg;
    if (sc->ready) {
        LOG(INFO, "finishing the %zu queued results", ring_len(&sc->q));
        for (int round = 0; round < 20; round++) {
            if (drain(sc, SIZE_MAX) < 0) break;
            mqtt_session_flush(sc->mq, 500000);
            if (ring_len(&sc->q) == 0) break;
        }
        if (ring_len(&sc->q))
            LOG_ALWAYS(WARN, "stopping with %zu results unscored (the next start scores them from the results table)",
                       ring_len(&sc->q));
    }
    service_drained(svc);
}

/* /healthz: falling behind when the oldest queued result has waited longer than --max-lag to be scored. */
static const char *health_lag(void *arg)
{
    struct scorer *sc = arg;
    static char why[160];
    if (!ring_len(&sc->q)) return NULL;
    int64_t waited = time_mono_us() - ((struct sc_result *)ring_at(&sc->q, 0))->received_mono_us;
    if (waited <= sc->o->max_lag_us) return NULL;
    snprintf(why, sizeof why, "falling behind: the oldest of %zu queued results has waited %.0f s", ring_len(&sc->q),
             waited / 1e6);
    return why;
}

static void scoring_status(struct service *svc, void *arg, char *buf, size_t len)
{
    (void)svc;
    struct scorer *sc = arg;
    snprintf(buf, len, "queue %zu; %zu servers, %zu monitors", ring_len(&sc->q), dir_server_count(sc->dir),
             dir_monitor_count(sc->dir));
}

/* ---- lifecycle ---- */

static void register_metrics(struct scorer *sc)
{
    sc->m.received = metrics_counter("ntpmon_scorer_results_received_total", "results received from the broker", NULL);
    sc->m.other_shard = metrics_counter("ntpmon_scorer_results_other_shard_total",
                                        "results of other shards received and dropped (see --shard-topics)", NULL);
    sc->m.scored = metrics_counter("ntpmon_scorer_results_scored_total", "results scored and committed", NULL);
    sc->m.duplicates = metrics_counter("ntpmon_scorer_results_duplicate_total", "results already scored (redeliveries)", NULL);
    sc->m.recorded = metrics_counter("ntpmon_scorer_overall_recorded_total", "overall scores recorded", NULL);
    sc->m.crossings = metrics_counter("ntpmon_scorer_pool_changes_total", "servers entering or leaving the pool", NULL);
    sc->m.published = metrics_counter("ntpmon_scorer_messages_published_total", "retained messages published", NULL);
    sc->m.publish_failed = metrics_counter("ntpmon_scorer_messages_publish_failed_total", "publishes that failed", NULL);
    sc->m.skip_invalid = metrics_counter("ntpmon_scorer_results_skipped_total", "results not scored", "reason=\"invalid\"");
    sc->m.skip_monitor = metrics_counter("ntpmon_scorer_results_skipped_total", "results not scored", "reason=\"monitor\"");
    sc->m.skip_server = metrics_counter("ntpmon_scorer_results_skipped_total", "results not scored", "reason=\"server\"");
    sc->m.skip_old = metrics_counter("ntpmon_scorer_results_skipped_total", "results not scored", "reason=\"max_age\"");
    sc->m.dropped = metrics_counter("ntpmon_scorer_results_dropped_total", "queued results dropped (queue full)", NULL);
    sc->m.rescanned = metrics_counter("ntpmon_scorer_results_rescanned_total", "results scored from the results table", NULL);
    sc->m.db_errors = metrics_counter("ntpmon_scorer_db_errors_total", "batches the database refused", NULL);
    sc->m.pending = metrics_gauge("ntpmon_scorer_pending_results", "results queued for scoring", NULL);
    sc->m.servers_loaded = metrics_counter("ntpmon_scorer_servers_loaded_total", "server states loaded from the database", NULL);
    sc->m.older_rows_loads = metrics_counter("ntpmon_scorer_older_rows_loads_total",
                                             "servers whose rows before --history-tail were loaded for a late result", NULL);
    sc->m.batch_seconds = metrics_gauge("ntpmon_scorer_batch_seconds", "duration of the last batch transaction", NULL);
    sc->m.latency_seconds = metrics_gauge("ntpmon_scorer_latency_seconds", "receive to commit, last batch", NULL);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void subscribe_server(int64_t id, void *arg)
{
    struct scorer *sc = arg;
    if (bsearch(&id, sc->subscribed, sc->n_subscribed, sizeof id, cmp_id)) return;
    char filter[MSG_TOPIC_MAX + 32], prefix[MSG_TOPIC_MAX];
    msg_prefix(prefix, sizeof prefix, sc->o->env);
    snprintf(filter, sizeof filter, "%s/results/%lld/+", prefix, (long long)id);
    mqtt_session_subscribe(sc->mq, filter, 1);
    if (sc->n_subscribed == sc->cap_subscribed) {
        sc->cap_subscribed = sc->cap_subscribed ? sc->cap_subscribed * 2 : 256;
        sc->subscribed = xrealloc(sc->subscribed, sc->cap_subscribed * sizeof *sc->subscribed);
    }
    size_t i = sc->n_subscribed;
    while (i > 0 && sc->subscribed[i - 1] > id) {
        sc->subscribed[i] = sc->subscribed[i - 1];
        i--;
    }
    sc->subscribed[i] = id;
    sc->n_subscribed++;
}

/* With --shard-topics every server of the shard has its own filter E/results/<id>/+ (MQTT wildcards cannot
 * express "id mod N"); servers added since are subscribed at the next reload. */
static void subscribe_new_servers(struct scorer *sc)
{
    if (sc->mq && sc->o->shard_topics && sc->o->shard.n > 1) dir_server_each(sc->dir, subscribe_server, sc);
}

/* Loads the monitors and servers, scores what the results table has that was never scored, then the scorer is
 * ready (the frame connects to the broker); retried while the database is away. */
static void start_timer(struct evloop *loop, void *arg)
{
    struct scorer *sc = arg;
    const struct daemon_opts *o = sc->o;
    if (scorer_store_load_monitors(sc->db, sc->dir) < 0 || scorer_store_load_servers(sc->db, sc->dir, &o->shard) < 0) {
        LOG(WARN, "cannot read monitors and servers (%s); retrying in %.0f s (has 'ntpmonctl db migrate' run?)",
            db_error(sc->db), o->start_retry_us / 1e6);
        service_db_report(sc->svc, !db_errno_is_retryable(db_errno(sc->db)), db_error(sc->db));
        evloop_timer_start(loop, &sc->start_timer, o->start_retry_us);
        return;
    }
    sc->last_monitor_reload = sc->last_server_reload = time_mono_us();
    if (guardsvc_load_settings(sc->gs, sc->db) < 0) LOG(WARN, "guard: starting with the default settings");
    LOG_ALWAYS(INFO, "shard %lld/%lld: %zu servers, %zu monitors; max age %llds", (long long)o->shard.k,
               (long long)o->shard.n, dir_server_count(sc->dir), dir_monitor_count(sc->dir),
               (long long)(o->max_age_us / 1000000));

    /* Before taking new results: whatever the results table has that was never scored (the broker acknowledges
     * a message before we see it, so a crash can lose what was in flight; ingest has it). */
    int64_t start = time_now_us();
    int64_t window = start - o->max_age_us - 3600 * 1000000LL; /* received_at may trail ts by clock skew */
    if (rescan(sc, window, start) < 0) {
        LOG(WARN, "the start-up scan of the results table failed; the periodic rescan retries it");
        sc->rescan_from_us = window;
    } else {
        sc->rescan_from_us = start - o->rescan_settle_us;
    }

    char filter[MSG_TOPIC_MAX];
    if (o->shard_topics && o->shard.n > 1) {
        subscribe_new_servers(sc);
    } else {
        msg_filter_results(filter, sizeof filter, o->env);
        mqtt_session_subscribe(sc->mq, filter, 1);
    }
    msg_filter_selection(filter, sizeof filter, o->env);
    mqtt_session_subscribe(sc->mq, filter, 1);
    sc->ready = true;
    service_ready(sc->svc);

    evloop_timer_start(loop, &sc->reload_timer, o->reload_us);
    evloop_timer_start(loop, &sc->report_timer, o->report_us);
    evloop_timer_start(loop, &sc->guard_timer, (int64_t)guardsvc_settings(sc->gs)->refresh_s * 1000000);
    if (o->rescan_us > 0) evloop_timer_start(loop, &sc->rescan_timer, o->rescan_us);
    if (ring_len(&sc->q)) schedule_batch(sc, 0);
}

/* The scorer's step: after the frame's database and MQTT session. */
static int scoring_start(struct service *svc, void *arg)
{
    struct scorer *sc = arg;
    const struct daemon_opts *o = sc->o;
    sc->loop = service_loop(svc);
    sc->db = service_db(svc);
    sc->mq = service_mqtt(svc);
    register_metrics(sc);
    sc->e = eng_new(&o->params);
    sc->gs = guardsvc_new(sc->e, &o->shard, o->guard_overrides);
    sc->dir = dir_new();
    ring_init(&sc->q, sizeof(struct sc_result), QUEUE_MIN, o->max_pending); /* grows and shrinks with use */
    batch_alloc(&sc->b, o->batch_max);
    evloop_timer_init(&sc->start_timer, start_timer, sc);
    evloop_timer_init(&sc->batch_timer, on_batch_timer, sc);
    evloop_timer_init(&sc->reload_timer, on_reload_timer, sc);
    evloop_timer_init(&sc->rescan_timer, on_rescan_timer, sc);
    evloop_timer_init(&sc->republish_timer, on_republish_timer, sc);
    evloop_timer_init(&sc->report_timer, on_report_timer, sc);
    evloop_timer_init(&sc->guard_timer, on_guard_timer, sc);
    service_health_add(svc, "lag", health_lag, sc);
    evloop_timer_start(sc->loop, &sc->start_timer, 0);
    return 0;
}

static void scoring_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct scorer *sc = arg;
    struct evloop_timer *timers[] = {&sc->start_timer, &sc->batch_timer, &sc->reload_timer, &sc->rescan_timer,
                                     &sc->republish_timer, &sc->report_timer, &sc->guard_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++) evloop_timer_stop(sc->loop, timers[i]);
    for (size_t i = 0; i < sc->n_pubs; i++) free(sc->pubs[i].payload);
    free(sc->pubs);
    free(sc->subscribed);
    batch_release(&sc->b);
    ring_free(&sc->q);
    dir_free(sc->dir);
    guardsvc_free(sc->gs);
    eng_free(sc->e);
}

static const struct service_step steps[] = {
    SERVICE_STEP_METRICS,
    SERVICE_STEP_DATABASE,
    SERVICE_STEP_MQTT,
    {"scoring", scoring_start, scoring_stop},
    {0},
};

int scorer_daemon_run(const struct daemon_opts *o, const struct db_dsn *dsn, const struct mqtt_config *mc)
{
    static struct scorer sc_static;
    struct scorer *sc = &sc_static;
    sc->o = o;
    struct mqtt_handlers h = {on_connect, on_disconnect, on_message, NULL};
    const struct service_def def = {.name = "ntpmon-scorer", .steps = steps, .arg = sc, .defer_ready = true,
                                    .drain = scoring_drain, .shutdown_timeout_us = o->shutdown_timeout_us,
                                    .status = scoring_status};
    sc->svc = service_new(&def);
    service_set_metrics(sc->svc, &o->metrics);
    service_set_database(sc->svc, dsn, o->db_check_interval_us);
    service_set_mqtt(sc->svc, mc, &h);
    return service_run(sc->svc);
}
