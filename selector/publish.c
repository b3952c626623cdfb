/* publish.c — assign and selection messages (publish.h), encoded by common/msg. */
#include "publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbio.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

void publisher_init(struct publisher *pb, struct mqtt_session *mqtt, struct db *db, const char *env)
{
    memset(pb, 0, sizeof *pb);
    pb->mqtt = mqtt;
    pb->db = db;
    pb->env = env;
    if (db && dbio_assign_seq_max(db, &pb->last_seq) < 0)
        LOG(WARN, "cannot read the last assign seq (%s); continuing from the clock", db_error(db));
}

int64_t publisher_next_seq(struct publisher *pb, int64_t now_us)
{
    int64_t seq = now_us / 1000;
    if (seq <= pb->last_seq) seq = pb->last_seq + 1;
    pb->last_seq = seq;
    return seq;
}

struct record {
    int64_t monitor_id, seq;
    size_t n;
};

static int publish_one(struct publisher *pb, struct pool *pool, uint32_t mon, const struct sel_settings *cfg,
                       int64_t now_us, struct record *rec)
{
    struct pool_monitor *m = &pool->mon[mon];
    char topic[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_ASSIGN};
    snprintf(t.monitor, sizeof t.monitor, "%s", m->name);
    if (msg_topic_build(topic, sizeof topic, pb->env, &t) < 0) {
        LOG(WARN, "monitor %lld: name '%s' cannot be a topic level; no assignment published", (long long)m->id, m->name);
        m->sent = m->want;
        m->published = true;
        return 0;
    }
    struct msg_assign a;
    pool_work_list(pool, mon, cfg, &a);
    a.ts_us = now_us;
    a.seq = publisher_next_seq(pb, now_us);
    char *json = msg_assign_encode(&a);
    size_t len = json ? strlen(json) : 0;
    if (len > MSG_MAX_ASSIGN_PAYLOAD) {
        /* the broker (max_packet_size) and every agent would refuse it: say so plainly instead of retrying blind */
        LOG(ERROR, "the assignment of %s (%zu servers) is %zu bytes, above the %d-byte limit of agents and broker; "
                   "not published (the monitor keeps its previous work list)",
            m->name, a.n_servers, len, MSG_MAX_ASSIGN_PAYLOAD);
        pb->failures++;
        free(json);
        msg_assign_free(&a);
        return -1;
    }
    int rc = json ? mqtt_publish(pb->mqtt, topic, json, len, 1, true, NULL) : MOSQ_ERR_NOMEM;
    if (rc == MOSQ_ERR_SUCCESS) {
        m->sent = m->want;
        m->published = true;
        m->last_seq = a.seq;
        *rec = (struct record){m->id, a.seq, a.n_servers};
        pb->assigns++;
        pb->assign_bytes += len;
        LOG(DEBUG, "assign %s: %zu servers, seq %lld", m->name, a.n_servers, (long long)a.seq);
    } else {
        pb->failures++;
        LOG(WARN, "publishing the assignment of %s failed: %s (retried)", m->name, mosquitto_strerror(rc));
    }
    free(json);
    msg_assign_free(&a);
    return rc == MOSQ_ERR_SUCCESS ? 1 : -1;
}

size_t publish_assigns(struct publisher *pb, struct pool *pool, const struct sel_settings *cfg, int64_t now_us,
                       bool force)
{
    if (!pb->mqtt || !mqtt_session_connected(pb->mqtt)) return 0;
    struct record *recs = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < pool->n_mon; i++) {
        struct pool_monitor *m = &pool->mon[i];
        if (m->dirty || !m->published) pool_work_hash(pool, (uint32_t)i, cfg);
        if (!force && m->published && m->want == m->sent) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            recs = xrealloc(recs, cap * sizeof *recs);
        }
        if (publish_one(pb, pool, (uint32_t)i, cfg, now_us, &recs[n]) == 1) n++;
        else if (!mqtt_session_connected(pb->mqtt)) break;
    }
    /* The seq high-water mark, in one transaction; a failure here only weakens the restart guarantee. */
    if (n && pb->db) {
        bool ok = db_begin(pb->db) == 0;
        for (size_t i = 0; ok && i < n; i++)
            ok = dbio_assign_record(pb->db, recs[i].monitor_id, recs[i].seq, recs[i].n, now_us) == 0;
        if (ok) ok = db_commit(pb->db) == 0;
        if (!ok) {
            LOG(WARN, "recording published assignments failed: %s", db_error(pb->db));
            db_rollback(pb->db);
        }
    }
    free(recs);
    return n;
}

char *selection_json(const struct review_outcome *o, int64_t now_us)
{
    struct msg_selection sel = {.server_id = o->rows.server.id, .ts_us = now_us, .n_changes = o->res.n_changes};
    sel.changes = xcalloc(o->res.n_changes ? o->res.n_changes : 1, sizeof *sel.changes);
    for (size_t i = 0; i < o->res.n_changes; i++) {
        const struct sel_change *c = &o->res.changes[i];
        struct msg_selection_change *d = &sel.changes[i];
        snprintf(d->monitor, sizeof d->monitor, "%s", o->rows.pairs[c->pair].monitor_name);
        d->from = c->from;
        d->to = c->to;
        snprintf(d->reason, sizeof d->reason, "%s", c->reason);
    }
    char *json = msg_selection_encode(&sel);
    msg_selection_free(&sel);
    return json;
}

int publish_selection(struct publisher *pb, const struct review_outcome *o, int64_t now_us)
{
    if (!o->res.n_changes || !pb->mqtt) return 0;
    char topic[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_SELECTION, .server_id = o->rows.server.id};
    if (msg_topic_build(topic, sizeof topic, pb->env, &t) < 0) return -1;
    char *json = selection_json(o, now_us);
    int rc = json ? mqtt_publish(pb->mqtt, topic, json, strlen(json), 1, false, NULL) : MOSQ_ERR_NOMEM;
    free(json);
    if (rc != MOSQ_ERR_SUCCESS) {
        pb->failures++;
        LOG(WARN, "publishing the selection of server %lld failed: %s", (long long)o->rows.server.id,
            mosquitto_strerror(rc));
        return -1;
    }
    pb->selections++;
    return 0;
}
