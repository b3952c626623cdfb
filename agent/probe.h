/* probe.h — the NTP probe of DESIGN.md §3: `samples` client queries to one server, --sample-spacing apart, each with
 * its own connected non-blocking UDP socket (fresh source port; replies from any other address or port never reach
 * us) and a --timeout; kernel receive timestamps (SO_TIMESTAMPNS); strict reply checks (common/ntp.h); KoD and
 * stratum rules; the best-sample choice. Many probes run at once in one evloop; at most max_sockets samples are
 * in flight, the rest wait their turn in order. */
#ifndef NTPMON_AGENT_PROBE_H
#define NTPMON_AGENT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "msg.h"
#include "netaddr.h"
#include "ntp.h"

struct probe_engine;
struct probe;

struct probe_config {
    uint16_t port;        /* NTP port (123; --ntp-port for tests) */
    int64_t timeout_us;   /* per sample */
    int64_t spacing_us;   /* between the starts of consecutive samples */
    int max_sockets;      /* samples in flight at once */
};

/* One sample as it ends up in the result, plus what the choice needs. */
struct probe_sample {
    struct msg_sample s;
    bool replied;    /* a valid reply arrived (possibly with an error such as a KoD) */
    bool ends_probe; /* stratum 0 or 16: the probe stopped here */
};

struct probe_outcome {
    struct netaddr addr;
    size_t n;       /* samples taken (≤ requested: a stratum 0/16 reply ends the probe) */
    size_t chosen;  /* index of the chosen sample */
    size_t bad_replies; /* replies dropped by the strict checks (spoofed, stale, malformed) */
    struct probe_sample *samples;
};

/* Called once when the probe ends (never after probe_cancel). The outcome lives until the callback returns. */
typedef void (*probe_done_fn)(struct probe *p, const struct probe_outcome *o, void *arg);

/* Creates an engine on loop. */
struct probe_engine *probe_engine_new(struct evloop *loop, const struct probe_config *cfg);
/* Cancels every probe still running and frees the engine. */
void probe_engine_free(struct probe_engine *e);
/* Starts a probe of addr (port 0: the engine's port) with 1..MSG_MAX_SAMPLES samples. */
struct probe *probe_start(struct probe_engine *e, const struct netaddr *addr, uint16_t port, int samples,
                          probe_done_fn done, void *arg);
/* Stops a probe without calling its callback. */
void probe_cancel(struct probe *p);
/* Probes running (including those waiting for a socket). */
size_t probe_engine_active(const struct probe_engine *e);
/* Totals for benchmarks and logs. */
struct probe_counters {
    uint64_t samples_sent, replies, timeouts, bad_replies, net_errors;
};
/* Copies the totals. */
void probe_engine_counters(const struct probe_engine *e, struct probe_counters *c);

/* The best-sample rule (pure; unit-tested): a sample that ended the probe is chosen; otherwise no error beats
 * error, a reply beats no reply, then the lower rtt; ties keep the earlier sample. */
size_t probe_choose(const struct probe_sample *samples, size_t n);
/* The sample a valid reply makes (pure; the fuzzer checks what it builds): t1 our transmit time, t4 the reply's
 * receive time (Unix ns, wall clock), pkt a reply ntp_reply_parse accepted. */
void probe_sample_from_reply(int64_t t1_ns, const struct ntp_packet *pkt, int64_t t4_ns, struct probe_sample *ps);
/* Fills a result's probe fields (ip, ts, offset, rtt, stratum, leap, refid, error, samples) from an outcome;
 * the caller sets v, id, monitor, server_id, status and agent. */
void probe_outcome_to_result(const struct probe_outcome *o, struct msg_result *r);

#endif
