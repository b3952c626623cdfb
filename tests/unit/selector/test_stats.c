/* test_stats.c — the pairs' sliding-window statistics: counts and averages, each result counted once, the 24 h
 * window moving with injected time, late and future results, base-time moves over days, precision and memory. */
#include <stdlib.h>

#include "stats.h"
#include "unit.h"

#define S_US 1000000LL
#define T0 (1800000000LL * S_US)
#define DAY 86400

TEST(counts_and_averages)
{
    struct stats_pair p = {0};
    CHECK_INT(stats_add(&p, T0, 1, 1.0, 10.0, T0, DAY), STATS_ADDED);
    CHECK_INT(stats_add(&p, T0 + 540 * S_US, 2, -5.0, 0.0, T0 + 540 * S_US, DAY), STATS_ADDED); /* no response */
    CHECK_INT(stats_add(&p, T0 + 1080 * S_US, 3, 0.25, 20.0, T0 + 1080 * S_US, DAY), STATS_ADDED);
    struct stats_summary s;
    stats_summarize(&p, T0 + 1100 * S_US, DAY, &s);
    CHECK_INT(s.count, 3);
    CHECK_NEAR(s.avg_step, (1.0 - 5.0 + 0.25) / 3, 1e-4);
    CHECK_NEAR(s.avg_rtt_ms, 10.0, 1e-9); /* (10 + 0 + 20) / 3 */
    stats_free(&p);
    stats_summarize(&p, T0, DAY, &s);
    CHECK_INT(s.count, 0);
    CHECK_NEAR(s.avg_step, 0, 0);
}

TEST(each_result_counted_once)
{
    struct stats_pair p = {0};
    uint16_t a = stats_fingerprint("01JD1A2B3C4D5E6F7G8H9J0K1M"), b = stats_fingerprint("01JD1A2B3C4D5E6F7G8H9J0K1N");
    CHECK(a != b);
    CHECK_INT(stats_fingerprint("01jd1a2b3c4d5e6f7g8h9j0k1m"), a); /* ULIDs are case-insensitive */
    CHECK_INT(stats_add(&p, T0, a, 1, 10, T0, DAY), STATS_ADDED);
    CHECK_INT(stats_add(&p, T0, a, 1, 10, T0 + S_US, DAY), STATS_DUPLICATE);
    CHECK_INT(stats_add(&p, T0 + 999999, a, 1, 10, T0 + S_US, DAY), STATS_DUPLICATE); /* same slot */
    CHECK_INT(stats_add(&p, T0, b, 1, 10, T0, DAY), STATS_ADDED); /* another result at the same time */
    /* a repeat arriving after later results is still found */
    CHECK_INT(stats_add(&p, T0 + 600 * S_US, 7, 1, 10, T0 + 600 * S_US, DAY), STATS_ADDED);
    CHECK_INT(stats_add(&p, T0, a, 1, 10, T0 + 600 * S_US, DAY), STATS_DUPLICATE);
    struct stats_summary s;
    stats_summarize(&p, T0 + 600 * S_US, DAY, &s);
    CHECK_INT(s.count, 3);
    stats_free(&p);
}

TEST(window_moves_with_time)
{
    struct stats_pair p = {0};
    for (int i = 0; i < 10; i++) stats_add(&p, T0 + (int64_t)i * 3600 * S_US, (uint16_t)i, i < 5 ? -1 : 1, 10, T0 + i * 3600 * S_US, DAY);
    struct stats_summary s;
    stats_summarize(&p, T0 + 9 * 3600 * S_US, DAY, &s);
    CHECK_INT(s.count, 10);
    CHECK_NEAR(s.avg_step, 0, 1e-9);
    /* 24 h after the third result, the first three are out */
    stats_summarize(&p, T0 + (2 * 3600 + DAY) * S_US, DAY, &s);
    CHECK_INT(s.count, 7);
    CHECK_NEAR(s.avg_step, (2.0 * -1 + 5.0) / 7, 1e-9);
    /* results older than the window are refused, ones far in the future too */
    int64_t now = T0 + 9 * 3600 * S_US;
    CHECK_INT(stats_add(&p, now - (DAY + 10) * S_US, 99, 1, 1, now, DAY), STATS_TOO_OLD);
    CHECK_INT(stats_add(&p, now + (STATS_FUTURE_SLACK_S + 10) * S_US, 99, 1, 1, now, DAY), STATS_FUTURE);
    CHECK_INT(stats_add(&p, now + 60 * S_US, 98, 1, 1, now, DAY), STATS_ADDED); /* a little clock skew is fine */
    /* expiry gives memory back */
    CHECK_INT(stats_expire(&p, T0 + (2 * 3600 + DAY) * S_US, DAY), 3);
    CHECK_INT(p.n, 8);
    CHECK_INT(stats_expire(&p, now + 3 * DAY * S_US, DAY), 8);
    CHECK(p.e == NULL);
    CHECK_INT(stats_bytes(&p), 0);
    stats_free(&p);
}

TEST(late_results_are_inserted_in_order)
{
    struct stats_pair p = {0};
    int64_t now = T0 + 7200 * S_US;
    CHECK_INT(stats_add(&p, T0 + 7200 * S_US, 1, 1, 10, now, DAY), STATS_ADDED);
    CHECK_INT(stats_add(&p, T0 + 3600 * S_US, 2, 0, 20, now, DAY), STATS_ADDED); /* before the base */
    CHECK_INT(stats_add(&p, T0 + 5400 * S_US, 3, -1, 30, now, DAY), STATS_ADDED);
    CHECK_INT(p.n, 3);
    for (int i = 1; i < p.n; i++) CHECK(p.e[i - 1].t2 <= p.e[i].t2);
    struct stats_summary s;
    stats_summarize(&p, now, DAY, &s);
    CHECK_INT(s.count, 3);
    CHECK_NEAR(s.avg_rtt_ms, 20, 1e-9);
    /* after 24 h only the 7200 s one remains */
    stats_summarize(&p, T0 + (DAY + 6000) * S_US, DAY, &s);
    CHECK_INT(s.count, 1);
    stats_free(&p);
}

TEST(three_days_of_active_probing)
{
    /* every 540 s for 3 days: the window always holds 160 results, the base moves as needed */
    struct stats_pair p = {0};
    int64_t t = T0;
    uint64_t max_bytes = 0;
    for (int i = 0; i < 3 * 160; i++, t += 540 * S_US) {
        CHECK_INT(stats_add(&p, t, (uint16_t)(i * 7919), (i % 4) ? 1 : -2, 12.3, t, DAY), STATS_ADDED);
        if (i % 50 == 0) stats_expire(&p, t, DAY);
        if (stats_bytes(&p) > max_bytes) max_bytes = stats_bytes(&p);
        if (i >= 160) {
            struct stats_summary s;
            stats_summarize(&p, t, DAY, &s);
            if (s.count != 160) {
                UNIT_FAIL("at result %d the window holds %u", i, s.count);
                break;
            }
        }
    }
    struct stats_summary s;
    stats_summarize(&p, t - 540 * S_US, DAY, &s);
    CHECK_NEAR(s.avg_step, 0.25, 0.01); /* three of +1, one of −2 */
    CHECK_NEAR(s.avg_rtt_ms, 12.3, 1e-9);
    CHECK(max_bytes <= 8 * 260); /* 8 bytes a result, bounded slack */
    stats_free(&p);
}

TEST(precision_and_clamps)
{
    struct stats_pair p = {0};
    stats_add(&p, T0, 1, 0.731 - 2.308 * 0.2, 3.21, T0, DAY);
    stats_add(&p, T0 + 2 * S_US, 2, 1, 99999, T0 + 2 * S_US, DAY); /* rtt clamps at 6553.5 ms */
    stats_add(&p, T0 + 4 * S_US, 3, -10, 0, T0 + 4 * S_US, DAY);
    /* a negative rtt (an older agent, a skewed server) counts as 0: priorities never go below 0 */
    stats_add(&p, T0 + 5 * S_US, 4, 1, -4000000.0, T0 + 5 * S_US, DAY);
    struct stats_summary s;
    stats_summarize(&p, T0 + 5 * S_US, DAY, &s);
    CHECK_NEAR(s.avg_step, (0.731 - 2.308 * 0.2 + 1 - 10 + 1) / 4, 0.5 / STATS_STEP_SCALE);
    CHECK_NEAR(s.avg_rtt_ms, (3.2 + 6553.5 + 0 + 0) / 4, 0.05 / 4 + 1e-9);
    CHECK_INT(stats_add(&p, T0, 9, 0.0 / 0.0, 1, T0, DAY), STATS_INVALID);
    stats_free(&p);
}

int main(void)
{
    RUN(counts_and_averages);
    RUN(each_result_counted_once);
    RUN(window_moves_with_time);
    RUN(late_results_are_inserted_in_order);
    RUN(three_days_of_active_probing);
    RUN(precision_and_clamps);
    return unit_done();
}
