/* reply.c — the answers to ad-hoc requests, shared by the NTP checks (daemon.c) and traces (tracing.c). */
#include "reply.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"

bool reply_json(struct mqtt_session *mq, const char *topic, const void *corr, uint16_t corr_len, const char *json)
{
    int rc = mqtt_publish_response(mq, topic, json, strlen(json), corr, corr_len, NULL);
    if (rc != MOSQ_ERR_SUCCESS) LOG(WARN, "cannot answer on %s: %s", topic, mosquitto_strerror(rc));
    return rc == MOSQ_ERR_SUCCESS;
}

bool reply_error(struct mqtt_session *mq, const char *topic, const void *corr, uint16_t corr_len, const char *error)
{
    char *json = msg_error_encode(error);
    bool ok = json && reply_json(mq, topic, corr, corr_len, json);
    free(json);
    return ok;
}
