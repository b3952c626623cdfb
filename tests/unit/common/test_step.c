/* test_step.c — the pool's step table (DESIGN.md §6, common/step.c): every row at and around its boundaries
 * (25 ms, 100 ms, 750 ms, 3 s, stratum 8), each KoD code, timeouts and network errors, the caps, and the EWMA
 * (+1 every time approaches 20 and never passes it). */
#include <math.h>
#include <string.h>

#include "step.h"
#include "unit.h"

static struct step ok_offset(double offset, int stratum)
{
    struct step_input in = {.stratum = stratum, .error = "", .has_offset = true, .offset = offset};
    return step_compute(&in);
}

static struct step with_error(const char *error, int stratum, bool has_offset, double offset)
{
    struct step_input in = {.no_response = msg_error_is_no_response(error), .stratum = stratum, .error = error,
                            .has_offset = has_offset, .offset = offset};
    return step_compute(&in);
}

#define CHECK_STEP(s, want_step, want_cap, want_cap_value)                                                         \
    do {                                                                                                           \
        struct step s_ = (s);                                                                                      \
        CHECK_NEAR(s_.step, (want_step), 1e-12);                                                                   \
        CHECK_INT(s_.has_cap, (want_cap));                                                                         \
        if (want_cap) CHECK_NEAR(s_.cap, (want_cap_value), 0);                                                     \
    } while (0)

TEST(no_response_is_minus_5)
{
    CHECK_STEP(with_error("timeout", 0, false, 0), -5, false, 0);
    CHECK_STEP(with_error("network: connection refused", 0, false, 0), -5, false, 0);
    CHECK_STEP(with_error("network: no route to host", 2, false, 0), -5, false, 0);
    /* first match: a timeout wins over everything below, even with an offset and a KoD-looking stratum */
    CHECK_STEP(with_error("timeout", 0, true, 5.0), -5, false, 0);
    /* not a no-response: "timeouts" and "networkish" are other errors */
    CHECK_STEP(with_error("timeouts", 2, false, 0), -4, false, 0);
    CHECK_STEP(with_error("networkish", 2, false, 0), -4, false, 0);
}

TEST(kiss_of_death_codes)
{
    CHECK_STEP(with_error("RATE", 0, false, 0), -3.5, false, 0);
    CHECK_STEP(with_error("RSTR", 0, false, 0), -10, true, -50);
    CHECK_STEP(with_error("DENY", 0, false, 0), -10, true, -50);
    /* stratum 0 with no error: −2, score at most 5 */
    CHECK_STEP(ok_offset(0.001, 0), -2, true, 5);
    {
        struct step_input in = {.stratum = 0, .error = "", .has_offset = false};
        CHECK_STEP(step_compute(&in), -2, true, 5);
    }
    /* every other KoD code is "any other error" */
    const char *others[] = {"ACST", "AUTH", "AUTO", "BCST", "CRYP", "DROP", "INIT", "MCST", "NKEY", "NTSN", "RMOT", "STEP"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) CHECK_STEP(with_error(others[i], 0, false, 0), -4, false, 0);
    /* the codes only count at stratum 0; case matters */
    CHECK_STEP(with_error("RATE", 2, false, 0), -4, false, 0);
    CHECK_STEP(with_error("DENY", 1, true, 0.001), -4, false, 0);
    CHECK_STEP(with_error("rate", 0, false, 0), -4, false, 0);
}

TEST(other_errors_and_missing_offset)
{
    CHECK_STEP(with_error("bad stratum 16", 16, false, 0), -4, false, 0);
    CHECK_STEP(with_error("bad stratum 0", 0, false, 0), -4, false, 0);
    CHECK_STEP(with_error("unsynchronized", 2, true, 0.0), -4, false, 0);
    /* an error wins over a good offset */
    CHECK_STEP(with_error("unsynchronized", 2, true, 5.0), -4, false, 0);
    /* no offset, no error (only the step function's own input can say this) */
    struct step_input in = {.stratum = 2, .error = "", .has_offset = false};
    CHECK_STEP(step_compute(&in), -4, false, 0);
    in.error = NULL; /* NULL error reads as "" */
    CHECK_STEP(step_compute(&in), -4, false, 0);
}

TEST(offset_over_3s)
{
    CHECK_STEP(ok_offset(3.0000001, 2), -4, true, -20);
    CHECK_STEP(ok_offset(-3.0000001, 2), -4, true, -20);
    CHECK_STEP(ok_offset(1000, 2), -4, true, -20);
    /* exactly 3 s is not "over": the 0.75 s row applies */
    CHECK_STEP(ok_offset(3.0, 2), -2, false, 0);
    CHECK_STEP(ok_offset(-3.0, 2), -2, false, 0);
    CHECK_STEP(ok_offset(2.9999999, 2), -2, false, 0);
    /* over 3 s comes before stratum ≥ 8: the cap applies */
    CHECK_STEP(ok_offset(3.5, 9), -4, true, -20);
}

TEST(stratum_8_and_up)
{
    CHECK_STEP(ok_offset(0.0, 8), -4, false, 0);
    CHECK_STEP(ok_offset(0.0, 15), -4, false, 0);
    CHECK_STEP(ok_offset(-0.5, 8), -4, false, 0);
    CHECK_STEP(ok_offset(0.0, 7), 1, false, 0);
    CHECK_STEP(ok_offset(2.0, 7), -2, false, 0);
    CHECK_STEP(ok_offset(0.0, 1), 1, false, 0);
}

TEST(offset_over_750ms)
{
    CHECK_STEP(ok_offset(0.7500001, 2), -2, false, 0);
    CHECK_STEP(ok_offset(-0.7500001, 2), -2, false, 0);
    CHECK_STEP(ok_offset(2.0, 2), -2, false, 0);
    /* exactly 750 ms is in the linear row: −2.308·0.75 + 0.731 */
    CHECK_STEP(ok_offset(0.75, 2), -2.308 * 0.75 + 0.731, false, 0);
    CHECK_NEAR(ok_offset(0.75, 2).step, -1.0, 1e-12);
}

TEST(offset_100_to_750ms)
{
    CHECK_STEP(ok_offset(0.7499999, 2), -2.308 * 0.7499999 + 0.731, false, 0);
    CHECK_STEP(ok_offset(0.5, 2), -2.308 * 0.5 + 0.731, false, 0);
    CHECK_NEAR(ok_offset(0.5, 2).step, -0.423, 1e-12);
    CHECK_STEP(ok_offset(-0.3, 2), -2.308 * 0.3 + 0.731, false, 0);
    CHECK_STEP(ok_offset(0.1000001, 2), -2.308 * 0.1000001 + 0.731, false, 0);
    CHECK_NEAR(ok_offset(0.1000001, 2).step, 0.5002, 1e-6);
    /* the zero crossing of this row: 0.731/2.308 ≈ 316.7 ms */
    CHECK(ok_offset(0.316, 2).step > 0);
    CHECK(ok_offset(0.317, 2).step < 0);
}

TEST(offset_25_to_100ms)
{
    /* exactly 100 ms belongs to this row: −6.667·0.1 + 1.167 */
    CHECK_STEP(ok_offset(0.1, 2), -6.667 * 0.1 + 1.167, false, 0);
    CHECK_NEAR(ok_offset(0.1, 2).step, 0.5003, 1e-12);
    CHECK_STEP(ok_offset(-0.1, 2), -6.667 * 0.1 + 1.167, false, 0);
    CHECK_STEP(ok_offset(0.05, 2), -6.667 * 0.05 + 1.167, false, 0);
    CHECK_NEAR(ok_offset(0.05, 2).step, 0.83365, 1e-12);
    CHECK_STEP(ok_offset(0.03, 2), -6.667 * 0.03 + 1.167, false, 0);
    /* just over 25 ms the line gives up to 1.00025: the row caps the step at 1 (up to ≈ 25.049 ms) */
    CHECK_STEP(ok_offset(0.0250001, 2), 1, false, 0);
    CHECK_STEP(ok_offset(0.02504, 2), 1, false, 0);
    CHECK_NEAR(ok_offset(0.02505, 2).step, -6.667 * 0.02505 + 1.167, 1e-12);
    CHECK(ok_offset(0.0251, 2).step < 1);
    CHECK_NEAR(ok_offset(0.0251, 2).step, -6.667 * 0.0251 + 1.167, 1e-12);
}

TEST(offset_up_to_25ms_is_plus_1)
{
    CHECK_STEP(ok_offset(0.025, 2), 1, false, 0);
    CHECK_STEP(ok_offset(-0.025, 2), 1, false, 0);
    CHECK_STEP(ok_offset(0.0249999, 2), 1, false, 0);
    CHECK_STEP(ok_offset(0.0, 2), 1, false, 0);
    CHECK_STEP(ok_offset(-0.000123, 1), 1, false, 0);
}

TEST(caps_are_at_most)
{
    /* DENY from a good score: 20·0.95 − 10 = 9, capped to −50 */
    struct step deny = with_error("DENY", 0, false, 0);
    CHECK_NEAR(step_apply(20, &deny), -50, 0);
    /* the cap never raises a score that is already lower (the pool's monitor API takes min(score, cap)) */
    CHECK_NEAR(step_apply(-100, &deny), -105, 1e-12);
    struct step zero = ok_offset(0.001, 0);
    CHECK_NEAR(step_apply(20, &zero), 5, 0);
    CHECK_NEAR(step_apply(4, &zero), 4 * 0.95 - 2, 1e-12);
    CHECK_NEAR(step_apply(0, &zero), -2, 1e-12);
    struct step far = ok_offset(10.0, 2);
    CHECK_NEAR(step_apply(20, &far), -20, 0);
    CHECK_NEAR(step_apply(-30, &far), -30 * 0.95 - 4, 1e-12);
    /* caps hold at the boundary: exactly the cap stays */
    CHECK_NEAR(step_apply((-20 + 4) / 0.95, &far), -20, 1e-12);
    /* rows without a cap only decay and add */
    struct step rate = with_error("RATE", 0, false, 0);
    CHECK_NEAR(step_apply(20, &rate), 15.5, 1e-12);
    struct step timeout = with_error("timeout", 0, false, 0);
    CHECK_NEAR(step_apply(10, &timeout), 4.5, 1e-12);
}

TEST(ewma_approaches_20)
{
    double score = 0; /* a new pair starts at 0 */
    struct step good = ok_offset(0.001, 2);
    for (int i = 1; i <= 400; i++) {
        double prev = score;
        score = step_apply(score, &good);
        CHECK(score > prev);
        CHECK(score <= STEP_STEADY_MAX);
        if (i == 1) CHECK_NEAR(score, 1, 0);
        if (i == 2) CHECK_NEAR(score, 1.95, 1e-12);
        if (i == 14) CHECK_NEAR(score, (1 - pow(0.95, 14)) / 0.05, 1e-9); /* the first time past 10 */
        if (i == 13) CHECK(score < 10);
        if (i == 14) CHECK(score >= 10);
    }
    CHECK_NEAR(score, 20, 1e-6);
    /* the steady maximum: at 20, +1 keeps it at 20 */
    CHECK_NEAR(step_apply(20, &good), 20, 1e-12);
    CHECK_NEAR(STEP_STEADY_MAX, 1 / (1 - STEP_DECAY), 1e-12);
}

TEST(ewma_recovers_after_timeouts)
{
    struct step good = ok_offset(0.001, 2), timeout = with_error("timeout", 0, false, 0);
    double score = 20;
    for (int i = 0; i < 3; i++) score = step_apply(score, &timeout);
    CHECK_NEAR(score, 20 * pow(0.95, 3) - 5 * (1 + 0.95 + 0.95 * 0.95), 1e-12);
    CHECK(score < 10);
    int n = 0;
    while (score < 10) {
        score = step_apply(score, &good);
        n++;
    }
    CHECK_INT(n, 11); /* three timeouts cost a server in the pool 11 good results (≈ 100 min at 540 s) */
    CHECK_NEAR(score, 10.264986420688386, 1e-9);
}

TEST(step_for_result_reads_a_message)
{
    struct msg_result r;
    memset(&r, 0, sizeof r);
    r.stratum = 2;
    r.has_offset = true;
    r.offset = -0.2;
    struct step s = step_for_result(&r);
    CHECK_NEAR(s.step, -2.308 * 0.2 + 0.731, 1e-12);
    strcpy(r.error, "timeout");
    r.has_offset = false;
    CHECK_NEAR(step_for_result(&r).step, -5, 0);
    strcpy(r.error, "RSTR");
    r.stratum = 0;
    s = step_for_result(&r);
    CHECK_NEAR(s.step, -10, 0);
    CHECK(s.has_cap);
}

int main(void)
{
    RUN(no_response_is_minus_5);
    RUN(kiss_of_death_codes);
    RUN(other_errors_and_missing_offset);
    RUN(offset_over_3s);
    RUN(stratum_8_and_up);
    RUN(offset_over_750ms);
    RUN(offset_100_to_750ms);
    RUN(offset_25_to_100ms);
    RUN(offset_up_to_25ms_is_plus_1);
    RUN(caps_are_at_most);
    RUN(ewma_approaches_20);
    RUN(ewma_recovers_after_timeouts);
    RUN(step_for_result_reads_a_message);
    return unit_done();
}
