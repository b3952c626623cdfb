/* msg.h — the message schema of DESIGN.md §2: every topic string and every JSON field name lives here and
 * nowhere else. Encoders return a malloc'd JSON string (free() it); decoders validate every field and fill
 * `err` with a one-line reason instead of crashing. Unknown fields are ignored (forward compatibility).
 *
 * Result fields (a result is what one probe of one server produced):
 *   required: v (=1), id (ULID), monitor, ip, ts, stratum, leap, refid, error, samples[]
 *   optional: server_id (absent only in `check` output and ad-hoc responses), status, offset, rtt, agent
 *   each sample: ts, stratum, leap, refid, error required; offset, rtt optional.
 *   error "" means the chosen sample is good, and then offset and rtt are present. */
#ifndef NTPMON_MSG_H
#define NTPMON_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ulid.h"

#define MSG_ERR_LEN 160
#define MSG_TOPIC_MAX 256
#define MSG_NAME_MAX 64       /* monitor names: 1..63 of [A-Za-z0-9._-] */
#define MSG_ENV_MAX 16        /* env names: 1..15 of [a-z0-9_-] */
#define MSG_IP_MAX 46
#define MSG_REFID_MAX 16
#define MSG_ERROR_MAX 128
#define MSG_AGENT_MAX 64
#define MSG_MAX_SAMPLES 16
#define MSG_MAX_PAYLOAD 65536 /* any larger message is refused before parsing (and by the broker plugin) */
/* The broker's max_packet_size (conf/mosquitto.conf, the test harness): the largest legitimate message is an assign
 * work list (≈ 90 bytes a server: 6 000 servers, ten times today's pool, ≈ 530 KB), so 2 MiB leaves room for
 * ~23 000 servers on one monitor while capping what any client can make the broker read. */
#define MSG_MAX_PACKET (2 * 1024 * 1024)
/* assign's own cap: the packet limit less room for the MQTT header, topic and properties */
#define MSG_MAX_ASSIGN_PAYLOAD (MSG_MAX_PACKET - 64 * 1024)
#define MSG_MAX_OFFSET 4294967296.0 /* one NTP era in seconds: larger offsets cannot be measured */
#define MSG_MAX_RTT 3600.0
#define MSG_MAX_SERVER_ID 9007199254740991LL /* 2^53 - 1: exact in every JSON reader */
#define MSG_REQUEST_MAX_SAMPLES 4
#define MSG_ZONE_MAX 16             /* = ZONE_MAX (common/zone.h) */
#define MSG_ZONE_MONITORS_MAX 64    /* monitors named in a zone alert */

/* ---------- names and topics ---------- */

enum msg_topic_kind {
    MSG_TOPIC_UNKNOWN = 0,
    MSG_TOPIC_MONITOR_STATUS, /* E/monitors/<name>/status */
    MSG_TOPIC_ASSIGN,         /* E/monitors/<name>/assign */
    MSG_TOPIC_REQUEST_NTP,    /* E/monitors/<name>/requests/ntp */
    MSG_TOPIC_RESPONSE,       /* E/responses/<name>/<request_id> */
    MSG_TOPIC_RESULT,         /* E/results/<server_id>/<name> */
    MSG_TOPIC_STORED,         /* E/monitors/<name>/stored */
    MSG_TOPIC_TOKEN_REQUEST,  /* E/monitors/<name>/token/request */
    MSG_TOPIC_TOKEN,          /* E/monitors/<name>/token */
    MSG_TOPIC_SCORES,         /* E/scores/<server_id> */
    MSG_TOPIC_SERVER_STATUS,  /* E/status/servers/<server_id> */
    MSG_TOPIC_SELECTION,      /* E/status/selection/<server_id> */
    MSG_TOPIC_REQUEST_TRACEROUTE, /* E/monitors/<name>/requests/traceroute */
    MSG_TOPIC_TRACE,          /* E/traces/<server_id>/<name> */
    MSG_TOPIC_ZONE_STATUS,    /* E/status/zones/<zone> */
};

struct msg_topic {
    enum msg_topic_kind kind;
    char monitor[MSG_NAME_MAX];    /* kinds with <name> */
    int64_t server_id;             /* kinds with <server_id> */
    char request_id[MSG_NAME_MAX]; /* MSG_TOPIC_RESPONSE */
    char zone[MSG_ZONE_MAX];       /* MSG_TOPIC_ZONE_STATUS: an accepted zone (common/zone.h) */
};

/* True for a valid monitor name (also usable as an MQTT topic level and a client id). */
bool msg_name_is_valid(const char *name);
/* True for a valid env name. */
bool msg_env_is_valid(const char *env);
/* The topic prefix "ntpmon/<env>"; returns 0, or -1 when env is invalid. */
int msg_prefix(char *buf, size_t len, const char *env);
/* The largest payload any reader of this topic accepts: MSG_MAX_ASSIGN_PAYLOAD on an assign topic of env,
 * MSG_MAX_PAYLOAD on every other (the broker plugin refuses larger publishes). */
size_t msg_max_payload(const char *env, const char *topic);
/* Builds the topic of `t` (fields the kind does not use are ignored); 0 on success, -1 on a bad name/id. */
int msg_topic_build(char *buf, size_t len, const char *env, const struct msg_topic *t);
/* Parses a topic of env into kind and fields; returns the kind (MSG_TOPIC_UNKNOWN when it is not ours). */
enum msg_topic_kind msg_topic_parse(const char *env, const char *topic, struct msg_topic *out);

/* Subscription filters. */
int msg_filter_results(char *buf, size_t len, const char *env);                    /* E/results/# */
int msg_filter_results_shared(char *buf, size_t len, const char *group, const char *env); /* $share/G/E/results/# */
int msg_filter_monitor_all(char *buf, size_t len, const char *env, const char *name); /* E/monitors/<name>/# */
int msg_filter_monitor_statuses(char *buf, size_t len, const char *env);         /* E/monitors/+/status */
int msg_filter_token_requests(char *buf, size_t len, const char *env);           /* E/monitors/+/token/request */
int msg_filter_selection(char *buf, size_t len, const char *env);                /* E/status/selection/# */
int msg_filter_scores(char *buf, size_t len, const char *env);                   /* E/scores/# */
int msg_filter_traces(char *buf, size_t len, const char *env);                   /* E/traces/# */
int msg_filter_traces_shared(char *buf, size_t len, const char *group, const char *env); /* $share/G/E/traces/# */
int msg_filter_status_all(char *buf, size_t len, const char *env);               /* E/status/# */
int msg_filter_responses(char *buf, size_t len, const char *env);                /* E/responses/+/+ */

/* ---------- shared enums ---------- */

enum msg_pair_status { MSG_STATUS_NONE = 0, MSG_STATUS_CANDIDATE, MSG_STATUS_TESTING, MSG_STATUS_ACTIVE, MSG_STATUS_PAUSED };
/* "candidate", "testing", "active", "paused" ("" for NONE). */
const char *msg_pair_status_str(enum msg_pair_status s);
/* Parses the names above; returns MSG_STATUS_NONE for anything else. */
enum msg_pair_status msg_pair_status_parse(const char *s);

/* Formats a number with up to 9 decimals and trailing zeros trimmed ("0.000123", "20", "-3.5"); very large
 * magnitudes fall back to %.17g. Used in JSON and the pool's CSV so both print the same digits. */
void msg_format_number(double v, char out[48]);
/* The same through printf alone (the definition msg_format_number must match; for tests). */
void msg_format_number_reference(double v, char out[48]);
/* A json-c number printed as msg_format_number does, for JSON built outside this module (NULL: no memory). */
struct json_object *msg_json_number(double v);

/* ---------- result ---------- */

struct msg_sample {
    int64_t ts_us;
    bool has_offset, has_rtt;
    double offset, rtt; /* seconds */
    int stratum, leap;
    char refid[MSG_REFID_MAX];
    char error[MSG_ERROR_MAX];
};

struct msg_result {
    int v;
    char id[ULID_LEN + 1];
    char monitor[MSG_NAME_MAX];
    bool has_server_id;
    int64_t server_id;
    char ip[MSG_IP_MAX];
    int64_t ts_us;
    enum msg_pair_status status; /* NONE when absent */
    bool has_offset, has_rtt;
    double offset, rtt;
    int stratum, leap;
    char refid[MSG_REFID_MAX];
    char error[MSG_ERROR_MAX];
    size_t n_samples;
    struct msg_sample samples[MSG_MAX_SAMPLES];
    char agent[MSG_AGENT_MAX];
};

/* One result without its samples: every field ingest stores and the scorer scores, passed from the decoder to
 * the stores as one record (a decoded message with its samples is ~3.4 KB; this is ~400 B). */
struct msg_result_record {
    int v;
    char id[ULID_LEN + 1];
    char monitor[MSG_NAME_MAX];
    int64_t server_id; /* 0 when absent */
    char ip[MSG_IP_MAX];
    int64_t ts_us;
    enum msg_pair_status status;
    bool has_offset, has_rtt;
    double offset, rtt;
    int stratum, leap;
    char refid[MSG_REFID_MAX];
    char error[MSG_ERROR_MAX];
    char agent[MSG_AGENT_MAX];
};
/* The record of a decoded result: everything but the samples. */
void msg_result_record_of(const struct msg_result *r, struct msg_result_record *out);

char *msg_result_encode(const struct msg_result *r);
int msg_result_decode(const char *payload, size_t len, struct msg_result *out, char err[MSG_ERR_LEN]);
/* The shared validator of DESIGN.md §2: size, schema, a server_id present, and the topic's server id and
 * monitor name equal to the payload's. Ingest, scorer and selector all call this; 0 when valid. */
int msg_result_validate(const char *env, const char *topic, const char *payload, size_t len,
                        struct msg_result *out, char err[MSG_ERR_LEN]);
/* The samples of a result as the JSON array of the message (same fields and number format): what ingest stores
 * in results.samples. malloc'd; NULL when out of memory. */
char *msg_result_samples_encode(const struct msg_result *r);
/* Best effort for a payload the validator refused: its id when that is a readable ULID (upper-cased) and its
 * monitor when that is a valid name; each is "" otherwise (always for payloads above MSG_MAX_PAYLOAD: those are
 * never parsed). Never fails, never trusts the payload. */
void msg_result_peek(const char *payload, size_t len, char id[ULID_LEN + 1], char monitor[MSG_NAME_MAX]);
/* The monitor that published on a results topic: the last level of ntpmon/<env>/results/<anything>/<name> when it
 * is a valid name (the broker's ACL ties that level to the publisher even when the server id level is bad). */
bool msg_result_topic_publisher(const char *env, const char *topic, char name[MSG_NAME_MAX]);
/* True when the error means no reply at all ("timeout" or "network: …"). */
bool msg_error_is_no_response(const char *error);

/* ---------- monitor status (retained; the will is {"online":false}) ---------- */

struct msg_monitor_status {
    bool online;
    char version[MSG_AGENT_MAX];
    bool ipv4, ipv6;
    int clock_ok; /* 1 ok, 0 bad, -1 unknown (null: no reference configured) */
    int64_t spool, spool_dropped;
    int64_t ts_us; /* 0 when absent */
};
char *msg_monitor_status_encode(const struct msg_monitor_status *s);
int msg_monitor_status_decode(const char *payload, size_t len, struct msg_monitor_status *out,
                              char err[MSG_ERR_LEN]);

/* ---------- assign (retained; the whole work list) ---------- */

struct msg_assign_server {
    int64_t id;
    char ip[MSG_IP_MAX];
    enum msg_pair_status status;
    int interval_s; /* 1..604800 */
    int samples;    /* 1..16 */
};
struct msg_assign {
    int64_t seq; /* publish time in ms, always grows */
    int64_t ts_us;
    size_t n_servers;
    struct msg_assign_server *servers; /* malloc'd; msg_assign_free() */
};
char *msg_assign_encode(const struct msg_assign *a);
int msg_assign_decode(const char *payload, size_t len, struct msg_assign *out, char err[MSG_ERR_LEN]);
void msg_assign_free(struct msg_assign *a);

/* ---------- ad-hoc requests and error replies ---------- */

struct msg_ntp_request {
    char ip[MSG_IP_MAX];
    int samples; /* 1..MSG_REQUEST_MAX_SAMPLES, default 1 */
};
char *msg_ntp_request_encode(const struct msg_ntp_request *r);
int msg_ntp_request_decode(const char *payload, size_t len, struct msg_ntp_request *out, char err[MSG_ERR_LEN]);
/* {"error":"…"}: the reply to a refused request, and the token service's refusal. */
char *msg_error_encode(const char *error);
/* True when the payload is an {"error":…} object; copies the text. */
bool msg_error_decode(const char *payload, size_t len, char *error, size_t error_len);

/* ---------- stored confirmations ---------- */

struct msg_stored {
    size_t n_ids, n_rejected;
    char (*ids)[ULID_LEN + 1]; /* malloc'd; msg_stored_free() */
    char (*rejected)[ULID_LEN + 1];
};
char *msg_stored_encode(const struct msg_stored *s);
int msg_stored_decode(const char *payload, size_t len, struct msg_stored *out, char err[MSG_ERR_LEN]);
void msg_stored_free(struct msg_stored *s);

/* ---------- token renewal ---------- */

char *msg_token_request_encode(void); /* {} */
struct msg_token {
    char *token; /* malloc'd, NULL on error replies; msg_token_free() */
    int64_t exp;
    char error[MSG_ERROR_MAX]; /* "" unless the service refused */
};
char *msg_token_encode(const struct msg_token *t);
int msg_token_decode(const char *payload, size_t len, struct msg_token *out, char err[MSG_ERR_LEN]);
void msg_token_free(struct msg_token *t);

/* ---------- scores and status ---------- */

struct msg_score {
    int64_t server_id;
    double score, step;
    bool in_pool;
    int64_t ts_us;
    int monitors;
};
char *msg_score_encode(const struct msg_score *s);
int msg_score_decode(const char *payload, size_t len, struct msg_score *out, char err[MSG_ERR_LEN]);

struct msg_server_status {
    int64_t server_id;
    bool in_pool;
    double score;
    int64_t ts_us;
    char reason[MSG_ERROR_MAX];
    bool held; /* held in the pool by the mass-outage guard ("held":true; absent when false); last, so positional
                * initializers written before it still work */
};
char *msg_server_status_encode(const struct msg_server_status *s);
int msg_server_status_decode(const char *payload, size_t len, struct msg_server_status *out,
                             char err[MSG_ERR_LEN]);

/* The mass-outage guard's retained alert on E/status/zones/<zone> while it holds servers of the zone (an empty
 * retained message clears it): how many servers are held, in the pool and leaving (left within the window or
 * held), the share of the zone hit, and the monitors that still get answers from the held servers. */
struct msg_zone_alert {
    char zone[MSG_ZONE_MAX];
    int held, in_pool, leaving;
    double fraction;
    size_t n_monitors;
    char monitors[MSG_ZONE_MONITORS_MAX][MSG_NAME_MAX];
    int64_t ts_us;
};
char *msg_zone_alert_encode(const struct msg_zone_alert *a);
int msg_zone_alert_decode(const char *payload, size_t len, struct msg_zone_alert *out, char err[MSG_ERR_LEN]);

struct msg_selection_change {
    char monitor[MSG_NAME_MAX];
    enum msg_pair_status from, to;
    char reason[MSG_ERROR_MAX];
};
struct msg_selection {
    int64_t server_id;
    int64_t ts_us;
    size_t n_changes;
    struct msg_selection_change *changes; /* malloc'd; msg_selection_free() */
};
char *msg_selection_encode(const struct msg_selection *s);
int msg_selection_decode(const char *payload, size_t len, struct msg_selection *out, char err[MSG_ERR_LEN]);
void msg_selection_free(struct msg_selection *s);

/* ---------- traces (a traceroute over UDP to the NTP port) and traceroute requests ----------
 * Trace fields: v (=1), id (ULID), monitor, server_id (absent only in answers to requests for an address that is
 * not a known server), ip, ts (when the first probe went out), trigger, port, reached, hops[] — each hop: ttl
 * (1..64, increasing), addr (an IP address, or null for a silent hop), rtt[] (seconds, at most 8; empty when
 * addr is null); optional agent. `ntpmon-agent trace` prints the path fields alone (ip, port, reached, hops). */

#define MSG_TRACE_MAX_HOPS 64
#define MSG_TRACE_MAX_PROBES 8
#define MSG_TRACE_MAX_RTT 60.0

enum msg_trace_trigger {
    MSG_TRIGGER_NONE = 0,
    MSG_TRIGGER_STATUS_CHANGE, /* "status-change": the agent's own results flipped between answering and failing */
    MSG_TRIGGER_REQUEST,       /* "request": requests/traceroute (ntpmonctl trace, web) */
    MSG_TRIGGER_POOL_CHANGE,   /* "pool-change": the scorer, when the server entered or left the pool */
};
/* "status-change", "request", "pool-change" ("" for NONE). */
const char *msg_trace_trigger_str(enum msg_trace_trigger t);
/* Parses the names above; MSG_TRIGGER_NONE for anything else. */
enum msg_trace_trigger msg_trace_trigger_parse(const char *s);

struct msg_trace_hop {
    int ttl;
    bool has_addr;
    char addr[MSG_IP_MAX];
    size_t n_rtt;
    double rtt[MSG_TRACE_MAX_PROBES];
};

struct msg_trace {
    int v;
    char id[ULID_LEN + 1];
    char monitor[MSG_NAME_MAX];
    bool has_server_id;
    int64_t server_id;
    char ip[MSG_IP_MAX];
    int64_t ts_us;
    enum msg_trace_trigger trigger;
    int port;
    bool reached;
    size_t n_hops;
    struct msg_trace_hop hops[MSG_TRACE_MAX_HOPS];
    char agent[MSG_AGENT_MAX];
};

/* The whole trace message. */
char *msg_trace_encode(const struct msg_trace *t);
/* The path alone, as `ntpmon-agent trace` prints it: {"ip","port","reached","hops"}. */
char *msg_trace_path_encode(const struct msg_trace *t);
/* The hops array alone (what ingest stores in traceroutes.hops): the same bytes msg_trace_encode emits. */
char *msg_trace_hops_encode(const struct msg_trace *t);
/* Decodes a stored hops array (traceroutes.hops) into out->hops/n_hops with the message's checks. */
int msg_trace_hops_decode(const char *json, size_t len, struct msg_trace *out, char err[MSG_ERR_LEN]);
/* Decodes and checks a whole trace message (server_id optional). */
int msg_trace_decode(const char *payload, size_t len, struct msg_trace *out, char err[MSG_ERR_LEN]);
/* The validator ingest and watchers share: schema, a server_id present, and the topic's server id and monitor
 * equal to the payload's (E/traces/<server_id>/<monitor>); 0 when valid. */
int msg_trace_validate(const char *env, const char *topic, const char *payload, size_t len, struct msg_trace *out,
                       char err[MSG_ERR_LEN]);
/* The monitor that published on a traces topic (its last level when a valid name), as for results. */
bool msg_trace_topic_publisher(const char *env, const char *topic, char name[MSG_NAME_MAX]);

/* requests/traceroute: {"ip":"…","server_id":N,"trigger":"request"|"pool-change"} (server_id and trigger
 * optional; trigger defaults to "request"). */
struct msg_traceroute_request {
    char ip[MSG_IP_MAX];
    bool has_server_id;
    int64_t server_id;
    enum msg_trace_trigger trigger; /* REQUEST or POOL_CHANGE */
};
char *msg_traceroute_request_encode(const struct msg_traceroute_request *r);
int msg_traceroute_request_decode(const char *payload, size_t len, struct msg_traceroute_request *out,
                                  char err[MSG_ERR_LEN]);

#endif
