/* msg.c — encoding, decoding and validation of every MQTT message (DESIGN.md §2) with json-c.
 * Plain malloc here (no xalloc): encoders return NULL and decoders report "out of memory", so this module is
 * safe to use inside the broker plugin too. */
#include "msg.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "timeutil.h"
#include "ulid.h"
#include "zone.h"

#define ROOT "ntpmon"
/* Timestamps outside [2000, 2200) are refused: no real probe can carry them. */
#define MIN_TS_US 946684800000000LL
#define MAX_TS_US 7258118400000000LL

static void set_err(char err[MSG_ERR_LEN], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char err[MSG_ERR_LEN], const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, MSG_ERR_LEN, fmt, ap);
    va_end(ap);
}

/* ---------- names and topics ---------- */

bool msg_name_is_valid(const char *name)
{
    if (!name) return false;
    size_t n = strlen(name);
    if (n == 0 || n >= MSG_NAME_MAX || name[0] == '.' || name[0] == '-') return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
    }
    return true;
}

bool msg_env_is_valid(const char *env)
{
    if (!env) return false;
    size_t n = strlen(env);
    if (n == 0 || n >= MSG_ENV_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)env[i];
        if (!(islower(c) || isdigit(c) || c == '_' || c == '-')) return false;
    }
    return true;
}

static int fmt_topic(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fmt_topic(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int msg_prefix(char *buf, size_t len, const char *env)
{
    if (!msg_env_is_valid(env)) return -1;
    return fmt_topic(buf, len, ROOT "/%s", env);
}

int msg_topic_build(char *buf, size_t len, const char *env, const struct msg_topic *t)
{
    if (!msg_env_is_valid(env)) return -1;
    bool needs_name = t->kind != MSG_TOPIC_SCORES && t->kind != MSG_TOPIC_SERVER_STATUS &&
                      t->kind != MSG_TOPIC_SELECTION && t->kind != MSG_TOPIC_ZONE_STATUS;
    bool needs_id = t->kind == MSG_TOPIC_RESULT || t->kind == MSG_TOPIC_TRACE || t->kind == MSG_TOPIC_SCORES ||
                    t->kind == MSG_TOPIC_SERVER_STATUS || t->kind == MSG_TOPIC_SELECTION;
    if (needs_name && !msg_name_is_valid(t->monitor)) return -1;
    if (needs_id && (t->server_id < 1 || t->server_id > MSG_MAX_SERVER_ID)) return -1;
    const char *m = t->monitor;
    long long id = (long long)t->server_id;
    switch (t->kind) {
    case MSG_TOPIC_MONITOR_STATUS: return fmt_topic(buf, len, ROOT "/%s/monitors/%s/status", env, m);
    case MSG_TOPIC_ASSIGN: return fmt_topic(buf, len, ROOT "/%s/monitors/%s/assign", env, m);
    case MSG_TOPIC_REQUEST_NTP: return fmt_topic(buf, len, ROOT "/%s/monitors/%s/requests/ntp", env, m);
    case MSG_TOPIC_RESPONSE:
        if (!msg_name_is_valid(t->request_id)) return -1;
        return fmt_topic(buf, len, ROOT "/%s/responses/%s/%s", env, m, t->request_id);
    case MSG_TOPIC_RESULT: return fmt_topic(buf, len, ROOT "/%s/results/%lld/%s", env, id, m);
    case MSG_TOPIC_STORED: return fmt_topic(buf, len, ROOT "/%s/monitors/%s/stored", env, m);
    case MSG_TOPIC_TOKEN_REQUEST: return fmt_topic(buf, len, ROOT "/%s/monitors/%s/token/request", env, m);
    case MSG_TOPIC_TOKEN: return fmt_topic(buf, len, ROOT "/%s/monitors/%s/token", env, m);
    case MSG_TOPIC_SCORES: return fmt_topic(buf, len, ROOT "/%s/scores/%lld", env, id);
    case MSG_TOPIC_SERVER_STATUS: return fmt_topic(buf, len, ROOT "/%s/status/servers/%lld", env, id);
    case MSG_TOPIC_SELECTION: return fmt_topic(buf, len, ROOT "/%s/status/selection/%lld", env, id);
    case MSG_TOPIC_REQUEST_TRACEROUTE:
        return fmt_topic(buf, len, ROOT "/%s/monitors/%s/requests/traceroute", env, m);
    case MSG_TOPIC_TRACE: return fmt_topic(buf, len, ROOT "/%s/traces/%lld/%s", env, id, m);
    case MSG_TOPIC_ZONE_STATUS:
        if (!zone_is_valid(t->zone)) return -1;
        return fmt_topic(buf, len, ROOT "/%s/status/zones/%s", env, t->zone);
    case MSG_TOPIC_UNKNOWN: break;
    }
    return -1;
}

/* Splits topic into at most max levels (in place of a copy); returns the count, or -1 when there are more. */
static int split_levels(char *copy, char **levels, int max)
{
    int n = 0;
    char *p = copy;
    for (;;) {
        if (n == max) return -1;
        levels[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash) break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

static bool parse_server_id(const char *s, int64_t *out)
{
    if (!*s || *s == '0' || strlen(s) > 16) return false;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p)) return false;
        v = v * 10 + (*p - '0');
    }
    if (v > MSG_MAX_SERVER_ID) return false;
    *out = v;
    return true;
}

enum msg_topic_kind msg_topic_parse(const char *env, const char *topic, struct msg_topic *out)
{
    memset(out, 0, sizeof *out);
    char copy[MSG_TOPIC_MAX];
    if (!topic || strlen(topic) >= sizeof copy) return MSG_TOPIC_UNKNOWN;
    strcpy(copy, topic);
    char *lv[8];
    int n = split_levels(copy, lv, 8);
    if (n < 4 || strcmp(lv[0], ROOT) != 0 || strcmp(lv[1], env) != 0) return MSG_TOPIC_UNKNOWN;
    enum msg_topic_kind kind = MSG_TOPIC_UNKNOWN;
    if (strcmp(lv[2], "monitors") == 0 && msg_name_is_valid(lv[3])) {
        if (n == 5 && strcmp(lv[4], "status") == 0) kind = MSG_TOPIC_MONITOR_STATUS;
        else if (n == 5 && strcmp(lv[4], "assign") == 0) kind = MSG_TOPIC_ASSIGN;
        else if (n == 5 && strcmp(lv[4], "stored") == 0) kind = MSG_TOPIC_STORED;
        else if (n == 5 && strcmp(lv[4], "token") == 0) kind = MSG_TOPIC_TOKEN;
        else if (n == 6 && strcmp(lv[4], "token") == 0 && strcmp(lv[5], "request") == 0) kind = MSG_TOPIC_TOKEN_REQUEST;
        else if (n == 6 && strcmp(lv[4], "requests") == 0 && strcmp(lv[5], "ntp") == 0) kind = MSG_TOPIC_REQUEST_NTP;
        else if (n == 6 && strcmp(lv[4], "requests") == 0 && strcmp(lv[5], "traceroute") == 0)
            kind = MSG_TOPIC_REQUEST_TRACEROUTE;
        if (kind != MSG_TOPIC_UNKNOWN) snprintf(out->monitor, sizeof out->monitor, "%s", lv[3]);
    } else if (strcmp(lv[2], "responses") == 0 && n == 5 && msg_name_is_valid(lv[3]) && msg_name_is_valid(lv[4])) {
        kind = MSG_TOPIC_RESPONSE;
        snprintf(out->monitor, sizeof out->monitor, "%s", lv[3]);
        snprintf(out->request_id, sizeof out->request_id, "%s", lv[4]);
    } else if (strcmp(lv[2], "results") == 0 && n == 5 && parse_server_id(lv[3], &out->server_id) &&
               msg_name_is_valid(lv[4])) {
        kind = MSG_TOPIC_RESULT;
        snprintf(out->monitor, sizeof out->monitor, "%s", lv[4]);
    } else if (strcmp(lv[2], "traces") == 0 && n == 5 && parse_server_id(lv[3], &out->server_id) &&
               msg_name_is_valid(lv[4])) {
        kind = MSG_TOPIC_TRACE;
        snprintf(out->monitor, sizeof out->monitor, "%s", lv[4]);
    } else if (strcmp(lv[2], "scores") == 0 && n == 4 && parse_server_id(lv[3], &out->server_id)) {
        kind = MSG_TOPIC_SCORES;
    } else if (strcmp(lv[2], "status") == 0 && n == 5 && strcmp(lv[3], "zones") == 0 && zone_is_valid(lv[4])) {
        kind = MSG_TOPIC_ZONE_STATUS;
        snprintf(out->zone, sizeof out->zone, "%s", lv[4]);
    } else if (strcmp(lv[2], "status") == 0 && n == 5 && parse_server_id(lv[4], &out->server_id)) {
        if (strcmp(lv[3], "servers") == 0) kind = MSG_TOPIC_SERVER_STATUS;
        else if (strcmp(lv[3], "selection") == 0) kind = MSG_TOPIC_SELECTION;
    }
    if (kind == MSG_TOPIC_UNKNOWN) memset(out, 0, sizeof *out);
    out->kind = kind;
    return kind;
}

size_t msg_max_payload(const char *env, const char *topic)
{
    struct msg_topic t;
    return msg_topic_parse(env, topic, &t) == MSG_TOPIC_ASSIGN ? MSG_MAX_ASSIGN_PAYLOAD : MSG_MAX_PAYLOAD;
}

/* E/<what>/# — or $share/<group>/E/<what>/# when group is given. */
static int filter_all(char *buf, size_t len, const char *group, const char *env, const char *what)
{
    if (!msg_env_is_valid(env) || (group && !msg_name_is_valid(group))) return -1;
    if (group) return fmt_topic(buf, len, "$share/%s/" ROOT "/%s/%s/#", group, env, what);
    return fmt_topic(buf, len, ROOT "/%s/%s/#", env, what);
}

int msg_filter_results(char *buf, size_t len, const char *env) { return filter_all(buf, len, NULL, env, "results"); }

int msg_filter_results_shared(char *buf, size_t len, const char *group, const char *env)
{
    return group ? filter_all(buf, len, group, env, "results") : -1;
}

int msg_filter_monitor_all(char *buf, size_t len, const char *env, const char *name)
{
    if (!msg_env_is_valid(env) || !msg_name_is_valid(name)) return -1;
    return fmt_topic(buf, len, ROOT "/%s/monitors/%s/#", env, name);
}

int msg_filter_monitor_statuses(char *buf, size_t len, const char *env)
{
    if (!msg_env_is_valid(env)) return -1;
    return fmt_topic(buf, len, ROOT "/%s/monitors/+/status", env);
}

int msg_filter_token_requests(char *buf, size_t len, const char *env)
{
    if (!msg_env_is_valid(env)) return -1;
    return fmt_topic(buf, len, ROOT "/%s/monitors/+/token/request", env);
}

int msg_filter_selection(char *buf, size_t len, const char *env)
{
    return filter_all(buf, len, NULL, env, "status/selection");
}

int msg_filter_scores(char *buf, size_t len, const char *env) { return filter_all(buf, len, NULL, env, "scores"); }

int msg_filter_traces(char *buf, size_t len, const char *env) { return filter_all(buf, len, NULL, env, "traces"); }

int msg_filter_traces_shared(char *buf, size_t len, const char *group, const char *env)
{
    return group ? filter_all(buf, len, group, env, "traces") : -1;
}

int msg_filter_status_all(char *buf, size_t len, const char *env) { return filter_all(buf, len, NULL, env, "status"); }

int msg_filter_responses(char *buf, size_t len, const char *env)
{
    if (!msg_env_is_valid(env)) return -1;
    return fmt_topic(buf, len, ROOT "/%s/responses/+/+", env);
}

/* ---------- enums and numbers ---------- */

static const char *const status_names[] = {"", "candidate", "testing", "active", "paused"};

const char *msg_pair_status_str(enum msg_pair_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "";
}

enum msg_pair_status msg_pair_status_parse(const char *s)
{
    if (!s) return MSG_STATUS_NONE;
    for (int i = 1; i < 5; i++)
        if (strcmp(s, status_names[i]) == 0) return (enum msg_pair_status)i;
    return MSG_STATUS_NONE;
}

/* printf's %.9f, trailing zeros trimmed: the reference path (exact decimal expansion, ties to even). */
static void format_number_printf(double v, char out[48])
{
    snprintf(out, 48, "%.9f", v);
    char *dot = strchr(out, '.');
    if (dot) {
        char *end = out + strlen(out) - 1;
        while (end > dot && *end == '0') *end-- = '\0';
        if (end == dot) *end = '\0';
    }
    if (strcmp(out, "-0") == 0) strcpy(out, "0");
}

/* The same digits without printf (it dominates encoding costs): v·1e9 rounded to an integer. The product carries
 * a rounding error below |v·1e9|·2^-52; whenever the fraction lies within that of a half (or on it: a tie printf
 * breaks to even), the reference path decides. Returns false to ask for it. */
static bool format_number_fast(double v, char out[48])
{
    double a = fabs(v);
    if (!(a < 1e6)) return false;
    double x = a * 1e9;
    double whole = floor(x), frac = x - whole;
    double margin = x * 0x1p-52 * 2 + 1e-300;
    if (fabs(frac - 0.5) <= margin) return false;
    uint64_t n = (uint64_t)whole + (frac > 0.5);
    uint64_t ip = n / 1000000000u, fp = n % 1000000000u;
    char digits[24], *p = out;
    int k = 0;
    if (v < 0 && n) *p++ = '-';
    do {
        digits[k++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    while (k) *p++ = digits[--k];
    if (fp) {
        *p++ = '.';
        for (int i = 8; i >= 0; i--) {
            p[i] = (char)('0' + fp % 10);
            fp /= 10;
        }
        p += 9;
        while (p[-1] == '0') p--;
    }
    *p = '\0';
    return true;
}

void msg_format_number_reference(double v, char out[48])
{
    if (!isfinite(v)) {
        snprintf(out, 48, "0");
        return;
    }
    if (fabs(v) >= 1e15) {
        snprintf(out, 48, "%.17g", v);
        return;
    }
    format_number_printf(v, out);
}

void msg_format_number(double v, char out[48])
{
    if (isfinite(v) && format_number_fast(v, out)) return; /* the fast path declines |v| >= 1e6 and near-ties */
    msg_format_number_reference(v, out);
}

/* ---------- JSON helpers ---------- */

static _Thread_local json_tokener *tokener;

static json_object *parse_object_max(const char *payload, size_t len, size_t max, char err[MSG_ERR_LEN])
{
    if (!payload) {
        set_err(err, "empty payload");
        return NULL;
    }
    if (len > max) {
        set_err(err, "payload too large (%zu bytes, max %zu)", len, max);
        return NULL;
    }
    if (len == 0) {
        set_err(err, "empty payload");
        return NULL;
    }
    if (memchr(payload, '\0', len)) {
        set_err(err, "invalid JSON: NUL byte in payload");
        return NULL;
    }
    if (!tokener) {
        tokener = json_tokener_new_ex(32);
        if (!tokener) {
            set_err(err, "out of memory");
            return NULL;
        }
    }
    json_tokener_reset(tokener);
    json_object *obj = json_tokener_parse_ex(tokener, payload, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tokener);
    if (!obj) {
        if (jerr == json_tokener_continue) set_err(err, "invalid JSON: truncated");
        else set_err(err, "invalid JSON: %s", json_tokener_error_desc(jerr));
        return NULL;
    }
    size_t end = json_tokener_get_parse_end(tokener);
    for (; end < len; end++) {
        if (!isspace((unsigned char)payload[end])) {
            json_object_put(obj);
            set_err(err, "invalid JSON: trailing data after the object");
            return NULL;
        }
    }
    if (!json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        set_err(err, "not a JSON object");
        return NULL;
    }
    return obj;
}

static json_object *parse_object(const char *payload, size_t len, char err[MSG_ERR_LEN])
{
    return parse_object_max(payload, len, MSG_MAX_PAYLOAD, err);
}

/* Returns the field, or NULL when absent or null. */
static json_object *field(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v)) return NULL;
    return v && !json_object_is_type(v, json_type_null) ? v : NULL;
}

static bool text_is_clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

/* Each getter returns 1 when the field was read, 0 when an optional field is absent, -1 with err set. */
static int get_str(json_object *o, const char *key, bool required, char *dst, size_t dstlen,
                   char err[MSG_ERR_LEN])
{
    json_object *v = field(o, key);
    if (!v) {
        if (required) set_err(err, "field '%s' is missing", key);
        return required ? -1 : 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        set_err(err, "field '%s' must be a string", key);
        return -1;
    }
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n >= dstlen) {
        set_err(err, "field '%s' is too long (%zu bytes, max %zu)", key, n, dstlen - 1);
        return -1;
    }
    if (strlen(s) != n || !text_is_clean(s)) {
        set_err(err, "field '%s' contains control characters", key);
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 1;
}

static int get_int(json_object *o, const char *key, bool required, int64_t min, int64_t max, int64_t *dst,
                   char err[MSG_ERR_LEN])
{
    json_object *v = field(o, key);
    if (!v) {
        if (required) set_err(err, "field '%s' is missing", key);
        return required ? -1 : 0;
    }
    if (!json_object_is_type(v, json_type_int)) {
        set_err(err, "field '%s' must be an integer", key);
        return -1;
    }
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (errno || x < min || x > max) {
        set_err(err, "field '%s' is out of range (%" PRId64 "..%" PRId64 ")", key, min, max);
        return -1;
    }
    *dst = x;
    return 1;
}

static int get_num(json_object *o, const char *key, bool required, double min, double max, double *dst,
                   char err[MSG_ERR_LEN])
{
    json_object *v = field(o, key);
    if (!v) {
        if (required) set_err(err, "field '%s' is missing", key);
        return required ? -1 : 0;
    }
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
        set_err(err, "field '%s' must be a number", key);
        return -1;
    }
    double x = json_object_get_double(v);
    if (!isfinite(x)) {
        set_err(err, "field '%s' is not a finite number", key);
        return -1;
    }
    if (x < min || x > max) {
        set_err(err, "field '%s' is out of range (%g..%g)", key, min, max);
        return -1;
    }
    *dst = x;
    return 1;
}

static int get_bool(json_object *o, const char *key, bool required, bool *dst, char err[MSG_ERR_LEN])
{
    json_object *v = field(o, key);
    if (!v) {
        if (required) set_err(err, "field '%s' is missing", key);
        return required ? -1 : 0;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        set_err(err, "field '%s' must be true or false", key);
        return -1;
    }
    *dst = json_object_get_boolean(v);
    return 1;
}

static int get_time(json_object *o, const char *key, bool required, int64_t *dst, char err[MSG_ERR_LEN])
{
    char text[64];
    int r = get_str(o, key, required, text, sizeof text, err);
    if (r <= 0) return r;
    int64_t us;
    if (time_parse_rfc3339(text, &us) < 0) {
        set_err(err, "field '%s' is not an RFC 3339 time", key);
        return -1;
    }
    if (us < MIN_TS_US || us >= MAX_TS_US) {
        set_err(err, "field '%s' is outside 2000..2199", key);
        return -1;
    }
    *dst = us;
    return 1;
}

static json_object *get_array(json_object *o, const char *key, bool required, size_t max, char err[MSG_ERR_LEN],
                              int *status)
{
    json_object *v = field(o, key);
    *status = 1;
    if (!v) {
        if (required) set_err(err, "field '%s' is missing", key);
        *status = required ? -1 : 0;
        return NULL;
    }
    if (!json_object_is_type(v, json_type_array)) {
        set_err(err, "field '%s' must be an array", key);
        *status = -1;
        return NULL;
    }
    if (json_object_array_length(v) > max) {
        set_err(err, "field '%s' has too many elements (%zu, max %zu)", key, json_object_array_length(v), max);
        *status = -1;
        return NULL;
    }
    return v;
}

struct json_object *msg_json_number(double v)
{
    char text[48];
    msg_format_number(v, text);
    return json_object_new_double_s(v, text);
}

static int add_num(json_object *o, const char *key, double v)
{
    json_object *n = msg_json_number(v);
    return n ? json_object_object_add(o, key, n) : -1;
}

static int add_time(json_object *o, const char *key, int64_t us)
{
    char text[TIME_RFC3339_LEN];
    time_format_rfc3339(us, text);
    return json_object_object_add(o, key, json_object_new_string(text));
}

static char *finish(json_object *o)
{
    if (!o) return NULL;
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *out = s ? strdup(s) : NULL;
    json_object_put(o);
    return out;
}

/* ---------- result ---------- */

/* The fields results and traces share: v (=1), id (a ULID, upper-cased), monitor, server_id (optional), ip
 * (canonical text). 0, or -1 with err set. */
static int decode_head(json_object *o, int *v, char id[ULID_LEN + 1], char monitor[MSG_NAME_MAX], bool *has_server_id,
                       int64_t *server_id, char ip[MSG_IP_MAX], char err[MSG_ERR_LEN])
{
    int64_t i64;
    int r;
    struct netaddr addr;
    if (get_int(o, "v", true, 1, 1, &i64, err) < 0) return -1;
    *v = 1;
    if (get_str(o, "id", true, id, ULID_LEN + 1, err) < 0) return -1;
    if (!ulid_canonical(id, id)) {
        set_err(err, "field 'id' is not a ULID");
        return -1;
    }
    if (get_str(o, "monitor", true, monitor, MSG_NAME_MAX, err) < 0) return -1;
    if (!msg_name_is_valid(monitor)) {
        set_err(err, "field 'monitor' is not a valid monitor name");
        return -1;
    }
    if ((r = get_int(o, "server_id", false, 1, MSG_MAX_SERVER_ID, server_id, err)) < 0) return -1;
    *has_server_id = r == 1;
    if (get_str(o, "ip", true, ip, MSG_IP_MAX, err) < 0) return -1;
    if (netaddr_parse(ip, &addr) < 0) {
        set_err(err, "field 'ip' is not an IP address");
        return -1;
    }
    netaddr_format(&addr, ip);
    return 0;
}

/* The shared validators' topic rule: E/<what>/<server_id>/<monitor> naming the payload's server and monitor. */
static int topic_agrees(const char *env, const char *topic, enum msg_topic_kind kind, const char *what,
                        bool has_server_id, int64_t server_id, const char *monitor, char err[MSG_ERR_LEN])
{
    struct msg_topic t;
    if (msg_topic_parse(env, topic, &t) != kind) {
        set_err(err, "topic is not ntpmon/%s/%s/<server_id>/<monitor>", env, what);
        return -1;
    }
    if (!has_server_id) {
        set_err(err, "field 'server_id' is missing");
        return -1;
    }
    if (server_id != t.server_id) {
        set_err(err, "server_id %lld does not match the topic's %lld", (long long)server_id, (long long)t.server_id);
        return -1;
    }
    if (strcmp(monitor, t.monitor) != 0) {
        set_err(err, "monitor '%s' does not match the topic's '%s'", monitor, t.monitor);
        return -1;
    }
    return 0;
}

static int decode_sample_fields(json_object *o, bool top, int64_t *ts, bool *has_offset, double *offset,
                                bool *has_rtt, double *rtt, int *stratum, int *leap, char *refid, char *error,
                                char err[MSG_ERR_LEN])
{
    int64_t i64;
    int r;
    if (get_time(o, "ts", true, ts, err) < 0) return -1;
    if ((r = get_num(o, "offset", false, -MSG_MAX_OFFSET, MSG_MAX_OFFSET, offset, err)) < 0) return -1;
    *has_offset = r == 1;
    if ((r = get_num(o, "rtt", false, -MSG_MAX_RTT, MSG_MAX_RTT, rtt, err)) < 0) return -1;
    *has_rtt = r == 1;
    if (get_int(o, "stratum", true, 0, 255, &i64, err) < 0) return -1;
    *stratum = (int)i64;
    if (get_int(o, "leap", true, 0, 3, &i64, err) < 0) return -1;
    *leap = (int)i64;
    if (get_str(o, "refid", true, refid, MSG_REFID_MAX, err) < 0) return -1;
    if (get_str(o, "error", true, error, MSG_ERROR_MAX, err) < 0) return -1;
    if (error[0] == '\0' && (!*has_offset || !*has_rtt)) {
        set_err(err, "%s without error needs offset and rtt", top ? "result" : "sample");
        return -1;
    }
    return 0;
}

int msg_result_decode(const char *payload, size_t len, struct msg_result *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1, r;
    char status[16];
    if (decode_head(o, &out->v, out->id, out->monitor, &out->has_server_id, &out->server_id, out->ip, err) < 0)
        goto done;
    if ((r = get_str(o, "status", false, status, sizeof status, err)) < 0) goto done;
    if (r == 1 && (out->status = msg_pair_status_parse(status)) == MSG_STATUS_NONE) {
        set_err(err, "field 'status' must be active, testing, candidate or paused");
        goto done;
    }
    if (decode_sample_fields(o, true, &out->ts_us, &out->has_offset, &out->offset, &out->has_rtt, &out->rtt,
                             &out->stratum, &out->leap, out->refid, out->error, err) < 0)
        goto done;
    int st;
    json_object *samples = get_array(o, "samples", true, MSG_MAX_SAMPLES, err, &st);
    if (st < 0) goto done;
    out->n_samples = json_object_array_length(samples);
    for (size_t i = 0; i < out->n_samples; i++) {
        json_object *s = json_object_array_get_idx(samples, i);
        struct msg_sample *smp = &out->samples[i];
        if (!json_object_is_type(s, json_type_object)) {
            set_err(err, "samples[%zu] must be an object", i);
            goto done;
        }
        char sub[MSG_ERR_LEN];
        if (decode_sample_fields(s, false, &smp->ts_us, &smp->has_offset, &smp->offset, &smp->has_rtt, &smp->rtt,
                                 &smp->stratum, &smp->leap, smp->refid, smp->error, sub) < 0) {
            set_err(err, "samples[%zu]: %s", i, sub);
            goto done;
        }
    }
    if (get_str(o, "agent", false, out->agent, sizeof out->agent, err) < 0) goto done;
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

int msg_result_validate(const char *env, const char *topic, const char *payload, size_t len,
                        struct msg_result *out, char err[MSG_ERR_LEN])
{
    struct msg_topic t;
    if (msg_topic_parse(env, topic, &t) != MSG_TOPIC_RESULT) { /* before decoding: a wrong topic is the reason */
        memset(out, 0, sizeof *out);
        set_err(err, "topic is not ntpmon/%s/results/<server_id>/<monitor>", env);
        return -1;
    }
    if (msg_result_decode(payload, len, out, err) < 0) return -1;
    return topic_agrees(env, topic, MSG_TOPIC_RESULT, "results", out->has_server_id, out->server_id, out->monitor,
                        err);
}

void msg_result_record_of(const struct msg_result *r, struct msg_result_record *out)
{
    *out = (struct msg_result_record){
        .v = r->v,
        .server_id = r->has_server_id ? r->server_id : 0,
        .ts_us = r->ts_us,
        .status = r->status,
        .has_offset = r->has_offset,
        .has_rtt = r->has_rtt,
        .offset = r->offset,
        .rtt = r->rtt,
        .stratum = r->stratum,
        .leap = r->leap,
    };
    memcpy(out->id, r->id, sizeof out->id);
    memcpy(out->monitor, r->monitor, sizeof out->monitor);
    memcpy(out->ip, r->ip, sizeof out->ip);
    memcpy(out->refid, r->refid, sizeof out->refid);
    memcpy(out->error, r->error, sizeof out->error);
    memcpy(out->agent, r->agent, sizeof out->agent);
}

bool msg_error_is_no_response(const char *error)
{
    return strcmp(error, "timeout") == 0 || strncmp(error, "network:", 8) == 0;
}

static json_object *encode_sample_fields(json_object *o, int64_t ts, bool has_offset, double offset, bool has_rtt,
                                         double rtt, int stratum, int leap, const char *refid, const char *error)
{
    add_time(o, "ts", ts);
    if (has_offset) add_num(o, "offset", offset);
    if (has_rtt) add_num(o, "rtt", rtt);
    json_object_object_add(o, "stratum", json_object_new_int(stratum));
    json_object_object_add(o, "leap", json_object_new_int(leap));
    json_object_object_add(o, "refid", json_object_new_string(refid));
    json_object_object_add(o, "error", json_object_new_string(error));
    return o;
}

static json_object *samples_array(const struct msg_result *r)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; arr && i < r->n_samples && i < MSG_MAX_SAMPLES; i++) {
        const struct msg_sample *s = &r->samples[i];
        json_object_array_add(arr, encode_sample_fields(json_object_new_object(), s->ts_us, s->has_offset,
                                                        s->offset, s->has_rtt, s->rtt, s->stratum, s->leap,
                                                        s->refid, s->error));
    }
    return arr;
}

char *msg_result_encode(const struct msg_result *r)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "v", json_object_new_int(1));
    json_object_object_add(o, "id", json_object_new_string(r->id));
    json_object_object_add(o, "monitor", json_object_new_string(r->monitor));
    if (r->has_server_id) json_object_object_add(o, "server_id", json_object_new_int64(r->server_id));
    json_object_object_add(o, "ip", json_object_new_string(r->ip));
    add_time(o, "ts", r->ts_us);
    if (r->status != MSG_STATUS_NONE)
        json_object_object_add(o, "status", json_object_new_string(msg_pair_status_str(r->status)));
    if (r->has_offset) add_num(o, "offset", r->offset);
    if (r->has_rtt) add_num(o, "rtt", r->rtt);
    json_object_object_add(o, "stratum", json_object_new_int(r->stratum));
    json_object_object_add(o, "leap", json_object_new_int(r->leap));
    json_object_object_add(o, "refid", json_object_new_string(r->refid));
    json_object_object_add(o, "error", json_object_new_string(r->error));
    json_object_object_add(o, "samples", samples_array(r));
    if (r->agent[0]) json_object_object_add(o, "agent", json_object_new_string(r->agent));
    return finish(o);
}

/* The samples array alone, as ingest stores it in results.samples: the same bytes msg_result_encode emits. */
char *msg_result_samples_encode(const struct msg_result *r)
{
    return finish(samples_array(r));
}

void msg_result_peek(const char *payload, size_t len, char id[ULID_LEN + 1], char monitor[MSG_NAME_MAX])
{
    id[0] = '\0';
    monitor[0] = '\0';
    char err[MSG_ERR_LEN];
    /* Within the validator's limit only: parsing a big payload just to find its id costs seconds of CPU and
     * hundreds of MB (the broker refuses such publishes anyway). */
    json_object *o = parse_object_max(payload, len, MSG_MAX_PAYLOAD, err);
    if (!o) return;
    json_object *v = field(o, "id");
    if (v && json_object_is_type(v, json_type_string)) ulid_canonical(json_object_get_string(v), id);
    v = field(o, "monitor");
    if (v && json_object_is_type(v, json_type_string) && msg_name_is_valid(json_object_get_string(v)))
        snprintf(monitor, MSG_NAME_MAX, "%s", json_object_get_string(v));
    json_object_put(o);
}

/* The last level of ntpmon/<env>/<what>/<anything>/<name> when it is a valid name. */
static bool topic_publisher(const char *env, const char *topic, const char *what, char name[MSG_NAME_MAX])
{
    name[0] = '\0';
    char copy[MSG_TOPIC_MAX];
    if (!topic || strlen(topic) >= sizeof copy) return false;
    strcpy(copy, topic);
    char *lv[8];
    int n = split_levels(copy, lv, 8);
    if (n != 5 || strcmp(lv[0], ROOT) != 0 || strcmp(lv[1], env) != 0 || strcmp(lv[2], what) != 0 ||
        !msg_name_is_valid(lv[4]))
        return false;
    snprintf(name, MSG_NAME_MAX, "%s", lv[4]);
    return true;
}

bool msg_result_topic_publisher(const char *env, const char *topic, char name[MSG_NAME_MAX])
{
    return topic_publisher(env, topic, "results", name);
}

/* ---------- monitor status ---------- */

char *msg_monitor_status_encode(const struct msg_monitor_status *s)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "online", json_object_new_boolean(s->online));
    if (s->online) {
        json_object_object_add(o, "version", json_object_new_string(s->version));
        json_object_object_add(o, "ipv4", json_object_new_boolean(s->ipv4));
        json_object_object_add(o, "ipv6", json_object_new_boolean(s->ipv6));
        json_object_object_add(o, "clock_ok", s->clock_ok < 0 ? NULL : json_object_new_boolean(s->clock_ok));
        json_object_object_add(o, "spool", json_object_new_int64(s->spool));
        json_object_object_add(o, "spool_dropped", json_object_new_int64(s->spool_dropped));
    }
    if (s->ts_us) add_time(o, "ts", s->ts_us);
    return finish(o);
}

int msg_monitor_status_decode(const char *payload, size_t len, struct msg_monitor_status *out,
                              char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    out->clock_ok = -1;
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1, r;
    bool b;
    if (get_bool(o, "online", true, &out->online, err) < 0) goto done;
    if (get_str(o, "version", false, out->version, sizeof out->version, err) < 0) goto done;
    if (get_bool(o, "ipv4", false, &out->ipv4, err) < 0) goto done;
    if (get_bool(o, "ipv6", false, &out->ipv6, err) < 0) goto done;
    if ((r = get_bool(o, "clock_ok", false, &b, err)) < 0) goto done;
    if (r == 1) out->clock_ok = b;
    if (get_int(o, "spool", false, 0, INT64_MAX, &out->spool, err) < 0) goto done;
    if (get_int(o, "spool_dropped", false, 0, INT64_MAX, &out->spool_dropped, err) < 0) goto done;
    if (get_time(o, "ts", false, &out->ts_us, err) < 0) goto done;
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

/* ---------- assign ---------- */

#define MAX_ASSIGN_SERVERS 200000
#define MAX_INTERVAL_S 604800

char *msg_assign_encode(const struct msg_assign *a)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "seq", json_object_new_int64(a->seq));
    add_time(o, "ts", a->ts_us);
    json_object *arr = json_object_new_array_ext((int)a->n_servers);
    for (size_t i = 0; i < a->n_servers; i++) {
        const struct msg_assign_server *s = &a->servers[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_int64(s->id));
        json_object_object_add(e, "ip", json_object_new_string(s->ip));
        json_object_object_add(e, "status", json_object_new_string(msg_pair_status_str(s->status)));
        json_object_object_add(e, "interval_s", json_object_new_int(s->interval_s));
        json_object_object_add(e, "samples", json_object_new_int(s->samples));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "servers", arr);
    return finish(o);
}

int msg_assign_decode(const char *payload, size_t len, struct msg_assign *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object_max(payload, len, MSG_MAX_ASSIGN_PAYLOAD, err);
    if (!o) return -1;
    int rc = -1, st;
    if (get_int(o, "seq", true, 0, INT64_MAX, &out->seq, err) < 0) goto done;
    if (get_time(o, "ts", false, &out->ts_us, err) < 0) goto done;
    json_object *arr = get_array(o, "servers", true, MAX_ASSIGN_SERVERS, err, &st);
    if (st < 0) goto done;
    size_t n = json_object_array_length(arr);
    out->servers = calloc(n ? n : 1, sizeof *out->servers);
    if (!out->servers) {
        set_err(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        struct msg_assign_server *s = &out->servers[i];
        char sub[MSG_ERR_LEN], status[16];
        int64_t v;
        struct netaddr addr;
        if (!json_object_is_type(e, json_type_object)) {
            set_err(err, "servers[%zu] must be an object", i);
            goto done;
        }
        if (get_int(e, "id", true, 1, MSG_MAX_SERVER_ID, &s->id, sub) < 0 ||
            get_str(e, "ip", true, s->ip, sizeof s->ip, sub) < 0 ||
            get_str(e, "status", true, status, sizeof status, sub) < 0) {
            set_err(err, "servers[%zu]: %s", i, sub);
            goto done;
        }
        if (netaddr_parse(s->ip, &addr) < 0) {
            set_err(err, "servers[%zu]: field 'ip' is not an IP address", i);
            goto done;
        }
        netaddr_format(&addr, s->ip);
        if ((s->status = msg_pair_status_parse(status)) == MSG_STATUS_NONE) {
            set_err(err, "servers[%zu]: field 'status' must be active, testing, candidate or paused", i);
            goto done;
        }
        if (get_int(e, "interval_s", true, 1, MAX_INTERVAL_S, &v, sub) < 0) {
            set_err(err, "servers[%zu]: %s", i, sub);
            goto done;
        }
        s->interval_s = (int)v;
        v = 3;
        if (get_int(e, "samples", false, 1, MSG_MAX_SAMPLES, &v, sub) < 0) {
            set_err(err, "servers[%zu]: %s", i, sub);
            goto done;
        }
        s->samples = (int)v;
        out->n_servers = i + 1;
    }
    rc = 0;
done:
    json_object_put(o);
    if (rc < 0) msg_assign_free(out);
    return rc;
}

void msg_assign_free(struct msg_assign *a)
{
    free(a->servers);
    a->servers = NULL;
    a->n_servers = 0;
}

/* ---------- requests, errors ---------- */

char *msg_ntp_request_encode(const struct msg_ntp_request *r)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "ip", json_object_new_string(r->ip));
    json_object_object_add(o, "samples", json_object_new_int(r->samples));
    return finish(o);
}

int msg_ntp_request_decode(const char *payload, size_t len, struct msg_ntp_request *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1;
    int64_t samples = 1;
    struct netaddr addr;
    if (get_str(o, "ip", true, out->ip, sizeof out->ip, err) < 0) goto done;
    if (netaddr_parse(out->ip, &addr) < 0) {
        set_err(err, "field 'ip' is not an IP address");
        goto done;
    }
    netaddr_format(&addr, out->ip);
    if (get_int(o, "samples", false, 1, MSG_REQUEST_MAX_SAMPLES, &samples, err) < 0) goto done;
    out->samples = (int)samples;
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

char *msg_error_encode(const char *error)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "error", json_object_new_string(error));
    return finish(o);
}

bool msg_error_decode(const char *payload, size_t len, char *error, size_t error_len)
{
    char err[MSG_ERR_LEN];
    json_object *o = parse_object(payload, len, err);
    if (!o) return false;
    json_object *v = field(o, "error");
    bool is_error = v && json_object_is_type(v, json_type_string) && !field(o, "id");
    if (is_error) snprintf(error, error_len, "%s", json_object_get_string(v));
    json_object_put(o);
    return is_error;
}

/* ---------- stored ---------- */

#define MAX_STORED_IDS 100000

char *msg_stored_encode(const struct msg_stored *s)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object *ids = json_object_new_array_ext((int)s->n_ids);
    for (size_t i = 0; i < s->n_ids; i++) json_object_array_add(ids, json_object_new_string(s->ids[i]));
    json_object_object_add(o, "ids", ids);
    json_object *rej = json_object_new_array_ext((int)s->n_rejected);
    for (size_t i = 0; i < s->n_rejected; i++) json_object_array_add(rej, json_object_new_string(s->rejected[i]));
    json_object_object_add(o, "rejected", rej);
    return finish(o);
}

static int decode_id_list(json_object *o, const char *key, char (**dst)[ULID_LEN + 1], size_t *n_out,
                          char err[MSG_ERR_LEN])
{
    int st;
    json_object *arr = get_array(o, key, false, MAX_STORED_IDS, err, &st);
    if (st < 0) return -1;
    size_t n = arr ? json_object_array_length(arr) : 0;
    *dst = calloc(n ? n : 1, ULID_LEN + 1);
    if (!*dst) {
        set_err(err, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
        if (!s || !ulid_canonical(s, (*dst)[i])) {
            set_err(err, "%s[%zu] is not a ULID", key, i);
            return -1;
        }
    }
    *n_out = n;
    return 0;
}

int msg_stored_decode(const char *payload, size_t len, struct msg_stored *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1;
    if (!field(o, "ids") && !field(o, "rejected")) {
        set_err(err, "field 'ids' is missing");
        goto done;
    }
    if (decode_id_list(o, "ids", &out->ids, &out->n_ids, err) < 0) goto done;
    if (decode_id_list(o, "rejected", &out->rejected, &out->n_rejected, err) < 0) goto done;
    rc = 0;
done:
    json_object_put(o);
    if (rc < 0) msg_stored_free(out);
    return rc;
}

void msg_stored_free(struct msg_stored *s)
{
    free(s->ids);
    free(s->rejected);
    memset(s, 0, sizeof *s);
}

/* ---------- tokens ---------- */

char *msg_token_request_encode(void) { return strdup("{}"); }

char *msg_token_encode(const struct msg_token *t)
{
    if (t->error[0] || !t->token) return msg_error_encode(t->error[0] ? t->error : "no token");
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "token", json_object_new_string(t->token));
    json_object_object_add(o, "exp", json_object_new_int64(t->exp));
    return finish(o);
}

int msg_token_decode(const char *payload, size_t len, struct msg_token *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1, r;
    if ((r = get_str(o, "error", false, out->error, sizeof out->error, err)) < 0) goto done;
    if (r == 1) {
        rc = 0;
        goto done;
    }
    json_object *tok = field(o, "token");
    if (!tok || !json_object_is_type(tok, json_type_string) || json_object_get_string_len(tok) == 0 ||
        json_object_get_string_len(tok) > 8192) {
        set_err(err, "field 'token' must be a non-empty string of at most 8192 bytes");
        goto done;
    }
    if (get_int(o, "exp", true, 1, INT64_MAX, &out->exp, err) < 0) goto done;
    out->token = strdup(json_object_get_string(tok));
    if (!out->token) {
        set_err(err, "out of memory");
        goto done;
    }
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

void msg_token_free(struct msg_token *t)
{
    free(t->token);
    t->token = NULL;
}

/* ---------- scores, server status, selection ---------- */

char *msg_score_encode(const struct msg_score *s)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "server_id", json_object_new_int64(s->server_id));
    add_num(o, "score", s->score);
    add_num(o, "step", s->step);
    json_object_object_add(o, "in_pool", json_object_new_boolean(s->in_pool));
    add_time(o, "ts", s->ts_us);
    json_object_object_add(o, "monitors", json_object_new_int(s->monitors));
    return finish(o);
}

int msg_score_decode(const char *payload, size_t len, struct msg_score *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1;
    int64_t n = 0;
    if (get_int(o, "server_id", true, 1, MSG_MAX_SERVER_ID, &out->server_id, err) < 0) goto done;
    if (get_num(o, "score", true, -1e6, 1e6, &out->score, err) < 0) goto done;
    if (get_num(o, "step", true, -1e3, 1e3, &out->step, err) < 0) goto done;
    if (get_bool(o, "in_pool", true, &out->in_pool, err) < 0) goto done;
    if (get_time(o, "ts", true, &out->ts_us, err) < 0) goto done;
    if (get_int(o, "monitors", false, 0, 1000000, &n, err) < 0) goto done;
    out->monitors = (int)n;
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

char *msg_server_status_encode(const struct msg_server_status *s)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "server_id", json_object_new_int64(s->server_id));
    json_object_object_add(o, "in_pool", json_object_new_boolean(s->in_pool));
    if (s->held) json_object_object_add(o, "held", json_object_new_boolean(1));
    add_num(o, "score", s->score);
    add_time(o, "ts", s->ts_us);
    json_object_object_add(o, "reason", json_object_new_string(s->reason));
    return finish(o);
}

int msg_server_status_decode(const char *payload, size_t len, struct msg_server_status *out,
                             char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1;
    if (get_int(o, "server_id", true, 1, MSG_MAX_SERVER_ID, &out->server_id, err) < 0) goto done;
    if (get_bool(o, "in_pool", true, &out->in_pool, err) < 0) goto done;
    if (get_bool(o, "held", false, &out->held, err) < 0) goto done;
    if (get_num(o, "score", true, -1e6, 1e6, &out->score, err) < 0) goto done;
    if (get_time(o, "ts", true, &out->ts_us, err) < 0) goto done;
    if (get_str(o, "reason", false, out->reason, sizeof out->reason, err) < 0) goto done;
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

char *msg_zone_alert_encode(const struct msg_zone_alert *a)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "zone", json_object_new_string(a->zone));
    json_object_object_add(o, "held", json_object_new_int(a->held));
    json_object_object_add(o, "in_pool", json_object_new_int(a->in_pool));
    json_object_object_add(o, "leaving", json_object_new_int(a->leaving));
    add_num(o, "fraction", a->fraction);
    json_object *arr = json_object_new_array_ext((int)a->n_monitors);
    for (size_t i = 0; i < a->n_monitors && i < MSG_ZONE_MONITORS_MAX; i++)
        json_object_array_add(arr, json_object_new_string(a->monitors[i]));
    json_object_object_add(o, "monitors_answering", arr);
    add_time(o, "ts", a->ts_us);
    return finish(o);
}

int msg_zone_alert_decode(const char *payload, size_t len, struct msg_zone_alert *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1, st;
    int64_t held, in_pool, leaving;
    if (get_str(o, "zone", true, out->zone, sizeof out->zone, err) < 0) goto done;
    if (!zone_is_valid(out->zone)) {
        set_err(err, "field 'zone' is not a known zone");
        goto done;
    }
    if (get_int(o, "held", true, 0, INT32_MAX, &held, err) < 0) goto done;
    if (get_int(o, "in_pool", true, 0, INT32_MAX, &in_pool, err) < 0) goto done;
    if (get_int(o, "leaving", true, 0, INT32_MAX, &leaving, err) < 0) goto done;
    if (get_num(o, "fraction", true, 0, 1, &out->fraction, err) < 0) goto done;
    if (get_time(o, "ts", true, &out->ts_us, err) < 0) goto done;
    out->held = (int)held;
    out->in_pool = (int)in_pool;
    out->leaving = (int)leaving;
    json_object *arr = get_array(o, "monitors_answering", true, MSG_ZONE_MONITORS_MAX, err, &st);
    if (st < 0) goto done;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *m = json_object_array_get_idx(arr, i);
        const char *name = json_object_is_type(m, json_type_string) ? json_object_get_string(m) : NULL;
        if (!name || !msg_name_is_valid(name)) {
            set_err(err, "monitors_answering[%zu] must be a monitor name", i);
            goto done;
        }
        snprintf(out->monitors[i], sizeof out->monitors[i], "%s", name);
        out->n_monitors = i + 1;
    }
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

#define MAX_SELECTION_CHANGES 10000

char *msg_selection_encode(const struct msg_selection *s)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "server_id", json_object_new_int64(s->server_id));
    json_object *arr = json_object_new_array_ext((int)s->n_changes);
    for (size_t i = 0; i < s->n_changes; i++) {
        const struct msg_selection_change *c = &s->changes[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "monitor", json_object_new_string(c->monitor));
        json_object_object_add(e, "from", json_object_new_string(msg_pair_status_str(c->from)));
        json_object_object_add(e, "to", json_object_new_string(msg_pair_status_str(c->to)));
        json_object_object_add(e, "reason", json_object_new_string(c->reason));
        json_object_array_add(arr, e);
    }
    json_object_object_add(o, "changes", arr);
    add_time(o, "ts", s->ts_us);
    return finish(o);
}

int msg_selection_decode(const char *payload, size_t len, struct msg_selection *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1, st;
    if (get_int(o, "server_id", true, 1, MSG_MAX_SERVER_ID, &out->server_id, err) < 0) goto done;
    if (get_time(o, "ts", true, &out->ts_us, err) < 0) goto done;
    json_object *arr = get_array(o, "changes", true, MAX_SELECTION_CHANGES, err, &st);
    if (st < 0) goto done;
    size_t n = json_object_array_length(arr);
    out->changes = calloc(n ? n : 1, sizeof *out->changes);
    if (!out->changes) {
        set_err(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        struct msg_selection_change *c = &out->changes[i];
        char sub[MSG_ERR_LEN], from[16], to[16];
        if (!json_object_is_type(e, json_type_object)) {
            set_err(err, "changes[%zu] must be an object", i);
            goto done;
        }
        if (get_str(e, "monitor", true, c->monitor, sizeof c->monitor, sub) < 0 ||
            get_str(e, "from", true, from, sizeof from, sub) < 0 ||
            get_str(e, "to", true, to, sizeof to, sub) < 0 ||
            get_str(e, "reason", false, c->reason, sizeof c->reason, sub) < 0) {
            set_err(err, "changes[%zu]: %s", i, sub);
            goto done;
        }
        c->from = msg_pair_status_parse(from);
        c->to = msg_pair_status_parse(to);
        if (c->from == MSG_STATUS_NONE || c->to == MSG_STATUS_NONE) {
            set_err(err, "changes[%zu]: 'from' and 'to' must be pair statuses", i);
            goto done;
        }
        out->n_changes = i + 1;
    }
    rc = 0;
done:
    json_object_put(o);
    if (rc < 0) msg_selection_free(out);
    return rc;
}

void msg_selection_free(struct msg_selection *s)
{
    free(s->changes);
    s->changes = NULL;
    s->n_changes = 0;
}

/* ---------- traces ---------- */

static const char *const trigger_names[] = {"", "status-change", "request", "pool-change"};

const char *msg_trace_trigger_str(enum msg_trace_trigger t) { return (unsigned)t < 4 ? trigger_names[t] : ""; }

enum msg_trace_trigger msg_trace_trigger_parse(const char *s)
{
    if (!s) return MSG_TRIGGER_NONE;
    for (int i = 1; i < 4; i++)
        if (strcmp(s, trigger_names[i]) == 0) return (enum msg_trace_trigger)i;
    return MSG_TRIGGER_NONE;
}

static json_object *trace_hops_array(const struct msg_trace *t)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; arr && i < t->n_hops && i < MSG_TRACE_MAX_HOPS; i++) {
        const struct msg_trace_hop *h = &t->hops[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ttl", json_object_new_int(h->ttl));
        json_object_object_add(o, "addr", h->has_addr ? json_object_new_string(h->addr) : NULL);
        json_object *rtt = json_object_new_array();
        for (size_t k = 0; k < h->n_rtt && k < MSG_TRACE_MAX_PROBES; k++) {
            char text[48];
            msg_format_number(h->rtt[k], text);
            json_object_array_add(rtt, json_object_new_double_s(h->rtt[k], text));
        }
        json_object_object_add(o, "rtt", rtt);
        json_object_array_add(arr, o);
    }
    return arr;
}

static char *trace_encode(const struct msg_trace *t, bool whole)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    if (whole) {
        json_object_object_add(o, "v", json_object_new_int(1));
        json_object_object_add(o, "id", json_object_new_string(t->id));
        json_object_object_add(o, "monitor", json_object_new_string(t->monitor));
        if (t->has_server_id) json_object_object_add(o, "server_id", json_object_new_int64(t->server_id));
    }
    json_object_object_add(o, "ip", json_object_new_string(t->ip));
    if (whole) {
        add_time(o, "ts", t->ts_us);
        json_object_object_add(o, "trigger", json_object_new_string(msg_trace_trigger_str(t->trigger)));
    }
    json_object_object_add(o, "port", json_object_new_int(t->port));
    json_object_object_add(o, "reached", json_object_new_boolean(t->reached));
    json_object_object_add(o, "hops", trace_hops_array(t));
    if (whole && t->agent[0]) json_object_object_add(o, "agent", json_object_new_string(t->agent));
    return finish(o);
}

char *msg_trace_encode(const struct msg_trace *t) { return trace_encode(t, true); }
char *msg_trace_path_encode(const struct msg_trace *t) { return trace_encode(t, false); }
char *msg_trace_hops_encode(const struct msg_trace *t) { return finish(trace_hops_array(t)); }

static int decode_hop(json_object *o, int prev_ttl, struct msg_trace_hop *h, char err[MSG_ERR_LEN])
{
    int64_t i64;
    if (!json_object_is_type(o, json_type_object)) {
        set_err(err, "must be an object");
        return -1;
    }
    if (get_int(o, "ttl", true, 1, MSG_TRACE_MAX_HOPS, &i64, err) < 0) return -1;
    if (i64 <= prev_ttl) {
        set_err(err, "ttl %" PRId64 " does not follow ttl %d", i64, prev_ttl);
        return -1;
    }
    h->ttl = (int)i64;
    json_object *a = NULL;
    if (!json_object_object_get_ex(o, "addr", &a)) {
        set_err(err, "field 'addr' is missing (null for a silent hop)");
        return -1;
    }
    int r = get_str(o, "addr", false, h->addr, sizeof h->addr, err);
    if (r < 0) return -1;
    h->has_addr = r == 1;
    struct netaddr addr;
    if (h->has_addr) {
        if (netaddr_parse(h->addr, &addr) < 0) {
            set_err(err, "field 'addr' is not an IP address");
            return -1;
        }
        netaddr_format(&addr, h->addr);
    }
    int st;
    json_object *rtt = get_array(o, "rtt", true, MSG_TRACE_MAX_PROBES, err, &st);
    if (st < 0) return -1;
    h->n_rtt = json_object_array_length(rtt);
    if (!h->has_addr && h->n_rtt) {
        set_err(err, "a silent hop (addr null) has no rtt");
        return -1;
    }
    for (size_t k = 0; k < h->n_rtt; k++) {
        json_object *v = json_object_array_get_idx(rtt, k);
        if (!v || !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
            set_err(err, "rtt[%zu] must be a number", k);
            return -1;
        }
        double x = json_object_get_double(v);
        if (!isfinite(x) || x < 0 || x > MSG_TRACE_MAX_RTT) {
            set_err(err, "rtt[%zu] is out of range (0..%g)", k, MSG_TRACE_MAX_RTT);
            return -1;
        }
        h->rtt[k] = x;
    }
    return 0;
}

static int decode_hops(json_object *hops, struct msg_trace *out, char err[MSG_ERR_LEN])
{
    size_t n = json_object_array_length(hops);
    int prev = 0;
    for (size_t i = 0; i < n; i++) {
        char sub[MSG_ERR_LEN];
        if (decode_hop(json_object_array_get_idx(hops, i), prev, &out->hops[i], sub) < 0) {
            set_err(err, "hops[%zu]: %s", i, sub);
            return -1;
        }
        prev = out->hops[i].ttl;
        out->n_hops = i + 1;
    }
    return 0;
}

int msg_trace_hops_decode(const char *json, size_t len, struct msg_trace *out, char err[MSG_ERR_LEN])
{
    out->n_hops = 0;
    if (!json || len == 0 || len > MSG_MAX_PAYLOAD) {
        set_err(err, "no hops");
        return -1;
    }
    json_object *arr = json_tokener_parse(json);
    if (!arr || !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) > MSG_TRACE_MAX_HOPS) {
        set_err(err, "hops must be an array of at most %d hops", MSG_TRACE_MAX_HOPS);
        json_object_put(arr);
        return -1;
    }
    int rc = decode_hops(arr, out, err);
    json_object_put(arr);
    return rc;
}

int msg_trace_decode(const char *payload, size_t len, struct msg_trace *out, char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1, st;
    int64_t i64;
    char trigger[24];
    if (decode_head(o, &out->v, out->id, out->monitor, &out->has_server_id, &out->server_id, out->ip, err) < 0)
        goto done;
    if (get_time(o, "ts", true, &out->ts_us, err) < 0) goto done;
    if (get_str(o, "trigger", true, trigger, sizeof trigger, err) < 0) goto done;
    if ((out->trigger = msg_trace_trigger_parse(trigger)) == MSG_TRIGGER_NONE) {
        set_err(err, "field 'trigger' must be status-change, request or pool-change");
        goto done;
    }
    if (get_int(o, "port", true, 1, 65535, &i64, err) < 0) goto done;
    out->port = (int)i64;
    if (get_bool(o, "reached", true, &out->reached, err) < 0) goto done;
    json_object *hops = get_array(o, "hops", true, MSG_TRACE_MAX_HOPS, err, &st);
    if (st < 0 || decode_hops(hops, out, err) < 0) goto done;
    size_t n = out->n_hops;
    if (out->reached && (n == 0 || !out->hops[n - 1].has_addr || strcmp(out->hops[n - 1].addr, out->ip) != 0)) {
        set_err(err, "a trace that reached the server ends with the server's own hop");
        goto done;
    }
    if (get_str(o, "agent", false, out->agent, sizeof out->agent, err) < 0) goto done;
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

int msg_trace_validate(const char *env, const char *topic, const char *payload, size_t len, struct msg_trace *out,
                       char err[MSG_ERR_LEN])
{
    struct msg_topic t;
    if (msg_topic_parse(env, topic, &t) != MSG_TOPIC_TRACE) {
        memset(out, 0, sizeof *out);
        set_err(err, "topic is not ntpmon/%s/traces/<server_id>/<monitor>", env);
        return -1;
    }
    if (msg_trace_decode(payload, len, out, err) < 0) return -1;
    return topic_agrees(env, topic, MSG_TOPIC_TRACE, "traces", out->has_server_id, out->server_id, out->monitor, err);
}

bool msg_trace_topic_publisher(const char *env, const char *topic, char name[MSG_NAME_MAX])
{
    return topic_publisher(env, topic, "traces", name);
}

char *msg_traceroute_request_encode(const struct msg_traceroute_request *r)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    json_object_object_add(o, "ip", json_object_new_string(r->ip));
    if (r->has_server_id) json_object_object_add(o, "server_id", json_object_new_int64(r->server_id));
    if (r->trigger == MSG_TRIGGER_POOL_CHANGE)
        json_object_object_add(o, "trigger", json_object_new_string(msg_trace_trigger_str(r->trigger)));
    return finish(o);
}

int msg_traceroute_request_decode(const char *payload, size_t len, struct msg_traceroute_request *out,
                                  char err[MSG_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    json_object *o = parse_object(payload, len, err);
    if (!o) return -1;
    int rc = -1, r;
    char trigger[24] = "";
    struct netaddr addr;
    if (get_str(o, "ip", true, out->ip, sizeof out->ip, err) < 0) goto done;
    if (netaddr_parse(out->ip, &addr) < 0) {
        set_err(err, "field 'ip' is not an IP address");
        goto done;
    }
    netaddr_format(&addr, out->ip);
    if ((r = get_int(o, "server_id", false, 1, MSG_MAX_SERVER_ID, &out->server_id, err)) < 0) goto done;
    out->has_server_id = r == 1;
    if ((r = get_str(o, "trigger", false, trigger, sizeof trigger, err)) < 0) goto done;
    out->trigger = r == 1 ? msg_trace_trigger_parse(trigger) : MSG_TRIGGER_REQUEST;
    if (out->trigger != MSG_TRIGGER_REQUEST && out->trigger != MSG_TRIGGER_POOL_CHANGE) {
        set_err(err, "field 'trigger' must be request or pool-change");
        goto done;
    }
    rc = 0;
done:
    json_object_put(o);
    return rc;
}
