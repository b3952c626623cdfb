/* dbrows.h — multi-row statements: one row text repeated for many rows ("INSERT … VALUES (?,?),(?,?)…", an IN
 * list, a derived table of UNION ALL SELECTs), cut into chunks, bound row by row through a callback and run as
 * prepared statements through common/db. Every multi-row statement of ingest and the scorer goes through here, so
 * how a long list becomes statements is decided in one place: power-of-two chunks (a handful of statement shapes,
 * each prepared once per connection) for queries and IN lists; DBROWS_BULK (writes only) prepares the single-row
 * statement once and sends up to max_rows rows through MariaDB's bulk execution in one round trip (common/db's
 * db_execp_bulk): no statement text that grows with the rows, no derived tables. */
#ifndef NTPMON_DBROWS_H
#define NTPMON_DBROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define DBROWS_SHAPES 13  /* power-of-two chunk sizes 1 … 4096 */
#define DBROWS_SCRATCH 48 /* bytes of per-row scratch a bind callback may point parameters at (SQL times: 32) */

enum dbrows_chunking {
    DBROWS_POW2,  /* chunks of a power of two rows, at most max_rows: few shapes, each prepared once */
    DBROWS_BULK,  /* writes: head + first + tail, one row's text, executed for up to max_rows rows at once (any
                     max_rows: the statement has `columns` parameters whatever the rows) */
};

/* One multi-row statement. Static definitions are fine: the texts are built on first use and kept for the
 * process (a struct dbrows is used by one thread at a time). */
struct dbrows {
    const char *head;  /* text before the first row */
    const char *first; /* the first row, e.g. "(?,?)" or "SELECT ? AS a, ? AS b" */
    const char *next;  /* each later row with its separator, e.g. ",(?,?)" or " UNION ALL SELECT ?, ?" (BULK: NULL) */
    const char *tail;  /* text after the last row; NULL for none */
    size_t columns;    /* parameters per row */
    size_t max_rows;   /* at most this many rows a statement (POW2: a power of two); columns × max_rows ≤ 4096 */
    enum dbrows_chunking chunking;
    bool pad;          /* POW2: a short chunk is filled up to its power of two by repeating its first row — for IN
                          lists and reads, where a repeated row changes nothing; never for writes */
    char *sql[DBROWS_SHAPES]; /* built texts, by log2 of the chunk size */
};

/* Binds row `row` of the caller's list into p[0 .. columns); scratch (DBROWS_SCRATCH bytes, the row's own) may
 * hold text the parameters point at until the statement has run. */
typedef void (*dbrows_bind_fn)(void *arg, size_t row, struct db_param *p, char *scratch);
/* Called after each chunk [first, first + n) ran, with the affected (or matched) row count of a write; return 0 to
 * go on, anything else to stop (dbrows_exec returns it). */
typedef int (*dbrows_chunk_fn)(void *arg, size_t first, size_t n, uint64_t affected);

/* Runs st for rows 0 .. n of the caller's list, chunk by chunk; done (optional) sees each chunk's result.
 * 0, done's non-zero value, or -1 on a database error (db_error tells why). */
int dbrows_exec(struct db *db, struct dbrows *st, size_t n, dbrows_bind_fn bind, dbrows_chunk_fn done, void *arg);
/* Runs st as a query for rows 0 .. n, chunk by chunk; the lead parameters come before each chunk's row parameters
 * (a "ts >= ?" in front of an IN list); cb gets every fetched row. 0, cb's non-zero value, or -1. */
int dbrows_query(struct db *db, struct dbrows *st, const struct db_param *lead, size_t n_lead, size_t n,
                 dbrows_bind_fn bind, void *arg, db_row_cb cb, void *cb_arg);

/* The rows of the chunk starting with `left` rows still to send, and the statement rows it takes (more than
 * the rows when padded). For tests and for callers that size buffers. */
size_t dbrows_chunk(const struct dbrows *st, size_t left, size_t *take);

#endif
