/* mqttreq.h — what ntpmonctl's MQTT commands (check, trace) share: a session as the broker token's subject with a
 * fresh request id (the correlation data and the last level of the response topics), and that request/response
 * topic pair for one monitor. */
#ifndef NTPMON_CTL_MQTTREQ_H
#define NTPMON_CTL_MQTTREQ_H

#include "ctl.h"
#include "evloop.h"
#include "mqtt.h"
#include "msg.h"

struct ctl_mqtt {
    struct evloop *loop;
    struct mqtt_session *mqtt;
    char request_id[40]; /* "<kind>-<16 hex digits>" */
};

/* Reads the token (--mqtt-token-file / $MQTT_TOKEN), makes a request id "<kind>-…" and a session (not started) that
 * subscribes to E/responses/+/<request_id>; 0, or the command's exit status after printing why. */
int ctl_mqtt_open(struct ctl_ctx *ctx, const char *kind, const struct mqtt_handlers *h, void *arg, struct ctl_mqtt *out);
/* Frees the session and the loop. */
void ctl_mqtt_close(struct ctl_mqtt *m);
/* Publishes body on monitor's request topic of `kind` (MSG_TOPIC_REQUEST_NTP or _TRACEROUTE) with the response topic
 * E/responses/<monitor>/<request_id>; true when sent. */
bool ctl_mqtt_ask(struct ctl_ctx *ctx, struct ctl_mqtt *m, enum msg_topic_kind kind, const char *monitor,
                  const char *body);

#endif
