/* service.c — the daemon frame (service.h): the step list and its reverse teardown, signals through the loop, the
 * metrics listener, the database handle and its ping, the MQTT session and the state the health and STATUS= text
 * need (its handlers are wrapped), the health, summary, watchdog and shutdown timers. Everything runs on the loop's
 * thread; /healthz reads the verdict through metrics_set_health. */
#include "service.h"

#include <errno.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "timeutil.h"
#include "xalloc.h"

#define MAX_HEALTH 16
#define REASONS_LEN 1024

struct health_cond {
    const char *name;
    service_health_fn fn;
    void *arg;
};

struct service {
    const struct service_def *def;
    struct evloop *loop;
    int status;         /* the exit status so far */
    bool ready, stopping, running;
    size_t started;     /* steps started */
    /* metrics */
    const char *metrics_listen;
    struct metrics_limits metrics_limits;
    int64_t health_interval_us;
    /* database */
    bool have_dsn;
    struct db_dsn dsn;
    int64_t db_check_us;
    struct db *db;
    bool db_taken, db_ok;
    char db_why[DB_ERR_LEN];
    /* MQTT */
    bool have_mqtt;
    struct mqtt_config mqtt_cfg;
    struct mqtt_handlers part_h;
    struct mqtt_session *mq;
    bool mq_started;
    char mq_why[160];
    /* health and STATUS= */
    struct health_cond health[MAX_HEALTH];
    size_t n_health;
    bool seen_healthy;    /* healthy at least once since ready */
    bool healthy_logged;  /* the last verdict logged */
    char last_status[REASONS_LEN + 256];
    /* timers */
    struct evloop_timer health_timer, db_timer, watchdog_timer, summary_timer, shutdown_timer;
    int64_t watchdog_us;
    int64_t watchdog_last_us; /* monotonic time of the last WATCHDOG=1 */
};

static void on_db_timer(struct evloop *loop, void *arg);

/* ---- text helpers ---- */

static void append(char *buf, size_t cap, const char *sep, const char *text)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap) return;
    snprintf(buf + n, cap - n, "%s%s", n ? sep : "", text);
}

/* ---- health and STATUS= ---- */

static bool broker_down(const struct service *svc)
{
    return svc->mq && svc->mq_started && !mqtt_session_connected(svc->mq);
}

/* Every failing condition's reason into reasons ("" when healthy); *own_from: where the daemon's own begin. */
static void health_reasons(struct service *svc, char *reasons, size_t len, size_t *own_from)
{
    char tmp[DB_ERR_LEN + 64];
    reasons[0] = '\0';
    if (!svc->ready) append(reasons, len, "; ", "starting");
    if (broker_down(svc)) {
        snprintf(tmp, sizeof tmp, "broker not connected: %s", svc->mq_why[0] ? svc->mq_why : "connecting");
        append(reasons, len, "; ", tmp);
    }
    if (svc->db && !svc->db_taken && !svc->db_ok) {
        snprintf(tmp, sizeof tmp, "database unreachable: %s", svc->db_why[0] ? svc->db_why : "not connected");
        append(reasons, len, "; ", tmp);
    }
    *own_from = strlen(reasons);
    for (size_t i = 0; i < svc->n_health; i++) {
        const char *r = svc->health[i].fn(svc->health[i].arg);
        if (r && *r) append(reasons, len, "; ", r);
    }
}

/* STATUS=: the state, the broker, the database, the daemon's words, its own failing conditions; sent on change. */
static void send_status(struct service *svc, bool healthy, const char *own_reasons)
{
    char status[sizeof svc->last_status] = "", tmp[sizeof svc->mq_why + 64];
    append(status, sizeof status, "; ", !svc->ready ? "starting" : svc->stopping ? "stopping" : healthy ? "serving" : "unhealthy");
    if (svc->mq) {
        if (!svc->mq_started) snprintf(tmp, sizeof tmp, "broker not connected yet");
        else if (mqtt_session_connected(svc->mq)) snprintf(tmp, sizeof tmp, "broker connected");
        else snprintf(tmp, sizeof tmp, "broker not connected (%s)", svc->mq_why[0] ? svc->mq_why : "connecting");
        append(status, sizeof status, "; ", tmp);
    }
    if (svc->db && !svc->db_taken) append(status, sizeof status, "; ", svc->db_ok ? "database ok" : "database unreachable");
    if (svc->def->status) {
        char words[256] = "";
        svc->def->status(svc, svc->def->arg, words, sizeof words);
        if (words[0]) append(status, sizeof status, "; ", words);
    }
    if (*own_reasons) append(status, sizeof status, "; ", own_reasons);
    if (strcmp(status, svc->last_status) == 0) return;
    snprintf(svc->last_status, sizeof svc->last_status, "%s", status);
    char msg[sizeof status + 16];
    snprintf(msg, sizeof msg, "STATUS=%s", status);
    if (sdnotify(msg) < 0) LOG(WARN, "cannot notify the service manager: %s", strerror(errno));
}

/* /healthz, the log line of a change, STATUS=. */
static void evaluate(struct service *svc)
{
    char reasons[REASONS_LEN];
    size_t own_from;
    health_reasons(svc, reasons, sizeof reasons, &own_from);
    bool healthy = reasons[0] == '\0';
    metrics_set_health(healthy, reasons);
    /* changes are logged once the daemon has been healthy (the first broker connect is no news) */
    if (svc->ready && healthy && !svc->seen_healthy) {
        svc->seen_healthy = svc->healthy_logged = true;
        LOG(INFO, "healthy");
    } else if (svc->seen_healthy && healthy != svc->healthy_logged) {
        if (healthy) LOG_ALWAYS(INFO, "healthy again");
        else LOG_ALWAYS(WARN, "unhealthy: %s", reasons);
        svc->healthy_logged = healthy;
    }
    send_status(svc, healthy, reasons + own_from + (own_from && reasons[own_from] ? 2 : 0));
}

void service_health_update(struct service *svc) { evaluate(svc); }

static void on_health_timer(struct evloop *loop, void *arg)
{
    struct service *svc = arg;
    evaluate(svc);
    evloop_timer_start(loop, &svc->health_timer, svc->health_interval_us);
}

void service_health_add(struct service *svc, const char *name, service_health_fn fn, void *arg)
{
    if (svc->n_health == MAX_HEALTH) {
        LOG(ERROR, "health condition %s not added: at most %d", name, MAX_HEALTH);
        return;
    }
    svc->health[svc->n_health++] = (struct health_cond){name, fn, arg};
}

static void on_watchdog_timer(struct evloop *loop, void *arg)
{
    struct service *svc = arg;
    sdnotify("WATCHDOG=1");
    svc->watchdog_last_us = time_mono_us();
    evloop_timer_start(loop, &svc->watchdog_timer, svc->watchdog_us);
}

void service_keepalive(struct service *svc)
{
    if (svc->watchdog_us <= 0 || time_mono_us() - svc->watchdog_last_us < svc->watchdog_us) return;
    sdnotify("WATCHDOG=1");
    svc->watchdog_last_us = time_mono_us();
}

static void on_summary_timer(struct evloop *loop, void *arg)
{
    struct service *svc = arg;
    svc->def->summary(svc, svc->def->arg);
    evloop_timer_start(loop, &svc->summary_timer, svc->def->summary_interval_us);
}

/* ---- lifecycle ---- */

struct service *service_new(const struct service_def *def)
{
    struct service *svc = xcalloc(1, sizeof *svc);
    svc->def = def;
    svc->health_interval_us = 1000000;
    svc->metrics_limits = (struct metrics_limits)METRICS_LIMITS_DEFAULT;
    svc->db_check_us = 10000000;
    return svc;
}

void service_set_metrics(struct service *svc, const struct opts_metrics *m)
{
    svc->metrics_listen = m->listen && *m->listen ? m->listen : NULL;
    svc->metrics_limits = m->limits;
    if (m->health_interval_us > 0) svc->health_interval_us = m->health_interval_us;
}

void service_set_database(struct service *svc, const struct db_dsn *dsn, int64_t check_interval_us)
{
    svc->dsn = *dsn;
    svc->have_dsn = true;
    if (check_interval_us > 0) svc->db_check_us = check_interval_us;
}

struct evloop *service_loop(struct service *svc) { return svc->loop; }
struct db *service_db(struct service *svc) { return svc->db_taken ? NULL : svc->db; }
struct mqtt_session *service_mqtt(struct service *svc) { return svc->mq; }
bool service_is_ready(const struct service *svc) { return svc->ready; }
bool service_stopping(const struct service *svc) { return svc->stopping; }

void service_fail(struct service *svc, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    LOG_ALWAYS(ERROR, "%s", msg);
    if (!svc->status) svc->status = status ? status : 1;
    svc->stopping = true;
    if (svc->running) evloop_stop(svc->loop);
}

void service_exit(struct service *svc, int status)
{
    if (!svc->status) svc->status = status;
    svc->stopping = true;
    if (svc->loop) evloop_stop(svc->loop);
}

void service_drained(struct service *svc)
{
    evloop_timer_stop(svc->loop, &svc->shutdown_timer);
    evloop_stop(svc->loop);
}

static void on_shutdown_timer(struct evloop *loop, void *arg)
{
    struct service *svc = arg;
    LOG_ALWAYS(WARN, "shutdown: still draining after %.1f s; stopping anyway",
               (svc->def->shutdown_timeout_us ? svc->def->shutdown_timeout_us : 30000000) / 1e6);
    evloop_stop(loop);
}

void service_shutdown(struct service *svc)
{
    if (svc->stopping) return;
    svc->stopping = true;
    sdnotify("STOPPING=1");
    evaluate(svc);
    if (!svc->def->drain) {
        evloop_stop(svc->loop);
        return;
    }
    evloop_timer_start(svc->loop, &svc->shutdown_timer,
                       svc->def->shutdown_timeout_us ? svc->def->shutdown_timeout_us : 30000000);
    svc->def->drain(svc, svc->def->arg);
}

static void on_signal(struct evloop *loop, int signo, void *arg)
{
    struct service *svc = arg;
    if (signo == SIGHUP) {
        if (svc->def->reload) svc->def->reload(svc, svc->def->arg);
        else LOG_ALWAYS(INFO, "SIGHUP: nothing to reload");
        return;
    }
    const char *name = signo == SIGTERM ? "SIGTERM" : "SIGINT";
    if (svc->stopping) {
        LOG_ALWAYS(WARN, "%s again: stopping now", name);
        evloop_stop(loop);
        return;
    }
    LOG_ALWAYS(INFO, "%s: stopping", name);
    service_shutdown(svc);
}

void service_ready(struct service *svc)
{
    if (svc->ready) return;
    svc->ready = true;
    if (svc->mq && !svc->mq_started) {
        mqtt_session_start(svc->mq);
        svc->mq_started = true;
    }
    evaluate(svc);
    char msg[sizeof svc->last_status + 32];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", svc->last_status);
    if (sdnotify(msg) < 0) LOG(WARN, "cannot notify the service manager: %s", strerror(errno));
    LOG(INFO, "ready");
}

void service_hold_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* reset after blocking: a shell starting us in the background leaves SIGINT ignored, and an ignored signal is
     * discarded even when it would reach the signalfd */
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

/* Signals first, before any step starts a thread: blocked signals are inherited, so no thread but the loop ever
 * sees them. */
static int setup_signals(struct service *svc)
{
    service_hold_signals();
    signal(SIGPIPE, SIG_IGN);
    if (evloop_signal(svc->loop, SIGTERM, on_signal, svc) < 0 || evloop_signal(svc->loop, SIGINT, on_signal, svc) < 0 ||
        evloop_signal(svc->loop, SIGHUP, on_signal, svc) < 0) {
        service_fail(svc, 1, "cannot take signals through the event loop: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int service_run(struct service *svc)
{
    const struct service_def *def = svc->def;
    svc->loop = evloop_new();
    if (!svc->loop) {
        LOG_ALWAYS(ERROR, "cannot create the event loop: %s", strerror(errno));
        free(svc);
        return 1;
    }
    svc->watchdog_us = sdnotify_watchdog_interval_us(); /* known before the steps: long ones may keep alive */
    evloop_timer_init(&svc->health_timer, on_health_timer, svc);
    evloop_timer_init(&svc->db_timer, on_db_timer, svc); /* armed by the database step */
    evloop_timer_init(&svc->watchdog_timer, on_watchdog_timer, svc);
    evloop_timer_init(&svc->summary_timer, on_summary_timer, svc);
    evloop_timer_init(&svc->shutdown_timer, on_shutdown_timer, svc);
    metrics_set_health(false, "starting");

    bool all_started = setup_signals(svc) == 0;
    for (size_t i = 0; all_started && def->steps[i].name; i++) {
        const struct service_step *st = &def->steps[i];
        LOG(DEBUG, "starting: %s", st->name);
        if (st->start && st->start(svc, def->arg) < 0) {
            if (!svc->status) {
                LOG_ALWAYS(ERROR, "%s failed to start", st->name);
                svc->status = 1;
            }
            all_started = false;
            break;
        }
        svc->started = i + 1;
    }
    if (all_started && !svc->stopping) {
        evloop_timer_start(svc->loop, &svc->health_timer, 0);
        if (svc->watchdog_us > 0) evloop_timer_start(svc->loop, &svc->watchdog_timer, 0);
        if (def->summary && def->summary_interval_us > 0)
            evloop_timer_start(svc->loop, &svc->summary_timer, def->summary_interval_us);
        if (!def->defer_ready) service_ready(svc);
        svc->running = true;
        if (evloop_run(svc->loop) < 0) service_fail(svc, 1, "the event loop failed: %s", strerror(errno));
        svc->running = false;
    }

    /* The same teardown for every way out: the started steps in reverse. */
    if (!svc->stopping || !svc->ready) sdnotify("STOPPING=1");
    svc->stopping = true;
    evloop_timer_stop(svc->loop, &svc->health_timer);
    evloop_timer_stop(svc->loop, &svc->watchdog_timer);
    evloop_timer_stop(svc->loop, &svc->summary_timer);
    evloop_timer_stop(svc->loop, &svc->shutdown_timer);
    for (size_t i = svc->started; i-- > 0;) {
        const struct service_step *st = &def->steps[i];
        LOG(DEBUG, "stopping: %s", st->name);
        if (st->stop) st->stop(svc, def->arg);
    }
    int status = svc->status;
    evloop_free(svc->loop);
    free(svc);
    LOG_ALWAYS(INFO, "stopped (exit %d)", status);
    return status;
}

/* ---- SERVICE_STEP_METRICS ---- */

int service_metrics_start(struct service *svc, void *arg)
{
    (void)arg;
    if (!svc->metrics_listen) return 0;
    char err[256];
    if (metrics_listen(svc->metrics_listen, &svc->metrics_limits, err, sizeof err) < 0) {
        service_fail(svc, 2, "--metrics-listen: %s", err);
        return -1;
    }
    return 0;
}

void service_metrics_stop(struct service *svc, void *arg)
{
    (void)svc;
    (void)arg;
    metrics_stop();
}

/* ---- SERVICE_STEP_DATABASE ---- */

void service_db_report(struct service *svc, bool ok, const char *why)
{
    if (ok != svc->db_ok) {
        if (ok) LOG_ALWAYS(INFO, "database reachable again");
        else LOG(WARN, "database unreachable: %s", why ? why : "");
    }
    svc->db_ok = ok;
    snprintf(svc->db_why, sizeof svc->db_why, "%s", ok || !why ? "" : why);
}

static void on_db_timer(struct evloop *loop, void *arg)
{
    struct service *svc = arg;
    if (svc->db && !svc->db_taken) {
        bool ok = db_ensure(svc->db) == 0;
        service_db_report(svc, ok, db_error(svc->db));
        evloop_timer_start(loop, &svc->db_timer, svc->db_check_us);
    }
}

int service_database_start(struct service *svc, void *arg)
{
    (void)arg;
    if (!svc->have_dsn) {
        service_fail(svc, 1, "database step without a database (service_set_database)");
        return -1;
    }
    char where[300];
    dbconf_describe(&svc->dsn, where, sizeof where);
    svc->db = db_new(&svc->dsn);
    if (db_ensure(svc->db) < 0) {
        unsigned e = db_errno(svc->db);
        /* what no retry can fix is a configuration error; anything else (a server away) is waited out */
        if (e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR || e == ER_BAD_DB_ERROR) {
            service_fail(svc, 2, "%s%s", db_error(svc->db),
                         e == ER_BAD_DB_ERROR ? ": run `ntpmonctl db migrate` first" : "");
            db_close(svc->db);
            svc->db = NULL;
            return -1;
        }
        LOG_ALWAYS(WARN, "%s; will keep trying", db_error(svc->db));
        service_db_report(svc, false, db_error(svc->db));
    } else {
        svc->db_ok = true;
    }
    evloop_timer_start(svc->loop, &svc->db_timer, svc->db_check_us);
    return 0;
}

void service_database_stop(struct service *svc, void *arg)
{
    (void)arg;
    evloop_timer_stop(svc->loop, &svc->db_timer);
    if (!svc->db_taken) db_close(svc->db);
    svc->db = NULL;
}

struct db *service_take_db(struct service *svc)
{
    struct db *db = svc->db_taken ? NULL : svc->db;
    svc->db_taken = true;
    evloop_timer_stop(svc->loop, &svc->db_timer);
    return db;
}

/* ---- SERVICE_STEP_MQTT ---- */

static void fr_on_connect(struct mqtt_session *s, bool session_present, void *arg)
{
    struct service *svc = arg;
    svc->mq_why[0] = '\0';
    if (svc->part_h.on_connect) svc->part_h.on_connect(s, session_present, svc->def->arg);
    evaluate(svc);
}

static void fr_on_disconnect(struct mqtt_session *s, int reason, const char *why, void *arg)
{
    struct service *svc = arg;
    snprintf(svc->mq_why, sizeof svc->mq_why, "%s", why && *why ? why : "disconnected");
    if (svc->part_h.on_disconnect) svc->part_h.on_disconnect(s, reason, why, svc->def->arg);
    evaluate(svc);
}

static void fr_on_message(struct mqtt_session *s, const struct mosquitto_message *msg, const mosquitto_property *props,
                          void *arg)
{
    struct service *svc = arg;
    if (svc->part_h.on_message) svc->part_h.on_message(s, msg, props, svc->def->arg);
}

static void fr_on_publish(struct mqtt_session *s, int mid, int reason, void *arg)
{
    struct service *svc = arg;
    if (svc->part_h.on_publish) svc->part_h.on_publish(s, mid, reason, svc->def->arg);
}

void service_set_mqtt(struct service *svc, const struct mqtt_config *cfg, const struct mqtt_handlers *h)
{
    svc->mqtt_cfg = *cfg;
    svc->part_h = h ? *h : (struct mqtt_handlers){0};
    svc->have_mqtt = true;
}

int service_mqtt_start(struct service *svc, void *arg)
{
    (void)arg;
    if (!svc->have_mqtt) {
        service_fail(svc, 1, "MQTT step without a session configuration (service_set_mqtt)");
        return -1;
    }
    static const struct mqtt_handlers frame_h = {fr_on_connect, fr_on_disconnect, fr_on_message, fr_on_publish};
    char err[256];
    svc->mq = mqtt_session_new(svc->loop, &svc->mqtt_cfg, &frame_h, svc, err, sizeof err);
    if (!svc->mq) {
        service_fail(svc, 2, "%s", err);
        return -1;
    }
    return 0;
}

void service_mqtt_stop(struct service *svc, void *arg)
{
    (void)arg;
    if (!svc->mq) return;
    /* the steps after this one are stopped: their handlers must not run during the flush */
    svc->part_h = (struct mqtt_handlers){0};
    mqtt_session_flush(svc->mq, svc->def->flush_timeout_us ? svc->def->flush_timeout_us : 2000000);
    mqtt_session_free(svc->mq); /* sends DISCONNECT: the will is not published */
    svc->mq = NULL;
}
