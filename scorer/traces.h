/* traces.h — when a server enters or leaves the pool, the scorer asks that server's active and testing monitors
 * (server_scores.status, monitors neither paused nor deleted) to trace the path to it: one requests/traceroute
 * message per monitor with "trigger":"pool-change" and the server id. Fire-and-forget: no response topic, so the
 * agents only publish the traces (E/traces/<server_id>/<monitor>, stored by ingest); their own limits (one trace
 * per server per interval, a rate per agent) decide whether a trace is made. */
#ifndef NTPMON_SCORER_TRACES_H
#define NTPMON_SCORER_TRACES_H

#include <stdint.h>

#include "db.h"
#include "mqtt.h"

/* Publishes the requests for server_id; returns how many monitors were asked, or -1 on a database error (logged). */
int sc_request_traces(struct db *db, struct mqtt_session *mq, const char *env, int64_t server_id);

#endif
