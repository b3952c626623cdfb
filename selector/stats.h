/* stats.h — one monitor/server pair's results over a sliding window (DESIGN.md §7: the last 24 h by result
 * time): count, average step and average rtt (no-response results count as rtt 0), each result counted once.
 *
 * Memory is what limits a pool of a million pairs, so each result is one 8-byte entry: its time in 2 s units
 * from the pair's base time, a 16-bit fingerprint of its ULID (a repeat has the same time and fingerprint), its
 * step in 1/3000 and its rtt in 0.1 ms (clamped at 6553.5 ms). Entries are kept sorted by time; the summary
 * is computed on demand, so nothing drifts. */
#ifndef NTPMON_SELECTOR_STATS_H
#define NTPMON_SELECTOR_STATS_H

#include <stdbool.h>
#include <stdint.h>

#define STATS_STEP_SCALE 3000.0
#define STATS_RTT_SCALE 10.0       /* units per ms */
#define STATS_FUTURE_SLACK_S 600   /* results stamped further ahead than this are refused */
#define STATS_MAX_ENTRIES 65535

struct stats_entry {
    uint16_t t2;  /* (time − base) / 2 s */
    uint16_t fp;  /* ULID fingerprint */
    int16_t step; /* step · 3000 */
    uint16_t rtt; /* ms · 10 */
};

struct stats_pair {
    uint32_t base; /* Unix seconds (even) of t2 = 0 */
    uint16_t n, cap;
    struct stats_entry *e;
};

struct stats_summary {
    uint32_t count;
    double avg_step;   /* 0 when count is 0 */
    double avg_rtt_ms; /* 0 when count is 0 */
};

enum stats_add_result { STATS_ADDED = 0, STATS_DUPLICATE, STATS_TOO_OLD, STATS_FUTURE, STATS_FULL, STATS_INVALID };

/* The 16-bit fingerprint of a result id (any string; NULL or "" gives 0). */
uint16_t stats_fingerprint(const char *ulid);
/* Adds one result (ts in µs, step as computed by common/step, rtt in ms — 0 for no response). Results older than
 * the window or too far in the future are refused; a repeat (same 2 s slot and fingerprint) is not counted twice. */
enum stats_add_result stats_add(struct stats_pair *p, int64_t ts_us, uint16_t fp, double step, double rtt_ms,
                                int64_t now_us, int64_t window_s);
/* The summary of the results inside the window ending at now. */
void stats_summarize(const struct stats_pair *p, int64_t now_us, int64_t window_s, struct stats_summary *out);
/* Drops entries older than the window and gives memory back; returns how many were dropped. */
uint32_t stats_expire(struct stats_pair *p, int64_t now_us, int64_t window_s);
/* Bytes of heap the pair holds (for benchmarks and metrics). */
uint64_t stats_bytes(const struct stats_pair *p);
void stats_free(struct stats_pair *p);

#endif
