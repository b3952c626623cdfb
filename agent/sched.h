/* sched.h — the agent's work list: every assigned server with its interval, jittered next probe time and the
 * "never two probes of one server closer than --min-interval" rule (across assignment changes too). One evloop
 * timer per server; when it fires the owner is asked to probe (or to hold the server while probing is paused). */
#ifndef NTPMON_AGENT_SCHED_H
#define NTPMON_AGENT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "msg.h"
#include "netaddr.h"

struct sched;

struct sched_server {
    int64_t id;
    struct netaddr addr;
    char ip[MSG_IP_MAX];
    enum msg_pair_status status;
    int64_t interval_us;
    int samples;
    int64_t last_probe_us; /* monotonic start of this process's last probe of it; 0 = none yet */
    bool busy;             /* a probe is in flight */
    bool held;             /* it came due while probing was paused; released by sched_release_held */
    uint8_t trace_state;   /* the tracing service's memory of this server (answering or failing; agent/tracing.h) */
    void *probe;           /* the owner's in-flight probe handle */
    struct evloop_timer timer;
    struct sched *owner;
};

/* Called when a server is due: the owner starts a probe (sched_probe_started … sched_probe_done) or holds it. */
typedef void (*sched_due_fn)(struct sched *s, struct sched_server *srv, void *arg);
/* Called just before a server with an in-flight probe is removed from the list (so the owner cancels it). */
typedef void (*sched_remove_fn)(struct sched *s, struct sched_server *srv, void *arg);

struct sched_config {
    int64_t min_interval_us;  /* never two probes of one server closer than this */
    double jitter;            /* ± fraction of the interval */
    int64_t first_max_us;     /* a newly assigned server is first probed within min(interval, this) */
    int64_t start_floor_us;   /* monotonic time before which no never-probed server is probed (start + min interval:
                                 an earlier run of the agent may just have probed it) */
};

struct sched_apply_stats {
    size_t added, removed, changed, kept, duplicates, total;
};

/* Creates an empty work list; due/removed are called from the loop. */
struct sched *sched_new(struct evloop *loop, const struct sched_config *cfg, sched_due_fn due, sched_remove_fn removed,
                        void *arg);
/* Frees the list (asking the owner to cancel in-flight probes). */
void sched_free(struct sched *s);
/* Replaces the work list with the assignment's (servers matched by id and address). */
void sched_apply(struct sched *s, const struct msg_assign *a, struct sched_apply_stats *st);
/* Servers in the work list. */
size_t sched_count(const struct sched *s);
/* The server at index i (0 ≤ i < sched_count), in id order. */
struct sched_server *sched_at(struct sched *s, size_t i);
/* The server with this id, or NULL. */
struct sched_server *sched_find(struct sched *s, int64_t id);
/* Marks the start of a probe (for the min-interval rule). */
void sched_probe_started(struct sched *s, struct sched_server *srv, void *probe);
/* Marks the end of a probe and schedules the next one. */
void sched_probe_done(struct sched *s, struct sched_server *srv);
/* Parks a due server until sched_release_held (probing paused: bad local clock, address family off). */
void sched_hold(struct sched *s, struct sched_server *srv);
/* Reschedules every held server (spread out, respecting the min interval); pass a filter or NULL for all. */
void sched_release_held(struct sched *s, bool (*filter)(const struct sched_server *srv, void *arg), void *arg);
/* Makes every idle server due now (monitor --once). */
void sched_all_now(struct sched *s);

/* The pure rule (unit-tested): when a server should next be probed, in monotonic µs.
 * u is uniform in [0,1). last_probe_us 0 means never by this process. */
int64_t sched_next_due(const struct sched_config *cfg, int64_t now_us, int64_t last_probe_us, int64_t interval_us,
                       double u);

#endif
