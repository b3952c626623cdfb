/* spool.h — the agent's on-disk spool (DESIGN.md §2 delivery guarantee): every result stays here from the moment it
 * is made until a `stored` message names it (stored or rejected). It survives kill -9 and restarts, is bounded
 * (the oldest are dropped and counted), and tracks which entries are due for (re-)sending.
 *
 * On disk: one append-only text file, one record per line —
 *   R <ULID> <server_id> <result JSON>    a result
 *   T <ULID> <server_id> <trace JSON>     a trace (agent/tracing.h); files without T records load as before
 *   C <ULID>                             confirmed (stored or rejected): no longer to be sent
 *   D <ULID>                             dropped because the spool was full (counted in spool_dropped)
 *   H <dropped>                          header of a compacted file: the dropped counter so far
 * Each record is written with one write() before the result is published, so a killed process loses nothing it
 * published; with fsync on (the default) records are also fsync'd in groups before publishing (power loss).
 * Only the last line can be torn (a crash mid-write): replay drops it. Replay rewrites the file with the live
 * results only; while running, the file is compacted the same way once its dead records outweigh the live ones.
 * Memory holds an index (id, server, offset, length, send state), not the payloads. */
#ifndef NTPMON_AGENT_SPOOL_H
#define NTPMON_AGENT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ulid.h"

struct spool;

enum spool_kind { SPOOL_RESULT = 0, SPOOL_TRACE = 1 };

struct spool_entry {
    char id[ULID_LEN + 1];
    bool live;
    uint8_t kind; /* enum spool_kind: which topic it goes to */
    int64_t server_id;
    uint64_t offset; /* of the payload in the file */
    uint32_t len;    /* payload bytes */
    uint32_t rec_len;
    int64_t sent_us; /* monotonic time of the last send; 0 = due */
};

struct spool_stats {
    size_t live;
    int64_t dropped;       /* since the spool was created (persisted) */
    uint64_t file_bytes;
    uint64_t compactions;  /* in this process */
    uint64_t syncs;        /* fsyncs in this process */
    size_t replayed, torn, malformed; /* from the last open */
};

/* Opens (creating if needed) the spool file and replays it. max_entries ≥ 1. NULL with a reason on failure. */
struct spool *spool_open(const char *path, size_t max_entries, bool fsync_on, char *err, size_t err_len);
/* Syncs and closes. */
void spool_close(struct spool *sp);
/* Appends a result (payload: one line of JSON). Drops the oldest live entry first when full.
 * Returns 0, or -1 with errno when the record could not be written (the result is then not spooled). */
int spool_add(struct spool *sp, const char *id, int64_t server_id, const char *payload, size_t len);
/* The same for any kind of message (a trace is kept and confirmed exactly like a result). */
int spool_add_kind(struct spool *sp, enum spool_kind kind, const char *id, int64_t server_id, const char *payload,
                   size_t len);
/* Marks a result confirmed; true when it was live. May compact the file. */
bool spool_confirm(struct spool *sp, const char *id);
/* True when a live entry has this id. */
bool spool_contains(const struct spool *sp, const char *id);
/* Makes durable what was written (fdatasync when fsync is on and something changed). */
void spool_sync(struct spool *sp);
/* Counters for logs and benchmarks. */
void spool_get_stats(const struct spool *sp, struct spool_stats *st);
/* Results waiting for confirmation. */
size_t spool_live(const struct spool *sp);
/* Results dropped because the spool was full, ever (persisted). */
int64_t spool_dropped(const struct spool *sp);

/* ---- sending ---- */
/* The oldest live entry that is due (never sent, or made due again), or NULL. The pointer is valid until the next
 * call that changes the spool. */
const struct spool_entry *spool_next_due(struct spool *sp);
/* Records that an entry was just published. */
void spool_mark_sent(struct spool *sp, const struct spool_entry *e, int64_t now_us);
/* Makes every live entry due again (after a reconnect). */
void spool_mark_all_due(struct spool *sp);
/* Makes entries sent at least timeout_us ago due again; returns how many. */
size_t spool_expire(struct spool *sp, int64_t now_us, int64_t timeout_us);
/* Reads an entry's payload into a malloc'd NUL-terminated buffer; NULL on an I/O error. */
char *spool_payload(struct spool *sp, const struct spool_entry *e);

#endif
