/* test_format_number.c — msg_format_number's fast path prints exactly what printf's %.9f (trimmed) prints: random
 * values of every magnitude the scorer meets, decimals as JSON carries them, exact ties, and the edges. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "unit.h"

static uint64_t state = 0x9e3779b97f4a7c15ULL;
static uint64_t next_u64(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static int mismatches;
static void same(double v)
{
    char a[48], b[48];
    msg_format_number(v, a);
    msg_format_number_reference(v, b);
    if (strcmp(a, b) != 0 && mismatches++ < 10) UNIT_FAIL("%.17g: fast '%s', printf '%s'", v, a, b);
}

TEST(random_magnitudes)
{
    for (int i = 0; i < 1000000; i++) {
        double mant = (double)(next_u64() >> 11) / 9007199254740992.0; /* [0, 1) */
        int e = (int)(next_u64() % 28) - 14;                           /* 1e-14 .. 1e13 */
        double v = mant * pow(10, e);
        same((next_u64() & 1) ? v : -v);
    }
    CHECK_INT(mismatches, 0);
}

TEST(json_decimals)
{
    /* what arrives in messages: a few decimals, parsed to the nearest double */
    char text[64];
    for (int i = 0; i < 400000; i++) {
        int decimals = (int)(next_u64() % 12);
        long long k = (long long)(next_u64() % 100000000000ULL);
        snprintf(text, sizeof text, "%lld.%0*lld", k / 100000, decimals ? decimals : 1, k % (long long)pow(10, decimals ? decimals : 1));
        double v = strtod(text, NULL) / ((next_u64() & 1) ? 1 : 1000);
        same(v);
        same(-v);
        same(v * 0.95 + 1); /* scores: prev·0.95 + step */
    }
    CHECK_INT(mismatches, 0);
}

TEST(ties_and_edges)
{
    /* exact ties at the 10th decimal (dyadic values): printf rounds to even */
    for (int m = 1; m < 200000; m++) same(m / 1024.0);
    for (int m = 1; m < 200000; m++) same(m * 0x1p-30);
    const double edges[] = {0, -0.0, 1e-10, -1e-10, 5e-10, 4.9999999999e-10, 5.0000000001e-10, 0.9999999995,
                            0.99999999949, 1.0000000005, 20, -20, 19.999999999999996, 1e6 - 1e-9, 999999.9999999995,
                            1e6, 1e6 + 0.1, 123456789.123456789, 1e14, 9.99999999999999e14, -5, -3.5, 0.83365,
                            -2.34157, 3.56725066875, 0.000123, 1.0 / 3};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) same(edges[i]);
    char s[48];
    msg_format_number(3.56725066875, s);
    CHECK_STR(s, "3.567250669");
    msg_format_number(-0.0, s);
    CHECK_STR(s, "0");
    msg_format_number(0.0009765625, s); /* a tie: printf's even digit */
    CHECK_STR(s, "0.000976562");
    CHECK_INT(mismatches, 0);
}

int main(void)
{
    RUN(random_magnitudes);
    RUN(json_decimals);
    RUN(ties_and_edges);
    return unit_done();
}
