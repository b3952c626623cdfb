/* step.c — the step table of DESIGN.md §6, as the pool's scorer applies it (ntppool/monitor statusscore).
 * Caps are applied as "at most": min(score, cap), per the contract's "score ≤ X". */
#include "step.h"

#include <math.h>
#include <string.h>

struct step step_compute(const struct step_input *in)
{
    struct step s = {0, false, 0};
    const char *error = in->error ? in->error : "";
    double abs_off = in->has_offset ? fabs(in->offset) : 0;

    if (in->no_response) {
        s.step = -5;
    } else if (in->stratum == 0 && strcmp(error, "RATE") == 0) {
        s.step = -3.5;
    } else if (in->stratum == 0 && (strcmp(error, "RSTR") == 0 || strcmp(error, "DENY") == 0)) {
        s.step = -10;
        s.has_cap = true;
        s.cap = -50;
    } else if (in->stratum == 0 && error[0] == '\0') {
        s.step = -2;
        s.has_cap = true;
        s.cap = 5;
    } else if (error[0] != '\0' || !in->has_offset) {
        s.step = -4;
    } else if (abs_off > 3.0) {
        s.step = -4;
        s.has_cap = true;
        s.cap = -20;
    } else if (in->stratum >= 8) {
        s.step = -4;
    } else if (abs_off > 0.75) {
        s.step = -2;
    } else if (abs_off > 0.1) {
        s.step = -2.308 * abs_off + 0.731;
    } else if (abs_off > 0.025) {
        s.step = fmin(1.0, -6.667 * abs_off + 1.167);
    } else {
        s.step = 1;
    }
    return s;
}

struct step step_for_result(const struct msg_result *r)
{
    struct step_input in = {
        .no_response = msg_error_is_no_response(r->error),
        .stratum = r->stratum,
        .error = r->error,
        .has_offset = r->has_offset,
        .offset = r->offset,
    };
    return step_compute(&in);
}

double step_apply(double prev_score, const struct step *s)
{
    double score = prev_score * STEP_DECAY + s->step;
    if (s->has_cap && score > s->cap) score = s->cap;
    return score;
}
