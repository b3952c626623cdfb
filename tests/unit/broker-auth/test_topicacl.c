/* test_topicacl.c — filter validity, topic matching, filter containment and $share stripping. */
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
    RUN(containment);
    RUN(share);
    return unit_done();
}
