/* publish.h — what the selector tells the world over MQTT: each monitor's retained `assign` work list (whenever
 * it differs from the last one published; seq = publish time in ms, always growing, also across restarts via
 * selector_assign) and `status/selection/<server_id>` with the changes of a review and their reasons. */
#ifndef NTPMON_SELECTOR_PUBLISH_H
#define NTPMON_SELECTOR_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mqtt.h"
#include "pool.h"
#include "review.h"
#include "settings.h"

struct publisher {
    struct mqtt_session *mqtt; /* NULL: nothing is published */
    struct db *db;             /* NULL: seq bookkeeping off */
    const char *env;
    int64_t last_seq;
    uint64_t assigns, assign_bytes, selections, failures; /* assign_bytes: payload bytes of the assigns */
};

/* Starts above the highest seq recorded in the database. */
void publisher_init(struct publisher *pb, struct mqtt_session *mqtt, struct db *db, const char *env);
/* The next seq: max(now in ms, last + 1). */
int64_t publisher_next_seq(struct publisher *pb, int64_t now_us);
/* Publishes the work list of every monitor whose list differs from the last published one (all with force).
 * A monitor whose publish fails stays pending for the next call. Returns the number published. */
size_t publish_assigns(struct publisher *pb, struct pool *pool, const struct sel_settings *cfg, int64_t now_us,
                       bool force);
/* Publishes one server's review changes (nothing when there are none); 0 or -1. */
int publish_selection(struct publisher *pb, const struct review_outcome *o, int64_t now_us);
/* The selection message of a review (malloc'd JSON), also for `once` and tests. */
char *selection_json(const struct review_outcome *o, int64_t now_us);

#endif
