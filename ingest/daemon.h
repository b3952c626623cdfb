/* daemon.h — the ingest daemon in the frame (common/service.h): the MQTT session (shared, persistent
 * subscription to every result), the queue of held messages, the hand-off to the writer thread, back-pressure
 * (reading pauses when the queue is full), `stored` confirmations after each commit, the periodic summary line,
 * and the SIGTERM drain (commit what is held, confirm, exit 0). /healthz: the broker, and database writes (or the
 * writer's idle pings) failing. */
#ifndef NTPMON_INGEST_DAEMON_H
#define NTPMON_INGEST_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "mqtt.h"
#include "opts.h"
#include "writer.h"

struct ingest_config {
    const char *env;
    const char *group;          /* shared subscription group */
    struct mqtt_config mqtt;
    struct writer_config writer; /* its dsn is the frame's database; probe_interval_us its check interval */
    size_t batch_size;          /* rows per transaction */
    size_t max_held;            /* messages held (beside the writer's batch) before reading pauses */
    size_t max_pending_confirms; /* confirmation ids kept while the broker is unreachable */
    int64_t flush_interval_us;  /* a partial batch waits at most this long */
    int64_t summary_interval_us;
    int64_t shutdown_timeout_us; /* how long SIGTERM waits for the database */
    struct opts_metrics metrics; /* the frame's: --metrics-listen, its limits, --health-interval */
};

/* Runs in the daemon frame until SIGTERM/SIGINT; returns the exit status (0 after a clean shutdown, 2 after a
 * configuration error: refused credentials, no database or tables, a bad broker URL). */
int ingest_daemon_run(const struct ingest_config *cfg);

#endif
