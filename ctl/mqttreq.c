/* mqttreq.c — the MQTT session and request topics of ntpmonctl's check and trace. */
#include "mqttreq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ask.h"
#include "jwtpeek.h"

int ctl_mqtt_open(struct ctl_ctx *ctx, const char *kind, const struct mqtt_handlers *h, void *arg, struct ctl_mqtt *out)
{
    memset(out, 0, sizeof *out);
    char err[256];
    char *token = opts_mqtt_token(&ctx->mqtto, err, sizeof err);
    if (!token) return ctl_fail("%s", err);
    struct jwt_claims_peek claims;
    if (jwt_peek(token, &claims, err, sizeof err) < 0) {
        free(token);
        return ctl_fail("bad broker token: %s", err);
    }
    uint8_t rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) memset(rnd, 7, sizeof rnd);
    snprintf(out->request_id, sizeof out->request_id, "%.8s-%02x%02x%02x%02x%02x%02x%02x%02x", kind, rnd[0], rnd[1],
             rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    out->loop = evloop_new();
    char client_id[200];
    snprintf(client_id, sizeof client_id, "%s-%s", claims.sub, out->request_id);
    struct mqtt_config cfg = {.url = ctx->mqtto.url, .client_id = client_id, .username = claims.sub,
                              .password = token, .ca_file = ctx->mqtto.ca_file, .clean_start = true,
                              .backoff_min_us = 200000, .backoff_max_us = 1000000};
    out->mqtt = mqtt_session_new(out->loop, &cfg, h, arg, err, sizeof err);
    free(token);
    if (!out->mqtt) {
        evloop_free(out->loop);
        return ctl_fail("%s", err);
    }
    char prefix[64], filter[MSG_TOPIC_MAX];
    msg_prefix(prefix, sizeof prefix, ctx->common.env);
    snprintf(filter, sizeof filter, "%s/responses/+/%s", prefix, out->request_id);
    mqtt_session_subscribe(out->mqtt, filter, 1);
    return 0;
}

void ctl_mqtt_close(struct ctl_mqtt *m)
{
    mqtt_session_free(m->mqtt);
    evloop_free(m->loop);
    m->mqtt = NULL;
    m->loop = NULL;
}

bool ctl_mqtt_ask(struct ctl_ctx *ctx, struct ctl_mqtt *m, enum msg_topic_kind kind, const char *monitor,
                  const char *body)
{
    return ask_monitor(m->mqtt, ctx->common.env, kind, monitor, m->request_id, body) == MOSQ_ERR_SUCCESS;
}
