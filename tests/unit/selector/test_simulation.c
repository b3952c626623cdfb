/* test_simulation.c — three simulated days of a small pool, time injected (nothing waits): 40 monitors on varied
 * networks and accounts with scripted health and rtt probe 4 servers at the intervals their assignments give;
 * every result goes through the real statistics store and every due server through the real rule engine, with
 * the review schedule of DESIGN.md §7 (+60 min after a change, +20 min otherwise).
 *
 * Checked on every run: no kind of change exceeds its budget (recomputed here, independently of the engine), and
 * health/pending removals never take a server below the floors. Checked on the way: the server whose seven
 * actives all go bad at 36 h recovers with healthy ones. Checked at the end: every server has 7 healthy actives
 * that satisfy every constraint, the blocked monitor left at once, the pending one was never promoted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "constraints.h"
#include "rules.h"
#include "settings.h"
#include "stats.h"
#include "unit.h"

#define N_MON 40
#define N_SRV 4
#define HOUR 3600LL
#define S_US 1000000LL
#define T0 (1800000000LL * S_US)
#define END_S (72 * HOUR)
#define BAD_AT_S (42 * HOUR)     /* the seven actives of server 0 go bad for it */
#define BLOCK_AT_S (48 * HOUR)   /* monitor m12 is globally paused … */
#define UNBLOCK_AT_S (60 * HOUR) /* … and comes back */

struct mon {
    char name[16];
    char ip4[32], ip6[48];
    int64_t account;
    int limit;
    enum sel_mon_status global;
    double rtt;  /* base rtt, ms */
    bool sick;   /* unhealthy everywhere */
};

struct srv {
    const char *ip;
    int64_t account;
    int64_t next_review_s;
};

struct pairstate {
    enum msg_pair_status status;
    enum sel_violation viol;
    int64_t since, last_check;
    const char *pause_reason;
    struct stats_pair stats;
    int64_t next_probe_s;
    bool bad; /* scripted: unhealthy for this server only */
    bool ever_active;
};

static struct mon mons[N_MON];
static struct srv srvs[N_SRV] = {
    {"192.0.2.10", 900, 0},
    {"198.51.100.20", 901, 0}, /* m03 sits in its /24 */
    {"203.0.113.30", 105, 0},  /* owned by the account of m10 and m11 */
    {"2001:db8:ffff::10", 902, 0},
};
static struct pairstate ps[N_SRV][N_MON];
static struct sel_settings cfg;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static int runs, changes_total, bad_recovered_at = -1;
static bool blocked_left_at_once = true;

static double frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void setup_monitors(void)
{
    for (int i = 0; i < N_MON; i++) {
        struct mon *m = &mons[i];
        snprintf(m->name, sizeof m->name, "m%02d", i);
        snprintf(m->ip4, sizeof m->ip4, "10.%d.%d.1", 10 + i, i);          /* one /16 each … */
        snprintf(m->ip6, sizeof m->ip6, "2001:db8:%x::1", 0x100 + i * 16); /* … one /44 each */
        m->account = i < 20 ? 100 + i / 2 : 300 + i;                        /* accounts of two */
        m->global = SEL_MON_ACTIVE;
        m->rtt = 5 + 3.7 * i;
    }
    /* … except: m01/m02 share a /20 and a /44; m04/m05 share a /20; m03 is in server 1's /24 */
    strcpy(mons[1].ip4, "10.200.16.1");
    strcpy(mons[2].ip4, "10.200.31.1");
    strcpy(mons[1].ip6, "2001:db8:10::1");
    strcpy(mons[2].ip6, "2001:db8:1f::1");
    strcpy(mons[4].ip4, "10.201.0.1");
    strcpy(mons[5].ip4, "10.201.15.1");
    strcpy(mons[3].ip4, "198.51.100.77");
    /* eight monitors of one account (default limit 2), four of an account with the override 3 */
    for (int i = 20; i < 28; i++) mons[i].account = 200;
    for (int i = 28; i < 32; i++) {
        mons[i].account = 201;
        mons[i].limit = 3;
    }
    /* the best rtts belong to account 200 and to the /20 twins, so the limits and diversity are exercised */
    for (int i = 20; i < 28; i++) mons[i].rtt = 3 + i - 20;
    mons[1].rtt = mons[2].rtt = 2;
    mons[6].sick = mons[7].sick = true;
    mons[36].global = mons[37].global = SEL_MON_TESTING;
    mons[38].global = SEL_MON_PENDING;
    mons[38].rtt = 1; /* the best of all, and never to be promoted */
}

static bool is_v6(int s) { return strchr(srvs[s].ip, ':') != NULL; }

static int interval_s(int s, int m)
{
    switch (ps[s][m].status) {
    case MSG_STATUS_ACTIVE: return mons[m].global == SEL_MON_ACTIVE ? cfg.interval_active_s : cfg.interval_active_other_s;
    case MSG_STATUS_TESTING: return cfg.interval_testing_s;
    case MSG_STATUS_PAUSED: return cfg.interval_paused_s;
    default: return cfg.interval_candidate_s;
    }
}

/* One probe result, as the agent would report it and common/step would score it. */
static void probe(int s, int m, int64_t t_s)
{
    bool ok = !mons[m].sick && !ps[s][m].bad;
    double step, rtt;
    if (ok) {
        step = frand() < 0.97 ? 1.0 : -5.0; /* an occasional timeout */
        rtt = step > 0 ? mons[m].rtt * (0.9 + 0.2 * frand()) : 0;
    } else {
        step = -5.0; /* timeouts */
        rtt = step > 0 ? mons[m].rtt * 3 : 0;
    }
    char id[48];
    snprintf(id, sizeof id, "%d-%d-%lld", s, m, (long long)t_s);
    int64_t t_us = T0 + t_s * S_US;
    enum stats_add_result r = stats_add(&ps[s][m].stats, t_us, stats_fingerprint(id), step, rtt, t_us, cfg.stats_window_s);
    if (r != STATS_ADDED) UNIT_FAIL("probe %d/%d at %lld: stats_add %d", s, m, (long long)t_s, r);
    /* the agent's spool re-sends now and then: counted once */
    if (frand() < 0.05 && stats_add(&ps[s][m].stats, t_us, stats_fingerprint(id), step, rtt, t_us + S_US,
                                    cfg.stats_window_s) != STATS_DUPLICATE)
        UNIT_FAIL("a re-sent result was counted twice");
}

static bool works(int m) { return mons[m].global != SEL_MON_PAUSED && mons[m].global != SEL_MON_DELETED; }

/* The budget the run must respect, recomputed from the inputs as DESIGN.md §7 states it. */
static int expected_budget(int s, const struct sel_pair *p, const struct netaddr *saddr)
{
    int active = 0, blocked = 0;
    for (int m = 0; m < N_MON; m++) {
        if (p[m].count == 0) continue;
        bool paused_now = p[m].status == MSG_STATUS_PAUSED || sel_same_network(&cfg, saddr, &p[m].addr) ||
                          p[m].account_id == srvs[s].account;
        if (p[m].status == MSG_STATUS_ACTIVE && !paused_now) active++;
        if (p[m].global != SEL_MON_ACTIVE && p[m].global != SEL_MON_TESTING && p[m].global != SEL_MON_PENDING) blocked++;
    }
    if (active == 0) return cfg.budget_zero_active;
    return blocked > 1 ? cfg.budget_blocked : cfg.budget_base;
}

static bool is_health_reason(const char *r) { return strstr(r, "unhealthy") || strstr(r, "pending"); }

static void check_run(int s, const struct sel_pair *p, const struct sel_result *res, int budget, int64_t t_s)
{
    int promos = 0, act_rm = 0, test_rm = 0;
    int blocked_act = 0, blocked_test = 0, cons_act = 0, cons_test = 0, health_act = 0, health_test = 0;
    for (size_t k = 0; k < res->n_changes; k++) {
        const struct sel_change *c = &res->changes[k];
        switch (c->rule) {
        case SEL_RULE_PROMOTE_ACTIVE:
        case SEL_RULE_PROMOTE_TESTING: promos++; break;
        case SEL_RULE_SWAP_ACTIVE: promos++; break; /* both halves: a swap costs 2 */
        case SEL_RULE_SWAP_TESTING:
            if (c->to == MSG_STATUS_TESTING) promos++;
            else test_rm++;
            break;
        case SEL_RULE_EXCESS_ACTIVE: act_rm++; break;
        case SEL_RULE_EXCESS_TESTING: test_rm++; break;
        case SEL_RULE_REMOVE:
            if (c->from == MSG_STATUS_ACTIVE) {
                act_rm++;
                if (is_health_reason(c->reason)) health_act++;
                else cons_act++;
            } else {
                test_rm++;
                if (is_health_reason(c->reason)) health_test++;
                else cons_test++;
            }
            break;
        case SEL_RULE_BLOCK:
            if (c->from == MSG_STATUS_ACTIVE && p[c->pair].count) blocked_act++;
            if (c->from == MSG_STATUS_TESTING && p[c->pair].count) blocked_test++;
            break;
        default: break;
        }
    }
    if (res->budget != budget) UNIT_FAIL("server %d at %lldh: budget %d, want %d", s, (long long)(t_s / HOUR), res->budget, budget);
    if (promos > budget || act_rm > budget || test_rm > budget)
        UNIT_FAIL("server %d at %lldh: promotions %d, active removals %d, testing removals %d over budget %d", s,
                  (long long)(t_s / HOUR), promos, act_rm, test_rm, budget);
    /* Floors: health removals run after blocks and constraint removals and only while above the floor. */
    int after_act = res->active_start - blocked_act - cons_act - health_act;
    if (health_act > 0 && after_act < sel_floor_active(&cfg))
        UNIT_FAIL("server %d at %lldh: health removals left %d actives (floor %d)", s, (long long)(t_s / HOUR), after_act,
                  sel_floor_active(&cfg));
    int after_test = res->testing_start - blocked_test + cons_act + health_act - cons_test - health_test;
    if (health_test > 0 && after_test < sel_floor_testing(&cfg))
        UNIT_FAIL("server %d at %lldh: health removals left %d testing (floor %d)", s, (long long)(t_s / HOUR),
                  after_test, sel_floor_testing(&cfg));
}

static void review(int s, int64_t t_s)
{
    struct sel_server server = {.id = s + 1, .account_id = srvs[s].account};
    server.has_addr = netaddr_parse(srvs[s].ip, &server.addr) == 0;
    struct sel_pair p[N_MON];
    memset(p, 0, sizeof p);
    int64_t now = T0 + t_s * S_US;
    for (int m = 0; m < N_MON; m++) {
        struct stats_summary sum;
        stats_summarize(&ps[s][m].stats, now, cfg.stats_window_s, &sum);
        p[m] = (struct sel_pair){
            .monitor_id = m + 1, .monitor_name = mons[m].name, .global = mons[m].global, .status = ps[s][m].status,
            .account_id = mons[m].account, .account_limit = mons[m].limit, .count = sum.count,
            .avg_step = sum.avg_step, .avg_rtt_ms = sum.avg_rtt_ms, .stored_violation = ps[s][m].viol,
            .stored_since_us = ps[s][m].since, .stored_last_check_us = ps[s][m].last_check,
            .stored_pause_reason = ps[s][m].pause_reason,
        };
        p[m].has_addr = netaddr_parse(is_v6(s) ? mons[m].ip6 : mons[m].ip4, &p[m].addr) == 0;
    }
    int budget = expected_budget(s, p, &server.addr);
    struct sel_result res;
    sel_review(&cfg, &server, p, N_MON, now, &res);
    check_run(s, p, &res, budget, t_s);
    if (getenv("SIM_TRACE") && atoi(getenv("SIM_TRACE")) == s) {
        printf("# %5.1fh server %d: act %d->%d test %d->%d budget %d guard %d\n", t_s / 3600.0, s, res.active_start,
               res.active_end, res.testing_start, res.testing_end, res.budget, res.guard);
        for (size_t k = 0; k < res.n_changes; k++)
            printf("#        %s %s->%s %s\n", p[res.changes[k].pair].monitor_name, msg_pair_status_str(res.changes[k].from),
                   msg_pair_status_str(res.changes[k].to), res.changes[k].reason);
    }
    for (int m = 0; m < N_MON; m++) {
        struct pairstate *q = &ps[s][m];
        if (mons[m].global == SEL_MON_PAUSED && (p[m].new_status == MSG_STATUS_ACTIVE || p[m].new_status == MSG_STATUS_TESTING))
            blocked_left_at_once = false;
        if (q->status != p[m].new_status) q->next_probe_s = t_s + (int64_t)(frand() * 600);
        q->status = p[m].new_status;
        q->viol = p[m].new_violation;
        q->since = p[m].new_since_us;
        q->last_check = p[m].new_last_check_us;
        q->pause_reason = p[m].new_pause_reason;
        if (q->status == MSG_STATUS_ACTIVE) q->ever_active = true;
    }
    runs++;
    changes_total += (int)res.n_changes;
    srvs[s].next_review_s = t_s + (res.changed ? cfg.review_after_change_s : cfg.review_after_nochange_s);
    sel_result_free(&res);
}

static int healthy_actives(int s, int64_t t_s, bool constraints)
{
    struct netaddr saddr, a, b;
    netaddr_parse(srvs[s].ip, &saddr);
    int n = 0;
    for (int m = 0; m < N_MON; m++) {
        if (ps[s][m].status != MSG_STATUS_ACTIVE) continue;
        struct stats_summary sum;
        stats_summarize(&ps[s][m].stats, T0 + t_s * S_US, cfg.stats_window_s, &sum);
        if (sum.count == 0 || sum.avg_step < 0) continue;
        if (constraints) {
            netaddr_parse(is_v6(s) ? mons[m].ip6 : mons[m].ip4, &a);
            if (sel_same_network(&cfg, &saddr, &a)) UNIT_FAIL("server %d: active %s in its network", s, mons[m].name);
            if (mons[m].account == srvs[s].account) UNIT_FAIL("server %d: active %s of its account", s, mons[m].name);
            int same_account = 0;
            for (int k = 0; k < N_MON; k++) {
                if (k == m || (ps[s][k].status != MSG_STATUS_ACTIVE && ps[s][k].status != MSG_STATUS_TESTING)) continue;
                netaddr_parse(is_v6(s) ? mons[k].ip6 : mons[k].ip4, &b);
                if (sel_same_diversity_network(&cfg, &a, &b))
                    UNIT_FAIL("server %d: %s and %s share a diversity network", s, mons[m].name, mons[k].name);
                if (mons[k].account == mons[m].account && ps[s][k].status == MSG_STATUS_ACTIVE) same_account++;
            }
            int limit = mons[m].limit ? mons[m].limit : cfg.account_limit_default;
            if (same_account + 1 > limit) UNIT_FAIL("server %d: account %lld over its limit", s, (long long)mons[m].account);
            if (mons[m].global != SEL_MON_ACTIVE) UNIT_FAIL("server %d: %s active but not globally active", s, mons[m].name);
        }
        n++;
    }
    return n;
}

TEST(three_days_forty_monitors)
{
    sel_settings_defaults(&cfg);
    setup_monitors();
    for (int s = 0; s < N_SRV; s++) {
        srvs[s].next_review_s = cfg.new_pair_review_delay_s;
        for (int m = 0; m < N_MON; m++) {
            ps[s][m].status = MSG_STATUS_CANDIDATE;
            ps[s][m].next_probe_s = (int64_t)(frand() * 7200); /* the agents spread their first probes */
        }
    }
    bool bad_set = false;
    int bad_members[7], n_bad = 0;
    for (int64_t t = 0; t <= END_S; t += 60) {
        if (t == BLOCK_AT_S) mons[12].global = SEL_MON_PAUSED;
        if (t == UNBLOCK_AT_S) mons[12].global = SEL_MON_ACTIVE;
        if (t >= BAD_AT_S && !bad_set) {
            bad_set = true;
            for (int m = 0; m < N_MON; m++)
                if (ps[0][m].status == MSG_STATUS_ACTIVE) {
                    ps[0][m].bad = true;
                    if (n_bad < 7) bad_members[n_bad++] = m;
                }
            CHECK_INT(n_bad, 7); /* the server had converged before its actives went bad */
        }
        for (int s = 0; s < N_SRV; s++)
            for (int m = 0; m < N_MON; m++) {
                struct pairstate *q = &ps[s][m];
                if (!works(m) || q->next_probe_s > t) continue;
                probe(s, m, t);
                q->next_probe_s = t + interval_s(s, m) + (int64_t)(frand() * 60) - 30;
            }
        for (int s = 0; s < N_SRV; s++)
            if (srvs[s].next_review_s <= t) review(s, t);
        if (bad_set && bad_recovered_at < 0) {
            bool any_bad_active = false;
            for (int i = 0; i < n_bad; i++) any_bad_active |= ps[0][bad_members[i]].status == MSG_STATUS_ACTIVE;
            if (!any_bad_active && healthy_actives(0, t, false) == 7) bad_recovered_at = (int)(t / HOUR);
        }
        if (t % (6 * HOUR) == 0) {
            for (int s = 0; s < N_SRV; s++)
                for (int m = 0; m < N_MON; m++) stats_expire(&ps[s][m].stats, T0 + t * S_US, cfg.stats_window_s);
            printf("# %3lldh: healthy actives per server %d %d %d %d\n", (long long)(t / HOUR), healthy_actives(0, t, false),
                   healthy_actives(1, t, false), healthy_actives(2, t, false), healthy_actives(3, t, false));
        }
    }
    printf("# %d reviews, %d changes; server 0 recovered at %dh\n", runs, changes_total, bad_recovered_at);
    for (int s = 0; s < N_SRV; s++) {
        int n = healthy_actives(s, END_S, true);
        if (n != 7) UNIT_FAIL("server %d ends with %d healthy actives, want 7", s, n);
        int actives = 0;
        for (int m = 0; m < N_MON; m++) actives += ps[s][m].status == MSG_STATUS_ACTIVE;
        CHECK_INT(actives, 7);
        CHECK_INT(ps[s][38].ever_active, false); /* the pending monitor */
        CHECK_INT(ps[s][6].status == MSG_STATUS_ACTIVE, false); /* the sick ones */
        CHECK_INT(ps[s][7].status == MSG_STATUS_ACTIVE, false);
    }
    CHECK(bad_recovered_at > 0 && bad_recovered_at < END_S / HOUR);
    CHECK(blocked_left_at_once);
    CHECK_INT(ps[1][3].status, MSG_STATUS_PAUSED);  /* same /24 */
    CHECK_INT(ps[1][3].viol, SEL_VIOL_SAME_NETWORK);
    CHECK_INT(ps[2][10].status, MSG_STATUS_PAUSED); /* same account */
    CHECK_INT(ps[2][11].viol, SEL_VIOL_SAME_ACCOUNT);
    for (int s = 0; s < N_SRV; s++)
        for (int m = 0; m < N_MON; m++) stats_free(&ps[s][m].stats);
}

int main(void)
{
    RUN(three_days_forty_monitors);
    return unit_done();
}
