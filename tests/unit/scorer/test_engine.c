/* test_engine.c — eng_score end to end: per-pair EWMA with caps, the row the median sees, which overall scores
 * are recorded, crossing the in-pool threshold both ways, deleted servers, the status used, and that a server
 * answering well from 7 monitors reaches and stays in the pool. */
#include <math.h>
#include <string.h>

#include "engine.h"
#include "unit.h"

#define S 1000000LL
#define T0 (1795460400LL * S)

static struct eng *e;

static void score(struct eng_server *s, int64_t monitor, int64_t ts, double offset, const char *error,
                  struct eng_outcome *oc)
{
    struct msg_result_record in = {.ts_us = ts, .has_offset = !error || !*error, .offset = offset,
                                   .has_rtt = !error || strcmp(error, "timeout") != 0, .rtt = 0.010 + monitor / 1000.0,
                                   .stratum = error && strcmp(error, "RSTR") == 0 ? 0 : 2};
    snprintf(in.error, sizeof in.error, "%s", error ? error : "");
    eng_score(e, s, monitor, &in, ts, oc);
}

static void set_status(struct eng_server *s, int64_t monitor, enum msg_pair_status st)
{
    eng_pair_get(s, monitor, true)->status = st;
}

TEST(pair_scores_and_rows)
{
    struct eng_server *s = eng_server_add(e, 10);
    set_status(s, 1, MSG_STATUS_ACTIVE);
    struct eng_outcome oc;
    score(s, 1, T0, 0.001, NULL, &oc);
    CHECK_NEAR(oc.step.step, 1, 0);
    CHECK_NEAR(oc.pair_score, 1, 0);
    CHECK_INT(oc.status_used, MSG_STATUS_ACTIVE);
    CHECK(oc.has_overall);
    CHECK_INT(oc.monitors, 1);
    CHECK(oc.recorded); /* the first overall score of a server is always recorded */
    CHECK_NEAR(oc.chosen.score, 1, 0);
    CHECK_INT(oc.chosen.rtt_us, 11000);
    score(s, 1, T0 + 540 * S, 0.2, NULL, &oc);
    double step = -2.308 * 0.2 + 0.731;
    CHECK_NEAR(oc.step.step, step, 1e-12);
    CHECK_NEAR(oc.pair_score, 0.95 + step, 1e-12);
    struct eng_pair *p = eng_pair_get(s, 1, false);
    CHECK_NEAR(p->score, 0.95 + step, 1e-12);
    CHECK_INT(p->score_ts_us, T0 + 540 * S);
    CHECK_INT(p->stratum, 2);
    CHECK_INT(p->n - p->head, 2);
    /* a RSTR caps the pair at −50 */
    score(s, 1, T0 + 1080 * S, 0, "RSTR", &oc);
    CHECK_NEAR(oc.pair_score, -50, 0);
    CHECK_INT(p->stratum, 2); /* stratum 0 does not overwrite the last real stratum */
    /* a timeout row carries no rtt */
    score(s, 1, T0 + 1620 * S, 0, "timeout", &oc);
    CHECK_INT(oc.chosen.rtt_us, ENG_RTT_NONE);
    CHECK_NEAR(oc.pair_score, -50 * 0.95 - 5, 1e-12);
    CHECK_STR(eng_error_text(e, oc.chosen.error), "timeout");
}

TEST(status_none_scores_but_has_no_overall)
{
    struct eng_server *s = eng_server_add(e, 11);
    struct eng_outcome oc;
    score(s, 3, T0, 0.001, NULL, &oc); /* a pair the selector never set: no status */
    CHECK_NEAR(oc.pair_score, 1, 0);
    CHECK_INT(oc.status_used, MSG_STATUS_NONE);
    CHECK(!oc.has_overall);
    CHECK(!oc.recorded);
    CHECK(!s->has_last);
}

TEST(seven_good_monitors_enter_the_pool)
{
    struct eng_server *s = eng_server_add(e, 12);
    for (int m = 1; m <= 7; m++) set_status(s, m, MSG_STATUS_ACTIVE);
    struct eng_outcome oc;
    int crossings = 0, recorded = 0;
    int64_t entered_at = 0;
    /* every monitor every 540 s, 77 s apart */
    for (int round = 0; round < 60; round++) {
        for (int m = 1; m <= 7; m++) {
            int64_t ts = T0 + round * 540 * S + m * 77 * S;
            score(s, m, ts, 0.002, NULL, &oc);
            CHECK(oc.has_overall);
            if (oc.recorded) recorded++;
            if (oc.crossed) {
                crossings++;
                entered_at = ts;
                CHECK(oc.in_pool);
                CHECK(oc.chosen.score >= 10);
            }
        }
    }
    CHECK_INT(crossings, 1);
    CHECK(s->in_pool);
    CHECK_INT(s->in_pool_ts_us, entered_at);
    CHECK(s->in_pool_score >= 10 && s->in_pool_score < 10.6);
    /* each monitor's 14th result crosses 10; the median (4th of 7 by score) crosses with the 4th monitor */
    CHECK_INT(entered_at, T0 + 13 * 540 * S + 4 * 77 * S);
    CHECK_NEAR(s->last_score, 20 * (1 - pow(0.95, 60)), 1e-9);
    /* the 15 min / 5 % rule keeps the log small: far fewer overall rows than results */
    CHECK(recorded > 14 && recorded < 120);
}

TEST(leaving_and_reentering)
{
    struct eng_server *s = eng_server_add(e, 13);
    for (int m = 1; m <= 3; m++) set_status(s, m, MSG_STATUS_ACTIVE);
    s->in_pool = true;
    for (int m = 1; m <= 3; m++) eng_pair_get(s, m, false)->score = 20;
    struct eng_outcome oc;
    int64_t ts = T0;
    /* timeouts from two of three monitors: the median follows the second-worst */
    int out_at = -1;
    for (int i = 0; i < 10 && out_at < 0; i++) {
        for (int m = 1; m <= 3; m++) {
            ts += 60 * S;
            score(s, m, ts, 0.001, m == 3 ? NULL : "timeout", &oc);
            if (oc.crossed) {
                CHECK(!oc.in_pool);
                CHECK(oc.chosen.score < 10);
                out_at = i;
            }
        }
    }
    CHECK_INT(out_at, 1); /* 20 → 14 → 8.3: the second timeout round */
    CHECK(!s->in_pool);
    /* recovering: back in once the median is ≥ 10 again */
    bool back = false;
    for (int i = 0; i < 40 && !back; i++) {
        for (int m = 1; m <= 3; m++) {
            ts += 60 * S;
            score(s, m, ts, 0.001, NULL, &oc);
            if (oc.crossed) back = oc.in_pool;
        }
    }
    CHECK(back);
}

TEST(deleted_servers_never_enter)
{
    struct eng_server *s = eng_server_add(e, 14);
    set_status(s, 1, MSG_STATUS_ACTIVE);
    eng_pair_get(s, 1, false)->score = 19;
    s->deleted = true;
    struct eng_outcome oc;
    score(s, 1, T0, 0.001, NULL, &oc);
    CHECK(oc.recorded);
    CHECK_NEAR(oc.chosen.score, 19.05, 1e-12);
    CHECK(!oc.in_pool);
    CHECK(!oc.crossed);
    /* in the pool when deleted: the next recorded score takes it out */
    struct eng_server *t = eng_server_add(e, 15);
    set_status(t, 1, MSG_STATUS_ACTIVE);
    eng_pair_get(t, 1, false)->score = 19;
    t->in_pool = true;
    t->deleted = true;
    score(t, 1, T0, 0.001, NULL, &oc);
    CHECK(oc.crossed);
    CHECK(!oc.in_pool);
}

TEST(out_of_order_results)
{
    struct eng_server *s = eng_server_add(e, 16);
    for (int m = 1; m <= 3; m++) set_status(s, m, MSG_STATUS_ACTIVE);
    struct eng_outcome oc;
    score(s, 1, T0 + 100 * S, 0.001, NULL, &oc);
    score(s, 2, T0 + 200 * S, 0.001, NULL, &oc);
    score(s, 3, T0 + 300 * S, 0.001, NULL, &oc);
    CHECK(s->has_last);
    int64_t last = s->last_ts_us;
    /* a late result (spooled by an offline agent) is scored for its pair, but its overall score is older than
     * the last recorded one: not recorded */
    score(s, 2, T0 + 50 * S, 5.0, NULL, &oc);
    CHECK_NEAR(oc.pair_score, -20, 0); /* 1·0.95 − 4, capped at −20 by the 5 s offset */
    CHECK(oc.has_overall);
    CHECK(!oc.recorded);
    CHECK_INT(s->last_ts_us, last);
    /* the median at T0+50s sees only monitor 2's new row (monitor 1's row is later) */
    CHECK_INT(oc.monitors, 1);
    CHECK_INT(oc.chosen_monitor_id, 2);
}

int main(void)
{
    struct eng_params p;
    eng_params_default(&p);
    e = eng_new(&p);
    RUN(pair_scores_and_rows);
    RUN(status_none_scores_but_has_no_overall);
    RUN(seven_good_monitors_enter_the_pool);
    RUN(leaving_and_reentering);
    RUN(deleted_servers_never_enter);
    RUN(out_of_order_results);
    eng_free(e);
    return unit_done();
}
