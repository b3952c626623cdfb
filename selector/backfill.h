/* backfill.h — the pairs' statistics from the rows already stored in log_scores (the window before the selector
 * started; the stream adds everything after). Two ways, one result:
 *   lazy (the default): nothing at start, so start-up costs O(pairs) and the broker session opens at once; a
 *     server's window is read with the indexed per-server query (log_scores_server_ts) before it is first
 *     reviewed, and in the background a few servers per event-loop turn until every server is loaded;
 *   eager: every row of the window before the daemon connects (15-minute slices of ts, as before issue 18).
 * The statistics store keeps one entry per result and refuses a repeat (same 2 s slot and ULID fingerprint), so a
 * result that arrived over MQTT before its server was loaded counts once: the summaries equal the eager ones. */
#ifndef NTPMON_SELECTOR_BACKFILL_H
#define NTPMON_SELECTOR_BACKFILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "pool.h"

enum backfill_mode { BACKFILL_LAZY = 0, BACKFILL_EAGER };

struct backfill {
    struct db *db;
    struct pool *pool;
    enum backfill_mode mode;
    uint64_t rows, added, duplicates, skipped; /* log_scores rows read, and what the statistics made of them */
    uint64_t queries;                          /* loads (up to DBIO_STATS_GROUP servers each) */
    uint64_t servers;                          /* servers loaded by this struct's queries */
    int64_t started_mono_us, done_mono_us;     /* done: 0 until no server was left without history */
};

/* "lazy" / "eager"; -1 for anything else. */
int backfill_mode_parse(const char *s);
const char *backfill_mode_str(enum backfill_mode m);

void backfill_init(struct backfill *h, struct db *db, struct pool *pool, enum backfill_mode mode);
/* Eager mode: every row of the window, every server marked loaded. 0 or -1 (database error). */
int backfill_load_all(struct backfill *h, int64_t now_us, int window_s);
/* Loads the servers among ids whose history is not loaded yet (before their review). 0 or -1. */
int backfill_ensure(struct backfill *h, const int64_t *ids, size_t n, int64_t now_us, int window_s);
/* One background step: servers without history, as many as are expected to bring about turn_rows rows (by the
 * rows per server seen so far; one server to begin with), at least 1 and at most max. Returns how many were loaded
 * (0: none was pending), or -1 on a database error. */
int backfill_step(struct backfill *h, size_t max, uint64_t turn_rows, int64_t now_us, int window_s);

#endif
