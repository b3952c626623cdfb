/* checks.c — shared, cached checks and their listeners (see checks.h). An entry lives from its start until
 * cache_us later or its end, whichever is later; its answers are kept as json-c objects, rendered once per answer
 * for streams and once per waiting request at the end. */
#include "checks.h"

#include <json-c/json.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "streams.h"
#include "timeutil.h"
#include "xalloc.h"

struct listener {
    struct check_entry *e;
    struct http_req *r;        /* waiting for the JSON array; NULL once answered */
    struct http_stream *st;    /* streaming; NULL once closed */
    struct client *cl;         /* its checks counter is held while attached */
    struct listener *prev, *next;
};

struct check_entry {
    struct checks *owner;
    char ip[NETADDR_STRLEN];
    bool all, done;
    struct check *c;
    json_object *answers; /* array */
    int healthy;
    int64_t started_us;   /* monotonic */
    struct listener *listeners;
    struct evloop_timer expire_timer;
    struct check_entry *prev, *next;
};

struct checks {
    struct evloop *loop;
    struct live *live;
    struct checks_config cfg;
    struct check_entry *entries;
    size_t n_running;
    struct {
        struct metric *started, *answers, *running;
    } m;
};

static void release(struct listener *ls)
{
    if (ls->cl) ls->cl->checks--;
    ls->cl = NULL;
}

static void unlink_listener(struct listener *ls)
{
    struct check_entry *e = ls->e;
    if (ls->prev) ls->prev->next = ls->next;
    else e->listeners = ls->next;
    if (ls->next) ls->next->prev = ls->prev;
}

static char *done_event(const struct check_entry *e, bool cached, size_t *len)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ip", json_object_new_string(e->ip));
    json_object_object_add(o, "answers", json_object_new_int((int)json_object_array_length(e->answers)));
    json_object_object_add(o, "healthy", json_object_new_int(e->healthy));
    json_object_object_add(o, "cached", json_object_new_boolean(cached));
    const char *j = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *text = sse_event("done", j, strlen(j), len);
    json_object_put(o);
    return text;
}

static void answer_waiting(struct check_entry *e, struct listener *ls, bool cached)
{
    if (cached) http_add_header(ls->r, "X-Ntpmon-Check", "cached");
    http_json(ls->r, MHD_HTTP_OK, json_object_get(e->answers));
    ls->r = NULL;
}

static void on_stream_closed(struct http_stream *st, void *arg)
{
    (void)st;
    struct listener *ls = arg;
    release(ls);
    unlink_listener(ls);
    free(ls);
}

static void entry_free(struct check_entry *e)
{
    struct checks *cs = e->owner;
    evloop_timer_stop(cs->loop, &e->expire_timer);
    if (e->prev) e->prev->next = e->next;
    else cs->entries = e->next;
    if (e->next) e->next->prev = e->prev;
    check_free(e->c);
    json_object_put(e->answers);
    free(e);
}

static void on_expire(struct evloop *loop, void *arg)
{
    (void)loop;
    struct check_entry *e = arg;
    if (!e->done || e->listeners) { /* still in use: look again in a second */
        evloop_timer_start(e->owner->loop, &e->expire_timer, 1000000);
        return;
    }
    entry_free(e);
}

/* The check is over: waiting requests get the array, streams a "done" event and their end. */
static void entry_done(struct check_entry *e)
{
    if (e->done) return;
    e->done = true;
    e->owner->n_running--;
    metric_set(e->owner->m.running, (double)e->owner->n_running);
    size_t len;
    char *done = done_event(e, false, &len);
    struct listener *ls = e->listeners;
    while (ls) {
        struct listener *next = ls->next;
        if (ls->r) {
            answer_waiting(e, ls, false);
            release(ls);
            unlink_listener(ls);
            free(ls);
        } else if (ls->st) {
            http_stream_write(ls->st, done, len);
            http_stream_end(ls->st); /* the listener goes when the stream closes */
            release(ls);
        }
        ls = next;
    }
    free(done);
}

static void on_answer(struct check *c, const struct check_answer *a, void *arg)
{
    (void)c;
    struct check_entry *e = arg;
    metric_inc(e->owner->m.answers);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "monitor", json_object_new_string(a->monitor));
    json_object_object_add(o, "healthy", json_object_new_boolean(a->healthy));
    if (a->result) {
        char *enc = msg_result_encode(a->result);
        json_object *res = enc ? json_tokener_parse(enc) : NULL;
        free(enc);
        json_object_object_add(o, "result", res ? res : json_object_new_null());
    } else {
        json_object_object_add(o, "error", json_object_new_string(a->error ? a->error : "unknown"));
    }
    if (a->healthy) e->healthy++;
    json_object_array_add(e->answers, o);
    bool any_stream = false;
    for (struct listener *ls = e->listeners; ls; ls = ls->next) any_stream |= ls->st != NULL;
    if (!any_stream) return;
    const char *j = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len;
    char *text = sse_event("answer", j, strlen(j), &len);
    for (struct listener *ls = e->listeners; ls; ls = ls->next)
        if (ls->st) http_stream_write(ls->st, text, len);
    free(text);
}

static void on_done(struct check *c, void *arg)
{
    (void)c;
    entry_done(arg);
}

struct checks *checks_new(struct evloop *loop, struct live *live, const struct checks_config *cfg)
{
    struct checks *cs = xcalloc(1, sizeof *cs);
    cs->loop = loop;
    cs->live = live;
    cs->cfg = *cfg;
    cs->m.started = metrics_counter("ntpmon_web_checks_total", "checks started (cache hits excluded)", NULL);
    cs->m.answers = metrics_counter("ntpmon_web_check_answers_total", "monitor answers to checks", NULL);
    cs->m.running = metrics_gauge("ntpmon_web_checks_running", "checks running", NULL);
    return cs;
}

struct check_entry *checks_find(struct checks *cs, const char *ip, bool all)
{
    int64_t now = time_mono_us();
    for (struct check_entry *e = cs->entries; e; e = e->next)
        if (e->all == all && strcmp(e->ip, ip) == 0 && now - e->started_us < cs->cfg.cache_us) return e;
    return NULL;
}

struct check_entry *checks_start(struct checks *cs, const char *ip, bool all, char *err, size_t err_len)
{
    struct check_entry *e = xcalloc(1, sizeof *e);
    e->owner = cs;
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    e->all = all;
    e->answers = json_object_new_array();
    e->started_us = time_mono_us();
    struct check_params p = cs->cfg.params;
    p.all = all;
    struct check_handlers h = {.on_answer = on_answer, .on_done = on_done};
    e->c = check_start(cs->loop, live_mqtt(cs->live), cs->cfg.env, live_roster(cs->live), ip, NULL, &p, &h, e, err,
                       err_len);
    if (!e->c) {
        json_object_put(e->answers);
        free(e);
        return NULL;
    }
    LOG(INFO, "check %s of %s%s started", check_request_id(e->c), ip, all ? " (all monitors)" : "");
    e->next = cs->entries;
    if (e->next) e->next->prev = e;
    cs->entries = e;
    cs->n_running++;
    metric_inc(cs->m.started);
    metric_set(cs->m.running, (double)cs->n_running);
    evloop_timer_init(&e->expire_timer, on_expire, e);
    int64_t keep = cs->cfg.cache_us > p.deadline_us ? cs->cfg.cache_us : p.deadline_us;
    evloop_timer_start(cs->loop, &e->expire_timer, keep);
    return e;
}

void checks_attach(struct checks *cs, struct check_entry *e, struct http_req *r, bool stream)
{
    struct listener *ls = xcalloc(1, sizeof *ls);
    ls->e = e;
    if (!stream) {
        if (e->done) {
            answer_waiting(e, &(struct listener){.e = e, .r = r}, true);
            free(ls);
            return;
        }
        ls->r = r;
        http_defer(r);
    } else {
        ls->st = http_stream_open(r, "text/event-stream; charset=utf-8", cs->cfg.max_backlog, on_stream_closed, ls);
        if (!ls->st) {
            free(ls);
            return;
        }
        /* what the check already has, then whatever comes */
        size_t n = json_object_array_length(e->answers);
        for (size_t i = 0; i < n; i++) {
            const char *j = json_object_to_json_string_ext(json_object_array_get_idx(e->answers, i),
                                                           JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
            size_t len;
            char *text = sse_event("answer", j, strlen(j), &len);
            http_stream_write(ls->st, text, len);
            free(text);
        }
        if (e->done) {
            size_t len;
            char *done = done_event(e, true, &len);
            http_stream_write(ls->st, done, len);
            free(done);
            http_stream_end(ls->st);
        }
    }
    ls->next = e->listeners;
    if (ls->next) ls->next->prev = ls;
    e->listeners = ls;
    if (!e->done) {
        ls->cl = http_client(r);
        if (ls->cl) ls->cl->checks++;
    }
}

void checks_response(struct checks *cs, const char *monitor, const char *request_id, const void *payload, size_t len)
{
    for (struct check_entry *e = cs->entries; e; e = e->next)
        if (!e->done && check_response(e->c, monitor, request_id, payload, len)) return;
}

void checks_finish_all(struct checks *cs)
{
    for (struct check_entry *e = cs->entries; e; e = e->next) {
        if (e->done) continue;
        check_free(e->c); /* no callbacks from it any more */
        e->c = NULL;
        entry_done(e);
    }
}

size_t checks_running(const struct checks *cs) { return cs->n_running; }

void checks_free(struct checks *cs)
{
    if (!cs) return;
    while (cs->entries) {
        struct check_entry *e = cs->entries;
        /* listeners left are streams of connections already closed by the HTTP server's end */
        while (e->listeners) {
            struct listener *ls = e->listeners;
            e->listeners = ls->next;
            free(ls);
        }
        entry_free(e);
    }
    free(cs);
}
