/* daemon.c — ntpmon-web's steps in the daemon frame (common/service.h): start-up in dependency order, health,
 * drain and teardown in reverse (see daemon.h). */
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clients.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "timeutil.h"

#define DRAIN_POLL_US 50000
#define FLUSH_US 1000000

struct web {
    const struct web_options *o;
    const struct db_dsn *dsn;
    struct service *svc;
    struct evloop *loop;
    struct clients *clients;
    struct dbq *db;
    struct streams *streams;
    struct live *live;
    struct checks *checks;
    struct api *api;
    struct http_server *http;
    bool draining, forced;
    struct evloop_timer expire_timer, drain_timer, deadline_timer;
};

/* ---- glue between the parts ---- */

static void on_event(int64_t server_id, const char *event, const char *json, size_t len, void *arg)
{
    struct web *w = arg;
    streams_publish(w->streams, server_id, event, json, len);
}

static void on_response(const char *monitor, const char *request_id, const void *payload, size_t len, void *arg)
{
    struct web *w = arg;
    checks_response(w->checks, monitor, request_id, payload, len);
}

/* ---- health: what /healthz on --metrics-listen says (the frame asks every --health-interval; the main listener's
 * /healthz asks api_health afresh), and STATUS= ---- */

static const char *health_web(void *arg)
{
    struct web *w = arg;
    static char reason[API_HEALTH_LEN];
    return api_health(w->api, w->draining, reason, sizeof reason) ? NULL : reason;
}

static void status_words(struct service *svc, void *arg, char *buf, size_t len)
{
    (void)svc;
    struct web *w = arg;
    snprintf(buf, len, "%zu requests, %zu streams, %zu checks running", http_pending(w->http),
             streams_count(w->streams), checks_running(w->checks));
}

static void on_expire(struct evloop *loop, void *arg)
{
    struct web *w = arg;
    size_t gone = clients_expire(w->clients, time_mono_us() - w->o->client_idle_us);
    if (gone) LOG(DEBUG, "forgot %zu idle client addresses (%zu known)", gone, clients_count(w->clients));
    evloop_timer_start(loop, &w->expire_timer, w->o->client_idle_us / 4 + 1000000);
}

/* ---- SIGTERM: drain ---- */

static void on_drain_poll(struct evloop *loop, void *arg)
{
    struct web *w = arg;
    if (http_pending(w->http) == 0) {
        service_drained(w->svc);
        return;
    }
    evloop_timer_start(loop, &w->drain_timer, DRAIN_POLL_US);
}

/* The shutdown timeout passed: answer whatever still waits with what there is, give it a moment, stop. */
static void on_drain_deadline(struct evloop *loop, void *arg)
{
    struct web *w = arg;
    if (w->forced) {
        service_drained(w->svc);
        return;
    }
    w->forced = true;
    LOG_ALWAYS(WARN, "shutdown timeout: answering %zu waiting requests now", http_pending(w->http));
    checks_finish_all(w->checks);
    dbq_stop(w->db);
    evloop_timer_start(loop, &w->deadline_timer, FLUSH_US);
}

/* SIGTERM/SIGINT (a second one stops at once: the frame's): no new connections, streams ended, waiting requests
 * answered, within the shutdown timeout. */
static void drain(struct service *svc, void *arg)
{
    (void)svc;
    struct web *w = arg;
    w->draining = true;
    LOG_ALWAYS(INFO, "draining (%zu requests, %zu streams, %zu checks running)", http_pending(w->http),
               streams_count(w->streams), checks_running(w->checks));
    service_health_update(w->svc);
    http_quiesce(w->http);
    streams_end_all(w->streams);
    evloop_timer_start(w->loop, &w->drain_timer, 0);
    evloop_timer_start(w->loop, &w->deadline_timer, w->o->shutdown_timeout_us);
}

/* ---- the steps, in dependency order (the frame stops them in reverse) ---- */

static int clients_start(struct service *svc, void *arg)
{
    struct web *w = arg;
    w->loop = service_loop(svc);
    evloop_timer_init(&w->expire_timer, on_expire, w);
    evloop_timer_init(&w->drain_timer, on_drain_poll, w);
    evloop_timer_init(&w->deadline_timer, on_drain_deadline, w);
    w->clients = clients_new();
    evloop_timer_start(w->loop, &w->expire_timer, w->o->client_idle_us);
    return 0;
}

static void clients_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct web *w = arg;
    evloop_timer_stop(w->loop, &w->expire_timer);
    evloop_timer_stop(w->loop, &w->drain_timer);
    evloop_timer_stop(w->loop, &w->deadline_timer);
    clients_free(w->clients);
}

static int db_start(struct service *svc, void *arg)
{
    struct web *w = arg;
    char err[512];
    w->db = dbq_start(w->loop, w->dsn, &w->o->dbq, err, sizeof err);
    if (!w->db) {
        service_fail(svc, 1, "%s", err);
        return -1;
    }
    return 0;
}

static void db_stop(struct service *svc, void *arg)
{
    (void)svc;
    dbq_free(((struct web *)arg)->db);
}

static int streams_start(struct service *svc, void *arg)
{
    (void)svc;
    struct web *w = arg;
    w->streams = streams_new(w->loop, &w->o->streams);
    return 0;
}

static void streams_stop(struct service *svc, void *arg)
{
    (void)svc;
    streams_free(((struct web *)arg)->streams);
}

static int live_step_start(struct service *svc, void *arg)
{
    struct web *w = arg;
    char err[512];
    struct live_handlers lh = {.on_event = on_event, .on_response = on_response};
    w->live = live_start(w->loop, w->db, &w->o->live, &lh, w, err, sizeof err);
    if (!w->live) {
        service_fail(svc, 2, "%s", err);
        return -1;
    }
    return 0;
}

/* The database workers' last answers may still call into the directory: they are drained first (the listener's
 * stop did it already when the listener had started). */
static void live_step_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct web *w = arg;
    dbq_stop(w->db);
    live_free(w->live);
}

static int checks_step_start(struct service *svc, void *arg)
{
    (void)svc;
    struct web *w = arg;
    w->checks = checks_new(w->loop, w->live, &w->o->checks);
    return 0;
}

static void checks_step_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct web *w = arg;
    checks_finish_all(w->checks); /* nothing waits for them any more */
    checks_free(w->checks);
}

static int api_start(struct service *svc, void *arg)
{
    struct web *w = arg;
    w->api = api_new(&w->o->api, w->loop, w->live, w->db, w->streams, w->checks);
    service_health_add(svc, "web", health_web, w);
    return 0;
}

static void api_stop(struct service *svc, void *arg)
{
    (void)svc;
    api_free(((struct web *)arg)->api);
}

static int http_step_start(struct service *svc, void *arg)
{
    struct web *w = arg;
    char err[512];
    w->http = http_start(w->loop, w->clients, &w->o->http, api_handle, w->api, err, sizeof err);
    if (!w->http) {
        service_fail(svc, 2, "%s", err);
        return -1;
    }
    LOG_ALWAYS(INFO, "serving http://%s/ (env %s)", w->o->http.listen, w->o->live.env);
    return 0;
}

/* Nothing may still wait for a check or a query when the listener goes. */
static void http_step_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct web *w = arg;
    checks_finish_all(w->checks);
    dbq_stop(w->db);
    http_free(w->http);
}

static const struct service_step steps[] = {
    SERVICE_STEP_METRICS,
    {"clients", clients_start, clients_stop},
    {"database workers", db_start, db_stop},
    {"streams", streams_start, streams_stop},
    {"broker and directory", live_step_start, live_step_stop},
    {"checks", checks_step_start, checks_step_stop},
    {"endpoints", api_start, api_stop},
    {"listener", http_step_start, http_step_stop},
    {0},
};

int web_run(const struct web_options *o, const struct db_dsn *dsn, const struct opts_metrics *metrics)
{
    static struct web w;
    w = (struct web){.o = o, .dsn = dsn};
    const struct service_def def = {
        .name = "ntpmon-web", .steps = steps, .arg = &w, .drain = drain, .status = status_words,
        /* the drain's own deadline answers what waits, then gives it FLUSH_US; the frame's is a backstop */
        .shutdown_timeout_us = o->shutdown_timeout_us + FLUSH_US + 1000000};
    w.svc = service_new(&def);
    service_set_metrics(w.svc, metrics);
    return service_run(w.svc);
}
