/* test_ulid_time.c — ULIDs (format, time, monotonic order) and the time text functions (RFC 3339 µs, SQL,
 * durations), including leap years, offsets and bad input. */
#include <stdlib.h>

#include "timeutil.h"
#include "ulid.h"
#include "unit.h"

TEST(ulid_format_and_time)
{
    char id[ULID_LEN + 1];
    ulid_new_at(1795460400123LL, id);
    CHECK_INT(strlen(id), 26);
    CHECK(ulid_is_valid(id));
    CHECK_INT(ulid_time_ms(id), 1795460400123LL);
    /* the spec's example time prefix: 1469918176385 -> "01ARYZ6S41" */
    ulid_new_at(1469918176385LL, id);
    CHECK(strncmp(id, "01ARYZ6S41", 10) == 0);
    CHECK(!ulid_is_valid("01ARYZ6S41TSV4RRFFQ69G5FA"));   /* 25 chars */
    CHECK(!ulid_is_valid("01ARYZ6S41TSV4RRFFQ69G5FAVU")); /* U is not in the alphabet */
    CHECK(!ulid_is_valid("81ARYZ6S41TSV4RRFFQ69G5FAV"));  /* overflows 128 bits */
    CHECK(ulid_is_valid("01aryz6s41tsv4rrffq69g5fav"));   /* case-insensitive */
    CHECK_INT(ulid_time_ms("nope"), -1);
}

TEST(ulid_monotonic_and_unique)
{
    enum { N = 20000 };
    char (*ids)[ULID_LEN + 1] = malloc(N * sizeof *ids);
    for (int i = 0; i < N; i++) ulid_new(ids[i]);
    int out_of_order = 0;
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) >= 0) out_of_order++;
    CHECK_INT(out_of_order, 0);
    /* within one fixed millisecond, still strictly increasing */
    char a[ULID_LEN + 1], b[ULID_LEN + 1];
    ulid_new_at(1795460400000LL, a);
    ulid_new_at(1795460400000LL, b);
    CHECK(strcmp(a, b) < 0);
    free(ids);
}

TEST(ulid_canonical_form)
{
    char out[ULID_LEN + 1] = "x";
    CHECK(ulid_canonical("01jd3xk5q9m7z8y6w4v2t0s1r3", out));
    CHECK_STR(out, "01JD3XK5Q9M7Z8Y6W4V2T0S1R3");
    CHECK(ulid_canonical(out, out)); /* in place */
    CHECK_STR(out, "01JD3XK5Q9M7Z8Y6W4V2T0S1R3");
    CHECK(!ulid_canonical("01JD3XK5Q9M7Z8Y6W4V2T0S1R", out)); /* 25 characters */
    CHECK_STR(out, "");
    CHECK(!ulid_canonical("01JD3XK5Q9M7Z8Y6W4V2T0S1RU", out)); /* U is not Crockford base32 */
    CHECK(!ulid_canonical("81JD3XK5Q9M7Z8Y6W4V2T0S1R3", out)); /* over 128 bits */
    CHECK(!ulid_canonical("", out));
}

TEST(rfc3339_format_and_parse)
{
    char s[TIME_RFC3339_LEN];
    CHECK_INT(time_format_rfc3339(1795460400123456LL, s), 0);
    CHECK_STR(s, "2026-11-23T19:00:00.123456Z");
    int64_t us;
    CHECK_INT(time_parse_rfc3339("2026-11-23T19:00:00.123456Z", &us), 0);
    CHECK_INT(us, 1795460400123456LL);
    CHECK_INT(time_parse_rfc3339("2026-11-23T20:00:00.123456789+01:00", &us), 0);
    CHECK_INT(us, 1795460400123456LL);
    CHECK_INT(time_parse_rfc3339("2026-11-23T19:00:00Z", &us), 0);
    CHECK_INT(us, 1795460400000000LL);
    CHECK_INT(time_parse_rfc3339("2024-02-29T00:00:00Z", &us), 0);
    CHECK_INT(time_parse_rfc3339("2023-02-29T00:00:00Z", &us), -1);
    CHECK_INT(time_parse_rfc3339("2026-11-23 19:00:00Z", &us), -1);
    CHECK_INT(time_parse_rfc3339("2026-11-23T19:00:00", &us), -1);
    CHECK_INT(time_parse_rfc3339("2026-11-23T19:00:00.Z", &us), -1);
    CHECK_INT(time_parse_rfc3339("2026-11-23T24:00:00Z", &us), -1);
    CHECK_INT(time_parse_rfc3339("2026-11-23T19:00:00Zjunk", &us), -1);
    CHECK_INT(time_parse_rfc3339(NULL, &us), -1);
    CHECK_INT(time_format_rfc3339(0, s), 0);
    CHECK_STR(s, "1970-01-01T00:00:00.000000Z");
    CHECK_INT(time_format_rfc3339(-1, s), 0);
    CHECK_STR(s, "1969-12-31T23:59:59.999999Z");
}

TEST(sql_time)
{
    char s[32];
    time_format_sql(1795460400987654LL, s);
    CHECK_STR(s, "2026-11-23 19:00:00");
    time_format_sql_us(1795460400987654LL, s);
    CHECK_STR(s, "2026-11-23 19:00:00.987654");
    int64_t us;
    CHECK_INT(time_parse_sql("2026-11-23 19:00:00.987654", &us), 0);
    CHECK_INT(us, 1795460400987654LL);
    CHECK_INT(time_parse_sql("2026-11-23 19:00:00", &us), 0);
    CHECK_INT(us, 1795460400000000LL);
}

TEST(durations)
{
    int64_t us;
    CHECK_INT(time_parse_duration("540", &us), 0);
    CHECK_INT(us, 540000000LL);
    CHECK_INT(time_parse_duration("9m", &us), 0);
    CHECK_INT(us, 540000000LL);
    CHECK_INT(time_parse_duration("1.5s", &us), 0);
    CHECK_INT(us, 1500000);
    CHECK_INT(time_parse_duration("250ms", &us), 0);
    CHECK_INT(us, 250000);
    CHECK_INT(time_parse_duration("30d", &us), 0);
    CHECK_INT(us, 2592000000000LL);
    CHECK_INT(time_parse_duration("6h", &us), 0);
    CHECK_INT(us, 21600000000LL);
    CHECK_INT(time_parse_duration("-1s", &us), -1);
    CHECK_INT(time_parse_duration("5 minutes", &us), -1);
    CHECK_INT(time_parse_duration("", &us), -1);
    CHECK_INT(time_parse_duration("1e30d", &us), -1);
}

TEST(days_from_civil)
{
    CHECK_INT(time_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(time_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(time_days_from_civil(1900, 1, 1), -25567);
}

int main(void)
{
    RUN(ulid_format_and_time);
    RUN(ulid_monotonic_and_unique);
    RUN(ulid_canonical_form);
    RUN(rfc3339_format_and_parse);
    RUN(sql_time);
    RUN(durations);
    RUN(days_from_civil);
    return unit_done();
}
