/* intake.c — one MQTT message to one entry: the shared validators of common/msg (results and traces), the samples
 * or hops as JSON text, and
 * for refused messages the bounded copy, the reason and the best-effort id/monitor that results_rejected keeps. */
#include "intake.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

static char *copy_bytes(const void *p, size_t n)
{
    char *out = xmalloc(n + 1);
    if (n) memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* A message on a traces topic (e->publisher is already the topic's monitor). */
static void intake_trace(const char *env, const char *topic, const void *payload, size_t len, struct entry *e)
{
    struct msg_trace *t = xmalloc(sizeof *t);
    char err[MSG_ERR_LEN];
    if (msg_trace_validate(env, topic, payload, len, t, err) < 0) {
        e->kind = ENTRY_REJECT;
        snprintf(e->reason, sizeof e->reason, "%s", err);
        msg_result_peek(payload, len, e->rec.id, e->rec.monitor); /* the same id and monitor fields */
        free(t);
        return;
    }
    e->kind = ENTRY_TRACE;
    memcpy(e->rec.id, t->id, sizeof e->rec.id);
    memcpy(e->rec.monitor, t->monitor, sizeof e->rec.monitor);
    e->rec.server_id = t->server_id;
    e->rec.ts_us = t->ts_us;
    memcpy(e->rec.ip, t->ip, sizeof e->rec.ip);
    memcpy(e->rec.agent, t->agent, sizeof e->rec.agent);
    e->trigger = t->trigger;
    e->port = t->port;
    e->reached = t->reached;
    e->rec.v = t->v;
    e->hops_json = msg_trace_hops_encode(t);
    free(t);
    if (!e->hops_json) { /* json-c out of memory: as fatal as xmalloc's */
        LOG(ERROR, "out of memory encoding hops");
        exit(70);
    }
}

void intake_message(const char *env, const char *topic, const void *payload, size_t len, int64_t now_us,
                    struct entry *e)
{
    memset(e, 0, sizeof *e);
    e->received_us = now_us;
    size_t tlen = topic ? strlen(topic) : 0;
    if (tlen > INTAKE_TOPIC_KEEP) { /* cut at a UTF-8 character boundary */
        tlen = INTAKE_TOPIC_KEEP;
        while (tlen > 0 && ((unsigned char)topic[tlen] & 0xC0) == 0x80) tlen--;
    }
    e->topic = copy_bytes(topic ? topic : "", tlen);
    e->payload_size = len;
    e->payload_len = len > INTAKE_PAYLOAD_KEEP ? INTAKE_PAYLOAD_KEEP : len;
    e->payload = copy_bytes(payload, e->payload_len);

    char err[MSG_ERR_LEN];
    if (msg_trace_topic_publisher(env, topic ? topic : "", e->publisher)) {
        intake_trace(env, topic, payload, len, e);
        return;
    }
    struct msg_result r;
    if (msg_result_validate(env, topic ? topic : "", payload, len, &r, err) < 0) {
        e->kind = ENTRY_REJECT;
        snprintf(e->reason, sizeof e->reason, "%s", err);
        msg_result_peek(payload, len, e->rec.id, e->rec.monitor);
        if (!msg_result_topic_publisher(env, topic ? topic : "", e->publisher)) e->publisher[0] = '\0';
        return;
    }
    e->kind = ENTRY_RESULT;
    msg_result_record_of(&r, &e->rec);
    memcpy(e->publisher, r.monitor, sizeof e->publisher); /* the validator made topic and payload agree */
    e->samples_json = msg_result_samples_encode(&r);
    if (!e->samples_json) { /* json-c out of memory: as fatal as xmalloc's */
        LOG(ERROR, "out of memory encoding samples");
        exit(70);
    }
}

void entry_reject(struct entry *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    e->kind = ENTRY_REJECT;
}

void entry_clear(struct entry *e)
{
    free(e->samples_json);
    free(e->hops_json);
    free(e->topic);
    free(e->payload);
    memset(e, 0, sizeof *e);
}

struct batch *batch_new(size_t cap)
{
    struct batch *b = xcalloc(1, sizeof *b);
    b->entries = xcalloc(cap ? cap : 1, sizeof *b->entries);
    b->cap = cap ? cap : 1;
    return b;
}

void batch_reset(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) entry_clear(&b->entries[i]);
    b->n = 0;
    b->first_mono_us = 0;
    b->next = NULL;
}

void batch_free(struct batch *b)
{
    if (!b) return;
    batch_reset(b);
    free(b->entries);
    free(b);
}
