/* test_intake.c — one MQTT message to one entry: valid results keep every field and their samples as JSON, refused
 * ones keep a bounded copy, a clear reason, the readable id and the publishing monitor. */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "unit.h"

#define TOPIC "ntpmon/test/results/42/nl-ams1"
static const char valid[] =
    "{\"v\":1,\"id\":\"01jd0000000000000000000001\",\"monitor\":\"nl-ams1\",\"server_id\":42,\"ip\":\"192.0.2.1\","
    "\"ts\":\"2026-11-23T19:00:00.123456Z\",\"status\":\"active\",\"offset\":0.000123,\"rtt\":0.012345,\"stratum\":2,"
    "\"leap\":0,\"refid\":\"GPS\",\"error\":\"\",\"samples\":[{\"ts\":\"2026-11-23T18:59:58.123456Z\",\"offset\":0.000123,"
    "\"rtt\":0.012345,\"stratum\":2,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\"},{\"ts\":\"2026-11-23T19:00:00.123456Z\","
    "\"stratum\":0,\"leap\":0,\"refid\":\"\",\"error\":\"timeout\"}],\"agent\":\"ntpmon-agent/0.1.0\"}";

TEST(valid_result_keeps_every_field)
{
    struct entry e;
    intake_message("test", TOPIC, valid, strlen(valid), 1234, &e);
    CHECK_INT(e.kind, ENTRY_RESULT);
    CHECK_STR(e.rec.id, "01JD0000000000000000000001"); /* upper-cased */
    CHECK_STR(e.rec.monitor, "nl-ams1");
    CHECK_STR(e.publisher, "nl-ams1");
    CHECK_INT(e.rec.server_id, 42);
    CHECK_STR(e.rec.ip, "192.0.2.1");
    CHECK_INT(e.rec.status, MSG_STATUS_ACTIVE);
    CHECK(e.rec.has_offset && e.rec.has_rtt);
    CHECK_NEAR(e.rec.offset, 0.000123, 1e-12);
    CHECK_NEAR(e.rec.rtt, 0.012345, 1e-12);
    CHECK_INT(e.rec.stratum, 2);
    CHECK_STR(e.rec.refid, "GPS");
    CHECK_STR(e.rec.error, "");
    CHECK_STR(e.rec.agent, "ntpmon-agent/0.1.0");
    CHECK_INT(e.received_us, 1234);
    CHECK_STR(e.samples_json,
              "[{\"ts\":\"2026-11-23T18:59:58.123456Z\",\"offset\":0.000123,\"rtt\":0.012345,\"stratum\":2,\"leap\":0,"
              "\"refid\":\"GPS\",\"error\":\"\"},{\"ts\":\"2026-11-23T19:00:00.123456Z\",\"stratum\":0,\"leap\":0,"
              "\"refid\":\"\",\"error\":\"timeout\"}]");
    CHECK_INT(e.payload_len, strlen(valid));
    CHECK(memcmp(e.payload, valid, e.payload_len) == 0);
    CHECK_STR(e.topic, TOPIC);
    entry_clear(&e);
}

TEST(refused_result_has_reason_id_and_publisher)
{
    struct entry e;
    const char *p = "{\"v\":1,\"id\":\"01JD0000000000000000000002\",\"monitor\":\"nl-ams1\",\"stratum\":\"2\"}";
    intake_message("test", TOPIC, p, strlen(p), 0, &e);
    CHECK_INT(e.kind, ENTRY_REJECT);
    CHECK_STR(e.rec.id, "01JD0000000000000000000002");
    CHECK_STR(e.rec.monitor, "nl-ams1");
    CHECK_STR(e.publisher, "nl-ams1");
    CHECK_STR(e.reason, "field 'ip' is missing");
    CHECK(e.samples_json == NULL);
    entry_clear(&e);

    intake_message("test", TOPIC, "{\"v\":1,", 7, 0, &e);
    CHECK_INT(e.kind, ENTRY_REJECT);
    CHECK_CONTAINS(e.reason, "invalid JSON");
    CHECK_STR(e.rec.id, "");
    CHECK_STR(e.rec.monitor, "");
    CHECK_STR(e.publisher, "nl-ams1"); /* the topic says who published */
    entry_clear(&e);
}

TEST(topic_and_payload_must_agree)
{
    struct entry e;
    intake_message("test", "ntpmon/test/results/43/nl-ams1", valid, strlen(valid), 0, &e);
    CHECK_INT(e.kind, ENTRY_REJECT);
    CHECK_STR(e.reason, "server_id 42 does not match the topic's 43");
    CHECK_STR(e.rec.id, "01JD0000000000000000000001");
    entry_clear(&e);

    intake_message("test", "ntpmon/test/results/42/other", valid, strlen(valid), 0, &e);
    CHECK_STR(e.reason, "monitor 'nl-ams1' does not match the topic's 'other'");
    CHECK_STR(e.publisher, "other"); /* the confirmation goes to whoever published */
    entry_clear(&e);

    intake_message("prod", TOPIC, valid, strlen(valid), 0, &e);
    CHECK_STR(e.reason, "topic is not ntpmon/prod/results/<server_id>/<monitor>");
    CHECK_STR(e.publisher, "");
    entry_clear(&e);

    intake_message("test", "ntpmon/test/results/x/nl-ams1", valid, strlen(valid), 0, &e);
    CHECK_INT(e.kind, ENTRY_REJECT);
    CHECK_STR(e.publisher, "nl-ams1");
    entry_clear(&e);
}

/* Above 64 KiB a message is refused unparsed (issue 19: ingest parsed up to 16 MiB on its main thread — 4.4 s of
 * CPU and 490 MB for one message): the reason, the bounded copy and the publisher from the topic, no id. */
TEST(oversized_payload_is_refused_unparsed)
{
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    size_t head = strlen(valid) - 1; /* without the closing brace */
    memcpy(big, valid, head);
    const char pad[] = ",\"pad\":\"";
    memcpy(big + head, pad, sizeof pad - 1);
    memset(big + head + sizeof pad - 1, 'x', n - head - sizeof pad + 1 - 2);
    memcpy(big + n - 2, "\"}", 2);
    big[n] = '\0';
    struct entry e;
    intake_message("test", TOPIC, big, n, 0, &e);
    CHECK_INT(e.kind, ENTRY_REJECT);
    CHECK_STR(e.reason, "payload too large (1048576 bytes, max 65536)");
    CHECK_INT(e.payload_size, n);
    CHECK_INT(e.payload_len, INTAKE_PAYLOAD_KEEP);
    CHECK_STR(e.rec.id, "");
    CHECK_STR(e.rec.monitor, "");
    CHECK_STR(e.publisher, "nl-ams1");
    entry_clear(&e);
    free(big);
}

TEST(numbers_out_of_range_are_refused)
{
    struct entry e;
    static const char *const cases[][2] = {
        {"\"offset\":0.000123,", "\"offset\":NaN,"},
        {"\"offset\":0.000123,", "\"offset\":1e300,"},
        {"\"server_id\":42,", "\"server_id\":99999999999999999999,"},
        {"\"stratum\":2,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\",\"samples\"",
         "\"stratum\":2.5,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\",\"samples\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[2048];
        const char *at = strstr(valid, cases[i][0]);
        CHECK(at != NULL);
        if (!at) continue;
        snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - valid), valid, cases[i][1], at + strlen(cases[i][0]));
        intake_message("test", TOPIC, buf, strlen(buf), 0, &e);
        CHECK_INT(e.kind, ENTRY_REJECT);
        CHECK(e.reason[0] != '\0');
        entry_clear(&e);
    }
}

TEST(long_topic_is_cut_at_a_character_boundary)
{
    char topic[600];
    size_t n = 0;
    while (n + 2 < 520) { /* "é" is two bytes: 253 + 2 would cross 255 */
        topic[n++] = (char)0xC3;
        topic[n++] = (char)0xA9;
    }
    topic[n] = '\0';
    memmove(topic + 1, topic, n + 1);
    topic[0] = 'a'; /* odd offset so a cut at 255 would split a character */
    struct entry e;
    intake_message("test", topic, valid, strlen(valid), 0, &e);
    CHECK_INT(e.kind, ENTRY_REJECT);
    CHECK(strlen(e.topic) <= INTAKE_TOPIC_KEEP);
    CHECK(((unsigned char)e.topic[strlen(e.topic) - 1] & 0xC0) == 0x80); /* ends on a complete "é" */
    CHECK_INT(strlen(e.topic) % 2, 1);
    entry_clear(&e);
}

TEST(entry_reject_turns_a_result_into_a_refusal)
{
    struct entry e;
    intake_message("test", TOPIC, valid, strlen(valid), 0, &e);
    entry_reject(&e, "unknown monitor '%s'", e.rec.monitor);
    CHECK_INT(e.kind, ENTRY_REJECT);
    CHECK_STR(e.reason, "unknown monitor 'nl-ams1'");
    CHECK_STR(e.rec.id, "01JD0000000000000000000001");
    entry_clear(&e);
}

/* The hand-written samples encoder must emit exactly the bytes of the message encoder (json-c). */
TEST(samples_encoder_matches_the_message_encoder)
{
    static const char *const texts[] = {"", "GPS", "a\"b", "back\\slash", "tab\there", "nl\n", "\x01ctl", "/slash/",
                                        "DENY", "network: no route to host", "é UTF-8"};
    unsigned seed = 7;
    for (int round = 0; round < 200; round++) {
        struct msg_result r;
        memset(&r, 0, sizeof r);
        r.v = 1;
        snprintf(r.agent, sizeof r.agent, "x");
        r.n_samples = (size_t)(round % (MSG_MAX_SAMPLES + 1));
        for (size_t i = 0; i < r.n_samples; i++) {
            struct msg_sample *sm = &r.samples[i];
            sm->ts_us = 1795000000000000LL + (int64_t)rand_r(&seed) * 1000 + rand_r(&seed) % 1000000;
            sm->has_offset = rand_r(&seed) % 3 != 0;
            sm->has_rtt = rand_r(&seed) % 3 != 0;
            sm->offset = ((double)rand_r(&seed) / RAND_MAX - 0.5) * (round % 2 ? 1e-6 : 5000.0);
            sm->rtt = (double)rand_r(&seed) / RAND_MAX * 0.3;
            sm->stratum = rand_r(&seed) % 256;
            sm->leap = rand_r(&seed) % 4;
            snprintf(sm->refid, sizeof sm->refid, "%s", texts[rand_r(&seed) % 11]);
            snprintf(sm->error, sizeof sm->error, "%s", texts[rand_r(&seed) % 11]);
        }
        char *full = msg_result_encode(&r);
        char *samples = msg_result_samples_encode(&r);
        CHECK(full && samples);
        if (!full || !samples) return;
        const char *start = strstr(full, "\"samples\":");
        const char *end = strstr(full, ",\"agent\":\"x\"}");
        CHECK(start && end);
        if (start && end) {
            start += strlen("\"samples\":");
            if (strlen(samples) != (size_t)(end - start) || memcmp(samples, start, (size_t)(end - start)) != 0) {
                UNIT_FAIL("round %d:\n  got  %s\n  want %.*s", round, samples, (int)(end - start), start);
                round = 1000;
            }
        }
        free(full);
        free(samples);
    }
}

TEST(traces_are_entries_of_their_own)
{
    static const char trace[] =
        "{\"v\":1,\"id\":\"01jd0000000000000000000009\",\"monitor\":\"nl-ams1\",\"server_id\":42,\"ip\":\"192.0.2.1\","
        "\"ts\":\"2026-11-23T19:00:00.123456Z\",\"trigger\":\"pool-change\",\"port\":123,\"reached\":false,"
        "\"hops\":[{\"ttl\":1,\"addr\":\"198.51.100.1\",\"rtt\":[0.001]},{\"ttl\":2,\"addr\":null,\"rtt\":[]}]}";
    struct entry e;
    intake_message("test", "ntpmon/test/traces/42/nl-ams1", trace, strlen(trace), 1234, &e);
    CHECK_INT(e.kind, ENTRY_TRACE);
    CHECK_STR(e.rec.id, "01JD0000000000000000000009");
    CHECK_STR(e.publisher, "nl-ams1");
    CHECK_INT(e.rec.server_id, 42);
    CHECK_INT(e.trigger, MSG_TRIGGER_POOL_CHANGE);
    CHECK_INT(e.port, 123);
    CHECK(!e.reached);
    CHECK_STR(e.hops_json, "[{\"ttl\":1,\"addr\":\"198.51.100.1\",\"rtt\":[0.001]},{\"ttl\":2,\"addr\":null,\"rtt\":[]}]");
    entry_clear(&e);
    /* on another server's topic: refused, and the publisher (the topic's monitor) is still told */
    intake_message("test", "ntpmon/test/traces/43/nl-ams1", trace, strlen(trace), 1234, &e);
    CHECK_INT(e.kind, ENTRY_REJECT);
    CHECK(strstr(e.reason, "does not match the topic") != NULL);
    CHECK_STR(e.rec.id, "01JD0000000000000000000009");
    CHECK_STR(e.publisher, "nl-ams1");
    entry_clear(&e);
    /* a trace on a results topic is judged as a result */
    intake_message("test", "ntpmon/test/results/42/nl-ams1", trace, strlen(trace), 1234, &e);
    CHECK_INT(e.kind, ENTRY_REJECT);
    entry_clear(&e);
}

int main(void)
{
    RUN(samples_encoder_matches_the_message_encoder);
    RUN(valid_result_keeps_every_field);
    RUN(refused_result_has_reason_id_and_publisher);
    RUN(topic_and_payload_must_agree);
    RUN(oversized_payload_is_refused_unparsed);
    RUN(numbers_out_of_range_are_refused);
    RUN(long_topic_is_cut_at_a_character_boundary);
    RUN(entry_reject_turns_a_result_into_a_refusal);
    RUN(traces_are_entries_of_their_own);
    return unit_done();
}
