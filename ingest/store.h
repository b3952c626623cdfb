/* store.h — the SQL that writes entries: results and traces as prepared single-row INSERT IGNORE statements run for
 * a whole batch at once through common/dbrows (MariaDB's bulk execution: one round trip per STORE_MAX_CHUNK rows,
 * one statement per table prepared per connection), refused
 * messages into results_rejected (a re-sent refused id is recorded once), and monitors.last_submit. No
 * transaction handling here: the writer owns that. */
#ifndef NTPMON_INGEST_STORE_H
#define NTPMON_INGEST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "intake.h"

#define STORE_MAX_CHUNK 2000 /* rows per bulk execution (SHOW WARNINGS must list one warning per row: ≤ 65535) */

/* A warning other than "duplicate id" left by INSERT IGNORE: a row was skipped (a CHECK, a foreign key) or altered. */
struct ingest_store_warning {
    unsigned code;
    char message[256];
};

/* Inserts rows[0..n) (RESULT entries with monitor_id set) with INSERT IGNORE; adds the rows actually inserted
 * (replays are ignored, not counted) to *inserted. Returns 0; -1 on a database error (see db_error); or 1 when
 * the database skipped or altered a row for another reason than a duplicate id (IGNORE would otherwise hide it,
 * and ingest would confirm a result that is not stored): *warn tells which, and the caller must not commit
 * blindly. */
int ingest_store_results(struct db *db, struct entry *const *rows, size_t n, uint64_t *inserted,
                         struct ingest_store_warning *warn);
/* Inserts TRACE entries (monitor_id set) with INSERT IGNORE, multi-row like ingest_store_results; *inserted += the
 * new ones. Same return values as ingest_store_results (1: skipped or altered for another reason than a duplicate
 * id, see *warn). */
int ingest_store_traces(struct db *db, struct entry *const *rows, size_t n, uint64_t *inserted,
                        struct ingest_store_warning *warn);
/* Records one REJECT entry in results_rejected (nothing when its id was already recorded from that topic);
 * 0 or -1. */
int ingest_store_rejected(struct db *db, const struct entry *e);
/* Moves monitors.last_submit forward to at_us; 0 or -1. */
int ingest_store_last_submit(struct db *db, int64_t monitor_id, int64_t at_us);

#endif
