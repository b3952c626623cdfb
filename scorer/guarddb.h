/* guarddb.h — the mass-outage guard's SQL (DESIGN.md §5, schema 007): a zone's servers as the rule counts them
 * (membership, holds, departures from servers; "at risk" from the results of the answer window, so every shard
 * sees the whole zone), a server's guard state, the monitors still answering a zone's held servers, the shard's
 * held servers, the standing zone alerts (guard_zones) and the guard's settings. Prepared statements only. */
#ifndef NTPMON_SCORER_GUARDDB_H
#define NTPMON_SCORER_GUARDDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "engine.h"
#include "guard.h"
#include "msg.h"
#include "store.h"

/* One server of a zone as the counts need it. */
struct guarddb_member {
    int64_t id;
    struct guard_member m;
};

/* Every server of the zone that is not deleted, with its state at now (at_risk from the results of the window:
 * each monitor's latest result, good when without error and with a positive step). *out is malloc'd. 0 or -1. */
int guarddb_zone_members(struct db *db, const struct guard_settings *g, const char *zone, int64_t now_us,
                         struct guarddb_member **out, size_t *n);
/* Whether `ntpmonctl zone release` ended the zone's holds within the last answer window. 0 or -1. */
int guarddb_zone_released(struct db *db, const struct guard_settings *g, const char *zone, int64_t now_us,
                          bool *released);
/* Which of the zone's servers are at risk at now (the half of guarddb_zone_members that reads results): sets
 * members[i].m.at_risk. 0 or -1. */
int guarddb_zone_at_risk(struct db *db, const struct guard_settings *g, const char *zone, int64_t now_us,
                         struct guarddb_member *members, size_t n);
/* Writes s's membership and guard state when they change (held_reason: the reason of a hold that starts now,
 * NULL when not held; a hold that goes on is not written again). 0 or -1. */
int guarddb_write_server(struct db *db, const struct eng_server *s, bool in_pool, const char *held_reason);
/* The names of the monitors whose latest result (since since_us) for one of the zone's held servers is a good
 * answer, sorted, at most max. 0 or -1. */
int guarddb_zone_monitors(struct db *db, const char *zone, int64_t since_us, char names[][MSG_NAME_MAX], size_t max,
                          size_t *n);
/* The ids of the shard's held servers (malloc'd). 0 or -1. */
int guarddb_held_servers(struct db *db, const struct shard *sh, int64_t **ids, size_t *n);
/* The zones with a held server or a standing alert, as common/zone ids (malloc'd). 0 or -1. */
int guarddb_alert_zones(struct db *db, unsigned **zones, size_t *n);
/* The standing alert of a zone (its JSON, malloc'd; NULL when none). 0 or -1. */
int guarddb_alert_get(struct db *db, const char *zone, char **json);
/* Records (json) or removes (NULL) the standing alert of a zone. 0 or -1. */
int guarddb_alert_put(struct db *db, const char *zone, const char *json, int64_t now_us);
/* system_settings 'guard' (malloc'd; NULL when not set). 0 or -1. */
int guarddb_settings_text(struct db *db, char **text);

/* What republishing the guard's statuses needs of a server of the shard: held ones, and those that left the pool
 * when a hold ended after their last recorded score. */
struct guarddb_status {
    int64_t id;
    bool held;
    int64_t ts_us; /* held_since, or when it left */
    double score;
    const char *reason;
};
typedef void (*guarddb_status_cb)(void *arg, const struct guarddb_status *st);
int guarddb_statuses(struct db *db, const struct shard *sh, guarddb_status_cb cb, void *arg);

#endif
