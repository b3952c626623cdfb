/* daemon.h — `ntpmon-scorer` as a service, in the daemon frame (common/service.h): results from MQTT (and, after a crash or a missed delivery, from the
 * results table) are scored in batches, each batch's log rows and score updates committed in one transaction,
 * then the recorded overall scores and in/out-of-pool changes are published retained. Exactly once: a result
 * whose per-monitor log row exists is never scored again (log_scores.result_id is unique per monitor). */
#ifndef NTPMON_SCORER_DAEMON_H
#define NTPMON_SCORER_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbconf.h"
#include "engine.h"
#include "mqtt.h"
#include "opts.h"
#include "store.h"

struct daemon_opts {
    const char *env;
    struct shard shard;
    bool shard_topics;          /* subscribe per server of the shard instead of to every result */
    int64_t max_age_us;         /* results older than this (by our clock) are not scored */
    size_t batch_max;           /* results per transaction */
    int64_t batch_delay_us;     /* wait this long for more results before a partial batch */
    size_t max_pending;         /* queue bound while the database is away; the oldest beyond it are dropped */
    int64_t reload_us;          /* statuses, monitors and servers reloaded this often */
    int64_t unknown_reload_us;  /* at most this often on an unknown monitor or server */
    int64_t report_us;          /* a skipped result's reason is logged once per this interval */
    int64_t rescan_us;          /* the results table is checked for unscored rows this often (0: only at start) */
    int64_t rescan_settle_us;   /* … for rows received at least this long ago */
    int64_t idle_evict_us;      /* servers without results this long are dropped from memory */
    int64_t history_tail_us;    /* per pair, rows this recent stay in memory (and the latest older one) */
    bool republish;             /* republish the retained messages from the database on every connect */
    int64_t max_lag_us;         /* /healthz: falling behind when a queued result waited longer */
    int64_t start_retry_us;     /* loading monitors and servers at start is retried this often */
    int64_t shutdown_timeout_us; /* SIGTERM: scoring what is queued may take this long */
    struct opts_metrics metrics;  /* the frame's (common/service.h): --metrics-listen, its limits, --health-interval */
    int64_t db_check_interval_us; /* --database-check-interval */
    bool pool_change_traces;    /* ask a server's active and testing monitors to trace it when it crosses the line */
    const char *guard_overrides; /* --guard-setting as a JSON object, or NULL */
    struct eng_params params;
};

/* Runs in the daemon frame until SIGTERM/SIGINT; returns the exit status (0 clean, 2 configuration, 1 failure). */
int scorer_daemon_run(const struct daemon_opts *o, const struct db_dsn *dsn, const struct mqtt_config *mc);

#endif
