/* dbio.c — the selector's SQL (dbio.h). Times are written from the selector's clock as UTC text; every
 * connection runs with time_zone '+00:00' (common/db). */
#include "dbio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

#define STATS_SLICE_S 900

static void sql_time(int64_t us, char out[32]) { time_format_sql_us(us, out); }

/* ---- settings ---- */

struct text_out {
    char *s;
    bool found;
};

static int take_text(void *arg, const struct db_row *row)
{
    struct text_out *t = arg;
    t->s = xstrdup(db_row_str(row, 0));
    t->found = true;
    return 1;
}

int dbio_settings_text(struct db *db, char **json)
{
    struct text_out t = {0};
    struct db_param p[] = {DB_STR(SEL_SETTINGS_KEY)};
    *json = NULL;
    if (db_query(db, "SELECT value FROM system_settings WHERE `key` = ?", p, 1, take_text, &t) < 0) return -1;
    *json = t.s;
    return 0;
}

/* ---- scan ---- */

static int scan_monitor(void *arg, const struct db_row *row)
{
    pool_upsert_monitor(arg, db_row_int(row, 0), db_row_str(row, 1), sel_mon_status_parse(db_row_str(row, 2)),
                        db_row_int(row, 3), db_row_str(row, 4), db_row_str(row, 5));
    return 0;
}

static int scan_server(void *arg, const struct db_row *row)
{
    pool_upsert_server(arg, db_row_int(row, 0), db_row_str(row, 1), db_row_int(row, 2), db_row_int(row, 3) != 0);
    return 0;
}

static int scan_pair(void *arg, const struct db_row *row)
{
    pool_upsert_pair(arg, db_row_int(row, 0), db_row_int(row, 1), msg_pair_status_parse(db_row_str(row, 2)));
    return 0;
}

int dbio_scan(struct db *db, struct pool *pool)
{
    pool_scan_begin(pool);
    if (db_query(db,
                 "SELECT id, name, status, IFNULL(account_id, 0), IFNULL(ip4, ''), IFNULL(ip6, '')"
                 " FROM monitors WHERE type = 'monitor'",
                 NULL, 0, scan_monitor, pool) < 0)
        return -1;
    if (db_query(db,
                 "SELECT id, ip, IFNULL(account_id, 0), deletion_on IS NOT NULL AND deletion_on <= UTC_DATE()"
                 " FROM servers",
                 NULL, 0, scan_server, pool) < 0)
        return -1;
    if (db_query(db, "SELECT server_id, monitor_id, status FROM server_scores", NULL, 0, scan_pair, pool) < 0)
        return -1;
    pool_scan_end(pool);
    /* Every live server gets reviewed, also one inserted by hand without a review row. */
    return db_execp(db,
                    "INSERT IGNORE INTO servers_monitor_review (server_id, next_review)"
                    " SELECT s.id, UTC_TIMESTAMP() FROM servers s"
                    " LEFT JOIN servers_monitor_review r ON r.server_id = s.id"
                    " WHERE r.server_id IS NULL AND (s.deletion_on IS NULL OR s.deletion_on > UTC_DATE())",
                    NULL, 0, NULL, NULL);
}

/* ---- statistics from log_scores ---- */

struct stats_ctx {
    struct pool *pool;
    int64_t now_us;
    int window_s;
    struct dbio_stats_report *rep;
};

static int stats_row(void *arg, const struct db_row *row)
{
    struct stats_ctx *c = arg;
    c->rep->rows++;
    uint32_t m = pool_monitor_by_id(c->pool, db_row_int(row, 0)), s = pool_server_by_id(c->pool, db_row_int(row, 1));
    if (m == IDMAP_NONE || s == IDMAP_NONE) {
        c->rep->skipped++;
        return 0;
    }
    uint32_t k = pool_pair_find(c->pool, s, m, true);
    enum stats_add_result r = stats_add(&c->pool->pairs[k].stats, db_row_int(row, 2), stats_fingerprint(db_row_str(row, 5)),
                                        db_row_double(row, 3), db_row_double(row, 4) / 1000.0, c->now_us, c->window_s);
    if (r == STATS_ADDED) c->rep->added++;
    else if (r == STATS_DUPLICATE) c->rep->duplicates++;
    else c->rep->skipped++;
    return 0;
}

/* No-response results count as rtt 0 (step −5 is the no-response row of the step table, and only it). */
#define STATS_COLUMNS                                                                                              \
    "SELECT monitor_id, server_id, TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ts), step,"                \
    " CASE WHEN step = -5 THEN 0 ELSE IFNULL(rtt, 0) END, IFNULL(result_id, '') FROM log_scores"

int dbio_load_stats(struct db *db, struct pool *pool, const int64_t *server_ids, size_t n_servers, int64_t now_us,
                    int window_s, struct dbio_stats_report *rep)
{
    memset(rep, 0, sizeof *rep);
    struct stats_ctx c = {pool, now_us, window_s, rep};
    int64_t from = now_us - (int64_t)window_s * 1000000, to = now_us + (int64_t)STATS_FUTURE_SLACK_S * 1000000;
    char a[32], b[32];
    if (n_servers) {
        sql_time(from, a);
        sql_time(to, b);
        for (size_t i = 0; i < n_servers; i++) {
            struct db_param p[] = {DB_INT(server_ids[i]), DB_STR(a), DB_STR(b)};
            if (db_query(db, STATS_COLUMNS " WHERE server_id = ? AND ts > ? AND ts <= ? AND monitor_id IS NOT NULL",
                         p, 3, stats_row, &c) < 0)
                return -1;
        }
        return 0;
    }
    for (int64_t t = from; t < to; t += (int64_t)STATS_SLICE_S * 1000000) {
        int64_t end = t + (int64_t)STATS_SLICE_S * 1000000 < to ? t + (int64_t)STATS_SLICE_S * 1000000 : to;
        sql_time(t, a);
        sql_time(end, b);
        struct db_param p[] = {DB_STR(a), DB_STR(b)};
        if (db_query(db, STATS_COLUMNS " WHERE ts > ? AND ts <= ? AND monitor_id IS NOT NULL", p, 2, stats_row, &c) < 0)
            return -1;
    }
    return 0;
}

int dbio_load_stats_group(struct db *db, struct pool *pool, const int64_t *server_ids, size_t n_servers, int64_t now_us,
                          int window_s, struct dbio_stats_report *rep)
{
    memset(rep, 0, sizeof *rep);
    if (!n_servers) return 0;
    if (n_servers > DBIO_STATS_GROUP) n_servers = DBIO_STATS_GROUP;
    struct stats_ctx c = {pool, now_us, window_s, rep};
    char a[32], b[32];
    sql_time(now_us - (int64_t)window_s * 1000000, a);
    sql_time(now_us + (int64_t)STATS_FUTURE_SLACK_S * 1000000, b);
    /* One statement text for every group (the statement cache keeps it): short groups repeat their last id. */
    struct db_param p[DBIO_STATS_GROUP + 2];
    for (size_t i = 0; i < DBIO_STATS_GROUP; i++) p[i] = DB_INT(server_ids[i < n_servers ? i : n_servers - 1]);
    p[DBIO_STATS_GROUP] = DB_STR(a);
    p[DBIO_STATS_GROUP + 1] = DB_STR(b);
    return db_query(db,
                    STATS_COLUMNS " WHERE server_id IN (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) AND ts > ? AND ts <= ?"
                                  " AND monitor_id IS NOT NULL",
                    p, DBIO_STATS_GROUP + 2, stats_row, &c) < 0
               ? -1
               : 0;
}

/* ---- due servers ---- */

struct ids_out {
    int64_t *ids;
    size_t n, cap;
};

static int take_id(void *arg, const struct db_row *row)
{
    struct ids_out *o = arg;
    if (o->n < o->cap) o->ids[o->n++] = db_row_int(row, 0);
    return 0;
}

int dbio_due_servers(struct db *db, int64_t now_us, int limit, int64_t *ids, size_t *n)
{
    char now[32];
    sql_time(now_us, now);
    struct ids_out o = {ids, 0, (size_t)limit};
    struct db_param p[] = {DB_STR(now), DB_INT(limit)};
    int rc = db_query(db,
                      "SELECT r.server_id FROM servers_monitor_review r JOIN servers s ON s.id = r.server_id"
                      " WHERE (r.next_review IS NULL OR r.next_review <= ?)"
                      " AND (s.deletion_on IS NULL OR s.deletion_on > UTC_DATE())"
                      " ORDER BY r.next_review LIMIT ?",
                      p, 2, take_id, &o);
    *n = o.n;
    return rc < 0 ? -1 : 0;
}

int dbio_find_server(struct db *db, const char *text, int64_t *id)
{
    struct netaddr a;
    if (netaddr_parse(text, &a) == 0) {
        char ip[NETADDR_STRLEN];
        netaddr_format(&a, ip);
        struct db_param p[] = {DB_STR(ip)};
        return db_query_int(db, "SELECT id FROM servers WHERE ip = ?", p, 1, id);
    }
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*text == '\0' || *end || v <= 0) return 0;
    struct db_param p[] = {DB_INT(v)};
    return db_query_int(db, "SELECT id FROM servers WHERE id = ?", p, 1, id);
}

/* ---- one server's review ---- */

static int take_server(void *arg, const struct db_row *row)
{
    struct dbio_review_rows *r = arg;
    r->exists = true;
    snprintf(r->ip, sizeof r->ip, "%s", db_row_str(row, 0));
    r->server.has_addr = netaddr_parse(r->ip, &r->server.addr) == 0;
    r->server.account_id = db_row_int(row, 1);
    r->deleted = db_row_int(row, 2) != 0;
    return 1;
}

static int take_pair(void *arg, const struct db_row *row)
{
    struct dbio_review_rows *r = arg;
    size_t i = r->n++;
    r->pairs = xrealloc(r->pairs, r->n * sizeof *r->pairs);
    r->names = xrealloc(r->names, r->n * sizeof *r->names);
    r->pause_reasons = xrealloc(r->pause_reasons, r->n * sizeof *r->pause_reasons);
    struct sel_pair *p = &r->pairs[i];
    memset(p, 0, sizeof *p);
    p->monitor_id = db_row_int(row, 0);
    snprintf(r->names[i], sizeof r->names[i], "%s", db_row_str(row, 1));
    p->global = sel_mon_status_parse(db_row_str(row, 2));
    p->account_id = db_row_int(row, 3);
    const char *addr = db_row_str(row, r->server.addr.family == AF_INET6 ? 5 : 4);
    p->has_addr = r->server.has_addr && *addr && netaddr_parse(addr, &p->addr) == 0 &&
                  p->addr.family == r->server.addr.family;
    p->account_limit = db_row_is_null(row, 6) ? 0 : atoi(db_row_str(row, 6));
    p->status = msg_pair_status_parse(db_row_str(row, 7));
    p->stored_violation = sel_violation_parse(db_row_str(row, 8));
    p->stored_since_us = db_row_time_us(row, 9);
    p->stored_last_check_us = db_row_time_us(row, 10);
    if (db_row_is_null(row, 11)) {
        r->pause_reasons[i][0] = '\0';
    } else {
        snprintf(r->pause_reasons[i], sizeof r->pause_reasons[i], "%s", db_row_str(row, 11));
    }
    return 0;
}

int dbio_read_review(struct db *db, int64_t server_id, bool lock, struct dbio_review_rows *rows)
{
    memset(rows, 0, sizeof *rows);
    rows->server.id = server_id;
    struct db_param id[] = {DB_INT(server_id)};
    if (db_query(db,
                 "SELECT ip, IFNULL(account_id, 0), deletion_on IS NOT NULL AND deletion_on <= UTC_DATE()"
                 " FROM servers WHERE id = ?",
                 id, 1, take_server, rows) < 0)
        return -1;
    if (!rows->exists) return 0;
    /* Lock only the pair rows (a FOR UPDATE on the join would lock monitors and accounts too). */
    if (lock && db_query(db, "SELECT id FROM server_scores WHERE server_id = ? FOR UPDATE", id, 1, NULL, NULL) < 0)
        return -1;
    if (db_query(db,
                 "SELECT ss.monitor_id, m.name, m.status, IFNULL(m.account_id, 0), IFNULL(m.ip4, ''), IFNULL(m.ip6, ''),"
                 " JSON_VALUE(a.flags, '$.monitors_per_server_limit'), ss.status,"
                 " IFNULL(ss.constraint_violation_type, ''), ss.constraint_violation_since, ss.last_constraint_check,"
                 " ss.pause_reason"
                 " FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id"
                 " LEFT JOIN accounts a ON a.id = m.account_id"
                 " WHERE ss.server_id = ? AND m.type = 'monitor' ORDER BY ss.monitor_id",
                 id, 1, take_pair, rows) < 0)
        return -1;
    for (size_t i = 0; i < rows->n; i++) {
        rows->pairs[i].monitor_name = rows->names[i];
        rows->pairs[i].stored_pause_reason = rows->pause_reasons[i][0] ? rows->pause_reasons[i] : NULL;
    }
    return 0;
}

void dbio_review_rows_free(struct dbio_review_rows *rows)
{
    free(rows->pairs);
    free(rows->names);
    free(rows->pause_reasons);
    memset(rows, 0, sizeof *rows);
}

static bool same_text(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

int dbio_write_review(struct db *db, const struct dbio_review_rows *rows, size_t *written)
{
    *written = 0;
    for (size_t i = 0; i < rows->n; i++) {
        const struct sel_pair *p = &rows->pairs[i];
        if (p->new_status == p->status && p->new_violation == p->stored_violation &&
            p->new_since_us == p->stored_since_us && p->new_last_check_us == p->stored_last_check_us &&
            same_text(p->new_pause_reason, p->stored_pause_reason))
            continue;
        char since[32], check[32];
        sql_time(p->new_since_us, since);
        sql_time(p->new_last_check_us, check);
        struct db_param q[] = {
            DB_STR(msg_pair_status_str(p->new_status)),
            p->new_violation ? DB_STR(sel_violation_str(p->new_violation)) : DB_NULL,
            p->new_violation && p->new_since_us ? DB_STR(since) : DB_NULL,
            p->new_last_check_us ? DB_STR(check) : DB_NULL,
            DB_STR_OR_NULL(p->new_pause_reason),
            DB_INT(rows->server.id),
            DB_INT(p->monitor_id),
        };
        if (db_execp(db,
                     "UPDATE server_scores SET status = ?, constraint_violation_type = ?,"
                     " constraint_violation_since = ?, last_constraint_check = ?, pause_reason = ?"
                     " WHERE server_id = ? AND monitor_id = ?",
                     q, 7, NULL, NULL) < 0)
            return -1;
        (*written)++;
    }
    return 0;
}

int dbio_schedule_review(struct db *db, int64_t server_id, int64_t now_us, int delay_s, bool changed)
{
    char now[32], next[32];
    sql_time(now_us, now);
    sql_time(now_us + (int64_t)delay_s * 1000000, next);
    struct db_param p[] = {DB_INT(server_id), DB_STR(now), DB_STR(next), changed ? DB_STR(now) : DB_NULL};
    return db_execp(db,
                    "INSERT INTO servers_monitor_review (server_id, last_review, next_review, last_change)"
                    " VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE last_review = VALUES(last_review),"
                    " next_review = VALUES(next_review), last_change = IFNULL(VALUES(last_change), last_change)",
                    p, 4, NULL, NULL);
}

/* ---- assign bookkeeping ---- */

int dbio_assign_seq_max(struct db *db, int64_t *seq)
{
    *seq = 0;
    return db_query_int(db, "SELECT IFNULL(MAX(seq), 0) FROM selector_assign", NULL, 0, seq) < 0 ? -1 : 0;
}

int dbio_assign_record(struct db *db, int64_t monitor_id, int64_t seq, size_t n_servers, int64_t now_us)
{
    char now[32];
    sql_time(now_us, now);
    struct db_param p[] = {DB_INT(monitor_id), DB_INT(seq), DB_INT((int64_t)n_servers), DB_STR(now)};
    return db_execp(db,
                    "INSERT INTO selector_assign (monitor_id, seq, servers, published_at) VALUES (?, ?, ?, ?)"
                    " ON DUPLICATE KEY UPDATE seq = VALUES(seq), servers = VALUES(servers),"
                    " published_at = VALUES(published_at)",
                    p, 4, NULL, NULL);
}
