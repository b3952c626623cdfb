/* test_msg_trace.c — trace messages and traceroute requests (common/msg): topics, encode/decode round trips, the
 * shared validator (topic agreement), and every kind of bad field refused with a reason. */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "unit.h"

#define ID "01JDQ3V5Z8N6W2K4M7P9R1T3X5"
#define GOOD                                                                                                       \
    "{\"v\":1,\"id\":\"" ID "\",\"monitor\":\"nl-ams1\",\"server_id\":1234,\"ip\":\"192.0.2.7\","                 \
    "\"ts\":\"2026-11-23T19:00:00.123456Z\",\"trigger\":\"status-change\",\"port\":123,\"reached\":true,"          \
    "\"hops\":[{\"ttl\":1,\"addr\":\"198.51.100.2\",\"rtt\":[0.001,0.0012,0.0011]},{\"ttl\":2,\"addr\":null,"     \
    "\"rtt\":[]},{\"ttl\":3,\"addr\":\"192.0.2.7\",\"rtt\":[0.004]}]}"
#define TOPIC "ntpmon/test/traces/1234/nl-ams1"

TEST(topics)
{
    struct msg_topic t = {.kind = MSG_TOPIC_TRACE, .server_id = 1234};
    strcpy(t.monitor, "nl-ams1");
    char buf[MSG_TOPIC_MAX];
    CHECK_INT(msg_topic_build(buf, sizeof buf, "test", &t), 0);
    CHECK_STR(buf, TOPIC);
    struct msg_topic p;
    CHECK_INT(msg_topic_parse("test", TOPIC, &p), MSG_TOPIC_TRACE);
    CHECK_INT(p.server_id, 1234);
    CHECK_STR(p.monitor, "nl-ams1");
    t.kind = MSG_TOPIC_REQUEST_TRACEROUTE;
    CHECK_INT(msg_topic_build(buf, sizeof buf, "test", &t), 0);
    CHECK_STR(buf, "ntpmon/test/monitors/nl-ams1/requests/traceroute");
    CHECK_INT(msg_topic_parse("test", buf, &p), MSG_TOPIC_REQUEST_TRACEROUTE);
    CHECK_INT(msg_topic_parse("test", "ntpmon/test/traces/0/nl-ams1", &p), MSG_TOPIC_UNKNOWN);
    CHECK_INT(msg_topic_parse("test", "ntpmon/test/traces/12/bad name", &p), MSG_TOPIC_UNKNOWN);
    CHECK_INT(msg_topic_parse("test", "ntpmon/test/traces/12", &p), MSG_TOPIC_UNKNOWN);
    CHECK_INT(msg_filter_traces(buf, sizeof buf, "test"), 0);
    CHECK_STR(buf, "ntpmon/test/traces/#");
    CHECK_INT(msg_filter_traces_shared(buf, sizeof buf, "ingest", "test"), 0);
    CHECK_STR(buf, "$share/ingest/ntpmon/test/traces/#");
    char name[MSG_NAME_MAX];
    CHECK(msg_trace_topic_publisher("test", "ntpmon/test/traces/x/nl-ams1", name));
    CHECK_STR(name, "nl-ams1");
    CHECK(!msg_trace_topic_publisher("test", "ntpmon/test/results/1/nl-ams1", name));
}

TEST(round_trip)
{
    struct msg_trace t;
    char err[MSG_ERR_LEN] = "";
    CHECK_INT(msg_trace_validate("test", TOPIC, GOOD, strlen(GOOD), &t, err), 0);
    CHECK_STR(err, "");
    CHECK_INT(t.server_id, 1234);
    CHECK_INT(t.trigger, MSG_TRIGGER_STATUS_CHANGE);
    CHECK_INT(t.port, 123);
    CHECK(t.reached);
    CHECK_INT(t.n_hops, 3);
    CHECK(!t.hops[1].has_addr);
    CHECK_INT(t.hops[0].n_rtt, 3);
    CHECK_NEAR(t.hops[0].rtt[1], 0.0012, 1e-12);
    char *json = msg_trace_encode(&t);
    CHECK_STR(json, GOOD);
    free(json);
    json = msg_trace_hops_encode(&t);
    CHECK(json && strstr(GOOD, json) != NULL);
    free(json);
    json = msg_trace_path_encode(&t);
    CHECK(json && strncmp(json, "{\"ip\":\"192.0.2.7\",\"port\":123,\"reached\":true,\"hops\":[", 52) == 0);
    free(json);
    CHECK_STR(msg_trace_trigger_str(MSG_TRIGGER_POOL_CHANGE), "pool-change");
    CHECK_INT(msg_trace_trigger_parse("request"), MSG_TRIGGER_REQUEST);
    CHECK_INT(msg_trace_trigger_parse("bogus"), MSG_TRIGGER_NONE);
}

/* Replaces the first occurrence of `from` in GOOD by `to` and expects the validator to refuse with `why`. */
static void refuse(const char *from, const char *to, const char *why)
{
    const char *good = GOOD;
    const char *at = strstr(good, from);
    if (!at) {
        UNIT_FAIL("'%s' not in the good message", from);
        return;
    }
    char bad[4096];
    snprintf(bad, sizeof bad, "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
    struct msg_trace t;
    char err[MSG_ERR_LEN] = "";
    if (msg_trace_validate("test", TOPIC, bad, strlen(bad), &t, err) == 0) UNIT_FAIL("accepted: %s", bad);
    else if (!strstr(err, why)) UNIT_FAIL("reason '%s' lacks '%s'", err, why);
}

TEST(bad_fields_are_refused)
{
    refuse("\"v\":1", "\"v\":2", "'v' is out of range");
    refuse(ID, "not-a-ulid", "not a ULID");
    refuse("\"monitor\":\"nl-ams1\"", "\"monitor\":\"other\"", "does not match the topic");
    refuse("\"server_id\":1234", "\"server_id\":99", "does not match the topic");
    refuse("\"server_id\":1234,", "", "'server_id' is missing");
    refuse("\"ip\":\"192.0.2.7\"", "\"ip\":\"example.org\"", "not an IP address");
    refuse("\"trigger\":\"status-change\"", "\"trigger\":\"whim\"", "'trigger' must be");
    refuse("\"port\":123", "\"port\":0", "'port' is out of range");
    refuse("\"reached\":true", "\"reached\":\"yes\"", "'reached' must be true or false");
    refuse("\"ttl\":2", "\"ttl\":1", "does not follow");
    refuse("\"ttl\":1", "\"ttl\":65", "out of range");
    refuse("\"addr\":null", "\"addr\":\"x\"", "not an IP address");
    refuse("\"addr\":null,", "", "'addr' is missing");
    refuse("\"rtt\":[]", "\"rtt\":[0.1]", "silent hop");
    refuse("0.0012", "-1", "out of range");
    refuse("0.0012", "\"fast\"", "must be a number");
    refuse("0.0012", "61", "out of range");
    refuse("\"addr\":\"192.0.2.7\"", "\"addr\":\"192.0.2.8\"", "ends with the server's own hop");
    refuse("\"hops\":[", "\"hops\":7,\"x\":[", "must be an array");
    refuse("\"ts\":\"2026-11-23T19:00:00.123456Z\"", "\"ts\":\"yesterday\"", "RFC 3339");
    /* more hops than a trace can have */
    char big[16384];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"v\":1,\"id\":\"" ID "\",\"monitor\":\"nl-ams1\",\"server_id\":1234,"
                                                 "\"ip\":\"192.0.2.7\",\"ts\":\"2026-11-23T19:00:00Z\",\"trigger\":\"request\","
                                                 "\"port\":123,\"reached\":false,\"hops\":[");
    for (int i = 1; i <= 65; i++) n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"ttl\":%d,\"addr\":null,\"rtt\":[]}", i > 1 ? "," : "", i);
    snprintf(big + n, sizeof big - n, "]}");
    struct msg_trace t;
    char err[MSG_ERR_LEN];
    CHECK_INT(msg_trace_validate("test", TOPIC, big, strlen(big), &t, err), -1);
    CHECK(strstr(err, "too many elements") != NULL);
    /* a result on a traces topic, garbage, and the wrong topic */
    CHECK_INT(msg_trace_validate("test", TOPIC, "{}", 2, &t, err), -1);
    CHECK_INT(msg_trace_validate("test", TOPIC, "[1]", 3, &t, err), -1);
    CHECK_INT(msg_trace_validate("test", "ntpmon/test/results/1234/nl-ams1", GOOD, strlen(GOOD), &t, err), -1);
    CHECK(strstr(err, "traces/<server_id>/<monitor>") != NULL);
}

TEST(traceroute_requests)
{
    struct msg_traceroute_request r;
    char err[MSG_ERR_LEN];
    const char *p = "{\"ip\":\"2001:DB8::0:1\",\"server_id\":7}";
    CHECK_INT(msg_traceroute_request_decode(p, strlen(p), &r, err), 0);
    CHECK_STR(r.ip, "2001:db8::1");
    CHECK(r.has_server_id);
    CHECK_INT(r.server_id, 7);
    CHECK_INT(r.trigger, MSG_TRIGGER_REQUEST);
    char *json = msg_traceroute_request_encode(&r);
    CHECK_STR(json, "{\"ip\":\"2001:db8::1\",\"server_id\":7}");
    free(json);
    r.trigger = MSG_TRIGGER_POOL_CHANGE;
    r.has_server_id = false;
    json = msg_traceroute_request_encode(&r);
    CHECK_STR(json, "{\"ip\":\"2001:db8::1\",\"trigger\":\"pool-change\"}");
    CHECK_INT(msg_traceroute_request_decode(json, strlen(json), &r, err), 0);
    CHECK_INT(r.trigger, MSG_TRIGGER_POOL_CHANGE);
    free(json);
    const char *bad[] = {"{}", "{\"ip\":\"nope\"}", "{\"ip\":\"192.0.2.1\",\"server_id\":0}",
                         "{\"ip\":\"192.0.2.1\",\"trigger\":\"status-change\"}", "{\"ip\":1}", "not json", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (msg_traceroute_request_decode(bad[i], strlen(bad[i]), &r, err) == 0) UNIT_FAIL("accepted %s", bad[i]);
}

int main(void)
{
    RUN(topics);
    RUN(round_trip);
    RUN(bad_fields_are_refused);
    RUN(traceroute_requests);
    return unit_done();
}
