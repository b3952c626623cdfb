/* reply.h — answering an MQTT 5 request (requests/ntp, requests/traceroute) on its response topic with its
 * correlation data: a JSON body, or {"error":"…"} when the request is refused. Failures are logged, never fatal. */
#ifndef NTPMON_AGENT_REPLY_H
#define NTPMON_AGENT_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "mqtt.h"

/* Publishes json on topic with the correlation data; true when handed to the broker. */
bool reply_json(struct mqtt_session *mq, const char *topic, const void *corr, uint16_t corr_len, const char *json);
/* Publishes {"error": error}; true when handed to the broker. */
bool reply_error(struct mqtt_session *mq, const char *topic, const void *corr, uint16_t corr_len, const char *error);

#endif
