/* ask.c — one request to one monitor, with its response topic and correlation data (see ask.h). */
#include "ask.h"

#include <stdio.h>
#include <string.h>

int ask_monitor(struct mqtt_session *mq, const char *env, enum msg_topic_kind kind, const char *monitor,
                const char *request_id, const char *body)
{
    struct msg_topic rq = {.kind = kind}, rs = {.kind = MSG_TOPIC_RESPONSE};
    snprintf(rq.monitor, sizeof rq.monitor, "%s", monitor);
    snprintf(rs.monitor, sizeof rs.monitor, "%s", monitor);
    snprintf(rs.request_id, sizeof rs.request_id, "%s", request_id);
    char rq_topic[MSG_TOPIC_MAX], rs_topic[MSG_TOPIC_MAX];
    if (!body || !msg_name_is_valid(request_id) || msg_topic_build(rq_topic, sizeof rq_topic, env, &rq) < 0 ||
        msg_topic_build(rs_topic, sizeof rs_topic, env, &rs) < 0)
        return MOSQ_ERR_INVAL;
    return mqtt_publish_request(mq, rq_topic, body, strlen(body), rs_topic, request_id, (uint16_t)strlen(request_id),
                                NULL);
}
