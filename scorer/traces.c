/* traces.c — pool-change trace requests: who watches the server (one query), then one request per monitor. */
#include "traces.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"

struct ask_ctx {
    struct mqtt_session *mq;
    const char *env;
    int64_t server_id;
    int asked;
};

static int ask_one(void *arg, const struct db_row *row)
{
    struct ask_ctx *c = arg;
    struct msg_topic t = {.kind = MSG_TOPIC_REQUEST_TRACEROUTE};
    snprintf(t.monitor, sizeof t.monitor, "%s", db_row_str(row, 0));
    struct msg_traceroute_request req = {.has_server_id = true, .server_id = c->server_id,
                                         .trigger = MSG_TRIGGER_POOL_CHANGE};
    snprintf(req.ip, sizeof req.ip, "%s", db_row_str(row, 1));
    char topic[MSG_TOPIC_MAX];
    if (msg_topic_build(topic, sizeof topic, c->env, &t) < 0) return 0; /* a name no agent can have */
    char *body = msg_traceroute_request_encode(&req);
    int rc = body ? mqtt_publish(c->mq, topic, body, strlen(body), 1, false, NULL) : MOSQ_ERR_NOMEM;
    free(body);
    if (rc == MOSQ_ERR_SUCCESS) c->asked++;
    else LOG(WARN, "cannot ask %s to trace server %" PRId64 ": %s", t.monitor, c->server_id, mosquitto_strerror(rc));
    return 0;
}

int sc_request_traces(struct db *db, struct mqtt_session *mq, const char *env, int64_t server_id)
{
    static const char sql[] =
        "SELECT m.name, s.ip FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id "
        "JOIN servers s ON s.id = ss.server_id WHERE ss.server_id = ? AND ss.status IN ('active', 'testing') "
        "AND m.status NOT IN ('paused', 'deleted') AND m.type = 'monitor' ORDER BY m.name";
    struct ask_ctx c = {.mq = mq, .env = env, .server_id = server_id};
    struct db_param p[] = {DB_INT(server_id)};
    if (db_query(db, sql, p, 1, ask_one, &c) < 0) {
        LOG(WARN, "cannot find the monitors of server %" PRId64 " to ask for traces: %s", server_id, db_error(db));
        return -1;
    }
    LOG(INFO, "asked %d monitor(s) to trace server %" PRId64 " (pool change)", c.asked, server_id);
    return c.asked;
}
