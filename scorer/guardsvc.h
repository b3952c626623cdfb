/* guardsvc.h — the mass-outage guard in the scoring service: the engine's pool hook backed by the database (the
 * zone's counts read inside the batch's transaction, so every shard sees the whole zone; decisions written at
 * once, so later ones in the same batch see them), the guard's settings re-read with the old ones kept when the
 * new are bad, and after each commit the held/released statuses and the zone alerts (E/status/zones/<zone>,
 * guard_zones) to publish. The rule itself is guard.h's; replay applies the same rule from the stream. */
#ifndef NTPMON_SCORER_GUARDSVC_H
#define NTPMON_SCORER_GUARDSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "engine.h"
#include "guard.h"
#include "msg.h"
#include "store.h"

struct guardsvc;

/* Queues a retained message (payload malloc'd; "" clears the topic). */
typedef void (*guardsvc_publish_fn)(void *arg, const struct msg_topic *t, char *payload);

/* Installs the hook into e. overrides: --guard-setting as a JSON object, or NULL. */
struct guardsvc *guardsvc_new(struct eng *e, const struct shard *sh, const char *overrides);
void guardsvc_free(struct guardsvc *gs);
/* Re-reads system_settings 'guard' merged with the overrides; bad settings are logged and the old ones kept.
 * 0, or -1 when the database failed. */
int guardsvc_load_settings(struct guardsvc *gs, struct db *db);
const struct guard_settings *guardsvc_settings(const struct guardsvc *gs);

/* A transaction attempt starts (on db): the previous attempt's decisions are forgotten, and so are the zone
 * snapshots when it was not committed or they are older than zone_cache_s. */
void guardsvc_begin(struct guardsvc *gs, struct db *db);
/* Drops every zone snapshot (the periodic check decides on fresh ones: a `zone release` is seen at once). */
void guardsvc_forget_zones(struct guardsvc *gs);
/* The result (index in the batch) being scored next, for the decisions' bookkeeping. */
void guardsvc_set_result(struct guardsvc *gs, size_t result);
/* True when the database failed inside the hook during this attempt (roll it back and retry). */
bool guardsvc_failed(const struct guardsvc *gs);
/* True when a decision on that result publishes its own status/servers message (hold, release, end of hold). */
bool guardsvc_has_status(const struct guardsvc *gs, size_t result);
/* After the commit (call it after every commit, also with no decision): the decisions' status messages and the alerts of the zones they touched (guard_zones is
 * updated outside the batch's transaction). */
void guardsvc_publish(struct guardsvc *gs, struct db *db, guardsvc_publish_fn pub, void *arg);
/* The alerts of every zone with a held server or a standing alert (the periodic refresh; it also converges what
 * several shards published). */
void guardsvc_refresh_alerts(struct guardsvc *gs, struct db *db, guardsvc_publish_fn pub, void *arg);
/* On (re)connect: the statuses of the shard's held servers (and of those that left when a hold ended), and every
 * standing zone alert. 0 or -1. */
int guardsvc_republish(struct guardsvc *gs, struct db *db, guardsvc_publish_fn pub, void *arg);

#endif
