/* engine.c — the scoring algorithm of DESIGN.md §6 over in-memory server state (see engine.h). The median follows
 * the pool's query: per monitor the latest row with ts ≤ the result's ts inside the lookback (both ends
 * inclusive), only monitors whose status qualifies, in ts order; then the pick of ntppool/monitor's recentmedian. */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define MAX_ERRORS 65535

struct eng {
    struct eng_params p;
    /* servers: open addressing on id, linear probing; tombstones are not needed because drop re-inserts the
     * cluster that follows (backward-shift deletion). */
    struct eng_server **slots;
    size_t n_slots, n_servers;
    /* interned error texts */
    char **errors;
    size_t n_errors, cap_errors;
    uint32_t *error_slots; /* hash of error text → index+1 */
    size_t n_error_slots;
    eng_pool_hook hook;
    void *hook_arg;
};

void eng_params_default(struct eng_params *p)
{
    p->lookback_active_us = 1200 * 1000000LL;
    p->lookback_testing_us = 2700 * 1000000LL;
    p->lookback_candidate_us = 7200 * 1000000LL;
    p->same_interval_us = 15 * 60 * 1000000LL;
    p->close_interval_us = 5 * 60 * 1000000LL;
    p->close_fraction = 0.05;
    p->in_pool_score = 10;
    p->history_us = (3 * 3600 + 7200) * 1000000LL;
}

static uint64_t hash_id(int64_t id)
{
    uint64_t x = (uint64_t)id;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint32_t hash_text(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

struct eng *eng_new(const struct eng_params *p)
{
    struct eng *e = xcalloc(1, sizeof *e);
    e->p = *p;
    e->n_slots = 64;
    e->slots = xcalloc(e->n_slots, sizeof *e->slots);
    e->cap_errors = 16;
    e->errors = xcalloc(e->cap_errors, sizeof *e->errors);
    e->errors[0] = xstrdup("");
    e->n_errors = 1;
    e->n_error_slots = 64;
    e->error_slots = xcalloc(e->n_error_slots, sizeof *e->error_slots);
    return e;
}

static void server_free(struct eng_server *s)
{
    for (size_t i = 0; i < s->n_pairs; i++) free(s->pairs[i].rows);
    free(s->pairs);
    free(s);
}

void eng_free(struct eng *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->n_slots; i++)
        if (e->slots[i]) server_free(e->slots[i]);
    free(e->slots);
    for (size_t i = 0; i < e->n_errors; i++) free(e->errors[i]);
    free(e->errors);
    free(e->error_slots);
    free(e);
}

const struct eng_params *eng_params(const struct eng *e) { return &e->p; }

void eng_set_pool_hook(struct eng *e, eng_pool_hook hook, void *arg)
{
    e->hook = hook;
    e->hook_arg = arg;
}

/* Membership after a decision point: what the score says, unless the hook has a say. */
static bool pool_decision(struct eng *e, struct eng_server *s, bool score_in, int64_t ts_us)
{
    if (!e->hook || (score_in == s->in_pool && !s->held_since_us)) return score_in;
    return e->hook(e->hook_arg, e, s, score_in, ts_us);
}

static void pool_change(struct eng_server *s, bool in_pool, int64_t ts_us, double score, struct eng_outcome *out)
{
    if (in_pool == s->in_pool) return;
    out->crossed = true;
    s->in_pool = in_pool;
    s->in_pool_ts_us = ts_us;
    s->in_pool_score = score;
}

bool eng_pool_recheck(struct eng *e, struct eng_server *s, int64_t now_us)
{
    if (!s->held_since_us || !s->has_last) return false;
    struct eng_outcome out = {0};
    bool score_in = s->last_score >= e->p.in_pool_score && !s->deleted;
    pool_change(s, pool_decision(e, s, score_in, now_us), now_us, s->last_score, &out);
    return out.crossed;
}

/* ---- servers ---- */

static size_t slot_of(const struct eng *e, int64_t id)
{
    size_t mask = e->n_slots - 1;
    size_t i = (size_t)hash_id(id) & mask;
    while (e->slots[i] && e->slots[i]->id != id) i = (i + 1) & mask;
    return i;
}

struct eng_server *eng_server_find(struct eng *e, int64_t id)
{
    return e->slots[slot_of(e, id)];
}

static void grow_slots(struct eng *e)
{
    struct eng_server **old = e->slots;
    size_t n_old = e->n_slots;
    e->n_slots *= 2;
    e->slots = xcalloc(e->n_slots, sizeof *e->slots);
    for (size_t i = 0; i < n_old; i++)
        if (old[i]) e->slots[slot_of(e, old[i]->id)] = old[i];
    free(old);
}

struct eng_server *eng_server_add(struct eng *e, int64_t id)
{
    eng_server_drop(e, id);
    if ((e->n_servers + 1) * 2 > e->n_slots) grow_slots(e);
    struct eng_server *s = xcalloc(1, sizeof *s);
    s->id = id;
    s->rows_from_us = INT64_MIN;
    s->late_from_us = INT64_MAX;
    e->slots[slot_of(e, id)] = s;
    e->n_servers++;
    return s;
}

void eng_server_drop(struct eng *e, int64_t id)
{
    size_t mask = e->n_slots - 1;
    size_t i = slot_of(e, id);
    if (!e->slots[i]) return;
    server_free(e->slots[i]);
    e->slots[i] = NULL;
    e->n_servers--;
    /* backward-shift: re-place the rest of the probe cluster */
    for (size_t j = (i + 1) & mask; e->slots[j]; j = (j + 1) & mask) {
        struct eng_server *moved = e->slots[j];
        e->slots[j] = NULL;
        e->slots[slot_of(e, moved->id)] = moved;
    }
}

void eng_server_each(struct eng *e, void (*fn)(struct eng_server *s, void *arg), void *arg)
{
    for (size_t i = 0; i < e->n_slots; i++)
        if (e->slots[i]) fn(e->slots[i], arg);
}

size_t eng_server_count(const struct eng *e) { return e->n_servers; }

size_t eng_evict(struct eng *e, int64_t before_us)
{
    size_t dropped = 0;
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; i < e->n_slots; i++) {
            if (e->slots[i] && e->slots[i]->touched_us < before_us) {
                eng_server_drop(e, e->slots[i]->id); /* shifts the cluster: rescan */
                dropped++;
                again = true;
            }
        }
    }
    return dropped;
}

/* ---- pairs and rows ---- */

struct eng_pair *eng_pair_get(struct eng_server *s, int64_t monitor_id, bool create)
{
    size_t lo = 0, hi = s->n_pairs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->pairs[mid].monitor_id < monitor_id) lo = mid + 1;
        else hi = mid;
    }
    if (lo < s->n_pairs && s->pairs[lo].monitor_id == monitor_id) return &s->pairs[lo];
    if (!create) return NULL;
    if (s->n_pairs == s->cap_pairs) {
        s->cap_pairs = s->cap_pairs ? s->cap_pairs * 2 : 8;
        s->pairs = xrealloc(s->pairs, s->cap_pairs * sizeof *s->pairs);
    }
    memmove(&s->pairs[lo + 1], &s->pairs[lo], (s->n_pairs - lo) * sizeof *s->pairs);
    s->n_pairs++;
    s->pairs[lo] = (struct eng_pair){.monitor_id = monitor_id};
    return &s->pairs[lo];
}

void eng_pair_add_row(struct eng *e, struct eng_pair *p, const struct eng_row *row, int64_t clock_us)
{
    int64_t horizon = clock_us - e->p.history_us;
    while (p->head < p->n && p->rows[p->head].ts_us < horizon) p->head++;
    if (p->head == p->n) p->head = p->n = 0;
    if (p->n == p->cap) {
        if (p->head > p->n / 2) {
            memmove(p->rows, p->rows + p->head, (p->n - p->head) * sizeof *p->rows);
            p->n -= p->head;
            p->head = 0;
        } else {
            p->cap = p->cap ? p->cap * 2 : 1; /* most pairs of a loaded server hold one row */
            p->rows = xrealloc(p->rows, p->cap * sizeof *p->rows);
        }
    }
    /* Results mostly arrive in order: the insertion point is almost always the end. Equal ts go after. */
    uint32_t i = p->n;
    while (i > p->head && p->rows[i - 1].ts_us > row->ts_us) i--;
    memmove(&p->rows[i + 1], &p->rows[i], (p->n - i) * sizeof *p->rows);
    p->rows[i] = *row;
    p->n++;
}

int64_t eng_longest_lookback(const struct eng *e)
{
    int64_t longest = e->p.lookback_active_us;
    if (e->p.lookback_testing_us > longest) longest = e->p.lookback_testing_us;
    if (e->p.lookback_candidate_us > longest) longest = e->p.lookback_candidate_us;
    return longest;
}

/* Drops rows[head..first) and gives back capacity the pair no longer needs (a load of old rows may have grown it). */
static void pair_keep_from(struct eng_pair *p, uint32_t first)
{
    if (first <= p->head) return;
    p->head = first;
    uint32_t live = p->n - p->head;
    if (live == 0) {
        p->head = p->n = 0;
    } else if (p->cap > 8 && live <= p->cap / 4) {
        memmove(p->rows, p->rows + p->head, live * sizeof *p->rows);
        p->head = 0;
        p->n = live;
    }
    if (p->cap > 8 && p->n <= p->cap / 4) {
        p->cap /= 2;
        p->rows = xrealloc(p->rows, p->cap * sizeof *p->rows);
    }
}

/* The index of the first row with ts ≥ ts_us. */
static uint32_t first_at_or_after(const struct eng_pair *p, int64_t ts_us)
{
    uint32_t lo = p->head, hi = p->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->rows[mid].ts_us < ts_us) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

void eng_server_trim(struct eng *e, struct eng_server *s, int64_t horizon_us)
{
    int64_t useless_before = horizon_us - eng_longest_lookback(e);
    for (size_t i = 0; i < s->n_pairs; i++) {
        struct eng_pair *p = &s->pairs[i];
        uint32_t first = first_at_or_after(p, horizon_us);
        /* the latest row before the horizon is what a median just after it picks for this pair */
        if (first > p->head && p->rows[first - 1].ts_us >= useless_before) first--;
        pair_keep_from(p, first);
    }
    if (horizon_us > s->rows_from_us) s->rows_from_us = horizon_us;
}

void eng_server_fit(struct eng_server *s)
{
    if (s->cap_pairs <= s->n_pairs || !s->n_pairs) return;
    s->cap_pairs = s->n_pairs;
    s->pairs = xrealloc(s->pairs, s->cap_pairs * sizeof *s->pairs);
}

void eng_server_forget_rows(struct eng_server *s, int64_t before_us)
{
    for (size_t i = 0; i < s->n_pairs; i++) pair_keep_from(&s->pairs[i], first_at_or_after(&s->pairs[i], before_us));
}

const struct eng_row *eng_pair_row_at(const struct eng_pair *p, int64_t ts_us)
{
    uint32_t lo = p->head, hi = p->n;
    while (lo < hi) { /* first row with ts > ts_us */
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->rows[mid].ts_us <= ts_us) lo = mid + 1;
        else hi = mid;
    }
    return lo > p->head ? &p->rows[lo - 1] : NULL;
}

/* ---- errors ---- */

uint16_t eng_error_intern(struct eng *e, const char *error)
{
    if (!error || !*error) return 0;
    size_t mask = e->n_error_slots - 1;
    size_t i = hash_text(error) & mask;
    for (; e->error_slots[i]; i = (i + 1) & mask)
        if (strcmp(e->errors[e->error_slots[i] - 1], error) == 0) return (uint16_t)(e->error_slots[i] - 1);
    if (e->n_errors >= MAX_ERRORS) return MAX_ERRORS;
    if (e->n_errors == e->cap_errors) {
        e->cap_errors *= 2;
        e->errors = xrealloc(e->errors, e->cap_errors * sizeof *e->errors);
    }
    uint16_t idx = (uint16_t)e->n_errors;
    e->errors[e->n_errors++] = xstrdup(error);
    e->error_slots[i] = (uint32_t)idx + 1;
    if (e->n_errors * 2 > e->n_error_slots) {
        free(e->error_slots);
        e->n_error_slots *= 2;
        e->error_slots = xcalloc(e->n_error_slots, sizeof *e->error_slots);
        mask = e->n_error_slots - 1;
        for (size_t k = 1; k < e->n_errors; k++) {
            size_t j = hash_text(e->errors[k]) & mask;
            while (e->error_slots[j]) j = (j + 1) & mask;
            e->error_slots[j] = (uint32_t)k + 1;
        }
    }
    return idx;
}

const char *eng_error_text(const struct eng *e, uint16_t idx)
{
    return idx < e->n_errors ? e->errors[idx] : "(other)";
}

/* ---- the recent median ---- */

/* The pool's lookback steps: which statuses qualify, and how far back. */
static bool status_in(enum msg_pair_status s, int step)
{
    switch (step) {
    case 0: return s == MSG_STATUS_ACTIVE;
    case 1: return s == MSG_STATUS_ACTIVE || s == MSG_STATUS_TESTING;
    default: return s == MSG_STATUS_CANDIDATE || s == MSG_STATUS_TESTING;
    }
}

/* The pool's query orders by ts; equal ts keep monitor id order (the pool leaves that to the database). */
static bool cand_before_ts(const struct eng_candidate *a, const struct eng_candidate *b)
{
    if (a->row->ts_us != b->row->ts_us) return a->row->ts_us < b->row->ts_us;
    return a->monitor_id < b->monitor_id;
}

static int32_t rtt_key(const struct eng_row *r) { return r->rtt_us == ENG_RTT_NONE ? 0 : r->rtt_us; }

static bool cand_before_score(const struct eng_candidate *a, const struct eng_candidate *b)
{
    if (a->row->score != b->row->score) return a->row->score < b->row->score;
    return rtt_key(a->row) < rtt_key(b->row);
}

/* Insertion sort: stable, and n is at most the monitors of one server. */
static void sort_cand(struct eng_candidate *c, size_t n,
                      bool (*before)(const struct eng_candidate *, const struct eng_candidate *))
{
    for (size_t i = 1; i < n; i++) {
        struct eng_candidate x = c[i];
        size_t j = i;
        while (j > 0 && before(&x, &c[j - 1])) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

size_t eng_pick_median(struct eng_candidate *cand, size_t n)
{
    if (n < 3) return 0;
    sort_cand(cand, n, cand_before_score);
    size_t i = n / 2;
    if (n % 2 == 0) i--;
    return i;
}

int eng_recent_median(const struct eng *e, const struct eng_server *s, int64_t ts_us, struct eng_candidate *cand,
                      size_t *n_out)
{
    const int64_t lookback[3] = {e->p.lookback_active_us, e->p.lookback_testing_us, e->p.lookback_candidate_us};
    *n_out = 0;
    for (int step = 0; step < 3; step++) {
        size_t n = 0;
        for (size_t i = 0; i < s->n_pairs; i++) {
            const struct eng_pair *p = &s->pairs[i];
            if (!status_in((enum msg_pair_status)p->status, step)) continue;
            const struct eng_row *r = eng_pair_row_at(p, ts_us);
            if (!r || r->ts_us < ts_us - lookback[step]) continue;
            cand[n++] = (struct eng_candidate){p->monitor_id, r};
        }
        if (n == 0) continue;
        sort_cand(cand, n, cand_before_ts);
        *n_out = n;
        return (int)eng_pick_median(cand, n);
    }
    return -1;
}

bool eng_should_record(const struct eng_params *p, bool has_last, int64_t last_ts_us, double last_score,
                       int64_t ts_us, double score)
{
    if (!has_last) return true;
    if (ts_us < last_ts_us) return false; /* out of order */
    if (fabs(score - last_score) <= 1e-12 && last_ts_us + p->same_interval_us > ts_us) return false;
    bool close;
    if (score == 0 && last_score == 0) close = true;
    else if (score == 0 || last_score == 0) close = fabs(score - last_score) <= 1e-12;
    else close = fabs(score - last_score) <= fabs(last_score) * p->close_fraction;
    if (close && last_ts_us + p->close_interval_us > ts_us) return false;
    return true;
}

/* ---- one result ---- */

int32_t eng_rtt_us(double rtt_s)
{
    double us = round(rtt_s * 1e6);
    if (us > INT32_MAX) return INT32_MAX;
    if (us <= (double)ENG_RTT_NONE) return ENG_RTT_NONE + 1;
    return (int32_t)us;
}

void eng_score(struct eng *e, struct eng_server *s, int64_t monitor_id, const struct msg_result_record *in,
               int64_t clock_us, struct eng_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct eng_pair *p = eng_pair_get(s, monitor_id, true);
    const char *error = in->error;
    struct step_input si = {
        .no_response = msg_error_is_no_response(error),
        .stratum = in->stratum,
        .error = error,
        .has_offset = in->has_offset,
        .offset = in->offset,
    };
    out->step = step_compute(&si);
    p->score = step_apply(p->score, &out->step);
    p->score_ts_us = in->ts_us;
    if (in->stratum > 0) p->stratum = in->stratum;
    out->pair_score = p->score;
    out->status_used = p->status;

    int32_t rtt_us = in->has_rtt ? eng_rtt_us(in->rtt) : ENG_RTT_NONE;
    struct eng_row row = {
        .ts_us = in->ts_us,
        .score = p->score,
        .step = out->step.step,
        .rtt_us = rtt_us,
        .error = eng_error_intern(e, error),
        .leap = (uint8_t)in->leap,
        .stratum = (uint8_t)in->stratum,
    };
    eng_pair_add_row(e, p, &row, clock_us);

    struct eng_candidate stack_cand[64];
    struct eng_candidate *cand = s->n_pairs <= 64 ? stack_cand : xmalloc(s->n_pairs * sizeof *cand);
    size_t n = 0;
    int chosen = eng_recent_median(e, s, in->ts_us, cand, &n);
    out->in_pool = s->in_pool;
    if (chosen >= 0) {
        out->has_overall = true;
        out->monitors = (int)n;
        out->chosen_monitor_id = cand[chosen].monitor_id;
        out->chosen = *cand[chosen].row;
        double score = out->chosen.score;
        out->recorded = eng_should_record(&e->p, s->has_last, s->last_ts_us, s->last_score, in->ts_us, score);
        if (out->recorded) {
            s->has_last = true;
            s->last_ts_us = in->ts_us;
            s->last_score = score;
            bool score_in = score >= e->p.in_pool_score && !s->deleted;
            pool_change(s, pool_decision(e, s, score_in, in->ts_us), in->ts_us, score, out);
            out->in_pool = s->in_pool;
        }
    }
    if (!out->recorded && s->held_since_us && s->has_last) {
        /* a held server is looked at on every result: one nobody answers any more leaves at once */
        bool score_in = s->last_score >= e->p.in_pool_score && !s->deleted;
        pool_change(s, pool_decision(e, s, score_in, in->ts_us), in->ts_us, s->last_score, out);
        out->in_pool = s->in_pool;
    }
    if (cand != stack_cand) free(cand);
}
