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
    bool no_ipv4, no_ipv6, allow_loopback, once, no_spool_fsync;
    int64_t ntp_port, samples, spool_max, request_rate, max_sockets, spool_window;
    int64_t timeout_us, spacing_us, min_interval_us, first_max_us, resend_us, clock_cache_us, status_us,
        token_retry_us, shutdown_us, once_timeout_us, backoff_min_us, backoff_max_us, netwatch_us,
        request_window_us, clock_samples;
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

/* "ntpmon-agent/<version>" for the result's `agent` field. */
const char *agent_version_string(void);

#endif
