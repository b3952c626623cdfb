/* cmd_zone.c — `ntpmonctl zone list|release`: the zones of the mass-outage guard. `list` shows per zone its
 * servers, how many are in the pool, held, gone within the answer window and removed today, and whether an alert
 * stands; `release Z` asks the scorer to end the zone's holds (it does so at its next check, publishes the
 * statuses and clears the alert) and to hold nothing there for one answer window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "guardconf.h"
#include "zone.h"

/* The guard's settings as stored (defaults when unset or bad: `zone list` only reads the window). */
static void stored_settings(struct ctl_ctx *ctx, struct guard_settings *g);

static int print_zone(void *arg, const struct db_row *row)
{
    (*(int *)arg)++;
    printf("%s\t%lld\t%lld\t%lld\t%lld\t%lld\t%s\n", db_row_str(row, 0), (long long)db_row_int(row, 1),
           (long long)db_row_int(row, 2), (long long)db_row_int(row, 3), (long long)db_row_int(row, 4),
           (long long)db_row_int(row, 5), db_row_str(row, 6));
    return 0;
}

static int settings_row(void *arg, const struct db_row *row)
{
    char **out = arg;
    *out = strdup(db_row_str(row, 0));
    return 0;
}

static void stored_settings(struct ctl_ctx *ctx, struct guard_settings *g)
{
    char *text = NULL;
    struct db_param p[] = {DB_STR(GUARD_SETTINGS_KEY)};
    char err[CONFTAB_ERR_LEN];
    if (db_query(ctl_db(ctx), "SELECT value FROM system_settings WHERE `key` = ?", p, 1, settings_row, &text) < 0 ||
        guard_settings_parse(text, g, err, NULL, 0) < 0)
        guard_settings_defaults(g);
    free(text);
}

int cmd_zone_list(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc) return ctl_fail("zone list takes no arguments");
    struct guard_settings g;
    stored_settings(ctx, &g);
    struct db_param p[] = {DB_INT(g.answer_window_s)};
    printf("zone\tservers\tin_pool\theld\tleaving\tremoved_today\talert\n");
    int n = 0;
    /* leaving: held, or out of the pool having left within the answer window (the guard's window) */
    if (db_query(ctl_db(ctx),
                 "SELECT s.zone, COUNT(*), SUM(s.in_pool), SUM(s.held_since IS NOT NULL),"
                 " SUM(s.held_since IS NOT NULL OR (s.in_pool = 0 AND s.pool_left_at >= UTC_TIMESTAMP(6) - INTERVAL ? SECOND)),"
                 " SUM(s.pool_left_at >= UTC_DATE()),"
                 " IFNULL(MAX(IF(g.alert IS NULL, NULL, CONCAT('since ', DATE_FORMAT(g.alert_since, '%Y-%m-%d %H:%i:%s')))), '-')"
                 " FROM servers s LEFT JOIN guard_zones g ON g.zone = s.zone"
                 " WHERE s.zone IS NOT NULL AND (s.deletion_on IS NULL OR s.deletion_on > UTC_DATE())"
                 " GROUP BY s.zone ORDER BY s.zone",
                 p, 1, print_zone, &n) < 0)
        return ctl_db_fail(ctx, "listing zones");
    return 0;
}

int cmd_zone_release(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: zone release ZONE");
    char zone[ZONE_MAX];
    if (zone_normalize(argv[0], zone) < 0) return ctl_fail("unknown zone '%s'", argv[0]);
    struct db *db = ctl_db(ctx);
    int64_t held = 0;
    struct db_param q[] = {DB_STR(zone)};
    if (db_query_int(db, "SELECT COUNT(*) FROM servers WHERE zone = ? AND held_since IS NOT NULL", q, 1, &held) < 0)
        return ctl_db_fail(ctx, "counting the zone's holds");
    if (db_execp(db,
                 "INSERT INTO guard_zones (zone, released_at, updated_at) VALUES (?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"
                 " ON DUPLICATE KEY UPDATE released_at = VALUES(released_at), updated_at = VALUES(updated_at)",
                 q, 1, NULL, NULL) < 0)
        return ctl_db_fail(ctx, "releasing the zone");
    printf("zone %s released: %lld held server%s leave%s the pool at the scorer's next check\n", zone, (long long)held,
           held == 1 ? "" : "s", held == 1 ? "s" : "");
    return 0;
}
