/* writer.h — the database side of ingest, on its own thread with its own connection so parsing the next batch
 * overlaps committing this one. It takes one batch at a time: checks each result's monitor and server (cached,
 * see lookup.h), writes results and refusals in one transaction, and hands the batch back with every entry's
 * outcome once committed. A failed write is retried with backoff for as long as it takes (the daemon stops
 * reading meanwhile); only a deadline (shutdown) or stop makes it hand a batch back uncommitted. While idle it
 * pings the database, so an outage shows before the next batch meets it. */
#ifndef NTPMON_INGEST_WRITER_H
#define NTPMON_INGEST_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "dbconf.h"
#include "intake.h"

struct writer_config {
    struct db_dsn dsn;
    int64_t backoff_min_us, backoff_max_us;   /* retry delays after a failed write */
    int64_t cache_refresh_us;                 /* full reload of monitors and servers */
    int64_t last_submit_interval_us;          /* monitors.last_submit moves at most this often; 0 = never */
    int64_t probe_interval_us;                /* while idle, the database is pinged this often; 0 = never */
};

struct writer_report {
    bool committed;
    uint64_t results;    /* results and traces confirmed as stored (new rows + replays) */
    uint64_t inserted;   /* new rows */
    uint64_t rejected;   /* refusals recorded */
    uint64_t lag_n;      /* results with a lag sample */
    int64_t lag_sum_us, lag_max_us; /* commit time minus the result's ts */
    unsigned failed_attempts;
};

struct writer;

/* Starts the thread. db may be NULL (not reachable yet): the writer connects when it has work. */
struct writer *writer_start(const struct writer_config *cfg, struct db *db);
/* Readable (an eventfd) when a batch is done: call writer_collect. */
int writer_fd(const struct writer *w);
/* True when the writer can take a batch. */
bool writer_idle(const struct writer *w);
/* Hands a batch over; only when idle. */
void writer_submit(struct writer *w, struct batch *b);
/* Takes a finished batch back (drains the eventfd); NULL when none is finished. */
struct batch *writer_collect(struct writer *w, struct writer_report *rep);
/* From mono_us on, a failing batch is handed back uncommitted instead of retried (0 clears). */
void writer_give_up_at(struct writer *w, int64_t mono_us);
/* True while writes (or the idle pings) have been failing (for the summary line). */
bool writer_failing(const struct writer *w);
/* The same, with the database's reason in why (for /healthz). */
bool writer_health(const struct writer *w, char *why, size_t len);
/* Stops the thread (an attempt in progress ends first) and frees the writer; an unfinished batch is freed. */
void writer_free(struct writer *w);

#endif
