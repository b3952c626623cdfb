/* trace.h — traceroute the way an NTP probe travels: UDP to the server's NTP port carrying an NTP client packet,
 * TTL (IPv6: hop limit) 1, 2, 3, … with `probes` packets per hop, each from its own connected, unprivileged UDP
 * socket (fresh source port) with IP_RECVERR / IPV6_RECVERR, so ICMP time-exceeded and unreachable messages arrive
 * on that socket's error queue with the router's address (SO_EE_OFFENDER) and a kernel timestamp. No raw socket,
 * no root.
 *
 * An ICMP error counts only when the kernel matched its quoted UDP header to the probe's socket (address and
 * ports) and the quoted payload, as far as the router quoted it, equals the packet we sent — the NTP transmit
 * timestamp in it is a random 64-bit nonce — so a forged hop cannot be slipped in. A trace ends when the server
 * answers (a valid NTP reply, or ICMP port unreachable from the server itself), when a router says the server is
 * unreachable, at max_hops, or after max_silent hops in a row without any answer.
 *
 * Traces run in the caller's event loop, never blocking: at most max_running at once (the rest wait in order),
 * one hop of each in flight at a time, so a trace costs at most `probes` sockets and a few packets per hop
 * timeout, and scheduled NTP probes never wait for it. */
#ifndef NTPMON_AGENT_TRACE_H
#define NTPMON_AGENT_TRACE_H

#include <time.h> /* before linux/errqueue.h, which needs struct timespec */
#include <linux/errqueue.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "msg.h"
#include "netaddr.h"
#include "ntp.h"

#define TRACE_MAX_PROBES MSG_TRACE_MAX_PROBES /* per hop */
#define TRACE_MAX_HOPS MSG_TRACE_MAX_HOPS

struct trace_engine;
struct trace;

struct trace_config {
    uint16_t port;       /* NTP port (123; --ntp-port in tests) */
    int max_hops;        /* 1..TRACE_MAX_HOPS (--trace-max-hops, 30) */
    int probes;          /* per hop, 1..TRACE_MAX_PROBES (3) */
    int max_silent;      /* hops in a row without any answer that end the trace (--trace-silent-hops) */
    int64_t timeout_us;  /* how long a hop's probes wait for answers (--trace-timeout) */
    int max_running;     /* traces at once; more wait their turn (--trace-concurrency) */
};

struct trace_hop {
    int ttl;
    bool has_addr;           /* false: nobody answered (a silent hop) */
    struct netaddr addr;     /* who answered (the first answer; rtts are of the answers from this address) */
    int n_rtt;
    double rtt[TRACE_MAX_PROBES]; /* seconds, in probe order */
};

struct trace_outcome {
    struct netaddr target;
    uint16_t port;
    int64_t start_us;        /* wall clock when the first probe went out */
    int64_t duration_us;
    bool reached;            /* the server answered: its hop is the last one */
    size_t n_hops;
    const struct trace_hop *hops;
    uint64_t packets_sent;   /* probes sent */
    uint64_t answers;        /* ICMP errors and replies taken */
    uint64_t ignored;        /* ICMP errors and replies that were not answers to our probes */
    char error[MSG_ERROR_MAX]; /* "" or why the trace stopped early ("network: …" from the local stack) */
};

/* Called once when a trace ends (never after trace_cancel); the outcome lives until the callback returns. */
typedef void (*trace_done_fn)(struct trace *t, const struct trace_outcome *o, void *arg);

/* Creates an engine on loop (values out of range are clamped). */
struct trace_engine *trace_engine_new(struct evloop *loop, const struct trace_config *cfg);
/* Cancels every trace (no callbacks) and frees the engine. */
void trace_engine_free(struct trace_engine *e);
/* Starts (or queues) a trace of addr; port 0 means the engine's port. */
struct trace *trace_start(struct trace_engine *e, const struct netaddr *addr, uint16_t port, trace_done_fn done,
                          void *arg);
/* Stops a trace without calling its callback. */
void trace_cancel(struct trace *t);
/* Traces running and waiting. */
size_t trace_engine_running(const struct trace_engine *e);
size_t trace_engine_queued(const struct trace_engine *e);

/* ---- pure parts (unit-tested) ---- */

enum trace_verdict {
    TRACE_IGNORE = 0,   /* not an answer to this probe (spoofed, mangled, another kind of error) */
    TRACE_HOP,          /* time exceeded: a router on the way */
    TRACE_REACHED,      /* the server itself answered */
    TRACE_UNREACHABLE,  /* a router says the server cannot be reached: the trace ends there */
};

/* What one error-queue entry of a probe socket means. `sent` is the NTP packet that probe carried; `quoted` is the
 * payload the kernel handed over with the error (the part of our packet the ICMP message quoted, possibly
 * truncated or empty); offender is SO_EE_OFFENDER's address (NULL when absent). */
enum trace_verdict trace_classify_error(const struct netaddr *target, const uint8_t sent[NTP_PACKET_LEN],
                                        const struct sock_extended_err *ee, const struct netaddr *offender,
                                        const uint8_t *quoted, size_t quoted_len);

/* Fills a trace message's path fields (ip, port, reached, hops) from an outcome; the caller sets the rest. */
void trace_outcome_to_msg(const struct trace_outcome *o, struct msg_trace *m);

#endif
