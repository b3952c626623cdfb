/* test_rules.c — the selector's rules (DESIGN.md §7), one or more tests per rule and constant: same network /24
 * and /48, same account, diversity /20 and /44, account limits and overrides, the swap thresholds (5 %, 5 points),
 * the budgets 2/3/4, the floors, excess actives and testing, promotions and their minimum counts, bootstrap, the
 * zero-active emergency, the "no change at all" guard, blocked and pending monitors, un-pausing. */
#include <stdio.h>

#include "fixture.h"

/* Seven healthy actives in seven /16s and seven accounts, best (rtt 10) to worst (rtt 70). */
#define SEVEN_ACTIVE                                                                                               \
    {"a1", "10.1.0.1", 101, 0, A, ACT, 150, 1, 10}, {"a2", "10.2.0.1", 102, 0, A, ACT, 150, 1, 20},               \
        {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30}, {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40},           \
        {"a5", "10.5.0.1", 105, 0, A, ACT, 150, 1, 50}, {"a6", "10.6.0.1", 106, 0, A, ACT, 150, 1, 60},           \
        {"a7", "10.7.0.1", 107, 0, A, ACT, 150, 1, 70}
/* Five healthy testing monitors, rtt 80..120 (worse than every active). */
#define FIVE_TESTING                                                                                               \
    {"t1", "10.11.0.1", 111, 0, A, TST, 40, 1, 80}, {"t2", "10.12.0.1", 112, 0, A, TST, 40, 1, 90},               \
        {"t3", "10.13.0.1", 113, 0, A, TST, 40, 1, 100}, {"t4", "10.14.0.1", 114, 0, A, TST, 40, 1, 110},         \
        {"t5", "10.15.0.1", 115, 0, A, TST, 40, 1, 120}

static struct scenario S;
#define SETUP(server_ip, server_account, ...)                                                                      \
    do {                                                                                                           \
        static const struct mon m_[] = {__VA_ARGS__};                                                              \
        scenario_init(&S, server_ip, server_account, m_, sizeof m_ / sizeof m_[0]);                                \
    } while (0)

TEST(priority_formula)
{
    CHECK_NEAR(sel_priority(10, 1), 10, 0);
    CHECK_NEAR(sel_priority(10, 0.5), 20, 0);
    CHECK_NEAR(sel_priority(10, -1), 50, 0);
    CHECK_NEAR(sel_priority(12.3, 0.9), 15, 0); /* round(12.3 · 1.2) = round(14.76) */
    CHECK_NEAR(sel_priority(0, -5), 0, 0);      /* no response at all: rtt counted as 0 */
}

TEST(walk_order_healthy_priority_step_rtt)
{
    SETUP("192.0.2.10", 0, {"sick", "10.1.0.1", 1, 0, A, ACT, 50, -0.5, 1},
          {"slow", "10.2.0.1", 2, 0, A, ACT, 50, 1, 40}, {"fast", "10.3.0.1", 3, 0, A, ACT, 50, 1, 10},
          {"tie_lowstep", "10.4.0.1", 4, 0, A, ACT, 50, 0.75, 20}, {"tie_highstep", "10.5.0.1", 5, 0, A, ACT, 50, 1, 30});
    scenario_run(&S);
    /* priorities: sick 2, slow 40, fast 10, tie_lowstep round(20·1.5)=30, tie_highstep 30 */
    struct sel_pair *p = S.pairs;
    CHECK(sel_compare_pairs(pair_named(&S, "fast"), pair_named(&S, "sick")) < 0); /* healthy first */
    CHECK(sel_compare_pairs(pair_named(&S, "fast"), pair_named(&S, "slow")) < 0); /* then priority */
    CHECK(sel_compare_pairs(pair_named(&S, "tie_highstep"), pair_named(&S, "tie_lowstep")) < 0); /* then step */
    CHECK(!p[0].healthy && p[1].healthy);
}

TEST(same_network_v4_pauses_any_status)
{
    SETUP("192.0.2.10", 0, {"in24", "192.0.2.200", 1, 0, A, ACT, 100, 1, 10},
          {"other24", "192.0.3.1", 2, 0, A, ACT, 100, 1, 10}, {"cand24", "192.0.2.5", 3, 0, A, CAN, 0, 0, 0},
          {"test24", "192.0.2.255", 4, 0, T, TST, 20, 1, 10});
    scenario_run(&S);
    CHECK_STATUS(&S, "in24", PAU);
    CHECK_STATUS(&S, "cand24", PAU); /* even without results */
    CHECK_STATUS(&S, "test24", PAU);
    CHECK_STATUS(&S, "other24", ACT); /* 192.0.3.0/24 is another network */
    struct sel_pair *p = pair_named(&S, "in24");
    CHECK_INT(p->new_violation, SEL_VIOL_SAME_NETWORK);
    CHECK_INT(p->new_since_us, NOW_US);
    CHECK_INT(p->new_last_check_us, NOW_US);
    CHECK_STR(p->new_pause_reason, SEL_PAUSE_REASON_CONSTRAINT);
    CHECK_INT(count_changes(&S, SEL_RULE_PAUSE), 3);
    CHECK_CONTAINS(reason_of(&S, "in24"), "/24");
    CHECK(!S.res.changed); /* pauses are not changes */
}

TEST(same_network_prefix_is_a_setting)
{
    SETUP("192.0.2.10", 0, {"m", "192.0.3.1", 1, 0, A, ACT, 100, 1, 10});
    S.cfg.same_network_v4 = 23;
    scenario_run(&S);
    CHECK_STATUS(&S, "m", PAU);
}

TEST(same_network_v6_48)
{
    SETUP("2001:db8:1:2::10", 0, {"in48", "2001:db8:1:ffff::1", 1, 0, A, ACT, 100, 1, 10},
          {"out48", "2001:db8:2::1", 2, 0, A, ACT, 100, 1, 10});
    scenario_run(&S);
    CHECK_STATUS(&S, "in48", PAU);
    CHECK_STATUS(&S, "out48", ACT);
    CHECK_CONTAINS(reason_of(&S, "in48"), "/48");
}

TEST(same_account_pauses)
{
    SETUP("192.0.2.10", 7, {"own", "10.1.0.1", 7, 0, A, CAN, 30, 1, 10},
          {"other", "10.2.0.1", 8, 0, A, ACT, 100, 1, 10});
    scenario_run(&S);
    CHECK_STATUS(&S, "own", PAU);
    CHECK_INT(pair_named(&S, "own")->new_violation, SEL_VIOL_SAME_ACCOUNT);
    CHECK_STATUS(&S, "other", ACT);
}

TEST(pause_keeps_since_of_the_same_violation)
{
    SETUP("192.0.2.10", 0, {"m", "192.0.2.200", 1, 0, A, PAU, 100, 1, 10});
    struct sel_pair *p = pair_named(&S, "m");
    p->stored_violation = SEL_VIOL_SAME_NETWORK;
    p->stored_since_us = NOW_US - 5000000;
    p->stored_last_check_us = NOW_US - 1000000;
    scenario_run(&S);
    CHECK_INT(p->new_since_us, NOW_US - 5000000);
    CHECK_INT(p->new_last_check_us, NOW_US - 1000000); /* not due for a re-check */
    CHECK_INT(S.res.n_changes, 0);
}

TEST(diversity_v4_marks_both_and_ignores_floors)
{
    /* five actives = the floor; two share 198.51.96.0/20: both leave although that goes below the floor */
    SETUP("192.0.2.10", 0, {"d1", "198.51.96.1", 1, 0, A, ACT, 150, 1, 10},
          {"d2", "198.51.111.254", 2, 0, A, ACT, 150, 1, 20}, {"n1", "198.51.112.1", 3, 0, A, ACT, 150, 1, 30},
          {"a4", "10.4.0.1", 4, 0, A, ACT, 150, 1, 40}, {"a5", "10.5.0.1", 5, 0, A, ACT, 150, 1, 50});
    scenario_run(&S);
    CHECK_INT(pair_named(&S, "d1")->violation, SEL_VIOL_DIVERSITY);
    CHECK_INT(pair_named(&S, "d2")->violation, SEL_VIOL_DIVERSITY);
    CHECK_INT(pair_named(&S, "n1")->violation, SEL_VIOL_NONE); /* 198.51.112.0/20 is the next one */
    CHECK_STATUS(&S, "d1", TST);
    CHECK_STATUS(&S, "d2", TST);
    CHECK_CONTAINS(reason_of(&S, "d1"), "diversity: same /20 as d2");
    CHECK_INT(pair_named(&S, "d1")->new_violation, SEL_VIOL_DIVERSITY);
    CHECK_INT(pair_named(&S, "d1")->new_since_us, NOW_US);
    CHECK_INT(S.res.used_active_removals, 2);
}

TEST(diversity_v6_44)
{
    SETUP("2001:db8:ff::10", 0, {"d1", "2001:db8:10::1", 1, 0, A, ACT, 150, 1, 10},
          {"d2", "2001:db8:1f:ffff::1", 2, 0, A, TST, 150, 1, 20}, {"n1", "2001:db8:20::1", 3, 0, A, ACT, 150, 1, 30});
    scenario_run(&S);
    CHECK_INT(pair_named(&S, "d1")->violation, SEL_VIOL_DIVERSITY);
    CHECK_INT(pair_named(&S, "d2")->violation, SEL_VIOL_DIVERSITY);
    CHECK_INT(pair_named(&S, "n1")->violation, SEL_VIOL_NONE);
    CHECK_CONTAINS(reason_of(&S, "d1"), "/44");
}

TEST(diversity_refuses_promotion)
{
    /* six actives (one short of the target); the best candidate shares a /20 with an active one */
    SETUP("192.0.2.10", 0, {"a1", "198.51.100.1", 101, 0, A, ACT, 150, 1, 10},
          {"a2", "10.2.0.1", 102, 0, A, ACT, 150, 1, 20}, {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30},
          {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40}, {"a5", "10.5.0.1", 105, 0, A, ACT, 150, 1, 50},
          {"a6", "10.6.0.1", 106, 0, A, ACT, 150, 1, 60}, {"t1", "10.11.0.1", 111, 0, A, TST, 40, 1, 80},
          {"close", "198.51.101.1", 120, 0, A, CAN, 40, 1, 5}, {"far", "10.21.0.1", 121, 0, A, CAN, 40, 1, 90});
    scenario_run(&S);
    CHECK_INT(pair_named(&S, "close")->violation, SEL_VIOL_NONE); /* candidates are never marked */
    CHECK_STATUS(&S, "close", CAN);
    CHECK_STATUS(&S, "far", TST);
    CHECK_STATUS(&S, "t1", ACT);
}

TEST(account_limit_default_two_active)
{
    SETUP("192.0.2.10", 0, {"x1", "10.1.0.1", 50, 0, A, ACT, 150, 1, 10}, {"x2", "10.2.0.1", 50, 0, A, ACT, 150, 1, 20},
          {"x3", "10.3.0.1", 50, 0, A, ACT, 150, 1, 30}, {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40},
          {"a5", "10.5.0.1", 105, 0, A, ACT, 150, 1, 50}, {"a6", "10.6.0.1", 106, 0, A, ACT, 150, 1, 60},
          {"a7", "10.7.0.1", 107, 0, A, ACT, 150, 1, 70});
    scenario_run(&S);
    CHECK_INT(pair_named(&S, "x3")->violation, SEL_VIOL_ACCOUNT_LIMIT); /* the worst of the three */
    CHECK_INT(pair_named(&S, "x1")->violation, SEL_VIOL_NONE);
    CHECK_STATUS(&S, "x3", TST);
    CHECK_STATUS(&S, "x1", ACT);
    CHECK_CONTAINS(reason_of(&S, "x3"), "account limit: account 50 allows 2 active, 3 testing, 3 together");
}

TEST(account_limit_override)
{
    SETUP("192.0.2.10", 0, {"x1", "10.1.0.1", 50, 3, A, ACT, 150, 1, 10}, {"x2", "10.2.0.1", 50, 3, A, ACT, 150, 1, 20},
          {"x3", "10.3.0.1", 50, 3, A, ACT, 150, 1, 30}, {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40},
          {"a5", "10.5.0.1", 105, 0, A, ACT, 150, 1, 50}, {"a6", "10.6.0.1", 106, 0, A, ACT, 150, 1, 60},
          {"a7", "10.7.0.1", 107, 0, A, ACT, 150, 1, 70});
    scenario_run(&S);
    CHECK_INT(pair_named(&S, "x3")->violation, SEL_VIOL_NONE);
    CHECK_INT(S.res.n_changes, 0);
    /* and the default itself is a setting */
    SETUP("192.0.2.10", 0, {"x1", "10.1.0.1", 50, 0, A, ACT, 150, 1, 10}, {"x2", "10.2.0.1", 50, 0, A, ACT, 150, 1, 20},
          {"x3", "10.3.0.1", 50, 0, A, ACT, 150, 1, 30});
    S.cfg.account_limit_default = 3;
    S.cfg.active_target = 3;
    scenario_run(&S);
    CHECK_INT(pair_named(&S, "x3")->violation, SEL_VIOL_NONE);
}

TEST(account_limit_together_removes_testing_first)
{
    /* limit 2: 2 active + 2 testing = 4 > 3 together; the worse testing one leaves (floors do not apply) */
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"y1", "10.21.0.1", 60, 0, A, ACT, 150, 1, 11},
          {"y2", "10.22.0.1", 60, 0, A, ACT, 150, 1, 12}, {"y3", "10.23.0.1", 60, 0, A, TST, 40, 1, 13},
          {"y4", "10.24.0.1", 60, 0, A, TST, 40, 1, 200});
    scenario_run(&S);
    CHECK_INT(pair_named(&S, "y4")->violation, SEL_VIOL_ACCOUNT_LIMIT);
    CHECK_INT(pair_named(&S, "y3")->violation, SEL_VIOL_NONE);
    CHECK_STATUS(&S, "y4", CAN);
    CHECK_STATUS(&S, "y1", ACT);
}

TEST(account_limit_testing_x_plus_one)
{
    /* limit 1: at most 1 active, 2 testing, 2 together; 3 testing → the worst leaves */
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, FIVE_TESTING, {"z1", "10.21.0.1", 61, 1, A, TST, 40, 1, 81},
          {"z2", "10.22.0.1", 61, 1, A, TST, 40, 1, 82}, {"z3", "10.23.0.1", 61, 1, A, TST, 40, 1, 83});
    scenario_run(&S);
    CHECK_INT(pair_named(&S, "z3")->violation, SEL_VIOL_ACCOUNT_LIMIT);
    CHECK_INT(pair_named(&S, "z2")->violation, SEL_VIOL_NONE);
    CHECK_STATUS(&S, "z3", CAN);
}

TEST(account_limit_refuses_promotion)
{
    /* six actives, two of account 70; its testing monitor is the best but may not become a third active */
    SETUP("192.0.2.10", 0, {"x1", "10.1.0.1", 70, 0, A, ACT, 150, 1, 10}, {"x2", "10.2.0.1", 70, 0, A, ACT, 150, 1, 20},
          {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30}, {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40},
          {"a5", "10.5.0.1", 105, 0, A, ACT, 150, 1, 50}, {"a6", "10.6.0.1", 106, 0, A, ACT, 150, 1, 60},
          {"x3", "10.23.0.1", 70, 0, A, TST, 40, 1, 5}, {"t1", "10.11.0.1", 111, 0, A, TST, 40, 1, 80});
    scenario_run(&S);
    CHECK_STATUS(&S, "x3", TST);
    CHECK_STATUS(&S, "t1", ACT);
}

TEST(swap_thresholds_five_percent_and_five_points)
{
    struct sel_settings cfg;
    sel_settings_defaults(&cfg);
    static const struct {
        double incumbent, newcomer;
        bool wins;
    } rows[] = {
        {100, 95, true},  /* 5 %, 5 points */
        {100, 96, false}, /* 4 points */
        {200, 195, false}, /* 5 points but 2.5 % */
        {200, 190, true},  /* 5 %, 10 points */
        {50, 46, false},   /* 8 % but 4 points */
        {50, 45, true},    /* 10 %, 5 points */
        {0, 0, false},     /* nothing beats priority 0 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct sel_pair inc = {.healthy = true, .priority = rows[i].incumbent};
        struct sel_pair nc = {.healthy = true, .priority = rows[i].newcomer};
        if (sel_outperforms(&cfg, &nc, &inc) != rows[i].wins)
            UNIT_FAIL("incumbent %g newcomer %g: want %s", rows[i].incumbent, rows[i].newcomer,
                      rows[i].wins ? "win" : "no win");
    }
    struct sel_pair sick = {.healthy = false, .priority = 1}, ok = {.healthy = true, .priority = 1000};
    CHECK(sel_outperforms(&cfg, &ok, &sick)); /* healthy beats unhealthy whatever the priority */
    CHECK(!sel_outperforms(&cfg, &sick, &ok));
    cfg.swap_min_percent = 1;
    cfg.swap_min_points = 1;
    struct sel_pair inc = {.healthy = true, .priority = 100}, nc = {.healthy = true, .priority = 99};
    CHECK(sel_outperforms(&cfg, &nc, &inc)); /* both thresholds are settings */
}

TEST(swap_active_at_exact_threshold)
{
    /* seven actives (worst priority 100); a testing monitor at 95 replaces it, one at 96 would not */
    SETUP("192.0.2.10", 0, {"a1", "10.1.0.1", 101, 0, A, ACT, 150, 1, 10}, {"a2", "10.2.0.1", 102, 0, A, ACT, 150, 1, 20},
          {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30}, {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40},
          {"a5", "10.5.0.1", 105, 0, A, ACT, 150, 1, 50}, {"a6", "10.6.0.1", 106, 0, A, ACT, 150, 1, 60},
          {"worst", "10.7.0.1", 107, 0, A, ACT, 150, 1, 100}, {"new", "10.11.0.1", 111, 0, A, TST, 40, 1, 95});
    scenario_run(&S);
    CHECK_STATUS(&S, "new", ACT);
    CHECK_STATUS(&S, "worst", TST);
    CHECK_INT(count_changes(&S, SEL_RULE_SWAP_ACTIVE), 2);
    CHECK_CONTAINS(reason_of(&S, "worst"), "replaced by new (priority 95 vs 100)");
    CHECK_INT(S.res.used_promotions, 2);
    pair_named(&S, "new")->avg_rtt_ms = 96;
    pair_named(&S, "new")->status = TST;
    pair_named(&S, "worst")->status = ACT;
    scenario_run(&S);
    CHECK_INT(S.res.n_changes, 0);
}

TEST(swap_costs_two_and_needs_the_count)
{
    /* two newcomers beat the two worst actives, but the budget of 2 pays for one swap only; a newcomer
     * with 31 results (< 32) is skipped, the next one is taken */
    SETUP("192.0.2.10", 0, {"a1", "10.1.0.1", 101, 0, A, ACT, 150, 1, 10}, {"a2", "10.2.0.1", 102, 0, A, ACT, 150, 1, 20},
          {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30}, {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40},
          {"a5", "10.5.0.1", 105, 0, A, ACT, 150, 1, 50}, {"w1", "10.6.0.1", 106, 0, A, ACT, 150, 1, 300},
          {"w2", "10.7.0.1", 107, 0, A, ACT, 150, 1, 400}, {"young", "10.11.0.1", 111, 0, A, TST, 31, 1, 5},
          {"n1", "10.12.0.1", 112, 0, A, TST, 40, 1, 6}, {"n2", "10.13.0.1", 113, 0, A, TST, 40, 1, 7});
    scenario_run(&S);
    CHECK_STATUS(&S, "young", TST);
    CHECK_STATUS(&S, "n1", ACT);
    CHECK_STATUS(&S, "w2", TST); /* the worst incumbent goes first */
    CHECK_STATUS(&S, "w1", ACT);
    CHECK_STATUS(&S, "n2", TST);
    CHECK_INT(S.res.used_promotions, 2);
}

TEST(swap_candidate_for_testing)
{
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, FIVE_TESTING, {"c1", "10.21.0.1", 121, 0, A, CAN, 12, 1, 50});
    scenario_run(&S);
    CHECK_STATUS(&S, "c1", TST);
    CHECK_STATUS(&S, "t5", CAN);
    CHECK_INT(count_changes(&S, SEL_RULE_SWAP_TESTING), 2);
    CHECK_INT(S.res.used_promotions, 1);
    CHECK_INT(S.res.used_testing_removals, 1);
}

TEST(budget_base_two)
{
    /* ten actives, four unhealthy: two leave (above the floor, budget 2) */
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"u1", "10.21.0.1", 121, 0, A, ACT, 150, -1, 10},
          {"u2", "10.22.0.1", 122, 0, A, ACT, 150, -1, 10}, {"u3", "10.23.0.1", 123, 0, A, ACT, 150, -1, 10});
    pair_named(&S, "a7")->avg_step = -0.1;
    scenario_run(&S);
    CHECK_INT(S.res.budget, 2);
    CHECK_INT(S.res.used_active_removals, 2);
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 2);
    CHECK_CONTAINS(S.res.changes[0].reason, "unhealthy: average step");
}

TEST(budget_three_with_blocked)
{
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"u1", "10.21.0.1", 121, 0, A, ACT, 150, -1, 10},
          {"u2", "10.22.0.1", 122, 0, A, ACT, 150, -1, 10}, {"u3", "10.23.0.1", 123, 0, A, ACT, 150, -1, 10},
          {"u4", "10.24.0.1", 124, 0, A, ACT, 150, -1, 10}, {"b1", "10.31.0.1", 131, 0, PZ, ACT, 150, 1, 10},
          {"b2", "10.32.0.1", 132, 0, D, TST, 150, 1, 10});
    scenario_run(&S);
    CHECK_INT(S.res.n_blocked, 2);
    CHECK_INT(S.res.budget, 3);
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 3);
    CHECK_INT(count_changes(&S, SEL_RULE_BLOCK), 2); /* outside the budget */
    CHECK_STATUS(&S, "b1", CAN);
    CHECK_STATUS(&S, "b2", CAN);
    CHECK_CONTAINS(reason_of(&S, "b1"), "monitor is globally paused");
}

TEST(budget_four_with_zero_active)
{
    SETUP("192.0.2.10", 0, {"t1", "10.1.0.1", 101, 0, A, TST, 40, 1, 10}, {"t2", "10.2.0.1", 102, 0, A, TST, 40, 1, 20},
          {"t3", "10.3.0.1", 103, 0, A, TST, 40, 1, 30}, {"t4", "10.4.0.1", 104, 0, A, TST, 40, 1, 40},
          {"t5", "10.5.0.1", 105, 0, A, TST, 40, 1, 50}, {"t6", "10.6.0.1", 106, 0, A, TST, 40, 1, 60},
          {"t7", "10.7.0.1", 107, 0, A, TST, 40, 1, 70});
    scenario_run(&S);
    CHECK(S.res.emergency);
    CHECK_INT(S.res.budget, 4);
    CHECK_INT(count_changes(&S, SEL_RULE_PROMOTE_ACTIVE), 4);
    CHECK_STATUS(&S, "t4", ACT);
    CHECK_STATUS(&S, "t5", TST);
}

TEST(budgets_are_settings)
{
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"u1", "10.21.0.1", 121, 0, A, ACT, 150, -1, 10},
          {"u2", "10.22.0.1", 122, 0, A, ACT, 150, -1, 10}, {"u3", "10.23.0.1", 123, 0, A, ACT, 150, -1, 10});
    S.cfg.budget_base = 1;
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 1);
}

TEST(floor_active)
{
    /* target 7 → floor 5: five actives, two unhealthy: none leaves */
    SETUP("192.0.2.10", 0, {"a1", "10.1.0.1", 101, 0, A, ACT, 150, 1, 10}, {"a2", "10.2.0.1", 102, 0, A, ACT, 150, 1, 20},
          {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30}, {"u1", "10.4.0.1", 104, 0, A, ACT, 150, -1, 40},
          {"u2", "10.5.0.1", 105, 0, A, ACT, 150, -2, 50});
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 0);
    /* six actives, three unhealthy: one leaves (the worst), five stay */
    SETUP("192.0.2.10", 0, {"a1", "10.1.0.1", 101, 0, A, ACT, 150, 1, 10}, {"a2", "10.2.0.1", 102, 0, A, ACT, 150, 1, 20},
          {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30}, {"u1", "10.4.0.1", 104, 0, A, ACT, 150, -1, 40},
          {"u2", "10.5.0.1", 105, 0, A, ACT, 150, -2, 50}, {"u3", "10.6.0.1", 106, 0, A, ACT, 150, -3, 60});
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 1);
    CHECK_STATUS(&S, "u3", TST);
    CHECK_INT(S.res.active_end, 5);
}

TEST(floor_active_small_target)
{
    /* target 3 → floor max(1, 1) = 1: two unhealthy actives, one stays */
    SETUP("192.0.2.10", 0, {"u1", "10.1.0.1", 101, 0, A, ACT, 150, -1, 10}, {"u2", "10.2.0.1", 102, 0, A, ACT, 150, -1, 20},
          {"c1", "10.3.0.1", 103, 0, A, CAN, 3, 1, 10});
    S.cfg.active_target = 3;
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 1);
    CHECK_INT(S.res.active_end, 1);
    CHECK_INT(sel_floor_active(&S.cfg), 1);
}

TEST(floor_testing)
{
    /* base testing 5 → floor 3: three testing, two unhealthy: none leaves; four testing, three unhealthy: one */
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"t1", "10.11.0.1", 111, 0, A, TST, 40, 1, 80},
          {"u1", "10.12.0.1", 112, 0, A, TST, 40, -1, 80}, {"u2", "10.13.0.1", 113, 0, A, TST, 40, -1, 90});
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 0);
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"t1", "10.11.0.1", 111, 0, A, TST, 40, 1, 80},
          {"u1", "10.12.0.1", 112, 0, A, TST, 40, -1, 80}, {"u2", "10.13.0.1", 113, 0, A, TST, 40, -1, 90},
          {"u3", "10.14.0.1", 114, 0, A, TST, 40, -1, 100});
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 1);
    CHECK_STATUS(&S, "u3", CAN);
    CHECK_INT(sel_floor_testing(&S.cfg), 3);
}

TEST(pending_leaves_one_level_per_run)
{
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, FIVE_TESTING, {"p1", "10.21.0.1", 121, 0, P, ACT, 150, 1, 5});
    scenario_run(&S);
    CHECK_STATUS(&S, "p1", TST);
    CHECK_CONTAINS(reason_of(&S, "p1"), "pending");
    scenario_apply(&S);
    scenario_run(&S);
    CHECK_STATUS(&S, "p1", CAN);
    scenario_apply(&S);
    scenario_run(&S);
    CHECK_STATUS(&S, "p1", CAN); /* and never back */
}

TEST(excess_active_worst_to_testing)
{
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"a8", "10.8.0.1", 108, 0, A, ACT, 150, 1, 80},
          {"a9", "10.9.0.1", 109, 0, A, ACT, 150, 1, 90}, {"a10", "10.10.0.1", 110, 0, A, ACT, 150, 1, 100});
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_EXCESS_ACTIVE), 2); /* budget 2 of 3 excess */
    CHECK_STATUS(&S, "a10", TST);
    CHECK_STATUS(&S, "a9", TST);
    CHECK_STATUS(&S, "a8", ACT);
    CHECK_CONTAINS(reason_of(&S, "a10"), "excess active: 10 above target 7");
}

TEST(excess_testing_worst_to_candidate)
{
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, FIVE_TESTING, {"t6", "10.16.0.1", 116, 0, A, TST, 40, 1, 130},
          {"t7", "10.17.0.1", 117, 0, A, TST, 40, 1, 140}, {"t8", "10.18.0.1", 118, 0, A, TST, 40, 1, 150});
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_EXCESS_TESTING), 2);
    CHECK_STATUS(&S, "t8", CAN);
    CHECK_STATUS(&S, "t7", CAN);
    CHECK_STATUS(&S, "t6", TST);
}

TEST(working_testing_target_grows_with_active_gap)
{
    /* four actives: testing target 5 + 3 = 8; eight testing are not excess */
    SETUP("192.0.2.10", 0, {"a1", "10.1.0.1", 101, 0, A, ACT, 150, 1, 10}, {"a2", "10.2.0.1", 102, 0, A, ACT, 150, 1, 20},
          {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30}, {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40}, FIVE_TESTING,
          {"t6", "10.16.0.1", 116, 0, T, TST, 10, 1, 130}, {"t7", "10.17.0.1", 117, 0, T, TST, 10, 1, 140},
          {"t8", "10.18.0.1", 118, 0, T, TST, 10, 1, 150});
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_EXCESS_TESTING), 0);
    CHECK_INT(count_changes(&S, SEL_RULE_PROMOTE_ACTIVE), 2); /* t1, t2 (budget 2) */
    CHECK_INT(S.res.target_testing, 6);                       /* 5 + (7 − 6 active after the promotions) */
    CHECK_INT(S.res.testing_end, 6);
}

TEST(candidate_to_testing_min_count_and_slots)
{
    /* testing target 5, three testing → two free slots; candidates with 8 results never qualify */
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"t1", "10.11.0.1", 111, 0, A, TST, 40, 1, 80},
          {"t2", "10.12.0.1", 112, 0, A, TST, 40, 1, 90}, {"t3", "10.13.0.1", 113, 0, A, TST, 40, 1, 100},
          {"c8", "10.21.0.1", 121, 0, A, CAN, 8, 1, 1}, {"c9", "10.22.0.1", 122, 0, T, CAN, 9, 1, 200},
          {"c20", "10.23.0.1", 123, 0, A, CAN, 20, 1, 210}, {"c30", "10.24.0.1", 124, 0, A, CAN, 30, 1, 220},
          {"cpend", "10.25.0.1", 125, 0, P, CAN, 30, 1, 2});
    scenario_run(&S);
    CHECK_STATUS(&S, "c8", CAN);
    CHECK_STATUS(&S, "cpend", CAN); /* pending monitors are never promoted */
    CHECK_STATUS(&S, "c9", TST);    /* globally testing monitors may test */
    CHECK_STATUS(&S, "c20", TST);
    CHECK_STATUS(&S, "c30", CAN);
    CHECK_INT(count_changes(&S, SEL_RULE_PROMOTE_TESTING), 2);
    S.cfg.min_count_testing = 8;
    pair_named(&S, "c9")->status = CAN;
    pair_named(&S, "c20")->status = CAN;
    scenario_run(&S);
    CHECK_STATUS(&S, "c8", TST);
}

TEST(testing_to_active_needs_32_results_and_global_active)
{
    SETUP("192.0.2.10", 0, {"a1", "10.1.0.1", 101, 0, A, ACT, 150, 1, 10}, {"a2", "10.2.0.1", 102, 0, A, ACT, 150, 1, 20},
          {"a3", "10.3.0.1", 103, 0, A, ACT, 150, 1, 30}, {"a4", "10.4.0.1", 104, 0, A, ACT, 150, 1, 40},
          {"a5", "10.5.0.1", 105, 0, A, ACT, 150, 1, 50}, {"a6", "10.6.0.1", 106, 0, A, ACT, 150, 1, 60},
          {"t31", "10.11.0.1", 111, 0, A, TST, 31, 1, 5}, {"gt", "10.12.0.1", 112, 0, T, TST, 100, 1, 6},
          {"sick", "10.13.0.1", 113, 0, A, TST, 100, -0.1, 7}, {"t32", "10.14.0.1", 114, 0, A, TST, 32, 1, 90});
    scenario_run(&S);
    CHECK_STATUS(&S, "t31", TST);
    CHECK_STATUS(&S, "gt", TST);
    CHECK_INT(pair_named(&S, "gt")->state, SEL_STATE_PENDING);
    CHECK_STATUS(&S, "sick", CAN); /* never promoted: removed instead (4 testing > floor 3) */
    CHECK_STATUS(&S, "t32", ACT);
}

TEST(bootstrap_five_healthy_first_outside_budget)
{
    SETUP("192.0.2.10", 0, {"h1", "10.1.0.1", 101, 0, A, CAN, 1, 1, 10}, {"h2", "10.2.0.1", 102, 0, T, CAN, 1, 1, 20},
          {"h3", "10.3.0.1", 103, 0, A, CAN, 2, 1, 30}, {"h4", "10.4.0.1", 104, 0, A, CAN, 1, 1, 40},
          {"u1", "10.5.0.1", 105, 0, A, CAN, 1, -5, 0}, {"u2", "10.6.0.1", 106, 0, A, CAN, 1, -4, 0},
          {"pend", "10.7.0.1", 107, 0, P, CAN, 1, 1, 1}, {"none", "10.8.0.1", 108, 0, A, CAN, 0, 0, 0});
    scenario_run(&S);
    CHECK(!S.res.guard);
    CHECK_INT(count_changes(&S, SEL_RULE_BOOTSTRAP), 5);
    CHECK_STATUS(&S, "h1", TST);
    CHECK_STATUS(&S, "h2", TST);
    CHECK_STATUS(&S, "h3", TST);
    CHECK_STATUS(&S, "h4", TST);
    CHECK_STATUS(&S, "u2", TST); /* the better of the unhealthy (priority 0 vs 0; step −4 > −5) */
    CHECK_STATUS(&S, "u1", CAN);
    CHECK_STATUS(&S, "pend", CAN);
    CHECK_STATUS(&S, "none", CAN); /* no result in the window: invisible */
    CHECK_CONTAINS(reason_of(&S, "h1"), "bootstrap: no testing monitor");
    S.cfg.bootstrap_promotions = 2;
    for (size_t i = 0; i < S.n; i++) S.pairs[i].status = CAN;
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_BOOTSTRAP), 2);
}

TEST(bootstrap_not_when_testing_exists)
{
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"t1", "10.11.0.1", 111, 0, A, TST, 40, 1, 80},
          {"c1", "10.21.0.1", 121, 0, A, CAN, 1, 1, 90});
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_BOOTSTRAP), 0);
}

TEST(zero_active_emergency_waives_constraints)
{
    /* no active monitor; the two testing ones share a /20 and an account over its limit: promoted anyway */
    SETUP("192.0.2.10", 0, {"t1", "198.51.100.1", 90, 1, A, TST, 40, 1, 10}, {"t2", "198.51.101.1", 90, 1, A, TST, 40, 1, 20},
          {"c1", "10.3.0.1", 103, 0, A, CAN, 20, 1, 30}, {"c2", "10.4.0.1", 104, 0, A, CAN, 20, 1, 40},
          {"c3", "10.5.0.1", 105, 0, A, CAN, 20, 1, 50}, {"c4", "10.6.0.1", 106, 0, A, CAN, 20, 1, 60},
          {"c5", "10.7.0.1", 107, 0, A, CAN, 20, 1, 70});
    scenario_run(&S);
    CHECK(S.res.emergency);
    CHECK_INT(pair_named(&S, "t1")->violation, SEL_VIOL_DIVERSITY);
    CHECK_STATUS(&S, "t1", ACT);
    CHECK_STATUS(&S, "t2", ACT);
    CHECK_CONTAINS(reason_of(&S, "t1"), "emergency (no active monitor): promotion to active");
    CHECK_INT(count_changes(&S, SEL_RULE_REMOVE), 0); /* testing floor kept in the emergency */
    CHECK_INT(count_changes(&S, SEL_RULE_PROMOTE_TESTING), 2); /* remaining budget 4 − 2, max 2 */
    /* with an active monitor the same testing pair may not join */
    SETUP("192.0.2.10", 0, {"a1", "198.51.100.1", 91, 0, A, ACT, 150, 1, 10}, {"t2", "198.51.101.1", 92, 0, A, TST, 40, 1, 5});
    S.cfg.active_target = 2;
    scenario_run(&S);
    CHECK(!S.res.emergency);
    CHECK_STATUS(&S, "t2", CAN); /* marked for diversity and removed instead */
}

TEST(guard_no_change_at_all)
{
    /* target 7 > 3 monitors with data, none a healthy active/testing, nothing marked: nothing happens,
     * not even bootstrap; a same-network pause still does */
    SETUP("192.0.2.10", 0, {"c1", "10.1.0.1", 101, 0, A, CAN, 20, 1, 10}, {"c2", "10.2.0.1", 102, 0, A, CAN, 20, 1, 20},
          {"c3", "10.3.0.1", 103, 0, A, CAN, 20, -1, 30}, {"near", "192.0.2.7", 104, 0, A, CAN, 0, 0, 0});
    scenario_run(&S);
    CHECK(S.res.guard);
    CHECK(!S.res.changed);
    CHECK_INT(S.res.n_changes, 1);
    CHECK_STATUS(&S, "near", PAU);
    CHECK_STATUS(&S, "c1", CAN);
    /* an unhealthy testing monitor is marked for removal: the guard no longer holds */
    pair_named(&S, "c3")->status = TST;
    scenario_run(&S);
    CHECK(!S.res.guard);
    /* the guard needs the target to exceed the monitors with data */
    pair_named(&S, "c3")->status = CAN;
    S.cfg.active_target = 3;
    scenario_run(&S);
    CHECK(!S.res.guard);
    CHECK_INT(count_changes(&S, SEL_RULE_PROMOTE_TESTING), 2);
}

TEST(block_is_immediate_and_reaches_invisible_pairs)
{
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, {"gone", "10.21.0.1", 121, 0, D, ACT, 0, 0, 0},
          {"paused", "10.22.0.1", 122, 0, PZ, TST, 20, 1, 10}, {"unknown", "10.23.0.1", 123, 0, SEL_MON_UNKNOWN, ACT, 20, 1, 10});
    scenario_run(&S);
    CHECK_STATUS(&S, "gone", CAN);
    CHECK_STATUS(&S, "paused", CAN);
    CHECK_STATUS(&S, "unknown", CAN);
    CHECK_INT(count_changes(&S, SEL_RULE_BLOCK), 3);
    CHECK_INT(S.res.used_active_removals, 0);
    CHECK(S.res.changed);
}

TEST(unpause_after_recheck_at_most_two)
{
    int64_t h = 3600LL * 1000000;
    SETUP("192.0.2.10", 0, SEVEN_ACTIVE, FIVE_TESTING, {"r1", "10.21.0.1", 121, 0, A, PAU, 10, 1, 10},
          {"r2", "10.22.0.1", 122, 0, A, PAU, 10, 1, 10}, {"r3", "10.23.0.1", 123, 0, A, PAU, 0, 0, 0},
          {"recent", "10.24.0.1", 124, 0, A, PAU, 10, 1, 10}, {"still", "192.0.2.99", 125, 0, A, PAU, 10, 1, 10});
    const char *names[] = {"r1", "r2", "r3", "recent", "still"};
    for (int i = 0; i < 5; i++) {
        struct sel_pair *p = pair_named(&S, names[i]);
        p->stored_violation = SEL_VIOL_SAME_NETWORK;
        p->stored_since_us = NOW_US - 100 * h;
        p->stored_last_check_us = NOW_US - 9 * h;
        p->stored_pause_reason = SEL_PAUSE_REASON_CONSTRAINT;
    }
    pair_named(&S, "recent")->stored_last_check_us = NOW_US - 7 * h;
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_UNPAUSE), 2);
    CHECK_STATUS(&S, "r1", CAN);
    CHECK_STATUS(&S, "r2", CAN);
    CHECK_STATUS(&S, "r3", PAU);     /* the third resolved pair waits for the next run … */
    CHECK_INT(pair_named(&S, "r3")->new_last_check_us, NOW_US - 9 * h); /* … unchecked */
    CHECK_STATUS(&S, "recent", PAU); /* checked 7 h ago: not yet */
    CHECK_STATUS(&S, "still", PAU);  /* still in the server's /24: re-check recorded */
    CHECK_INT(pair_named(&S, "still")->new_last_check_us, NOW_US);
    struct sel_pair *r1 = pair_named(&S, "r1");
    CHECK_INT(r1->new_violation, SEL_VIOL_NONE);
    CHECK_INT(r1->new_since_us, 0);
    CHECK(r1->new_pause_reason == NULL);
    CHECK_CONTAINS(reason_of(&S, "r1"), "constraint resolved: no longer same_network");
    scenario_apply(&S);
    scenario_run(&S);
    CHECK_STATUS(&S, "r3", CAN);
    S.cfg.constraint_recheck_s = 3600; /* the 8 h are a setting */
    scenario_apply(&S);
    scenario_run(&S);
    CHECK_STATUS(&S, "recent", CAN);
}

TEST(violation_since_is_kept_while_it_lasts)
{
    SETUP("192.0.2.10", 0, {"d1", "198.51.96.1", 1, 0, A, ACT, 150, 1, 10}, {"d2", "198.51.97.1", 2, 0, A, ACT, 150, 1, 20},
          {"a3", "10.3.0.1", 3, 0, A, ACT, 150, 1, 30});
    S.cfg.active_target = 3;
    S.cfg.budget_base = 0; /* nothing may change: only the tracking is seen */
    struct sel_pair *d1 = pair_named(&S, "d1");
    d1->stored_violation = SEL_VIOL_DIVERSITY;
    d1->stored_since_us = NOW_US - 1000;
    pair_named(&S, "a3")->stored_violation = SEL_VIOL_ACCOUNT_LIMIT;
    pair_named(&S, "a3")->stored_since_us = NOW_US - 1000;
    scenario_run(&S);
    CHECK_INT(d1->new_since_us, NOW_US - 1000);
    CHECK_INT(pair_named(&S, "d2")->new_since_us, NOW_US);
    CHECK_INT(pair_named(&S, "a3")->new_violation, SEL_VIOL_NONE); /* resolved: cleared */
    CHECK_INT(pair_named(&S, "a3")->new_since_us, 0);
}

TEST(invisible_pairs_do_not_count)
{
    /* an active pair with no result in 24 h is not an active monitor for the rules */
    SETUP("192.0.2.10", 0, {"ghost", "10.1.0.1", 101, 0, A, ACT, 0, 0, 0}, {"t1", "10.2.0.1", 102, 0, A, TST, 40, 1, 10},
          {"t2", "10.3.0.1", 103, 0, A, TST, 40, 1, 10}, {"t3", "10.4.0.1", 104, 0, A, TST, 40, 1, 10});
    S.cfg.active_target = 3;
    scenario_run(&S);
    CHECK(S.res.emergency);
    CHECK_INT(S.res.active_start, 0);
    CHECK_STATUS(&S, "ghost", ACT);
    CHECK_INT(count_changes(&S, SEL_RULE_PROMOTE_ACTIVE), 3);
}

TEST(targets_are_settings)
{
    SETUP("192.0.2.10", 0, {"t1", "10.1.0.1", 101, 0, A, TST, 40, 1, 10}, {"t2", "10.2.0.1", 102, 0, A, TST, 40, 1, 20},
          {"t3", "10.3.0.1", 103, 0, A, TST, 40, 1, 30}, {"t4", "10.4.0.1", 104, 0, A, TST, 40, 1, 40});
    S.cfg.active_target = 3;
    S.cfg.testing_target = 1;
    scenario_run(&S);
    CHECK_INT(count_changes(&S, SEL_RULE_PROMOTE_ACTIVE), 3);
    CHECK_INT(S.res.target_testing, 1);
    CHECK_INT(S.res.active_end, 3);
}

/* The settings table (defaults, bounds, parsing) is tested in test_settings.c. */

TEST(account_allows_table)
{
    /* limit 2: 2 active, 3 testing, 3 together */
    CHECK(sel_account_allows(2, 1, 0, ACT));
    CHECK(!sel_account_allows(2, 2, 0, ACT));
    CHECK(!sel_account_allows(2, 1, 2, ACT)); /* together would be 4 */
    CHECK(sel_account_allows(2, 1, 1, ACT));
    CHECK(sel_account_allows(2, 0, 2, TST));
    CHECK(!sel_account_allows(2, 0, 3, TST));
    CHECK(!sel_account_allows(2, 2, 1, TST));
    CHECK(sel_account_allows(2, 5, 5, CAN));
}

int main(void)
{
    RUN(priority_formula);
    RUN(walk_order_healthy_priority_step_rtt);
    RUN(same_network_v4_pauses_any_status);
    RUN(same_network_prefix_is_a_setting);
    RUN(same_network_v6_48);
    RUN(same_account_pauses);
    RUN(pause_keeps_since_of_the_same_violation);
    RUN(diversity_v4_marks_both_and_ignores_floors);
    RUN(diversity_v6_44);
    RUN(diversity_refuses_promotion);
    RUN(account_limit_default_two_active);
    RUN(account_limit_override);
    RUN(account_limit_together_removes_testing_first);
    RUN(account_limit_testing_x_plus_one);
    RUN(account_limit_refuses_promotion);
    RUN(swap_thresholds_five_percent_and_five_points);
    RUN(swap_active_at_exact_threshold);
    RUN(swap_costs_two_and_needs_the_count);
    RUN(swap_candidate_for_testing);
    RUN(budget_base_two);
    RUN(budget_three_with_blocked);
    RUN(budget_four_with_zero_active);
    RUN(budgets_are_settings);
    RUN(floor_active);
    RUN(floor_active_small_target);
    RUN(floor_testing);
    RUN(pending_leaves_one_level_per_run);
    RUN(excess_active_worst_to_testing);
    RUN(excess_testing_worst_to_candidate);
    RUN(working_testing_target_grows_with_active_gap);
    RUN(candidate_to_testing_min_count_and_slots);
    RUN(testing_to_active_needs_32_results_and_global_active);
    RUN(bootstrap_five_healthy_first_outside_budget);
    RUN(bootstrap_not_when_testing_exists);
    RUN(zero_active_emergency_waives_constraints);
    RUN(guard_no_change_at_all);
    RUN(block_is_immediate_and_reaches_invisible_pairs);
    RUN(unpause_after_recheck_at_most_two);
    RUN(violation_since_is_kept_while_it_lasts);
    RUN(invisible_pairs_do_not_count);
    RUN(targets_are_settings);
    RUN(account_allows_table);
    sel_result_free(&S.res);
    return unit_done();
}
