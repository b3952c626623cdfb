/* daemon.h — `ntpmon-selector run`, in the daemon frame (common/service.h): it keeps the pool's statistics from
 * the result stream, reviews due servers in batches (backing off when none is due), rescans pairs and settings,
 * and publishes the monitors' assignments (once per review round, only the lists that changed) and the selection
 * changes. Ready (and connected to the broker) once the pairs are read — the stored results load lazily per server
 * (backfill.h) — or, with eager history, once every stored result of the window is loaded; /healthz adds "reviews failing" to the frame's broker and database.
 * SIGTERM/SIGINT stop it cleanly. */
#ifndef NTPMON_SELECTOR_DAEMON_H
#define NTPMON_SELECTOR_DAEMON_H

#include "db.h"
#include "dbconf.h"
#include "opts.h"
#include "settings.h"

struct selector_daemon_config {
    const char *env;
    struct db_dsn dsn;
    int64_t db_check_interval_us;           /* the frame's database ping */
    const char *mqtt_url, *mqtt_ca_file, *mqtt_client_id;
    const char *mqtt_username, *mqtt_token; /* NULL: anonymous (a broker without the auth plugin) */
    struct opts_metrics metrics;            /* the frame's: --metrics-listen, its limits, --health-interval */
    const char *setting_overrides;          /* JSON object applied over system_settings, or NULL */
    int history_mode;                       /* enum backfill_mode: lazy (default) or eager */
    int history_batch;                      /* servers whose history is loaded per event-loop turn at most; 0: on demand only */
    int history_turn_rows;                  /* and about this many rows per turn */
};

/* Runs until SIGTERM/SIGINT; returns the process exit status (0 after a clean stop, 2 on bad settings). */
int selector_daemon_run(const struct selector_daemon_config *cfg);

/* Loads settings from the database with the overrides applied. 0, -1 database error, -2 invalid (err says why). */
int selector_load_settings(struct db *db, const char *overrides, struct sel_settings *out, char *err, size_t err_len);

#endif
