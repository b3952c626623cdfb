/* daemon.c — ntpmon-web's start-up, health, drain and teardown (see daemon.h). */
#include "daemon.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clients.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define HEALTH_US 1000000
#define DRAIN_POLL_US 50000
#define FLUSH_US 1000000

struct web {
    const struct web_options *o;
    struct evloop *loop;
    struct clients *clients;
    struct dbq *db;
    struct streams *streams;
    struct live *live;
    struct checks *checks;
    struct api *api;
    struct http_server *http;
    bool draining, forced;
    struct evloop_timer health_timer, expire_timer, drain_timer, deadline_timer;
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

/* ---- health: what /healthz says (also on --metrics-listen) ---- */

static void update_health(struct web *w)
{
    char reason[API_HEALTH_LEN];
    bool ok = api_health(w->api, w->draining, reason, sizeof reason);
    metrics_set_health(ok, reason);
}

static void on_health(struct evloop *loop, void *arg)
{
    struct web *w = arg;
    update_health(w);
    evloop_timer_start(loop, &w->health_timer, HEALTH_US);
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
        evloop_stop(loop);
        return;
    }
    evloop_timer_start(loop, &w->drain_timer, DRAIN_POLL_US);
}

/* The shutdown timeout passed: answer whatever still waits with what there is, give it a moment, stop. */
static void on_drain_deadline(struct evloop *loop, void *arg)
{
    struct web *w = arg;
    if (w->forced) {
        evloop_stop(loop);
        return;
    }
    w->forced = true;
    LOG_ALWAYS(WARN, "shutdown timeout: answering %zu waiting requests now", http_pending(w->http));
    checks_finish_all(w->checks);
    dbq_stop(w->db);
    evloop_timer_start(loop, &w->deadline_timer, FLUSH_US);
}

static void on_signal(struct evloop *loop, int signo, void *arg)
{
    struct web *w = arg;
    if (w->draining) { /* a second signal: stop now */
        evloop_stop(loop);
        return;
    }
    w->draining = true;
    LOG_ALWAYS(INFO, "%s: draining (%zu requests, %zu streams, %zu checks running)",
               signo == SIGTERM ? "SIGTERM" : "SIGINT", http_pending(w->http), streams_count(w->streams),
               checks_running(w->checks));
    update_health(w);
    http_quiesce(w->http);
    streams_end_all(w->streams);
    evloop_timer_start(loop, &w->drain_timer, 0);
    evloop_timer_start(loop, &w->deadline_timer, w->o->shutdown_timeout_us);
}

/* ---- start and stop, in order ---- */

static void teardown(struct web *w)
{
    if (w->loop) {
        evloop_timer_stop(w->loop, &w->health_timer);
        evloop_timer_stop(w->loop, &w->expire_timer);
        evloop_timer_stop(w->loop, &w->drain_timer);
        evloop_timer_stop(w->loop, &w->deadline_timer);
    }
    /* nothing may still wait for a check or a query when the listener goes */
    if (w->checks) checks_finish_all(w->checks);
    if (w->db) dbq_stop(w->db);
    http_free(w->http);
    api_free(w->api);
    checks_free(w->checks);
    live_free(w->live);
    streams_free(w->streams);
    dbq_free(w->db);
    clients_free(w->clients);
    evloop_free(w->loop);
}

int web_run(const struct web_options *o, const struct db_dsn *dsn)
{
    struct web w = {.o = o};
    char err[512];
    evloop_timer_init(&w.health_timer, on_health, &w);
    evloop_timer_init(&w.expire_timer, on_expire, &w);
    evloop_timer_init(&w.drain_timer, on_drain_poll, &w);
    evloop_timer_init(&w.deadline_timer, on_drain_deadline, &w);
    w.loop = evloop_new();
    if (!w.loop) {
        LOG_ALWAYS(ERROR, "cannot create the event loop");
        return 1;
    }
    evloop_signal(w.loop, SIGTERM, on_signal, &w);
    evloop_signal(w.loop, SIGINT, on_signal, &w);
    w.clients = clients_new();
    w.db = dbq_start(w.loop, dsn, &o->dbq, err, sizeof err);
    if (!w.db) {
        LOG_ALWAYS(ERROR, "%s", err);
        teardown(&w);
        return 1;
    }
    w.streams = streams_new(w.loop, &o->streams);
    struct live_handlers lh = {.on_event = on_event, .on_response = on_response};
    w.live = live_start(w.loop, w.db, &o->live, &lh, &w, err, sizeof err);
    if (!w.live) {
        LOG_ALWAYS(ERROR, "%s", err);
        teardown(&w);
        return 2;
    }
    w.checks = checks_new(w.loop, w.live, &o->checks);
    w.api = api_new(&o->api, w.loop, w.live, w.db, w.streams, w.checks);
    w.http = http_start(w.loop, w.clients, &o->http, api_handle, w.api, err, sizeof err);
    if (!w.http) {
        LOG_ALWAYS(ERROR, "%s", err);
        teardown(&w);
        return 2;
    }
    LOG_ALWAYS(INFO, "serving http://%s/ (env %s)", o->http.listen, o->live.env);
    evloop_timer_start(w.loop, &w.health_timer, 0);
    evloop_timer_start(w.loop, &w.expire_timer, o->client_idle_us);
    int rc = evloop_run(w.loop) < 0 ? 1 : 0;
    teardown(&w);
    LOG_ALWAYS(INFO, "stopped");
    return rc;
}
