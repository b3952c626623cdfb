/* settings.c — the table of selector settings: JSON key, storage, pool default, bounds and meaning in one row each,
 * parsed from system_settings 'selector' by common/settings. */
#include "settings.h"

#include <stddef.h>
#include <stdio.h>

#include "conftab.h"

#define I(field, def, min, max, help) {#field, CONFTAB_INT, offsetof(struct sel_settings, field), def, min, max, help}
#define D(field, def, min, max, help) {#field, CONFTAB_DOUBLE, offsetof(struct sel_settings, field), def, min, max, help}

static const struct conftab_row rows[] = {
    I(active_target, 7, 1, 1000, "active monitors per server"),
    I(testing_target, 5, 1, 1000, "base testing target (plus max(0, active target - active))"),
    I(min_count_testing, 9, 0, 100000, "results in the window before candidate -> testing"),
    I(min_count_active, 32, 0, 100000, "results in the window before testing -> active"),
    I(max_candidate_promotions, 2, 0, 1000, "candidate -> testing promotions per run"),
    I(bootstrap_promotions, 5, 0, 1000, "candidates moved to testing when a server has no testing monitor"),
    D(swap_min_percent, 5, 0, 100, "a swap needs a priority better by this many percent"),
    D(swap_min_points, 5, 0, 1e9, "and by at least this many points"),
    I(budget_base, 2, 0, 1000, "changes per run and kind (active removals, testing removals, promotions)"),
    I(budget_blocked, 3, 0, 1000, "the budget when more than one monitor is blocked"),
    I(budget_zero_active, 4, 0, 1000, "the budget when the server has no active monitor"),
    I(account_limit_default, 2, 1, 1000, "monitors_per_server_limit when the account sets none"),
    I(same_network_v4, 24, 1, 32, "IPv4 prefix of the same-network rule"),
    I(same_network_v6, 48, 1, 128, "IPv6 prefix of the same-network rule"),
    I(diversity_v4, 20, 1, 32, "IPv4 prefix of the diversity rule"),
    I(diversity_v6, 44, 1, 128, "IPv6 prefix of the diversity rule"),
    I(constraint_recheck_s, 28800, 0, 31536000, "seconds before a paused pair's constraint is checked again"),
    I(unpause_max, 2, 0, 1000, "resolved pairs back to candidate per run"),
    I(stats_window_s, 86400, 60, 31536000, "seconds of results behind each pair's statistics"),
    I(interval_active_s, 540, 1, 604800, "probe interval of an active pair (monitor globally active)"),
    I(interval_active_other_s, 2700, 1, 604800, "probe interval of an active pair (monitor not globally active)"),
    I(interval_testing_s, 2700, 1, 604800, "probe interval of a testing pair"),
    I(interval_candidate_s, 7200, 1, 604800, "probe interval of a candidate pair"),
    I(interval_paused_s, 7200, 1, 604800, "probe interval of a paused pair"),
    I(samples, 3, 1, 16, "NTP queries per probe"),
    I(assign_min_interval_s, 5, 0, 3600, "seconds a review round lasts at least; changed work lists go out at its end"),
    I(assign_round_max_s, 60, 1, 86400, "seconds a review round lasts at most while servers keep coming due"),
    I(review_after_change_s, 3600, 0, 604800, "next review after a run that changed something"),
    I(review_after_nochange_s, 1200, 0, 604800, "next review after a run without changes"),
    I(review_after_error_s, 1200, 0, 604800, "next review after a failed run"),
    I(review_batch, 10, 1, 10000, "servers reviewed per batch"),
    I(backoff_min_s, 3, 0, 3600, "first pause when no server is due"),
    I(backoff_max_s, 60, 0, 3600, "longest pause when no server is due"),
    I(rescan_s, 60, 1, 86400, "seconds between re-reads of pairs, monitors and servers"),
    I(new_pair_review_delay_s, 120, 0, 604800, "ntpmonctl: first review of new pairs after this many seconds"),
};

static const struct conftab table = {SEL_SETTINGS_KEY, rows, sizeof rows / sizeof rows[0], sizeof(struct sel_settings)};

void sel_settings_defaults(struct sel_settings *s) { conftab_defaults(&table, s); }

int sel_settings_parse(const char *json, struct sel_settings *out, char err[SEL_SETTINGS_ERR_LEN], char *unknown,
                       size_t unknown_len)
{
    struct sel_settings s;
    if (conftab_parse(&table, json, &s, err, unknown, unknown_len) < 0) return -1;
    if (s.backoff_min_s > s.backoff_max_s) {
        snprintf(err, SEL_SETTINGS_ERR_LEN, "setting %s.backoff_min_s (%d) exceeds backoff_max_s (%d)",
                 SEL_SETTINGS_KEY, s.backoff_min_s, s.backoff_max_s);
        return -1;
    }
    *out = s;
    return 0;
}

char *sel_settings_merge(const char *base, const char *over, char err[SEL_SETTINGS_ERR_LEN])
{
    return conftab_merge(&table, base, over, err);
}

char *sel_settings_from_words(const char *const *words, size_t n, char err[SEL_SETTINGS_ERR_LEN])
{
    return conftab_from_words(words, n, err);
}

char *sel_settings_to_json(const struct sel_settings *s) { return conftab_to_json(&table, s); }

void sel_settings_print_table(void) { conftab_print_table(&table); }

bool sel_settings_equal(const struct sel_settings *a, const struct sel_settings *b)
{
    return conftab_equal(&table, a, b);
}

int sel_floor_active(const struct sel_settings *s) { return s->active_target - 2 > 1 ? s->active_target - 2 : 1; }
int sel_floor_testing(const struct sel_settings *s) { return s->testing_target - 2 > 1 ? s->testing_target - 2 : 1; }
