/* lookup.h — the writer's cache of what the database knows about monitors (name → id, deleted or not) and servers
 * (which ids exist): a valid result needs its monitor to exist and not be deleted, and its server to exist.
 * Only "usable" answers are trusted from the cache (refreshed by a periodic full reload); a miss or a cached
 * deletion is asked of the database again, so every rejection is decided by a fresh read. Within one batch a
 * fresh negative answer is remembered, so a flood from one unknown monitor costs one query per batch. */
#ifndef NTPMON_INGEST_LOOKUP_H
#define NTPMON_INGEST_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

enum lookup_answer { LOOKUP_OK, LOOKUP_UNKNOWN, LOOKUP_DELETED };

struct lookup;

struct lookup *lookup_new(void);
void lookup_free(struct lookup *l);
/* Replaces the cache with every monitor and server in the database; 0, or -1 on a database error. */
int lookup_reload(struct lookup *l, struct db *db);
/* Starts a new batch: negative answers from earlier batches are no longer trusted. */
void lookup_begin_batch(struct lookup *l);
/* Answers for a monitor name (and its id when OK); 0, or -1 on a database error. */
int lookup_monitor(struct lookup *l, struct db *db, const char *name, enum lookup_answer *ans, int64_t *id);
/* Answers for a server id; 0, or -1 on a database error. */
int lookup_server(struct lookup *l, struct db *db, int64_t server_id, enum lookup_answer *ans);
/* How many monitors and servers are cached (for logs and tests). */
void lookup_counts(const struct lookup *l, size_t *monitors, size_t *servers);

#endif
