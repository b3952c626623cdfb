/* check.h — the ad-hoc NTP check of DESIGN.md §2/§9 with the pool's mqserver semantics, shared by `ntpmonctl check`
 * and ntpmon-web: the roster of monitors (from their retained status messages), and one check's fan-out — the online
 * monitors serving the target's family are asked in a random order on requests/ntp (MQTT 5 response topic +
 * correlation data), one every `spacing` unless `all` (then all at once); the check ends after `want_healthy`
 * healthy answers (no error, leap ≠ 3, stratum 1..7) unless `all`, when every asked monitor has answered, or at the
 * deadline (asked monitors still silent are then reported as "no answer (timeout)"). Runs on the caller's evloop
 * and MQTT session; the caller subscribes to msg_filter_responses and routes response messages to it
 * (check_response). */
#ifndef NTPMON_CHECK_H
#define NTPMON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "mqtt.h"
#include "msg.h"
#include "netaddr.h"
#include "ulid.h"

#define CHECK_DEFAULT_SPACING_US 400000
#define CHECK_DEFAULT_DEADLINE_US 8000000
#define CHECK_DEFAULT_HEALTHY 3
#define CHECK_REQUEST_ID_LEN MSG_NAME_MAX

/* ---------- the roster: every monitor's last status ---------- */

struct check_monitor {
    char name[MSG_NAME_MAX];
    struct msg_monitor_status status;
    int64_t seen_us; /* wall clock when the status arrived */
};

struct check_roster {
    struct check_monitor *m; /* sorted by name */
    size_t n, cap;
};

/* Frees the roster's memory (it may be used again, empty). */
void check_roster_free(struct check_roster *r);
/* Applies a monitor's status message (an empty retained payload forgets the monitor); 0, or -1 with err. */
int check_roster_update(struct check_roster *r, const char *name, const void *payload, size_t len, int64_t now_us,
                        char err[MSG_ERR_LEN]);
/* True when the monitor is online and probes the family (4 or 6). */
bool check_monitor_serves(const struct check_monitor *m, int family);
/* How many online monitors probe the family. */
size_t check_roster_serving(const struct check_roster *r, int family);

/* ---------- one check ---------- */

struct check_params {
    bool all;             /* ask every online monitor at once, and wait for all of them */
    int want_healthy;     /* stop after this many healthy answers (unless all) */
    int samples;          /* queries per monitor, 1..MSG_REQUEST_MAX_SAMPLES */
    int64_t spacing_us;   /* between two requests (unless all) */
    int64_t deadline_us;  /* from the start */
};
/* The pool's values: not all, 3 healthy, 1 sample, 400 ms apart, 8 s deadline. */
void check_params_default(struct check_params *p);

struct check_answer {
    const char *monitor;
    const struct msg_result *result; /* NULL when the monitor answered with an error or not at all */
    const char *error;               /* NULL with a result */
    bool healthy;
    int64_t since_start_us;          /* from check_start to this answer */
    int64_t since_asked_us;          /* from the request to this monitor to its answer */
};

struct check;
/* Handlers may publish and start other checks, but must not free this one (do it from a timer or later). */
struct check_handlers {
    /* One monitor's answer (or its timeout at the deadline). */
    void (*on_answer)(struct check *c, const struct check_answer *a, void *arg);
    /* The check ended (after its last answer); c stays valid until check_free. Not called from check_start. */
    void (*on_done)(struct check *c, void *arg);
};

/* True when an answer counts as healthy: no error, leap ≠ 3, stratum 1..7 (the pool's rule). */
bool check_result_healthy(const struct msg_result *r);

/* Starts a check of ip (any literal; judged by its family) with the monitors of the roster that serve its family
 * now, under request_id (the last level of its response topics; NULL: a new ULID). NULL with a reason in err when
 * no monitor serves the family or the address is not a literal. The first request goes out at once (a request
 * that cannot be sent is reported as that monitor's error). */
struct check *check_start(struct evloop *loop, struct mqtt_session *mq, const char *env,
                          const struct check_roster *roster, const char *ip, const char *request_id,
                          const struct check_params *p, const struct check_handlers *h, void *arg, char *err,
                          size_t err_len);
/* Feeds a message from E/responses/<monitor>/<request_id>; true when it belonged to this check. */
bool check_response(struct check *c, const char *monitor, const char *request_id, const void *payload, size_t len);
/* The request id every response topic of this check carries. */
const char *check_request_id(const struct check *c);
/* Ends the check now without further callbacks and frees it (NULL is fine). */
void check_free(struct check *c);

#endif
