/* live.h — what ntpmon-web knows of the pool right now: its MQTT session (web role) and what arrives on it — the
 * monitors' retained statuses (the check roster), each server's last score and status, selection changes and
 * results, and the check responses — plus the server directory (id, address, score, in-pool, active and testing
 * monitors) loaded from the database every refresh interval and kept current from the score messages. Events for
 * one server are handed on as (server id, event name, JSON) for the streams. */
#ifndef NTPMON_WEB_LIVE_H
#define NTPMON_WEB_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "dbq.h"
#include "evloop.h"
#include "mqtt.h"
#include "msg.h"

struct live_server {
    int64_t id;
    char ip[MSG_IP_MAX];
    bool has_score;
    double score;
    int64_t score_ts_us;
    bool in_pool;
    char *active, *testing; /* monitor names, comma-separated; NULL when none */
};

struct live_handlers {
    /* A live event for one server: "score", "status", "selection" or "result" with its JSON (one line). Retained
     * messages replayed by the broker after a (re)connect are passed on only when they changed something. */
    void (*on_event)(int64_t server_id, const char *event, const char *json, size_t len, void *arg);
    /* A message on E/responses/<monitor>/<request_id> (an answer to some check). */
    void (*on_response)(const char *monitor, const char *request_id, const void *payload, size_t len, void *arg);
};

struct live_config {
    const char *env;
    struct mqtt_config mqtt;
    int64_t refresh_us;      /* server directory reload */
    int64_t roster_settle_us; /* after a reconnect, monitors not heard of again within this are forgotten */
};

struct live;
/* Starts the session and the first directory load. NULL with a reason in err (bad MQTT config). */
struct live *live_start(struct evloop *loop, struct dbq *db, const struct live_config *cfg,
                        const struct live_handlers *h, void *arg, char *err, size_t err_len);
/* Disconnects (DISCONNECT sent) and stops reloading. */
void live_stop(struct live *l);
void live_free(struct live *l);

struct mqtt_session *live_mqtt(struct live *l);
const struct check_roster *live_roster(const struct live *l);
/* True while connected to the broker; otherwise why not. */
bool live_broker_up(const struct live *l, char *why, size_t len);
/* True once the directory was loaded at least once. */
bool live_directory_loaded(const struct live *l);

/* The directory, sorted by id. */
const struct live_server *live_servers(const struct live *l, size_t *n);
const struct live_server *live_server_by_id(const struct live *l, int64_t id);
const struct live_server *live_server_by_ip(const struct live *l, const char *ip);
/* Adds a server a database lookup found before the next reload has it. */
void live_server_add(struct live *l, int64_t id, const char *ip);
/* The last score message of a server (NULL when none was seen). */
const struct msg_score *live_score(const struct live *l, int64_t id);

#endif
