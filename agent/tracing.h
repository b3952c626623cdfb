/* tracing.h — the agent's tracing service inside `monitor`: what makes a trace happen, the limits, and what becomes
 * of a finished trace. Triggers (DESIGN.md §2 `trigger`):
 *   status-change  the agent's own results for a server flip between answering and failing (timeout, network error,
 *                  Kiss-o'-Death) — traced at once;
 *   request        a message on E/monitors/<name>/requests/traceroute ({"ip","server_id"}), from ntpmonctl or the web;
 *   pool-change    the same request with "trigger":"pool-change", from the scorer when the server entered or left
 *                  the pool.
 * Every trigger passes two limits: one trace per server (address) per --trace-server-interval, and at most
 * --trace-rate traces per --trace-window for the whole agent. A finished trace with a server id becomes a trace
 * message in the spool (published on E/traces/<server_id>/<name>, kept until ingest's `stored` names it, exactly like
 * a result); a request with an MQTT 5 response topic (it must be E/responses/<name>/<id>, like requests/ntp) is also
 * answered there with the trace, or {"error":"…"} when refused. A request without a response topic is fire-and-forget
 * (the scorer's): the trace is only published. */
#ifndef NTPMON_AGENT_TRACING_H
#define NTPMON_AGENT_TRACING_H

#include <mosquitto.h>
#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"
#include "mqtt.h"
#include "msg.h"
#include "netaddr.h"
#include "spool.h"
#include "trace.h"

struct tracing;

struct tracing_config {
    struct trace_config engine;
    int64_t server_interval_us; /* one trace per server this often */
    int64_t rate;               /* traces per window, all servers together (0: never) */
    int64_t window_us;
    const char *env;
    const char *monitor;        /* our name (topics, the trace's monitor field) */
    const char *agent;          /* the `agent` field */
    unsigned allow;             /* ranges let through besides public unicast (NETADDR_ALLOW_*; 0 in production) */
};

/* What the daemon lends the service. */
struct tracing_hooks {
    bool (*family_on)(void *arg, int family);                    /* probing over this family is possible now */
    void (*spooled)(void *arg);                                  /* a trace message is in the spool: publish it */
    int64_t (*server_for)(void *arg, const struct netaddr *addr); /* the work list's server id for an address, or 0 */
};

struct tracing_counters {
    uint64_t made, published_to_spool, answered, by_trigger[4];
    uint64_t limited_server, limited_agent, refused, requests;
};

/* Creates the service (and its trace engine) on loop. */
struct tracing *tracing_new(struct evloop *loop, const struct tracing_config *cfg, struct spool *spool,
                            struct mqtt_session *mq, const struct tracing_hooks *hooks, void *arg);
/* Cancels running traces (nothing is spooled for them) and frees the service. */
void tracing_free(struct tracing *t);
/* One result of an assigned server: a flip between answering and failing starts a status-change trace. *state is
 * one byte the caller keeps per server (0 at first: unknown), so the service holds nothing per assigned server. */
void tracing_note_result(struct tracing *t, int64_t server_id, const struct netaddr *addr,
                         const struct msg_result *r, uint8_t *state);
/* A message on requests/traceroute (the daemon has checked the topic is ours). */
void tracing_handle_request(struct tracing *t, const struct mosquitto_message *m, const mosquitto_property *props);
/* Totals (summary line, tests). */
void tracing_get_counters(const struct tracing *t, struct tracing_counters *c);

/* True when a result counts as failing for the status-change trigger: no reply (timeout, network error) or a
 * Kiss-o'-Death (stratum 0 with a code). Other errors (bad stratum, unsynchronized) come from a server that answers. */
bool tracing_result_failing(const struct msg_result *r);

#endif
