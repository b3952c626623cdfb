/* streams.h — Server-Sent Event streams of scores: one server's (/api/server/scores/{ip|id}/stream: score, status,
 * selection and result events) or every server's (/api/scores/stream: score and status events). Each stream
 * starts with a retry hint and the retained score, gets every event for its server as it arrives, and a ": ping"
 * comment every ping interval — which is also how a vanished client is noticed and freed. Caps: streams in total
 * and per client address (the caller checks them with streams_admit). */
#ifndef NTPMON_WEB_STREAMS_H
#define NTPMON_WEB_STREAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clients.h"
#include "evloop.h"
#include "http.h"

#define STREAMS_ALL 0 /* the server id of the every-server stream */

struct streams_config {
    size_t max_total, max_per_client;
    int64_t ping_us;
    size_t max_backlog; /* bytes a slow client may fall behind before it is cut */
    int retry_ms;       /* the reconnect delay suggested to EventSource */
};

struct streams;
struct streams *streams_new(struct evloop *loop, const struct streams_config *cfg);
/* NULL when a new stream for this client may be opened, else why not (for a 503). */
const char *streams_admit(const struct streams *s, const struct client *cl);
/* Answers r with a stream of server_id (STREAMS_ALL: every server); `first` (may be NULL) is written before
 * anything else, as SSE text. 0, or -1 when the stream could not be opened (r was answered with an error). */
int streams_open(struct streams *s, struct http_req *r, int64_t server_id, const char *first);
/* Sends an event to the streams of server_id, and score/status events also to the every-server streams. */
void streams_publish(struct streams *s, int64_t server_id, const char *event, const char *json, size_t len);
/* Ends every stream (shutdown). */
void streams_end_all(struct streams *s);
size_t streams_count(const struct streams *s);
/* Frees the registry: after the HTTP server is gone (closing a connection unregisters its stream). */
void streams_free(struct streams *s);

/* Formats one SSE event ("event: E\ndata: JSON\n\n") into a malloc'd string; its length in *len. */
char *sse_event(const char *event, const char *json, size_t json_len, size_t *len);

#endif
