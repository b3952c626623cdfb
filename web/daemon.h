/* daemon.h — ntpmon-web's life in one place: its parts started in dependency order (client table, database
 * workers, streams, MQTT + directory, checks, endpoints, HTTP listener), health reported every second, SIGTERM
 * drained (no new connections, streams ended, waiting requests answered within the shutdown timeout), and the
 * parts stopped in reverse order: steps of the daemon frame (common/service.h), which also gives it READY=1,
 * STATUS=, WATCHDOG=1 and STOPPING=1. */
#ifndef NTPMON_WEB_DAEMON_H
#define NTPMON_WEB_DAEMON_H

#include <stdint.h>

#include "api.h"
#include "checks.h"
#include "dbconf.h"
#include "dbq.h"
#include "http.h"
#include "live.h"
#include "opts.h"
#include "streams.h"

struct web_options {
    struct http_config http;
    struct dbq_config dbq;
    struct live_config live;
    struct streams_config streams;
    struct checks_config checks;
    struct api_config api;
    int64_t shutdown_timeout_us;
    int64_t client_idle_us; /* client table entries idle this long are forgotten */
};

/* Runs in the daemon frame until SIGTERM/SIGINT; 0 after a clean shutdown, 2 when the listener or the broker
 * session cannot start, 1 on another failure. */
int web_run(const struct web_options *o, const struct db_dsn *dsn, const struct opts_metrics *metrics);

#endif
