/* unit.h — a tiny TAP unit-test harness: TEST(name) functions run by RUN(name); CHECK* record failures with
 * file:line and values; the binary prints "ok N - name" / "not ok N - name" and exits non-zero on any failure. */
#ifndef NTPMON_UNIT_H
#define NTPMON_UNIT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int unit_n, unit_failed, unit_current_failed;

#define TEST(name) static void name(void)

#define UNIT_FAIL(...)                                                                                             \
    do {                                                                                                           \
        unit_current_failed++;                                                                                     \
        printf("#   %s:%d: ", __FILE__, __LINE__);                                                                 \
        printf(__VA_ARGS__);                                                                                       \
        printf("\n");                                                                                              \
    } while (0)

#define CHECK(cond)                                                                                                \
    do {                                                                                                           \
        if (!(cond)) UNIT_FAIL("check failed: %s", #cond);                                                         \
    } while (0)
#define CHECK_INT(got, want)                                                                                       \
    do {                                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                                   \
        if (g_ != w_) UNIT_FAIL("%s == %lld, want %lld", #got, g_, w_);                                            \
    } while (0)
#define CHECK_STR(got, want)                                                                                       \
    do {                                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                                      \
        if (!g_ || strcmp(g_, w_) != 0) UNIT_FAIL("%s == \"%s\", want \"%s\"", #got, g_ ? g_ : "(null)", w_);     \
    } while (0)
#define CHECK_NEAR(got, want, eps)                                                                                 \
    do {                                                                                                           \
        double g_ = (got), w_ = (want);                                                                            \
        if (!(fabs(g_ - w_) <= (eps))) UNIT_FAIL("%s == %.12g, want %.12g ± %g", #got, g_, w_, (double)(eps));    \
    } while (0)
/* The error text contains a fragment (for "clear error" checks). */
#define CHECK_CONTAINS(got, fragment)                                                                              \
    do {                                                                                                           \
        const char *g_ = (got);                                                                                    \
        if (!g_ || !strstr(g_, fragment)) UNIT_FAIL("%s == \"%s\", want it to contain \"%s\"", #got, g_ ? g_ : "(null)", fragment); \
    } while (0)

static void unit_run(const char *name, void (*fn)(void))
{
    unit_current_failed = 0;
    fn();
    unit_n++;
    if (unit_current_failed) {
        unit_failed++;
        printf("not ok %d - %s\n", unit_n, name);
    } else {
        printf("ok %d - %s\n", unit_n, name);
    }
    fflush(stdout);
}
#define RUN(name) unit_run(#name, name)

static int unit_done(void)
{
    printf("1..%d\n", unit_n);
    return unit_failed ? 1 : 0;
}

#endif
