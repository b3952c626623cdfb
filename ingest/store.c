/* store.c — builds the multi-row INSERT text once per chunk size and binds every column of `results`
 * (DESIGN.md §5: one row per ULID, every field of the message, samples as JSON text); traces into `traceroutes`. */
#include "store.h"

#include <mysql.h>
#include <mysqld_error.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "xalloc.h"

#define RESULT_COLUMNS 15
#define N_SIZES 9 /* 256, 128, …, 1 */

static const char results_head[] =
    "INSERT IGNORE INTO results (id, monitor_id, server_id, ts, ip, status, `offset`, rtt, stratum, leap, refid, "
    "error, samples, agent, v) VALUES ";
static const char results_row[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";

static char *insert_sql[N_SIZES]; /* by log2 of the chunk size; built on first use, kept for the process */

static const char *sql_for(size_t rows, int *slot)
{
    int k = 0;
    while (((size_t)1 << k) < rows) k++;
    *slot = k;
    if (!insert_sql[k]) {
        size_t n = (size_t)1 << k;
        size_t cap = sizeof results_head + n * (sizeof results_row + 1);
        char *s = xmalloc(cap);
        size_t len = (size_t)snprintf(s, cap, "%s", results_head);
        for (size_t i = 0; i < n; i++) len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? "," : "", results_row);
        insert_sql[k] = s;
    }
    return insert_sql[k];
}

/* The largest power of two ≤ min(n, STORE_MAX_CHUNK). */
static size_t chunk_size(size_t n)
{
    size_t c = STORE_MAX_CHUNK;
    while (c > n) c >>= 1;
    return c;
}

/* A row INSERT IGNORE skipped for another reason (a foreign key, say) looks like a duplicate: no row, one warning.
 * So whenever a chunk left warnings, every one must be a duplicate (1062), one per row not inserted; anything else
 * is reported. The session's max_error_count is raised first so SHOW WARNINGS lists them all. */
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

int ingest_store_results(struct db *db, struct entry *const *rows, size_t n, uint64_t *inserted,
                         struct ingest_store_warning *warn)
{
    if (db_exec(db, "SET SESSION max_error_count = 1024") < 0) return -1; /* > STORE_MAX_CHUNK: see check_warnings */
    struct db_param *p = xcalloc(STORE_MAX_CHUNK * RESULT_COLUMNS, sizeof *p);
    char(*ts)[32] = xcalloc(STORE_MAX_CHUNK, sizeof *ts);
    int rc = 0;
    for (size_t done = 0; done < n && rc == 0;) {
        size_t c = chunk_size(n - done);
        int slot;
        const char *sql = sql_for(c, &slot);
        struct db_param *q = p;
        for (size_t i = 0; i < c; i++) {
            const struct entry *e = rows[done + i];
            time_format_sql_us(e->ts_us, ts[i]);
            *q++ = DB_STRN(e->id, 26);
            *q++ = DB_INT(e->monitor_id);
            *q++ = DB_INT(e->server_id);
            *q++ = DB_STR(ts[i]);
            *q++ = DB_STR(e->ip);
            *q++ = e->status != MSG_STATUS_NONE ? DB_STR(msg_pair_status_str(e->status)) : DB_NULL;
            *q++ = DB_DOUBLE_IF(e->has_offset, e->offset);
            *q++ = DB_DOUBLE_IF(e->has_rtt, e->rtt);
            *q++ = DB_INT(e->stratum);
            *q++ = DB_INT(e->leap);
            *q++ = DB_STR(e->refid);
            *q++ = DB_STR(e->error);
            *q++ = DB_STR(e->samples_json);
            *q++ = DB_STR(e->agent);
            *q++ = DB_INT(e->v);
        }
        uint64_t affected = 0;
        rc = db_execp(db, sql, p, c * RESULT_COLUMNS, &affected, NULL);
        if (rc == 0) {
            *inserted += affected;
            rc = check_warnings(db, c, affected, warn);
        }
        done += c;
    }
    free(p);
    free(ts);
    return rc;
}

int ingest_store_trace(struct db *db, const struct entry *e, uint64_t *inserted, struct ingest_store_warning *warn)
{
    static const char sql[] = "INSERT IGNORE INTO traceroutes (id, monitor_id, server_id, ts, ip, port, `trigger`, "
                              "reached, hops, agent) VALUES (?,?,?,?,?,?,?,?,?,?)";
    if (db_exec(db, "SET SESSION max_error_count = 1024") < 0) return -1;
    char ts[32];
    time_format_sql_us(e->ts_us, ts);
    struct db_param p[] = {
        DB_STRN(e->id, 26), DB_INT(e->monitor_id), DB_INT(e->server_id), DB_STR(ts), DB_STR(e->ip), DB_INT(e->port),
        DB_STR(msg_trace_trigger_str(e->trigger)), DB_INT(e->reached ? 1 : 0), DB_STR(e->hops_json), DB_STR(e->agent),
    };
    uint64_t affected = 0;
    if (db_execp(db, sql, p, sizeof p / sizeof p[0], &affected, NULL) < 0) return -1;
    *inserted += affected;
    return check_warnings(db, 1, affected, warn);
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
        e->id[0] ? DB_STR(e->id) : DB_NULL,
        e->monitor[0] ? DB_STR(e->monitor) : DB_NULL,
        e->id[0] ? DB_STR(e->id) : DB_NULL,
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
