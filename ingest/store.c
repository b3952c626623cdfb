/* store.c — builds the multi-row INSERT text once per chunk size and binds every column of `results`
 * (DESIGN.md §5: one row per ULID, every field of the message, samples as JSON text). */
#include "store.h"

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

int store_results(struct db *db, struct entry *const *rows, size_t n, uint64_t *inserted)
{
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
        if (rc == 0) *inserted += affected;
        done += c;
    }
    free(p);
    free(ts);
    return rc;
}

int store_rejected(struct db *db, const struct entry *e)
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

int store_last_submit(struct db *db, int64_t monitor_id, int64_t at_us)
{
    char ts[32];
    time_format_sql_us(at_us, ts);
    struct db_param p[] = {DB_STR(ts), DB_INT(monitor_id), DB_STR(ts)};
    return db_execp(db, "UPDATE monitors SET last_submit = ? WHERE id = ? AND (last_submit IS NULL OR last_submit < ?)",
                    p, 3, NULL, NULL);
}
