/* daemon.h — `ntpmon-selector run`: one event loop that keeps the pool's statistics from the result stream,
 * reviews due servers in batches (backing off when none is due), rescans pairs and settings, and publishes the
 * monitors' assignments and the selection changes. SIGTERM/SIGINT stop it cleanly. */
#ifndef NTPMON_SELECTOR_DAEMON_H
#define NTPMON_SELECTOR_DAEMON_H

#include "db.h"
#include "dbconf.h"
#include "metrics.h"
#include "settings.h"

struct daemon_config {
    const char *env;
    struct db_dsn dsn;
    const char *mqtt_url, *mqtt_ca_file, *mqtt_client_id;
    const char *mqtt_username, *mqtt_token; /* NULL: anonymous (a broker without the auth plugin) */
    const char *metrics_listen;             /* NULL: off */
    struct metrics_limits metrics_limits;   /* --metrics-request-timeout, …-max-connections, …-max-per-ip */
    const char *setting_overrides;          /* JSON object applied over system_settings, or NULL */
};

/* Runs until SIGTERM/SIGINT; returns the process exit status (0 after a clean stop, 2 on bad settings). */
int daemon_run(const struct daemon_config *cfg);

/* Loads settings from the database with the overrides applied. 0, -1 database error, -2 invalid (err says why). */
int daemon_load_settings(struct db *db, const char *overrides, struct sel_settings *out, char *err, size_t err_len);

#endif
