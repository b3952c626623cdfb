/* rules.c — the selector's rules, in the order DESIGN.md §7 gives them (see rules.h). Follows the pool's Go
 * selector (ntppool/monitor selector/process.go) where the contract is silent; where the two differ, the
 * contract's wording wins and the difference is noted beside the code. */
#include "rules.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char *const mon_names[] = {"unknown", "pending", "testing", "active", "paused", "deleted"};

const char *sel_mon_status_str(enum sel_mon_status s)
{
    return (unsigned)s < sizeof mon_names / sizeof mon_names[0] ? mon_names[s] : "unknown";
}

enum sel_mon_status sel_mon_status_parse(const char *s)
{
    for (unsigned i = 1; s && i < sizeof mon_names / sizeof mon_names[0]; i++)
        if (strcmp(s, mon_names[i]) == 0) return (enum sel_mon_status)i;
    return SEL_MON_UNKNOWN;
}

const char *sel_state_str(enum sel_state s)
{
    static const char *const n[] = {"in", "out", "block", "pending"};
    return (unsigned)s < 4 ? n[s] : "?";
}

const char *sel_rule_str(enum sel_rule r)
{
    static const char *const n[] = {"pause",   "block",           "remove",       "excess-active",
                                    "promote", "swap-active",     "promote-testing", "swap-testing",
                                    "excess-testing", "unpause", "bootstrap"};
    return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : "?";
}

double sel_priority(double avg_rtt_ms, double avg_step) { return round(avg_rtt_ms * (1 + 2 * (1 - avg_step))); }

int sel_compare_pairs(const struct sel_pair *a, const struct sel_pair *b)
{
    if (a->healthy != b->healthy) return a->healthy ? -1 : 1;
    if (a->priority != b->priority) return a->priority < b->priority ? -1 : 1;
    if (a->avg_step != b->avg_step) return a->avg_step > b->avg_step ? -1 : 1;
    if (a->avg_rtt_ms != b->avg_rtt_ms) return a->avg_rtt_ms < b->avg_rtt_ms ? -1 : 1;
    return (a->monitor_id > b->monitor_id) - (a->monitor_id < b->monitor_id);
}

bool sel_outperforms(const struct sel_settings *cfg, const struct sel_pair *newcomer, const struct sel_pair *incumbent)
{
    if (newcomer->healthy && !incumbent->healthy) return true;
    if (!newcomer->healthy && incumbent->healthy) return false;
    /* The pool divides by the incumbent's priority; a priority of 0 cannot be improved on. */
    if (incumbent->priority <= 0) return false;
    double gain = incumbent->priority - newcomer->priority;
    return gain * 100.0 / incumbent->priority >= cfg->swap_min_percent && gain >= cfg->swap_min_points;
}

void sel_result_free(struct sel_result *res)
{
    free(res->changes);
    res->changes = NULL;
    res->n_changes = res->cap = 0;
}

/* ---- one run ---- */

struct account {
    int64_t id;
    int limit;
    int active, testing; /* visible pairs of this server, working statuses */
};

struct run {
    const struct sel_settings *cfg;
    const struct sel_server *srv;
    struct sel_pair *p;
    size_t n;
    int64_t now;
    struct sel_result *res;
    size_t *order; /* visible pairs, best first */
    size_t n_order;
    enum msg_pair_status *start; /* status at the start of the run (after pauses) */
    enum sel_violation *fixed;   /* same network / same account, as of now */
    bool *touched;               /* changed by a rule this run */
    struct account *acc;
    size_t n_acc;
    int act, test; /* visible active / testing pairs, working */
    int rem_active, rem_testing, rem_promo;
};

static int order_cmp(const void *a, const void *b, void *arg)
{
    const struct sel_pair *p = arg;
    return sel_compare_pairs(&p[*(const size_t *)a], &p[*(const size_t *)b]);
}

static struct account *account_of(struct run *r, size_t i)
{
    if (!r->p[i].account_id) return NULL;
    for (size_t k = 0; k < r->n_acc; k++)
        if (r->acc[k].id == r->p[i].account_id) return &r->acc[k];
    return NULL;
}

static void count_status(struct run *r, size_t i, enum msg_pair_status s, int delta)
{
    if (!r->p[i].visible) return;
    if (s == MSG_STATUS_ACTIVE) r->act += delta;
    if (s == MSG_STATUS_TESTING) r->test += delta;
    struct account *a = account_of(r, i);
    if (a && s == MSG_STATUS_ACTIVE) a->active += delta;
    if (a && s == MSG_STATUS_TESTING) a->testing += delta;
}

static void add_change(struct run *r, size_t i, enum msg_pair_status to, enum sel_rule rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add_change(struct run *r, size_t i, enum msg_pair_status to, enum sel_rule rule, const char *fmt, ...)
{
    struct sel_result *res = r->res;
    if (res->n_changes == res->cap) {
        res->cap = res->cap ? res->cap * 2 : 16;
        res->changes = xrealloc(res->changes, res->cap * sizeof *res->changes);
    }
    struct sel_change *c = &res->changes[res->n_changes++];
    c->pair = i;
    c->from = r->p[i].new_status;
    c->to = to;
    c->rule = rule;
    bool waived = rule == SEL_RULE_PROMOTE_ACTIVE || rule == SEL_RULE_BOOTSTRAP;
    const char *prefix = res->emergency && waived ? "emergency (no active monitor): " : "";
    size_t pl = strlen(prefix);
    memcpy(c->reason, prefix, pl + 1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason + pl, sizeof c->reason - pl, fmt, ap);
    va_end(ap);
    count_status(r, i, c->from, -1);
    count_status(r, i, to, +1);
    r->p[i].new_status = to;
    if (rule != SEL_RULE_PAUSE) {
        r->touched[i] = true;
        res->changed = true;
    }
}

static const char *name_of(const struct sel_pair *p) { return p->monitor_name ? p->monitor_name : "?"; }

/* The other visible active/testing monitor (at the start of the run) sharing a diversity network with pair i, or
 * SIZE_MAX. */
static size_t diversity_peer(const struct run *r, size_t i)
{
    const struct sel_pair *a = &r->p[i];
    if (!a->has_addr) return SIZE_MAX;
    for (size_t k = 0; k < r->n_order; k++) {
        size_t j = r->order[k];
        if (j == i || !r->p[j].has_addr) continue;
        if (r->start[j] != MSG_STATUS_ACTIVE && r->start[j] != MSG_STATUS_TESTING) continue;
        if (sel_same_diversity_network(r->cfg, &a->addr, &r->p[j].addr)) return j;
    }
    return SIZE_MAX;
}

/* Whether a promotion of pair i is refused for diversity: a monitor in the same /20 or /44 was active/testing at
 * the start of the run (the contract), or became active/testing earlier in this run. The second half goes beyond
 * the pool: without it two candidates of one /20 can be promoted together, be marked together on the next run,
 * leave together, and come back together, for ever. */
static bool diversity_blocks(const struct run *r, size_t i)
{
    if (diversity_peer(r, i) != SIZE_MAX) return true;
    const struct sel_pair *a = &r->p[i];
    if (!a->has_addr) return false;
    for (size_t k = 0; k < r->n_order; k++) {
        size_t j = r->order[k];
        if (j == i || !r->touched[j] || !r->p[j].has_addr) continue;
        if (r->p[j].new_status != MSG_STATUS_ACTIVE && r->p[j].new_status != MSG_STATUS_TESTING) continue;
        if (sel_same_diversity_network(r->cfg, &a->addr, &r->p[j].addr)) return true;
    }
    return false;
}

/* Whether pair i may move to `to` under the constraints; `out` (or SIZE_MAX) is a swap partner leaving for
 * `out_to` at the same time. Diversity looks at the statuses as at the start of the run (see diversity_blocks),
 * account limits at the working counts. `waivable`: with no active monitor at the start the constraints are
 * waived — for testing → active (§7 rule 4) and bootstrap (the pool's emergency override); candidate → testing
 * keeps them (§7 rule 5 has no such exception, unlike the pool). */
static bool constraints_allow(struct run *r, size_t i, enum msg_pair_status to, size_t out, enum msg_pair_status out_to,
                              bool waivable)
{
    if (r->fixed[i] != SEL_VIOL_NONE) return false;
    if (waivable && r->res->emergency) return true;
    struct account *a = account_of(r, i);
    if (a) {
        int active = a->active, testing = a->testing;
        enum msg_pair_status cur = r->p[i].new_status;
        if (cur == MSG_STATUS_ACTIVE) active--;
        if (cur == MSG_STATUS_TESTING) testing--;
        if (out != SIZE_MAX && r->p[out].account_id == r->p[i].account_id) {
            enum msg_pair_status oc = r->p[out].new_status;
            active += (out_to == MSG_STATUS_ACTIVE) - (oc == MSG_STATUS_ACTIVE);
            testing += (out_to == MSG_STATUS_TESTING) - (oc == MSG_STATUS_TESTING);
        }
        if (!sel_account_allows(a->limit, active, testing, to)) return false;
    }
    return !diversity_blocks(r, i);
}

static bool can_promote_active(struct run *r, size_t i, size_t out)
{
    const struct sel_pair *p = &r->p[i];
    if (p->global != SEL_MON_ACTIVE || !p->healthy) return false;
    return constraints_allow(r, i, MSG_STATUS_ACTIVE, out, MSG_STATUS_TESTING, true);
}

static bool can_promote_testing(struct run *r, size_t i, size_t out, bool waivable)
{
    const struct sel_pair *p = &r->p[i];
    if (p->global != SEL_MON_ACTIVE && p->global != SEL_MON_TESTING) return false;
    return constraints_allow(r, i, MSG_STATUS_TESTING, out, MSG_STATUS_CANDIDATE, waivable);
}

/* ---- evaluation ---- */

static enum sel_violation fixed_violation(const struct run *r, const struct sel_pair *p)
{
    if (r->srv->has_addr && p->has_addr && sel_same_network(r->cfg, &r->srv->addr, &p->addr))
        return SEL_VIOL_SAME_NETWORK;
    if (r->srv->account_id && p->account_id == r->srv->account_id) return SEL_VIOL_SAME_ACCOUNT;
    return SEL_VIOL_NONE;
}

/* Flags the worst excess of each account (X active, X+1 testing, X+1 together), worst by the walk order. */
static void flag_account_limits(struct run *r)
{
    for (size_t k = 0; k < r->n_acc; k++) {
        struct account *a = &r->acc[k];
        int active = 0, testing = 0;
        for (size_t o = 0; o < r->n_order; o++) {
            size_t i = r->order[o];
            if (r->p[i].account_id != a->id) continue;
            active += r->start[i] == MSG_STATUS_ACTIVE;
            testing += r->start[i] == MSG_STATUS_TESTING;
        }
        int excess_active = active - a->limit, excess_testing = testing - (a->limit + 1);
        for (size_t o = r->n_order; o-- > 0;) {
            size_t i = r->order[o];
            if (r->p[i].account_id != a->id) continue;
            if (r->start[i] == MSG_STATUS_ACTIVE && excess_active > 0) {
                r->p[i].violation = SEL_VIOL_ACCOUNT_LIMIT;
                excess_active--;
                active--;
            } else if (r->start[i] == MSG_STATUS_TESTING && excess_testing > 0) {
                r->p[i].violation = SEL_VIOL_ACCOUNT_LIMIT;
                excess_testing--;
                testing--;
            }
        }
        /* Together: removing a testing pair lowers the total, demoting an active one does not; so the worst
         * remaining testing pairs go first. */
        for (int pass = 0; pass < 2 && active + testing > a->limit + 1; pass++) {
            enum msg_pair_status want = pass == 0 ? MSG_STATUS_TESTING : MSG_STATUS_ACTIVE;
            for (size_t o = r->n_order; o-- > 0 && active + testing > a->limit + 1;) {
                size_t i = r->order[o];
                if (r->p[i].account_id != a->id || r->start[i] != want || r->p[i].violation) continue;
                r->p[i].violation = SEL_VIOL_ACCOUNT_LIMIT;
                if (want == MSG_STATUS_TESTING) testing--;
                else active--;
            }
        }
    }
}

static enum sel_state determine_state(const struct sel_pair *p)
{
    switch (p->global) {
    case SEL_MON_PENDING: return SEL_STATE_OUT; /* leaves gradually, one level per change */
    case SEL_MON_ACTIVE:
    case SEL_MON_TESTING: break;
    default: return SEL_STATE_BLOCK; /* paused, deleted, unknown */
    }
    if (p->violation != SEL_VIOL_NONE) return SEL_STATE_OUT;
    if (p->visible && !p->healthy) return SEL_STATE_OUT;
    if (p->new_status == MSG_STATUS_TESTING && p->global != SEL_MON_ACTIVE) return SEL_STATE_PENDING;
    return SEL_STATE_IN;
}

static void removal_reason(const struct run *r, size_t i, char *buf, size_t len)
{
    const struct sel_pair *p = &r->p[i];
    if (p->global == SEL_MON_PENDING) {
        snprintf(buf, len, "monitor is pending: leaves gradually");
    } else if (p->violation == SEL_VIOL_DIVERSITY) {
        size_t j = diversity_peer(r, i);
        snprintf(buf, len, "diversity: same /%d as %s", sel_diversity_bits(r->cfg, &p->addr),
                 j == SIZE_MAX ? "another monitor" : name_of(&r->p[j]));
    } else if (p->violation == SEL_VIOL_ACCOUNT_LIMIT) {
        const struct account *a = NULL;
        for (size_t k = 0; k < r->n_acc; k++)
            if (r->acc[k].id == p->account_id) a = &r->acc[k];
        int x = a ? a->limit : r->cfg->account_limit_default;
        snprintf(buf, len, "account limit: account %lld allows %d active, %d testing, %d together",
                 (long long)p->account_id, x, x + 1, x + 1);
    } else {
        snprintf(buf, len, "unhealthy: average step %.3f over %u results", p->avg_step, (unsigned)p->count);
    }
}

/* ---- the rules ---- */

static void pause_fixed(struct run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct sel_pair *p = &r->p[i];
        enum sel_violation v = r->fixed[i];
        if (p->status == MSG_STATUS_NONE || v == SEL_VIOL_NONE) continue;
        if (p->new_violation != v) {
            p->new_violation = v;
            p->new_since_us = r->now;
        } else if (!p->new_since_us) {
            p->new_since_us = r->now;
        }
        if (p->status == MSG_STATUS_PAUSED) continue;
        p->new_last_check_us = r->now;
        p->new_pause_reason = SEL_PAUSE_REASON_CONSTRAINT;
        if (v == SEL_VIOL_SAME_NETWORK)
            add_change(r, i, MSG_STATUS_PAUSED, SEL_RULE_PAUSE, "paused: monitor in the server's /%d",
                       r->srv->addr.family == AF_INET ? r->cfg->same_network_v4 : r->cfg->same_network_v6);
        else
            add_change(r, i, MSG_STATUS_PAUSED, SEL_RULE_PAUSE, "paused: monitor of the server's own account");
    }
}

/* Rule 1: blocked monitors leave at once, outside the budgets. The pool only sees pairs with results; here
 * invisible pairs of blocked monitors are cleaned up too (they hold no data and serve no one). */
static void rule_block(struct run *r)
{
    for (size_t i = 0; i < r->n; i++) {
        struct sel_pair *p = &r->p[i];
        if (p->new_status != MSG_STATUS_ACTIVE && p->new_status != MSG_STATUS_TESTING) continue;
        if (p->state != SEL_STATE_BLOCK) continue;
        add_change(r, i, MSG_STATUS_CANDIDATE, SEL_RULE_BLOCK, "monitor is globally %s", sel_mon_status_str(p->global));
    }
}

/* Rule 2 for one status: constraint removals first (budget only), then health/pending removals while the count
 * stays above the floor. With no active monitor, constraint removals from testing keep the floor too (the
 * constraints are waived for promotions then, as in the pool). */
static void rule_remove(struct run *r, enum msg_pair_status from, enum msg_pair_status to, int *budget, int floor,
                        int *used)
{
    int *count = from == MSG_STATUS_ACTIVE ? &r->act : &r->test;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t o = r->n_order; o-- > 0 && *budget > 0;) {
            size_t i = r->order[o];
            struct sel_pair *p = &r->p[i];
            if (r->start[i] != from || r->touched[i] || p->state != SEL_STATE_OUT) continue;
            bool constraint = p->violation != SEL_VIOL_NONE && p->global != SEL_MON_PENDING;
            if (constraint != (pass == 0)) continue;
            bool keep_floor = !constraint || (r->res->emergency && from == MSG_STATUS_TESTING);
            if (keep_floor && *count <= floor) continue;
            char why[SEL_REASON_LEN];
            removal_reason(r, i, why, sizeof why);
            add_change(r, i, to, SEL_RULE_REMOVE, "%s", why);
            (*budget)--;
            (*used)++;
        }
    }
}

/* Rule 3: more actives than the target: the worst go to testing (never while the server has no active). */
static void rule_excess_active(struct run *r)
{
    int target = r->cfg->active_target;
    if (r->res->emergency || r->act <= target || r->act <= 1) return;
    for (size_t o = r->n_order; o-- > 0 && r->act > target && r->rem_active > 0;) {
        size_t i = r->order[o];
        if (r->start[i] != MSG_STATUS_ACTIVE || r->touched[i] || r->p[i].state == SEL_STATE_OUT) continue;
        int before = r->act;
        add_change(r, i, MSG_STATUS_TESTING, SEL_RULE_EXCESS_ACTIVE, "excess active: %d above target %d", before,
                   target);
        r->rem_active--;
        r->res->used_active_removals++;
    }
}

/* Swaps (rules 4 and 5): incumbents worst first, newcomers best first; a newcomer that does not win ends the
 * search for that incumbent, and so for every better one. */
static void swaps(struct run *r, enum msg_pair_status in_from, enum msg_pair_status in_to)
{
    bool active = in_to == MSG_STATUS_ACTIVE;
    int min_count = active ? r->cfg->min_count_active : r->cfg->min_count_testing;
    for (size_t ot = r->n_order; ot-- > 0;) {
        size_t t = r->order[ot];
        struct sel_pair *tp = &r->p[t];
        if (active ? r->rem_promo < 2 : (r->rem_promo < 1 || r->rem_testing < 1)) break;
        if (r->start[t] != in_to || r->touched[t] || tp->state == SEL_STATE_OUT || tp->violation != SEL_VIOL_NONE)
            continue;
        for (size_t on = 0; on < r->n_order; on++) {
            size_t c = r->order[on];
            struct sel_pair *cp = &r->p[c];
            if (r->start[c] != in_from || r->touched[c]) continue;
            if (cp->global != SEL_MON_ACTIVE && cp->global != SEL_MON_TESTING) continue;
            if (!sel_outperforms(r->cfg, cp, tp)) break;
            if (cp->count < (uint32_t)min_count) continue;
            if (active ? !can_promote_active(r, c, t) : !can_promote_testing(r, c, t, false)) continue;
            enum sel_rule rule = active ? SEL_RULE_SWAP_ACTIVE : SEL_RULE_SWAP_TESTING;
            add_change(r, t, in_from, rule, "replaced by %s (priority %.0f vs %.0f)", name_of(cp), cp->priority,
                       tp->priority);
            add_change(r, c, in_to, rule, "swap: priority %.0f beats %.0f of %s", cp->priority, tp->priority,
                       name_of(tp));
            if (active) {
                r->rem_promo -= 2;
                r->res->used_promotions += 2;
            } else {
                r->rem_promo--;
                r->rem_testing--;
                r->res->used_promotions++;
                r->res->used_testing_removals++;
            }
            break;
        }
    }
}

/* Rule 4: testing → active up to the target, then swaps (each costs 2 of the promotion budget). */
static void rule_promote_active(struct run *r)
{
    int need = r->cfg->active_target - r->act;
    if (need > r->rem_promo) need = r->rem_promo;
    for (size_t o = 0; o < r->n_order && need > 0; o++) {
        size_t i = r->order[o];
        struct sel_pair *p = &r->p[i];
        if (r->start[i] != MSG_STATUS_TESTING || r->touched[i]) continue;
        if (p->count < (uint32_t)r->cfg->min_count_active) continue;
        if (!can_promote_active(r, i, SIZE_MAX)) continue;
        add_change(r, i, MSG_STATUS_ACTIVE, SEL_RULE_PROMOTE_ACTIVE, "promotion to active (priority %.0f, %u results)",
                   p->priority, (unsigned)p->count);
        need--;
        r->rem_promo--;
        r->res->used_promotions++;
    }
    swaps(r, MSG_STATUS_TESTING, MSG_STATUS_ACTIVE);
}

static int working_testing_target(const struct run *r)
{
    int gap = r->cfg->active_target - r->act;
    return r->cfg->testing_target + (gap > 0 ? gap : 0);
}

/* Rule 5: candidate → testing, at most min(2, free testing slots), then swaps (1 promotion + 1 testing removal). */
static void rule_promote_testing(struct run *r)
{
    int room = working_testing_target(r) - r->test;
    int need = r->rem_promo;
    if (need > r->cfg->max_candidate_promotions) need = r->cfg->max_candidate_promotions;
    if (need > room) need = room;
    for (size_t o = 0; o < r->n_order && need > 0; o++) {
        size_t i = r->order[o];
        struct sel_pair *p = &r->p[i];
        if (r->start[i] != MSG_STATUS_CANDIDATE || r->touched[i]) continue;
        if (p->global != SEL_MON_ACTIVE && p->global != SEL_MON_TESTING) continue;
        if (p->count < (uint32_t)r->cfg->min_count_testing) continue;
        if (!can_promote_testing(r, i, SIZE_MAX, false)) continue;
        add_change(r, i, MSG_STATUS_TESTING, SEL_RULE_PROMOTE_TESTING, "candidate to testing (priority %.0f, %u results)",
                   p->priority, (unsigned)p->count);
        need--;
        r->rem_promo--;
        r->res->used_promotions++;
    }
    swaps(r, MSG_STATUS_CANDIDATE, MSG_STATUS_TESTING);
}

/* Rule 6: more testing than the working target: the worst healthy ones go back to candidate. */
static void rule_excess_testing(struct run *r)
{
    int target = working_testing_target(r);
    for (size_t o = r->n_order; o-- > 0 && r->test > target && r->rem_testing > 0;) {
        size_t i = r->order[o];
        struct sel_pair *p = &r->p[i];
        if (r->start[i] != MSG_STATUS_TESTING || r->touched[i]) continue;
        if (p->state == SEL_STATE_OUT || p->violation != SEL_VIOL_NONE) continue;
        int before = r->test;
        add_change(r, i, MSG_STATUS_CANDIDATE, SEL_RULE_EXCESS_TESTING, "excess testing: %d above target %d", before,
                   target);
        r->rem_testing--;
        r->res->used_testing_removals++;
    }
}

/* Rule 7: paused pairs whose constraint was last checked long enough ago are checked again; resolved ones go
 * back to candidate, at most unpause_max a run (the others wait for the next run, unchecked). */
static void unpause_one(struct run *r, size_t i, int *unpaused)
{
    struct sel_pair *p = &r->p[i];
    if (p->new_status != MSG_STATUS_PAUSED || r->touched[i] || p->status != MSG_STATUS_PAUSED) return;
    if (p->stored_last_check_us && r->now - p->stored_last_check_us < (int64_t)r->cfg->constraint_recheck_s * 1000000)
        return;
    if (r->fixed[i] != SEL_VIOL_NONE) {
        p->new_last_check_us = r->now;
        return;
    }
    if (*unpaused >= r->cfg->unpause_max) return;
    add_change(r, i, MSG_STATUS_CANDIDATE, SEL_RULE_UNPAUSE, "constraint resolved%s%s",
               p->stored_violation ? ": no longer " : "", p->stored_violation ? sel_violation_str(p->stored_violation) : "");
    p->new_violation = SEL_VIOL_NONE;
    p->new_since_us = 0;
    p->new_last_check_us = r->now;
    p->new_pause_reason = NULL;
    (*unpaused)++;
}

static void rule_unpause(struct run *r)
{
    int unpaused = 0;
    for (size_t o = 0; o < r->n_order; o++) unpause_one(r, r->order[o], &unpaused);
    for (size_t i = 0; i < r->n; i++)
        if (!r->p[i].visible) unpause_one(r, i, &unpaused);
}

/* Rule 8: a server without any testing monitor gets up to bootstrap_promotions candidates (globally active or
 * testing, healthy first), with no result minimum and outside the budgets. */
static void rule_bootstrap(struct run *r)
{
    if (r->test > 0) return;
    int left = r->cfg->bootstrap_promotions;
    for (size_t o = 0; o < r->n_order && left > 0; o++) {
        size_t i = r->order[o];
        if (r->start[i] != MSG_STATUS_CANDIDATE || r->touched[i]) continue;
        if (!can_promote_testing(r, i, SIZE_MAX, true)) continue;
        add_change(r, i, MSG_STATUS_TESTING, SEL_RULE_BOOTSTRAP, "bootstrap: no testing monitor (%s, %u results)",
                   r->p[i].healthy ? "healthy" : "unhealthy", (unsigned)r->p[i].count);
        left--;
    }
}

/* Records this run's evaluated constraint state for visible pairs that are not paused. */
static void track_violations(struct run *r)
{
    for (size_t o = 0; o < r->n_order; o++) {
        size_t i = r->order[o];
        struct sel_pair *p = &r->p[i];
        if (p->new_status == MSG_STATUS_PAUSED || r->start[i] == MSG_STATUS_PAUSED) continue;
        if (p->violation == SEL_VIOL_NONE) {
            p->new_violation = SEL_VIOL_NONE;
            p->new_since_us = 0;
        } else if (p->violation != p->stored_violation || !p->stored_since_us) {
            p->new_violation = p->violation;
            p->new_since_us = r->now;
        }
    }
}

void sel_review(const struct sel_settings *cfg, const struct sel_server *server, struct sel_pair *pairs, size_t n,
                int64_t now_us, struct sel_result *res)
{
    memset(res, 0, sizeof *res);
    struct run r = {.cfg = cfg, .srv = server, .p = pairs, .n = n, .now = now_us, .res = res};
    r.order = xcalloc(n ? n : 1, sizeof *r.order);
    r.start = xcalloc(n ? n : 1, sizeof *r.start);
    r.fixed = xcalloc(n ? n : 1, sizeof *r.fixed);
    r.touched = xcalloc(n ? n : 1, sizeof *r.touched);
    r.acc = xcalloc(n ? n : 1, sizeof *r.acc);

    for (size_t i = 0; i < n; i++) {
        struct sel_pair *p = &pairs[i];
        p->visible = p->status != MSG_STATUS_NONE && p->count > 0;
        p->priority = p->visible ? sel_priority(p->avg_rtt_ms, p->avg_step) : 0;
        p->healthy = p->visible && p->avg_step >= 0 && p->priority >= 0;
        p->violation = SEL_VIOL_NONE;
        p->state = SEL_STATE_IN;
        p->new_status = p->status;
        p->new_violation = p->stored_violation;
        p->new_since_us = p->stored_since_us;
        p->new_last_check_us = p->stored_last_check_us;
        p->new_pause_reason = p->stored_pause_reason;
        r.fixed[i] = p->status == MSG_STATUS_NONE ? SEL_VIOL_NONE : fixed_violation(&r, p);
    }

    /* Same network / same account: paused at once, whatever the status; not a change. */
    pause_fixed(&r);

    for (size_t i = 0; i < n; i++) {
        struct sel_pair *p = &pairs[i];
        r.start[i] = p->new_status;
        if (p->visible) r.order[r.n_order++] = i;
        if (p->visible && p->account_id) {
            size_t k = 0;
            while (k < r.n_acc && r.acc[k].id != p->account_id) k++;
            if (k == r.n_acc) {
                r.acc[k] = (struct account){p->account_id, p->account_limit > 0 ? p->account_limit
                                                                                : cfg->account_limit_default, 0, 0};
                r.n_acc++;
            }
        }
    }
    qsort_r(r.order, r.n_order, sizeof *r.order, order_cmp, pairs);
    for (size_t o = 0; o < r.n_order; o++) count_status(&r, r.order[o], r.start[r.order[o]], +1);
    res->active_start = r.act;
    res->testing_start = r.test;
    res->n_visible = (int)r.n_order;
    res->emergency = r.act == 0;

    /* Evaluation: changeable constraints (active/testing pairs only), then the recommended state. */
    flag_account_limits(&r);
    for (size_t o = 0; o < r.n_order; o++) {
        size_t i = r.order[o];
        if ((r.start[i] == MSG_STATUS_ACTIVE || r.start[i] == MSG_STATUS_TESTING) && !pairs[i].violation &&
            diversity_peer(&r, i) != SIZE_MAX)
            pairs[i].violation = SEL_VIOL_DIVERSITY;
    }
    for (size_t i = 0; i < n; i++) {
        if (pairs[i].status == MSG_STATUS_NONE) continue;
        if (r.start[i] == MSG_STATUS_PAUSED) pairs[i].violation = r.fixed[i];
        pairs[i].state = determine_state(&pairs[i]);
    }

    int healthy_active = 0, healthy_testing = 0;
    bool marked = false;
    for (size_t o = 0; o < r.n_order; o++) {
        size_t i = r.order[o];
        const struct sel_pair *p = &pairs[i];
        if (p->state == SEL_STATE_BLOCK) res->n_blocked++;
        bool assigned = r.start[i] == MSG_STATUS_ACTIVE || r.start[i] == MSG_STATUS_TESTING;
        if (assigned && p->state == SEL_STATE_OUT) marked = true;
        if (p->healthy && p->state == SEL_STATE_IN && r.start[i] == MSG_STATUS_ACTIVE) healthy_active++;
        if (p->healthy && p->state == SEL_STATE_IN && r.start[i] == MSG_STATUS_TESTING) healthy_testing++;
    }
    res->budget = res->emergency ? cfg->budget_zero_active : res->n_blocked > 1 ? cfg->budget_blocked : cfg->budget_base;
    r.rem_active = r.rem_testing = r.rem_promo = res->budget;

    /* The guard: too few monitors with data, none of them a healthy active/testing, nothing marked for removal
     * ("marked" as §7 uses it: active/testing pairs). */
    res->guard = cfg->active_target > res->n_visible && healthy_active == 0 && healthy_testing == 0 && !marked;
    if (!res->guard) {
        rule_block(&r);
        rule_remove(&r, MSG_STATUS_ACTIVE, MSG_STATUS_TESTING, &r.rem_active, sel_floor_active(cfg),
                    &res->used_active_removals);
        rule_remove(&r, MSG_STATUS_TESTING, MSG_STATUS_CANDIDATE, &r.rem_testing, sel_floor_testing(cfg),
                    &res->used_testing_removals);
        rule_excess_active(&r);
        rule_promote_active(&r);
        rule_promote_testing(&r);
        rule_excess_testing(&r);
        rule_unpause(&r);
        rule_bootstrap(&r);
        track_violations(&r);
    }
    res->active_end = r.act;
    res->testing_end = r.test;
    res->target_active = cfg->active_target;
    res->target_testing = working_testing_target(&r);

    free(r.order);
    free(r.start);
    free(r.fixed);
    free(r.touched);
    free(r.acc);
}
