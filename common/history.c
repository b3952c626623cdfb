/* history.c — the score-history query over log_scores (see history.h). */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "timeutil.h"

int history_find_server(struct db *db, const char *text, int64_t *id)
{
    struct netaddr a;
    char ip[NETADDR_STRLEN] = "";
    int64_t want = 0;
    if (netaddr_parse(text, &a) == 0) {
        netaddr_format(&a, ip);
    } else {
        char *end;
        want = strtoll(text, &end, 10);
        if (end == text || *end || want <= 0) return -2;
    }
    struct db_param p[] = {DB_STR(ip), DB_INT(want)};
    return db_query_int(db, "SELECT id FROM servers WHERE ip = ? OR id = ?", p, 2, id);
}

int history_find_monitor(struct db *db, const char *text, int64_t *id)
{
    char *end;
    long long mid = strtoll(text, &end, 10);
    struct db_param p[] = {DB_STR(text), DB_INT(*end || end == text ? 0 : mid)};
    return db_query_int(db, "SELECT id FROM monitors WHERE name = ? OR id = ?", p, 2, id);
}

int history_resolve_monitor(struct db *db, const char *param, struct history_query *q)
{
    if (!param || !*param) {
        q->which = HISTORY_OVERALL;
        return 1;
    }
    if (strcmp(param, "*") == 0) {
        q->which = HISTORY_ALL;
        return 1;
    }
    q->which = HISTORY_MONITOR;
    return history_find_monitor(db, param, &q->monitor_id);
}

int history_parse_since(const char *s, int64_t *us)
{
    char *end;
    long long secs = strtoll(s, &end, 10);
    if (end != s && *end == '\0') {
        *us = secs * 1000000LL;
        return 0;
    }
    if (time_parse_rfc3339(s, us) == 0) return 0;
    if (time_parse_sql(s, us) == 0) return 0;
    if (strlen(s) == 10) { /* a bare date */
        char full[32];
        snprintf(full, sizeof full, "%s 00:00:00", s);
        if (time_parse_sql(full, us) == 0) return 0;
    }
    return -1;
}

struct query_ctx {
    history_row_cb cb;
    void *arg;
};

static int take_row(void *arg, const struct db_row *row)
{
    struct query_ctx *c = arg;
    struct scorelog_row r = {
        .ts_us = db_row_time_us(row, 0),
        .has_offset = !db_row_is_null(row, 1),
        .offset = db_row_double(row, 1),
        .step = db_row_double(row, 2),
        .score = db_row_double(row, 3),
        .monitor_id = db_row_int(row, 4),
        .monitor_name = db_row_str(row, 5), /* text columns each have their own buffer */
        .has_rtt = !db_row_is_null(row, 6),
        .rtt_us = db_row_int(row, 6),
        .leap = (int)db_row_int(row, 7),
        .error = db_row_str(row, 8),
    };
    return c->cb(c->arg, &r);
}

int history_query(struct db *db, const struct history_query *q, history_row_cb cb, void *arg)
{
    char since[32];
    time_format_sql_us(q->since_us, since);
    static const char head[] =
        "SELECT l.ts, l.`offset`, l.step, l.score, IFNULL(l.monitor_id, 0), IFNULL(m.name, ''), l.rtt,"
        " IFNULL(JSON_VALUE(l.attributes, '$.leap'), 0), IFNULL(JSON_VALUE(l.attributes, '$.error'), '')"
        " FROM log_scores l LEFT JOIN monitors m ON m.id = l.monitor_id WHERE l.server_id = ? AND l.ts >= ?";
    static const char tail[] = " ORDER BY l.ts DESC, l.id DESC LIMIT ?";
    char sql[sizeof head + sizeof tail + 64];
    struct db_param p[4];
    size_t n = 0;
    p[n++] = DB_INT(q->server_id);
    p[n++] = DB_STR(since);
    switch (q->which) {
    case HISTORY_ALL:
        snprintf(sql, sizeof sql, "%s%s", head, tail);
        break;
    case HISTORY_MONITOR:
        snprintf(sql, sizeof sql, "%s AND l.monitor_id = ?%s", head, tail);
        p[n++] = DB_INT(q->monitor_id);
        break;
    case HISTORY_OVERALL:
    default:
        snprintf(sql, sizeof sql, "%s AND l.monitor_id IS NULL%s", head, tail);
        break;
    }
    p[n++] = DB_INT(q->limit);
    struct query_ctx c = {cb, arg};
    return db_query(db, sql, p, n, take_row, &c);
}
