/* messages.h — the scorer's retained messages (DESIGN.md §2) built from engine state, in one place so the
 * daemon, its republish-from-database path and `replay --messages` produce the same payloads:
 * scores/<server_id> on each recorded overall score, status/servers/<server_id> when a server crosses 10 or the
 * mass-outage guard holds or releases it, status/zones/<zone> while the guard holds servers of a zone. */
#ifndef NTPMON_SCORER_MESSAGES_H
#define NTPMON_SCORER_MESSAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"

/* The scores message of a recorded overall score (step: the chosen monitor's). */
void sc_score_message(struct msg_score *m, int64_t server_id, int64_t ts_us, double score, double step,
                      bool in_pool, int monitors);
/* The in/out-of-pool message of a change at (ts, score); the reason says why ("server deleted" when the
 * score would qualify but the server is deleted). */
void sc_status_message(struct msg_server_status *m, int64_t server_id, bool in_pool, int64_t ts_us, double score,
                       double in_pool_score);

/* The status message of a mass-outage guard decision (held, kept in after recovery, or leaving when a hold ends):
 * the guard's reason as the reason. */
void sc_guard_status_message(struct msg_server_status *m, int64_t server_id, bool in_pool, bool held, int64_t ts_us,
                             double score, const char *reason);

struct guard_counts;
/* The zone alert from the zone's counts (every server of the zone counted, none left out) and the monitors that
 * still get answers from its held servers. */
void sc_zone_alert(struct msg_zone_alert *a, const char *zone, const struct guard_counts *all,
                   const char *const *monitors, size_t n_monitors, int64_t ts_us);

#endif
