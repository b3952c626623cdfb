/* main.c — ntpmon-agent: flags (one table), /etc/default/ntpmon-agent, and the commands check, trace, setup,
 * monitor, version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"

#ifndef NTPMON_VERSION
#define NTPMON_VERSION "0.0.0"
#endif

static struct agent_opts o;

#define DUR(name, dst, def, lo, hi, help) {name, 0, NULL, OPT_DURATION, dst, def, lo, hi, "DURATION", help}

static const struct opt_spec agent_specs[] = {
    {"state-dir", 0, "MONITOR_STATE_DIR", OPT_STRING, &o.state_dir, NULL, 0, 0, "DIR",
     "state directory (else $STATE_DIRECTORY, else /var/lib/ntpmon-agent); files live in DIR/<env>/"},
    {"no-ipv4", 0, "NTPMON_NO_IPV4", OPT_FLAG, &o.no_ipv4, NULL, 0, 0, NULL, "never probe IPv4"},
    {"no-ipv6", 0, "NTPMON_NO_IPV6", OPT_FLAG, &o.no_ipv6, NULL, 0, 0, NULL, "never probe IPv6"},
    {"allow-loopback", 0, NULL, OPT_FLAG, &o.allow_loopback, NULL, 0, 0, NULL,
     "allow probing 127.0.0.0/8 and ::1 (tests, demo)"},
    {"allow-documentation-nets", 0, "NTPMON_ALLOW_DOCUMENTATION_NETS", OPT_FLAG, &o.allow_documentation_nets, NULL, 0,
     0, NULL, "allow probing and tracing the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, "
     "2001:db8::/32, 3fff::/20): for labs and tests; never in production"},
    {"ntp-port", 0, NULL, OPT_INT, &o.ntp_port, "123", 1, 65535, "PORT", "NTP server port (tests)"},
    {"samples", 0, NULL, OPT_INT, &o.samples, "3", 1, 16, "N", "check: queries per server"},
    DUR("timeout", &o.timeout_us, "3s", 0.001, 60, "timeout of each query"),
    DUR("sample-spacing", &o.spacing_us, "2s", 0, 60, "time between the queries of one probe"),
    DUR("min-interval", &o.min_interval_us, "60s", 0, 86400, "never two probes of one server closer than this"),
    {"jitter", 0, NULL, OPT_DOUBLE, &o.jitter, "0.1", 0, 0.5, "FRACTION", "± jitter of each interval"},
    DUR("first-probe-max", &o.first_max_us, "10m", 0, 86400,
        "a newly assigned server is first probed within min(interval, this)"),
    {"max-sockets", 0, NULL, OPT_INT, &o.max_sockets, "512", 1, 60000, "N", "queries in flight at once"},
    {"spool-max", 0, NULL, OPT_INT, &o.spool_max, "100000", 1, 10000000, "N",
     "results kept unconfirmed at most (the oldest beyond are dropped and counted)"},
    {"no-spool-fsync", 0, NULL, OPT_FLAG, &o.no_spool_fsync, NULL, 0, 0, NULL,
     "do not fsync the spool before publishing (survives kill -9, not power loss)"},
    {"spool-window", 0, NULL, OPT_INT, &o.spool_window, "200", 1, 100000, "N",
     "results published and not yet acknowledged by the broker at most"},
    DUR("resend-timeout", &o.resend_us, "120s", 0.01, 86400, "re-send a result still unconfirmed after this"),
    {"clock-ref", 0, "NTPMON_CLOCK_REFS", OPT_LIST, &o.clock_refs, NULL, 0, 0, "HOST…",
     "local clock reference servers, HOST or HOST:PORT (default: clock_refs of state.json)"},
    DUR("clock-cache", &o.clock_cache_us, "180s", 0.01, 86400, "how long a local clock check holds"),
    {"clock-max-offset", 0, NULL, OPT_DOUBLE, &o.clock_max_offset, "0.01", 0.000001, 10, "SECONDS",
     "local clock is bad beyond this offset from a reference"},
    {"clock-samples", 0, NULL, OPT_INT, &o.clock_samples, "3", 1, 16, "N", "queries per clock reference"},
    DUR("status-interval", &o.status_us, "60s", 0.01, 86400, "republish the status message this often"),
    {"request-rate", 0, NULL, OPT_INT, &o.request_rate, "30", 0, 100000, "N",
     "ad-hoc requests answered per --request-window at most"},
    DUR("request-window", &o.request_window_us, "60s", 0.01, 86400, "window of --request-rate"),
    DUR("token-retry", &o.token_retry_us, "60s", 0.01, 86400, "re-ask the token service this often"),
    DUR("shutdown-timeout", &o.shutdown_us, "3s", 0, 600, "on SIGTERM, wait this long for broker acks"),
    {"once", 0, NULL, OPT_FLAG, &o.once, NULL, 0, 0, NULL,
     "monitor: probe every assigned server once, wait for confirmations, exit"},
    DUR("once-timeout", &o.once_timeout_us, "120s", 0.01, 86400, "monitor --once gives up after this"),
    DUR("mqtt-backoff-min", &o.backoff_min_us, "0.5s", 0.01, 3600, "first reconnect delay"),
    DUR("mqtt-backoff-max", &o.backoff_max_us, "30s", 0.01, 3600, "longest reconnect delay"),
    DUR("netwatch-interval", &o.netwatch_us, "60s", 0.01, 86400, "re-check the host's addresses this often"),
    {"trace-max-hops", 0, NULL, OPT_INT, &o.trace_max_hops, "30", 1, 64, "N", "a trace gives up after this many hops"},
    {"max-hops", 0, NULL, OPT_INT, &o.trace_max_hops, NULL, 1, 64, "N", "trace: the same as --trace-max-hops"},
    {"trace-probes", 0, NULL, OPT_INT, &o.trace_probes, "3", 1, 8, "N", "probes per hop of a trace"},
    DUR("trace-timeout", &o.trace_timeout_us, "2s", 0.001, 60, "how long a hop of a trace waits for answers"),
    {"trace-silent-hops", 0, NULL, OPT_INT, &o.trace_silent, "5", 1, 64, "N",
     "a trace ends after this many hops in a row without any answer"},
    {"trace-concurrency", 0, NULL, OPT_INT, &o.trace_concurrency, "2", 1, 64, "N",
     "traces running at once (more wait their turn; probes never wait for them)"},
    DUR("trace-server-interval", &o.trace_server_interval_us, "20m", 0, 604800,
        "at most one trace of a server this often (every trigger)"),
    {"trace-rate", 0, NULL, OPT_INT, &o.trace_rate, "30", 0, 100000, "N",
     "traces per --trace-window at most, all servers together (0: never trace)"},
    DUR("trace-window", &o.trace_window_us, "1h", 0.01, 604800, "window of --trace-rate"),
    {"name", 0, NULL, OPT_STRING, &o.name, NULL, 0, 0, "NAME", "setup: the monitor's name"},
    {"mqtt-url", 0, NULL, OPT_STRING, &o.mqtt_url, NULL, 0, 0, "URL", "setup: broker, mqtt[s]://host[:port]"},
    {"mqtt-ca-file", 0, NULL, OPT_STRING, &o.mqtt_ca_file, NULL, 0, 0, "FILE", "setup: CA file for mqtts://"},
    {"mqtt-token-file", 0, NULL, OPT_STRING, &o.mqtt_token_file, NULL, 0, 0, "FILE|-",
     "setup: file holding the monitor's token ('-': standard input)"},
    {"mqtt-client-id", 0, NULL, OPT_STRING, &o.mqtt_client_id, NULL, 0, 0, "ID",
     "MQTT client id (default: the monitor name)"},
    {0},
};

static const char footer[] =
    "Commands:\n"
    "  check IP…     probe the addresses now; one result JSON per line; exit 0 when all are good, 1 otherwise\n"
    "  trace IP      traceroute over UDP to the NTP port (--ntp-port, --max-hops); one JSON object\n"
    "  setup         write <state>/<env>/state.json (--name, --mqtt-url, --mqtt-token-file, [--mqtt-ca-file],\n"
    "                [--clock-ref HOST…])\n"
    "  monitor       run the monitoring daemon ([--once])\n"
    "  version       print the version\n"
    "\n/etc/default/ntpmon-agent (KEY=VALUE) fills environment variables that are not set.\n";

const char *agent_version_string(void) { return AGENT_NAME "/" NTPMON_VERSION; }

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&o.common), agent_specs, opts_metrics_specs(&o.metrics), NULL};
    const struct opt_program prog = {
        .name = AGENT_NAME,
        .usage = "[options] monitor|setup|check IP…|trace IP|version",
        .description = "The ntpmon monitoring agent: probes NTP servers and publishes the results over MQTT.",
        .groups = groups,
        .footer = footer,
    };
    opts_load_env_file("/etc/default/ntpmon-agent");
    /* opts_parse reorders argv; a restart as another monitor re-executes the original command line */
    static char *saved_argv[1024];
    for (int i = 0; i < argc && i < 1023; i++) saved_argv[i] = argv[i];
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &o.common);
    if (first >= argc) opts_usage_error(&prog, "missing command (monitor, setup, check, trace or version)");
    const char *cmd = argv[first];
    if (strcmp(cmd, "version") == 0) {
        printf("%s %s\n", AGENT_NAME, NTPMON_VERSION);
        return 0;
    }
    if (strcmp(cmd, "check") == 0) {
        if (first + 1 >= argc) opts_usage_error(&prog, "check needs at least one IP address");
        return agent_check(&o, argc - first - 1, argv + first + 1);
    }
    if (strcmp(cmd, "trace") == 0) {
        if (first + 2 != argc) opts_usage_error(&prog, "trace needs exactly one IP address");
        return agent_trace(&o, argv[first + 1]);
    }
    if (first + 1 < argc) opts_usage_error(&prog, "unexpected argument '%s'", argv[first + 1]);
    if (strcmp(cmd, "setup") == 0) return agent_setup(&o);
    if (strcmp(cmd, "monitor") == 0) return agent_monitor(&o, saved_argv);
    opts_usage_error(&prog, "unknown command '%s' (monitor, setup, check, trace or version)", cmd);
}
