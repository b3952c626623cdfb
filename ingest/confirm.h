/* confirm.h — the `stored` confirmations of DESIGN.md §2: after a commit, one message per monitor on
 * ntpmon/<env>/monitors/<name>/stored with the ids stored (replays included: they are stored) and the ids
 * recorded as refused. Confirmations that cannot go out (broker unreachable) are kept, up to a bound, and sent
 * on reconnect; beyond the bound the oldest are dropped (their agents re-send and are confirmed again). */
#ifndef NTPMON_INGEST_CONFIRM_H
#define NTPMON_INGEST_CONFIRM_H

#include <stddef.h>

#include "intake.h"
#include "mqtt.h"

struct confirm;

struct confirm *confirm_new(const char *env, size_t max_pending_ids);
void confirm_free(struct confirm *c);
/* Queues the confirmations of a committed batch (every entry with an outcome, an id and a publisher). */
void confirm_batch(struct confirm *c, const struct batch *b);
/* Publishes what is queued (QoS 1); what cannot go out now stays queued. Returns the ids handed to the broker. */
size_t confirm_flush(struct confirm *c, struct mqtt_session *s);
/* Ids queued and not yet handed to the broker. */
size_t confirm_pending(const struct confirm *c);

#endif
