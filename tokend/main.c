/* main.c — ntpmon-tokend, the token service of DESIGN.md §4: it holds the signing key, listens on
 * E/monitors/+/token/request (the broker lets only monitor <name> publish on its own request topic, so the topic
 * names an authenticated monitor), checks the monitor in the database (it exists, is an agent monitor and is not
 * deleted) and the revocation file, and answers on E/monitors/<name>/token with {"token":…,"exp":…} or
 * {"error":…}. One event loop; a lost database or broker is retried, never fatal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "dbconf.h"
#include "jwtpeek.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "msg.h"
#include "opts.h"
#include "revoked.h"
#include "service.h"
#include "strmap.h"
#include "timeutil.h"
#include "token.h"
#include "xalloc.h"

#define REQUEST_MAX 1024

static struct opts_common common;
static struct opts_mqtt mqtto;
static struct opts_metrics metricso;
static struct opts_db dbo;
static const char *key_file, *revoked_file;
static int64_t monitor_ttl_us, min_interval_us;

static const struct opt_spec *tokend_specs(void)
{
    static const struct opt_spec specs[] = {
        {"key-file", 0, "JWT_KEY_FILE", OPT_STRING, &key_file, NULL, 0, 0, "FILE",
         "signing key: an HMAC secret file or a private EC P-256/RSA PEM (default: the secret in $JWT_KEY)"},
        {"revoked-file", 0, "NTPMON_REVOKED_FILE", OPT_STRING, &revoked_file, "/var/lib/ntpmon/revoked", 0, 0, "FILE",
         "the broker's revocation file: revoked monitors get no new token"},
        {"monitor-ttl", 0, NULL, OPT_DURATION, &monitor_ttl_us, "6h", 1, 366 * 86400.0, "DURATION",
         "lifetime of the monitor tokens issued"},
        {"min-interval", 0, NULL, OPT_DURATION, &min_interval_us, "5s", 0, 3600, "DURATION",
         "a monitor asking again sooner than this is refused (protects the signer and the database)"},
        {0},
    };
    return specs;
}

struct tokend {
    struct service *svc;
    struct token_key *key;
    struct revoked *revoked;
    struct strmap *last_request; /* monitor name → int64_t* monotonic µs of its last answered request */
    uint64_t issued, refused;
    struct metric *m_issued, *m_refused;
};

struct monitor_row {
    bool found;
    char status[16], type[16];
};

static int read_monitor(void *arg, const struct db_row *row)
{
    struct monitor_row *m = arg;
    m->found = true;
    snprintf(m->status, sizeof m->status, "%s", db_row_str(row, 0));
    snprintf(m->type, sizeof m->type, "%s", db_row_str(row, 1));
    return 0;
}

/* Why name may not have a token now ("" when it may). */
static void check_monitor(struct tokend *t, const char *name, char *why, size_t why_len)
{
    why[0] = '\0';
    char msg[512];
    if (revoked_refresh(t->revoked, time_now_us() / 1000000, false, msg, sizeof msg) != 0 && msg[0])
        LOG(INFO, "%s", msg);
    if (revoked_contains(t->revoked, name)) {
        snprintf(why, why_len, "monitor is revoked");
        return;
    }
    struct db *db = service_db(t->svc);
    struct monitor_row m = {0};
    struct db_param p[] = {DB_STR(name)};
    if (db_query(db, "SELECT status, type FROM monitors WHERE name = ?", p, 1, read_monitor, &m) < 0) {
        if (db_errno_is_retryable(db_errno(db))) service_db_report(t->svc, false, db_error(db));
        LOG(WARN, "looking up monitor %s failed: %s", name, db_error(db));
        snprintf(why, why_len, "database unavailable, try again later");
        return;
    }
    service_db_report(t->svc, true, NULL);
    if (!m.found) snprintf(why, why_len, "unknown monitor");
    else if (strcmp(m.status, "deleted") == 0) snprintf(why, why_len, "monitor is deleted");
    else if (strcmp(m.type, "monitor") != 0) snprintf(why, why_len, "not an agent monitor");
}

/* Refuses a second request from the same monitor within --min-interval. */
static bool too_soon(struct tokend *t, const char *name)
{
    int64_t now = time_mono_us();
    int64_t *last = strmap_get(t->last_request, name);
    if (last && now - *last < min_interval_us) return true;
    if (!last) {
        last = xmalloc(sizeof *last);
        if (strmap_put(t->last_request, name, last, NULL) < 0) {
            free(last);
            return false;
        }
    }
    *last = now;
    return false;
}

static void reply(struct tokend *t, const char *name, const char *payload)
{
    char topic[MSG_TOPIC_MAX];
    struct msg_topic mt = {.kind = MSG_TOPIC_TOKEN};
    snprintf(mt.monitor, sizeof mt.monitor, "%s", name);
    if (!payload || msg_topic_build(topic, sizeof topic, common.env, &mt) < 0) {
        LOG(ERROR, "cannot build the reply for monitor %s", name);
        return;
    }
    int rc = mqtt_publish(service_mqtt(t->svc), topic, payload, strlen(payload), 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS) LOG(WARN, "reply to monitor %s not sent: %s", name, mosquitto_strerror(rc));
}

static void handle_request(struct tokend *t, const char *name)
{
    char why[MSG_ERROR_MAX];
    if (too_soon(t, name)) snprintf(why, sizeof why, "too many requests, try again later");
    else check_monitor(t, name, why, sizeof why);
    if (why[0]) {
        t->refused++;
        metric_inc(t->m_refused);
        LOG(WARN, "no token for monitor %s: %s", name, why);
        char *p = msg_error_encode(why);
        reply(t, name, p);
        free(p);
        return;
    }
    struct token_issued out;
    char err[TOKEN_ERR_LEN];
    if (token_issue(t->key, TOKEN_ROLE_MONITOR, common.env, name, monitor_ttl_us / 1000000, time_now_us() / 1000000,
                    &out, err) < 0) {
        t->refused++;
        metric_inc(t->m_refused);
        LOG(ERROR, "signing a token for monitor %s failed: %s", name, err);
        char *p = msg_error_encode("token service error");
        reply(t, name, p);
        free(p);
        return;
    }
    struct msg_token mt = {.token = out.token, .exp = out.exp};
    char *p = msg_token_encode(&mt);
    reply(t, name, p);
    free(p);
    t->issued++;
    metric_inc(t->m_issued);
    char exp[TIME_RFC3339_LEN];
    time_format_rfc3339(out.exp * 1000000, exp);
    LOG(INFO, "issued a token for monitor %s (jti %s, expires %s)", name, out.jti, exp);
    memset(out.token, 0, strlen(out.token));
    free(out.token);
}

static void on_message(struct mqtt_session *s, const struct mosquitto_message *m, const mosquitto_property *props,
                       void *arg)
{
    (void)s;
    (void)props;
    struct tokend *t = arg;
    struct msg_topic mt;
    if (msg_topic_parse(common.env, m->topic, &mt) != MSG_TOPIC_TOKEN_REQUEST) {
        LOG(WARN, "ignoring a message on %s", m->topic);
        return;
    }
    if (m->payloadlen > REQUEST_MAX) {
        LOG(WARN, "ignoring an oversized token request from monitor %s (%d bytes)", mt.monitor, m->payloadlen);
        return;
    }
    handle_request(t, mt.monitor);
}

static void on_connect(struct mqtt_session *s, bool present, void *arg)
{
    (void)s;
    (void)arg;
    LOG(INFO, "connected to the broker (session %s)", present ? "resumed" : "new");
}

static void on_disconnect(struct mqtt_session *s, int reason, const char *why, void *arg)
{
    (void)s;
    (void)arg;
    LOG(WARN, "broker connection lost (%d: %s); reconnecting", reason, why ? why : "");
}

/* ---- the frame's steps ---- */

static int tokens_start(struct service *svc, void *arg)
{
    struct tokend *t = arg;
    t->revoked = revoked_new(revoked_file);
    t->last_request = strmap_new();
    if (!t->revoked || !t->last_request) {
        service_fail(svc, 1, "out of memory");
        return -1;
    }
    t->m_issued = metrics_counter("ntpmon_tokend_requests_total", "token requests", "answer=\"issued\"");
    t->m_refused = metrics_counter("ntpmon_tokend_requests_total", "token requests", "answer=\"refused\"");
    char filter[MSG_TOPIC_MAX];
    msg_filter_token_requests(filter, sizeof filter, common.env);
    mqtt_session_subscribe(service_mqtt(svc), filter, 1);
    return 0;
}

static void tokens_stop(struct service *svc, void *arg)
{
    (void)svc;
    struct tokend *t = arg;
    LOG_ALWAYS(INFO, "stopped: %llu tokens issued, %llu requests refused", (unsigned long long)t->issued,
               (unsigned long long)t->refused);
    revoked_free(t->revoked);
    strmap_free(t->last_request, free);
}

static void tokens_status(struct service *svc, void *arg, char *buf, size_t len)
{
    (void)svc;
    struct tokend *t = arg;
    snprintf(buf, len, "%llu tokens issued, %llu requests refused", (unsigned long long)t->issued,
             (unsigned long long)t->refused);
}

static const struct service_step steps[] = {
    SERVICE_STEP_METRICS,
    SERVICE_STEP_DATABASE,
    SERVICE_STEP_MQTT,
    {"tokens", tokens_start, tokens_stop},
    {0},
};

int main(int argc, char **argv)
{
    service_hold_signals(); /* a SIGTERM during start-up is handled at the loop's first turn */
    log_init("ntpmon-tokend");
    const struct opt_spec *groups[] = {opts_common_specs(&common), opts_mqtt_specs(&mqtto), opts_db_specs(&dbo),
                                       tokend_specs(), opts_metrics_specs(&metricso), NULL};
    struct opt_program prog = {
        "ntpmon-tokend", "[options]",
        "Token service: answers monitors' token renewal requests over MQTT with a new token signed by the key in "
        "$JWT_KEY or --key-file, unless the monitor is deleted in the database or revoked.",
        groups, NULL};
    int first = opts_parse(&prog, argc, argv);
    if (first < argc) opts_usage_error(&prog, "unexpected argument '%s'", argv[first]);
    opts_common_apply(&prog, &common);

    static struct tokend t;
    char err[512];
    t.key = token_key_from_options(key_file, err);
    if (!t.key) opts_usage_error(&prog, "%s", err);
    struct db_dsn dsn;
    opts_db_resolve(&prog, &dbo, common.env, &dsn);
    char *token = opts_mqtt_token(&mqtto, err, sizeof err);
    if (!token) opts_usage_error(&prog, "%s", err);
    struct jwt_claims_peek peek;
    if (jwt_peek(token, &peek, err, sizeof err) < 0) opts_usage_error(&prog, "the MQTT token: %s", err);

    struct mqtt_config cfg = {
        .url = mqtto.url,
        .client_id = mqtto.client_id ? mqtto.client_id : peek.sub,
        .username = peek.sub,
        .password = token,
        .ca_file = mqtto.ca_file,
        .clean_start = false,
    };
    struct mqtt_handlers h = {.on_connect = on_connect, .on_disconnect = on_disconnect, .on_message = on_message};
    char desc[300];
    dbconf_describe(&dsn, desc, sizeof desc);
    LOG_ALWAYS(INFO, "ntpmon-tokend %s: env %s, key %s, database %s, monitor tokens for %llds, revocation file %s",
               NTPMON_VERSION, common.env, token_key_alg(t.key), desc, (long long)(monitor_ttl_us / 1000000),
               revoked_file ? revoked_file : "(none)");
    const struct service_def def = {.name = "ntpmon-tokend", .steps = steps, .arg = &t, .status = tokens_status};
    t.svc = service_new(&def);
    service_set_metrics(t.svc, &metricso);
    service_set_database(t.svc, &dsn, dbo.check_interval_us);
    service_set_mqtt(t.svc, &cfg, &h);
    int rc = service_run(t.svc);
    token_key_free(t.key);
    memset(token, 0, strlen(token));
    free(token);
    memset(&dsn, 0, sizeof dsn);
    return rc;
}
