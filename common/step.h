/* step.h — the pool's per-result scoring step (DESIGN.md §6): the step table, its caps, and the EWMA update
 * score = score·0.95 + step. Scorer and selector both use exactly this code. */
#ifndef NTPMON_STEP_H
#define NTPMON_STEP_H

#include <stdbool.h>

#include "msg.h"

#define STEP_DECAY 0.95
#define STEP_STEADY_MAX 20.0 /* +1 every time converges to 1/(1−0.95) */

/* What the step table reads from a result (or a sample). */
struct step_input {
    bool no_response; /* error "timeout" or "network: …" */
    int stratum;
    const char *error; /* "" when good */
    bool has_offset;
    double offset; /* seconds */
};

struct step {
    double step;
    bool has_cap;
    double cap; /* the score after this step is at most cap */
};

/* The step for one result, first matching row of the table. */
struct step step_compute(const struct step_input *in);
/* The same, read from a decoded result message. */
struct step step_for_result(const struct msg_result *r);
/* The new score of a monitor/server pair: prev·0.95 + step, then capped. A new pair starts at prev = 0. */
double step_apply(double prev_score, const struct step *s);

#endif
