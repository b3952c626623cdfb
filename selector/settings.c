/* settings.c — the table of selector settings: JSON key, storage, pool default, bounds and meaning in one row each
 * (like redis' config table), parsed from system_settings 'selector' with json-c. */
#include "settings.h"

#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "xalloc.h"

enum kind { K_INT, K_DOUBLE };

struct row {
    const char *key;
    enum kind kind;
    size_t offset;
    double def, min, max;
    const char *help;
};

#define I(field, def, min, max, help) {#field, K_INT, offsetof(struct sel_settings, field), def, min, max, help}
#define D(field, def, min, max, help) {#field, K_DOUBLE, offsetof(struct sel_settings, field), def, min, max, help}

static const struct row table[] = {
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
    I(review_after_change_s, 3600, 0, 604800, "next review after a run that changed something"),
    I(review_after_nochange_s, 1200, 0, 604800, "next review after a run without changes"),
    I(review_after_error_s, 1200, 0, 604800, "next review after a failed run"),
    I(review_batch, 10, 1, 10000, "servers reviewed per batch"),
    I(backoff_min_s, 3, 0, 3600, "first pause when no server is due"),
    I(backoff_max_s, 60, 0, 3600, "longest pause when no server is due"),
    I(rescan_s, 60, 1, 86400, "seconds between re-reads of pairs, monitors and servers"),
    I(new_pair_review_delay_s, 120, 0, 604800, "ntpmonctl: first review of new pairs after this many seconds"),
};
#define N_ROWS (sizeof table / sizeof table[0])

static void store(struct sel_settings *s, const struct row *r, double v)
{
    char *base = (char *)s + r->offset;
    if (r->kind == K_INT) *(int *)base = (int)v;
    else *(double *)base = v;
}

static double load(const struct sel_settings *s, const struct row *r)
{
    const char *base = (const char *)s + r->offset;
    return r->kind == K_INT ? *(const int *)base : *(const double *)base;
}

void sel_settings_defaults(struct sel_settings *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < N_ROWS; i++) store(s, &table[i], table[i].def);
}

int sel_settings_parse(const char *json, struct sel_settings *out, char err[SEL_SETTINGS_ERR_LEN], char *unknown,
                       size_t unknown_len)
{
    struct sel_settings s;
    sel_settings_defaults(&s);
    if (unknown && unknown_len) unknown[0] = '\0';
    if (!json || !*json) {
        *out = s;
        return 0;
    }
    enum json_tokener_error jerr;
    json_object *o = json_tokener_parse_verbose(json, &jerr);
    if (!o) {
        snprintf(err, SEL_SETTINGS_ERR_LEN, "settings '%s' are not valid JSON: %s", SEL_SETTINGS_KEY,
                 json_tokener_error_desc(jerr));
        return -1;
    }
    if (!json_object_is_type(o, json_type_object)) {
        snprintf(err, SEL_SETTINGS_ERR_LEN, "settings '%s' must be a JSON object", SEL_SETTINGS_KEY);
        json_object_put(o);
        return -1;
    }
    int rc = 0;
    json_object_object_foreach(o, key, val)
    {
        const struct row *r = NULL;
        for (size_t i = 0; i < N_ROWS; i++)
            if (strcmp(table[i].key, key) == 0) r = &table[i];
        if (!r) {
            if (unknown && unknown_len) {
                size_t used = strlen(unknown);
                snprintf(unknown + used, unknown_len - used, "%s%s", used ? "," : "", key);
            }
            continue;
        }
        bool numeric = json_object_is_type(val, json_type_int) || json_object_is_type(val, json_type_double);
        double v = numeric ? json_object_get_double(val) : NAN;
        if (!numeric || !isfinite(v)) {
            snprintf(err, SEL_SETTINGS_ERR_LEN, "setting %s.%s must be a number", SEL_SETTINGS_KEY, key);
            rc = -1;
            break;
        }
        if (r->kind == K_INT && v != floor(v)) {
            snprintf(err, SEL_SETTINGS_ERR_LEN, "setting %s.%s must be a whole number (got %g)", SEL_SETTINGS_KEY,
                     key, v);
            rc = -1;
            break;
        }
        if (v < r->min || v > r->max) {
            snprintf(err, SEL_SETTINGS_ERR_LEN, "setting %s.%s must be between %g and %g (got %g)", SEL_SETTINGS_KEY,
                     key, r->min, r->max, v);
            rc = -1;
            break;
        }
        store(&s, r, v);
    }
    json_object_put(o);
    if (rc == 0 && s.backoff_min_s > s.backoff_max_s) {
        snprintf(err, SEL_SETTINGS_ERR_LEN, "setting %s.backoff_min_s (%d) exceeds backoff_max_s (%d)",
                 SEL_SETTINGS_KEY, s.backoff_min_s, s.backoff_max_s);
        rc = -1;
    }
    if (rc == 0) *out = s;
    return rc;
}

static json_object *parse_object(const char *text, const char *what, char err[SEL_SETTINGS_ERR_LEN])
{
    if (!text || !*text) return json_object_new_object();
    enum json_tokener_error jerr;
    json_object *o = json_tokener_parse_verbose(text, &jerr);
    if (!o || !json_object_is_type(o, json_type_object)) {
        snprintf(err, SEL_SETTINGS_ERR_LEN, "%s must be a JSON object%s%s", what, o ? "" : ": ",
                 o ? "" : json_tokener_error_desc(jerr));
        json_object_put(o);
        return NULL;
    }
    return o;
}

char *sel_settings_merge(const char *base, const char *over, char err[SEL_SETTINGS_ERR_LEN])
{
    json_object *b = parse_object(base, "settings '" SEL_SETTINGS_KEY "'", err);
    if (!b) return NULL;
    json_object *o = parse_object(over, "the --setting overrides", err);
    if (!o) {
        json_object_put(b);
        return NULL;
    }
    json_object_object_foreach(o, key, val) json_object_object_add(b, key, json_object_get(val));
    char *out = xstrdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
    json_object_put(b);
    json_object_put(o);
    return out;
}

char *sel_settings_from_words(const char *const *words, size_t n, char err[SEL_SETTINGS_ERR_LEN])
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(words[i], '=');
        json_object *v = eq && eq[1] ? json_tokener_parse(eq + 1) : NULL;
        if (!eq || eq == words[i] || !v) {
            snprintf(err, SEL_SETTINGS_ERR_LEN, "invalid setting '%s' (want KEY=NUMBER, e.g. active_target=3)", words[i]);
            json_object_put(v);
            json_object_put(o);
            return NULL;
        }
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - words[i]), words[i]);
        json_object_object_add(o, key, v);
    }
    char *out = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return out;
}

char *sel_settings_to_json(const struct sel_settings *s)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < N_ROWS; i++) {
        double v = load(s, &table[i]);
        json_object_object_add(o, table[i].key,
                               table[i].kind == K_INT ? json_object_new_int((int)v) : json_object_new_double(v));
    }
    char *out = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return out;
}

void sel_settings_print_table(void)
{
    printf("system_settings '%s' (JSON object; every key optional):\n", SEL_SETTINGS_KEY);
    for (size_t i = 0; i < N_ROWS; i++)
        printf("  %-26s %-8g %s [%g..%g]\n", table[i].key, table[i].def, table[i].help, table[i].min, table[i].max);
}

bool sel_settings_equal(const struct sel_settings *a, const struct sel_settings *b)
{
    for (size_t i = 0; i < N_ROWS; i++)
        if (load(a, &table[i]) != load(b, &table[i])) return false;
    return true;
}

int sel_floor_active(const struct sel_settings *s) { return s->active_target - 2 > 1 ? s->active_target - 2 : 1; }
int sel_floor_testing(const struct sel_settings *s) { return s->testing_target - 2 > 1 ? s->testing_target - 2 : 1; }
