/* stats.c — the compact sliding-window store behind each pair's statistics (see stats.h for the layout).
 * Entries stay sorted by time: new results append, late ones are inserted (rare: an agent's spool replay), the
 * oldest leave from the front. The base time moves only when a new time does not fit the 16-bit offset. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

uint16_t stats_fingerprint(const char *ulid)
{
    if (!ulid) return 0;
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)ulid; *p; p++) {
        unsigned c = *p;
        if (c >= 'a' && c <= 'z') c -= 32; /* ULIDs are case-insensitive */
        h = (h ^ c) * 16777619u;
    }
    return (uint16_t)(h ^ (h >> 16));
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static uint32_t entry_time(const struct stats_pair *p, size_t i) { return p->base + 2u * p->e[i].t2; }

/* First index whose time is ≥ t. */
static size_t lower_bound(const struct stats_pair *p, int64_t t)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((int64_t)entry_time(p, mid) < t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static void set_capacity(struct stats_pair *p, size_t cap)
{
    if (cap > STATS_MAX_ENTRIES) cap = STATS_MAX_ENTRIES;
    if (cap == 0) {
        free(p->e);
        p->e = NULL;
        p->cap = 0;
        return;
    }
    p->e = xrealloc(p->e, cap * sizeof *p->e);
    p->cap = (uint16_t)cap;
}

static uint32_t drop_before(struct stats_pair *p, int64_t cutoff)
{
    size_t k = lower_bound(p, cutoff);
    if (k == 0) return 0;
    memmove(p->e, p->e + k, (p->n - k) * sizeof *p->e);
    p->n = (uint16_t)(p->n - k);
    return (uint32_t)k;
}

/* Moves the base to new_base (≤ every entry's time), rewriting offsets. */
static void rebase(struct stats_pair *p, uint32_t new_base)
{
    if (new_base == p->base) return;
    for (size_t i = 0; i < p->n; i++) p->e[i].t2 = (uint16_t)((entry_time(p, i) - new_base) / 2);
    p->base = new_base;
}

/* Makes time t representable; false when the entries span too much even after expiry. */
static bool make_room_for(struct stats_pair *p, uint32_t t, int64_t cutoff)
{
    if (p->n == 0) {
        p->base = t;
        return true;
    }
    for (int pass = 0; pass < 2; pass++) {
        uint32_t first = entry_time(p, 0), last = entry_time(p, p->n - 1);
        uint32_t lo = t < first ? t : first, hi = t > last ? t : last;
        if ((hi - lo) / 2 <= 65535u) {
            if (t < p->base || (t - p->base) / 2 > 65535u) rebase(p, lo);
            return true;
        }
        if (pass == 0) {
            drop_before(p, cutoff);
            if (p->n == 0) {
                p->base = t;
                return true;
            }
        }
    }
    return false;
}

enum stats_add_result stats_add(struct stats_pair *p, int64_t ts_us, uint16_t fp, double step, double rtt_ms,
                                int64_t now_us, int64_t window_s)
{
    if (!isfinite(step) || !isfinite(rtt_ms)) return STATS_INVALID;
    int64_t ts_s = floor_div(ts_us, 1000000), now_s = floor_div(now_us, 1000000);
    int64_t cutoff = now_s - window_s + 1; /* the window holds results newer than now − window */
    if (ts_s < cutoff || ts_s < 0) return STATS_TOO_OLD;
    if (ts_s > now_s + STATS_FUTURE_SLACK_S || ts_s > (int64_t)UINT32_MAX - 2) return STATS_FUTURE;
    uint32_t t = (uint32_t)ts_s & ~1u;
    if (!make_room_for(p, t, cutoff)) return STATS_FULL;
    uint16_t t2 = (uint16_t)((t - p->base) / 2);
    /* insertion point: after every entry of the same slot; a repeat sits in that slot */
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p->e[mid].t2 <= t2) lo = mid + 1;
        else hi = mid;
    }
    for (size_t i = lo; i > 0 && p->e[i - 1].t2 == t2; i--)
        if (p->e[i - 1].fp == fp) return STATS_DUPLICATE;
    if (p->n == p->cap) {
        if (p->n >= STATS_MAX_ENTRIES) {
            drop_before(p, cutoff);
            if (p->n >= STATS_MAX_ENTRIES) return STATS_FULL;
            return stats_add(p, ts_us, fp, step, rtt_ms, now_us, window_s);
        }
        set_capacity(p, (size_t)p->cap + p->cap / 8 + 4);
    }
    memmove(p->e + lo + 1, p->e + lo, (p->n - lo) * sizeof *p->e);
    double sq = round(step * STATS_STEP_SCALE), rq = round(rtt_ms * STATS_RTT_SCALE);
    p->e[lo] = (struct stats_entry){
        .t2 = t2,
        .fp = fp,
        .step = (int16_t)(sq < -32768 ? -32768 : sq > 32767 ? 32767 : sq),
        .rtt = (uint16_t)(rq < 0 ? 0 : rq > 65535 ? 65535 : rq),
    };
    p->n++;
    return STATS_ADDED;
}

void stats_summarize(const struct stats_pair *p, int64_t now_us, int64_t window_s, struct stats_summary *out)
{
    *out = (struct stats_summary){0, 0, 0};
    if (p->n == 0) return;
    int64_t cutoff = floor_div(now_us, 1000000) - window_s + 1;
    int64_t sum_step = 0, sum_rtt = 0;
    uint32_t count = 0;
    for (size_t i = lower_bound(p, cutoff); i < p->n; i++) {
        sum_step += p->e[i].step;
        sum_rtt += p->e[i].rtt;
        count++;
    }
    if (!count) return;
    out->count = count;
    out->avg_step = (double)sum_step / count / STATS_STEP_SCALE;
    out->avg_rtt_ms = (double)sum_rtt / count / STATS_RTT_SCALE;
}

uint32_t stats_expire(struct stats_pair *p, int64_t now_us, int64_t window_s)
{
    if (p->n == 0) {
        if (p->e) set_capacity(p, 0);
        return 0;
    }
    uint32_t dropped = drop_before(p, floor_div(now_us, 1000000) - window_s + 1);
    if (p->n == 0) set_capacity(p, 0);
    else if (p->cap > 8 && p->n < p->cap / 2) set_capacity(p, (size_t)p->n + p->n / 8 + 4);
    return dropped;
}

uint64_t stats_bytes(const struct stats_pair *p) { return (uint64_t)p->cap * sizeof(struct stats_entry); }

void stats_free(struct stats_pair *p)
{
    free(p->e);
    *p = (struct stats_pair){0};
}
