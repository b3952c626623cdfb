/* test_probe.c — the best-sample choice, the outcome → result mapping, and the clock check rule. */
#include <string.h>

#include "clockcheck.h"
#include "probe.h"
#include "unit.h"

static struct probe_sample good(double rtt, double offset)
{
    struct probe_sample s = {0};
    s.replied = true;
    s.s.has_rtt = s.s.has_offset = true;
    s.s.rtt = rtt;
    s.s.offset = offset;
    s.s.stratum = 2;
    return s;
}

static struct probe_sample partial(double rtt, const char *error)
{
    struct probe_sample s = good(rtt, 0.5);
    strcpy(s.s.error, error);
    return s;
}

static struct probe_sample timeout(void)
{
    struct probe_sample s = {0};
    strcpy(s.s.error, "timeout");
    return s;
}

TEST(lower_rtt_wins_among_good)
{
    struct probe_sample s[3] = {good(0.030, 1), good(0.010, 2), good(0.020, 3)};
    CHECK_INT(probe_choose(s, 3), 1);
}

TEST(ties_keep_the_earlier)
{
    struct probe_sample s[3] = {good(0.010, 1), good(0.010, 2), good(0.020, 3)};
    CHECK_INT(probe_choose(s, 3), 0);
}

TEST(no_error_beats_error_even_with_higher_rtt)
{
    struct probe_sample s[3] = {partial(0.001, "unsynchronized"), good(0.050, 2), timeout()};
    CHECK_INT(probe_choose(s, 3), 1);
}

TEST(partial_reply_beats_timeout)
{
    struct probe_sample s[3] = {timeout(), partial(0.040, "bad stratum 12"), timeout()};
    CHECK_INT(probe_choose(s, 3), 1);
    struct probe_sample t[2] = {partial(0.040, "unsynchronized"), partial(0.020, "unsynchronized")};
    CHECK_INT(probe_choose(t, 2), 1);
}

TEST(all_timeouts_keep_the_first)
{
    struct probe_sample s[3] = {timeout(), timeout(), timeout()};
    CHECK_INT(probe_choose(s, 3), 0);
}

TEST(a_sample_that_ends_the_probe_is_chosen)
{
    struct probe_sample s[2] = {good(0.010, 1), partial(0.020, "RATE")};
    s[1].ends_probe = true;
    s[1].s.has_offset = false;
    CHECK_INT(probe_choose(s, 2), 1);
}

TEST(result_takes_the_chosen_sample)
{
    struct probe_sample s[3] = {timeout(), good(0.012345, 0.000123), good(0.02, 0.5)};
    strcpy(s[1].s.refid, "GPS");
    s[1].s.ts_us = 1700000000123456LL;
    struct probe_outcome o = {.n = 3, .chosen = 1, .samples = s};
    netaddr_parse("192.0.2.1", &o.addr);
    struct msg_result r;
    memset(&r, 0, sizeof r);
    probe_outcome_to_result(&o, &r);
    CHECK_STR(r.ip, "192.0.2.1");
    CHECK_INT(r.n_samples, 3);
    CHECK(r.has_offset && r.has_rtt);
    CHECK_NEAR(r.offset, 0.000123, 1e-12);
    CHECK_NEAR(r.rtt, 0.012345, 1e-12);
    CHECK_STR(r.refid, "GPS");
    CHECK_STR(r.error, "");
    CHECK_INT(r.ts_us, 1700000000123456LL);
    CHECK_STR(r.samples[0].error, "timeout");
    CHECK(!r.samples[0].has_offset);
}

TEST(clock_check_failures_allowed)
{
    /* n − ⌊(n+2)/2⌋ failures allowed */
    CHECK(clockcheck_healthy(1, 0));
    CHECK(!clockcheck_healthy(1, 1));
    CHECK(clockcheck_healthy(2, 0));
    CHECK(!clockcheck_healthy(2, 1));
    CHECK(clockcheck_healthy(3, 1));
    CHECK(!clockcheck_healthy(3, 2));
    CHECK(clockcheck_healthy(4, 1));
    CHECK(!clockcheck_healthy(4, 2));
    CHECK(clockcheck_healthy(5, 2));
    CHECK(!clockcheck_healthy(5, 3));
    CHECK(clockcheck_healthy(6, 2));
    CHECK(!clockcheck_healthy(6, 3));
}

int main(void)
{
    RUN(lower_rtt_wins_among_good);
    RUN(ties_keep_the_earlier);
    RUN(no_error_beats_error_even_with_higher_rtt);
    RUN(partial_reply_beats_timeout);
    RUN(all_timeouts_keep_the_first);
    RUN(a_sample_that_ends_the_probe_is_chosen);
    RUN(result_takes_the_chosen_sample);
    RUN(clock_check_failures_allowed);
    return unit_done();
}
