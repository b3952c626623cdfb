/* test_probe.c — the best-sample choice, the outcome → result mapping, and the clock check rule. */
#include <stdlib.h>
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

/* The result the agent makes from a reply must pass the shared validator whatever the server puts in its
 * timestamps (issue 19: receive = T−2000 s, transmit = T+2000 s made every result of that server unstorable). */
static int validate_one_sample(const struct probe_sample *smp, struct msg_result *back, char err[MSG_ERR_LEN])
{
    struct probe_sample s = *smp;
    struct probe_outcome o = {.n = 1, .chosen = 0, .samples = &s};
    netaddr_parse("192.0.2.1", &o.addr);
    struct msg_result r;
    memset(&r, 0, sizeof r);
    r.v = 1;
    strcpy(r.id, "01HZZZZZZZZZZZZZZZZZZZZZZZ");
    strcpy(r.monitor, "m1");
    r.has_server_id = true;
    r.server_id = 5;
    probe_outcome_to_result(&o, &r);
    char *json = msg_result_encode(&r);
    int rc = msg_result_validate("test", "ntpmon/test/results/5/m1", json, strlen(json), back, err);
    free(json);
    return rc;
}

TEST(hostile_timestamps_still_make_a_storable_result)
{
    const int64_t NS = 1000000000LL, t1 = 1795460400LL * NS;
    struct ntp_packet p = {.version = 4, .mode = NTP_MODE_SERVER, .stratum = 1, .refid = 0x47505300};
    p.receive = ntp_ts_from_unix_ns(t1 + 10000000 - 2000 * NS);
    p.transmit = ntp_ts_from_unix_ns(t1 + 10000000 + 2000 * NS);
    struct probe_sample s;
    probe_sample_from_reply(t1, &p, t1 + 20000000, &s);
    CHECK(s.replied && s.s.has_rtt && s.s.has_offset);
    CHECK(s.s.rtt == 0.0);
    CHECK_NEAR(s.s.offset, 0.0, 1e-6);
    CHECK_STR(s.s.error, "");
    struct msg_result back;
    char err[MSG_ERR_LEN] = "";
    CHECK_INT(validate_one_sample(&s, &back, err), 0);
    CHECK_STR(err, "");
    CHECK(back.rtt == 0.0);
    /* our own clock stepped 2 h forward between sending and receiving: still storable */
    p.receive = ntp_ts_from_unix_ns(t1 + 10000000);
    p.transmit = ntp_ts_from_unix_ns(t1 + 10001000);
    probe_sample_from_reply(t1, &p, t1 + 7200 * NS, &s);
    CHECK(s.s.rtt >= 0 && s.s.rtt <= MSG_MAX_RTT);
    CHECK_INT(validate_one_sample(&s, &back, err), 0);
    /* an honest reply is untouched */
    probe_sample_from_reply(t1, &p, t1 + 20000000, &s);
    CHECK_NEAR(s.s.rtt, 0.019999, 1e-9);
    CHECK_NEAR(s.s.offset, 0.0000005, 1e-9);
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
    RUN(hostile_timestamps_still_make_a_storable_result);
    RUN(clock_check_failures_allowed);
    return unit_done();
}
