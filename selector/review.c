/* review.c — one server's review as a transaction (review.h). */
#include "review.h"

#include <string.h>

#include "log.h"

struct tx_ctx {
    struct pool *pool;
    const struct sel_settings *cfg;
    int64_t server_id, now_us;
    bool apply;
    struct review_outcome *out;
    bool no_server;
};

static void fill_stats(struct pool *pool, const struct sel_settings *cfg, int64_t now_us, struct dbio_review_rows *rows)
{
    uint32_t s = pool_server_by_id(pool, rows->server.id);
    for (size_t i = 0; i < rows->n; i++) {
        struct sel_pair *p = &rows->pairs[i];
        uint32_t m = pool_monitor_by_id(pool, p->monitor_id);
        uint32_t k = s == IDMAP_NONE || m == IDMAP_NONE ? IDMAP_NONE : pool_pair_find(pool, s, m, false);
        struct stats_summary sum = {0, 0, 0};
        if (k != IDMAP_NONE) stats_summarize(&pool->pairs[k].stats, now_us, cfg->stats_window_s, &sum);
        p->count = sum.count;
        p->avg_step = sum.avg_step;
        p->avg_rtt_ms = sum.avg_rtt_ms;
    }
}

/* The transaction body; safe to run again after a deadlock (it starts from scratch). */
static int review_tx(struct db *db, void *arg)
{
    struct tx_ctx *c = arg;
    review_outcome_free(c->out);
    c->no_server = false;
    if (dbio_read_review(db, c->server_id, c->apply, &c->out->rows) < 0) return -1;
    if (!c->out->rows.exists || c->out->rows.deleted) {
        c->no_server = true;
        return 0;
    }
    fill_stats(c->pool, c->cfg, c->now_us, &c->out->rows);
    sel_review(c->cfg, &c->out->rows.server, c->out->rows.pairs, c->out->rows.n, c->now_us, &c->out->res);
    if (!c->apply) return 0;
    if (dbio_write_review(db, &c->out->rows, &c->out->written) < 0) return -1;
    int delay = c->out->res.changed ? c->cfg->review_after_change_s : c->cfg->review_after_nochange_s;
    return dbio_schedule_review(db, c->server_id, c->now_us, delay, c->out->res.changed);
}

enum review_status review_server(struct db *db, struct pool *pool, const struct sel_settings *cfg, int64_t server_id,
                                 int64_t now_us, bool apply, struct review_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct tx_ctx c = {pool, cfg, server_id, now_us - now_us % 1000000, apply, out, false};
    int rc = apply ? db_tx(db, review_tx, &c, 3) : review_tx(db, &c);
    if (rc != 0) {
        review_outcome_free(out);
        return REVIEW_DB_ERROR;
    }
    if (c.no_server) return REVIEW_NO_SERVER;
    if (apply)
        for (size_t i = 0; i < out->rows.n; i++)
            if (out->rows.pairs[i].new_status != out->rows.pairs[i].status)
                pool_set_status(pool, server_id, out->rows.pairs[i].monitor_id, out->rows.pairs[i].new_status);
    return REVIEW_OK;
}

void review_outcome_free(struct review_outcome *o)
{
    dbio_review_rows_free(&o->rows);
    sel_result_free(&o->res);
    o->written = 0;
}
