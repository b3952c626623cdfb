/* guarddb.c — the guard's SQL (see guarddb.h). */
#include "guarddb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step.h"
#include "timeutil.h"
#include "xalloc.h"
#include "zone.h"

static int64_t time_or_zero(const struct db_row *row, size_t col)
{
    return db_row_is_null(row, col) ? 0 : db_row_time_us(row, col);
}

struct members_ctx {
    struct guarddb_member *v;
    size_t n, cap;
};

static int member_row(void *arg, const struct db_row *row)
{
    struct members_ctx *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = (struct guarddb_member){
        .id = db_row_int(row, 0),
        .m = {.in_pool = db_row_int(row, 1) != 0,
              .held_since_us = time_or_zero(row, 2),
              .left_us = time_or_zero(row, 3),
              .recovered_us = time_or_zero(row, 4)},
    };
    return 0;
}

int guarddb_zone_released(struct db *db, const struct guard_settings *g, const char *zone, int64_t now_us,
                          bool *released)
{
    char since[32];
    time_format_sql_us(now_us - (int64_t)g->answer_window_s * 1000000, since);
    struct db_param p[] = {DB_STR(zone), DB_STR(since)};
    int64_t v = 0;
    int rc = db_query_int(db, "SELECT COUNT(*) FROM guard_zones WHERE zone = ? AND released_at >= ?", p, 2, &v);
    *released = rc > 0 && v > 0;
    return rc < 0 ? -1 : 0;
}

int guarddb_zone_members(struct db *db, const struct guard_settings *g, const char *zone, int64_t now_us,
                         struct guarddb_member **out, size_t *n)
{
    struct members_ctx c = {0};
    struct db_param p[] = {DB_STR(zone)};
    if (db_query(db,
                 "SELECT id, in_pool, held_since, pool_left_at, hold_recovered_at FROM servers WHERE zone = ?"
                 " AND (deletion_on IS NULL OR deletion_on > UTC_DATE()) ORDER BY id",
                 p, 1, member_row, &c) < 0 ||
        guarddb_zone_at_risk(db, g, zone, now_us, c.v, c.n) < 0) {
        free(c.v);
        return -1;
    }
    *out = c.v;
    *n = c.n;
    return 0;
}

/* Rows come per server, then monitor, then ts: the last row of each pair is its latest result. */
struct risk_ctx {
    struct guarddb_member *members;
    size_t n;
    int64_t server, monitor;
    bool good;
    struct guard_tally tally;
};

static void risk_flush_pair(struct risk_ctx *c)
{
    if (!c->server) return;
    c->tally.monitors++;
    if (c->good) c->tally.good++;
}

static void risk_flush_server(struct risk_ctx *c)
{
    if (!c->server) return;
    risk_flush_pair(c);
    for (size_t i = 0; i < c->n; i++) /* members are sorted by id */
        if (c->members[i].id == c->server) c->members[i].m.at_risk = guard_tally_at_risk(&c->tally);
    c->tally = (struct guard_tally){0, 0};
}

static int risk_row(void *arg, const struct db_row *row)
{
    struct risk_ctx *c = arg;
    int64_t server = db_row_int(row, 0), monitor = db_row_int(row, 1);
    if (server != c->server) {
        risk_flush_server(c);
        c->server = server;
    } else if (monitor != c->monitor) {
        risk_flush_pair(c);
    }
    c->monitor = monitor;
    const char *error = db_row_str(row, 4);
    struct step_input si = {.no_response = msg_error_is_no_response(error), .stratum = (int)db_row_int(row, 3),
                            .error = error, .has_offset = !db_row_is_null(row, 2), .offset = db_row_double(row, 2)};
    c->good = !*error && step_compute(&si).step > 0;
    return 0;
}

int guarddb_zone_at_risk(struct db *db, const struct guard_settings *g, const char *zone, int64_t now_us,
                         struct guarddb_member *members, size_t n)
{
    for (size_t i = 0; i < n; i++) members[i].m.at_risk = false;
    char since[32], until[32];
    time_format_sql_us(now_us - (int64_t)g->answer_window_s * 1000000, since);
    time_format_sql_us(now_us, until);
    struct db_param p[] = {DB_STR(since), DB_STR(until), DB_STR(zone)};
    struct risk_ctx c = {.members = members, .n = n};
    if (db_query(db,
                 "SELECT r.server_id, r.monitor_id, r.`offset`, r.stratum, r.error FROM servers s"
                 " JOIN results r ON r.server_id = s.id AND r.ts >= ? AND r.ts <= ?"
                 " WHERE s.zone = ? AND s.in_pool = 1 AND s.held_since IS NULL"
                 " ORDER BY r.server_id, r.monitor_id, r.ts, r.id",
                 p, 3, risk_row, &c) < 0)
        return -1;
    risk_flush_server(&c);
    return 0;
}

int guarddb_write_server(struct db *db, const struct eng_server *s, bool in_pool, const char *held_reason)
{
    char held[32], left[32], recovered[32];
    time_format_sql_us(s->held_since_us, held);
    time_format_sql_us(s->left_us, left);
    time_format_sql_us(s->recovered_us, recovered);
    struct db_param p[] = {
        DB_INT(in_pool),
        s->held_since_us ? DB_STR(held) : DB_NULL,
        s->held_since_us && held_reason ? DB_STR(held_reason) : DB_NULL,
        s->left_us ? DB_STR(left) : DB_NULL,
        s->recovered_us ? DB_STR(recovered) : DB_NULL,
        DB_INT(s->id),
    };
    return db_execp(db,
                    "UPDATE servers SET in_pool = ?, held_since = ?, held_reason = ?, pool_left_at = ?,"
                    " hold_recovered_at = ? WHERE id = ?",
                    p, 6, NULL, NULL);
}

/* Rows per server, monitor, ts: a monitor counts when its latest result for some held server is a good answer. */
struct names_ctx {
    char (*names)[MSG_NAME_MAX];
    size_t max, n;
    int64_t server, monitor;
    bool good;
    char name[MSG_NAME_MAX];
};

static void names_flush(struct names_ctx *c)
{
    if (!c->server || !c->good) return;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->names[i], c->name) == 0) return;
    if (c->n < c->max) snprintf(c->names[c->n++], MSG_NAME_MAX, "%s", c->name);
}

static int name_row(void *arg, const struct db_row *row)
{
    struct names_ctx *c = arg;
    int64_t server = db_row_int(row, 0), monitor = db_row_int(row, 1);
    if (server != c->server || monitor != c->monitor) names_flush(c);
    c->server = server;
    c->monitor = monitor;
    snprintf(c->name, sizeof c->name, "%s", db_row_str(row, 2));
    const char *error = db_row_str(row, 5);
    struct step_input si = {.no_response = msg_error_is_no_response(error), .stratum = (int)db_row_int(row, 4),
                            .error = error, .has_offset = !db_row_is_null(row, 3), .offset = db_row_double(row, 3)};
    c->good = !*error && step_compute(&si).step > 0;
    return 0;
}

static int cmp_name(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

int guarddb_zone_monitors(struct db *db, const char *zone, int64_t since_us, char names[][MSG_NAME_MAX], size_t max,
                          size_t *n)
{
    char since[32];
    time_format_sql_us(since_us, since);
    struct db_param p[] = {DB_STR(since), DB_STR(zone)};
    struct names_ctx c = {.names = names, .max = max};
    int rc = db_query(db,
                      "SELECT r.server_id, r.monitor_id, m.name, r.`offset`, r.stratum, r.error FROM servers s"
                      " JOIN results r ON r.server_id = s.id AND r.ts >= ? JOIN monitors m ON m.id = r.monitor_id"
                      " WHERE s.zone = ? AND s.held_since IS NOT NULL ORDER BY r.server_id, r.monitor_id, r.ts, r.id",
                      p, 2, name_row, &c);
    names_flush(&c);
    qsort(names, c.n, sizeof names[0], cmp_name);
    *n = c.n;
    return rc < 0 ? -1 : 0;
}

struct ids_ctx {
    int64_t *v;
    size_t n, cap;
};

static int id_row(void *arg, const struct db_row *row)
{
    struct ids_ctx *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = db_row_int(row, 0);
    return 0;
}

int guarddb_held_servers(struct db *db, const struct shard *sh, int64_t **ids, size_t *n)
{
    struct ids_ctx c = {0};
    struct db_param p[] = {DB_INT(sh->n), DB_INT(sh->k)};
    if (db_query(db, "SELECT id FROM servers WHERE held_since IS NOT NULL AND MOD(id, ?) = ? ORDER BY id", p, 2,
                 id_row, &c) < 0) {
        free(c.v);
        return -1;
    }
    *ids = c.v;
    *n = c.n;
    return 0;
}

static int zone_row(void *arg, const struct db_row *row)
{
    struct ids_ctx *c = arg;
    unsigned z = zone_id(db_row_str(row, 0));
    if (!z) return 0; /* a zone this binary does not know: nothing it could publish */
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n++] = z;
    return 0;
}

int guarddb_alert_zones(struct db *db, unsigned **zones, size_t *n)
{
    struct ids_ctx c = {0};
    if (db_query(db,
                 "SELECT zone FROM servers WHERE held_since IS NOT NULL AND zone IS NOT NULL"
                 " UNION SELECT zone FROM guard_zones WHERE alert IS NOT NULL ORDER BY 1",
                 NULL, 0, zone_row, &c) < 0) {
        free(c.v);
        return -1;
    }
    *zones = xmalloc((c.n ? c.n : 1) * sizeof **zones);
    for (size_t i = 0; i < c.n; i++) (*zones)[i] = (unsigned)c.v[i];
    *n = c.n;
    free(c.v);
    return 0;
}

static int text_row(void *arg, const struct db_row *row)
{
    char **out = arg;
    free(*out);
    *out = xstrdup(db_row_str(row, 0));
    return 0;
}

int guarddb_alert_get(struct db *db, const char *zone, char **json)
{
    *json = NULL;
    struct db_param p[] = {DB_STR(zone)};
    return db_query(db, "SELECT alert FROM guard_zones WHERE zone = ? AND alert IS NOT NULL", p, 1, text_row, json) < 0
               ? -1
               : 0;
}

int guarddb_alert_put(struct db *db, const char *zone, const char *json, int64_t now_us)
{
    char now[32];
    time_format_sql_us(now_us, now);
    if (!json) {
        struct db_param p[] = {DB_STR(now), DB_STR(zone)};
        return db_execp(db, "UPDATE guard_zones SET alert = NULL, alert_since = NULL, updated_at = ? WHERE zone = ?", p,
                        2, NULL, NULL);
    }
    struct db_param p[] = {DB_STR(zone), DB_STR(now), DB_STR(json), DB_STR(now)};
    return db_execp(db,
                    "INSERT INTO guard_zones (zone, alert_since, alert, updated_at) VALUES (?, ?, ?, ?)"
                    " ON DUPLICATE KEY UPDATE alert_since = IFNULL(alert_since, VALUES(alert_since)),"
                    " alert = VALUES(alert), updated_at = VALUES(updated_at)",
                    p, 4, NULL, NULL);
}

int guarddb_settings_text(struct db *db, char **text)
{
    *text = NULL;
    struct db_param p[] = {DB_STR(GUARD_SETTINGS_KEY)};
    return db_query(db, "SELECT value FROM system_settings WHERE `key` = ?", p, 1, text_row, text) < 0 ? -1 : 0;
}

struct status_ctx {
    guarddb_status_cb cb;
    void *arg;
};

static int status_row(void *arg, const struct db_row *row)
{
    struct status_ctx *c = arg;
    bool held = !db_row_is_null(row, 1);
    struct guarddb_status st = {
        .id = db_row_int(row, 0),
        .held = held,
        .ts_us = held ? db_row_time_us(row, 1) : time_or_zero(row, 3),
        .score = db_row_double(row, 4),
        .reason = held ? db_row_str(row, 2) : "hold ended: left the pool",
    };
    c->cb(c->arg, &st);
    return 0;
}

int guarddb_statuses(struct db *db, const struct shard *sh, guarddb_status_cb cb, void *arg)
{
    struct status_ctx c = {cb, arg};
    struct db_param p[] = {DB_INT(sh->n), DB_INT(sh->k)};
    /* a server that left when its hold ended, after its last recorded score: pool_left_at > score_ts (a crossing
     * on a recorded score sets both to the same time) */
    return db_query(db,
                    "SELECT id, held_since, IFNULL(held_reason, ''), pool_left_at, score_raw FROM servers"
                    " WHERE (held_since IS NOT NULL OR (in_pool = 0 AND pool_left_at > score_ts))"
                    " AND MOD(id, ?) = ? ORDER BY id",
                    p, 2, status_row, &c) < 0 ? -1 : 0;
}
