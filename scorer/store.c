/* store.c — the scorer's SQL (see store.h). Multi-row statements go through common/dbrows: the loads as IN lists
 * in power-of-two chunks (a handful of shapes in the connection's statement cache), the batch's writes as one
 * single-row statement per table executed for all its rows in one round trip (MariaDB's bulk execution). */
#include "store.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbrows.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"
#include "zone.h"

#define MAX_CHUNK 256

bool shard_has(const struct shard *s, int64_t server_id) { return s->n <= 1 || server_id % s->n == s->k; }

/* ---- directory ---- */

static int monitor_row(void *arg, const struct db_row *row)
{
    dir_monitor_add(arg, db_row_int(row, 0), db_row_str(row, 1), db_row_int(row, 2) != 0);
    return 0;
}

int scorer_store_load_monitors(struct db *db, struct directory *dir)
{
    dir_monitors_begin(dir);
    int rc = db_query(db, "SELECT id, name, status = 'deleted' OR deleted_on IS NOT NULL FROM monitors", NULL, 0,
                      monitor_row, dir) < 0 ? -1 : 0;
    dir_monitors_end(dir, rc == 0);
    return rc;
}

static int server_row(void *arg, const struct db_row *row)
{
    dir_server_add(arg, db_row_int(row, 0), db_row_int(row, 1) != 0, zone_id(db_row_str(row, 2)));
    return 0;
}

int scorer_store_load_servers(struct db *db, struct directory *dir, const struct shard *sh)
{
    dir_servers_begin(dir);
    struct db_param p[] = {DB_INT(sh->n), DB_INT(sh->k)};
    int rc = db_query(db,
                      "SELECT id, deletion_on IS NOT NULL AND deletion_on <= UTC_DATE(), IFNULL(zone, '') FROM servers"
                      " WHERE MOD(id, ?) = ?",
                      p, 2, server_row, dir) < 0 ? -1 : 0;
    dir_servers_end(dir, rc == 0);
    return rc;
}

/* ---- servers' state ---- */

struct load_ctx {
    struct eng *e;
    int64_t now_us;
};

static struct eng_server *loading(struct load_ctx *c, const struct db_row *row)
{
    return eng_server_find(c->e, db_row_int(row, 0));
}

static int server_state_row(void *arg, const struct db_row *row)
{
    struct eng_server *s = loading(arg, row);
    if (s) {
        s->in_pool = db_row_int(row, 1) != 0;
        s->deleted = db_row_int(row, 2) != 0;
        s->zone = zone_id(db_row_str(row, 3));
        s->held_since_us = db_row_is_null(row, 4) ? 0 : db_row_time_us(row, 4);
        s->left_us = db_row_is_null(row, 5) ? 0 : db_row_time_us(row, 5);
        s->recovered_us = db_row_is_null(row, 6) ? 0 : db_row_time_us(row, 6);
    }
    return 0;
}

static int pair_row(void *arg, const struct db_row *row)
{
    struct eng_server *s = loading(arg, row);
    if (!s) return 0;
    struct eng_pair *p = eng_pair_get(s, db_row_int(row, 1), true);
    p->status = msg_pair_status_parse(db_row_str(row, 2));
    p->score = db_row_double(row, 3);
    p->score_ts_us = db_row_time_us(row, 4);
    p->stratum = (int)db_row_int(row, 5);
    return 0;
}

static int history_row(void *arg, const struct db_row *row)
{
    struct load_ctx *c = arg;
    struct eng_server *s = loading(c, row);
    if (!s) return 0;
    int64_t ts_us = db_row_time_us(row, 2);
    if (ts_us >= s->rows_from_us) return 0; /* in memory already (the query's bound is the group's latest) */
    struct eng_pair *p = eng_pair_get(s, db_row_int(row, 1), true);
    struct eng_row r = {
        .ts_us = ts_us,
        .score = db_row_double(row, 3),
        .step = db_row_double(row, 4),
        .rtt_us = db_row_is_null(row, 5) ? ENG_RTT_NONE : (int32_t)db_row_int(row, 5),
        .leap = (uint8_t)db_row_int(row, 6),
        .error = eng_error_intern(c->e, db_row_str(row, 7)),
        .stratum = (uint8_t)db_row_int(row, 8),
    };
    eng_pair_add_row(c->e, p, &r, c->now_us);
    return 0;
}

/* Rows come per server in id order: the last one of a server is its latest (equal ts: the later insert). */
static int last_overall_row(void *arg, const struct db_row *row)
{
    struct eng_server *s = loading(arg, row);
    if (!s) return 0;
    s->has_last = true;
    s->last_ts_us = db_row_time_us(row, 1);
    s->last_score = db_row_double(row, 2);
    s->in_pool_ts_us = 0;
    s->in_pool_score = 0;
    if (!db_row_is_null(row, 3) && time_parse_rfc3339(db_row_str(row, 3), &s->in_pool_ts_us) == 0)
        s->in_pool_score = db_row_double(row, 4);
    return 0;
}

/* The four loads of servers' state, each an IN list of server ids (padded to a power of two: few shapes). */
static struct dbrows server_state_sql = {
    .head = "SELECT id, in_pool, deletion_on IS NOT NULL AND deletion_on <= UTC_DATE(), IFNULL(zone, ''), held_since,"
            " pool_left_at, hold_recovered_at FROM servers WHERE id IN (",
    .first = "?", .next = ",?", .tail = ")", .columns = 1, .max_rows = MAX_CHUNK, .pad = true,
};
static struct dbrows pairs_sql = {
    .head = "SELECT server_id, monitor_id, status, score_raw, score_ts, IFNULL(stratum, 0)"
            " FROM server_scores WHERE server_id IN (",
    .first = "?", .next = ",?", .tail = ")", .columns = 1, .max_rows = MAX_CHUNK, .pad = true,
};
/* every row of [from, to) */
static struct dbrows rows_sql = {
    .head = "SELECT server_id, monitor_id, ts, score, step, rtt, IFNULL(JSON_VALUE(attributes, '$.leap'), 0),"
            " IFNULL(JSON_VALUE(attributes, '$.error'), ''), IFNULL(JSON_VALUE(attributes, '$.stratum'), 0)"
            " FROM log_scores WHERE monitor_id IS NOT NULL AND ts >= ? AND ts < ? AND server_id IN (",
    .first = "?", .next = ",?", .tail = ") ORDER BY server_id, ts, id", .columns = 1, .max_rows = MAX_CHUNK, .pad = true,
};
/* each pair's latest row in [from − longest lookback, from): one index dive per pair on (monitor_id, server_id, ts),
 * however many rows the pair has. The pairs are server_scores' (the scorer writes a row for every pair it scores,
 * and a pair without one has no status, so its rows never count); a GROUP BY over log_scores instead would walk
 * every monitor's groups, not the chunk's pairs (10× slower at 40 monitors × 6 000 servers). */
static struct dbrows latest_rows_sql = {
    .head = "SELECT l.server_id, l.monitor_id, l.ts, l.score, l.step, l.rtt,"
            " IFNULL(JSON_VALUE(l.attributes, '$.leap'), 0), IFNULL(JSON_VALUE(l.attributes, '$.error'), ''),"
            " IFNULL(JSON_VALUE(l.attributes, '$.stratum'), 0) FROM server_scores ss JOIN log_scores l ON l.id ="
            " (SELECT x.id FROM log_scores x WHERE x.monitor_id = ss.monitor_id AND x.server_id = ss.server_id"
            " AND x.ts < ? AND x.ts >= ? ORDER BY x.ts DESC, x.id DESC LIMIT 1) WHERE ss.server_id IN (",
    .first = "?", .next = ",?", .tail = ") ORDER BY l.server_id, l.ts, l.id", .columns = 1, .max_rows = MAX_CHUNK,
    .pad = true,
};
static struct dbrows last_overall_sql = {
    .head = "SELECT l.server_id, l.ts, l.score, JSON_VALUE(l.attributes, '$.in_pool_ts'),"
            " JSON_VALUE(l.attributes, '$.in_pool_score') FROM log_scores l JOIN (SELECT server_id,"
            " MAX(ts) AS ts FROM log_scores WHERE monitor_id IS NULL AND server_id IN (",
    .first = "?", .next = ",?",
    .tail = ") GROUP BY server_id) g ON g.server_id = l.server_id AND g.ts = l.ts WHERE l.monitor_id IS NULL"
            " ORDER BY l.server_id, l.id",
    .columns = 1, .max_rows = MAX_CHUNK, .pad = true,
};

static void bind_id(void *arg, size_t i, struct db_param *p, char *scratch)
{
    (void)scratch;
    p[0] = DB_INT(((const int64_t *)arg)[i]);
}

/* Rows of loaded servers from from_us up to each one's rows_from_us (what memory lacks), and each pair's latest
 * row before from_us; their rows_from_us becomes from_us. Rows older than a server's rows_from_us in memory are
 * replaced (memory keeps only each pair's latest of them). */
static int load_rows(struct db *db, struct eng *e, const int64_t *ids, size_t n, int64_t from_us, int64_t now_us)
{
    struct load_ctx c = {e, now_us};
    int64_t to_us = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        struct eng_server *s = eng_server_find(e, ids[i]);
        if (!s) continue;
        if (s->rows_from_us > to_us) to_us = s->rows_from_us;
        eng_server_forget_rows(s, s->rows_from_us);
    }
    char from[32], to[32], oldest[32];
    time_format_sql_us(from_us, from);
    time_format_sql_us(from_us - eng_longest_lookback(e), oldest);
    if (to_us > now_us + 86400 * 1000000LL) snprintf(to, sizeof to, "9999-12-31 00:00:00");
    else time_format_sql_us(to_us, to);
    struct db_param range[] = {DB_STR(from), DB_STR(to)}, before[] = {DB_STR(from), DB_STR(oldest)};
    void *id_arg = (void *)ids;
    if (dbrows_query(db, &rows_sql, range, 2, n, bind_id, id_arg, history_row, &c) < 0 ||
        dbrows_query(db, &latest_rows_sql, before, 2, n, bind_id, id_arg, history_row, &c) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        struct eng_server *s = eng_server_find(e, ids[i]);
        if (s) s->rows_from_us = from_us;
    }
    return 0;
}

int scorer_store_load_servers_state(struct db *db, struct eng *e, const int64_t *ids, size_t n, int64_t rows_from_us,
                                    int64_t now_us)
{
    struct load_ctx c = {e, now_us};
    void *id_arg = (void *)ids;
    for (size_t i = 0; i < n; i++) eng_server_add(e, ids[i])->rows_from_us = INT64_MAX; /* no rows yet */
    int rc = dbrows_query(db, &server_state_sql, NULL, 0, n, bind_id, id_arg, server_state_row, &c) < 0 ||
                     dbrows_query(db, &pairs_sql, NULL, 0, n, bind_id, id_arg, pair_row, &c) < 0 ? -1 : 0;
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) eng_server_fit(eng_server_find(e, ids[i])); /* every pair is known now */
        if (load_rows(db, e, ids, n, rows_from_us, now_us) < 0 ||
            dbrows_query(db, &last_overall_sql, NULL, 0, n, bind_id, id_arg, last_overall_row, &c) < 0)
            rc = -1;
    }
    if (rc < 0)
        for (size_t i = 0; i < n; i++) eng_server_drop(e, ids[i]);
    return rc;
}

int scorer_store_load_older_rows(struct db *db, struct eng *e, const int64_t *ids, size_t n, int64_t from_us,
                                 int64_t now_us)
{
    if (load_rows(db, e, ids, n, from_us, now_us) == 0) return 0;
    for (size_t i = 0; i < n; i++) eng_server_drop(e, ids[i]);
    return -1;
}

struct status_ctx {
    struct eng *e;
};

static int status_row(void *arg, const struct db_row *row)
{
    struct status_ctx *c = arg;
    struct eng_server *s = eng_server_find(c->e, db_row_int(row, 0));
    if (!s) return 0;
    struct eng_pair *p = eng_pair_get(s, db_row_int(row, 1), true);
    p->status = msg_pair_status_parse(db_row_str(row, 2));
    return 0;
}

int scorer_store_reload_statuses(struct db *db, struct eng *e, const struct shard *sh)
{
    struct status_ctx c = {e};
    struct db_param p[] = {DB_INT(sh->n), DB_INT(sh->k)};
    return db_query(db, "SELECT server_id, monitor_id, status FROM server_scores WHERE MOD(server_id, ?) = ?", p, 2,
                    status_row, &c) < 0 ? -1 : 0;
}

/* ---- duplicates ---- */

struct scored_ctx {
    const char (*ids)[ULID_LEN + 1];
    size_t n;
    bool *done;
};

static int scored_row(void *arg, const struct db_row *row)
{
    struct scored_ctx *c = arg;
    const char *id = db_row_str(row, 0);
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->ids[i], id) == 0) c->done[i] = true;
    return 0;
}

static struct dbrows scored_sql = {
    .head = "SELECT result_id FROM log_scores WHERE monitor_key <> 0 AND result_id IN (",
    .first = "?", .next = ",?", .tail = ")", .columns = 1, .max_rows = MAX_CHUNK, .pad = true,
};

static void bind_ulid(void *arg, size_t i, struct db_param *p, char *scratch)
{
    (void)scratch;
    p[0] = DB_STR(((const char (*)[ULID_LEN + 1])arg)[i]);
}

int scorer_store_find_scored(struct db *db, const char (*ids)[ULID_LEN + 1], size_t n, bool *done)
{
    for (size_t i = 0; i < n; i++) done[i] = false;
    struct scored_ctx ctx = {ids, n, done};
    return dbrows_query(db, &scored_sql, NULL, 0, n, bind_ulid, (void *)ids, scored_row, &ctx) < 0 ? -1 : 0;
}

/* ---- writing ---- */

#define MAX_BULK 2000 /* rows per bulk execution: a batch's (2 × --batch-size at most) in one */

/* A plain INSERT: a result scored before (a redelivery) fails on the unique key (result_id, monitor_key), which
 * tells the caller to retry the batch with scorer_store_find_scored. */
static struct dbrows log_rows_sql = {
    .head = "INSERT INTO log_scores (monitor_id, server_id, ts, score, step, `offset`, rtt, result_id, attributes) VALUES ",
    .first = "(?,?,?,?,?,?,?,?,?)", .columns = 9, .max_rows = MAX_BULK, .chunking = DBROWS_BULK,
};

static void bind_log_row(void *arg, size_t i, struct db_param *p, char *ts)
{
    const struct scorer_store_log_row *r = &((const struct scorer_store_log_row *)arg)[i];
    time_format_sql_us(r->ts_us, ts);
    p[0] = r->monitor_id ? DB_INT(r->monitor_id) : DB_NULL;
    p[1] = DB_INT(r->server_id);
    p[2] = DB_STR(ts);
    p[3] = DB_DOUBLE(r->score);
    p[4] = DB_DOUBLE(r->step);
    p[5] = DB_DOUBLE_IF(r->has_offset, r->offset);
    p[6] = r->has_rtt ? DB_INT(r->rtt_us) : DB_NULL;
    p[7] = DB_STR(r->result_id);
    p[8] = DB_STR_OR_NULL(r->attributes);
}

/* One pair's new values, the same five columns for the insert and the update. */
static void bind_pair(void *arg, size_t i, struct db_param *p, char *ts)
{
    const struct scorer_store_pair_update *u = ((const struct scorer_store_pair_update **)arg)[i];
    time_format_sql_us(u->score_ts_us, ts);
    p[0] = DB_INT(u->monitor_id);
    p[1] = DB_INT(u->server_id);
    p[2] = DB_DOUBLE(u->score);
    p[3] = DB_STR(ts);
    p[4] = u->stratum > 0 ? DB_INT(u->stratum) : DB_NULL;
}

/* New pairs: inserted (an upsert, in case another writer was first). */
static struct dbrows insert_pairs_sql = {
    .head = "INSERT INTO server_scores (monitor_id, server_id, score_raw, score_ts, stratum) VALUES ",
    .first = "(?,?,?,?,?)", .next = ",(?,?,?,?,?)",
    .tail = " ON DUPLICATE KEY UPDATE score_raw = VALUES(score_raw), score_ts = VALUES(score_ts),"
            " stratum = IFNULL(VALUES(stratum), stratum)",
    .columns = 5, .max_rows = MAX_BULK, .chunking = DBROWS_BULK,
};

static int insert_pairs(struct db *db, const struct scorer_store_pair_update **pairs, size_t n)
{
    return dbrows_exec(db, &insert_pairs_sql, n, bind_pair, NULL, (void *)pairs);
}

/* Existing pairs: an UPDATE by the pair's unique key, executed for every pair in one round trip (an upsert would
 * first try an insert for every row, which InnoDB undoes on the duplicate key: several times the work). A pair is
 * in a batch once (write_pairs keeps its last update). */
static struct dbrows update_pairs_sql = {
    .head = "UPDATE server_scores SET score_raw = ?, score_ts = ?, stratum = IFNULL(?, stratum)",
    .first = " WHERE monitor_id = ? AND server_id = ?",
    .columns = 5, .max_rows = MAX_BULK, .chunking = DBROWS_BULK,
};

struct update_pairs_ctx {
    struct db *db;
    const struct scorer_store_pair_update **pairs;
};

static void bind_update_pair(void *arg, size_t i, struct db_param *p, char *ts)
{
    struct db_param v[5];
    bind_pair((void *)((struct update_pairs_ctx *)arg)->pairs, i, v, ts);
    p[0] = v[2], p[1] = v[3], p[2] = v[4], p[3] = v[0], p[4] = v[1];
}

/* A row removed behind our back (the connection reports matched rows): upsert the chunk, which inserts what is
 * missing and sets the same values again on the rest. */
static int pairs_matched(void *arg, size_t first, size_t n, uint64_t matched)
{
    struct update_pairs_ctx *c = arg;
    return matched < n && insert_pairs(c->db, c->pairs + first, n) < 0 ? -1 : 0;
}

static int update_pairs(struct db *db, const struct scorer_store_pair_update **pairs, size_t n)
{
    struct update_pairs_ctx c = {db, pairs};
    return dbrows_exec(db, &update_pairs_sql, n, bind_update_pair, pairs_matched, &c);
}

/* Keeps the last update of each pair (a batch often has a pair twice only when results are bunched). */
static int write_pairs(struct db *db, const struct scorer_store_pair_update *pairs, size_t n)
{
    const struct scorer_store_pair_update **known = xmalloc((n ? n : 1) * sizeof *known);
    const struct scorer_store_pair_update **fresh = xmalloc((n ? n : 1) * sizeof *fresh);
    size_t n_known = 0, n_fresh = 0;
    for (size_t i = 0; i < n; i++) {
        bool later = false, exists = pairs[i].exists;
        for (size_t j = 0; j < n && !later; j++) {
            if (j == i || pairs[j].monitor_id != pairs[i].monitor_id || pairs[j].server_id != pairs[i].server_id) continue;
            if (j > i) later = true;
            else if (!pairs[j].exists) exists = false; /* created earlier in this batch: not in the table yet */
        }
        if (later) continue;
        if (exists) known[n_known++] = &pairs[i];
        else fresh[n_fresh++] = &pairs[i];
    }
    int rc = update_pairs(db, known, n_known) < 0 || insert_pairs(db, fresh, n_fresh) < 0 ? -1 : 0;
    free(known);
    free(fresh);
    return rc;
}

/* The servers' latest overall scores, one UPDATE by id executed for all of them in one round trip. */
static struct dbrows servers_sql = {
    .head = "UPDATE servers SET score_raw = ?, score_ts = ?, in_pool = ?", .first = " WHERE id = ?",
    .columns = 4, .max_rows = MAX_BULK, .chunking = DBROWS_BULK,
};

static void bind_server(void *arg, size_t i, struct db_param *p, char *ts)
{
    const struct scorer_store_server_update *u = &((const struct scorer_store_server_update *)arg)[i];
    time_format_sql_us(u->score_ts_us, ts);
    p[0] = DB_DOUBLE(u->score);
    p[1] = DB_STR(ts);
    p[2] = DB_INT(u->in_pool);
    p[3] = DB_INT(u->server_id);
}

int scorer_store_write(struct db *db, const struct scorer_store_log_row *rows, size_t n_rows,
                       const struct scorer_store_pair_update *pairs, size_t n_pairs,
                       const struct scorer_store_server_update *servers, size_t n_servers)
{
    if (dbrows_exec(db, &log_rows_sql, n_rows, bind_log_row, NULL, (void *)rows) < 0) return -1;
    if (write_pairs(db, pairs, n_pairs) < 0) return -1;
    return dbrows_exec(db, &servers_sql, n_servers, bind_server, NULL, (void *)servers) < 0 ? -1 : 0;
}

/* ---- the results table ---- */

struct unscored_ctx {
    scorer_store_result_cb cb;
    void *arg;
    long n;
};

static int unscored_row(void *arg, const struct db_row *row)
{
    struct unscored_ctx *c = arg;
    struct sc_result r = {0};
    snprintf(r.rec.id, sizeof r.rec.id, "%s", db_row_str(row, 0));
    r.monitor_id = db_row_int(row, 1);
    snprintf(r.rec.monitor, sizeof r.rec.monitor, "%s", db_row_str(row, 2));
    r.rec.server_id = db_row_int(row, 3);
    r.rec.ts_us = db_row_time_us(row, 4);
    r.rec.has_offset = !db_row_is_null(row, 5);
    r.rec.offset = db_row_double(row, 5);
    r.rec.has_rtt = !db_row_is_null(row, 6);
    r.rec.rtt = db_row_double(row, 6);
    r.rec.stratum = (int)db_row_int(row, 7);
    r.rec.leap = (int)db_row_int(row, 8);
    snprintf(r.rec.error, sizeof r.rec.error, "%s", db_row_str(row, 9));
    c->cb(c->arg, &r);
    c->n++;
    return 0;
}

long scorer_store_unscored(struct db *db, const struct shard *sh, int64_t min_ts_us, int64_t recv_from_us,
                           int64_t recv_to_us, int64_t after_ts_us, const char *after_id, long limit,
                           scorer_store_result_cb cb, void *arg)
{
    char min_ts[32], from[32], to[32], after[32];
    time_format_sql_us(min_ts_us, min_ts);
    time_format_sql_us(recv_from_us, from);
    time_format_sql_us(recv_to_us, to);
    time_format_sql_us(after_ts_us, after);
    struct db_param p[] = {DB_STR(from), DB_STR(to), DB_STR(min_ts), DB_INT(sh->n), DB_INT(sh->k),
                           DB_STR(after), DB_STR(after), DB_STR(after_id), DB_INT(limit)};
    struct unscored_ctx c = {cb, arg, 0};
    if (db_query(db,
                 "SELECT r.id, r.monitor_id, IFNULL(m.name, ''), r.server_id, r.ts, r.`offset`, r.rtt, r.stratum,"
                 " r.leap, r.error FROM results r LEFT JOIN monitors m ON m.id = r.monitor_id"
                 " WHERE r.received_at >= ? AND r.received_at <= ? AND r.ts >= ? AND MOD(r.server_id, ?) = ?"
                 " AND (r.ts > ? OR (r.ts = ? AND r.id > ?))"
                 " AND NOT EXISTS (SELECT 1 FROM log_scores l WHERE l.result_id = r.id AND l.monitor_key = r.monitor_id)"
                 " ORDER BY r.ts, r.id LIMIT ?",
                 p, 9, unscored_row, &c) < 0)
        return -1;
    return c.n;
}

/* ---- latest scores (republishing retained messages) ---- */

struct latest_ctx {
    scorer_store_latest_cb cb;
    void *arg;
    struct scorer_store_latest pending;
    bool has_pending;
};

static int latest_row(void *arg, const struct db_row *row)
{
    struct latest_ctx *c = arg;
    struct scorer_store_latest l = {
        .server_id = db_row_int(row, 0),
        .ts_us = db_row_time_us(row, 1),
        .score = db_row_double(row, 2),
        .step = db_row_double(row, 3),
        .monitors = (int)db_row_int(row, 4),
        .in_pool = db_row_int(row, 5) != 0,
    };
    if (!db_row_is_null(row, 6) && time_parse_rfc3339(db_row_str(row, 6), &l.in_pool_ts_us) == 0) {
        l.has_change = true;
        l.in_pool_score = db_row_double(row, 7);
    }
    /* rows come ordered by server, then id: the last one of a server wins (equal ts) */
    if (c->has_pending && c->pending.server_id != l.server_id) c->cb(c->arg, &c->pending);
    c->pending = l;
    c->has_pending = true;
    return 0;
}

int scorer_store_latest_scores(struct db *db, const struct shard *sh, scorer_store_latest_cb cb, void *arg)
{
    struct latest_ctx c = {cb, arg, {0}, false};
    struct db_param p[] = {DB_INT(sh->n), DB_INT(sh->k)};
    if (db_query(db,
                 "SELECT l.server_id, l.ts, l.score, l.step, IFNULL(JSON_VALUE(l.attributes, '$.monitors'), 0),"
                 " IFNULL(JSON_VALUE(l.attributes, '$.in_pool') IN ('1', 'true'), 0), JSON_VALUE(l.attributes, '$.in_pool_ts'),"
                 " JSON_VALUE(l.attributes, '$.in_pool_score')"
                 " FROM log_scores l JOIN (SELECT server_id, MAX(ts) AS ts FROM log_scores WHERE monitor_id IS NULL"
                 " GROUP BY server_id) g ON g.server_id = l.server_id AND g.ts = l.ts"
                 " WHERE l.monitor_id IS NULL AND MOD(l.server_id, ?) = ? ORDER BY l.server_id, l.id",
                 p, 2, latest_row, &c) < 0)
        return -1;
    if (c.has_pending) cb(arg, &c.pending);
    return 0;
}

/* ---- attributes ---- */

static void add_num(json_object *o, const char *key, double v)
{
    char text[48];
    msg_format_number(v, text);
    json_object_object_add(o, key, json_object_new_double_s(v, text));
}

static char *finish(json_object *o)
{
    char *s = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

char *scorer_store_monitor_attributes(int leap, const char *error, int stratum, enum msg_pair_status status)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "leap", json_object_new_int(leap));
    json_object_object_add(o, "error", json_object_new_string(error ? error : ""));
    json_object_object_add(o, "stratum", json_object_new_int(stratum));
    json_object_object_add(o, "status", json_object_new_string(msg_pair_status_str(status)));
    return finish(o);
}

char *scorer_store_overall_attributes(int leap, const char *error, int stratum, int64_t chosen_monitor_id, int monitors,
                                      bool in_pool, int64_t in_pool_ts_us, double in_pool_score)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "leap", json_object_new_int(leap));
    json_object_object_add(o, "error", json_object_new_string(error ? error : ""));
    json_object_object_add(o, "stratum", json_object_new_int(stratum));
    json_object_object_add(o, "monitor_id", json_object_new_int64(chosen_monitor_id));
    json_object_object_add(o, "monitors", json_object_new_int(monitors));
    json_object_object_add(o, "in_pool", json_object_new_boolean(in_pool));
    if (in_pool_ts_us) {
        char ts[TIME_RFC3339_LEN];
        time_format_rfc3339(in_pool_ts_us, ts);
        json_object_object_add(o, "in_pool_ts", json_object_new_string(ts));
        add_num(o, "in_pool_score", in_pool_score);
    }
    return finish(o);
}
