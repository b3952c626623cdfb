/* main.c — ntpmon-web: the HTTP gateway of DESIGN.md §9 (on-demand checks, online monitors, servers, score history,
 * live score streams, the page). Flags and environment (common/opts), configuration checks (exit 2 with one line),
 * then web_run. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "dbconf.h"
#include "log.h"
#include "metrics.h"
#include "opts.h"
#include "xalloc.h"

static struct opts_common common;
static struct opts_mqtt mqtto;
static struct opts_db dbo;
static struct opts_metrics metricso;
static const char *listen_addr;
static struct opt_list trusted_proxies;
static struct netaddr *trusted; /* parsed --trusted-proxy (static: reachable when a config error exits) */
static unsigned *trusted_bits;
static bool allow_loopback;
static int64_t max_conns, max_conns_client, idle_timeout, request_deadline, response_deadline;
static int64_t max_streams, max_streams_client, stream_ping, stream_backlog;
static int64_t check_deadline, check_spacing, check_healthy, check_samples, check_cache;
static double check_rate, check_burst, check_rate_global, check_burst_global, api_rate, api_burst;
static int64_t history_default, history_max, db_workers, db_queue, db_timeout, db_retry, servers_refresh;
static int64_t shutdown_timeout, stream_retry, roster_settle, client_forget;

static const struct opt_spec http_specs[] = {
    {"listen", 0, "WEB_LISTEN", OPT_STRING, &listen_addr, "127.0.0.1:8095", 0, 0, "ADDR:PORT",
     "where to serve HTTP ([::]:8095 for IPv6; put a TLS proxy in front for the public)"},
    {"trusted-proxy", 0, "WEB_TRUSTED_PROXY", OPT_LIST, &trusted_proxies, NULL, 0, 0, "ADDR[/BITS]",
     "proxies whose X-Forwarded-For is believed (repeatable); without one the TCP peer is the client"},
    {"allow-loopback", 0, NULL, OPT_FLAG, &allow_loopback, NULL, 0, 0, NULL,
     "allow checks of 127.0.0.0/8 and ::1 (tests and the demo)"},
    {"max-connections", 0, NULL, OPT_INT, &max_conns, "4096", 16, 1000000, "N", "open connections, all clients"},
    {"max-connections-per-client", 0, NULL, OPT_INT, &max_conns_client, "32", 1, 100000, "N",
     "open connections from one address (IPv6: one /64); trusted proxies are exempt"},
    {"request-deadline", 0, NULL, OPT_DURATION, &request_deadline, "10s", 0.1, 3600, "DUR",
     "a request must arrive completely within this (slow senders are cut)"},
    {"response-deadline", 0, NULL, OPT_DURATION, &response_deadline, "60s", 0.1, 3600, "DUR",
     "a response (not a stream) must be taken within this"},
    {"idle-timeout", 0, NULL, OPT_DURATION, &idle_timeout, "30s", 1, 3600, "DUR",
     "a connection with no byte moving for this long is closed"},
    {"api-rate", 0, NULL, OPT_DOUBLE, &api_rate, "20", 0.01, 1e6, "N", "API requests a second per client address"},
    {"api-burst", 0, NULL, OPT_DOUBLE, &api_burst, "60", 1, 1e6, "N", "… saved up for a burst"},
    {0},
};

static const struct opt_spec check_specs[] = {
    {"check-deadline", 0, NULL, OPT_DURATION, &check_deadline, "8s", 0.1, 120, "DUR",
     "a check answers with what it has after this (the pool: 8 s)"},
    {"check-spacing", 0, NULL, OPT_DURATION, &check_spacing, "400ms", 0, 10, "DUR", "between two monitors asked"},
    {"check-healthy", 0, NULL, OPT_INT, &check_healthy, "3", 1, 1000, "N", "a check stops after N healthy answers"},
    {"check-samples", 0, NULL, OPT_INT, &check_samples, "1", 1, 4, "N", "queries per monitor in a check"},
    {"check-cache", 0, NULL, OPT_DURATION, &check_cache, "60s", 0, 3600, "DUR",
     "a check of the same target within this answers from the last one"},
    {"check-rate", 0, NULL, OPT_DOUBLE, &check_rate, "6", 0.001, 1e6, "N", "new checks a minute per client address"},
    {"check-burst", 0, NULL, OPT_DOUBLE, &check_burst, "3", 1, 1e6, "N", "… saved up for a burst"},
    {"check-rate-global", 0, NULL, OPT_DOUBLE, &check_rate_global, "120", 0.001, 1e7, "N",
     "new checks a minute, all clients together"},
    {"check-burst-global", 0, NULL, OPT_DOUBLE, &check_burst_global, "20", 1, 1e7, "N", "… saved up for a burst"},
    {0},
};

static const struct opt_spec stream_specs[] = {
    {"max-streams", 0, NULL, OPT_INT, &max_streams, "2000", 1, 1000000, "N", "open score streams, all clients"},
    {"max-streams-per-client", 0, NULL, OPT_INT, &max_streams_client, "8", 1, 100000, "N",
     "open score streams from one address"},
    {"stream-ping", 0, NULL, OPT_DURATION, &stream_ping, "15s", 0.05, 3600, "DUR",
     "a ': ping' comment this often (finds clients that went away)"},
    {"stream-backlog", 0, NULL, OPT_INT, &stream_backlog, "262144", 1024, 1 << 30, "BYTES",
     "a client this far behind is cut"},
    {"stream-retry", 0, NULL, OPT_DURATION, &stream_retry, "2s", 0.1, 3600, "DUR",
     "the reconnect delay suggested to browsers (the stream's retry: field)"},
    {0},
};

static const struct opt_spec data_specs[] = {
    {"history-limit", 0, NULL, OPT_INT, &history_default, "100", 1, 1000000, "N",
     "history rows when no limit is given"},
    {"history-max", 0, NULL, OPT_INT, &history_max, "10000", 1, 1000000, "N", "larger limits are clamped to this"},
    {"servers-refresh", 0, NULL, OPT_DURATION, &servers_refresh, "10s", 0.1, 86400, "DUR",
     "how often the server list is reloaded from the database"},
    {"db-workers", 0, NULL, OPT_INT, &db_workers, "2", 1, 64, "N", "database connections (one thread each)"},
    {"db-queue", 0, NULL, OPT_INT, &db_queue, "256", 1, 100000, "N", "database jobs waiting; more get 503"},
    {"db-timeout", 0, NULL, OPT_DURATION, &db_timeout, "5s", 1, 3600, "DUR",
     "a database job waits at most this; also the connection's read/write timeout"},
    {"db-retry", 0, NULL, OPT_DURATION, &db_retry, "1s", 0.01, 3600, "DUR",
     "after a failed connect, database jobs fail at once for this long"},
    {"roster-settle", 0, NULL, OPT_DURATION, &roster_settle, "3s", 0.1, 3600, "DUR",
     "after a broker reconnect, monitors whose status did not come again within this are forgotten"},
    {"client-forget", 0, NULL, OPT_DURATION, &client_forget, "10m", 1, 86400, "DUR",
     "a client address idle this long is forgotten (its buckets refill anyway)"},
    {"shutdown-timeout", 0, NULL, OPT_DURATION, &shutdown_timeout, "10s", 0, 3600, "DUR",
     "on SIGTERM, how long waiting requests may still take"},
    {0},
};

static const char footer[] =
    "Endpoints: POST /api/check/ntp/{ip}[?all=1] (Accept: text/event-stream streams each answer),\n"
    "GET /api/monitors/online, /api/servers, /api/server/scores/{ip|id}/json|log|stream, /api/scores/stream,\n"
    "/ (the page), /healthz, /metrics.\n";

/* Raises the open-file limit to its hard maximum: every connection and stream is a descriptor. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    log_init("ntpmon-web");
    opts_load_env_file("/etc/default/ntpmon-web");
    const struct opt_spec *groups[] = {opts_common_specs(&common), opts_db_specs(&dbo), opts_mqtt_specs(&mqtto),
                                       opts_metrics_specs(&metricso), http_specs, check_specs, stream_specs,
                                       data_specs, NULL};
    struct opt_program prog = {
        "ntpmon-web", "[options]",
        "The web gateway: on-demand NTP checks through the online monitors, score history as JSON and the pool's "
        "CSV, live score streams (Server-Sent Events), and a page that uses them.",
        groups, footer};
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &common);
    if (first < argc) opts_usage_error(&prog, "unexpected argument '%s'", argv[first]);

    struct web_options o;
    memset(&o, 0, sizeof o);
    char err[512];
    struct sockaddr_storage ss;
    socklen_t ss_len;
    uint16_t port16;
    if (netaddr_parse_listen(listen_addr, &ss, &ss_len, &port16, err, sizeof err) < 0)
        opts_usage_error(&prog, "--listen: %s", err);
    trusted = xcalloc(trusted_proxies.n + 1, sizeof *trusted);
    trusted_bits = xcalloc(trusted_proxies.n + 1, sizeof *trusted_bits);
    for (size_t i = 0; i < trusted_proxies.n; i++)
        if (netaddr_parse_prefix(trusted_proxies.items[i], &trusted[i], &trusted_bits[i]) < 0)
            opts_usage_error(&prog, "invalid --trusted-proxy '%s': want ADDR or ADDR/BITS", trusted_proxies.items[i]);
    /* the broker: a web-role token (DESIGN.md §4); without one, anonymous (a broker without the plugin) */
    char *token, *username;
    opts_mqtt_credentials(&prog, &mqtto, &token, &username);
    struct db_dsn dsn;
    opts_db_resolve(&prog, &dbo, common.env, &dsn);
    unsigned tmo = (unsigned)(db_timeout / 1000000);
    if (!dsn.read_timeout_s) dsn.read_timeout_s = tmo;
    if (!dsn.write_timeout_s) dsn.write_timeout_s = tmo;
    if (!dsn.timeout_s) dsn.timeout_s = tmo;

    /* No persistent session: everything the gateway needs is retained or live. The id must be unique per
     * process (several gateways may share a token). */
    char client_id[200], hostname[64] = "host";
    gethostname(hostname, sizeof hostname - 1);
    if (mqtto.client_id && *mqtto.client_id) snprintf(client_id, sizeof client_id, "%s", mqtto.client_id);
    else snprintf(client_id, sizeof client_id, "web-%s-%d", hostname, (int)getpid());

    o.http = (struct http_config){
        .listen = listen_addr,
        .max_connections = (unsigned)max_conns,
        .max_connections_per_client = (unsigned)max_conns_client,
        .request_deadline_us = request_deadline,
        .response_deadline_us = response_deadline,
        .idle_timeout_s = (unsigned)((idle_timeout + 999999) / 1000000),
        .max_body = 4096,
        .trusted = trusted,
        .trusted_bits = trusted_bits,
        .n_trusted = trusted_proxies.n,
    };
    o.dbq = (struct dbq_config){
        .workers = (int)db_workers, .max_queue = (size_t)db_queue, .max_wait_us = db_timeout, .retry_us = db_retry};
    o.live = (struct live_config){
        .env = common.env,
        .mqtt = {.url = mqtto.url, .client_id = client_id, .username = username, .password = token,
                 .ca_file = mqtto.ca_file, .clean_start = true, .backoff_min_us = 200000, .backoff_max_us = 5000000},
        .refresh_us = servers_refresh,
        .roster_settle_us = roster_settle,
    };
    o.streams = (struct streams_config){.max_total = (size_t)max_streams,
                                        .max_per_client = (size_t)max_streams_client,
                                        .ping_us = stream_ping,
                                        .max_backlog = (size_t)stream_backlog,
                                        .retry_ms = (int)(stream_retry / 1000)};
    o.checks.env = common.env;
    check_params_default(&o.checks.params);
    o.checks.params.deadline_us = check_deadline;
    o.checks.params.spacing_us = check_spacing;
    o.checks.params.want_healthy = (int)check_healthy;
    o.checks.params.samples = (int)check_samples;
    o.checks.cache_us = check_cache;
    o.checks.max_backlog = 65536;
    o.api = (struct api_config){
        .env = common.env,
        .allow_loopback = allow_loopback,
        .api_rate = api_rate,
        .api_burst = api_burst,
        .check_rate = check_rate / 60,
        .check_burst = check_burst,
        .check_rate_global = check_rate_global / 60,
        .check_burst_global = check_burst_global,
        .history_default = history_default,
        .history_max = history_max,
        .check_deadline_us = check_deadline,
    };
    o.shutdown_timeout_us = shutdown_timeout;
    o.client_idle_us = client_forget;

    raise_nofile();
    int rc = web_run(&o, &dsn, &metricso);
    free(token);
    free(username);
    free(trusted);
    free(trusted_bits);
    return rc;
}
