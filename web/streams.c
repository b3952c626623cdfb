/* streams.c — the score streams (see streams.h): streams hang in chained hash buckets by server id, so an event
 * is formatted once and written to exactly the streams of its server (and the every-server ones). */
#include "streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "xalloc.h"

#define BUCKETS 4096

struct stream {
    struct streams *owner;
    struct http_stream *st;
    int64_t server_id;
    struct client *cl;
    struct stream *prev, *next;
};

struct streams {
    struct evloop *loop;
    struct streams_config cfg;
    struct stream *bucket[BUCKETS];
    size_t n;
    struct evloop_timer ping_timer;
    struct {
        struct metric *open, *events, *cut;
    } m;
};

static size_t bucket_of(int64_t id) { return (size_t)((uint64_t)id * 11400714819323198485ULL >> 52) % BUCKETS; }

char *sse_event(const char *event, const char *json, size_t json_len, size_t *len)
{
    size_t elen = strlen(event);
    size_t n = 7 + elen + 7 + json_len + 2; /* "event: " E "\ndata: " JSON "\n\n" */
    char *out = xmalloc(n + 1);
    memcpy(out, "event: ", 7);
    memcpy(out + 7, event, elen);
    memcpy(out + 7 + elen, "\ndata: ", 7);
    memcpy(out + 14 + elen, json, json_len);
    memcpy(out + 14 + elen + json_len, "\n\n", 3);
    *len = n;
    return out;
}

static void on_ping(struct evloop *loop, void *arg)
{
    struct streams *s = arg;
    static const char ping[] = ": ping\n\n";
    for (size_t b = 0; b < BUCKETS; b++)
        for (struct stream *x = s->bucket[b]; x; x = x->next)
            if (http_stream_write(x->st, ping, sizeof ping - 1) < 0) metric_inc(s->m.cut);
    evloop_timer_start(loop, &s->ping_timer, s->cfg.ping_us);
}

struct streams *streams_new(struct evloop *loop, const struct streams_config *cfg)
{
    struct streams *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->cfg = *cfg;
    s->m.open = metrics_gauge("ntpmon_web_streams", "open score streams", NULL);
    s->m.events = metrics_counter("ntpmon_web_stream_events_total", "events written to score streams", NULL);
    s->m.cut = metrics_counter("ntpmon_web_streams_cut_total", "streams cut because the client fell too far behind",
                               NULL);
    evloop_timer_init(&s->ping_timer, on_ping, s);
    evloop_timer_start(loop, &s->ping_timer, cfg->ping_us);
    return s;
}

const char *streams_admit(const struct streams *s, const struct client *cl)
{
    if (s->n >= s->cfg.max_total) return "too many event streams open; try again later";
    if (cl && (size_t)cl->streams >= s->cfg.max_per_client) return "too many event streams from your address";
    return NULL;
}

static void on_closed(struct http_stream *st, void *arg)
{
    (void)st;
    struct stream *x = arg;
    struct streams *s = x->owner;
    if (x->prev) x->prev->next = x->next;
    else s->bucket[bucket_of(x->server_id)] = x->next;
    if (x->next) x->next->prev = x->prev;
    if (x->cl) x->cl->streams--;
    s->n--;
    metric_set(s->m.open, (double)s->n);
    free(x);
}

int streams_open(struct streams *s, struct http_req *r, int64_t server_id, const char *first)
{
    struct stream *x = xcalloc(1, sizeof *x);
    x->owner = s;
    x->server_id = server_id;
    x->st = http_stream_open(r, "text/event-stream; charset=utf-8", s->cfg.max_backlog, on_closed, x);
    if (!x->st) {
        free(x);
        return -1;
    }
    x->cl = http_client(r);
    if (x->cl) x->cl->streams++;
    size_t b = bucket_of(server_id);
    x->next = s->bucket[b];
    if (x->next) x->next->prev = x;
    s->bucket[b] = x;
    s->n++;
    metric_set(s->m.open, (double)s->n);
    char hello[32];
    int n = snprintf(hello, sizeof hello, "retry: %d\n\n", s->cfg.retry_ms);
    http_stream_write(x->st, hello, (size_t)n);
    if (first) http_stream_write(x->st, first, strlen(first));
    return 0;
}

static void send_to(struct streams *s, int64_t id, const char *text, size_t len)
{
    for (struct stream *x = s->bucket[bucket_of(id)]; x; x = x->next) {
        if (x->server_id != id) continue;
        if (http_stream_write(x->st, text, len) < 0) metric_inc(s->m.cut);
        else metric_inc(s->m.events);
    }
}

void streams_publish(struct streams *s, int64_t server_id, const char *event, const char *json, size_t len)
{
    if (s->n == 0) return;
    size_t n;
    char *text = sse_event(event, json, len, &n);
    send_to(s, server_id, text, n);
    if (strcmp(event, "score") == 0 || strcmp(event, "status") == 0) send_to(s, STREAMS_ALL, text, n);
    free(text);
}

void streams_end_all(struct streams *s)
{
    evloop_timer_stop(s->loop, &s->ping_timer);
    for (size_t b = 0; b < BUCKETS; b++)
        for (struct stream *x = s->bucket[b]; x; x = x->next) http_stream_end(x->st);
}

size_t streams_count(const struct streams *s) { return s->n; }

void streams_free(struct streams *s)
{
    if (!s) return;
    evloop_timer_stop(s->loop, &s->ping_timer);
    if (s->n) LOG(WARN, "streams: %zu still registered at exit", s->n);
    free(s);
}
