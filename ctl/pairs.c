/* pairs.c — creation of candidate server_scores pairs and the review schedule when servers or monitors are
 * added (DESIGN.md §7: pairs exist as candidates from the moment a server or monitor is added). */
#include "cmds.h"
#include "db.h"

#include <stdio.h>
#include <string.h>

/* Seconds until a server with new pairs is reviewed: system_settings 'selector'.new_pair_review_delay_s. */
static const char *const review_delay_sql =
    "IFNULL((SELECT CAST(JSON_VALUE(value, '$.new_pair_review_delay_s') AS UNSIGNED)"
    " FROM system_settings WHERE `key` = 'selector'), 120)";

int pairs_for_server(struct db *db, int64_t server_id, int ip_version)
{
    struct db_param id[] = {DB_INT(server_id)};
    const char *pairs_v4 =
        "INSERT IGNORE INTO server_scores (monitor_id, server_id, status)"
        " SELECT m.id, ?, 'candidate' FROM monitors m"
        " WHERE m.type = 'monitor' AND m.status <> 'deleted' AND m.ip4 IS NOT NULL";
    const char *pairs_v6 =
        "INSERT IGNORE INTO server_scores (monitor_id, server_id, status)"
        " SELECT m.id, ?, 'candidate' FROM monitors m"
        " WHERE m.type = 'monitor' AND m.status <> 'deleted' AND m.ip6 IS NOT NULL";
    if (db_execp(db, ip_version == 6 ? pairs_v6 : pairs_v4, id, 1, NULL, NULL) < 0) return -1;
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO servers_monitor_review (server_id, next_review)"
             " VALUES (?, UTC_TIMESTAMP() + INTERVAL %s SECOND)"
             " ON DUPLICATE KEY UPDATE next_review = LEAST(IFNULL(next_review, VALUES(next_review)), VALUES(next_review))",
             review_delay_sql);
    return db_execp(db, sql, id, 1, NULL, NULL);
}

int pairs_for_monitor(struct db *db, int64_t monitor_id, bool has_ip4, bool has_ip6)
{
    struct db_param id[] = {DB_INT(monitor_id)};
    for (int family = 4; family <= 6; family += 2) {
        if ((family == 4 && !has_ip4) || (family == 6 && !has_ip6)) continue;
        const char *pairs = family == 4
            ? "INSERT IGNORE INTO server_scores (monitor_id, server_id, status)"
              " SELECT ?, s.id, 'candidate' FROM servers s WHERE s.ip_version = 'v4'"
              " AND (s.deletion_on IS NULL OR s.deletion_on > UTC_DATE())"
            : "INSERT IGNORE INTO server_scores (monitor_id, server_id, status)"
              " SELECT ?, s.id, 'candidate' FROM servers s WHERE s.ip_version = 'v6'"
              " AND (s.deletion_on IS NULL OR s.deletion_on > UTC_DATE())";
        if (db_execp(db, pairs, id, 1, NULL, NULL) < 0) return -1;
        char sql[800];
        snprintf(sql, sizeof sql,
                 "INSERT INTO servers_monitor_review (server_id, next_review)"
                 " SELECT s.id, UTC_TIMESTAMP() + INTERVAL %s SECOND FROM servers s WHERE s.ip_version = '%s'"
                 " AND (s.deletion_on IS NULL OR s.deletion_on > UTC_DATE())"
                 " ON DUPLICATE KEY UPDATE next_review = LEAST(IFNULL(next_review, VALUES(next_review)), VALUES(next_review))",
                 review_delay_sql, family == 4 ? "v4" : "v6");
        if (db_execp(db, sql, NULL, 0, NULL, NULL) < 0) return -1;
    }
    return 0;
}
