/* ask.h — asking one monitor over MQTT 5 (DESIGN.md §2): a request on E/monitors/<name>/requests/<kind> carrying the
 * response topic E/responses/<name>/<request_id> and the request id as correlation data. Checks (common/check,
 * ntpmon-web, ntpmonctl check) and traces (ntpmonctl trace) ask this way. */
#ifndef NTPMON_ASK_H
#define NTPMON_ASK_H

#include <stddef.h>

#include "mqtt.h"
#include "msg.h"

/* Publishes body as a `kind` request (MSG_TOPIC_REQUEST_NTP, MSG_TOPIC_REQUEST_TRACEROUTE) to monitor; returns
 * MOSQ_ERR_SUCCESS, another MOSQ_ERR_* (MOSQ_ERR_NO_CONN while the broker is away), or MOSQ_ERR_INVAL for a bad
 * env, monitor name or request id. */
int ask_monitor(struct mqtt_session *mq, const char *env, enum msg_topic_kind kind, const char *monitor,
                const char *request_id, const char *body);

#endif
