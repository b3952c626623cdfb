/* test_history.c — the score-history parameters that need no database: the `since` formats. The query itself runs
 * against MariaDB in the integration tests (ntpmonctl log and ntpmon-web's /log print the same bytes). */
#include "history.h"
#include "unit.h"

TEST(since)
{
    int64_t us = -1;
    CHECK_INT(history_parse_since("1700000000", &us), 0);
    CHECK_INT(us, 1700000000LL * 1000000);
    CHECK_INT(history_parse_since("2023-11-14T22:13:20Z", &us), 0);
    CHECK_INT(us, 1700000000LL * 1000000);
    CHECK_INT(history_parse_since("2023-11-14 22:13:20", &us), 0);
    CHECK_INT(us, 1700000000LL * 1000000);
    CHECK_INT(history_parse_since("2023-11-14", &us), 0);
    CHECK_INT(us, (1700000000LL - 80000) * 1000000);
    CHECK_INT(history_parse_since("yesterday", &us), -1);
    CHECK_INT(history_parse_since("", &us), -1);
    CHECK_INT(history_parse_since("12abc", &us), -1);
}

int main(void)
{
    RUN(since);
    return unit_done();
}
