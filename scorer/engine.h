/* engine.h — the pool's scoring algorithm in memory (DESIGN.md §6), with no I/O: per monitor/server pair the
 * EWMA "1-score" (common/step), each pair's recent log rows, the "recent median" overall score with its
 * 1200 s → 2700 s → 7200 s fallbacks, the 15 min / 5 % rule deciding which overall scores are recorded, and the
 * in-pool threshold. The daemon loads servers into it from the database and feeds it MQTT results; `replay` feeds
 * it stdin. Both get the same numbers because this is the only place they are computed. */
#ifndef NTPMON_SCORER_ENGINE_H
#define NTPMON_SCORER_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "step.h"

/* The pool's constants, as flags (DESIGN.md §6). */
struct eng_params {
    int64_t lookback_active_us;    /* 1200 s: active monitors */
    int64_t lookback_testing_us;   /* 2700 s: active + testing, when no active row */
    int64_t lookback_candidate_us; /* 7200 s: candidate + testing, when still none */
    int64_t same_interval_us;      /* 15 min: an unchanged overall score is recorded again after this */
    int64_t close_interval_us;     /* 5 min: a score within close_fraction is not recorded before this */
    double close_fraction;         /* 0.05 */
    double in_pool_score;          /* 10: a server is in the pool when its overall score is at least this */
    int64_t history_us;            /* pair rows older than clock − history are forgotten (max-age + 7200 s) */
};
/* Fills the pool's values. */
void eng_params_default(struct eng_params *p);

#define ENG_RTT_NONE INT32_MIN

/* One per-monitor log row as the median reads it. */
struct eng_row {
    int64_t ts_us;
    double score, step;
    int32_t rtt_us; /* ENG_RTT_NONE: no rtt (no reply) */
    uint16_t error; /* interned error text; 0 = "" */
    uint8_t leap, stratum;
};

struct eng_pair { /* 56 bytes: a pool has servers × monitors of them */
    int64_t monitor_id;
    double score;                /* the pair's 1-score; a new pair starts at 0 */
    int64_t score_ts_us;
    struct eng_row *rows;        /* rows[head..n) sorted by ts */
    uint32_t head, n, cap;
    int32_t stratum;             /* last non-zero stratum, 0 when none */
    uint8_t status;              /* enum msg_pair_status: the selector's status; NONE when unknown */
};

struct eng_server {
    int64_t id;
    struct eng_pair *pairs; /* sorted by monitor_id */
    size_t n_pairs, cap_pairs;
    bool has_last;          /* an overall score was recorded */
    int64_t last_ts_us;     /* ts and score of the last recorded overall score */
    double last_score;
    bool in_pool;
    int64_t in_pool_ts_us;  /* ts and score of the last in/out change (0: never changed) */
    double in_pool_score;
    bool deleted;           /* never enters the pool */
    /* rows_from_us: the median at any ts ≥ this sees exactly the rows it would see with the whole history —
     * every row from here on is in memory, and of the older ones each pair's latest (the one a median at such a
     * ts may pick); older rows were left in the database. INT64_MIN: nothing was left out. */
    int64_t rows_from_us;
    /* the daemon's trimming policy: while late results keep coming (an agent's spool, a backlog), rows stay from the
     * oldest of them on, so each one does not read the same older rows again */
    int64_t late_from_us;   /* the oldest late result's ts since late_seen_us began (INT64_MAX: none) */
    int64_t late_seen_us;   /* caller's clock at the last late result */
    int64_t touched_us;     /* caller's clock at the last use (eviction) */
    /* the mass-outage guard's state (scorer/guard.h), kept here so the pool hook finds it; only the hook changes
     * them, and the engine reads held_since_us alone (to consult the hook on every result of a held server) */
    unsigned zone;          /* common/zone id; 0: no zone */
    int64_t held_since_us;  /* held in the pool since (0: not held) */
    int64_t left_us;        /* when it last left the pool (0: not known) */
    int64_t recovered_us;   /* when a hold last ended because the score recovered (0: never) */
};

struct eng_outcome {
    struct step step;
    double pair_score;
    enum msg_pair_status status_used; /* the monitor's status for this server when the result was scored */
    bool has_overall;                 /* some monitor qualified for the median */
    int monitors;                     /* how many rows the median looked at */
    int64_t chosen_monitor_id;
    struct eng_row chosen;            /* the row the overall score was taken from */
    bool recorded;                    /* the overall score is to be logged (15 min / 5 % rule) */
    bool crossed;                     /* the server moved in or out of the pool: with a recorded score, or when the
                                       * pool hook ended a hold on an unrecorded one (then the score is unchanged) */
    bool in_pool;                     /* the server's state after this result */
};

struct eng;

struct eng *eng_new(const struct eng_params *p);
void eng_free(struct eng *e);
const struct eng_params *eng_params(const struct eng *e);

/* The pool hook: where membership is decided — a recorded overall score that would move the server in or out,
 * and every result of a held server (its latest recorded score standing) — it gets what the score says
 * (score_in: ≥ in_pool_score and not deleted) and returns the membership. The mass-outage guard (guard.h)
 * is the one hook; without a hook membership follows the score. It never changes a score. */
typedef bool (*eng_pool_hook)(void *arg, struct eng *e, struct eng_server *s, bool score_in, int64_t ts_us);
void eng_set_pool_hook(struct eng *e, eng_pool_hook hook, void *arg);
/* Consults the hook about a held server at now_us with its latest recorded score standing (the periodic check:
 * the longest hold, an outage that is over, the guard turned off). True when its membership changed. */
bool eng_pool_recheck(struct eng *e, struct eng_server *s, int64_t now_us);

/* The loaded server, or NULL. */
struct eng_server *eng_server_find(struct eng *e, int64_t id);
/* A new empty server (replacing any loaded one): no pairs, no recorded score, out of the pool. */
struct eng_server *eng_server_add(struct eng *e, int64_t id);
/* Forgets a server (its state is reloaded from the database on next use). */
void eng_server_drop(struct eng *e, int64_t id);
/* Calls fn for every loaded server (fn must not add or drop servers). */
void eng_server_each(struct eng *e, void (*fn)(struct eng_server *s, void *arg), void *arg);
size_t eng_server_count(const struct eng *e);
/* Drops servers not touched since before `before_us`; returns how many. */
size_t eng_evict(struct eng *e, int64_t before_us);

/* The pair of a monitor, created (status NONE, score 0) when create is set; NULL otherwise. */
struct eng_pair *eng_pair_get(struct eng_server *s, int64_t monitor_id, bool create);
/* Adds a history row (kept sorted by ts); rows older than clock − history are dropped. */
void eng_pair_add_row(struct eng *e, struct eng_pair *p, const struct eng_row *row, int64_t clock_us);
/* Forgets rows the median at ts ≥ horizon_us cannot use: of each pair's rows older than horizon_us only the
 * latest stays (and not even that one when it is older than the longest lookback before horizon_us). Raises
 * s->rows_from_us to horizon_us. Memory per pair then follows its rows since horizon_us, not the history. */
void eng_server_trim(struct eng *e, struct eng_server *s, int64_t horizon_us);
/* Gives back the pairs array's unused capacity (after a load, which knows all the pairs it will have). */
void eng_server_fit(struct eng_server *s);
/* Forgets every row older than before_us (before older rows are loaded in their place). */
void eng_server_forget_rows(struct eng_server *s, int64_t before_us);
/* The longest of the three lookbacks: how far before a ts the median looks. */
int64_t eng_longest_lookback(const struct eng *e);
/* The latest row with ts ≤ ts_us, or NULL. */
const struct eng_row *eng_pair_row_at(const struct eng_pair *p, int64_t ts_us);

/* An rtt in seconds as the log's whole microseconds (clamped to int32, never ENG_RTT_NONE). */
int32_t eng_rtt_us(double rtt_s);

/* Interns an error text (rows keep a 16-bit index); over 65 535 distinct texts, later ones read "(other)". */
uint16_t eng_error_intern(struct eng *e, const char *error);
const char *eng_error_text(const struct eng *e, uint16_t idx);

/* Scores one result of server s by monitor_id (its time, offset, rtt, stratum, leap and error are what the step
 * table and the log row need): step, pair score, the row, the overall score and whether it is recorded and moves
 * the server in or out of the pool. Updates s (its state then reflects the result). clock_us: the caller's notion
 * of now for forgetting old rows (the daemon's clock; replay: the newest ts seen). */
void eng_score(struct eng *e, struct eng_server *s, int64_t monitor_id, const struct msg_result_record *in,
               int64_t clock_us, struct eng_outcome *out);

/* ---- the pieces of eng_score, exposed for unit tests ---- */

struct eng_candidate {
    int64_t monitor_id;
    const struct eng_row *row;
};
/* The recent median over server s at ts_us: fills cand (capacity: s->n_pairs) with the qualifying rows in the
 * pool's order and returns the index of the chosen one, or -1 when no monitor qualifies. *n_out: rows used. */
int eng_recent_median(const struct eng *e, const struct eng_server *s, int64_t ts_us, struct eng_candidate *cand,
                      size_t *n_out);
/* Picks from rows already in ts order: fewer than 3 → the oldest; else stable sort by score, then rtt (a missing
 * rtt counts as 0), ascending, and index ⌊n/2⌋, minus 1 when n is even. Returns the index into the sorted cand. */
size_t eng_pick_median(struct eng_candidate *cand, size_t n);
/* The 15 min / 5 % rule: true when an overall score (ts, score) is to be recorded after the last recorded one. */
bool eng_should_record(const struct eng_params *p, bool has_last, int64_t last_ts_us, double last_score,
                       int64_t ts_us, double score);

#endif
