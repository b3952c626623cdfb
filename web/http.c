/* http.c — libmicrohttpd on the evloop, the connection guards and the request/response plumbing (see http.h).
 *
 * MHD runs in "external epoll" mode: no thread of its own; its epoll fd sits in our loop. Each connection gets a
 * guard (MHD_OPTION_NOTIFY_CONNECTION) holding its socket, peer and current deadline; a sweep timer shuts down the
 * socket of any connection past its deadline, which MHD then sees as a closed connection and cleans up — MHD's own
 * timeout only measures idleness, so a client dripping one byte a second would otherwise hold a slot for ever.
 * Deadlines: from accept (and after each response) the next request must be complete within request_deadline;
 * while we work on it (deferred, streaming) there is none; a queued response must be taken within
 * response_deadline. Deferred requests are suspended (MHD_suspend_connection) and answered later by queueing on
 * the suspended connection and resuming it; streams suspend themselves when they have nothing to send. */
#include "http.h"

#include <errno.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "xalloc.h"

#define MAX_HEADERS 12
#define SWEEP_US 250000
#define STREAM_BLOCK 4096

struct guard {
    struct http_server *s;
    int fd;
    struct netaddr peer;
    struct client *peer_client; /* NULL for a trusted proxy (not limited per address) */
    int64_t deadline_us;        /* monotonic; 0: none */
    struct guard *prev, *next;
};

struct http_req {
    struct http_server *s;
    struct MHD_Connection *conn;
    struct guard *guard;
    const char *method, *url; /* MHD's, valid for the request */
    struct netaddr client_addr;
    struct client *client;
    char *body;
    size_t body_len;
    bool too_large, in_handler, deferred, suspended, answered, streaming;
    unsigned status;
    struct MHD_Response *resp;
    size_t n_headers;
    char *headers[MAX_HEADERS][2];
};

struct http_stream {
    struct http_server *s;
    struct MHD_Connection *conn;
    char *buf;
    size_t len, off, cap, max;
    bool suspended, ended, failed;
    http_stream_closed on_closed;
    void *arg;
    struct http_stream *prev, *next; /* every live stream, so none is left suspended at the end */
};

struct http_server {
    struct evloop *loop;
    struct clients *clients;
    struct http_config cfg;
    struct netaddr *trusted;
    unsigned *trusted_bits;
    struct MHD_Daemon *d;
    int epfd;
    bool quiescing;
    http_handler handler;
    void *arg;
    struct evloop_timer run_timer, sweep_timer;
    struct guard *guards; /* every open connection */
    struct http_stream *streams;
    size_t n_conns, n_pending;
    struct {
        struct metric *conns, *requests, *s2xx, *s3xx, *s4xx, *s5xx, *cut_deadline, *refused_per_client;
    } m;
};

/* ---- running MHD on the loop ---- */

static void run_mhd(struct http_server *s)
{
    MHD_run(s->d);
    MHD_UNSIGNED_LONG_LONG ms;
    if (MHD_get_timeout(s->d, &ms) == MHD_YES) evloop_timer_start(s->loop, &s->run_timer, (int64_t)ms * 1000);
    else evloop_timer_stop(s->loop, &s->run_timer);
}

static void on_epoll(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    run_mhd(arg);
}

static void on_run_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    run_mhd(arg);
}

/* After a resume outside MHD's callbacks: let MHD look at the connection from the loop. */
static void kick(struct http_server *s) { evloop_timer_start(s->loop, &s->run_timer, 0); }

/* ---- guards ---- */

static bool is_trusted(const struct http_server *s, const struct netaddr *a)
{
    for (size_t i = 0; i < s->cfg.n_trusted; i++)
        if (netaddr_same_prefix(a, &s->trusted[i], s->trusted_bits[i])) return true;
    return false;
}

static void peer_of(struct MHD_Connection *conn, struct netaddr *out)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    memset(out, 0, sizeof *out);
    if (ci && ci->client_addr) netaddr_from_sockaddr(ci->client_addr, out);
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    struct http_server *s = cls;
    struct netaddr a;
    netaddr_from_sockaddr(addr, &a);
    if (is_trusted(s, &a)) return MHD_YES;
    struct client *cl = clients_find(s->clients, &a);
    if (cl && cl->conns >= (int)s->cfg.max_connections_per_client) {
        metric_inc(s->m.refused_per_client);
        LOG(INFO, "http: refusing a connection from %s: %d open already", cl->text, cl->conns);
        return MHD_NO;
    }
    return MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct http_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct guard *g = xcalloc(1, sizeof *g);
        g->s = s;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        g->fd = ci ? ci->connect_fd : -1;
        peer_of(conn, &g->peer);
        if (!is_trusted(s, &g->peer)) {
            g->peer_client = clients_get(s->clients, &g->peer, time_mono_us());
            g->peer_client->conns++;
        }
        g->deadline_us = time_mono_us() + s->cfg.request_deadline_us;
        g->next = s->guards;
        if (s->guards) s->guards->prev = g;
        s->guards = g;
        s->n_conns++;
        metric_set(s->m.conns, (double)s->n_conns);
        *socket_context = g;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct guard *g = *socket_context;
        if (!g) return;
        if (g->peer_client) g->peer_client->conns--;
        if (g->prev) g->prev->next = g->next;
        else s->guards = g->next;
        if (g->next) g->next->prev = g->prev;
        s->n_conns--;
        metric_set(s->m.conns, (double)s->n_conns);
        free(g);
        *socket_context = NULL;
    }
}

static void on_sweep(struct evloop *loop, void *arg)
{
    struct http_server *s = arg;
    int64_t now = time_mono_us();
    for (struct guard *g = s->guards; g; g = g->next) {
        if (g->deadline_us && now > g->deadline_us && g->fd >= 0) {
            char who[NETADDR_STRLEN];
            netaddr_format(&g->peer, who);
            LOG(INFO, "http: closing a connection from %s: it missed its deadline", who);
            metric_inc(s->m.cut_deadline);
            shutdown(g->fd, SHUT_RDWR); /* MHD sees the close and frees the connection */
            g->deadline_us = 0;
        }
    }
    evloop_timer_start(loop, &s->sweep_timer, SWEEP_US);
}

/* ---- requests ---- */

struct xff_walk {
    char joined[1024];
    size_t len;
};

static enum MHD_Result collect_xff(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct xff_walk *w = cls;
    if (strcasecmp(key, "X-Forwarded-For") != 0 || !value) return MHD_YES;
    int n = snprintf(w->joined + w->len, sizeof w->joined - w->len, "%s%s", w->len ? "," : "", value);
    if (n > 0) w->len += (size_t)n;
    if (w->len >= sizeof w->joined) w->len = sizeof w->joined - 1;
    return MHD_YES;
}

/* The client behind trusted proxies: walk X-Forwarded-For from the right, skipping trusted hops; the first
 * untrusted address is the client. An unreadable entry stops the walk at the last good hop. */
static void resolve_client(struct http_server *s, struct MHD_Connection *conn, const struct netaddr *peer,
                           struct netaddr *out)
{
    *out = *peer;
    if (!is_trusted(s, peer)) return;
    struct xff_walk w = {.len = 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_xff, &w);
    if (w.len == 0) return;
    char *end = w.joined + w.len;
    while (end > w.joined) {
        char *start = end;
        while (start > w.joined && start[-1] != ',') start--;
        char item[NETADDR_STRLEN + 2];
        const char *b = start, *e = end;
        while (b < e && (*b == ' ' || *b == '\t')) b++;
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
        struct netaddr a;
        if ((size_t)(e - b) >= sizeof item) return;
        memcpy(item, b, (size_t)(e - b));
        item[e - b] = '\0';
        if (netaddr_parse(item, &a) < 0) return;
        *out = a;
        if (!is_trusted(s, &a)) return;
        end = start > w.joined ? start - 1 : w.joined;
    }
}

static void count_status(struct http_server *s, unsigned status)
{
    metric_inc(s->m.requests);
    if (status < 300) metric_inc(s->m.s2xx);
    else if (status < 400) metric_inc(s->m.s3xx);
    else if (status < 500) metric_inc(s->m.s4xx);
    else metric_inc(s->m.s5xx);
}

static void add_standard_headers(struct http_req *r, struct MHD_Response *resp)
{
    bool has_cache = false;
    for (size_t i = 0; i < r->n_headers; i++) {
        MHD_add_response_header(resp, r->headers[i][0], r->headers[i][1]);
        if (strcasecmp(r->headers[i][0], "Cache-Control") == 0) has_cache = true;
    }
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (!has_cache) MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (r->s->quiescing) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* Hands the prepared response to MHD: at once inside the access handler, else on the suspended connection. */
static void deliver(struct http_req *r)
{
    struct http_server *s = r->s;
    if (r->in_handler) return; /* the access handler queues it when the handler returns */
    if (MHD_queue_response(r->conn, r->status, r->resp) != MHD_YES)
        LOG(WARN, "http: could not queue a %u response for %s", r->status, r->url);
    MHD_destroy_response(r->resp);
    r->resp = NULL;
    if (r->guard && !r->streaming) r->guard->deadline_us = time_mono_us() + s->cfg.response_deadline_us;
    if (r->suspended) {
        r->suspended = false;
        MHD_resume_connection(r->conn);
        kick(s);
    }
}

static void prepare(struct http_req *r, unsigned status, struct MHD_Response *resp)
{
    if (r->answered) { /* a second answer is our bug: keep the first */
        LOG(ERROR, "http: a second response (%u) for %s %s was dropped", status, r->method, r->url);
        MHD_destroy_response(resp);
        return;
    }
    r->answered = true;
    r->status = status;
    r->resp = resp;
    add_standard_headers(r, resp);
    count_status(r->s, status);
    deliver(r);
}

void http_add_header(struct http_req *r, const char *name, const char *value)
{
    if (r->n_headers == MAX_HEADERS) return;
    r->headers[r->n_headers][0] = xstrdup(name);
    r->headers[r->n_headers][1] = xstrdup(value);
    r->n_headers++;
}

void http_respond(struct http_req *r, unsigned status, const char *content_type, const void *body, size_t len,
                  enum http_mem mem)
{
    enum MHD_ResponseMemoryMode mode =
        mem == HTTP_STATIC ? MHD_RESPMEM_PERSISTENT : mem == HTTP_TAKE ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!resp) {
        if (mem == HTTP_TAKE) free((void *)body);
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    prepare(r, status, resp);
}

void http_json(struct http_req *r, unsigned status, struct json_object *o)
{
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    http_respond(r, status, "application/json", text, strlen(text), HTTP_COPY);
    json_object_put(o);
}

void http_error(struct http_req *r, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(msg));
    http_json(r, status, o);
}

void http_defer(struct http_req *r) { r->deferred = true; }

const char *http_method(const struct http_req *r) { return r->method; }
const char *http_path(const struct http_req *r) { return r->url; }
const char *http_arg(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}
const char *http_header(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}
const char *http_body(const struct http_req *r, size_t *len)
{
    if (len) *len = r->body_len;
    return r->body ? r->body : "";
}
struct client *http_client(const struct http_req *r) { return r->client; }
bool http_quiescing(const struct http_req *r) { return r->s->quiescing; }

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct http_req *r = *con_cls;
    if (!r) { /* the headers are in */
        r = xcalloc(1, sizeof *r);
        r->s = s;
        r->conn = conn;
        r->url = url;
        r->method = method;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r->guard = ci ? ci->socket_context : NULL;
        struct netaddr peer;
        if (r->guard) peer = r->guard->peer;
        else peer_of(conn, &peer);
        resolve_client(s, conn, &peer, &r->client_addr);
        r->client = clients_get(s->clients, &r->client_addr, time_mono_us());
        r->client->requests++;
        s->n_pending++;
        *con_cls = r;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body) {
            r->in_handler = true;
            http_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes", s->cfg.max_body);
            r->in_handler = false;
            enum MHD_Result ok = MHD_queue_response(conn, r->status, r->resp);
            MHD_destroy_response(r->resp);
            r->resp = NULL;
            return ok;
        }
        return MHD_YES;
    }
    if (r->answered) { /* answered early (413): drop whatever body still comes */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (r->body_len + *upload_size > s->cfg.max_body) {
            r->too_large = true;
        } else {
            r->body = xrealloc(r->body, r->body_len + *upload_size + 1);
            memcpy(r->body + r->body_len, upload_data, *upload_size);
            r->body_len += *upload_size;
            r->body[r->body_len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* the whole request is in: no deadline while we work on it */
    if (r->guard) r->guard->deadline_us = 0;
    r->in_handler = true;
    if (r->too_large) http_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request body over %zu bytes", s->cfg.max_body);
    else if (s->quiescing) http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
    else s->handler(r, s->arg);
    r->in_handler = false;
    if (r->resp) {
        enum MHD_Result ok = MHD_queue_response(conn, r->status, r->resp);
        MHD_destroy_response(r->resp);
        r->resp = NULL;
        if (r->guard && !r->streaming) r->guard->deadline_us = time_mono_us() + s->cfg.response_deadline_us;
        return ok;
    }
    if (r->deferred) {
        r->suspended = true;
        MHD_suspend_connection(conn);
        return MHD_YES;
    }
    LOG(ERROR, "http: no answer for %s %s", method, url);
    r->in_handler = true;
    http_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error");
    r->in_handler = false;
    enum MHD_Result ok = MHD_queue_response(conn, r->status, r->resp);
    MHD_destroy_response(r->resp);
    r->resp = NULL;
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct http_server *s = cls;
    struct http_req *r = *con_cls;
    if (!r) return;
    if (r->resp) MHD_destroy_response(r->resp);
    /* keep-alive: the next request must arrive within the request deadline */
    if (r->guard) r->guard->deadline_us = time_mono_us() + s->cfg.request_deadline_us;
    r->client->requests--;
    s->n_pending--;
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i][0]);
        free(r->headers[i][1]);
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* ---- streams ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct http_stream *st = cls;
    if (st->failed) return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t avail = st->len - st->off;
    if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(out, st->buf + st->off, n);
        st->off += n;
        if (st->off == st->len) {
            st->off = st->len = 0;
            if (st->cap > 4 * STREAM_BLOCK) { /* a burst is over: give the memory back */
                free(st->buf);
                st->buf = NULL;
                st->cap = 0;
            }
        }
        return (ssize_t)n;
    }
    if (st->ended) return MHD_CONTENT_READER_END_OF_STREAM;
    st->suspended = true;
    MHD_suspend_connection(st->conn);
    return 0;
}

static void stream_free(void *cls)
{
    struct http_stream *st = cls;
    if (st->prev) st->prev->next = st->next;
    else st->s->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    if (st->on_closed) st->on_closed(st, st->arg);
    free(st->buf);
    free(st);
}

static void stream_wake(struct http_stream *st)
{
    if (!st->suspended) return;
    st->suspended = false;
    MHD_resume_connection(st->conn);
    kick(st->s);
}

struct http_stream *http_stream_open(struct http_req *r, const char *content_type, size_t max_backlog,
                                     http_stream_closed on_closed, void *arg)
{
    struct http_stream *st = xcalloc(1, sizeof *st);
    st->s = r->s;
    st->conn = r->conn;
    st->max = max_backlog;
    st->on_closed = on_closed;
    st->arg = arg;
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, st, stream_free);
    if (!resp) {
        free(st);
        http_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        return NULL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "X-Accel-Buffering", "no"); /* nginx: pass events through at once */
    st->next = r->s->streams;
    if (st->next) st->next->prev = st;
    r->s->streams = st;
    r->streaming = true;
    prepare(r, MHD_HTTP_OK, resp);
    return st;
}

int http_stream_write(struct http_stream *st, const void *data, size_t len)
{
    if (st->ended || st->failed) return -1;
    if (st->len - st->off + len > st->max) {
        st->failed = true; /* a client that does not read is cut, not buffered for */
        stream_wake(st);
        return -1;
    }
    if (st->len + len > st->cap) {
        if (st->off) { /* compact first */
            memmove(st->buf, st->buf + st->off, st->len - st->off);
            st->len -= st->off;
            st->off = 0;
        }
        if (st->len + len > st->cap) {
            size_t cap = st->cap ? st->cap : 512;
            while (cap < st->len + len) cap *= 2;
            st->buf = xrealloc(st->buf, cap);
            st->cap = cap;
        }
    }
    memcpy(st->buf + st->len, data, len);
    st->len += len;
    stream_wake(st);
    return 0;
}

void http_stream_end(struct http_stream *st)
{
    st->ended = true;
    stream_wake(st);
}

/* ---- the server ---- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    /* a client that went away is normal for streams; anything else is worth a line */
    bool client_gone = strstr(line, "no longer available") || strstr(line, "Connection reset");
    if (client_gone) LOG(DEBUG, "http: libmicrohttpd: %s", line);
    else LOG(INFO, "http: libmicrohttpd: %s", line);
}

struct http_server *http_start(struct evloop *loop, struct clients *clients, const struct http_config *cfg,
                               http_handler handler, void *arg, char *err, size_t err_len)
{
    struct sockaddr_storage ss;
    socklen_t ss_len;
    uint16_t port;
    if (netaddr_parse_listen(cfg->listen, &ss, &ss_len, &port, err, err_len) < 0) return NULL;
    struct http_server *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->clients = clients;
    s->cfg = *cfg;
    s->trusted = xcalloc(cfg->n_trusted + 1, sizeof *s->trusted);
    s->trusted_bits = xcalloc(cfg->n_trusted + 1, sizeof *s->trusted_bits);
    memcpy(s->trusted, cfg->trusted, cfg->n_trusted * sizeof *s->trusted);
    memcpy(s->trusted_bits, cfg->trusted_bits, cfg->n_trusted * sizeof *s->trusted_bits);
    s->cfg.trusted = s->trusted;
    s->cfg.trusted_bits = s->trusted_bits;
    s->handler = handler;
    s->arg = arg;
    s->m.conns = metrics_gauge("ntpmon_web_connections", "open HTTP connections", NULL);
    s->m.requests = metrics_counter("ntpmon_web_requests_total", "HTTP requests answered", NULL);
    s->m.s2xx = metrics_counter("ntpmon_web_responses_total", "HTTP responses by status class", "class=\"2xx\"");
    s->m.s3xx = metrics_counter("ntpmon_web_responses_total", "HTTP responses by status class", "class=\"3xx\"");
    s->m.s4xx = metrics_counter("ntpmon_web_responses_total", "HTTP responses by status class", "class=\"4xx\"");
    s->m.s5xx = metrics_counter("ntpmon_web_responses_total", "HTTP responses by status class", "class=\"5xx\"");
    s->m.cut_deadline = metrics_counter("ntpmon_web_deadline_closed_total",
                                        "connections closed for missing the request or response deadline", NULL);
    s->m.refused_per_client = metrics_counter("ntpmon_web_refused_connections_total",
                                              "connections refused for the per-address limit", NULL);
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(flags, port, on_accept, s, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->idle_timeout_s,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                            (unsigned int)1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    if (!s->d) {
        snprintf(err, err_len, "cannot listen on %s: %s", cfg->listen, errno ? strerror(errno) : "address in use?");
        free(s->trusted);
        free(s->trusted_bits);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
    s->epfd = di ? di->epoll_fd : -1;
    evloop_fd_set(loop, s->epfd, EVLOOP_READ, on_epoll, s);
    evloop_timer_init(&s->run_timer, on_run_timer, s);
    evloop_timer_init(&s->sweep_timer, on_sweep, s);
    evloop_timer_start(loop, &s->sweep_timer, SWEEP_US);
    kick(s);
    return s;
}

void http_quiesce(struct http_server *s)
{
    if (s->quiescing) return;
    s->quiescing = true;
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    kick(s);
}

size_t http_pending(const struct http_server *s) { return s->n_pending; }

void http_free(struct http_server *s)
{
    if (!s) return;
    evloop_timer_stop(s->loop, &s->run_timer);
    evloop_timer_stop(s->loop, &s->sweep_timer);
    evloop_fd_remove(s->loop, s->epfd);
    /* MHD must not be stopped with suspended connections */
    for (struct http_stream *st = s->streams; st; st = st->next) {
        st->failed = true;
        if (st->suspended) {
            st->suspended = false;
            MHD_resume_connection(st->conn);
        }
    }
    MHD_stop_daemon(s->d);
    free(s->trusted);
    free(s->trusted_bits);
    free(s);
}
