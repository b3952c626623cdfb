/* main.c — ntpmon-ingest: options, the broker token, the MQTT client id, then ingest_daemon_run (the daemon frame
 * checks the database). Configuration errors exit 2 with one line naming the problem. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "dbconf.h"
#include "jwtpeek.h"
#include "log.h"
#include "msg.h"
#include "opts.h"
#include "service.h"
#include "daemon.h"
#include "xalloc.h"

static struct opts_common common;
static struct opts_mqtt mqtto;
static struct opts_db dbo;
static struct opts_metrics metricso;
static const char *group;
static int64_t batch_size, max_held, max_pending_confirms, receive_maximum;
static int64_t flush_interval, summary_interval, shutdown_timeout, cache_refresh, backoff_min, backoff_max,
    last_submit_interval, session_expiry, keepalive;

static const struct opt_spec ingest_specs[] = {
    {"group", 0, "INGEST_GROUP", OPT_STRING, &group, "ingest", 0, 0, "NAME",
     "shared subscription group: workers of one group split the results"},
    {"batch-size", 0, NULL, OPT_INT, &batch_size, "1000", 1, 10000, "N", "results per transaction"},
    {"flush-interval", 0, NULL, OPT_DURATION, &flush_interval, "50ms", 0.001, 60, "DURATION",
     "a partial batch is written after waiting this long"},
    {"max-held", 0, NULL, OPT_INT, &max_held, "20000", 1, 10000000, "N",
     "messages held in memory before reading from the broker pauses (the broker queues meanwhile)"},
    {"summary-interval", 0, NULL, OPT_DURATION, &summary_interval, "60s", 0.01, 86400, "DURATION",
     "how often the summary line is logged"},
    {"shutdown-timeout", 0, NULL, OPT_DURATION, &shutdown_timeout, "20s", 0, 3600, "DURATION",
     "on SIGTERM, how long to keep trying to commit what is held"},
    {"cache-refresh", 0, NULL, OPT_DURATION, &cache_refresh, "60s", 0, 86400, "DURATION",
     "full reload of the monitor and server cache"},
    {"db-backoff-min", 0, NULL, OPT_DURATION, &backoff_min, "200ms", 0.001, 3600, "DURATION",
     "first retry delay after a failed database write"},
    {"db-backoff-max", 0, NULL, OPT_DURATION, &backoff_max, "10s", 0.001, 3600, "DURATION",
     "longest retry delay after failed database writes"},
    {"last-submit-interval", 0, NULL, OPT_DURATION, &last_submit_interval, "60s", 0, 86400, "DURATION",
     "how often a monitor's last_submit is moved forward (0: never)"},
    {"max-pending-confirmations", 0, NULL, OPT_INT, &max_pending_confirms, "1000000", 1, 100000000, "N",
     "confirmation ids kept while the broker is unreachable"},
    {"mqtt-receive-maximum", 0, NULL, OPT_INT, &receive_maximum, "1000", 1, 65535, "N",
     "QoS 1 messages the broker may have in flight to us"},
    {"mqtt-session-expiry", 0, NULL, OPT_DURATION, &session_expiry, "7d", 1, 4294967295.0, "DURATION",
     "how long the broker keeps our session (and queues results) while we are away"},
    {"mqtt-keepalive", 0, NULL, OPT_DURATION, &keepalive, "30s", 5, 3600, "DURATION", "MQTT keepalive"},
    {0},
};

/* A client id from the token's sub and the host name ("ingest-1-db3"), valid as a monitor-style name. */
static void derive_client_id(const char *sub, char out[MSG_NAME_MAX])
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) < 0) snprintf(host, sizeof host, "host");
    /* "<sub>:<host>": the form the broker plugin accepts for this token (common/mqtt.h) */
    char raw[512];
    snprintf(raw, sizeof raw, "%s:%s", sub, host);
    size_t n = 0;
    for (const char *p = raw; *p && n < MSG_NAME_MAX - 1; p++) {
        char c = *p;
        out[n++] = (isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == ':') ? c : '-';
    }
    out[n] = '\0';
}

int main(int argc, char **argv)
{
    service_hold_signals(); /* a SIGTERM during start-up is handled at the loop's first turn */
    const struct opt_spec *groups[] = {opts_common_specs(&common), opts_mqtt_specs(&mqtto), opts_db_specs(&dbo),
                                       opts_metrics_specs(&metricso), ingest_specs, NULL};
    struct opt_program prog = {
        "ntpmon-ingest", "[options]",
        "Stores every monitoring result from the broker in the database (table results, one row per result id; "
        "refused messages in results_rejected) and confirms each commit to the agents on "
        "ntpmon/<env>/monitors/<name>/stored. Several workers may share the subscription.",
        groups, NULL};
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &common);
    if (first < argc) opts_usage_error(&prog, "unexpected argument '%s'", argv[first]);
    if (!msg_name_is_valid(group)) opts_usage_error(&prog, "invalid --group '%s'", group);
    if (max_held < batch_size) opts_usage_error(&prog, "--max-held (%lld) must be at least --batch-size (%lld)",
                                                (long long)max_held, (long long)batch_size);

    /* The broker token: required when configured; without one we connect anonymously (a broker with the auth
     * plugin refuses that, and the refusal is logged). */
    char err[512];
    char *token = NULL;
    char sub[128] = "ingest";
    const char *env_token = getenv("MQTT_TOKEN");
    if ((mqtto.token_file && *mqtto.token_file) || (env_token && *env_token)) {
        token = opts_mqtt_token(&mqtto, err, sizeof err);
        if (!token) opts_usage_error(&prog, "%s", err);
        struct jwt_claims_peek claims;
        if (jwt_peek(token, &claims, err, sizeof err) < 0) opts_usage_error(&prog, "broker token: %s", err);
        if (!claims.sub[0]) opts_usage_error(&prog, "broker token has no 'sub' claim");
        snprintf(sub, sizeof sub, "%s", claims.sub);
    } else {
        LOG(WARN, "no broker token (--mqtt-token-file or $MQTT_TOKEN): connecting without credentials");
    }
    char client_id[MSG_NAME_MAX];
    if (mqtto.client_id && *mqtto.client_id) snprintf(client_id, sizeof client_id, "%s", mqtto.client_id);
    else derive_client_id(sub, client_id);

    /* The database: a bad DSN here, bad credentials or a missing schema in the frame's steps are configuration
     * errors; an unreachable server is not (the writer keeps trying, and the broker queues meanwhile). */
    struct db_dsn dsn;
    opts_db_resolve(&prog, &dbo, common.env, &dsn);

    struct ingest_config cfg = {
        .env = common.env,
        .group = group,
        .mqtt = {.url = mqtto.url,
                 .client_id = client_id,
                 .username = token ? sub : NULL,
                 .password = token,
                 .ca_file = mqtto.ca_file,
                 .clean_start = false,
                 .session_expiry_s = (uint32_t)(session_expiry / 1000000),
                 .keepalive_s = (int)(keepalive / 1000000),
                 .receive_maximum = (int)receive_maximum},
        .writer = {.dsn = dsn,
                   .backoff_min_us = backoff_min,
                   .backoff_max_us = backoff_max,
                   .cache_refresh_us = cache_refresh,
                   .last_submit_interval_us = last_submit_interval,
                   .probe_interval_us = dbo.check_interval_us},
        .batch_size = (size_t)batch_size,
        .max_held = (size_t)max_held,
        .max_pending_confirms = (size_t)max_pending_confirms,
        .flush_interval_us = flush_interval,
        .summary_interval_us = summary_interval,
        .shutdown_timeout_us = shutdown_timeout,
        .metrics = metricso,
    };
    char where[300];
    dbconf_describe(&dsn, where, sizeof where);
    LOG(INFO, "database %s", where);
    int rc = ingest_daemon_run(&cfg);
    memset(&dsn, 0, sizeof dsn);
    memset(&cfg.writer.dsn, 0, sizeof cfg.writer.dsn);
    free(token);
    return rc;
}
