/* clockcheck.h — the local clock check of DESIGN.md §3: probe the reference servers (HOST or HOST:PORT; names
 * resolved on a worker thread so the loop never blocks); the clock is healthy when |offset| ≤ --clock-max-offset
 * and leap ≠ 3 for enough of them (failures allowed: n − ⌊(n+2)/2⌋, n = references that resolved). The verdict
 * holds for --clock-cache, then the check runs again. No references: unknown (clock_ok null), probing goes on. */
#ifndef NTPMON_AGENT_CLOCKCHECK_H
#define NTPMON_AGENT_CLOCKCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "probe.h"

struct clockcheck;

/* state: 1 healthy, 0 unhealthy, -1 unknown (no reference configured or none resolved). */
typedef void (*clockcheck_fn)(struct clockcheck *c, int state, void *arg);

struct clockcheck_config {
    int64_t cache_us;
    double max_offset;
    int samples;
    uint16_t default_port;
};

/* Creates an idle checker on the shared probe engine; fn is called when the verdict changes. */
struct clockcheck *clockcheck_new(struct evloop *loop, struct probe_engine *eng, const struct clockcheck_config *cfg,
                                  clockcheck_fn fn, void *arg);
/* Stops any running check and frees the checker. */
void clockcheck_free(struct clockcheck *c);
/* Sets the references (copied) and starts a check now. allow_v4/allow_v6 pick the usable address families. */
void clockcheck_set_refs(struct clockcheck *c, const char *const *refs, size_t n, bool allow_v4, bool allow_v6);
/* The current verdict (see clockcheck_fn); -2 while the first check has not finished. */
int clockcheck_state(const struct clockcheck *c);

/* The rule (pure; unit-tested): healthy when failures ≤ n − ⌊(n+2)/2⌋. */
bool clockcheck_healthy(size_t n, size_t failures);

#endif
