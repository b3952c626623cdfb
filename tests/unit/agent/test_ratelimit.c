/* test_ratelimit.c — the ad-hoc request limiter: at most N in any window, exactly. */
#include "ratelimit.h"
#include "unit.h"

#define S 1000000LL

TEST(burst_of_100_in_a_second_lets_30_through)
{
    struct ratelimit r;
    ratelimit_init(&r, 30, 60 * S);
    int ok = 0;
    for (int i = 0; i < 100; i++) ok += ratelimit_take(&r, 1000 * S + i * 10000);
    CHECK_INT(ok, 30);
    ratelimit_free(&r);
}

TEST(window_slides)
{
    struct ratelimit r;
    ratelimit_init(&r, 3, 60 * S);
    CHECK(ratelimit_take(&r, 0));
    CHECK(ratelimit_take(&r, 10 * S));
    CHECK(ratelimit_take(&r, 20 * S));
    CHECK(!ratelimit_take(&r, 59 * S));
    CHECK(ratelimit_take(&r, 60 * S));  /* the first left the window */
    CHECK(!ratelimit_take(&r, 69 * S)); /* the second is 59 s old */
    CHECK(ratelimit_take(&r, 70 * S));
    CHECK(ratelimit_take(&r, 80 * S));
    CHECK(!ratelimit_take(&r, 80 * S));
    ratelimit_free(&r);
}

TEST(never_more_than_n_in_any_window)
{
    struct ratelimit r;
    ratelimit_init(&r, 30, 60 * S);
    long long accepted[4000];
    int n = 0;
    for (long long t = 0; t < 400 * S; t += S / 10)
        if (ratelimit_take(&r, t)) accepted[n++] = t;
    for (int i = 30; i < n; i++) CHECK(accepted[i] - accepted[i - 30] >= 60 * S);
    CHECK(n >= 30 * 400 / 60 - 1); /* and it does let the rate through */
    ratelimit_free(&r);
}

TEST(zero_refuses_everything)
{
    struct ratelimit r;
    ratelimit_init(&r, 0, 60 * S);
    CHECK(!ratelimit_take(&r, 0));
    CHECK(!ratelimit_take(&r, 1000 * S));
    ratelimit_free(&r);
}

int main(void)
{
    RUN(burst_of_100_in_a_second_lets_30_through);
    RUN(window_slides);
    RUN(never_more_than_n_in_any_window);
    RUN(zero_refuses_everything);
    return unit_done();
}
