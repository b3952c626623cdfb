/* dbq.h — ntpmon-web's database work off the event loop: a few worker threads, each with its own connection
 * (read-only use; may point at a replica), take jobs from a bounded queue, run them, and hand the outcome back to
 * the loop through an eventfd. A job that waited too long, or finds the database away, fails fast with a reason
 * instead of piling up. The last outcome is the database's health. */
#ifndef NTPMON_WEB_DBQ_H
#define NTPMON_WEB_DBQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "dbconf.h"
#include "evloop.h"

#define DBQ_ERR_LEN 256

struct dbq;
/* Runs on a worker thread with an open connection: 0, or -1 after writing the reason into err. */
typedef int (*dbq_work_fn)(struct db *db, void *arg, char err[DBQ_ERR_LEN]);
/* Runs on the loop afterwards: rc is the work's result, or -1 when it could not run (err says why). */
typedef void (*dbq_done_fn)(void *arg, int rc, const char *err);

struct dbq_config {
    int workers;           /* threads (each one connection) */
    size_t max_queue;      /* jobs waiting beyond this are refused */
    int64_t max_wait_us;   /* a job that waited longer fails without running */
    int64_t retry_us;      /* after a failed connect, jobs fail fast for this long */
};

/* Starts the workers (they connect on first use). NULL with a reason in err. */
struct dbq *dbq_start(struct evloop *loop, const struct db_dsn *dsn, const struct dbq_config *cfg, char *err,
                      size_t err_len);
/* Queues a job; -1 when the queue is full or stopping (done is then not called). */
int dbq_submit(struct dbq *q, dbq_work_fn work, dbq_done_fn done, void *arg);
/* True when the last job reached the database; otherwise why not. */
bool dbq_healthy(const struct dbq *q, char *reason, size_t len);
/* Stops the workers after their current job; queued jobs complete with -1 ("shutting down") on the loop before
 * this returns. */
void dbq_stop(struct dbq *q);
void dbq_free(struct dbq *q);

#endif
