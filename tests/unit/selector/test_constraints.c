/* test_constraints.c — selector/constraints, the network and account rules of DESIGN.md §7 as pure predicates:
 * same network (/24, /48) at its exact edges, diversity (/20, /44), families never mixed, prefixes from the
 * settings, the account limit X (X active, X+1 testing, X+1 together) for every count up to X+2, and the stored
 * violation names. */
#include "constraints.h"
#include "unit.h"

static struct netaddr addr(const char *text)
{
    struct netaddr a;
    if (netaddr_parse(text, &a) < 0) UNIT_FAIL("bad address %s", text);
    return a;
}

static struct sel_settings cfg(void)
{
    struct sel_settings s;
    sel_settings_defaults(&s);
    return s;
}

TEST(same_network_v4_edges)
{
    struct sel_settings s = cfg();
    struct netaddr srv = addr("198.51.100.7");
    CHECK(sel_same_network(&s, &srv, &(struct netaddr){0}) == false);
    struct netaddr in[] = {addr("198.51.100.0"), addr("198.51.100.255"), addr("198.51.100.7")};
    struct netaddr out[] = {addr("198.51.101.0"), addr("198.51.99.255"), addr("198.50.100.7")};
    for (size_t i = 0; i < 3; i++) {
        CHECK(sel_same_network(&s, &srv, &in[i]));
        CHECK(!sel_same_network(&s, &srv, &out[i]));
    }
    /* the prefix is a setting */
    s.same_network_v4 = 16;
    struct netaddr near = addr("198.51.1.1");
    CHECK(sel_same_network(&s, &srv, &near));
    s.same_network_v4 = 32;
    CHECK(!sel_same_network(&s, &srv, &in[0]));
    CHECK(sel_same_network(&s, &srv, &in[2]));
}

TEST(same_network_v6_edges)
{
    struct sel_settings s = cfg();
    struct netaddr srv = addr("2001:db8:aa:1::7");
    struct netaddr in = addr("2001:db8:aa:ffff:ffff::1"), out = addr("2001:db8:ab::1");
    CHECK(sel_same_network(&s, &srv, &in));  /* same /48 */
    CHECK(!sel_same_network(&s, &srv, &out)); /* the next /48 */
    /* families never match, even IPv4-mapped ones */
    struct netaddr v4 = addr("198.51.100.7"), mapped = addr("::ffff:198.51.100.7");
    CHECK(!sel_same_network(&s, &srv, &v4));
    CHECK(!sel_same_network(&s, &v4, &srv));
    CHECK(!sel_same_network(&s, &v4, &mapped));
}

TEST(diversity_prefixes)
{
    struct sel_settings s = cfg();
    struct netaddr a = addr("203.0.112.1"), b = addr("203.0.127.254"), c = addr("203.0.128.1");
    CHECK_INT(sel_diversity_bits(&s, &a), 20);
    CHECK(sel_same_diversity_network(&s, &a, &b)); /* 203.0.112.0/20 spans .112–.127 */
    CHECK(!sel_same_diversity_network(&s, &a, &c));
    CHECK(sel_same_diversity_network(&s, &a, &a));
    struct netaddr x = addr("2001:db8:10::1"), y = addr("2001:db8:1f:ffff::1"), z = addr("2001:db8:20::1");
    CHECK_INT(sel_diversity_bits(&s, &x), 44);
    CHECK(sel_same_diversity_network(&s, &x, &y)); /* a /44 holds 16 /48s */
    CHECK(!sel_same_diversity_network(&s, &x, &z));
    CHECK(!sel_same_diversity_network(&s, &a, &x));
    s.diversity_v4 = 24;
    s.diversity_v6 = 48;
    CHECK(!sel_same_diversity_network(&s, &a, &b));
    CHECK(!sel_same_diversity_network(&s, &x, &y));
    CHECK_INT(sel_diversity_bits(&s, &x), 48);
}

TEST(account_limit_table)
{
    /* limit X: at most X active, X+1 testing, X+1 together; checked for every count up to X+2 */
    for (int limit = 1; limit <= 4; limit++)
        for (int active = 0; active <= limit + 2; active++)
            for (int testing = 0; testing <= limit + 2; testing++) {
                bool to_active = active + 1 <= limit && active + 1 + testing <= limit + 1;
                bool to_testing = testing + 1 <= limit + 1 && active + testing + 1 <= limit + 1;
                if (sel_account_allows(limit, active, testing, MSG_STATUS_ACTIVE) != to_active)
                    UNIT_FAIL("limit %d, %d active, %d testing: to active should be %d", limit, active, testing,
                              to_active);
                if (sel_account_allows(limit, active, testing, MSG_STATUS_TESTING) != to_testing)
                    UNIT_FAIL("limit %d, %d active, %d testing: to testing should be %d", limit, active, testing,
                              to_testing);
                CHECK(sel_account_allows(limit, active, testing, MSG_STATUS_CANDIDATE));
                CHECK(sel_account_allows(limit, active, testing, MSG_STATUS_PAUSED));
            }
    /* the pool's default X = 2 by example */
    CHECK(sel_account_allows(2, 1, 0, MSG_STATUS_ACTIVE));
    CHECK(!sel_account_allows(2, 2, 0, MSG_STATUS_ACTIVE));
    CHECK(sel_account_allows(2, 1, 1, MSG_STATUS_ACTIVE));   /* 2 active + 1 testing: 3 together */
    CHECK(!sel_account_allows(2, 1, 2, MSG_STATUS_ACTIVE));  /* would be 4 together */
    CHECK(sel_account_allows(2, 0, 2, MSG_STATUS_TESTING));  /* 3 testing */
    CHECK(!sel_account_allows(2, 0, 3, MSG_STATUS_TESTING));
}

TEST(violation_names)
{
    const char *names[] = {"", "same_network", "same_account", "diversity", "account_limit"};
    for (int v = SEL_VIOL_NONE; v <= SEL_VIOL_ACCOUNT_LIMIT; v++) {
        CHECK_STR(sel_violation_str((enum sel_violation)v), names[v]);
        CHECK_INT(sel_violation_parse(names[v]), v);
    }
    CHECK_STR(sel_violation_str((enum sel_violation)99), "");
    CHECK_INT(sel_violation_parse("SAME_NETWORK"), SEL_VIOL_NONE);
    CHECK_INT(sel_violation_parse("bogus"), SEL_VIOL_NONE);
    CHECK_INT(sel_violation_parse(NULL), SEL_VIOL_NONE);
    CHECK(sel_violation_pauses(SEL_VIOL_SAME_NETWORK));
    CHECK(sel_violation_pauses(SEL_VIOL_SAME_ACCOUNT));
    CHECK(!sel_violation_pauses(SEL_VIOL_DIVERSITY));
    CHECK(!sel_violation_pauses(SEL_VIOL_ACCOUNT_LIMIT));
    CHECK(!sel_violation_pauses(SEL_VIOL_NONE));
}

int main(void)
{
    RUN(same_network_v4_edges);
    RUN(same_network_v6_edges);
    RUN(diversity_prefixes);
    RUN(account_limit_table);
    RUN(violation_names);
    return unit_done();
}
