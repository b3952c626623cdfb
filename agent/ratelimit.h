/* ratelimit.h — a sliding-window limiter: at most N events in any window of W (ad-hoc requests: 30 a minute), so
 * the agent can never be used to flood a third party, however the requests are timed. */
#ifndef NTPMON_AGENT_RATELIMIT_H
#define NTPMON_AGENT_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ratelimit {
    int64_t window_us;
    size_t max;      /* events allowed per window; 0 refuses everything */
    size_t next;     /* ring index of the oldest remembered event */
    size_t used;     /* events remembered (≤ max) */
    int64_t *times;  /* ring of the last `max` accepted event times */
};

/* Prepares a limiter for max events per window_us. */
void ratelimit_init(struct ratelimit *r, size_t max, int64_t window_us);
/* Frees the ring. */
void ratelimit_free(struct ratelimit *r);
/* True (and the event is counted) when fewer than max events were accepted in (now - window, now]. */
bool ratelimit_take(struct ratelimit *r, int64_t now_us);

#endif
