/* review.h — one server's review against the database: read its pairs (locked), fill in their statistics from
 * the pool, run the rules, write what changed and the next review time, all in one transaction retried on
 * deadlock — a failure anywhere changes nothing. `simulate` runs the same without locking or writing. */
#ifndef NTPMON_SELECTOR_REVIEW_H
#define NTPMON_SELECTOR_REVIEW_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "dbio.h"
#include "pool.h"
#include "rules.h"
#include "settings.h"

struct review_outcome {
    struct dbio_review_rows rows; /* the pairs with their evaluation and new state */
    struct sel_result res;
    size_t written;               /* pair rows updated */
};

enum review_status { REVIEW_OK = 0, REVIEW_DB_ERROR = -1, REVIEW_NO_SERVER = 1 };

/* Reviews one server at now_us (rounded down to the second, as the database stores it). With apply, commits the
 * outcome and schedules the next review (+review_after_change_s or +review_after_nochange_s), then updates the
 * pool's pair statuses; without, only computes. */
enum review_status review_server(struct db *db, struct pool *pool, const struct sel_settings *cfg, int64_t server_id,
                                 int64_t now_us, bool apply, struct review_outcome *out);
void review_outcome_free(struct review_outcome *o);

#endif
