/* test_check.c — the ad-hoc check's roster (status messages in, who serves which family out) and the pool's rule
 * for a healthy answer. The fan-out itself runs against a real broker and agents in the integration tests. */
#include "check.h"
#include "unit.h"

static int update(struct check_roster *r, const char *name, const char *json)
{
    char err[MSG_ERR_LEN];
    return check_roster_update(r, name, json, strlen(json), 1000, err);
}

TEST(roster)
{
    struct check_roster r = {0};
    CHECK_INT(update(&r, "zrh1", "{\"online\":true,\"ipv4\":true,\"ipv6\":true}"), 0);
    CHECK_INT(update(&r, "ams1", "{\"online\":true,\"ipv4\":true,\"ipv6\":false}"), 0);
    CHECK_INT(update(&r, "lax1", "{\"online\":false}"), 0);
    CHECK_INT(r.n, 3);
    CHECK_STR(r.m[0].name, "ams1"); /* kept sorted */
    CHECK_STR(r.m[2].name, "zrh1");
    CHECK_INT(check_roster_serving(&r, 4), 2);
    CHECK_INT(check_roster_serving(&r, 6), 1);
    /* a monitor goes offline (its will), then comes back serving IPv6 */
    CHECK_INT(update(&r, "zrh1", "{\"online\":false}"), 0);
    CHECK_INT(check_roster_serving(&r, 6), 0);
    CHECK_INT(update(&r, "lax1", "{\"online\":true,\"ipv4\":false,\"ipv6\":true}"), 0);
    CHECK_INT(check_roster_serving(&r, 6), 1);
    /* bad input is refused and changes nothing */
    CHECK(update(&r, "ams1", "{\"online\":\"yes\"}") < 0);
    CHECK(update(&r, "bad name", "{\"online\":true}") < 0);
    CHECK(update(&r, "ams1", "not json") < 0);
    CHECK_INT(check_roster_serving(&r, 4), 1);
    /* an empty retained message forgets the monitor */
    char err[MSG_ERR_LEN];
    CHECK_INT(check_roster_update(&r, "ams1", "", 0, 0, err), 0);
    CHECK_INT(r.n, 2);
    CHECK_INT(check_roster_serving(&r, 4), 0);
    check_roster_free(&r);
    CHECK_INT(r.n, 0);
}

TEST(healthy)
{
    struct msg_result r = {.stratum = 2, .leap = 0};
    CHECK(check_result_healthy(&r));
    r.leap = 1;
    CHECK(check_result_healthy(&r)); /* a leap second announced is fine */
    r.leap = 3;
    CHECK(!check_result_healthy(&r));
    r.leap = 0;
    r.stratum = 8;
    CHECK(!check_result_healthy(&r));
    r.stratum = 7;
    CHECK(check_result_healthy(&r));
    r.stratum = 0;
    CHECK(!check_result_healthy(&r));
    r.stratum = 1;
    snprintf(r.error, sizeof r.error, "timeout");
    CHECK(!check_result_healthy(&r));
}

TEST(defaults)
{
    struct check_params p;
    check_params_default(&p);
    CHECK(!p.all);
    CHECK_INT(p.want_healthy, 3);
    CHECK_INT(p.samples, 1);
    CHECK_INT(p.spacing_us, 400000);
    CHECK_INT(p.deadline_us, 8000000);
    char f[MSG_TOPIC_MAX];
    CHECK_INT(msg_filter_responses(f, sizeof f, "prod"), 0);
    CHECK_STR(f, "ntpmon/prod/responses/+/+");
    CHECK_INT(msg_filter_status_all(f, sizeof f, "prod"), 0);
    CHECK_STR(f, "ntpmon/prod/status/#");
}

int main(void)
{
    RUN(roster);
    RUN(healthy);
    RUN(defaults);
    return unit_done();
}
