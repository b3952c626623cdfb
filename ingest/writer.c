/* writer.c — the writer thread: one batch in, checked against the database, written in one transaction (results
 * sorted by id, so two ingest workers take row locks in the same order), handed back with outcomes. Failures are
 * retried with jittered exponential backoff on a condition variable, so shutdown can interrupt the wait. A batch
 * the database refuses for a row-specific reason (a trigger, a constraint) is written row by row and the rows it
 * refuses become refusals: one bad row never stops the pipeline; anything else is treated as an outage and held. */
#include "writer.h"

#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "lookup.h"
#include "store.h"
#include "timeutil.h"
#include "xalloc.h"

enum wstate { W_IDLE, W_WORKING, W_DONE };

struct writer {
    struct writer_config cfg;
    struct db *db;
    struct lookup *lookup;
    int64_t loaded_at_us; /* monotonic; 0 = never */
    int64_t *last_submit_at; /* by monitor id */
    size_t last_submit_cap;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    enum wstate state;
    bool stop;
    int64_t give_up_at_us;
    struct batch *batch;
    struct writer_report report;
    int efd;
    atomic_bool failing;
    char last_error[DB_ERR_LEN]; /* why the last attempt failed (writer thread only) */
    char failing_why[DB_ERR_LEN]; /* last_error while failing, for writer_health (under mu) */
};

/* ---- the transaction ---- */

struct tx_ctx {
    struct batch *b;
    struct entry **rows; /* RESULT entries, sorted by id */
    size_t n_rows;
    uint64_t inserted, rejected;
    struct ingest_store_warning warn; /* set when the batch left a warning other than duplicates */
};

static int cmp_id(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
    return strcmp(x->rec.id, y->rec.id);
}

/* Errors that belong to one row's data, not to the database's health. */
static bool is_row_error(unsigned e)
{
    return e == ER_BAD_NULL_ERROR || e == ER_WARN_DATA_OUT_OF_RANGE || e == ER_TRUNCATED_WRONG_VALUE ||
           e == ER_TRUNCATED_WRONG_VALUE_FOR_FIELD || e == ER_DATA_TOO_LONG || e == ER_NO_REFERENCED_ROW_2 ||
           e == ER_SIGNAL_EXCEPTION || e == ER_CONSTRAINT_FAILED;
}

static int write_rejected(struct db *db, struct tx_ctx *c)
{
    for (size_t i = 0; i < c->b->n; i++) {
        struct entry *e = &c->b->entries[i];
        if (e->kind != ENTRY_REJECT) continue;
        if (ingest_store_rejected(db, e) < 0) return -1;
        c->rejected++;
    }
    return 0;
}

/* A batch's traces in multi-row statements, as its results. */
static int write_traces(struct db *db, struct tx_ctx *c)
{
    struct entry **v = xmalloc((c->b->n ? c->b->n : 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < c->b->n; i++)
        if (c->b->entries[i].kind == ENTRY_TRACE) v[n++] = &c->b->entries[i];
    int rc = n ? ingest_store_traces(db, v, n, &c->inserted, &c->warn) : 0;
    free(v);
    return rc;
}

static int tx_all(struct db *db, void *arg)
{
    struct tx_ctx *c = arg;
    c->inserted = c->rejected = 0;
    if (c->n_rows) {
        int rc = ingest_store_results(db, c->rows, c->n_rows, &c->inserted, &c->warn);
        if (rc != 0) return rc; /* 1: a row was skipped or altered; db_tx rolls back and hands it to us */
    }
    int rc = write_traces(db, c);
    if (rc != 0) return rc;
    return write_rejected(db, c);
}

/* One trace in the row-by-row pass: stored, or turned into a refusal when the database refuses that row. */
static int trace_one(struct db *db, struct tx_ctx *c, struct entry *e)
{
    uint64_t before = c->inserted;
    struct ingest_store_warning w;
    int rc = ingest_store_traces(db, &e, 1, &c->inserted, &w);
    if (rc == 0) return 0;
    if (rc > 0 && c->inserted > before) {
        LOG(WARN, "trace %s from %s was stored with a warning: %s", e->rec.id, e->rec.monitor, w.message);
        return 0;
    }
    if (rc < 0 && !is_row_error(db_errno(db))) return -1;
    const char *why = rc > 0 ? w.message : db_error(db);
    LOG(WARN, "the database refused trace %s from %s: %s; recording it in results_rejected", e->rec.id, e->rec.monitor, why);
    entry_reject(e, "database refused the trace: %s", why);
    return 0;
}

static int tx_one_by_one(struct db *db, void *arg)
{
    struct tx_ctx *c = arg;
    c->inserted = c->rejected = 0;
    for (size_t i = 0; i < c->n_rows; i++) {
        struct entry *e = c->rows[i];
        if (e->kind != ENTRY_RESULT) continue;
        uint64_t before = c->inserted;
        struct ingest_store_warning w;
        int rc = ingest_store_results(db, &e, 1, &c->inserted, &w);
        if (rc == 0) continue;
        if (rc > 0 && c->inserted > before) { /* stored, but not exactly as sent */
            LOG(WARN, "result %s from %s was stored with a warning: %s", e->rec.id, e->rec.monitor, w.message);
            continue;
        }
        if (rc < 0 && !is_row_error(db_errno(db))) return -1;
        const char *why = rc > 0 ? w.message : db_error(db);
        LOG(WARN, "the database refused result %s from %s: %s; recording it in results_rejected", e->rec.id,
            e->rec.monitor, why);
        entry_reject(e, "database refused the result: %s", why);
    }
    for (size_t i = 0; i < c->b->n; i++)
        if (c->b->entries[i].kind == ENTRY_TRACE && trace_one(db, c, &c->b->entries[i]) < 0) return -1;
    return write_rejected(db, c);
}

/* ---- one attempt ---- */

static void note_last_submit(struct writer *w, struct batch *b, int64_t now_us)
{
    if (w->cfg.last_submit_interval_us <= 0) return;
    int64_t mono = time_mono_us();
    for (size_t i = 0; i < b->n; i++) {
        const struct entry *e = &b->entries[i];
        if (e->kind != ENTRY_RESULT || e->monitor_id <= 0 || e->monitor_id >= (1 << 20)) continue;
        size_t id = (size_t)e->monitor_id;
        if (id >= w->last_submit_cap) {
            size_t cap = w->last_submit_cap ? w->last_submit_cap : 64;
            while (cap <= id) cap *= 2;
            w->last_submit_at = xrealloc(w->last_submit_at, cap * sizeof *w->last_submit_at);
            memset(w->last_submit_at + w->last_submit_cap, 0, (cap - w->last_submit_cap) * sizeof *w->last_submit_at);
            w->last_submit_cap = cap;
        }
        if (w->last_submit_at[id] && mono - w->last_submit_at[id] < w->cfg.last_submit_interval_us) continue;
        w->last_submit_at[id] = mono;
        if (ingest_store_last_submit(w->db, e->monitor_id, now_us) < 0)
            LOG(DEBUG, "cannot update last_submit of monitor %lld: %s", (long long)e->monitor_id, db_error(w->db));
    }
}

/* Checks every result's monitor and server; refusals become REJECT entries. 0, or -1 on a database error. */
static int check_references(struct writer *w, struct batch *b)
{
    int64_t now = time_mono_us();
    if (!w->loaded_at_us || now - w->loaded_at_us >= w->cfg.cache_refresh_us) {
        if (lookup_reload(w->lookup, w->db) < 0) return -1;
        w->loaded_at_us = now;
    }
    lookup_begin_batch(w->lookup);
    for (size_t i = 0; i < b->n; i++) {
        struct entry *e = &b->entries[i];
        if (e->kind != ENTRY_RESULT && e->kind != ENTRY_TRACE) continue;
        enum lookup_answer ans;
        if (lookup_monitor(w->lookup, w->db, e->rec.monitor, &ans, &e->monitor_id) < 0) return -1;
        if (ans == LOOKUP_UNKNOWN) {
            entry_reject(e, "unknown monitor '%s'", e->rec.monitor);
            continue;
        }
        if (ans == LOOKUP_DELETED) {
            entry_reject(e, "monitor '%s' is deleted", e->rec.monitor);
            continue;
        }
        if (lookup_server(w->lookup, w->db, e->rec.server_id, &ans) < 0) return -1;
        if (ans != LOOKUP_OK) entry_reject(e, "unknown server %lld", (long long)e->rec.server_id);
    }
    return 0;
}

static int attempt(struct writer *w, struct batch *b, struct writer_report *rep)
{
    if (!w->db) {
        char err[DB_ERR_LEN];
        w->db = db_open(&w->cfg.dsn, false, err);
        if (!w->db) {
            snprintf(w->last_error, sizeof w->last_error, "%s", err);
            return -1;
        }
        LOG(INFO, "database connection established");
    }
    /* No ping before the batch: a connection that died since its last use fails at its first statement, which
     * drops it (common/db), and the next try reconnects — here once at once, then db_tx's own retries. */
    int ok = db_connect(w->db) == 0 && check_references(w, b) == 0;
    if (!ok && db_errno_is_retryable(db_errno(w->db))) ok = db_connect(w->db) == 0 && check_references(w, b) == 0;
    if (!ok) {
        snprintf(w->last_error, sizeof w->last_error, "%s", db_error(w->db));
        return -1;
    }
    struct tx_ctx c = {.b = b, .rows = xcalloc(b->n ? b->n : 1, sizeof *c.rows)};
    for (size_t i = 0; i < b->n; i++)
        if (b->entries[i].kind == ENTRY_RESULT) c.rows[c.n_rows++] = &b->entries[i];
    qsort(c.rows, c.n_rows, sizeof *c.rows, cmp_id);
    int rc = db_tx(w->db, tx_all, &c, 3);
    if (rc > 0 || (rc < 0 && is_row_error(db_errno(w->db)))) {
        LOG(WARN, "the database refused a batch of %zu (%s); writing it row by row", b->n,
            rc > 0 ? c.warn.message : db_error(w->db));
        rc = db_tx(w->db, tx_one_by_one, &c, 3);
    }
    free(c.rows);
    if (rc != 0) {
        snprintf(w->last_error, sizeof w->last_error, "%s", db_error(w->db));
        return -1;
    }
    int64_t now_us = time_now_us();
    for (size_t i = 0; i < b->n; i++) {
        struct entry *e = &b->entries[i];
        if (e->kind == ENTRY_RESULT) {
            e->outcome = OUTCOME_STORED;
            rep->results++;
            int64_t lag = now_us - e->rec.ts_us;
            if (lag < 0) lag = 0;
            rep->lag_n++;
            rep->lag_sum_us += lag;
            if (lag > rep->lag_max_us) rep->lag_max_us = lag;
        } else if (e->kind == ENTRY_TRACE) {
            e->outcome = OUTCOME_STORED;
            rep->results++;
        } else {
            e->outcome = OUTCOME_REJECTED;
        }
    }
    rep->inserted = c.inserted;
    rep->rejected = c.rejected;
    rep->committed = true;
    note_last_submit(w, b, now_us);
    return 0;
}

/* ---- the thread ---- */

static void wait_backoff(struct writer *w, int64_t delay_us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + (delay_us % 1000000) * 1000;
    ts.tv_sec += (time_t)(delay_us / 1000000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&w->mu);
    int64_t give_up = w->give_up_at_us;
    while (!w->stop && !(give_up && time_mono_us() >= give_up)) {
        if (pthread_cond_timedwait(&w->cond, &w->mu, &ts) == ETIMEDOUT) break;
        give_up = w->give_up_at_us;
    }
    pthread_mutex_unlock(&w->mu);
}

static bool should_give_up(struct writer *w)
{
    pthread_mutex_lock(&w->mu);
    bool out = w->stop || (w->give_up_at_us && time_mono_us() >= w->give_up_at_us);
    pthread_mutex_unlock(&w->mu);
    return out;
}

/* Records whether the database works (from a batch or a probe), for writer_failing and writer_health. */
static void set_failing(struct writer *w, bool failing)
{
    pthread_mutex_lock(&w->mu);
    snprintf(w->failing_why, sizeof w->failing_why, "%s", failing ? w->last_error : "");
    pthread_mutex_unlock(&w->mu);
    atomic_store(&w->failing, failing);
}

/* While idle the writer pings the database every probe interval, so /healthz knows of an outage before the next
 * batch meets it. */
static void probe(struct writer *w)
{
    if (!w->db) {
        char err[DB_ERR_LEN];
        w->db = db_open(&w->cfg.dsn, false, err);
        if (!w->db) {
            snprintf(w->last_error, sizeof w->last_error, "%s", err);
            set_failing(w, true);
            return;
        }
        LOG(INFO, "database connection established");
    }
    if (db_ensure(w->db) < 0) {
        snprintf(w->last_error, sizeof w->last_error, "%s", db_error(w->db));
        set_failing(w, true);
        return;
    }
    if (atomic_load(&w->failing)) set_failing(w, false);
}

static void process(struct writer *w, struct batch *b, struct writer_report *rep)
{
    memset(rep, 0, sizeof *rep);
    int64_t backoff = w->cfg.backoff_min_us, first_failure = 0;
    for (;;) {
        if (attempt(w, b, rep) == 0) break;
        rep->failed_attempts++;
        if (!first_failure) first_failure = time_mono_us();
        set_failing(w, true);
        if (should_give_up(w)) {
            LOG(WARN, "giving up on %zu held messages (not confirmed: their agents will send them again)", b->n);
            memset(rep, 0, sizeof *rep);
            return;
        }
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) < 0) r = 0;
        int64_t delay = backoff / 2 + (int64_t)(r % (uint64_t)(backoff / 2 + 1));
        LOG(WARN, "database write failed (%s); holding the batch of %zu, next attempt in %.1f s", w->last_error,
            b->n, delay / 1e6);
        wait_backoff(w, delay);
        backoff = backoff * 2 > w->cfg.backoff_max_us ? w->cfg.backoff_max_us : backoff * 2;
    }
    if (first_failure)
        LOG_ALWAYS(INFO, "database writes recovered after %u failed attempts (%.1f s)", rep->failed_attempts,
                   (time_mono_us() - first_failure) / 1e6);
    if (atomic_load(&w->failing)) set_failing(w, false);
}

static void *thread_main(void *arg)
{
    struct writer *w = arg;
    mysql_thread_init();
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->state != W_WORKING) {
            if (w->cfg.probe_interval_us <= 0) {
                pthread_cond_wait(&w->cond, &w->mu);
                continue;
            }
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t ns = (int64_t)ts.tv_nsec + (w->cfg.probe_interval_us % 1000000) * 1000;
            ts.tv_sec += (time_t)(w->cfg.probe_interval_us / 1000000 + ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            if (pthread_cond_timedwait(&w->cond, &w->mu, &ts) == ETIMEDOUT && !w->stop && w->state != W_WORKING) {
                pthread_mutex_unlock(&w->mu);
                probe(w);
                pthread_mutex_lock(&w->mu);
            }
        }
        if (w->stop) break;
        struct batch *b = w->batch;
        pthread_mutex_unlock(&w->mu);
        struct writer_report rep;
        process(w, b, &rep);
        pthread_mutex_lock(&w->mu);
        w->report = rep;
        w->state = W_DONE;
        uint64_t one = 1;
        if (write(w->efd, &one, sizeof one) < 0) LOG(ERROR, "writer: cannot signal the main loop: %s", strerror(errno));
    }
    pthread_mutex_unlock(&w->mu);
    mysql_thread_end();
    return NULL;
}

struct writer *writer_start(const struct writer_config *cfg, struct db *db)
{
    struct writer *w = xcalloc(1, sizeof *w);
    w->cfg = *cfg;
    if (w->cfg.backoff_min_us <= 0) w->cfg.backoff_min_us = 200000;
    if (w->cfg.backoff_max_us < w->cfg.backoff_min_us) w->cfg.backoff_max_us = w->cfg.backoff_min_us;
    w->db = db;
    w->lookup = lookup_new();
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    /* Signals belong to the main loop (signalfd): the thread starts with all of them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = w->efd < 0 ? -1 : pthread_create(&w->thread, NULL, thread_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        LOG(ERROR, "cannot start the database writer: %s", strerror(errno));
        exit(1);
    }
    return w;
}

int writer_fd(const struct writer *w) { return w->efd; }

bool writer_idle(const struct writer *w)
{
    struct writer *m = (struct writer *)w;
    pthread_mutex_lock(&m->mu);
    bool idle = m->state == W_IDLE;
    pthread_mutex_unlock(&m->mu);
    return idle;
}

void writer_submit(struct writer *w, struct batch *b)
{
    pthread_mutex_lock(&w->mu);
    w->batch = b;
    w->state = W_WORKING;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

struct batch *writer_collect(struct writer *w, struct writer_report *rep)
{
    uint64_t v;
    while (read(w->efd, &v, sizeof v) > 0) {
    }
    pthread_mutex_lock(&w->mu);
    struct batch *b = NULL;
    if (w->state == W_DONE) {
        b = w->batch;
        *rep = w->report;
        w->batch = NULL;
        w->state = W_IDLE;
    }
    pthread_mutex_unlock(&w->mu);
    return b;
}

void writer_give_up_at(struct writer *w, int64_t mono_us)
{
    pthread_mutex_lock(&w->mu);
    w->give_up_at_us = mono_us;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

bool writer_failing(const struct writer *w) { return atomic_load(&((struct writer *)w)->failing); }

bool writer_health(const struct writer *w, char *why, size_t len)
{
    struct writer *m = (struct writer *)w;
    if (!atomic_load(&m->failing)) return false;
    pthread_mutex_lock(&m->mu);
    snprintf(why, len, "%s", m->failing_why);
    pthread_mutex_unlock(&m->mu);
    return true;
}

void writer_free(struct writer *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    batch_free(w->batch);
    db_close(w->db);
    lookup_free(w->lookup);
    free(w->last_submit_at);
    close(w->efd);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w);
}
