/* test_settings.c — selector/settings, the table of the selector's settings: the pool's defaults, every key's
 * bounds accepted at the edge and refused one past it (read from the printed table, so a new row is covered
 * without editing this test), whole numbers for integer keys, wrong types, unknown keys listed, the cross-check of
 * the back-off pair, a failed parse leaving the old settings, merge and KEY=VALUE words (selector --setting), the
 * JSON round trip, equality and the floors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"
#include "unit.h"

struct key_row {
    char key[64];
    double def, min, max;
};

/* Reads the printed table back: "  key  default  help [min..max]". */
static size_t table_rows(struct key_row *rows, size_t cap)
{
    FILE *tmp = tmpfile();
    fflush(stdout);
    int saved = dup(1);
    dup2(fileno(tmp), 1);
    sel_settings_print_table();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(tmp);
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, tmp) && n < cap) {
        struct key_row r;
        const char *br = strrchr(line, '[');
        if (line[0] != ' ' || !br || sscanf(line, " %63s %lf", r.key, &r.def) != 2) continue;
        const char *dots = strstr(br, "..");
        if (!dots) continue;
        r.min = strtod(br + 1, NULL); /* "%lf..%lf" would read "1." as the first number */
        r.max = strtod(dots + 2, NULL);
        rows[n++] = r;
    }
    fclose(tmp);
    return n;
}

TEST(pool_defaults)
{
    struct sel_settings s;
    sel_settings_defaults(&s);
    CHECK_INT(s.active_target, 7);
    CHECK_INT(s.testing_target, 5);
    CHECK_INT(s.min_count_testing, 9);
    CHECK_INT(s.min_count_active, 32);
    CHECK_INT(s.max_candidate_promotions, 2);
    CHECK_INT(s.bootstrap_promotions, 5);
    CHECK_NEAR(s.swap_min_percent, 5, 0);
    CHECK_NEAR(s.swap_min_points, 5, 0);
    CHECK_INT(s.budget_base, 2);
    CHECK_INT(s.budget_blocked, 3);
    CHECK_INT(s.budget_zero_active, 4);
    CHECK_INT(s.account_limit_default, 2);
    CHECK_INT(s.same_network_v4, 24);
    CHECK_INT(s.same_network_v6, 48);
    CHECK_INT(s.diversity_v4, 20);
    CHECK_INT(s.diversity_v6, 44);
    CHECK_INT(s.constraint_recheck_s, 8 * 3600);
    CHECK_INT(s.unpause_max, 2);
    CHECK_INT(s.stats_window_s, 86400);
    CHECK_INT(s.interval_active_s, 540);
    CHECK_INT(s.interval_active_other_s, 2700);
    CHECK_INT(s.interval_testing_s, 2700);
    CHECK_INT(s.interval_candidate_s, 7200);
    CHECK_INT(s.interval_paused_s, 7200);
    CHECK_INT(s.samples, 3);
    CHECK_INT(s.review_after_change_s, 3600);
    CHECK_INT(s.review_after_nochange_s, 1200);
    CHECK_INT(s.review_after_error_s, 1200);
    CHECK_INT(s.review_batch, 10);
    CHECK_INT(s.backoff_min_s, 3);
    CHECK_INT(s.backoff_max_s, 60);
    CHECK_INT(s.rescan_s, 60);
    CHECK_INT(s.assign_min_interval_s, 5);
    CHECK_INT(s.assign_round_max_s, 60);
    CHECK_INT(s.new_pair_review_delay_s, 120);
    CHECK_INT(sel_floor_active(&s), 5);
    CHECK_INT(sel_floor_testing(&s), 3);
    s.active_target = 2;
    s.testing_target = 1;
    CHECK_INT(sel_floor_active(&s), 1); /* never below 1 */
    CHECK_INT(sel_floor_testing(&s), 1);
}

TEST(every_key_bounds)
{
    struct key_row rows[64];
    size_t n = table_rows(rows, 64);
    CHECK_INT(n, 35);
    char err[SEL_SETTINGS_ERR_LEN], json[256];
    struct sel_settings d, s;
    sel_settings_defaults(&d);
    char *all = sel_settings_to_json(&d);
    for (size_t i = 0; i < n; i++) {
        const struct key_row *r = &rows[i];
        char quoted[80];
        snprintf(quoted, sizeof quoted, "\"%.60s\":", r->key);
        if (!strstr(all, quoted)) UNIT_FAIL("%s is in the table but not in the JSON form", r->key);
        /* the backoff pair is cross-checked; set its partner out of the way */
        const char *partner = strcmp(r->key, "backoff_min_s") == 0   ? ",\"backoff_max_s\":3600"
                              : strcmp(r->key, "backoff_max_s") == 0 ? ",\"backoff_min_s\":0"
                                                                     : "";
        snprintf(json, sizeof json, "{\"%.60s\":%.17g%s}", r->key, r->min, partner);
        if (sel_settings_parse(json, &s, err, NULL, 0) != 0) UNIT_FAIL("%s at its minimum refused: %s", r->key, err);
        snprintf(json, sizeof json, "{\"%.60s\":%.17g%s}", r->key, r->max, partner);
        if (sel_settings_parse(json, &s, err, NULL, 0) != 0) UNIT_FAIL("%s at its maximum refused: %s", r->key, err);
        snprintf(json, sizeof json, "{\"%.60s\":%.17g%s}", r->key, r->min - 1, partner);
        if (sel_settings_parse(json, &s, err, NULL, 0) != -1) UNIT_FAIL("%s below its minimum accepted", r->key);
        else if (!strstr(err, r->key) || !strstr(err, "must be between")) UNIT_FAIL("%s: unclear error '%s'", r->key, err);
        snprintf(json, sizeof json, "{\"%.60s\":%.17g%s}", r->key, r->max + 1, partner);
        if (sel_settings_parse(json, &s, err, NULL, 0) != -1) UNIT_FAIL("%s above its maximum accepted", r->key);
        snprintf(json, sizeof json, "{\"%.60s\":\"%g\"}", r->key, r->def);
        if (sel_settings_parse(json, &s, err, NULL, 0) != -1) UNIT_FAIL("%s as a string accepted", r->key);
        else if (!strstr(err, "must be a number")) UNIT_FAIL("%s: unclear error '%s'", r->key, err);
        snprintf(json, sizeof json, "{\"%.60s\":null}", r->key);
        if (sel_settings_parse(json, &s, err, NULL, 0) != -1) UNIT_FAIL("%s as null accepted", r->key);
    }
    free(all);
}

TEST(integers_and_fractions)
{
    char err[SEL_SETTINGS_ERR_LEN];
    struct sel_settings s;
    CHECK_INT(sel_settings_parse("{\"active_target\":3.5}", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "active_target must be a whole number (got 3.5)");
    CHECK_INT(sel_settings_parse("{\"active_target\":3.0,\"swap_min_percent\":2.5}", &s, err, NULL, 0), 0);
    CHECK_INT(s.active_target, 3);
    CHECK_NEAR(s.swap_min_percent, 2.5, 0);
    CHECK_INT(sel_settings_parse("{\"active_target\":true}", &s, err, NULL, 0), -1);
    CHECK_INT(sel_settings_parse("{\"active_target\":[3]}", &s, err, NULL, 0), -1);
    CHECK_INT(sel_settings_parse("{\"active_target\":1e400}", &s, err, NULL, 0), -1);
}

TEST(unknown_keys_and_bad_documents)
{
    char err[SEL_SETTINGS_ERR_LEN], unknown[64];
    struct sel_settings s, d;
    sel_settings_defaults(&d);
    CHECK_INT(sel_settings_parse("{\"who\":1,\"active_target\":4,\"what\":\"x\"}", &s, err, unknown, sizeof unknown), 0);
    CHECK_STR(unknown, "who,what");
    CHECK_INT(s.active_target, 4);
    CHECK_INT(sel_settings_parse("{\"who\":1}", &s, err, unknown, 3), 0); /* a short buffer is cut, never overrun */
    CHECK_INT(strlen(unknown) < 3, 1);
    CHECK_INT(sel_settings_parse("", &s, err, NULL, 0), 0);
    CHECK(sel_settings_equal(&s, &d));
    CHECK_INT(sel_settings_parse(NULL, &s, err, NULL, 0), 0); /* no row in system_settings: the defaults */
    CHECK(sel_settings_equal(&s, &d));
    CHECK_INT(sel_settings_parse("[]", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "must be a JSON object");
    CHECK_INT(sel_settings_parse("{\"a\":", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "not valid JSON");
    CHECK_INT(sel_settings_parse("42", &s, err, NULL, 0), -1);
}

TEST(failed_parse_keeps_old_settings)
{
    char err[SEL_SETTINGS_ERR_LEN];
    struct sel_settings s;
    CHECK_INT(sel_settings_parse("{\"active_target\":3}", &s, err, NULL, 0), 0);
    CHECK_INT(sel_settings_parse("{\"active_target\":5,\"samples\":99}", &s, err, NULL, 0), -1);
    CHECK_INT(s.active_target, 3);
    CHECK_INT(sel_settings_parse("{\"backoff_min_s\":100,\"backoff_max_s\":50}", &s, err, NULL, 0), -1);
    CHECK_CONTAINS(err, "backoff_min_s (100) exceeds backoff_max_s (50)");
    CHECK_INT(s.backoff_min_s, 3);
    CHECK_INT(s.active_target, 3);
}

TEST(merge_and_words)
{
    char err[SEL_SETTINGS_ERR_LEN];
    const char *words[] = {"active_target=3", "swap_min_percent=2.5"};
    char *over = sel_settings_from_words(words, 2, err);
    CHECK(over != NULL);
    char *merged = sel_settings_merge("{\"active_target\":5,\"samples\":4}", over, err);
    CHECK(merged != NULL);
    struct sel_settings s;
    CHECK_INT(sel_settings_parse(merged, &s, err, NULL, 0), 0);
    CHECK_INT(s.active_target, 3); /* the override wins */
    CHECK_INT(s.samples, 4);       /* the stored value stays */
    CHECK_NEAR(s.swap_min_percent, 2.5, 0);
    free(over);
    free(merged);
    merged = sel_settings_merge(NULL, NULL, err);
    CHECK_STR(merged, "{}");
    free(merged);
    CHECK(sel_settings_merge("[1]", NULL, err) == NULL);
    CHECK_CONTAINS(err, "must be a JSON object");
    CHECK(sel_settings_merge("{}", "nope", err) == NULL);
    CHECK_CONTAINS(err, "overrides must be a JSON object");
    const char *bad[][1] = {{"active_target"}, {"=3"}, {"active_target="}, {"active_target=three"}};
    for (size_t i = 0; i < 4; i++) {
        CHECK(sel_settings_from_words(bad[i], 1, err) == NULL);
        CHECK_CONTAINS(err, "want KEY=VALUE");
    }
}

TEST(json_round_trip_and_equality)
{
    struct sel_settings a, b;
    char err[SEL_SETTINGS_ERR_LEN];
    CHECK_INT(sel_settings_parse("{\"active_target\":3,\"swap_min_points\":7.25,\"rescan_s\":5}", &a, err, NULL, 0), 0);
    char *json = sel_settings_to_json(&a);
    CHECK_INT(sel_settings_parse(json, &b, err, NULL, 0), 0);
    CHECK(sel_settings_equal(&a, &b));
    free(json);
    b.rescan_s++;
    CHECK(!sel_settings_equal(&a, &b));
    b.rescan_s--;
    b.swap_min_points = 7.5;
    CHECK(!sel_settings_equal(&a, &b));
}

int main(void)
{
    RUN(pool_defaults);
    RUN(every_key_bounds);
    RUN(integers_and_fractions);
    RUN(unknown_keys_and_bad_documents);
    RUN(failed_parse_keeps_old_settings);
    RUN(merge_and_words);
    RUN(json_round_trip_and_equality);
    return unit_done();
}
