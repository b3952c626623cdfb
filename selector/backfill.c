/* backfill.c — loading the stored window of results into the pool (backfill.h). */
#include "backfill.h"

#include <stdlib.h>
#include <string.h>

#include "dbio.h"
#include "timeutil.h"
#include "xalloc.h"

int backfill_mode_parse(const char *s)
{
    if (s && strcmp(s, "lazy") == 0) return BACKFILL_LAZY;
    if (s && strcmp(s, "eager") == 0) return BACKFILL_EAGER;
    return -1;
}

const char *backfill_mode_str(enum backfill_mode m) { return m == BACKFILL_EAGER ? "eager" : "lazy"; }

void backfill_init(struct backfill *h, struct db *db, struct pool *pool, enum backfill_mode mode)
{
    memset(h, 0, sizeof *h);
    h->db = db;
    h->pool = pool;
    h->mode = mode;
    h->started_mono_us = time_mono_us();
}

static void account(struct backfill *h, const struct dbio_stats_report *r)
{
    h->rows += r->rows;
    h->added += r->added;
    h->duplicates += r->duplicates;
    h->skipped += r->skipped;
}

static void note_done(struct backfill *h)
{
    if (!h->done_mono_us && pool_history_pending(h->pool) == 0) h->done_mono_us = time_mono_us();
}

int backfill_load_all(struct backfill *h, int64_t now_us, int window_s)
{
    struct dbio_stats_report r;
    int rc = dbio_load_stats(h->db, h->pool, NULL, 0, now_us, window_s, &r);
    account(h, &r);
    if (rc < 0) return -1;
    for (size_t i = 0; i < h->pool->n_srv; i++) pool_history_mark(h->pool, (uint32_t)i);
    note_done(h);
    return 0;
}

/* Up to DBIO_STATS_GROUP servers' windows in one query; each is marked loaded only once the query went through (a
 * retry after a failure half-way adds the rest and finds the rest repeats). Returns servers loaded or -1. */
static int load_group(struct backfill *h, const int64_t *ids, size_t n, int64_t now_us, int window_s)
{
    int64_t todo[DBIO_STATS_GROUP];
    size_t k = 0;
    for (size_t i = 0; i < n && k < DBIO_STATS_GROUP; i++) {
        uint32_t s = pool_server_by_id(h->pool, ids[i]);
        if (s != IDMAP_NONE && !h->pool->srv[s].history) todo[k++] = ids[i];
    }
    if (!k) return 0;
    struct dbio_stats_report r;
    int rc = dbio_load_stats_group(h->db, h->pool, todo, k, now_us, window_s, &r);
    account(h, &r);
    h->queries++;
    if (rc < 0) return -1;
    for (size_t i = 0; i < k; i++) pool_history_mark(h->pool, pool_server_by_id(h->pool, todo[i]));
    h->servers += k;
    return (int)k;
}

int backfill_ensure(struct backfill *h, const int64_t *ids, size_t n, int64_t now_us, int window_s)
{
    for (size_t i = 0; i < n; i += DBIO_STATS_GROUP)
        if (load_group(h, ids + i, n - i < DBIO_STATS_GROUP ? n - i : DBIO_STATS_GROUP, now_us, window_s) < 0) return -1;
    note_done(h);
    return 0;
}

int backfill_step(struct backfill *h, size_t max, uint64_t turn_rows, int64_t now_us, int window_s)
{
    if (!max) return 0;
    /* a turn's work in rows, not servers: a busy server's day at 10x the pool is ~13 000 rows */
    uint64_t per_server = h->servers ? h->rows / h->servers + 1 : 0;
    size_t want = per_server ? (size_t)(turn_rows / per_server) : 1;
    if (want < 1) want = 1;
    if (want < max) max = want;
    int64_t *ids = xcalloc(max, sizeof *ids);
    size_t n = pool_history_next(h->pool, ids, max);
    int loaded = 0;
    for (size_t i = 0; i < n; i += DBIO_STATS_GROUP) {
        int r = load_group(h, ids + i, n - i < DBIO_STATS_GROUP ? n - i : DBIO_STATS_GROUP, now_us, window_s);
        if (r < 0) {
            loaded = -1;
            break;
        }
        loaded += r;
    }
    free(ids);
    note_done(h);
    return loaded;
}
