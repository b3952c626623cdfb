/* mqtt.h — an MQTT v5 session over libmosquitto, driven by our evloop: connect with a token (TLS for mqtts://),
 * a will, persistent sessions (clean start off + session expiry, re-sent on every reconnect), automatic
 * re-subscription, reconnect with jittered exponential backoff, QoS 1 publish, and MQTT 5 response topic +
 * correlation data. Connecting never blocks the loop: the TCP connect runs on a short-lived thread.
 * Handlers run inside libmosquitto: they may publish and subscribe, but must not call mqtt_session_flush, _stop,
 * _free or _reconnect (stop the loop, or arm a timer, and do it from there). */
#ifndef NTPMON_MQTT_H
#define NTPMON_MQTT_H

#include <mosquitto.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"

struct mqtt_session;

struct mqtt_config {
    const char *url;            /* mqtt://host[:port] or mqtts://host[:port]; IPv6 as [addr] */
    const char *client_id;      /* required for persistent sessions */
    const char *username;       /* token sub */
    const char *password;       /* the JWT */
    const char *ca_file;        /* mqtts: CA file; NULL = system store */
    bool clean_start;           /* false: keep the session (subscriptions, queued QoS 1) while away */
    uint32_t session_expiry_s;  /* with clean_start false; 0 = 7 days */
    int keepalive_s;            /* 0 = 30 */
    const char *will_topic;     /* optional */
    const char *will_payload;
    bool will_retain;
    int64_t backoff_min_us, backoff_max_us; /* 0 = 500 ms .. 30 s */
    int64_t connect_timeout_us; /* 0 = 15 s */
    int receive_maximum;        /* QoS 1 messages the broker may have in flight to us; 0 = library default */
};

struct mqtt_handlers {
    /* Connected (CONNACK success); subscriptions are already re-sent. */
    void (*on_connect)(struct mqtt_session *s, bool session_present, void *arg);
    /* Connection lost or refused; a reconnect is already scheduled. reason: MQTT reason code or MOSQ_ERR_*. */
    void (*on_disconnect)(struct mqtt_session *s, int reason, const char *why, void *arg);
    void (*on_message)(struct mqtt_session *s, const struct mosquitto_message *msg, const mosquitto_property *props,
                       void *arg);
    /* The broker acknowledged a QoS 1 publish (PUBACK), or refused it (reason ≥ 0x80). */
    void (*on_publish)(struct mqtt_session *s, int mid, int reason, void *arg);
};

/* The client id a session uses: the broker-auth plugin accepts only `sub` or `sub:<suffix>` (no client can take
 * over another party's session), so with a username `wanted` becomes the suffix unless it already has that form;
 * without a username `wanted` is used as it is. */
void mqtt_client_id_for(const char *username, const char *wanted, char *out, size_t len);

/* Parses an MQTT URL; 0 on success. */
int mqtt_url_parse(const char *url, char *host, size_t host_len, int *port, bool *tls);

/* Creates a session (copies the config); does not connect yet. NULL with a reason in err on a bad config. */
struct mqtt_session *mqtt_session_new(struct evloop *loop, const struct mqtt_config *cfg,
                                      const struct mqtt_handlers *h, void *arg, char *err, size_t err_len);
/* Starts connecting (and keeps reconnecting until stopped). */
void mqtt_session_start(struct mqtt_session *s);
/* Sends DISCONNECT (the will is not published) and stops reconnecting. */
void mqtt_session_stop(struct mqtt_session *s);
void mqtt_session_free(struct mqtt_session *s);
bool mqtt_session_connected(const struct mqtt_session *s);
/* New credentials for the next connection (token renewal); call mqtt_session_reconnect to use them now. */
void mqtt_session_set_credentials(struct mqtt_session *s, const char *username, const char *password);
/* Changes the broker URL/CA for the next connection. */
void mqtt_session_set_url(struct mqtt_session *s, const char *url, const char *ca_file);
/* Drops the connection and connects again at once. */
void mqtt_session_reconnect(struct mqtt_session *s);
/* Remembers a subscription; it is (re)sent on every connect. */
void mqtt_session_subscribe(struct mqtt_session *s, const char *filter, int qos);
/* Stops (true) or resumes (false) reading from the broker while connected: messages then stay queued at the
 * broker (libmosquitto acknowledges QoS 1 on receipt, so this is the only back-pressure an application has).
 * Writes go on; a reconnect still reads its CONNACK. A pause longer than about twice the keepalive ends in a
 * keepalive timeout and a reconnect, which loses nothing (unread messages were never acknowledged). */
void mqtt_session_pause_reading(struct mqtt_session *s, bool paused);
/* QoS 1 publishes not yet acknowledged by the broker on the current connection. */
int mqtt_session_unacked(const struct mqtt_session *s);
/* Flushes pending output (e.g. before exit); waits at most timeout_us. */
void mqtt_session_flush(struct mqtt_session *s, int64_t timeout_us);

/* Publishes; returns MOSQ_ERR_SUCCESS, MOSQ_ERR_NO_CONN when not connected, or another MOSQ_ERR_*. */
int mqtt_publish(struct mqtt_session *s, const char *topic, const void *payload, size_t len, int qos, bool retain,
                 int *mid);
/* Publishes a request carrying an MQTT 5 response topic and correlation data. */
int mqtt_publish_request(struct mqtt_session *s, const char *topic, const void *payload, size_t len,
                         const char *response_topic, const void *corr, uint16_t corr_len, int *mid);
/* Publishes a response carrying the request's correlation data (QoS 1, not retained). */
int mqtt_publish_response(struct mqtt_session *s, const char *topic, const void *payload, size_t len,
                          const void *corr, uint16_t corr_len, int *mid);
/* Reads response topic and correlation data from a message's properties (malloc'd; NULL when absent). */
void mqtt_props_response(const mosquitto_property *props, char **response_topic, void **corr, uint16_t *corr_len);

#endif
