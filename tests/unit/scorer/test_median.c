/* test_median.c — the recent median (DESIGN.md §6, the pool's recentmedian): 1, 2, 3, 4 and 7 monitors, even n,
 * ties by rtt, the 1200 s → 2700 s → 7200 s fallbacks with their statuses, the latest row at or before the
 * result's ts, the inclusive lookback edge; the 15 min / 5 % record rule; and trimming a server to the rows a
 * median from a horizon on can pick. */
#include <stdlib.h>

#include "engine.h"
#include "unit.h"

#define S 1000000LL
#define T0 (1795460400LL * S) /* 2026-11-23 19:00:00Z */

static struct eng *e;

static struct eng_server *fresh(void) { return eng_server_add(e, 1); }

/* Adds a row for a monitor (creating the pair with the given status). */
static void row(struct eng_server *s, int64_t monitor, enum msg_pair_status st, int64_t ts, double score,
                int32_t rtt_us)
{
    struct eng_pair *p = eng_pair_get(s, monitor, true);
    p->status = st;
    struct eng_row r = {.ts_us = ts, .score = score, .step = score / 10, .rtt_us = rtt_us};
    eng_pair_add_row(e, p, &r, ts);
}

/* The monitor the median picks at ts (0 when none), and how many rows it looked at. */
static int64_t pick(struct eng_server *s, int64_t ts, size_t *n)
{
    struct eng_candidate cand[64];
    size_t dummy;
    int i = eng_recent_median(e, s, ts, cand, n ? n : &dummy);
    return i < 0 ? 0 : cand[i].monitor_id;
}

TEST(one_monitor)
{
    struct eng_server *s = fresh();
    row(s, 5, MSG_STATUS_ACTIVE, T0, 17, 1000);
    size_t n;
    CHECK_INT(pick(s, T0, &n), 5);
    CHECK_INT(n, 1);
}

TEST(two_monitors_take_the_oldest)
{
    struct eng_server *s = fresh();
    /* not the median of two, not the best: the one with the older row */
    row(s, 1, MSG_STATUS_ACTIVE, T0 + 100 * S, 20, 1000);
    row(s, 2, MSG_STATUS_ACTIVE, T0 + 50 * S, -10, 1000);
    size_t n;
    CHECK_INT(pick(s, T0 + 200 * S, &n), 2);
    CHECK_INT(n, 2);
    /* same ts: the lower monitor id (our deterministic stand-in for the database's order) */
    struct eng_server *t = fresh();
    row(t, 9, MSG_STATUS_ACTIVE, T0, 1, 1000);
    row(t, 3, MSG_STATUS_ACTIVE, T0, 2, 1000);
    CHECK_INT(pick(t, T0, NULL), 3);
}

TEST(three_monitors_take_the_middle)
{
    struct eng_server *s = fresh();
    row(s, 1, MSG_STATUS_ACTIVE, T0, 19, 1000);
    row(s, 2, MSG_STATUS_ACTIVE, T0 + 1 * S, -3, 1000);
    row(s, 3, MSG_STATUS_ACTIVE, T0 + 2 * S, 12, 1000);
    size_t n;
    CHECK_INT(pick(s, T0 + 2 * S, &n), 3);
    CHECK_INT(n, 3);
}

TEST(four_monitors_take_the_lower_middle)
{
    /* even n: index n/2 − 1 of the ascending order, i.e. the lower of the two middle scores */
    struct eng_server *s = fresh();
    row(s, 1, MSG_STATUS_ACTIVE, T0, 20, 1000);
    row(s, 2, MSG_STATUS_ACTIVE, T0, 5, 1000);
    row(s, 3, MSG_STATUS_ACTIVE, T0, 15, 1000);
    row(s, 4, MSG_STATUS_ACTIVE, T0, 10, 1000);
    size_t n;
    CHECK_INT(pick(s, T0, &n), 4); /* sorted 5, 10, 15, 20 → index 1 → 10 */
    CHECK_INT(n, 4);
}

TEST(seven_monitors)
{
    struct eng_server *s = fresh();
    double scores[7] = {19.5, -20, 18.2, 3.1, 19.9, 11, 17};
    for (int i = 0; i < 7; i++) row(s, i + 1, MSG_STATUS_ACTIVE, T0 + i * S, scores[i], 1000 * (i + 1));
    size_t n;
    /* sorted: −20, 3.1, 11, 17, 18.2, 19.5, 19.9 → index 3 → 17 (monitor 7) */
    CHECK_INT(pick(s, T0 + 10 * S, &n), 7);
    CHECK_INT(n, 7);
    /* an eighth, lower: sorted −20, 3.1, 5, 11, 17, … → n = 8, index 3 → 11 (monitor 6) */
    row(s, 8, MSG_STATUS_ACTIVE, T0 + 9 * S, 5, 500);
    CHECK_INT(pick(s, T0 + 10 * S, &n), 6);
    CHECK_INT(n, 8);
}

TEST(ties_by_rtt)
{
    struct eng_server *s = fresh();
    row(s, 1, MSG_STATUS_ACTIVE, T0, 18, 30000);
    row(s, 2, MSG_STATUS_ACTIVE, T0 + 1 * S, 18, 10000);
    row(s, 3, MSG_STATUS_ACTIVE, T0 + 2 * S, 18, 20000);
    CHECK_INT(pick(s, T0 + 2 * S, NULL), 3); /* rtt 10, 20, 30 ms → the middle: 20 ms */
    /* a missing rtt (no reply) counts as 0 */
    struct eng_server *t = fresh();
    row(t, 1, MSG_STATUS_ACTIVE, T0, 18, 30000);
    row(t, 2, MSG_STATUS_ACTIVE, T0, 18, ENG_RTT_NONE);
    row(t, 3, MSG_STATUS_ACTIVE, T0, 18, 10000);
    row(t, 4, MSG_STATUS_ACTIVE, T0, 18, 20000);
    CHECK_INT(pick(t, T0, NULL), 3); /* 0, 10, 20, 30 → index 1 → 10 ms */
    /* equal score and rtt: the ts order stays (stable sort) */
    struct eng_server *u = fresh();
    row(u, 1, MSG_STATUS_ACTIVE, T0 + 2 * S, 18, 1000);
    row(u, 2, MSG_STATUS_ACTIVE, T0 + 1 * S, 18, 1000);
    row(u, 3, MSG_STATUS_ACTIVE, T0 + 3 * S, 18, 1000);
    CHECK_INT(pick(u, T0 + 3 * S, NULL), 1); /* ts order 2, 1, 3 → index 1 → monitor 1 */
    /* score first, rtt second */
    struct eng_server *v = fresh();
    row(v, 1, MSG_STATUS_ACTIVE, T0, 17, 1000);
    row(v, 2, MSG_STATUS_ACTIVE, T0, 18, 90000);
    row(v, 3, MSG_STATUS_ACTIVE, T0, 19, 500);
    CHECK_INT(pick(v, T0, NULL), 2);
}

TEST(latest_row_at_or_before_ts)
{
    struct eng_server *s = fresh();
    row(s, 1, MSG_STATUS_ACTIVE, T0, 5, 1000);
    row(s, 1, MSG_STATUS_ACTIVE, T0 + 600 * S, 15, 1000);
    row(s, 2, MSG_STATUS_ACTIVE, T0 + 10 * S, 10, 1000);
    row(s, 3, MSG_STATUS_ACTIVE, T0 + 20 * S, 12, 1000);
    struct eng_candidate cand[8];
    size_t n;
    /* at T0+30s monitor 1's row at T0+600s is in the future: its T0 row counts (score 5) */
    int i = eng_recent_median(e, s, T0 + 30 * S, cand, &n);
    CHECK_INT(n, 3);
    CHECK_INT(cand[i].monitor_id, 2);
    CHECK_NEAR(cand[i].row->score, 10, 0);
    /* at T0+600s: 10, 12, 15 → 12 */
    i = eng_recent_median(e, s, T0 + 600 * S, cand, &n);
    CHECK_INT(cand[i].monitor_id, 3);
    /* before every row: nothing */
    CHECK_INT(pick(s, T0 - 1, NULL), 0);
}

TEST(fallback_1200_2700_7200)
{
    struct eng_server *s = fresh();
    int64_t t = T0 + 10000 * S;
    /* an active row 1200 s old is still in (inclusive), 1200 s + 1 µs is not */
    row(s, 1, MSG_STATUS_ACTIVE, t - 1200 * S, 11, 1000);
    CHECK_INT(pick(s, t, NULL), 1);
    CHECK_INT(pick(s, t + 1, NULL), 1); /* it falls to the 2700 s step, where active still counts */
    /* with a testing monitor inside 1200 s, the first step still only sees active monitors */
    row(s, 2, MSG_STATUS_TESTING, t - 10 * S, 3, 1000);
    size_t n;
    CHECK_INT(pick(s, t, &n), 1);
    CHECK_INT(n, 1);
    /* once the active row is older than 1200 s: active + testing over 2700 s → two rows, the oldest */
    CHECK_INT(pick(s, t + 1, &n), 1);
    CHECK_INT(n, 2);
    /* 1501 s later monitor 1 is 2700 s + 1 µs old: the second step sees only monitor 2 */
    CHECK_INT(pick(s, t + 1501 * S, &n), 2);
    CHECK_INT(n, 1);
    /* 3000 s later the testing row is 3010 s old: none in 2700 s, so the third step (7200 s) takes candidate +
     * testing — the candidate (6000 s old) and the testing one, not the active one (4200 s old) */
    row(s, 3, MSG_STATUS_CANDIDATE, t - 3000 * S, 7, 1000);
    CHECK_INT(pick(s, t + 3000 * S, &n), 3); /* two rows: the oldest */
    CHECK_INT(n, 2);
}

TEST(fallback_statuses)
{
    struct eng_server *s = fresh();
    int64_t t = T0 + 20000 * S;
    /* only a candidate, 2000 s old: steps 1 and 2 find nothing, step 3 (7200 s) finds it */
    row(s, 1, MSG_STATUS_CANDIDATE, t - 2000 * S, 4, 1000);
    size_t n;
    CHECK_INT(pick(s, t, &n), 1);
    CHECK_INT(n, 1);
    /* 7200 s is inclusive; beyond it nothing qualifies */
    struct eng_server *u = fresh();
    row(u, 1, MSG_STATUS_CANDIDATE, t - 7200 * S, 4, 1000);
    CHECK_INT(pick(u, t, NULL), 1);
    CHECK_INT(pick(u, t + 1, NULL), 0);
    /* paused monitors never count, nor pairs with no status */
    struct eng_server *v = fresh();
    row(v, 1, MSG_STATUS_PAUSED, t, 20, 1000);
    row(v, 2, MSG_STATUS_NONE, t, 20, 1000);
    CHECK_INT(pick(v, t, NULL), 0);
    /* an active monitor 3000 s old is not seen by the candidate step */
    struct eng_server *w = fresh();
    row(w, 1, MSG_STATUS_ACTIVE, t - 3000 * S, 20, 1000);
    CHECK_INT(pick(w, t, NULL), 0);
    row(w, 2, MSG_STATUS_TESTING, t - 3000 * S, 2, 1000);
    CHECK_INT(pick(w, t, NULL), 2);
    /* the first step that finds any row wins, even if a later step would see more */
    struct eng_server *x = fresh();
    row(x, 1, MSG_STATUS_ACTIVE, t - 100 * S, 1, 1000);
    row(x, 2, MSG_STATUS_TESTING, t - 100 * S, 2, 1000);
    row(x, 3, MSG_STATUS_TESTING, t - 100 * S, 3, 1000);
    row(x, 4, MSG_STATUS_CANDIDATE, t - 100 * S, 4, 1000);
    CHECK_INT(pick(x, t, &n), 1);
    CHECK_INT(n, 1);
}

TEST(record_rule)
{
    struct eng_params p;
    eng_params_default(&p);
    CHECK(eng_should_record(&p, false, 0, 0, T0, 5));
    /* older than the last recorded: never */
    CHECK(!eng_should_record(&p, true, T0, 5, T0 - 1, 15));
    /* the same score (±1e-12) within 15 min: no; at 15 min: yes */
    CHECK(!eng_should_record(&p, true, T0, 19.5, T0 + 899 * S, 19.5 + 1e-13));
    CHECK(!eng_should_record(&p, true, T0, 19.5, T0 + 900 * S - 1, 19.5));
    CHECK(eng_should_record(&p, true, T0, 19.5, T0 + 900 * S, 19.5));
    /* within 5 % within 5 min: no; at 5 min: yes */
    CHECK(!eng_should_record(&p, true, T0, 10, T0 + 60 * S, 10.5));
    CHECK(!eng_should_record(&p, true, T0, 10, T0 + 60 * S, 9.5));
    CHECK(!eng_should_record(&p, true, T0, 10, T0 + 300 * S - 1, 10.4));
    CHECK(eng_should_record(&p, true, T0, 10, T0 + 300 * S, 10.4));
    /* more than 5 %: at once, also at the same ts */
    CHECK(eng_should_record(&p, true, T0, 10, T0 + 1 * S, 10.51));
    CHECK(eng_should_record(&p, true, T0, 10, T0, 9.49));
    /* 5 % of a negative score is of its magnitude */
    CHECK(!eng_should_record(&p, true, T0, -10, T0 + 1 * S, -10.4));
    CHECK(eng_should_record(&p, true, T0, -10, T0 + 1 * S, -10.6));
    /* zero: only an exact zero is close to zero */
    CHECK(!eng_should_record(&p, true, T0, 0, T0 + 1 * S, 0));
    CHECK(eng_should_record(&p, true, T0, 0, T0 + 1 * S, 0.001));
    CHECK(eng_should_record(&p, true, T0, 0.001, T0 + 1 * S, 0));
    /* the same score after 5 min but before 15 min: still not */
    CHECK(!eng_should_record(&p, true, T0, 20, T0 + 600 * S, 20));
}

TEST(history_is_pruned_by_clock)
{
    struct eng_params p;
    eng_params_default(&p);
    p.history_us = 1000 * S;
    struct eng *small = eng_new(&p);
    struct eng_server *s = eng_server_add(small, 1);
    struct eng_pair *pr = eng_pair_get(s, 1, true);
    for (int i = 0; i < 100; i++) {
        struct eng_row r = {.ts_us = T0 + i * 100 * S, .score = i};
        eng_pair_add_row(small, pr, &r, T0 + i * 100 * S);
    }
    CHECK(pr->n - pr->head <= 12); /* about history / spacing rows stay */
    CHECK(eng_pair_row_at(pr, T0 + 5000 * S) == NULL);
    CHECK_NEAR(eng_pair_row_at(pr, T0 + 9950 * S)->score, 99, 0);
    /* a row far in the future does not push older rows out: the caller's clock decides */
    struct eng_row future = {.ts_us = T0 + 1000000 * S, .score = -1};
    eng_pair_add_row(small, pr, &future, T0 + 9900 * S);
    CHECK_NEAR(eng_pair_row_at(pr, T0 + 9950 * S)->score, 99, 0);
    /* out-of-order rows are inserted in ts order */
    struct eng_row late = {.ts_us = T0 + 9850 * S, .score = 42};
    eng_pair_add_row(small, pr, &late, T0 + 9900 * S);
    CHECK_NEAR(eng_pair_row_at(pr, T0 + 9860 * S)->score, 42, 0);
    CHECK_NEAR(eng_pair_row_at(pr, T0 + 9900 * S)->score, 99, 0);
    eng_free(small);
}

/* A server trimmed at a horizon picks, at every ts from the horizon on, exactly what the whole history picks: the
 * same monitor, row and count — with only the rows since the horizon and one older row per pair left. */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

TEST(trim_keeps_what_the_median_needs)
{
    const enum msg_pair_status statuses[] = {MSG_STATUS_ACTIVE, MSG_STATUS_TESTING, MSG_STATUS_CANDIDATE};
    for (int round = 0; round < 40; round++) {
        struct eng_server *whole = eng_server_add(e, 1), *trimmed = eng_server_add(e, 2);
        int monitors = 1 + (int)rnd(12);
        for (int m = 1; m <= monitors; m++) {
            enum msg_pair_status st = statuses[rnd(3)];
            /* a pair's cadence: every 60 s to every 2 h; some pairs stop early */
            int64_t every = (60 + (int64_t)rnd(7200)) * S, stop = T0 + (int64_t)rnd(5 * 3600) * S;
            for (int64_t ts = T0 + (int64_t)rnd(600) * S; ts < T0 + 5 * 3600 * S && ts < stop;
                 ts += every + (int64_t)rnd(30) * S) {
                int32_t rtt = (int32_t)rnd(3) == 0 ? ENG_RTT_NONE : (int32_t)rnd(50000);
                double score = (double)rnd(40) - 20;
                row(whole, m, st, ts, score, rtt);
                row(trimmed, m, st, ts, score, rtt);
            }
        }
        int64_t horizon = T0 + (int64_t)rnd(4 * 3600) * S;
        eng_server_trim(e, trimmed, horizon);
        CHECK(trimmed->rows_from_us == horizon);
        for (size_t i = 0; i < trimmed->n_pairs; i++) { /* since the horizon, plus at most one */
            const struct eng_pair *t = &trimmed->pairs[i], *w = &whole->pairs[i];
            uint32_t since = 0;
            for (uint32_t k = w->head; k < w->n; k++) since += w->rows[k].ts_us >= horizon;
            CHECK(t->n - t->head <= since + 1);
        }
        for (int64_t ts = horizon; ts < T0 + 6 * 3600 * S; ts += (1 + (int64_t)rnd(300)) * S) {
            struct eng_candidate cw[64], ct[64];
            size_t nw, nt;
            int iw = eng_recent_median(e, whole, ts, cw, &nw), it = eng_recent_median(e, trimmed, ts, ct, &nt);
            CHECK_INT(it, iw);
            CHECK_INT(nt, nw);
            if (iw < 0 || it < 0) continue;
            CHECK_INT(ct[it].monitor_id, cw[iw].monitor_id);
            CHECK_INT(ct[it].row->ts_us, cw[iw].row->ts_us);
            CHECK_NEAR(ct[it].row->score, cw[iw].row->score, 0);
        }
        /* forgetting what is older than the horizon leaves only rows since it */
        eng_server_forget_rows(trimmed, horizon);
        for (size_t i = 0; i < trimmed->n_pairs; i++) {
            const struct eng_pair *t = &trimmed->pairs[i];
            CHECK(t->n == t->head || t->rows[t->head].ts_us >= horizon);
        }
        eng_server_drop(e, 1);
        eng_server_drop(e, 2);
    }
}

TEST(servers_add_find_drop_evict)
{
    struct eng_params p;
    eng_params_default(&p);
    struct eng *x = eng_new(&p);
    for (int64_t id = 1; id <= 1000; id++) eng_server_add(x, id)->touched_us = id;
    CHECK_INT(eng_server_count(x), 1000);
    for (int64_t id = 1; id <= 1000; id += 2) eng_server_drop(x, id);
    CHECK_INT(eng_server_count(x), 500);
    for (int64_t id = 1; id <= 1000; id++) CHECK((eng_server_find(x, id) != NULL) == (id % 2 == 0));
    CHECK_INT(eng_evict(x, 501), 250);
    CHECK(eng_server_find(x, 500) == NULL);
    CHECK(eng_server_find(x, 502) != NULL);
    CHECK_INT(eng_server_count(x), 250);
    /* errors are interned; 0 is "" */
    CHECK_INT(eng_error_intern(x, ""), 0);
    uint16_t a = eng_error_intern(x, "timeout"), b = eng_error_intern(x, "RATE");
    CHECK(a != b && a && b);
    CHECK_INT(eng_error_intern(x, "timeout"), a);
    CHECK_STR(eng_error_text(x, b), "RATE");
    eng_free(x);
}

int main(void)
{
    struct eng_params p;
    eng_params_default(&p);
    e = eng_new(&p);
    RUN(one_monitor);
    RUN(two_monitors_take_the_oldest);
    RUN(three_monitors_take_the_middle);
    RUN(four_monitors_take_the_lower_middle);
    RUN(seven_monitors);
    RUN(ties_by_rtt);
    RUN(latest_row_at_or_before_ts);
    RUN(fallback_1200_2700_7200);
    RUN(fallback_statuses);
    RUN(record_rule);
    RUN(history_is_pruned_by_clock);
    RUN(trim_keeps_what_the_median_needs);
    RUN(servers_add_find_drop_evict);
    eng_free(e);
    return unit_done();
}
