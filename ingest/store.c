/* store.c — ingest's SQL: the bulk INSERT IGNORE of `results` through common/dbrows, binding every column
 * (DESIGN.md §5: one row per ULID, every field of the message, samples as JSON text), the warnings check,
 * refusals and last_submit; traces into `traceroutes`. */
#include "store.h"

#include <mysql.h>
#include <mysqld_error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbrows.h"
#include "timeutil.h"
#include "ulid.h"
#include "xalloc.h"

/* One single-row statement, prepared once per connection, executed for up to STORE_MAX_CHUNK rows in one round
 * trip (MariaDB's bulk execution): a batch of --batch-size (1000 by default) is one statement. */
static struct dbrows results_sql = {
    .head = "INSERT IGNORE INTO results (id, monitor_id, server_id, ts, ip, status, `offset`, rtt, stratum, leap, refid, "
            "error, samples, agent, v) VALUES ",
    .first = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", .columns = 15, .max_rows = STORE_MAX_CHUNK, .chunking = DBROWS_BULK,
};

/* A row INSERT IGNORE skipped for another reason (a foreign key, say) looks like a duplicate: no row, one warning.
 * So whenever a chunk left warnings, every one must be a duplicate (1062), one per row not inserted; anything else
 * is reported. common/db raises max_error_count on every connection (65535 > STORE_MAX_CHUNK) so SHOW WARNINGS
 * lists them all. */
static int check_warnings(struct db *db, size_t rows, uint64_t affected, struct ingest_store_warning *warn)
{
    unsigned warnings = db_last_warnings(db);
    if (warnings == 0) return 0;
    warn->code = 0;
    snprintf(warn->message, sizeof warn->message, "%u warnings for %llu rows not inserted", warnings,
             (unsigned long long)(rows - affected));
    MYSQL *m = db_mysql(db);
    if (mysql_query(m, "SHOW WARNINGS") != 0) return 1;
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row;
    uint64_t duplicates = 0;
    bool other = false;
    while (res && (row = mysql_fetch_row(res))) {
        unsigned code = row[1] ? (unsigned)strtoul(row[1], NULL, 10) : 0;
        if (code == ER_DUP_ENTRY) {
            duplicates++;
            continue;
        }
        if (!other) {
            other = true;
            warn->code = code;
            snprintf(warn->message, sizeof warn->message, "%s", row[2] ? row[2] : "unknown warning");
        }
    }
    if (res) mysql_free_result(res);
    return other || duplicates != warnings || duplicates != rows - affected ? 1 : 0;
}

static void bind_result(void *arg, size_t i, struct db_param *p, char *ts)
{
    const struct entry *e = ((struct entry *const *)arg)[i];
    time_format_sql_us(e->rec.ts_us, ts);
    *p++ = DB_STRN(e->rec.id, ULID_LEN);
    *p++ = DB_INT(e->monitor_id);
    *p++ = DB_INT(e->rec.server_id);
    *p++ = DB_STR(ts);
    *p++ = DB_STR(e->rec.ip);
    *p++ = e->rec.status != MSG_STATUS_NONE ? DB_STR(msg_pair_status_str(e->rec.status)) : DB_NULL;
    *p++ = DB_DOUBLE_IF(e->rec.has_offset, e->rec.offset);
    *p++ = DB_DOUBLE_IF(e->rec.has_rtt, e->rec.rtt);
    *p++ = DB_INT(e->rec.stratum);
    *p++ = DB_INT(e->rec.leap);
    *p++ = DB_STR(e->rec.refid);
    *p++ = DB_STR(e->rec.error);
    *p++ = DB_STR(e->samples_json);
    *p++ = DB_STR(e->rec.agent);
    *p++ = DB_INT(e->rec.v);
}

struct results_ctx {
    struct db *db;
    struct entry *const *rows;
    uint64_t *inserted;
    struct ingest_store_warning *warn;
};

static void bind_result_row(void *arg, size_t i, struct db_param *p, char *ts)
{
    bind_result((void *)((struct results_ctx *)arg)->rows, i, p, ts);
}

static int results_chunk_done(void *arg, size_t first, size_t n, uint64_t affected)
{
    (void)first;
    struct results_ctx *c = arg;
    *c->inserted += affected;
    return check_warnings(c->db, n, affected, c->warn);
}

int ingest_store_results(struct db *db, struct entry *const *rows, size_t n, uint64_t *inserted,
                         struct ingest_store_warning *warn)
{
    struct results_ctx c = {db, rows, inserted, warn};
    return dbrows_exec(db, &results_sql, n, bind_result_row, results_chunk_done, &c);
}

static struct dbrows traces_sql = {
    .head = "INSERT IGNORE INTO traceroutes (id, monitor_id, server_id, ts, ip, port, `trigger`, reached, hops, agent) "
            "VALUES ",
    .first = "(?,?,?,?,?,?,?,?,?,?)", .columns = 10, .max_rows = STORE_MAX_CHUNK, .chunking = DBROWS_BULK,
};

static void bind_trace(void *arg, size_t i, struct db_param *p, char *ts)
{
    const struct entry *e = ((struct results_ctx *)arg)->rows[i];
    time_format_sql_us(e->rec.ts_us, ts);
    *p++ = DB_STRN(e->rec.id, ULID_LEN);
    *p++ = DB_INT(e->monitor_id);
    *p++ = DB_INT(e->rec.server_id);
    *p++ = DB_STR(ts);
    *p++ = DB_STR(e->rec.ip);
    *p++ = DB_INT(e->port);
    *p++ = DB_STR(msg_trace_trigger_str(e->trigger));
    *p++ = DB_INT(e->reached ? 1 : 0);
    *p++ = DB_STR(e->hops_json);
    *p++ = DB_STR(e->rec.agent);
}

int ingest_store_traces(struct db *db, struct entry *const *rows, size_t n, uint64_t *inserted,
                        struct ingest_store_warning *warn)
{
    struct results_ctx c = {db, rows, inserted, warn};
    return dbrows_exec(db, &traces_sql, n, bind_trace, results_chunk_done, &c);
}

int ingest_store_rejected(struct db *db, const struct entry *e)
{
    /* A refused message the agent re-sends (its confirmation was lost) is the same record: keep one. Messages
     * without a readable id cannot be matched and are recorded each time. IGNORE: whatever the payload holds, a
     * refusal is recorded (truncated if need be) rather than stopping the pipeline. */
    static const char sql[] =
        "INSERT IGNORE INTO results_rejected (topic, payload, payload_size, reason, result_id, monitor) "
        "SELECT ?, ?, ?, ?, ?, ? FROM DUAL WHERE NOT EXISTS "
        "(SELECT 1 FROM results_rejected WHERE result_id = ? AND topic = ?)";
    struct db_param p[] = {
        DB_STR(e->topic),
        DB_STRN(e->payload, e->payload_len),
        DB_INT(e->payload_size),
        DB_STR(e->reason),
        e->rec.id[0] ? DB_STR(e->rec.id) : DB_NULL,
        e->rec.monitor[0] ? DB_STR(e->rec.monitor) : DB_NULL,
        e->rec.id[0] ? DB_STR(e->rec.id) : DB_NULL,
        DB_STR(e->topic),
    };
    return db_execp(db, sql, p, sizeof p / sizeof p[0], NULL, NULL);
}

int ingest_store_last_submit(struct db *db, int64_t monitor_id, int64_t at_us)
{
    char ts[32];
    time_format_sql_us(at_us, ts);
    struct db_param p[] = {DB_STR(ts), DB_INT(monitor_id), DB_STR(ts)};
    return db_execp(db, "UPDATE monitors SET last_submit = ? WHERE id = ? AND (last_submit IS NULL OR last_submit < ?)",
                    p, 3, NULL, NULL);
}
