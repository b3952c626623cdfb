/* rules.h — the selector's rule engine (DESIGN.md §7), pure: no database, no broker, no clock. The input is one
 * server and its pairs (monitor, registered address, account, global and pair status, the pair's statistics and
 * stored constraint state); the output is each pair's new selector-owned state and the list of changes with the
 * rule and reason behind each. The daemon, `once`, `simulate`, the unit tests and the simulation all run this.
 *
 * Order of one run, each rule seeing the previous ones' changes:
 *   pause same-network / same-account pairs (any status, not a change, outside every budget);
 *   the "no change at all" guard; 1 blocked → candidate; 2 gradual removals (health, pending, constraints) above
 *   the floors; 3 excess actives → testing; 4 testing → active, then swaps; 5 candidate → testing, then swaps;
 *   6 excess testing → candidate; 7 un-pause resolved pairs; 8 bootstrap. */
#ifndef NTPMON_SELECTOR_RULES_H
#define NTPMON_SELECTOR_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "constraints.h"
#include "msg.h"
#include "netaddr.h"
#include "settings.h"

/* monitors.status */
enum sel_mon_status { SEL_MON_UNKNOWN = 0, SEL_MON_PENDING, SEL_MON_TESTING, SEL_MON_ACTIVE, SEL_MON_PAUSED, SEL_MON_DELETED };
const char *sel_mon_status_str(enum sel_mon_status s);
enum sel_mon_status sel_mon_status_parse(const char *s);

/* What the evaluation recommends for a pair (the pool's candidateIn/Out/Block/Pending). */
enum sel_state { SEL_STATE_IN = 0, SEL_STATE_OUT, SEL_STATE_BLOCK, SEL_STATE_PENDING };
const char *sel_state_str(enum sel_state s);

enum sel_rule {
    SEL_RULE_PAUSE = 0,        /* same network / same account: paused at once, not counted as a change */
    SEL_RULE_BLOCK,            /* 1 */
    SEL_RULE_REMOVE,           /* 2: health, pending or constraint */
    SEL_RULE_EXCESS_ACTIVE,    /* 3 */
    SEL_RULE_PROMOTE_ACTIVE,   /* 4 */
    SEL_RULE_SWAP_ACTIVE,      /* 4: both halves of a testing/active swap */
    SEL_RULE_PROMOTE_TESTING,  /* 5 */
    SEL_RULE_SWAP_TESTING,     /* 5: both halves of a candidate/testing swap */
    SEL_RULE_EXCESS_TESTING,   /* 6 */
    SEL_RULE_UNPAUSE,          /* 7 */
    SEL_RULE_BOOTSTRAP,        /* 8 */
};
const char *sel_rule_str(enum sel_rule r);

#define SEL_PAUSE_REASON_CONSTRAINT "constraint_violation"
#define SEL_REASON_LEN 128

struct sel_server {
    int64_t id;
    bool has_addr;
    struct netaddr addr;
    int64_t account_id; /* 0: none */
};

struct sel_pair {
    /* ---- inputs ---- */
    int64_t monitor_id;
    const char *monitor_name;
    enum sel_mon_status global;
    enum msg_pair_status status;      /* MSG_STATUS_NONE: not a pair (ignored) */
    int64_t account_id;               /* 0: none */
    int account_limit;                /* the account's monitors_per_server_limit; ≤ 0: the default */
    bool has_addr;                    /* registered address of the server's family */
    struct netaddr addr;
    uint32_t count;                   /* results in the window (0: the pair is invisible) */
    double avg_step, avg_rtt_ms;
    enum sel_violation stored_violation;
    int64_t stored_since_us;          /* 0: NULL */
    int64_t stored_last_check_us;     /* 0: NULL */
    const char *stored_pause_reason;  /* NULL: NULL */
    /* ---- evaluation (filled by sel_review) ---- */
    bool visible, healthy;
    double priority;                  /* round(avg_rtt_ms · (1 + 2·(1 − avg_step))); lower is better */
    enum sel_violation violation;     /* as evaluated this run */
    enum sel_state state;
    /* ---- new selector-owned state (filled by sel_review; the caller writes what differs) ---- */
    enum msg_pair_status new_status;
    enum sel_violation new_violation;
    int64_t new_since_us;
    int64_t new_last_check_us;
    const char *new_pause_reason;
};

struct sel_change {
    size_t pair; /* index into the pairs array */
    enum msg_pair_status from, to;
    enum sel_rule rule;
    char reason[SEL_REASON_LEN];
};

struct sel_result {
    struct sel_change *changes; /* malloc'd; sel_result_free() */
    size_t n_changes, cap;
    bool changed;       /* any change besides pauses (decides the next review time) */
    bool guard;         /* the "no change at all" guard held */
    bool emergency;     /* no active monitor at the start: constraints waived for promotions */
    int budget;         /* per kind: 2, 3 with more than one blocked monitor, 4 with zero active */
    int used_active_removals, used_testing_removals, used_promotions;
    int n_visible, n_blocked;
    int active_start, testing_start; /* visible, after the pauses */
    int active_end, testing_end;     /* visible, after every rule */
    int target_active, target_testing; /* the working targets at the end of the run */
};

/* Runs every rule for one server. pairs[] is read and its evaluation and new_* fields are written; now_us only
 * stamps constraint times. The result lists the changes in the order the rules made them. */
void sel_review(const struct sel_settings *cfg, const struct sel_server *server, struct sel_pair *pairs, size_t n,
                int64_t now_us, struct sel_result *res);
void sel_result_free(struct sel_result *res);

/* The pool's priority of a pair's statistics. */
double sel_priority(double avg_rtt_ms, double avg_step);
/* Whether `newcomer` wins over `incumbent`: healthy beats unhealthy, else the priority is better by at least the
 * configured percent and points. */
bool sel_outperforms(const struct sel_settings *cfg, const struct sel_pair *newcomer, const struct sel_pair *incumbent);
/* The order the rules walk pairs in: healthy first, then priority, average step (desc), rtt, monitor id. */
int sel_compare_pairs(const struct sel_pair *a, const struct sel_pair *b);

#endif
