/* broker.h — a tiny fake of the mosquitto 2.0 broker functions the broker-auth plugin calls (callback
 * registration, client accessors, logging, kicks) and of the wall clock, so unit tests and the fuzzer can drive
 * the plugin's real callbacks (plugin.c linked as is) without a broker. Not thread-safe; one plugin at a time. */
#ifndef NTPMON_FAKE_BROKER_H
#define NTPMON_FAKE_BROKER_H

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The broker's client context, as far as the plugin can see it. */
struct mosquitto {
    char id[128];
    char address[64];
    bool clean_session;
};

/* The fake wall clock: time() returns it when non-zero (else the real time). */
extern int64_t fake_now_s;

/* Forgets every registered callback, the log and the kicks. */
void fake_broker_reset(void);
/* Starts the plugin with "key=value" options (n of them); the plugin's init return code. */
int fake_broker_start(const char *const *options, int n);
/* Stops the plugin (mosquitto_plugin_cleanup). */
void fake_broker_stop(void);
/* Sends one event to the registered callback; its return code, or -1000 when none is registered. */
int fake_broker_event(int event, void *event_data);
/* Shorthands for the events the plugin handles: their return codes. */
int fake_broker_auth(struct mosquitto *ctx, const char *username, const char *password);
int fake_broker_acl(struct mosquitto *ctx, int access, const char *topic, uint32_t payloadlen);
int fake_broker_disconnect(struct mosquitto *ctx);
int fake_broker_tick(void);
int fake_broker_reload(void);
/* Everything the plugin logged since the last reset, one line each. */
const char *fake_broker_log(void);
/* How many times mosquitto_kick_client_by_clientid was called, and the last id it was given. */
int fake_broker_kicks(const char **last_id);
/* Quiet: do not echo log lines as TAP comments. */
extern bool fake_broker_quiet;

#endif
