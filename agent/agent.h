/* agent.h — ntpmon-agent's settings (one table in main.c fills them from flags, environment and defaults) and its
 * three commands. Every interval, threshold and timeout is here so tests can run an agent's life in seconds. */
#ifndef NTPMON_AGENT_AGENT_H
#define NTPMON_AGENT_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "opts.h"

#define AGENT_NAME "ntpmon-agent"

struct agent_opts {
    struct opts_common common;
    struct opts_metrics metrics;
    const char *state_dir;
    bool no_ipv4, no_ipv6, allow_loopback, allow_documentation_nets, once, no_spool_fsync;
    int64_t ntp_port, samples, spool_max, request_rate, max_sockets, spool_window;
    int64_t timeout_us, spacing_us, min_interval_us, first_max_us, resend_us, clock_cache_us, status_us,
        token_retry_us, shutdown_us, once_timeout_us, backoff_min_us, backoff_max_us, netwatch_us,
        request_window_us, clock_samples;
    /* tracing (agent/trace.h, agent/tracing.h) */
    int64_t trace_max_hops, trace_probes, trace_silent, trace_concurrency, trace_rate;
    int64_t trace_timeout_us, trace_server_interval_us, trace_window_us;
    double jitter, clock_max_offset;
    struct opt_list clock_refs;
    /* setup */
    const char *name, *mqtt_url, *mqtt_ca_file, *mqtt_token_file, *mqtt_client_id;
};

/* `check IP…`: probes now, prints one result per line; exit 0/1/2. */
int agent_check(const struct agent_opts *o, int n, char **ips);
/* `setup`: writes state.json; exit 0 or 2. */
int agent_setup(const struct agent_opts *o);
/* `monitor`: the daemon; returns the exit status. */
int agent_monitor(const struct agent_opts *o, char **argv);

/* `trace IP`: one traceroute to the NTP port, printed as one JSON object; exit 0 (made), 1 (no trace), 2 (bad args). */
int agent_trace(const struct agent_opts *o, const char *ip);

/* Parses a command-line target and applies the probing rules (forbidden ranges, families turned off); prints why
 * on stderr and returns -1 when it must not be probed ("probe"/"trace" is the verb in the message). */
struct netaddr;
int agent_parse_target(const struct agent_opts *o, const char *verb, const char *text, struct netaddr *out);
/* The ranges the test flags let through (--allow-loopback, --allow-documentation-nets) as NETADDR_ALLOW_* bits. */
unsigned agent_target_allow(const struct agent_opts *o);
/* The name `check` and `trace` output carries: the monitor's own when state.json is readable, else the host name. */
void agent_monitor_name(const struct agent_opts *o, char out[64]);
/* Raises the open-file limit to its hard maximum (many probe sockets at once). */
void agent_raise_fd_limit(void);

/* "ntpmon-agent/<version>" for the result's `agent` field. */
const char *agent_version_string(void);

#endif
