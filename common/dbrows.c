/* dbrows.c — multi-row statements in chunks (see dbrows.h): the chunk plan, the statement text per chunk size,
 * binding row by row into one parameter array, and running each chunk through common/db. */
#include "dbrows.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define MAX_PARAMS 4096 /* common/db's limit per statement */

size_t dbrows_chunk(const struct dbrows *st, size_t left, size_t *take)
{
    size_t max = st->max_rows ? st->max_rows : 1, c;
    if (st->chunking == DBROWS_BULK) {
        c = left < max ? left : max;
    } else if (st->pad) { /* the smallest power of two ≥ left, at most max */
        c = 1;
        while (c < left && c < max) c *= 2;
    } else { /* the largest power of two ≤ left, at most max */
        c = 1;
        while (c * 2 <= left && c * 2 <= max) c *= 2;
    }
    *take = left < c ? left : c;
    return c;
}

static int shape_of(size_t rows)
{
    int k = 0;
    while (((size_t)1 << k) < rows) k++;
    return k;
}

/* The statement text for `rows` rows: cached per power of two, built fresh (caller frees) otherwise. */
static const char *sql_for(struct dbrows *st, size_t rows, char **fresh)
{
    int k = shape_of(rows);
    bool cacheable = ((size_t)1 << k) == rows && k < DBROWS_SHAPES;
    *fresh = NULL;
    if (cacheable && st->sql[k]) return st->sql[k];
    size_t head = strlen(st->head), first = strlen(st->first), next = st->next ? strlen(st->next) : 0; /* BULK: none */
    size_t tail = st->tail ? strlen(st->tail) : 0;
    char *s = xmalloc(head + first + (rows - 1) * next + tail + 1), *p = s;
    memcpy(p, st->head, head), p += head;
    memcpy(p, st->first, first), p += first;
    for (size_t i = 1; i < rows; i++) memcpy(p, st->next, next), p += next;
    if (tail) memcpy(p, st->tail, tail), p += tail;
    *p = '\0';
    if (cacheable) st->sql[k] = s;
    else *fresh = s;
    return s;
}

/* A bulk write: the one-row statement for each chunk of up to max_rows rows, one round trip each. */
static int run_bulk(struct db *db, struct dbrows *st, size_t n, dbrows_bind_fn bind, void *arg, dbrows_chunk_fn done)
{
    size_t max = st->max_rows ? st->max_rows : 1;
    if (max > n) max = n;
    char *fresh;
    const char *sql = sql_for(st, 1, &fresh); /* one row: always the cached shape 0 */
    struct db_param *p = xmalloc((max ? max : 1) * st->columns * sizeof *p);
    char *scratch = xmalloc((max ? max : 1) * DBROWS_SCRATCH);
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0;) {
        size_t take;
        dbrows_chunk(st, n - at, &take); /* BULK: never padded, at most max_rows */
        for (size_t i = 0; i < take; i++) bind(arg, at + i, p + i * st->columns, scratch + i * DBROWS_SCRATCH);
        uint64_t affected = 0;
        rc = db_execp_bulk(db, sql, p, st->columns, take, &affected);
        if (rc == 0 && done) rc = done(arg, at, take, affected);
        at += take;
    }
    free(p);
    free(scratch);
    return rc;
}

/* Runs every chunk; for each one, either a write (done) or a query (cb). */
static int run(struct db *db, struct dbrows *st, const struct db_param *lead, size_t n_lead, size_t n,
               dbrows_bind_fn bind, void *arg, dbrows_chunk_fn done, db_row_cb cb, void *cb_arg)
{
    size_t max = st->max_rows ? st->max_rows : 1;
    if (n_lead + max * st->columns > MAX_PARAMS) max = (MAX_PARAMS - n_lead) / st->columns;
    struct db_param *p = xmalloc((n_lead + max * st->columns) * sizeof *p);
    char *scratch = xmalloc(max * DBROWS_SCRATCH);
    if (n_lead) memcpy(p, lead, n_lead * sizeof *p);
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0;) {
        size_t take, c = dbrows_chunk(st, n - at, &take);
        if (c > max) {
            c = max;
            if (take > max) take = max;
        }
        for (size_t i = 0; i < c; i++)
            bind(arg, at + (i < take ? i : 0), p + n_lead + i * st->columns, scratch + i * DBROWS_SCRATCH);
        char *fresh;
        const char *sql = sql_for(st, c, &fresh);
        size_t n_params = n_lead + c * st->columns;
        if (cb) {
            rc = db_query(db, sql, p, n_params, cb, cb_arg);
        } else {
            uint64_t affected = 0;
            rc = db_execp(db, sql, p, n_params, &affected, NULL);
            if (rc == 0 && done) rc = done(arg, at, take, affected);
        }
        free(fresh);
        at += take;
    }
    free(p);
    free(scratch);
    return rc;
}

int dbrows_exec(struct db *db, struct dbrows *st, size_t n, dbrows_bind_fn bind, dbrows_chunk_fn done, void *arg)
{
    if (st->chunking == DBROWS_BULK) return run_bulk(db, st, n, bind, arg, done);
    return run(db, st, NULL, 0, n, bind, arg, done, NULL, NULL);
}

int dbrows_query(struct db *db, struct dbrows *st, const struct db_param *lead, size_t n_lead, size_t n,
                 dbrows_bind_fn bind, void *arg, db_row_cb cb, void *cb_arg)
{
    return run(db, st, lead, n_lead, n, bind, arg, NULL, cb, cb_arg);
}
