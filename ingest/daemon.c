/* daemon.c — ingest's steps in the daemon frame (common/service.h): the schema check, the writer thread, and the
 * intake that wires the MQTT session, the queue, the writer and the confirmations together.
 * Message flow: on_message (inside libmosquitto, which has already acknowledged it) → intake → the tail batch of
 * the queue → the writer when it is idle and the head batch is full or old enough → commit → confirmations.
 * Nothing here blocks: the database lives on the writer's thread. */
#include "daemon.h"

#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confirm.h"
#include "evloop.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "msg.h"
#include "service.h"
#include "timeutil.h"
#include "xalloc.h"

struct counters {
    uint64_t received, written, duplicates, rejected, lag_n;
    int64_t lag_sum_us, lag_max_us;
};

/* Prometheus metrics (served when --metrics-listen is given). */
struct service_metrics {
    struct metric *received, *written, *duplicates, *rejected, *lag_sum, *lag_count, *pauses;
    struct metric *held, *paused, *db_failing, *unsent, *connected;
};

struct ingest {
    const struct ingest_config *cfg;
    struct service *svc;
    struct evloop *loop;
    struct mqtt_session *mqtt;
    struct writer *writer;
    struct confirm *confirm;
    struct batch *head, *tail, *spare;
    size_t n_spare;
    size_t held;      /* messages queued here (not counting the writer's batch) */
    size_t in_writer; /* messages in the writer's batch */
    bool paused, stopping, finished, pause_logged;
    struct evloop_timer flush_timer, gauge_timer;
    struct counters interval, total;
    struct service_metrics m;
    int64_t interval_start_us, start_us;
    uint64_t dropped_at_exit, uncommitted;
};

static void update_gauges(struct ingest *sv);
static void log_pause(struct ingest *sv);

/* ---- queue ---- */

static struct batch *take_spare(struct ingest *sv)
{
    struct batch *b = sv->spare;
    if (b) {
        sv->spare = b->next;
        sv->n_spare--;
        b->next = NULL;
        return b;
    }
    return batch_new(sv->cfg->batch_size);
}

/* Spare batches are kept for reuse, but only as many as steady work needs (one filling while one is written): the
 * batches an outage piled up (up to --max-held) are freed once written, so memory follows what is held. */
#define MAX_SPARE 2

static void recycle(struct ingest *sv, struct batch *b)
{
    if (sv->n_spare >= MAX_SPARE) {
        batch_free(b);
        return;
    }
    batch_reset(b);
    b->next = sv->spare;
    sv->spare = b;
    sv->n_spare++;
}

static void set_paused(struct ingest *sv, bool paused)
{
    if (sv->paused == paused) return;
    sv->paused = paused;
    mqtt_session_pause_reading(sv->mqtt, paused);
    if (paused) metric_inc(sv->m.pauses);
    log_pause(sv);
}

/* Under a backlog, pausing for a batch at a time is ordinary back-pressure; only a pause during a database outage
 * is news. Called on every change and every second (the writer may start failing after the pause). */
static void log_pause(struct ingest *sv)
{
    if (sv->paused && !sv->pause_logged && !sv->stopping && writer_failing(sv->writer)) {
        sv->pause_logged = true;
        LOG(WARN, "holding %zu messages: reading paused until the database is back (the broker queues meanwhile)",
            sv->held + sv->in_writer);
    } else if (!sv->paused && sv->pause_logged) {
        sv->pause_logged = false;
        LOG(INFO, "reading resumed (%zu messages held)", sv->held + sv->in_writer);
    }
}

static void maybe_finish(struct ingest *sv)
{
    if (sv->stopping && !sv->finished && !sv->head && sv->in_writer == 0 && writer_idle(sv->writer)) {
        sv->finished = true;
        service_drained(sv->svc);
    }
}

/* Hands the head batch to the writer when the writer is idle and the batch is full, old enough, or we stop. */
static void pump(struct ingest *sv)
{
    if (!sv->head || !writer_idle(sv->writer) || sv->in_writer) return;
    int64_t now = time_mono_us();
    int64_t age = now - sv->head->first_mono_us;
    bool due = sv->head->n == sv->head->cap || sv->stopping || age >= sv->cfg->flush_interval_us;
    if (!due) {
        if (!evloop_timer_active(&sv->flush_timer))
            evloop_timer_start(sv->loop, &sv->flush_timer, sv->cfg->flush_interval_us - age);
        return;
    }
    struct batch *b = sv->head;
    sv->head = b->next;
    if (!sv->head) sv->tail = NULL;
    b->next = NULL;
    sv->held -= b->n;
    sv->in_writer = b->n;
    evloop_timer_stop(sv->loop, &sv->flush_timer);
    writer_submit(sv->writer, b);
    if (sv->paused && !sv->stopping && sv->held < sv->cfg->max_held) set_paused(sv, false);
}

static void on_flush_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    pump(arg);
}

/* ---- MQTT ---- */

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct ingest *sv = arg;
    if (sv->finished) { /* only while the last confirmations are flushed */
        sv->dropped_at_exit++;
        return;
    }
    struct batch *t = sv->tail;
    if (!t || t->n == t->cap) {
        t = take_spare(sv);
        if (sv->tail) sv->tail->next = t;
        else sv->head = t;
        sv->tail = t;
    }
    if (t->n == 0) t->first_mono_us = time_mono_us();
    intake_message(sv->cfg->env, m->topic, m->payload, m->payloadlen > 0 ? (size_t)m->payloadlen : 0, time_now_us(),
                   &t->entries[t->n++]);
    sv->held++;
    sv->interval.received++;
    sv->total.received++;
    metric_inc(sv->m.received);
    if (sv->held >= sv->cfg->max_held) set_paused(sv, true);
    pump(sv);
}

static void on_connect(struct mqtt_session *s, bool session_present, void *arg)
{
    struct ingest *sv = arg;
    if (!session_present) LOG(INFO, "new broker session: results published while no worker was subscribed are not queued for us");
    confirm_flush(sv->confirm, s);
}

/* ---- writer ---- */

static void on_writer(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct ingest *sv = arg;
    struct writer_report rep;
    struct batch *b = writer_collect(sv->writer, &rep);
    if (!b) return;
    sv->in_writer = 0;
    if (rep.committed) {
        confirm_batch(sv->confirm, b);
        struct counters *cs[] = {&sv->interval, &sv->total};
        for (int i = 0; i < 2; i++) {
            cs[i]->written += rep.inserted;
            cs[i]->duplicates += rep.results - rep.inserted;
            cs[i]->rejected += rep.rejected;
            cs[i]->lag_n += rep.lag_n;
            cs[i]->lag_sum_us += rep.lag_sum_us;
            if (rep.lag_max_us > cs[i]->lag_max_us) cs[i]->lag_max_us = rep.lag_max_us;
        }
        metric_add(sv->m.written, (double)rep.inserted);
        metric_add(sv->m.duplicates, (double)(rep.results - rep.inserted));
        metric_add(sv->m.rejected, (double)rep.rejected);
        metric_add(sv->m.lag_sum, rep.lag_sum_us / 1e6);
        metric_add(sv->m.lag_count, (double)rep.lag_n);
    } else {
        sv->uncommitted += b->n;
    }
    recycle(sv, b);
    confirm_flush(sv->confirm, sv->mqtt);
    pump(sv);
    update_gauges(sv);
    maybe_finish(sv);
}

/* ---- summary and shutdown ---- */

static void log_summary(struct ingest *sv, const char *what)
{
    struct counters *c = &sv->interval;
    double secs = (time_mono_us() - sv->interval_start_us) / 1e6;
    LOG_ALWAYS(INFO,
               "%s %.0fs: received %llu (%.1f/s), written %llu, duplicates %llu, rejected %llu, lag avg %.3fs max "
               "%.3fs; held %zu%s, database %s, unsent confirmations %zu",
               what, secs, (unsigned long long)c->received, secs > 0 ? c->received / secs : 0.0,
               (unsigned long long)c->written, (unsigned long long)c->duplicates, (unsigned long long)c->rejected,
               c->lag_n ? c->lag_sum_us / 1e6 / (double)c->lag_n : 0.0, c->lag_max_us / 1e6, sv->held + sv->in_writer,
               sv->paused && !sv->stopping ? " (reading paused)" : "", writer_failing(sv->writer) ? "failing" : "ok",
               confirm_pending(sv->confirm));
    memset(c, 0, sizeof *c);
    sv->interval_start_us = time_mono_us();
}

static void summary(struct service *svc, void *arg)
{
    (void)svc;
    struct ingest *sv = arg;
    log_summary(sv, "last");
    update_gauges(sv);
}

static void on_gauge_timer(struct evloop *loop, void *arg)
{
    struct ingest *sv = arg;
    update_gauges(sv);
    log_pause(sv);
    evloop_timer_start(loop, &sv->gauge_timer, 1000000);
}

/* SIGTERM/SIGINT: commit what is held (the writer gives up at --shutdown-timeout), confirm it, then stop. */
static void drain(struct service *svc, void *arg)
{
    (void)svc;
    struct ingest *sv = arg;
    LOG_ALWAYS(INFO, "committing %zu held messages, then exiting", sv->held + sv->in_writer);
    sv->stopping = true;
    set_paused(sv, true);
    writer_give_up_at(sv->writer, time_mono_us() + sv->cfg->shutdown_timeout_us);
    pump(sv);
    maybe_finish(sv);
}

static const char *health_writer(void *arg)
{
    struct ingest *sv = arg;
    static char why[DB_ERR_LEN + 40];
    char err[DB_ERR_LEN];
    if (!writer_health(sv->writer, err, sizeof err)) return NULL;
    snprintf(why, sizeof why, "database writes failing: %s", err);
    return why;
}

static void status(struct service *svc, void *arg, char *buf, size_t len)
{
    (void)svc;
    struct ingest *sv = arg;
    snprintf(buf, len, "queue %zu%s; unsent confirmations %zu", sv->held + sv->in_writer,
             sv->paused && !sv->stopping ? " (reading paused)" : "", confirm_pending(sv->confirm));
}

static void metrics_init(struct service_metrics *m)
{
    m->received = metrics_counter("ntpmon_ingest_received_total", "messages received from the broker", NULL);
    m->written = metrics_counter("ntpmon_ingest_written_total", "result rows inserted", NULL);
    m->duplicates = metrics_counter("ntpmon_ingest_duplicates_total", "results already stored (replays)", NULL);
    m->rejected = metrics_counter("ntpmon_ingest_rejected_total", "messages recorded in results_rejected", NULL);
    m->lag_sum = metrics_counter("ntpmon_ingest_lag_seconds_sum", "commit time minus result ts, summed", NULL);
    m->lag_count = metrics_counter("ntpmon_ingest_lag_seconds_count", "results in the lag sum", NULL);
    m->pauses = metrics_counter("ntpmon_ingest_read_pauses_total", "times reading from the broker paused", NULL);
    m->held = metrics_gauge("ntpmon_ingest_held", "messages received and not yet committed", NULL);
    m->paused = metrics_gauge("ntpmon_ingest_reading_paused", "1 while reading from the broker is paused", NULL);
    m->db_failing = metrics_gauge("ntpmon_ingest_database_failing", "1 while database writes fail", NULL);
    m->unsent = metrics_gauge("ntpmon_ingest_unsent_confirmations", "confirmation ids waiting for the broker", NULL);
    m->connected = metrics_gauge("ntpmon_ingest_broker_connected", "1 while connected to the broker", NULL);
}

/* Gauges (/healthz is the frame's: the broker, and health_writer for the database). */
static void update_gauges(struct ingest *sv)
{
    bool failing = writer_failing(sv->writer), connected = mqtt_session_connected(sv->mqtt);
    metric_set(sv->m.held, (double)(sv->held + sv->in_writer));
    metric_set(sv->m.paused, sv->paused);
    metric_set(sv->m.db_failing, failing);
    metric_set(sv->m.unsent, (double)confirm_pending(sv->confirm));
    metric_set(sv->m.connected, connected);
}

/* ---- the steps ---- */

/* A missing table is a configuration error (exit 2); an unreachable database is checked when it is back. */
static int schema_start(struct service *svc, void *arg)
{
    (void)arg;
    struct db *db = service_db(svc);
    static const char *const tables[] = {"results", "results_rejected", "monitors", "servers"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "SELECT 1 FROM %s LIMIT 0", tables[i]);
        if (db_exec(db, sql) == 0) continue;
        if (db_errno(db) == ER_NO_SUCH_TABLE) {
            service_fail(svc, 2, "table %s is missing: run `ntpmonctl db migrate` first", tables[i]);
            return -1;
        }
        LOG(WARN, "database check failed: %s", db_error(db));
        break;
    }
    return 0;
}

static int writer_step_start(struct service *svc, void *arg)
{
    struct ingest *sv = arg;
    sv->writer = writer_start(&sv->cfg->writer, service_take_db(svc));
    service_health_add(svc, "database", health_writer, sv);
    return 0;
}

static void writer_step_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct ingest *sv = arg;
    writer_free(sv->writer);
    sv->writer = NULL;
}

static int intake_start(struct service *svc, void *arg)
{
    struct ingest *sv = arg;
    const struct ingest_config *cfg = sv->cfg;
    sv->loop = service_loop(svc);
    sv->mqtt = service_mqtt(svc);
    char filter[MSG_TOPIC_MAX], traces[MSG_TOPIC_MAX];
    if (msg_filter_results_shared(filter, sizeof filter, cfg->group, cfg->env) < 0 ||
        msg_filter_traces_shared(traces, sizeof traces, cfg->group, cfg->env) < 0) {
        service_fail(svc, 2, "invalid shared subscription group '%s'", cfg->group);
        return -1;
    }
    mqtt_session_subscribe(sv->mqtt, filter, 1);
    mqtt_session_subscribe(sv->mqtt, traces, 1);
    sv->confirm = confirm_new(cfg->env, cfg->max_pending_confirms);
    evloop_fd_set(sv->loop, writer_fd(sv->writer), EVLOOP_READ, on_writer, sv);
    metrics_init(&sv->m);
    evloop_timer_init(&sv->flush_timer, on_flush_timer, sv);
    evloop_timer_init(&sv->gauge_timer, on_gauge_timer, sv);
    evloop_timer_start(sv->loop, &sv->gauge_timer, 1000000);
    sv->interval_start_us = sv->start_us = time_mono_us();
    LOG_ALWAYS(INFO, "ingest %s: subscribing to %s and %s as %s; batches of %zu, flush after %.3fs, holding at most %zu",
               NTPMON_VERSION, filter, traces, cfg->mqtt.client_id, cfg->batch_size, cfg->flush_interval_us / 1e6,
               cfg->max_held);
    return 0;
}

/* After the loop (a drain, or its deadline): the last confirmations go out (the MQTT step flushes them next),
 * the totals are logged, the queue is freed. */
static void intake_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct ingest *sv = arg;
    sv->finished = true;
    if (sv->stopping && (sv->head || sv->in_writer))
        LOG(WARN, "shutdown: the database did not take the last %zu messages in time; their agents will re-send them",
            sv->held + sv->in_writer);
    confirm_flush(sv->confirm, sv->mqtt);
    if (confirm_pending(sv->confirm))
        LOG(WARN, "exiting with %zu confirmations unsent; their agents will re-send and be confirmed again",
            confirm_pending(sv->confirm));
    uint64_t lost_here = sv->uncommitted + sv->held + sv->in_writer + sv->dropped_at_exit;
    if (lost_here)
        LOG(WARN, "%llu received messages were not committed; they were never confirmed, so their agents re-send them",
            (unsigned long long)lost_here);
    sv->interval = sv->total;
    sv->interval_start_us = sv->start_us;
    log_summary(sv, "totals since start, over");
    evloop_timer_stop(sv->loop, &sv->flush_timer);
    evloop_timer_stop(sv->loop, &sv->gauge_timer);
    evloop_fd_remove(sv->loop, writer_fd(sv->writer));
    while (sv->head) {
        struct batch *b = sv->head;
        sv->head = b->next;
        batch_free(b);
    }
    while (sv->spare) {
        struct batch *b = sv->spare;
        sv->spare = b->next;
        batch_free(b);
    }
    confirm_free(sv->confirm);
}

static const struct service_step steps[] = {
    SERVICE_STEP_METRICS,
    SERVICE_STEP_DATABASE,
    {"schema", schema_start, NULL},
    {"writer", writer_step_start, writer_step_stop},
    SERVICE_STEP_MQTT,
    {"intake", intake_start, intake_stop},
    {0},
};

int ingest_daemon_run(const struct ingest_config *cfg)
{
    static struct ingest sv;
    sv.cfg = cfg;
    struct mqtt_handlers h = {.on_connect = on_connect, .on_message = on_message};
    const struct service_def def = {.name = "ntpmon-ingest", .steps = steps, .arg = &sv, .drain = drain,
                                    /* the writer's deadline, then the batch it gives back */
                                    .shutdown_timeout_us = cfg->shutdown_timeout_us + 2000000,
                                    .status = status, .summary = summary,
                                    .summary_interval_us = cfg->summary_interval_us};
    sv.svc = service_new(&def);
    service_set_metrics(sv.svc, &cfg->metrics);
    service_set_database(sv.svc, &cfg->writer.dsn, cfg->writer.probe_interval_us);
    service_set_mqtt(sv.svc, &cfg->mqtt, &h);
    return service_run(sv.svc);
}
