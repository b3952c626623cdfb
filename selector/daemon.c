/* daemon.c — the selector daemon (daemon.h): its step in the daemon frame, the timers and MQTT handlers around the
 * pool, the review transaction and the publisher. Everything the database or the broker does wrong is logged and
 * retried; only bad settings at start stop it. */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dbio.h"
#include "evloop.h"
#include "backfill.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "pool.h"
#include "publish.h"
#include "results.h"
#include "review.h"
#include "service.h"
#include "timeutil.h"
#include "xalloc.h"

#define START_RETRY_US 3000000
#define EXPIRE_PERIOD_US (600LL * 1000000)
#define SUMMARY_PERIOD_US (60LL * 1000000)
#define HISTORY_NO_BROKER_US 5000000

struct daemon {
    const struct selector_daemon_config *dc;
    struct service *svc;
    struct evloop *loop;
    struct db *db;
    struct mqtt_session *mqtt;
    struct publisher pub;
    struct pool pool;
    struct backfill hist;
    struct sel_settings cfg;
    int64_t backoff_s;
    bool reviews_failing;    /* since the last review that failed, until one succeeds */
    char review_error[256];
    struct evloop_timer start_timer, review_timer, rescan_timer, expire_timer, history_timer, round_timer;
    /* A review round: batches of reviews run back to back; the work lists they changed are published once, at its
     * end (when no server is left due and it has lasted assign_min_interval_s, or after assign_round_max_s). */
    bool round_open, backlog;
    int64_t round_start_us; /* monotonic */
    uint64_t round_reviews, rounds;
    bool history_logged, history_begun;
    int64_t entries_at_us; /* when the entries gauge was last computed */
    uint64_t results[RESULTS_N_OUTCOMES];
    uint64_t reviews, review_errors, changes, pauses;
    uint64_t last_summary_results, last_summary_reviews;
    struct metric *m_results[RESULTS_N_OUTCOMES], *m_reviews, *m_review_errors, *m_changes, *m_assigns, *m_pairs,
        *m_stats_bytes, *m_db_errors;
    struct metric *m_assign_bytes, *m_rounds, *m_round_servers, *m_round_msgs, *m_round_bytes;
    struct metric *m_hist_loaded, *m_hist_pending, *m_hist_rows, *m_hist_added, *m_hist_dups, *m_stats_entries;
};

static struct daemon D;

int selector_load_settings(struct db *db, const char *overrides, struct sel_settings *out, char *err, size_t err_len)
{
    char *stored = NULL;
    if (dbio_settings_text(db, &stored) < 0) {
        snprintf(err, err_len, "reading system_settings: %s", db_error(db));
        return -1;
    }
    char perr[SEL_SETTINGS_ERR_LEN], unknown[256];
    char *merged = sel_settings_merge(stored, overrides, perr);
    free(stored);
    int rc = merged ? sel_settings_parse(merged, out, perr, unknown, sizeof unknown) : -1;
    free(merged);
    if (rc < 0) {
        snprintf(err, err_len, "%s", perr);
        return -2;
    }
    if (unknown[0]) LOG(DEBUG, "settings '%s': ignoring unknown keys %s", SEL_SETTINGS_KEY, unknown);
    return 0;
}

static void metrics_setup(struct daemon *d)
{
    for (int i = 0; i < RESULTS_N_OUTCOMES; i++) /* the registry keeps the label pointer: static strings */
        d->m_results[i] = metrics_counter("ntpmon_selector_results_total", "results taken from the stream",
                                          results_outcome_label((enum results_outcome)i));
    d->m_reviews = metrics_counter("ntpmon_selector_reviews_total", "server reviews committed", NULL);
    d->m_review_errors = metrics_counter("ntpmon_selector_review_errors_total", "server reviews that failed", NULL);
    d->m_changes = metrics_counter("ntpmon_selector_changes_total", "pair status changes (pauses included)", NULL);
    d->m_assigns = metrics_counter("ntpmon_selector_assign_published_total", "assign messages published", NULL);
    d->m_db_errors = metrics_counter("ntpmon_selector_db_errors_total", "database errors", NULL);
    d->m_pairs = metrics_gauge("ntpmon_selector_pairs", "pairs known (with or without a server_scores row)", NULL);
    d->m_stats_bytes = metrics_gauge("ntpmon_selector_stats_bytes", "heap bytes of the pairs' statistics", NULL);
    d->m_stats_entries = metrics_gauge("ntpmon_selector_stats_entries", "results held in the pairs' statistics", NULL);
    d->m_assign_bytes = metrics_counter("ntpmon_selector_assign_bytes_total", "payload bytes of assign messages", NULL);
    d->m_rounds = metrics_counter("ntpmon_selector_review_rounds_total", "review rounds ended", NULL);
    d->m_round_servers = metrics_gauge("ntpmon_selector_round_servers", "servers reviewed in the last round", NULL);
    d->m_round_msgs = metrics_gauge("ntpmon_selector_round_assign_messages", "assign messages of the last round", NULL);
    d->m_round_bytes = metrics_gauge("ntpmon_selector_round_assign_bytes", "assign payload bytes of the last round", NULL);
    d->m_hist_loaded = metrics_gauge("ntpmon_selector_history_servers_loaded", "servers whose stored results are loaded",
                                     NULL);
    d->m_hist_pending = metrics_gauge("ntpmon_selector_history_servers_pending",
                                      "servers whose stored results are not loaded yet", NULL);
    d->m_hist_rows = metrics_counter("ntpmon_selector_history_rows_total", "log_scores rows read", NULL);
    d->m_hist_added = metrics_counter("ntpmon_selector_history_added_total", "log_scores rows added to the statistics",
                                      NULL);
    d->m_hist_dups = metrics_counter("ntpmon_selector_history_duplicates_total",
                                     "log_scores rows already counted from the stream", NULL);
}

/* The history gauges and counters (counters follow the struct's totals). */
static void history_metrics(struct daemon *d)
{
    static uint64_t rows, added, dups;
    metric_set(d->m_hist_loaded, (double)d->pool.n_history);
    metric_set(d->m_hist_pending, (double)pool_history_pending(&d->pool));
    int64_t now = time_mono_us();
    if (now - d->entries_at_us >= 1000000) { /* a walk over every pair: at most once a second */
        d->entries_at_us = now;
        metric_set(d->m_stats_entries, (double)pool_stats_entries(&d->pool));
    }
    metric_add(d->m_hist_rows, (double)(d->hist.rows - rows));
    metric_add(d->m_hist_added, (double)(d->hist.added - added));
    metric_add(d->m_hist_dups, (double)(d->hist.duplicates - dups));
    rows = d->hist.rows;
    added = d->hist.added;
    dups = d->hist.duplicates;
}

/* Publishes the work lists that differ from the last published ones (all with force); returns messages, and the
 * payload bytes in *bytes. */
static size_t publish_pending(struct daemon *d, bool force, uint64_t *bytes)
{
    uint64_t b0 = d->pub.assign_bytes;
    size_t n = publish_assigns(&d->pub, &d->pool, &d->cfg, time_now_us(), force);
    metric_add(d->m_assigns, (double)n);
    metric_add(d->m_assign_bytes, (double)(d->pub.assign_bytes - b0));
    if (bytes) *bytes = d->pub.assign_bytes - b0;
    return n;
}

/* ---- review rounds ---- */

static void close_round(struct daemon *d)
{
    uint64_t bytes;
    size_t n = publish_pending(d, false, &bytes);
    d->round_open = false;
    d->rounds++;
    evloop_timer_stop(d->loop, &d->round_timer);
    metric_inc(d->m_rounds);
    metric_set(d->m_round_servers, (double)d->round_reviews);
    metric_set(d->m_round_msgs, (double)n);
    metric_set(d->m_round_bytes, (double)bytes);
    LOG(INFO, "round: %llu servers reviewed, %zu assign messages, %llu bytes (%.1f s)",
        (unsigned long long)d->round_reviews, n, (unsigned long long)bytes,
        (time_mono_us() - d->round_start_us) / 1e6);
}

static void maybe_close_round(struct daemon *d)
{
    if (!d->round_open) return;
    int64_t age = time_mono_us() - d->round_start_us;
    if ((!d->backlog && age >= (int64_t)d->cfg.assign_min_interval_s * 1000000) ||
        age >= (int64_t)d->cfg.assign_round_max_s * 1000000)
        close_round(d);
}

static void round_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    maybe_close_round(arg);
}

static void open_round(struct daemon *d)
{
    if (d->round_open) return;
    d->round_open = true;
    d->round_reviews = 0;
    d->round_start_us = time_mono_us();
    evloop_timer_start(d->loop, &d->round_timer, (int64_t)d->cfg.assign_min_interval_s * 1000000);
}

/* ---- MQTT ---- */

static void on_connect(struct mqtt_session *s, bool session_present, void *arg)
{
    (void)s;
    struct daemon *d = arg;
    LOG(INFO, "broker connected (%s); publishing every assignment", session_present ? "session resumed" : "new session");
    uint64_t bytes;
    size_t n = publish_pending(d, true, &bytes); /* a new broker, or one that lost its retained messages, gets them all */
    LOG(INFO, "connect: %zu assign messages, %llu bytes", n, (unsigned long long)bytes);
    if (!d->history_begun && d->dc->history_batch > 0) evloop_timer_start(d->loop, &d->history_timer, 0);
}

static void on_disconnect(struct mqtt_session *s, int reason, const char *why, void *arg)
{
    (void)s;
    (void)arg;
    LOG(WARN, "broker connection lost (%d: %s); results and assignments wait for the reconnect", reason, why);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *msg, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct daemon *d = arg;
    char err[MSG_ERR_LEN] = "";
    enum results_outcome o = results_ingest(&d->pool, d->dc->env, msg->topic, msg->payload, (size_t)msg->payloadlen,
                                            time_now_us(), d->cfg.stats_window_s, err);
    d->results[o]++;
    metric_inc(d->m_results[o]);
    switch (o) {
    case RESULTS_INVALID: LOG(WARN, "skipping a result on %s: %s", msg->topic, err); break;
    case RESULTS_UNKNOWN_MONITOR: LOG(INFO, "skipping a result on %s: unknown or deleted monitor", msg->topic); break;
    case RESULTS_UNKNOWN_SERVER: LOG(INFO, "skipping a result on %s: unknown server", msg->topic); break;
    case RESULTS_OUT_OF_WINDOW: LOG(DEBUG, "skipping a result on %s: outside the statistics window", msg->topic); break;
    case RESULTS_REFUSED: LOG(WARN, "skipping a result on %s: refused by the pair's statistics", msg->topic); break;
    default: break;
    }
}

/* ---- reviews ---- */

static void log_review(const struct review_outcome *o)
{
    /* the numbers each pair was judged on (tests compare lazy and eager history with them) */
    if (LOG_LEVEL_DEBUG <= log_get_level())
        for (size_t i = 0; i < o->rows.n; i++) {
            const struct sel_pair *p = &o->rows.pairs[i];
            LOG(DEBUG, "server %lld: %s count %u avg_step %.6f avg_rtt_ms %.4f", (long long)o->rows.server.id,
                p->monitor_name, p->count, p->avg_step, p->avg_rtt_ms);
        }
    for (size_t i = 0; i < o->res.n_changes; i++) {
        const struct sel_change *c = &o->res.changes[i];
        LOG(INFO, "server %lld (%s): %s %s -> %s: %s", (long long)o->rows.server.id, o->rows.ip,
            o->rows.pairs[c->pair].monitor_name, msg_pair_status_str(c->from), msg_pair_status_str(c->to), c->reason);
    }
    if (o->res.guard)
        LOG(DEBUG, "server %lld: no change at all (only %d monitors with results, none healthy, none marked)",
            (long long)o->rows.server.id, o->res.n_visible);
}

/* /healthz: a batch with a failed review (or no list of due servers) makes the selector unhealthy until a batch
 * goes through without one. */
static void note_review(struct daemon *d, bool ok, const char *why)
{
    if (ok) {
        d->reviews_failing = false;
        return;
    }
    d->reviews_failing = true;
    snprintf(d->review_error, sizeof d->review_error, "%s", why ? why : "");
}

static const char *health_reviews(void *arg)
{
    struct daemon *d = arg;
    static char why[300];
    if (!d->reviews_failing) return NULL;
    snprintf(why, sizeof why, "reviews failing: %s", d->review_error);
    return why;
}

static void review_batch(struct evloop *loop, void *arg)
{
    (void)loop;
    struct daemon *d = arg;
    int64_t now = time_now_us();
    int64_t *ids = xcalloc((size_t)d->cfg.review_batch, sizeof *ids);
    size_t n = 0, done = 0;
    bool batch_ok = false; /* due servers found and every review of the batch committed */
    if (dbio_due_servers(d->db, now, d->cfg.review_batch, ids, &n) < 0) {
        LOG(WARN, "finding due servers failed: %s", db_error(d->db));
        metric_inc(d->m_db_errors);
        note_review(d, false, db_error(d->db));
        n = 0;
    } else {
        batch_ok = true;
    }
    /* Lazy history: the due servers' stored results first, or their numbers would be short. */
    if (n && backfill_ensure(&d->hist, ids, n, time_now_us(), d->cfg.stats_window_s) < 0) {
        LOG(WARN, "loading the stored results of due servers failed: %s; reviews wait", db_error(d->db));
        metric_inc(d->m_db_errors);
        note_review(d, false, db_error(d->db));
        batch_ok = false;
        n = 0;
    }
    history_metrics(d);
    if (n && !d->round_open) open_round(d);
    for (size_t i = 0; i < n && !evloop_stopping(d->loop); i++) {
        struct review_outcome o;
        enum review_status st = review_server(d->db, &d->pool, &d->cfg, ids[i], time_now_us(), true, &o);
        if (st == REVIEW_DB_ERROR) {
            d->review_errors++;
            metric_inc(d->m_review_errors);
            metric_inc(d->m_db_errors);
            LOG(WARN, "review of server %lld failed, nothing changed: %s; retried in %d s", (long long)ids[i],
                db_error(d->db), d->cfg.review_after_error_s);
            note_review(d, false, db_error(d->db));
            batch_ok = false;
            if (dbio_schedule_review(d->db, ids[i], time_now_us(), d->cfg.review_after_error_s, false) < 0)
                LOG(WARN, "rescheduling server %lld failed: %s", (long long)ids[i], db_error(d->db));
            continue;
        }
        done++;
        if (st == REVIEW_OK) {
            d->reviews++;
            metric_inc(d->m_reviews);
            d->changes += o.res.n_changes;
            metric_add(d->m_changes, (double)o.res.n_changes);
            log_review(&o);
            publish_selection(&d->pub, &o, time_now_us());
        }
        review_outcome_free(&o);
    }
    free(ids);
    if (batch_ok) note_review(d, true, NULL);
    d->round_reviews += done;
    d->backlog = done > 0 && n == (size_t)d->cfg.review_batch;
    maybe_close_round(d);
    /* Work found: come back at once (after the loop served the broker); none: back off 3 s, 6 s, … 60 s. */
    if (done > 0) {
        d->backoff_s = 0;
        evloop_timer_start(d->loop, &d->review_timer, n == (size_t)d->cfg.review_batch ? 0 : 200000);
        return;
    }
    d->backoff_s = d->backoff_s ? d->backoff_s * 2 : d->cfg.backoff_min_s;
    if (d->backoff_s > d->cfg.backoff_max_s) d->backoff_s = d->cfg.backoff_max_s;
    evloop_timer_start(d->loop, &d->review_timer, d->backoff_s * 1000000);
}

/* ---- rescan, expiry, summary ---- */

static int rescan(struct daemon *d)
{
    char err[SEL_SETTINGS_ERR_LEN + 64];
    struct sel_settings s;
    int rc = selector_load_settings(d->db, d->dc->setting_overrides, &s, err, sizeof err);
    if (rc == -2) {
        LOG(ERROR, "%s; keeping the previous settings", err);
    } else if (rc == 0) {
        if (!sel_settings_equal(&s, &d->cfg)) {
            char *json = sel_settings_to_json(&s);
            LOG(INFO, "settings: %s", json);
            free(json);
            d->cfg = s;
            pool_mark_all_dirty(&d->pool); /* intervals and samples are part of the work lists */
        }
    }
    if (rc == -1 || dbio_scan(d->db, &d->pool) < 0) {
        LOG(WARN, "rescan failed: %s", db_error(d->db));
        metric_inc(d->m_db_errors);
        return -1;
    }
    metric_set(d->m_pairs, (double)d->pool.n_pairs);
    return 0;
}

static void rescan_timer(struct evloop *loop, void *arg)
{
    struct daemon *d = arg;
    /* What a rescan changed (pairs, monitors, servers, settings) goes out now, unless a review round is open: then
     * with the round's lists, once. */
    if (rescan(d) == 0 && !d->round_open) {
        uint64_t bytes;
        size_t n = publish_pending(d, false, &bytes);
        if (n) LOG(INFO, "rescan: %zu assign messages, %llu bytes", n, (unsigned long long)bytes);
    }
    evloop_timer_start(loop, &d->rescan_timer, (int64_t)d->cfg.rescan_s * 1000000);
}

static void expire_timer(struct evloop *loop, void *arg)
{
    struct daemon *d = arg;
    pool_expire_stats(&d->pool, time_now_us(), d->cfg.stats_window_s);
    metric_set(d->m_stats_bytes, (double)pool_stats_bytes(&d->pool));
    metric_set(d->m_stats_entries, (double)pool_stats_entries(&d->pool));
    evloop_timer_start(loop, &d->expire_timer, EXPIRE_PERIOD_US);
}

static void summary(struct service *svc, void *arg)
{
    (void)svc;
    struct daemon *d = arg;
    uint64_t total = 0;
    for (int i = 0; i < RESULTS_N_OUTCOMES; i++) total += d->results[i];
    if (total != d->last_summary_results || d->reviews != d->last_summary_reviews)
        LOG_ALWAYS(INFO,
                   "summary: results %llu (added %llu, duplicate %llu, invalid %llu, unknown %llu), reviews %llu "
                   "(failed %llu), changes %llu, assignments published %llu (%llu bytes, %llu rounds); history "
                   "pending for %zu of %zu servers",
                   (unsigned long long)total, (unsigned long long)d->results[RESULTS_ADDED],
                   (unsigned long long)d->results[RESULTS_DUPLICATE], (unsigned long long)d->results[RESULTS_INVALID],
                   (unsigned long long)(d->results[RESULTS_UNKNOWN_MONITOR] + d->results[RESULTS_UNKNOWN_SERVER]),
                   (unsigned long long)d->reviews, (unsigned long long)d->review_errors,
                   (unsigned long long)d->changes, (unsigned long long)d->pub.assigns,
                   (unsigned long long)d->pub.assign_bytes, (unsigned long long)d->rounds,
                   pool_history_pending(&d->pool), d->pool.n_srv);
    d->last_summary_results = total;
    d->last_summary_reviews = d->reviews;
}

static void status(struct service *svc, void *arg, char *buf, size_t len)
{
    (void)svc;
    struct daemon *d = arg;
    snprintf(buf, len,
             "%zu monitors, %zu servers, %zu pairs; history pending for %zu of %zu servers; %llu reviews (%llu "
             "failed), %llu changes",
             d->pool.n_mon, d->pool.n_srv, d->pool.n_pairs, pool_history_pending(&d->pool), d->pool.n_srv,
             (unsigned long long)d->reviews, (unsigned long long)d->review_errors, (unsigned long long)d->changes);
}

/* ---- start ---- */

/* Loads settings, pairs and statistics, then the daemon is ready (the frame starts the broker session) and the
 * timers start; retried every few seconds while the database is away. */
static void start_timer(struct evloop *loop, void *arg)
{
    struct daemon *d = arg;
    int64_t t0 = time_mono_us();
    char err[DB_ERR_LEN + SEL_SETTINGS_ERR_LEN];
    int rc = selector_load_settings(d->db, d->dc->setting_overrides, &d->cfg, err, sizeof err);
    if (rc == -2) {
        service_fail(d->svc, 2, "bad settings: %s", err);
        return;
    }
    if (rc < 0 || dbio_scan(d->db, &d->pool) < 0) {
        LOG(WARN, "database: %s; retrying", rc < 0 ? err : db_error(d->db));
        evloop_timer_start(loop, &d->start_timer, START_RETRY_US);
        return;
    }
    backfill_init(&d->hist, d->db, &d->pool, (enum backfill_mode)d->dc->history_mode);
    if (d->hist.mode == BACKFILL_EAGER && backfill_load_all(&d->hist, time_now_us(), d->cfg.stats_window_s) < 0) {
        LOG(WARN, "loading statistics: %s; retrying", db_error(d->db));
        pool_free(&d->pool); /* the retry starts from a clean pool: no half-loaded window counted as loaded */
        pool_init(&d->pool);
        evloop_timer_start(loop, &d->start_timer, START_RETRY_US);
        return;
    }
    history_metrics(d);
    char *json = sel_settings_to_json(&d->cfg);
    if (d->hist.mode == BACKFILL_EAGER)
        LOG(INFO, "started: %zu monitors, %zu servers, %zu pairs; history eager: %llu results of the last %d s; loaded "
                  "in %.2f s; settings %s",
            d->pool.n_mon, d->pool.n_srv, d->pool.n_pairs, (unsigned long long)d->hist.added, d->cfg.stats_window_s,
            (time_mono_us() - t0) / 1e6, json);
    else
        LOG(INFO, "started: %zu monitors, %zu servers, %zu pairs in %.2f s; history lazy: the stored results of the "
                  "last %d s load per server (before its review, and in the background up to %d servers or about %d rows "
                  "per turn); settings %s",
            d->pool.n_mon, d->pool.n_srv, d->pool.n_pairs, (time_mono_us() - t0) / 1e6, d->cfg.stats_window_s,
            d->dc->history_batch, d->dc->history_turn_rows, json);
    free(json);
    publisher_init(&d->pub, d->mqtt, d->db, d->dc->env);
    service_ready(d->svc);
    evloop_timer_start(loop, &d->review_timer, 0);
    evloop_timer_start(loop, &d->rescan_timer, (int64_t)d->cfg.rescan_s * 1000000);
    evloop_timer_start(loop, &d->expire_timer, EXPIRE_PERIOD_US);
    /* The background load begins once the broker session is up (on_connect), so it never delays the connection;
     * without a broker, after a few seconds anyway. */
    if (d->dc->history_batch > 0) evloop_timer_start(loop, &d->history_timer, HISTORY_NO_BROKER_US);
}

/* Background history: a few servers per loop turn (the broker and the reviews are served in between) until none is
 * left; then a look every rescan for servers that came since. */
static void history_timer(struct evloop *loop, void *arg)
{
    struct daemon *d = arg;
    d->history_begun = true;
    int r = backfill_step(&d->hist, (size_t)d->dc->history_batch, (uint64_t)d->dc->history_turn_rows, time_now_us(),
                          d->cfg.stats_window_s);
    history_metrics(d);
    if (r < 0) {
        LOG(WARN, "loading stored results: %s; retrying", db_error(d->db));
        metric_inc(d->m_db_errors);
        evloop_timer_start(loop, &d->history_timer, START_RETRY_US);
        return;
    }
    if (r > 0 || pool_history_pending(&d->pool)) {
        evloop_timer_start(loop, &d->history_timer, 0);
        return;
    }
    if (!d->history_logged && d->hist.done_mono_us) {
        d->history_logged = true;
        LOG(INFO, "history: all %zu servers loaded in %.1f s (%llu rows read, %llu added, %llu already counted from "
                  "the stream, %llu skipped; %llu queries)",
            d->pool.n_srv, (d->hist.done_mono_us - d->hist.started_mono_us) / 1e6, (unsigned long long)d->hist.rows,
            (unsigned long long)d->hist.added, (unsigned long long)d->hist.duplicates,
            (unsigned long long)d->hist.skipped, (unsigned long long)d->hist.queries);
    }
    evloop_timer_start(loop, &d->history_timer, (int64_t)d->cfg.rescan_s * 1000000);
}

/* The selector's step: after the frame's database and MQTT session. */
static int selection_start(struct service *svc, void *arg)
{
    struct daemon *d = arg;
    d->loop = service_loop(svc);
    d->db = service_db(svc);
    d->mqtt = service_mqtt(svc);
    sel_settings_defaults(&d->cfg);
    pool_init(&d->pool);
    metrics_setup(d);
    char filter[MSG_TOPIC_MAX];
    msg_filter_results(filter, sizeof filter, d->dc->env);
    mqtt_session_subscribe(d->mqtt, filter, 1);
    service_health_add(svc, "reviews", health_reviews, d);
    evloop_timer_init(&d->start_timer, start_timer, d);
    evloop_timer_init(&d->review_timer, review_batch, d);
    evloop_timer_init(&d->rescan_timer, rescan_timer, d);
    evloop_timer_init(&d->expire_timer, expire_timer, d);
    evloop_timer_init(&d->history_timer, history_timer, d);
    evloop_timer_init(&d->round_timer, round_timer, d);
    evloop_timer_start(d->loop, &d->start_timer, 0);
    return 0;
}

static void selection_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct daemon *d = arg;
    evloop_timer_stop(d->loop, &d->start_timer);
    evloop_timer_stop(d->loop, &d->review_timer);
    evloop_timer_stop(d->loop, &d->rescan_timer);
    evloop_timer_stop(d->loop, &d->expire_timer);
    evloop_timer_stop(d->loop, &d->history_timer);
    evloop_timer_stop(d->loop, &d->round_timer);
    pool_free(&d->pool);
}

static const struct service_step steps[] = {
    SERVICE_STEP_METRICS,
    SERVICE_STEP_DATABASE,
    SERVICE_STEP_MQTT,
    {"selection", selection_start, selection_stop},
    {0},
};

int selector_daemon_run(const struct selector_daemon_config *dc)
{
    struct daemon *d = &D;
    memset(d, 0, sizeof *d);
    d->dc = dc;
    char client_id[MSG_NAME_MAX + 16];
    snprintf(client_id, sizeof client_id, "%s", dc->mqtt_client_id ? dc->mqtt_client_id : "");
    if (!dc->mqtt_client_id) snprintf(client_id, sizeof client_id, "ntpmon-selector-%s", dc->env);
    struct mqtt_config mc = {
        .url = dc->mqtt_url,
        .client_id = client_id,
        .username = dc->mqtt_username,
        .password = dc->mqtt_token,
        .ca_file = dc->mqtt_ca_file,
        .clean_start = false, /* the broker keeps results for us while we restart */
        .session_expiry_s = 3600,
    };
    struct mqtt_handlers h = {.on_connect = on_connect, .on_disconnect = on_disconnect, .on_message = on_message};
    const struct service_def def = {.name = "ntpmon-selector", .steps = steps, .arg = d, .defer_ready = true,
                                    .status = status, .summary = summary, .summary_interval_us = SUMMARY_PERIOD_US};
    d->svc = service_new(&def);
    service_set_metrics(d->svc, &dc->metrics);
    service_set_database(d->svc, &dc->dsn, dc->db_check_interval_us);
    service_set_mqtt(d->svc, &mc, &h);
    return service_run(d->svc);
}
