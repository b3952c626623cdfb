/* ratelimit.c — sliding-window log of accepted event times in a ring of `max` slots: an event is accepted when the
 * oldest of the last `max` accepted events has left the window. Exact, O(1), no bursts beyond the limit. */
#include "ratelimit.h"

#include <stdlib.h>

#include "xalloc.h"

void ratelimit_init(struct ratelimit *r, size_t max, int64_t window_us)
{
    r->window_us = window_us;
    r->max = max;
    r->next = 0;
    r->used = 0;
    r->times = max ? xcalloc(max, sizeof *r->times) : NULL;
}

void ratelimit_free(struct ratelimit *r)
{
    free(r->times);
    r->times = NULL;
}

bool ratelimit_take(struct ratelimit *r, int64_t now_us)
{
    if (r->max == 0) return false;
    if (r->used < r->max) {
        r->times[(r->next + r->used) % r->max] = now_us;
        r->used++;
        return true;
    }
    /* The ring is full: r->next holds the oldest accepted time. */
    if (now_us - r->times[r->next] < r->window_us) return false;
    r->times[r->next] = now_us;
    r->next = (r->next + 1) % r->max;
    return true;
}
