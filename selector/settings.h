/* settings.h — the selector's settings (DESIGN.md §7): targets, floors' bases, thresholds, budgets, constraint
 * prefixes, assignment intervals and review timings. One table (settings.c) names each setting's JSON key in
 * system_settings 'selector', its pool default and its bounds; everything else reads struct sel_settings. */
#ifndef NTPMON_SELECTOR_SETTINGS_H
#define NTPMON_SELECTOR_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#define SEL_SETTINGS_KEY "selector" /* system_settings.key */
#define SEL_SETTINGS_ERR_LEN 256

struct sel_settings {
    /* targets (the floors derive from them: active max(1, target−2), testing max(1, base testing−2)) */
    int active_target;            /* 7 */
    int testing_target;           /* base testing target 5; the working target adds max(0, active target − active) */
    /* promotion thresholds */
    int min_count_testing;        /* results in 24 h for candidate → testing: 9 */
    int min_count_active;         /* results in 24 h for testing → active: 32 */
    int max_candidate_promotions; /* candidate → testing per run (besides the budget): 2 */
    int bootstrap_promotions;     /* candidates to testing when no testing monitor exists: 5 */
    double swap_min_percent;      /* a newcomer replaces an incumbent when its priority is this much better… 5 % */
    double swap_min_points;       /* …and by at least this many points: 5 */
    /* budgets per run (active removals, testing removals and promotions each) */
    int budget_base;              /* 2 */
    int budget_blocked;           /* 3 when more than one monitor is blocked */
    int budget_zero_active;       /* 4 when the server has no active monitor */
    /* constraints */
    int account_limit_default;    /* monitors_per_server_limit when the account sets none: 2 */
    int same_network_v4;          /* /24 */
    int same_network_v6;          /* /48 */
    int diversity_v4;             /* /20 */
    int diversity_v6;             /* /44 */
    int constraint_recheck_s;     /* a paused pair's constraint is re-checked after 8 h */
    int unpause_max;              /* resolved pairs back to candidate per run: 2 */
    /* statistics */
    int stats_window_s;           /* 24 h */
    /* assignments (the agents' work lists) */
    int interval_active_s;        /* 540 when the monitor is globally active */
    int interval_active_other_s;  /* 2700 when it is not */
    int interval_testing_s;       /* 2700 */
    int interval_candidate_s;     /* 7200 */
    int interval_paused_s;        /* 7200 */
    int samples;                  /* queries per probe: 3 */
    int assign_min_interval_s;    /* a review round lasts at least this long: changed lists go out at its end, 5 */
    int assign_round_max_s;       /* and at most this long while servers keep coming due: 60 */
    /* review scheduling */
    int review_after_change_s;    /* next review 60 min after a change */
    int review_after_nochange_s;  /* 20 min otherwise */
    int review_after_error_s;     /* 20 min after a failed review (errors too) */
    int review_batch;             /* servers per batch: 10 */
    int backoff_min_s;            /* nothing due: back off 3 s … */
    int backoff_max_s;            /* … up to 60 s */
    int rescan_s;                 /* pairs, monitors and servers re-read every 60 s */
    int new_pair_review_delay_s;  /* read by ntpmonctl when it creates pairs: 120 */
};

/* The pool's values. */
void sel_settings_defaults(struct sel_settings *s);
/* Applies a JSON object (system_settings 'selector') over the defaults: unknown keys are ignored (listed in
 * `unknown`, comma separated, when not NULL); a wrong type or an out-of-range value is an error naming the key.
 * On error `out` is left untouched. 0 or -1. */
int sel_settings_parse(const char *json, struct sel_settings *out, char err[SEL_SETTINGS_ERR_LEN], char *unknown,
                       size_t unknown_len);
/* Merges two JSON objects (either may be NULL): the keys of `over` replace those of `base`. Returns a malloc'd
 * JSON text, or NULL with err when either is not a JSON object. */
char *sel_settings_merge(const char *base, const char *over, char err[SEL_SETTINGS_ERR_LEN]);
/* Builds a JSON object from KEY=VALUE words (values are JSON: numbers); NULL with err on a malformed word. */
char *sel_settings_from_words(const char *const *words, size_t n, char err[SEL_SETTINGS_ERR_LEN]);
/* The settings as a JSON object (malloc'd), every key with its value. */
char *sel_settings_to_json(const struct sel_settings *s);
/* Prints the table (key, default, bounds, meaning) for --help-settings. */
void sel_settings_print_table(void);

/* True when every setting is the same. */
bool sel_settings_equal(const struct sel_settings *a, const struct sel_settings *b);

/* Derived values. */
int sel_floor_active(const struct sel_settings *s);
int sel_floor_testing(const struct sel_settings *s);

#endif
