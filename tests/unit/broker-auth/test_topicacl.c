/* test_topicacl.c — filter validity, topic matching, filter containment and $share stripping; validity and
 * matching must be the broker's own (libmosquitto's functions are the broker's code), containment must agree with
 * matching. */
#include <mosquitto.h>
#include <stdlib.h>

#include "topicacl.h"
#include "unit.h"

TEST(filter_validity)
{
    CHECK(acl_filter_valid("a/b"));
    CHECK(acl_filter_valid("#"));
    CHECK(acl_filter_valid("+"));
    CHECK(acl_filter_valid("a/+/#"));
    CHECK(acl_filter_valid("a//b"));
    CHECK(!acl_filter_valid(""));
    CHECK(!acl_filter_valid("a/#/b"));
    CHECK(!acl_filter_valid("a/b#"));
    CHECK(!acl_filter_valid("a/+b"));
    CHECK(!acl_filter_valid(NULL));
    CHECK(acl_topic_valid("a/b"));
    CHECK(!acl_topic_valid("a/+"));
    CHECK(!acl_topic_valid(""));
}

TEST(matching)
{
    CHECK(acl_topic_matches("a/#", "a"));
    CHECK(acl_topic_matches("a/#", "a/b/c"));
    CHECK(acl_topic_matches("a/+/c", "a/b/c"));
    CHECK(!acl_topic_matches("a/+/c", "a/b/d"));
    CHECK(!acl_topic_matches("a/+", "a/b/c"));
    CHECK(acl_topic_matches("a/+", "a/"));
    CHECK(!acl_topic_matches("#", "$SYS/x"));
    CHECK(!acl_topic_matches("+/x", "$SYS/x"));
    CHECK(acl_topic_matches("$SYS/#", "$SYS/x"));
    CHECK(!acl_topic_matches("a/b", "a/b/c"));
    CHECK(!acl_topic_matches("a/b/c", "a/b"));
    CHECK(acl_topic_matches("ntpmon/test/results/+/m1", "ntpmon/test/results/1234/m1"));
    CHECK(!acl_topic_matches("ntpmon/test/results/+/m1", "ntpmon/test/results/1234/m2"));
}

/* The broker's rules, not a copy of them: every case decided as mosquitto decides it (apart from the empty string,
 * which MQTT forbids and mosquitto's helpers let through), including its 65 535-byte limit. */
TEST(same_rules_as_the_broker)
{
    static const char *const s[] = {"a", "a/b", "a/", "/a", "/", "//", "a//b", "+", "#", "a/+", "a/#", "+/#", "#/a",
                                    "a+", "a#", "+a", "a/+/b", "$SYS", "$SYS/a", "$SYS/#", "$", "$/a", "a/$b", "+/a/#",
                                    "+/+", "/+", "+/", "/#", "ntpmon/test/results/+/m1", "ntpmon/test/results/1/m1",
                                    NULL};
    for (size_t i = 0; s[i]; i++) {
        CHECK(acl_filter_valid(s[i]) == (mosquitto_sub_topic_check(s[i]) == MOSQ_ERR_SUCCESS));
        CHECK(acl_topic_valid(s[i]) == (mosquitto_pub_topic_check(s[i]) == MOSQ_ERR_SUCCESS));
        for (size_t j = 0; s[j]; j++) {
            bool m = false;
            bool broker = mosquitto_topic_matches_sub(s[i], s[j], &m) == MOSQ_ERR_SUCCESS && m;
            if (acl_topic_matches(s[i], s[j]) != broker) UNIT_FAIL("filter '%s' topic '%s'", s[i], s[j]);
        }
    }
    size_t n = 70000;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) big[i] = i % 2 ? '/' : 'a';
    big[n] = '\0';
    CHECK(!acl_filter_valid(big));
    CHECK(!acl_topic_valid(big));
    CHECK(!acl_topic_matches("#", big));
    free(big);
}

TEST(containment)
{
    const char *mine = "ntpmon/test/monitors/x/#";
    CHECK(acl_filter_contains(mine, "ntpmon/test/monitors/x/assign"));
    CHECK(acl_filter_contains(mine, "ntpmon/test/monitors/x/#"));
    CHECK(acl_filter_contains(mine, "ntpmon/test/monitors/x/+"));
    CHECK(acl_filter_contains(mine, "ntpmon/test/monitors/x"));
    CHECK(!acl_filter_contains(mine, "ntpmon/test/#"));
    CHECK(!acl_filter_contains(mine, "#"));
    CHECK(!acl_filter_contains(mine, "+/+/monitors/x/#"));
    CHECK(!acl_filter_contains(mine, "$SYS/#"));
    CHECK(!acl_filter_contains(mine, "ntpmon/test/monitors/+/assign"));
    CHECK(!acl_filter_contains(mine, "ntpmon/test/monitors/y/assign"));
    CHECK(acl_filter_contains("a/+/c", "a/b/c"));
    CHECK(acl_filter_contains("a/+/c", "a/+/c"));
    CHECK(!acl_filter_contains("a/+/c", "a/+/#"));
    CHECK(!acl_filter_contains("a/+/#", "a/#")); /* a/# matches "a", a/+/# does not */
    CHECK(acl_filter_contains("a/+/#", "a/b/#"));
    CHECK(acl_filter_contains("#", "a/#"));
    CHECK(!acl_filter_contains("#", "$SYS/#"));
    CHECK(!acl_filter_contains("+/#", "$SYS/x"));
    CHECK(!acl_filter_contains("a/b", "a/b/c"));
    CHECK(!acl_filter_contains("a/b/c", "a/b"));
    CHECK(!acl_filter_contains("a/#/b", "a/x"));
}

TEST(share)
{
    CHECK_STR(acl_strip_share("$share/g/a/b"), "a/b");
    CHECK_STR(acl_strip_share("a/b"), "a/b");
    CHECK(acl_strip_share("$share/g") == NULL);
    CHECK(acl_strip_share("$share//a") == NULL);
    CHECK(acl_strip_share("$share/g/") == NULL);
    CHECK(acl_strip_share("$share/+/a") == NULL);
    CHECK_STR(acl_strip_share("$shared/g/a"), "$shared/g/a");
}

int main(void)
{
    RUN(filter_validity);
    RUN(matching);
    RUN(same_rules_as_the_broker);
    RUN(containment);
    RUN(share);
    return unit_done();
}
