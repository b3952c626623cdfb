/* test_msg.c — the message schema: topics build and parse, every message round-trips through its encoder and
 * decoder, and every malformed or missing field of a result is rejected with a reason naming the field. */
#include <stdlib.h>

#include "msg.h"
#include "unit.h"

static const char *const GOOD =
    "{\"v\":1,\"id\":\"01JD3XK5Q9M7Z8Y6W4V2T0S1R3\",\"monitor\":\"nl-ams1\",\"server_id\":1234,\"ip\":\"192.0.2.1\","
    "\"ts\":\"2026-11-23T19:00:00.123456Z\",\"status\":\"active\",\"offset\":0.000123,\"rtt\":0.012345,\"stratum\":2,"
    "\"leap\":0,\"refid\":\"GPS\",\"error\":\"\",\"samples\":[{\"ts\":\"2026-11-23T19:00:00.100000Z\",\"offset\":0.000123,"
    "\"rtt\":0.012345,\"stratum\":2,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\"},{\"ts\":\"2026-11-23T19:00:02.100000Z\","
    "\"stratum\":0,\"leap\":0,\"refid\":\"\",\"error\":\"timeout\"}],\"agent\":\"ntpmon-agent/0.1.0\"}";

TEST(topics_build_and_parse)
{
    char buf[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_RESULT, .server_id = 1234};
    strcpy(t.monitor, "nl-ams1");
    CHECK_INT(msg_topic_build(buf, sizeof buf, "prod", &t), 0);
    CHECK_STR(buf, "ntpmon/prod/results/1234/nl-ams1");
    struct msg_topic p;
    CHECK_INT(msg_topic_parse("prod", buf, &p), MSG_TOPIC_RESULT);
    CHECK_INT(p.server_id, 1234);
    CHECK_STR(p.monitor, "nl-ams1");
    CHECK_INT(msg_topic_parse("test", buf, &p), MSG_TOPIC_UNKNOWN); /* another env */

    struct { enum msg_topic_kind k; const char *want; } cases[] = {
        {MSG_TOPIC_MONITOR_STATUS, "ntpmon/prod/monitors/nl-ams1/status"},
        {MSG_TOPIC_ASSIGN, "ntpmon/prod/monitors/nl-ams1/assign"},
        {MSG_TOPIC_REQUEST_NTP, "ntpmon/prod/monitors/nl-ams1/requests/ntp"},
        {MSG_TOPIC_STORED, "ntpmon/prod/monitors/nl-ams1/stored"},
        {MSG_TOPIC_TOKEN_REQUEST, "ntpmon/prod/monitors/nl-ams1/token/request"},
        {MSG_TOPIC_TOKEN, "ntpmon/prod/monitors/nl-ams1/token"},
        {MSG_TOPIC_SCORES, "ntpmon/prod/scores/1234"},
        {MSG_TOPIC_SERVER_STATUS, "ntpmon/prod/status/servers/1234"},
        {MSG_TOPIC_SELECTION, "ntpmon/prod/status/selection/1234"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        t.kind = cases[i].k;
        CHECK_INT(msg_topic_build(buf, sizeof buf, "prod", &t), 0);
        CHECK_STR(buf, cases[i].want);
        CHECK_INT(msg_topic_parse("prod", buf, &p), cases[i].k);
    }
    t.kind = MSG_TOPIC_RESPONSE;
    strcpy(t.request_id, "req-42");
    CHECK_INT(msg_topic_build(buf, sizeof buf, "prod", &t), 0);
    CHECK_STR(buf, "ntpmon/prod/responses/nl-ams1/req-42");
    CHECK_INT(msg_topic_parse("prod", buf, &p), MSG_TOPIC_RESPONSE);
    CHECK_STR(p.request_id, "req-42");
}

TEST(topics_refuse_bad_names)
{
    char buf[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_ASSIGN};
    strcpy(t.monitor, "a/b");
    CHECK_INT(msg_topic_build(buf, sizeof buf, "prod", &t), -1);
    strcpy(t.monitor, "+");
    CHECK_INT(msg_topic_build(buf, sizeof buf, "prod", &t), -1);
    strcpy(t.monitor, "ok");
    CHECK_INT(msg_topic_build(buf, sizeof buf, "PROD", &t), -1);
    t.kind = MSG_TOPIC_SCORES;
    t.server_id = 0;
    CHECK_INT(msg_topic_build(buf, sizeof buf, "prod", &t), -1);
    struct msg_topic p;
    CHECK_INT(msg_topic_parse("prod", "ntpmon/prod/results/0123/x", &p), MSG_TOPIC_UNKNOWN);
    CHECK_INT(msg_topic_parse("prod", "ntpmon/prod/results/12/x/y", &p), MSG_TOPIC_UNKNOWN);
    CHECK_INT(msg_topic_parse("prod", "ntpmon/prod/results/99999999999999999/x", &p), MSG_TOPIC_UNKNOWN);
    CHECK_INT(msg_topic_parse("prod", "/ntpmon/prod/results/12/x", &p), MSG_TOPIC_UNKNOWN);
    CHECK(msg_name_is_valid("us-lax1.example_2"));
    CHECK(!msg_name_is_valid(""));
    CHECK(!msg_name_is_valid("-x"));
    CHECK(!msg_name_is_valid("x y"));
}

TEST(filters)
{
    char buf[MSG_TOPIC_MAX];
    msg_filter_results_shared(buf, sizeof buf, "ingest", "test");
    CHECK_STR(buf, "$share/ingest/ntpmon/test/results/#");
    msg_filter_monitor_all(buf, sizeof buf, "test", "m1");
    CHECK_STR(buf, "ntpmon/test/monitors/m1/#");
    msg_filter_monitor_statuses(buf, sizeof buf, "test");
    CHECK_STR(buf, "ntpmon/test/monitors/+/status");
}

TEST(result_decodes_every_field)
{
    struct msg_result r;
    char err[MSG_ERR_LEN] = "";
    CHECK_INT(msg_result_decode(GOOD, strlen(GOOD), &r, err), 0);
    CHECK_STR(err, "");
    CHECK_STR(r.id, "01JD3XK5Q9M7Z8Y6W4V2T0S1R3");
    CHECK_STR(r.monitor, "nl-ams1");
    CHECK(r.has_server_id);
    CHECK_INT(r.server_id, 1234);
    CHECK_STR(r.ip, "192.0.2.1");
    CHECK_INT(r.ts_us, 1795460400123456LL);
    CHECK_INT(r.status, MSG_STATUS_ACTIVE);
    CHECK(r.has_offset && r.has_rtt);
    CHECK_NEAR(r.offset, 0.000123, 1e-15);
    CHECK_NEAR(r.rtt, 0.012345, 1e-15);
    CHECK_INT(r.stratum, 2);
    CHECK_STR(r.refid, "GPS");
    CHECK_INT(r.n_samples, 2);
    CHECK_STR(r.samples[1].error, "timeout");
    CHECK(!r.samples[1].has_offset);
    CHECK_STR(r.agent, "ntpmon-agent/0.1.0");
}

TEST(result_round_trips)
{
    struct msg_result r, r2;
    char err[MSG_ERR_LEN];
    CHECK_INT(msg_result_decode(GOOD, strlen(GOOD), &r, err), 0);
    char *enc = msg_result_encode(&r);
    CHECK(enc != NULL);
    CHECK_STR(enc, GOOD); /* same fields, same order, same digits */
    CHECK_INT(msg_result_decode(enc, strlen(enc), &r2, err), 0);
    CHECK(memcmp(&r, &r2, sizeof r) == 0);
    free(enc);
}

/* Replaces the first occurrence of `from` in GOOD with `to` and expects decode to fail mentioning `why`. */
static void expect_reject(const char *from, const char *to, const char *why)
{
    char buf[4096];
    const char *at = strstr(GOOD, from);
    if (!at) {
        UNIT_FAIL("fixture lacks '%s'", from);
        return;
    }
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - GOOD), GOOD, to, at + strlen(from));
    struct msg_result r;
    char err[MSG_ERR_LEN] = "";
    int rc = msg_result_decode(buf, strlen(buf), &r, err);
    if (rc != -1) UNIT_FAIL("accepted: %s", buf);
    if (!strstr(err, why)) UNIT_FAIL("error '%s' does not mention '%s'", err, why);
}

TEST(result_rejects_malformed_fields)
{
    expect_reject("\"v\":1", "\"v\":2", "field 'v' is out of range");
    expect_reject("\"v\":1,", "", "field 'v' is missing");
    expect_reject("01JD3XK5Q9M7Z8Y6W4V2T0S1R3", "not-a-ulid", "field 'id' is not a ULID");
    expect_reject("\"id\":\"01JD3XK5Q9M7Z8Y6W4V2T0S1R3\",", "", "field 'id' is missing");
    expect_reject("\"monitor\":\"nl-ams1\"", "\"monitor\":\"nl/ams1\"", "not a valid monitor name");
    expect_reject("\"monitor\":\"nl-ams1\"", "\"monitor\":5", "field 'monitor' must be a string");
    expect_reject("\"server_id\":1234", "\"server_id\":\"1234\"", "field 'server_id' must be an integer");
    expect_reject("\"server_id\":1234", "\"server_id\":-4", "field 'server_id' is out of range");
    expect_reject("\"server_id\":1234", "\"server_id\":12.5", "field 'server_id' must be an integer");
    expect_reject("\"ip\":\"192.0.2.1\"", "\"ip\":\"192.0.2.300\"", "field 'ip' is not an IP address");
    expect_reject("\"ts\":\"2026-11-23T19:00:00.123456Z\"", "\"ts\":\"yesterday\"", "field 'ts' is not an RFC 3339 time");
    expect_reject("\"ts\":\"2026-11-23T19:00:00.123456Z\"", "\"ts\":\"1970-01-01T00:00:00Z\"", "field 'ts' is outside");
    expect_reject("\"status\":\"active\"", "\"status\":\"boss\"", "field 'status' must be");
    expect_reject("\"offset\":0.000123,\"rtt\"", "\"offset\":\"0.1\",\"rtt\"", "field 'offset' must be a number");
    expect_reject("\"offset\":0.000123,\"rtt\"", "\"offset\":NaN,\"rtt\"", "offset");
    expect_reject("\"offset\":0.000123,\"rtt\"", "\"offset\":1e300,\"rtt\"", "field 'offset' is out of range");
    expect_reject("\"offset\":0.000123,\"rtt\"", "\"offset\":1e999,\"rtt\"", "offset");
    expect_reject("\"offset\":0.000123,\"rtt\"", "\"rtt\"", "needs offset and rtt");
    expect_reject("\"stratum\":2,\"leap\"", "\"stratum\":256,\"leap\"", "field 'stratum' is out of range");
    expect_reject("\"leap\":0,\"refid\":\"GPS\",\"error\":\"\",\"samples\"", "\"leap\":4,\"refid\":\"GPS\",\"error\":\"\",\"samples\"", "field 'leap' is out of range");
    expect_reject("\"refid\":\"GPS\",\"error\":\"\",\"samples\"", "\"refid\":\"GPS\",\"samples\"", "field 'error' is missing");
    expect_reject("\"error\":\"\",\"samples\"", "\"error\":\"\\u0001\",\"samples\"", "control characters");
    expect_reject("\"samples\":[", "\"samples\":{\"a\":[", "invalid JSON");
    expect_reject("\"samples\":[", "\"samples\":7,\"x\":[", "field 'samples' must be an array");
    expect_reject("{\"ts\":\"2026-11-23T19:00:00.100000Z\",", "5,{\"ts\":\"2026-11-23T19:00:00.100000Z\",", "samples[0] must be an object");
    expect_reject("\"stratum\":0,\"leap\":0,\"refid\":\"\",\"error\":\"timeout\"", "\"stratum\":0,\"leap\":9,\"refid\":\"\",\"error\":\"timeout\"", "samples[1]: field 'leap'");
    expect_reject("\"agent\":\"ntpmon-agent/0.1.0\"}", "\"agent\":\"ntpmon-agent/0.1.0\"}x", "trailing data");
    expect_reject("\"agent\":\"ntpmon-agent/0.1.0\"}", "\"agent\":\"ntpmon-agent/0.1.0\"", "truncated");
}

TEST(result_rejects_non_objects_and_limits)
{
    struct msg_result r;
    char err[MSG_ERR_LEN];
    CHECK_INT(msg_result_decode("[1,2]", 5, &r, err), -1);
    CHECK_STR(err, "not a JSON object");
    CHECK_INT(msg_result_decode("", 0, &r, err), -1);
    CHECK_STR(err, "empty payload");
    CHECK_INT(msg_result_decode("{\"v\":1}\0junk", 12, &r, err), -1);
    CHECK_CONTAINS(err, "NUL byte");
    size_t big = 1 << 20;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = '\0';
    CHECK_INT(msg_result_decode(huge, big, &r, err), -1);
    CHECK_CONTAINS(err, "payload too large (1048576 bytes, max 65536)");
    free(huge);
    /* 17 samples */
    char buf[8192];
    int n = snprintf(buf, sizeof buf, "%.*s", (int)(strstr(GOOD, "\"samples\":[") - GOOD), GOOD);
    n += snprintf(buf + n, sizeof buf - (size_t)n, "\"samples\":[");
    for (int i = 0; i < 17; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%s{\"ts\":\"2026-11-23T19:00:00Z\",\"stratum\":0,\"leap\":0,\"refid\":\"\",\"error\":\"timeout\"}", i ? "," : "");
    snprintf(buf + n, sizeof buf - (size_t)n, "]}");
    CHECK_INT(msg_result_decode(buf, strlen(buf), &r, err), -1);
    CHECK_CONTAINS(err, "too many elements (17, max 16)");
}

TEST(validator_checks_topic)
{
    struct msg_result r;
    char err[MSG_ERR_LEN];
    CHECK_INT(msg_result_validate("prod", "ntpmon/prod/results/1234/nl-ams1", GOOD, strlen(GOOD), &r, err), 0);
    CHECK_INT(msg_result_validate("prod", "ntpmon/prod/results/1235/nl-ams1", GOOD, strlen(GOOD), &r, err), -1);
    CHECK_STR(err, "server_id 1234 does not match the topic's 1235");
    CHECK_INT(msg_result_validate("prod", "ntpmon/prod/results/1234/de-fra1", GOOD, strlen(GOOD), &r, err), -1);
    CHECK_STR(err, "monitor 'nl-ams1' does not match the topic's 'de-fra1'");
    CHECK_INT(msg_result_validate("prod", "ntpmon/prod/scores/1234", GOOD, strlen(GOOD), &r, err), -1);
    CHECK_CONTAINS(err, "topic is not ntpmon/prod/results/");
    /* a result without server_id (check output) is not valid on the results topic */
    const char *no_id = "{\"v\":1,\"id\":\"01JD3XK5Q9M7Z8Y6W4V2T0S1R3\",\"monitor\":\"nl-ams1\",\"ip\":\"192.0.2.1\","
                        "\"ts\":\"2026-11-23T19:00:00Z\",\"stratum\":0,\"leap\":0,\"refid\":\"\",\"error\":\"timeout\",\"samples\":[]}";
    CHECK_INT(msg_result_decode(no_id, strlen(no_id), &r, err), 0);
    CHECK(!r.has_server_id);
    CHECK_INT(msg_result_validate("prod", "ntpmon/prod/results/1234/nl-ams1", no_id, strlen(no_id), &r, err), -1);
    CHECK_STR(err, "field 'server_id' is missing");
    CHECK(msg_error_is_no_response("timeout"));
    CHECK(msg_error_is_no_response("network: unreachable"));
    CHECK(!msg_error_is_no_response("RATE"));
}

TEST(payload_limits_per_topic)
{
    CHECK_INT(msg_max_payload("prod", "ntpmon/prod/monitors/nl-ams1/assign"), MSG_MAX_ASSIGN_PAYLOAD);
    CHECK_INT(msg_max_payload("prod", "ntpmon/prod/results/1/nl-ams1"), MSG_MAX_PAYLOAD);
    CHECK_INT(msg_max_payload("prod", "ntpmon/test/monitors/nl-ams1/assign"), MSG_MAX_PAYLOAD); /* another env */
    CHECK_INT(msg_max_payload("prod", "ntpmon/prod/monitors/nl-ams1/assign/x"), MSG_MAX_PAYLOAD);
    CHECK_INT(msg_max_payload("prod", "anything"), MSG_MAX_PAYLOAD);
    /* the assign cap leaves room for the MQTT header, topic and properties under the broker's packet limit */
    CHECK(MSG_MAX_ASSIGN_PAYLOAD + MSG_TOPIC_MAX + 1024 < MSG_MAX_PACKET);
}

TEST(monitor_status_round_trip)
{
    struct msg_monitor_status s = {.online = true, .ipv4 = true, .ipv6 = false, .clock_ok = -1, .spool = 7,
                                   .spool_dropped = 2, .ts_us = 1795460400000000LL}, d;
    strcpy(s.version, "0.1.0");
    char *enc = msg_monitor_status_encode(&s);
    CHECK_STR(enc, "{\"online\":true,\"version\":\"0.1.0\",\"ipv4\":true,\"ipv6\":false,\"clock_ok\":null,\"spool\":7,"
                   "\"spool_dropped\":2,\"ts\":\"2026-11-23T19:00:00.000000Z\"}");
    char err[MSG_ERR_LEN];
    CHECK_INT(msg_monitor_status_decode(enc, strlen(enc), &d, err), 0);
    CHECK(memcmp(&s, &d, sizeof s) == 0);
    free(enc);
    CHECK_INT(msg_monitor_status_decode("{\"online\":false}", 16, &d, err), 0);
    CHECK(!d.online);
    CHECK_INT(msg_monitor_status_decode("{\"online\":\"yes\"}", 16, &d, err), -1);
    CHECK_STR(err, "field 'online' must be true or false");
}

TEST(assign_round_trip_and_errors)
{
    struct msg_assign_server servers[2] = {{1234, "192.0.2.1", MSG_STATUS_ACTIVE, 540, 3},
                                           {99, "2001:db8::1", MSG_STATUS_CANDIDATE, 7200, 1}};
    struct msg_assign a = {1795460400123LL, 1795460400123000LL, 2, servers}, d;
    char *enc = msg_assign_encode(&a);
    CHECK_STR(enc, "{\"seq\":1795460400123,\"ts\":\"2026-11-23T19:00:00.123000Z\",\"servers\":[{\"id\":1234,"
                   "\"ip\":\"192.0.2.1\",\"status\":\"active\",\"interval_s\":540,\"samples\":3},{\"id\":99,"
                   "\"ip\":\"2001:db8::1\",\"status\":\"candidate\",\"interval_s\":7200,\"samples\":1}]}");
    char err[MSG_ERR_LEN];
    CHECK_INT(msg_assign_decode(enc, strlen(enc), &d, err), 0);
    CHECK_INT(d.n_servers, 2);
    for (size_t i = 0; i < 2; i++) {
        CHECK_INT(d.servers[i].id, servers[i].id);
        CHECK_STR(d.servers[i].ip, servers[i].ip);
        CHECK_INT(d.servers[i].status, servers[i].status);
        CHECK_INT(d.servers[i].interval_s, servers[i].interval_s);
        CHECK_INT(d.servers[i].samples, servers[i].samples);
    }
    msg_assign_free(&d);
    free(enc);
    const char *bad = "{\"seq\":5,\"servers\":[{\"id\":1,\"ip\":\"192.0.2.1\",\"status\":\"active\",\"interval_s\":0}]}";
    CHECK_INT(msg_assign_decode(bad, strlen(bad), &d, err), -1);
    CHECK_STR(err, "servers[0]: field 'interval_s' is out of range (1..604800)");
    CHECK(d.servers == NULL);
    CHECK_INT(msg_assign_decode("{\"servers\":[]}", 14, &d, err), -1);
    CHECK_STR(err, "field 'seq' is missing");
}

TEST(request_stored_token_round_trips)
{
    char err[MSG_ERR_LEN];
    struct msg_ntp_request rq = {"2001:db8::5", 2}, rd;
    char *enc = msg_ntp_request_encode(&rq);
    CHECK_INT(msg_ntp_request_decode(enc, strlen(enc), &rd, err), 0);
    CHECK_STR(rd.ip, "2001:db8::5");
    CHECK_INT(rd.samples, 2);
    free(enc);
    CHECK_INT(msg_ntp_request_decode("{\"ip\":\"192.0.2.1\"}", 18, &rd, err), 0);
    CHECK_INT(rd.samples, 1);
    CHECK_INT(msg_ntp_request_decode("{\"ip\":\"192.0.2.1\",\"samples\":5}", 30, &rd, err), -1);
    CHECK_STR(err, "field 'samples' is out of range (1..4)");

    char ids[2][ULID_LEN + 1] = {"01JD3XK5Q9M7Z8Y6W4V2T0S1R3", "01JD3XK5Q9M7Z8Y6W4V2T0S1R4"};
    char rej[1][ULID_LEN + 1] = {"01JD3XK5Q9M7Z8Y6W4V2T0S1R5"};
    struct msg_stored st = {2, 1, ids, rej}, sd;
    enc = msg_stored_encode(&st);
    CHECK_STR(enc, "{\"ids\":[\"01JD3XK5Q9M7Z8Y6W4V2T0S1R3\",\"01JD3XK5Q9M7Z8Y6W4V2T0S1R4\"],"
                   "\"rejected\":[\"01JD3XK5Q9M7Z8Y6W4V2T0S1R5\"]}");
    CHECK_INT(msg_stored_decode(enc, strlen(enc), &sd, err), 0);
    CHECK_INT(sd.n_ids, 2);
    CHECK_INT(sd.n_rejected, 1);
    CHECK_STR(sd.rejected[0], "01JD3XK5Q9M7Z8Y6W4V2T0S1R5");
    msg_stored_free(&sd);
    free(enc);
    CHECK_INT(msg_stored_decode("{\"ids\":[\"nope\"]}", 16, &sd, err), -1);
    CHECK_STR(err, "ids[0] is not a ULID");

    struct msg_token t = {.token = "aaa.bbb.ccc", .exp = 1795460400}, td;
    enc = msg_token_encode(&t);
    CHECK_STR(enc, "{\"token\":\"aaa.bbb.ccc\",\"exp\":1795460400}");
    CHECK_INT(msg_token_decode(enc, strlen(enc), &td, err), 0);
    CHECK_STR(td.token, "aaa.bbb.ccc");
    CHECK_INT(td.exp, 1795460400);
    msg_token_free(&td);
    free(enc);
    enc = msg_error_encode("monitor is deleted");
    CHECK_INT(msg_token_decode(enc, strlen(enc), &td, err), 0);
    CHECK(td.token == NULL);
    CHECK_STR(td.error, "monitor is deleted");
    char etext[64];
    CHECK(msg_error_decode(enc, strlen(enc), etext, sizeof etext));
    CHECK_STR(etext, "monitor is deleted");
    CHECK(!msg_error_decode(GOOD, strlen(GOOD), etext, sizeof etext));
    free(enc);
}

TEST(score_status_selection_round_trips)
{
    char err[MSG_ERR_LEN];
    struct msg_score s = {1234, 19.5, 1, true, 1795460400000000LL, 5}, sd;
    char *enc = msg_score_encode(&s);
    CHECK_STR(enc, "{\"server_id\":1234,\"score\":19.5,\"step\":1,\"in_pool\":true,\"ts\":\"2026-11-23T19:00:00.000000Z\",\"monitors\":5}");
    CHECK_INT(msg_score_decode(enc, strlen(enc), &sd, err), 0);
    CHECK_INT(sd.server_id, 1234);
    CHECK_NEAR(sd.score, 19.5, 0);
    CHECK_NEAR(sd.step, 1, 0);
    CHECK(sd.in_pool);
    CHECK_INT(sd.ts_us, s.ts_us);
    CHECK_INT(sd.monitors, 5);
    free(enc);

    struct msg_server_status ss = {1234, false, 9.75, 1795460400000000LL, "score below 10", false}, ssd;
    enc = msg_server_status_encode(&ss);
    CHECK_INT(msg_server_status_decode(enc, strlen(enc), &ssd, err), 0);
    CHECK_INT(ssd.server_id, 1234);
    CHECK(!ssd.in_pool);
    CHECK_NEAR(ssd.score, 9.75, 0);
    CHECK_INT(ssd.ts_us, ss.ts_us);
    CHECK_STR(ssd.reason, "score below 10");
    free(enc);

    struct msg_selection_change ch[1] = {{"nl-ams1", MSG_STATUS_TESTING, MSG_STATUS_ACTIVE, "promotion"}};
    struct msg_selection sel = {1234, 1795460400000000LL, 1, ch}, seld;
    enc = msg_selection_encode(&sel);
    CHECK_STR(enc, "{\"server_id\":1234,\"changes\":[{\"monitor\":\"nl-ams1\",\"from\":\"testing\",\"to\":\"active\","
                   "\"reason\":\"promotion\"}],\"ts\":\"2026-11-23T19:00:00.000000Z\"}");
    CHECK_INT(msg_selection_decode(enc, strlen(enc), &seld, err), 0);
    CHECK_INT(seld.n_changes, 1);
    CHECK_STR(seld.changes[0].monitor, "nl-ams1");
    CHECK_INT(seld.changes[0].from, MSG_STATUS_TESTING);
    CHECK_INT(seld.changes[0].to, MSG_STATUS_ACTIVE);
    CHECK_STR(seld.changes[0].reason, "promotion");
    msg_selection_free(&seld);
    free(enc);
    const char *bad = "{\"server_id\":1,\"ts\":\"2026-11-23T19:00:00Z\",\"changes\":[{\"monitor\":\"m\",\"from\":\"x\",\"to\":\"active\"}]}";
    CHECK_INT(msg_selection_decode(bad, strlen(bad), &seld, err), -1);
    CHECK_CONTAINS(err, "changes[0]");
}

TEST(number_format)
{
    char s[48];
    msg_format_number(0.000123, s);
    CHECK_STR(s, "0.000123");
    msg_format_number(20, s);
    CHECK_STR(s, "20");
    msg_format_number(-3.5, s);
    CHECK_STR(s, "-3.5");
    msg_format_number(-0.0000000001, s);
    CHECK_STR(s, "0");
    msg_format_number(1.0 / 3, s);
    CHECK_STR(s, "0.333333333");
    msg_format_number(1e20, s);
    CHECK_STR(s, "1e+20");
}

TEST(zone_alerts_and_held_status)
{
    char buf[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_ZONE_STATUS, .zone = "au"}, p;
    CHECK_INT(msg_topic_build(buf, sizeof buf, "prod", &t), 0);
    CHECK_STR(buf, "ntpmon/prod/status/zones/au");
    CHECK_INT(msg_topic_parse("prod", buf, &p), MSG_TOPIC_ZONE_STATUS);
    CHECK_STR(p.zone, "au");
    strcpy(t.zone, "xx");
    CHECK_INT(msg_topic_build(buf, sizeof buf, "prod", &t), -1);
    CHECK_INT(msg_topic_parse("prod", "ntpmon/prod/status/zones/xx", &p), MSG_TOPIC_UNKNOWN);
    CHECK_INT(msg_topic_parse("prod", "ntpmon/prod/status/zones/+", &p), MSG_TOPIC_UNKNOWN);

    struct msg_zone_alert a = {.zone = "au", .held = 4, .in_pool = 20, .leaving = 5, .fraction = 0.25,
                               .n_monitors = 2, .monitors = {"zrh1", "fra2"}, .ts_us = 1795460400000000LL};
    char *json = msg_zone_alert_encode(&a);
    CHECK_STR(json, "{\"zone\":\"au\",\"held\":4,\"in_pool\":20,\"leaving\":5,\"fraction\":0.25,"
                    "\"monitors_answering\":[\"zrh1\",\"fra2\"],\"ts\":\"2026-11-23T19:00:00.000000Z\"}");
    struct msg_zone_alert b;
    char err[MSG_ERR_LEN];
    CHECK_INT(msg_zone_alert_decode(json, strlen(json), &b, err), 0);
    CHECK_STR(b.zone, "au");
    CHECK_INT(b.held, 4);
    CHECK_INT(b.n_monitors, 2);
    CHECK_STR(b.monitors[1], "fra2");
    free(json);
    const char *bad = "{\"zone\":\"mars\",\"held\":1,\"in_pool\":1,\"leaving\":1,\"fraction\":1,"
                      "\"monitors_answering\":[],\"ts\":\"2026-11-23T19:00:00Z\"}";
    CHECK_INT(msg_zone_alert_decode(bad, strlen(bad), &b, err), -1);
    CHECK_CONTAINS(err, "zone");

    struct msg_server_status st = {.server_id = 7, .in_pool = true, .held = true, .score = 4.5,
                                   .ts_us = 1795460400000000LL};
    strcpy(st.reason, "held: zone au");
    json = msg_server_status_encode(&st);
    CHECK_CONTAINS(json, "\"in_pool\":true,\"held\":true,");
    struct msg_server_status st2;
    CHECK_INT(msg_server_status_decode(json, strlen(json), &st2, err), 0);
    CHECK(st2.held);
    free(json);
    st.held = false; /* not held: the field is left out (payloads as before the guard) */
    json = msg_server_status_encode(&st);
    CHECK(!strstr(json, "held\":"));
    free(json);
}

int main(void)
{
    RUN(zone_alerts_and_held_status);
    RUN(topics_build_and_parse);
    RUN(topics_refuse_bad_names);
    RUN(filters);
    RUN(result_decodes_every_field);
    RUN(result_round_trips);
    RUN(result_rejects_malformed_fields);
    RUN(result_rejects_non_objects_and_limits);
    RUN(validator_checks_topic);
    RUN(payload_limits_per_topic);
    RUN(monitor_status_round_trip);
    RUN(assign_round_trip_and_errors);
    RUN(request_stored_token_round_trips);
    RUN(score_status_selection_round_trips);
    RUN(number_format);
    return unit_done();
}
