/* http.h — ntpmon-web's HTTP layer: libmicrohttpd driven from the daemon's evloop (MHD's epoll fd is watched by the
 * loop, MHD_run runs on readiness and when MHD_get_timeout says), with the guards a public listener needs: a cap on
 * connections, a per-address connection limit (trusted proxies exempt), a deadline for receiving each request and
 * one for sending each response (slow clients are cut, not waited for), an idle timeout and a body limit. It works
 * out the client's address (X-Forwarded-For only from --trusted-proxy) and hands each complete request to one
 * handler, which answers at once, later (deferred: the connection is suspended meanwhile), or with a stream. */
#ifndef NTPMON_WEB_HTTP_H
#define NTPMON_WEB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clients.h"
#include "evloop.h"
#include "netaddr.h"

struct json_object;

struct http_config {
    const char *listen;                   /* ADDR:PORT */
    unsigned max_connections;             /* all clients together */
    unsigned max_connections_per_client;  /* per TCP peer address (IPv6: /64), trusted proxies exempt */
    int64_t request_deadline_us;          /* a request (headers and body) must arrive within this */
    int64_t response_deadline_us;         /* a response (not a stream) must be taken within this */
    unsigned idle_timeout_s;              /* no byte moved for this long: closed */
    size_t max_body;                      /* larger request bodies get 413 */
    const struct netaddr *trusted;        /* --trusted-proxy prefixes */
    const unsigned *trusted_bits;
    size_t n_trusted;
};

struct http_server;
struct http_req;
typedef void (*http_handler)(struct http_req *r, void *arg);

/* Listens and starts serving on the loop; NULL with a reason in err. */
struct http_server *http_start(struct evloop *loop, struct clients *clients, const struct http_config *cfg,
                               http_handler handler, void *arg, char *err, size_t err_len);
/* Stops accepting connections (SIGTERM); requests still arriving on open connections get 503. */
void http_quiesce(struct http_server *s);
/* Requests received and not yet finished (deferred, streaming or still sending). */
size_t http_pending(const struct http_server *s);
/* Closes every connection and frees the server (every deferred request must have been answered). */
void http_free(struct http_server *s);

/* ---- the request ---- */
const char *http_method(const struct http_req *r);
const char *http_path(const struct http_req *r);
/* A query argument (decoded), or NULL. */
const char *http_arg(const struct http_req *r, const char *name);
/* A request header, or NULL. */
const char *http_header(const struct http_req *r, const char *name);
/* The request body (NUL-terminated; len may be NULL); "" when none. */
const char *http_body(const struct http_req *r, size_t *len);
/* The client's table entry (by its address: X-Forwarded-For resolved when the peer is a trusted proxy). */
struct client *http_client(const struct http_req *r);
/* True while the server is shutting down. */
bool http_quiescing(const struct http_req *r);

/* ---- answering: every request gets exactly one response or stream ---- */
enum http_mem { HTTP_STATIC, HTTP_COPY, HTTP_TAKE /* a malloc'd buffer, freed by the server */ };
/* Adds a header to the coming response (up to 12). */
void http_add_header(struct http_req *r, const char *name, const char *value);
void http_respond(struct http_req *r, unsigned status, const char *content_type, const void *body, size_t len,
                  enum http_mem mem);
/* {"error":"…"} with the status. */
void http_error(struct http_req *r, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A JSON document (consumes o). */
void http_json(struct http_req *r, unsigned status, struct json_object *o);
/* Called from the handler: the answer comes later, from the loop; the connection waits suspended. */
void http_defer(struct http_req *r);

/* ---- streams (Server-Sent Events and streamed check answers) ---- */
struct http_stream;
/* Closed: the client went away, the backlog overflowed, or the stream ended and was sent. Called once; the stream
 * is freed right after. */
typedef void (*http_stream_closed)(struct http_stream *st, void *arg);
/* Answers r with a 200 stream of content_type; at most max_backlog bytes may wait for a slow client. */
struct http_stream *http_stream_open(struct http_req *r, const char *content_type, size_t max_backlog,
                                     http_stream_closed on_closed, void *arg);
/* Queues bytes; -1 when the backlog would overflow (the stream is then cut) or it has ended. */
int http_stream_write(struct http_stream *st, const void *data, size_t len);
/* Ends the stream after what is queued. */
void http_stream_end(struct http_stream *st);

#endif
