/* dbq.c — the database worker pool (see dbq.h). One mutex guards both queues; workers sleep on a condition
 * variable; finished jobs go to the done queue and an eventfd wakes the loop, which runs their done callbacks. */
#include "dbq.h"

#include <mysql.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "xalloc.h"

struct job {
    dbq_work_fn work;
    dbq_done_fn done;
    void *arg;
    int64_t queued_us;
    int rc;
    char err[DBQ_ERR_LEN];
    struct job *next;
};

struct dbq {
    struct evloop *loop;
    struct db_dsn dsn;
    struct dbq_config cfg;
    pthread_t *threads;
    int n_threads;
    int efd;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *todo_head, *todo_tail, *done_head, *done_tail;
    size_t n_todo;
    bool stopping;
    /* guarded by lock */
    bool healthy;
    char health_reason[DBQ_ERR_LEN];
    int64_t connect_failed_us; /* when the last connect failed (monotonic); 0: not failing */
    struct {
        struct metric *jobs, *failed, *queued;
    } m;
};

static void push(struct job **head, struct job **tail, struct job *j)
{
    j->next = NULL;
    if (*tail) (*tail)->next = j;
    else *head = j;
    *tail = j;
}

static struct job *pop(struct job **head, struct job **tail)
{
    struct job *j = *head;
    if (j) {
        *head = j->next;
        if (!*head) *tail = NULL;
    }
    return j;
}

static void finish(struct dbq *q, struct job *j)
{
    pthread_mutex_lock(&q->lock);
    push(&q->done_head, &q->done_tail, j);
    pthread_mutex_unlock(&q->lock);
    uint64_t one = 1;
    if (write(q->efd, &one, sizeof one) < 0) { /* the counter cannot overflow in practice */
    }
}

static void set_health(struct dbq *q, bool ok, const char *why)
{
    pthread_mutex_lock(&q->lock);
    q->healthy = ok;
    snprintf(q->health_reason, sizeof q->health_reason, "%.200s", ok ? "" : why);
    pthread_mutex_unlock(&q->lock);
}

static void *worker(void *arg)
{
    struct dbq *q = arg;
    mysql_thread_init();
    struct db *db = NULL;
    for (;;) {
        pthread_mutex_lock(&q->lock);
        while (!q->todo_head && !q->stopping) pthread_cond_wait(&q->wake, &q->lock);
        if (q->stopping) {
            pthread_mutex_unlock(&q->lock);
            break;
        }
        struct job *j = pop(&q->todo_head, &q->todo_tail);
        q->n_todo--;
        int64_t failed_at = q->connect_failed_us;
        pthread_mutex_unlock(&q->lock);
        int64_t now = time_mono_us();
        j->rc = -1;
        if (now - j->queued_us > q->cfg.max_wait_us) {
            snprintf(j->err, sizeof j->err, "database busy: the query waited %.1f s", (now - j->queued_us) / 1e6);
        } else if (!db && failed_at && now - failed_at < q->cfg.retry_us) {
            pthread_mutex_lock(&q->lock);
            snprintf(j->err, sizeof j->err, "database unavailable: %.200s", q->health_reason);
            pthread_mutex_unlock(&q->lock);
        } else {
            char err[DB_ERR_LEN];
            if (!db) {
                db = db_open(&q->dsn, false, err);
                if (!db) {
                    pthread_mutex_lock(&q->lock);
                    q->connect_failed_us = time_mono_us();
                    pthread_mutex_unlock(&q->lock);
                    set_health(q, false, err);
                    snprintf(j->err, sizeof j->err, "database unavailable: %.200s", err);
                }
            }
            if (db && db_ensure(db) < 0) {
                snprintf(j->err, sizeof j->err, "database unavailable: %.200s", db_error(db));
                set_health(q, false, db_error(db));
                pthread_mutex_lock(&q->lock);
                q->connect_failed_us = time_mono_us();
                pthread_mutex_unlock(&q->lock);
                db_close(db);
                db = NULL;
            } else if (db) {
                j->rc = j->work(db, j->arg, j->err);
                if (j->rc < 0 && db_errno(db) && db_errno_is_retryable(db_errno(db))) {
                    /* the connection broke under the query: drop it, the next job reconnects */
                    set_health(q, false, db_error(db));
                    db_close(db);
                    db = NULL;
                } else {
                    pthread_mutex_lock(&q->lock);
                    q->connect_failed_us = 0;
                    pthread_mutex_unlock(&q->lock);
                    set_health(q, true, NULL);
                }
            }
        }
        finish(q, j);
    }
    db_close(db);
    mysql_thread_end();
    return NULL;
}

/* Runs the done callbacks of finished jobs on the loop. */
static void drain_done(struct dbq *q)
{
    pthread_mutex_lock(&q->lock);
    struct job *list = q->done_head;
    q->done_head = q->done_tail = NULL;
    size_t waiting = q->n_todo;
    pthread_mutex_unlock(&q->lock);
    while (list) {
        struct job *j = list;
        list = j->next;
        metric_inc(q->m.jobs);
        if (j->rc < 0) metric_inc(q->m.failed);
        j->done(j->arg, j->rc, j->rc < 0 ? j->err : NULL);
        free(j);
    }
    metric_set(q->m.queued, (double)waiting);
}

static void on_eventfd(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0) { /* spurious wake-up */
    }
    drain_done(arg);
}

struct dbq *dbq_start(struct evloop *loop, const struct db_dsn *dsn, const struct dbq_config *cfg, char *err,
                      size_t err_len)
{
    /* The client library's global set-up is not thread-safe: do it before any worker exists. */
    if (mysql_library_init(0, NULL, NULL) != 0) {
        snprintf(err, err_len, "cannot initialise the MariaDB client library");
        return NULL;
    }
    struct dbq *q = xcalloc(1, sizeof *q);
    q->loop = loop;
    q->dsn = *dsn;
    q->cfg = *cfg;
    q->healthy = true;
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->wake, NULL);
    q->m.jobs = metrics_counter("ntpmon_web_db_queries_total", "database jobs run", NULL);
    q->m.failed = metrics_counter("ntpmon_web_db_errors_total", "database jobs that failed", NULL);
    q->m.queued = metrics_gauge("ntpmon_web_db_queue", "database jobs waiting", NULL);
    if (q->efd < 0 || evloop_fd_set(loop, q->efd, EVLOOP_READ, on_eventfd, q) < 0) {
        snprintf(err, err_len, "cannot create the database job queue");
        dbq_free(q);
        return NULL;
    }
    q->threads = xcalloc((size_t)cfg->workers, sizeof *q->threads);
    /* Workers must not take the daemon's signals (they are delivered to the loop's signalfd). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int i = 0; i < cfg->workers; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0) break;
        q->n_threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (q->n_threads == 0) {
        snprintf(err, err_len, "cannot start database worker threads");
        dbq_free(q);
        return NULL;
    }
    return q;
}

int dbq_submit(struct dbq *q, dbq_work_fn work, dbq_done_fn done, void *arg)
{
    pthread_mutex_lock(&q->lock);
    if (q->stopping || q->n_todo >= q->cfg.max_queue) {
        pthread_mutex_unlock(&q->lock);
        return -1;
    }
    struct job *j = xcalloc(1, sizeof *j);
    j->work = work;
    j->done = done;
    j->arg = arg;
    j->queued_us = time_mono_us();
    push(&q->todo_head, &q->todo_tail, j);
    size_t waiting = ++q->n_todo;
    pthread_cond_signal(&q->wake);
    pthread_mutex_unlock(&q->lock);
    metric_set(q->m.queued, (double)waiting);
    return 0;
}

bool dbq_healthy(const struct dbq *q, char *reason, size_t len)
{
    pthread_mutex_lock((pthread_mutex_t *)&q->lock);
    bool ok = q->healthy;
    if (reason && len) snprintf(reason, len, "%s", ok ? "" : q->health_reason);
    pthread_mutex_unlock((pthread_mutex_t *)&q->lock);
    return ok;
}

void dbq_stop(struct dbq *q)
{
    if (!q || q->n_threads == 0) return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < q->n_threads; i++) pthread_join(q->threads[i], NULL);
    q->n_threads = 0;
    /* what never ran is answered now, so every request waiting on it gets its response */
    struct job *j;
    while ((j = pop(&q->todo_head, &q->todo_tail))) {
        q->n_todo--;
        j->rc = -1;
        snprintf(j->err, sizeof j->err, "shutting down");
        push(&q->done_head, &q->done_tail, j);
    }
    drain_done(q);
}

void dbq_free(struct dbq *q)
{
    if (!q) return;
    dbq_stop(q);
    if (q->efd >= 0) {
        evloop_fd_remove(q->loop, q->efd);
        close(q->efd);
    }
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->wake);
    free(q->threads);
    free(q);
}
