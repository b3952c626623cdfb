/* service.h — the daemon frame every ntpmon daemon runs in (agent, ingest, scorer, selector, tokend; ntpmon-web
 * adopts it the same way).
 *
 * A daemon is one ordered list of steps, {name, start, stop}, as chrony's X_Initialise()/X_Finalise(): the frame
 * starts them in order and stops the started ones in reverse — after a clean shutdown, after a fatal error at run
 * time, and when a step fails to start — so every exit path runs the same teardown. The frame's own pieces are
 * steps the daemon places in its list where they belong:
 *
 *   SERVICE_STEP_METRICS   the /metrics and /healthz listener (--metrics-listen ADDR:PORT; nothing when unset)
 *   SERVICE_STEP_DATABASE  the database (service_set_database): a handle that connects at once; unreachable is not
 *                          fatal (it is pinged every --database-check-interval and /healthz says so); refused
 *                          credentials or a missing database are configuration errors (exit 2)
 *   SERVICE_STEP_MQTT      the MQTT session (service_set_mqtt, also from an earlier step): created here,
 *                          connected when the daemon is ready, flushed (flush_timeout) and disconnected when stopped
 *                          (the daemon's handlers are no longer called then: the steps after it are stopped)
 *
 * and around the list the frame always does: first, SIGTERM, SIGINT and SIGHUP are blocked (before any thread
 * starts) and arrive through the loop's signalfd (SIGHUP calls def->reload), SIGPIPE is ignored; last, the health,
 * summary and watchdog timers start and, unless the daemon defers it (defer_ready, then service_ready()), READY=1 is
 * sent. A daemon whose database lives on its own thread takes the handle (service_take_db) and reports its health.
 *
 * Shutdown: SIGTERM or SIGINT sends STOPPING=1 and calls the daemon's drain callback, which finishes what is in
 * flight and calls service_drained() (no callback: the loop stops at once); after shutdown_timeout the loop stops
 * anyway, and a second signal stops it at once. Then the steps stop in reverse. The exit status is 0 after a clean
 * shutdown, 2 after service_fail(svc, 2, …) (a configuration error: systemd's RestartPreventExitStatus=2), 1 after
 * any other failure.
 *
 * Health: /healthz answers 200 "ok", or 503 "unhealthy: " and the reason of every failing condition, joined by
 * "; ": "starting" until ready, "broker not connected: …" while the session is down, "database unreachable:
 * …" while the database is, and the daemon's own conditions (service_health_add), evaluated on the loop every
 * --health-interval.
 *
 * systemd (sdnotify.h, no libsystemd): READY=1 when serving, STOPPING=1 on shutdown, STATUS= with the state, the
 * broker, the database and the daemon's own words (its status callback: queue depth …) whenever it changes, and
 * WATCHDOG=1 from the loop every $WATCHDOG_USEC/2 (when $WATCHDOG_PID is unset or ours): a stuck loop misses it
 * (long synchronous work calls service_keepalive between its pieces).
 *
 * Adopting it (ntpmon-tokend is the smallest example):
 *
 *     static int work_start(struct service *svc, void *arg);   // subscribe, arm timers …; -1 after service_fail()
 *     static void work_stop(struct service *svc, void *arg);   // undo work_start
 *     static const struct service_step steps[] = {
 *         SERVICE_STEP_METRICS, SERVICE_STEP_DATABASE, SERVICE_STEP_MQTT, {"work", work_start, work_stop}, {0}};
 *     struct service_def def = {.name = "ntpmon-x", .steps = steps, .arg = &me, .status = my_status};
 *     struct service *svc = service_new(&def);
 *     service_set_metrics(svc, &metricso);
 *     service_set_database(svc, &dsn, dbo.check_interval_us);
 *     service_set_mqtt(svc, &mqtt_config, &handlers);   // handlers get def.arg
 *     return service_run(svc);                            // the exit status; svc is freed
 */
#ifndef NTPMON_SERVICE_H
#define NTPMON_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "dbconf.h"
#include "evloop.h"
#include "mqtt.h"
#include "opts.h"

struct service;

struct service_step {
    const char *name; /* NULL ends the list */
    /* Starts the piece; 0, or -1 after service_fail() said why (the steps before it are then stopped). */
    int (*start)(struct service *svc, void *arg);
    /* Undoes start; called only when start succeeded. NULL: nothing to undo. */
    void (*stop)(struct service *svc, void *arg);
};

/* The frame's steps (see the top of this file). */
int service_metrics_start(struct service *svc, void *arg);
void service_metrics_stop(struct service *svc, void *arg);
int service_database_start(struct service *svc, void *arg);
void service_database_stop(struct service *svc, void *arg);
int service_mqtt_start(struct service *svc, void *arg);
void service_mqtt_stop(struct service *svc, void *arg);
#define SERVICE_STEP_METRICS {"metrics", service_metrics_start, service_metrics_stop}
#define SERVICE_STEP_DATABASE {"database", service_database_start, service_database_stop}
#define SERVICE_STEP_MQTT {"mqtt", service_mqtt_start, service_mqtt_stop}

struct service_def {
    const char *name;                 /* "ntpmon-scorer": logs, STATUS= */
    const struct service_step *steps; /* in start order, ended by {0} */
    void *arg;                        /* passed to every step and callback, and to the MQTT handlers */
    bool defer_ready;                 /* READY=1 (and the MQTT connect) wait for service_ready() */
    /* SIGTERM/SIGINT: finish what is in flight, then call service_drained(). NULL: stop at once. */
    void (*drain)(struct service *svc, void *arg);
    int64_t shutdown_timeout_us;      /* the drain's deadline; 0 = 30 s */
    int64_t flush_timeout_us;         /* MQTT publishes still unacknowledged get this long at the end; 0 = 2 s */
    /* SIGHUP (NULL: logged and ignored). */
    void (*reload)(struct service *svc, void *arg);
    /* The daemon's words for STATUS= ("queue 12, 3 servers"); called every health interval. May be NULL. */
    void (*status)(struct service *svc, void *arg, char *buf, size_t len);
    /* The periodic summary log line, every summary_interval_us (0: none). */
    void (*summary)(struct service *svc, void *arg);
    int64_t summary_interval_us;
};

/* A health condition: NULL while healthy, else why not (a string that lives until the next call). */
typedef const char *(*service_health_fn)(void *arg);

/* Blocks SIGTERM, SIGINT and SIGHUP for the loop's signalfd (and resets inherited "ignore"): call it first thing
 * in main, so a signal during start-up waits for the loop instead of killing a half-started daemon. service_run
 * does it too. */
void service_hold_signals(void);
/* A frame for def (the definition must outlive it). Never NULL. */
struct service *service_new(const struct service_def *def);
/* The metrics option group (copied): --metrics-listen (NULL or "" = off), the listener's limits, and how often
 * health conditions are evaluated (0 = 1 s). */
void service_set_metrics(struct service *svc, const struct opts_metrics *m);
/* The database SERVICE_STEP_DATABASE connects to (copied) and how often it is pinged (0 = 10 s). */
void service_set_database(struct service *svc, const struct db_dsn *dsn, int64_t check_interval_us);
/* The session SERVICE_STEP_MQTT creates (copied; its strings must live until that step has run). The handlers get
 * def->arg; the frame sees connects and disconnects first (health, STATUS=). */
void service_set_mqtt(struct service *svc, const struct mqtt_config *cfg, const struct mqtt_handlers *h);
/* Starts the steps, runs the loop until shutdown, stops the steps in reverse; returns the exit status and frees svc. */
int service_run(struct service *svc);

/* ---- for steps and callbacks ---- */

struct evloop *service_loop(struct service *svc);
/* The database handle (NULL before SERVICE_STEP_DATABASE, or after service_take_db). It may be disconnected: every
 * db_* call reconnects first. */
struct db *service_db(struct service *svc);
/* Hands the database handle to the caller (e.g. a writer thread): the frame no longer pings or closes it, and
 * its "database" health condition becomes the caller's to report (service_health_add). */
struct db *service_take_db(struct service *svc);
/* Tells the frame how the database is doing (a daemon's own statements fail or succeed between the pings). */
void service_db_report(struct service *svc, bool ok, const char *why);
/* The MQTT session (NULL before SERVICE_STEP_MQTT). */
struct mqtt_session *service_mqtt(struct service *svc);
/* Adds a health condition (name for logs; up to 16). */
void service_health_add(struct service *svc, const char *name, service_health_fn fn, void *arg);
/* Re-evaluates health and STATUS= now (after a change the daemon knows about). */
void service_health_update(struct service *svc);
/* Logs msg as an error and sets the exit status (2: configuration; 1: anything else). In a step: return -1 next.
 * At run time: the loop stops and the steps are stopped in reverse. */
void service_fail(struct service *svc, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The daemon serves: READY=1, and the MQTT session starts connecting. (Automatic unless def->defer_ready.) */
void service_ready(struct service *svc);
bool service_is_ready(const struct service *svc);
/* Starts the shutdown as SIGTERM does (drain, then stop). */
void service_shutdown(struct service *svc);
/* The drain is done: the loop stops and the steps are stopped. */
void service_drained(struct service *svc);
/* Stops the loop now with this exit status, without a drain (e.g. a --once run that is finished). */
void service_exit(struct service *svc, int status);
/* True once the shutdown began. */
bool service_stopping(const struct service *svc);
/* For long synchronous work on the loop (a start-up scan, a drain): sends WATCHDOG=1 when one is due, so the
 * service manager does not take legitimate work for a stuck loop. Cheap; call it between pieces of the work. */
void service_keepalive(struct service *svc);

#endif
