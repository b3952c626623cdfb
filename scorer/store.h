/* store.h — the scorer's database side (DESIGN.md §5): loading monitors, servers and a server's scoring state
 * (pair statuses and scores, recent per-monitor log rows, the last recorded overall score), finding results that
 * were already scored, writing a batch's log rows and score updates, and the two scans of the `results` table
 * (at start: what the broker handed over before a crash; periodically: anything the broker never delivered).
 * Only prepared statements; every query of a shard filters on server_id mod N = K. */
#ifndef NTPMON_SCORER_STORE_H
#define NTPMON_SCORER_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "directory.h"
#include "engine.h"
#include "msg.h"
#include "ulid.h"

/* A result waiting to be scored: the decoded message's record (from the stream, or a row of the results table)
 * and what the scorer adds to it. */
struct sc_result {
    struct msg_result_record rec;
    int64_t monitor_id;       /* resolved when scored; known already for rows of the results table */
    int64_t received_mono_us; /* for the latency metric */
};

struct shard {
    int64_t k, n; /* server_id mod n == k */
};
bool shard_has(const struct shard *s, int64_t server_id);

/* Reloads the directory's monitors / servers (servers of the shard only); on failure the old lists stay. */
int scorer_store_load_monitors(struct db *db, struct directory *dir);
int scorer_store_load_servers(struct db *db, struct directory *dir, const struct shard *sh);

/* Loads servers' scoring state into the engine (replacing what was there): pair statuses and scores, the
 * per-monitor rows from rows_from_us on with each pair's latest row before it (what a median at any later ts can
 * pick — memory grows with pairs, not with history), the last recorded overall score and the in-pool state — five
 * queries for up to 256 servers. 0, or -1 with none of them loaded. */
int scorer_store_load_servers_state(struct db *db, struct eng *e, const int64_t *ids, size_t n, int64_t rows_from_us,
                                    int64_t now_us);
/* For loaded servers about to score a result older than their rows_from_us: their rows from from_us on that memory
 * lacks, with each pair's latest before from_us; rows_from_us becomes from_us. 0, or -1 with the servers dropped
 * from memory (the next use loads them afresh). */
int scorer_store_load_older_rows(struct db *db, struct eng *e, const int64_t *ids, size_t n, int64_t from_us,
                                 int64_t now_us);

/* Refreshes the pair statuses of every loaded server from server_scores. 0 or -1. */
int scorer_store_reload_statuses(struct db *db, struct eng *e, const struct shard *sh);

/* Marks done[i] for each id that already has a per-monitor log row (scored before). 0 or -1. */
int scorer_store_find_scored(struct db *db, const char (*ids)[ULID_LEN + 1], size_t n, bool *done);

/* One log_scores row to insert. */
struct scorer_store_log_row {
    int64_t monitor_id; /* 0: the overall score (NULL) */
    int64_t server_id;
    int64_t ts_us;
    double score, step;
    bool has_offset, has_rtt;
    double offset;
    int32_t rtt_us;
    char result_id[ULID_LEN + 1];
    char *attributes; /* JSON, malloc'd */
};
struct scorer_store_pair_update {
    int64_t monitor_id, server_id;
    double score;
    int64_t score_ts_us;
    int stratum; /* 0: keep */
    bool exists; /* the pair has a server_scores row (else it is inserted, as a candidate) */
};
struct scorer_store_server_update {
    int64_t server_id;
    double score;
    int64_t score_ts_us;
    bool in_pool;
};

/* Writes a batch inside the caller's transaction: log rows (multi-row inserts), pair scores (upserts) and
 * servers. 0 or -1 (db_error tells why). */
int scorer_store_write(struct db *db, const struct scorer_store_log_row *rows, size_t n_rows,
                       const struct scorer_store_pair_update *pairs, size_t n_pairs,
                       const struct scorer_store_server_update *servers, size_t n_servers);

/* The results table rows with no log row yet: ts ≥ min_ts, received in [recv_from, recv_to], of the shard, in
 * (ts, id) order after (*after_ts, after_id), at most limit; cb gets each. Returns the count or -1. */
typedef void (*scorer_store_result_cb)(void *arg, const struct sc_result *r);
long scorer_store_unscored(struct db *db, const struct shard *sh, int64_t min_ts_us, int64_t recv_from_us,
                           int64_t recv_to_us, int64_t after_ts_us, const char *after_id, long limit,
                           scorer_store_result_cb cb, void *arg);

/* The latest recorded overall score of every server of the shard, as the retained messages need it. */
struct scorer_store_latest {
    int64_t server_id;
    int64_t ts_us;
    double score, step;
    int monitors;
    bool in_pool;
    bool has_change; /* in_pool_ts/score: the last in/out change */
    int64_t in_pool_ts_us;
    double in_pool_score;
};
typedef void (*scorer_store_latest_cb)(void *arg, const struct scorer_store_latest *l);
int scorer_store_latest_scores(struct db *db, const struct shard *sh, scorer_store_latest_cb cb, void *arg);

/* The attributes JSON of a per-monitor row and of an overall row (malloc'd). */
char *scorer_store_monitor_attributes(int leap, const char *error, int stratum, enum msg_pair_status status);
char *scorer_store_overall_attributes(int leap, const char *error, int stratum, int64_t chosen_monitor_id, int monitors,
                                      bool in_pool, int64_t in_pool_ts_us, double in_pool_score);

#endif
