/* test_scorelog.c — the pool's CSV score log lines (common/scorelog): columns, number and time formats, empty
 * fields, and RFC 4180 quoting as Go's encoding/csv does it. */
#include <string.h>

#include "scorelog.h"
#include "unit.h"

#define T0 (1795460400LL * 1000000) /* 2026-11-23 19:00:00Z */

static const char *line(const struct scorelog_row *r)
{
    static char buf[512];
    CHECK(scorelog_csv_format(buf, sizeof buf, r) > 0);
    return buf;
}

TEST(monitor_row)
{
    struct scorelog_row r = {.ts_us = T0 + 123456, .has_offset = true, .offset = 0.000123, .step = 1, .score = 19.5,
                             .monitor_id = 42, .monitor_name = "nl-ams1", .has_rtt = true, .rtt_us = 12345,
                             .leap = 0, .error = ""};
    CHECK_STR(line(&r), "1795460400,2026-11-23 19:00:00,0.000123,1,19.5,42,nl-ams1,12.345,,");
    r.leap = 1;
    r.offset = -0.0000000004; /* below 9 decimals: prints as 0, never "-0" */
    CHECK_STR(line(&r), "1795460400,2026-11-23 19:00:00,0,1,19.5,42,nl-ams1,12.345,1,");
}

TEST(no_reply_row)
{
    struct scorelog_row r = {.ts_us = T0, .step = -5, .score = 14.275, .monitor_id = 3, .monitor_name = "us-lax1",
                             .error = "timeout"};
    CHECK_STR(line(&r), "1795460400,2026-11-23 19:00:00,,-5,14.275,3,us-lax1,,,timeout");
}

TEST(overall_row)
{
    struct scorelog_row r = {.ts_us = T0, .step = 0.83365, .score = 17.123456789123};
    CHECK_STR(line(&r), "1795460400,2026-11-23 19:00:00,,0.83365,17.123456789,0,,,,");
}

TEST(quoting)
{
    struct scorelog_row r = {.ts_us = T0, .step = -4, .score = -4, .monitor_id = 1, .monitor_name = "m",
                             .error = "network: connect, refused"};
    CHECK_STR(line(&r), "1795460400,2026-11-23 19:00:00,,-4,-4,1,m,,,\"network: connect, refused\"");
    r.error = "say \"hi\"";
    CHECK_STR(line(&r), "1795460400,2026-11-23 19:00:00,,-4,-4,1,m,,,\"say \"\"hi\"\"\"");
    r.error = " leading space";
    CHECK_STR(line(&r), "1795460400,2026-11-23 19:00:00,,-4,-4,1,m,,,\" leading space\"");
}

TEST(before_1970_and_overflow)
{
    struct scorelog_row r = {.ts_us = -1, .step = 1, .score = 1};
    CHECK_STR(line(&r), "-1,1969-12-31 23:59:59,,1,1,0,,,,");
    char small[16];
    CHECK_INT(scorelog_csv_format(small, sizeof small, &r), -1);
    CHECK_STR(SCORELOG_CSV_HEADER, "ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error");
}

int main(void)
{
    RUN(monitor_row);
    RUN(no_reply_row);
    RUN(overall_row);
    RUN(quoting);
    RUN(before_1970_and_overflow);
    return unit_done();
}
