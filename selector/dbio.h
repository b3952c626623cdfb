/* dbio.h — every SQL statement the selector runs (prepared, via common/db): settings, the pool scan, statistics
 * from log_scores, due servers, one server's review rows (locked) and the writes of its outcome, the review
 * schedule, and the assign seq bookkeeping. The selector owns server_scores.status, constraint_violation_type/
 * since, last_constraint_check, pause_reason, servers_monitor_review and selector_assign; it never writes the
 * scorer's columns. */
#ifndef NTPMON_SELECTOR_DBIO_H
#define NTPMON_SELECTOR_DBIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "pool.h"
#include "rules.h"
#include "settings.h"

/* The JSON text of system_settings 'selector' (malloc'd in *json; NULL when there is no row). 0 or -1. */
int dbio_settings_text(struct db *db, char **json);

/* Re-reads monitors, servers and pairs into the pool (and adds missing servers_monitor_review rows). */
int dbio_scan(struct db *db, struct pool *pool);

struct dbio_stats_report {
    uint64_t rows, added, duplicates, skipped; /* skipped: pairs of unknown monitors/servers */
};
/* Loads the pairs' statistics from log_scores for the window ending at now: for the given servers, or all when
 * n_servers is 0 (in 15-minute slices, so memory stays bounded). */
int dbio_load_stats(struct db *db, struct pool *pool, const int64_t *server_ids, size_t n_servers, int64_t now_us,
                    int window_s, struct dbio_stats_report *rep);

/* The same for up to DBIO_STATS_GROUP servers in one query (server_id IN (…) on the (server_id, ts) index): the
 * lazy history's unit of work. */
#define DBIO_STATS_GROUP 16
int dbio_load_stats_group(struct db *db, struct pool *pool, const int64_t *server_ids, size_t n_servers, int64_t now_us,
                          int window_s, struct dbio_stats_report *rep);

/* Up to `limit` servers due for review at now (not deleted), earliest first. */
int dbio_due_servers(struct db *db, int64_t now_us, int limit, int64_t *ids, size_t *n);
/* The id of a server given as an id or an address; 1 found, 0 not found, -1 error. */
int dbio_find_server(struct db *db, const char *text, int64_t *id);

/* One server's review input: the server and its pairs, with names kept alive here. */
struct dbio_review_rows {
    struct sel_server server;
    char ip[MSG_IP_MAX];
    bool exists, deleted;
    size_t n;
    struct sel_pair *pairs;
    char (*names)[MSG_NAME_MAX];
    char (*pause_reasons)[65];
};
/* Reads the server and its pairs; with lock, the pairs' rows are locked (FOR UPDATE) until the transaction ends.
 * Statistics are left at 0: the caller fills them. */
int dbio_read_review(struct db *db, int64_t server_id, bool lock, struct dbio_review_rows *rows);
void dbio_review_rows_free(struct dbio_review_rows *rows);
/* Writes every pair whose selector-owned state changed; the number written goes to *written. */
int dbio_write_review(struct db *db, const struct dbio_review_rows *rows, size_t *written);
/* Sets last_review = now, next_review = now + delay, and last_change = now when changed. */
int dbio_schedule_review(struct db *db, int64_t server_id, int64_t now_us, int delay_s, bool changed);

/* The highest assign seq published so far (0 when none). */
int dbio_assign_seq_max(struct db *db, int64_t *seq);
/* Records a published assign message. */
int dbio_assign_record(struct db *db, int64_t monitor_id, int64_t seq, size_t n_servers, int64_t now_us);

#endif
