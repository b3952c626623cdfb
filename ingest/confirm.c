/* confirm.c — groups a committed batch's ids per publishing monitor, encodes them with msg_stored_encode and
 * keeps a FIFO of encoded messages until the broker takes them. */
#include "confirm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "xalloc.h"

struct pending {
    char *topic;
    char *payload;
    size_t n_ids;
    struct pending *next;
};

struct confirm {
    char env[MSG_ENV_MAX];
    size_t max_ids, n_ids;
    struct pending *head, *tail;
    unsigned long long dropped;
};

struct confirm *confirm_new(const char *env, size_t max_pending_ids)
{
    struct confirm *c = xcalloc(1, sizeof *c);
    snprintf(c->env, sizeof c->env, "%s", env);
    c->max_ids = max_pending_ids ? max_pending_ids : 1;
    return c;
}

static void pop(struct confirm *c)
{
    struct pending *p = c->head;
    c->head = p->next;
    if (!c->head) c->tail = NULL;
    c->n_ids -= p->n_ids;
    free(p->topic);
    free(p->payload);
    free(p);
}

void confirm_free(struct confirm *c)
{
    if (!c) return;
    while (c->head) pop(c);
    free(c);
}

size_t confirm_pending(const struct confirm *c) { return c->n_ids; }

static int cmp_publisher(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
    return strcmp(x->publisher, y->publisher);
}

static void enqueue(struct confirm *c, const char *monitor, struct msg_stored *st)
{
    struct msg_topic t = {.kind = MSG_TOPIC_STORED};
    snprintf(t.monitor, sizeof t.monitor, "%s", monitor);
    char topic[MSG_TOPIC_MAX];
    if (msg_topic_build(topic, sizeof topic, c->env, &t) < 0) return;
    char *payload = msg_stored_encode(st);
    if (!payload) {
        LOG(ERROR, "cannot encode a stored confirmation for %s (out of memory)", monitor);
        return;
    }
    struct pending *p = xcalloc(1, sizeof *p);
    p->topic = xstrdup(topic);
    p->payload = payload;
    p->n_ids = st->n_ids + st->n_rejected;
    if (c->tail) c->tail->next = p;
    else c->head = p;
    c->tail = p;
    c->n_ids += p->n_ids;
    size_t dropped = 0;
    while (c->n_ids > c->max_ids && c->head != c->tail) {
        dropped += c->head->n_ids;
        pop(c);
    }
    if (dropped) {
        c->dropped += dropped;
        LOG(WARN, "dropped %zu unsent confirmations (broker unreachable too long); their agents will re-send and be "
                  "confirmed again", dropped);
    }
}

void confirm_batch(struct confirm *c, const struct batch *b)
{
    const struct entry **v = xcalloc(b->n ? b->n : 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        const struct entry *e = &b->entries[i];
        if (e->outcome != OUTCOME_PENDING && e->rec.id[0] && e->publisher[0]) v[n++] = e;
    }
    qsort(v, n, sizeof *v, cmp_publisher);
    struct msg_stored st = {0};
    st.ids = xcalloc(n ? n : 1, sizeof *st.ids);
    st.rejected = xcalloc(n ? n : 1, sizeof *st.rejected);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        st.n_ids = st.n_rejected = 0;
        for (; j < n && strcmp(v[j]->publisher, v[i]->publisher) == 0; j++) {
            if (v[j]->outcome == OUTCOME_STORED) memcpy(st.ids[st.n_ids++], v[j]->rec.id, ULID_LEN + 1);
            else memcpy(st.rejected[st.n_rejected++], v[j]->rec.id, ULID_LEN + 1);
        }
        enqueue(c, v[i]->publisher, &st);
        i = j;
    }
    msg_stored_free(&st);
    free(v);
}

size_t confirm_flush(struct confirm *c, struct mqtt_session *s)
{
    size_t sent = 0;
    while (c->head) {
        struct pending *p = c->head;
        int rc = mqtt_publish(s, p->topic, p->payload, strlen(p->payload), 1, false, NULL);
        if (rc == MOSQ_ERR_NO_CONN) break;
        if (rc != MOSQ_ERR_SUCCESS)
            LOG(WARN, "cannot publish a confirmation on %s: %s (its agent will re-send)", p->topic,
                mosquitto_strerror(rc));
        else sent += p->n_ids;
        pop(c);
    }
    return sent;
}
