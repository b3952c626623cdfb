/* opts.h — table-driven command-line and environment configuration (one row per setting: name, env var, type,
 * bounds, default, help), --help and --version for every program, and the option groups every daemon shares:
 * -e/--env, --log-level; --mqtt-url, --mqtt-token-file, --mqtt-ca-file; --database-dsn, --database-config;
 * --metrics-listen and its limits.
 * Precedence: flag, then environment variable, then default. Bad values are fatal with a clear message (exit 2). */
#ifndef NTPMON_OPTS_H
#define NTPMON_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

enum opt_type {
    OPT_FLAG,     /* bool, no argument; env var true when "1", "true", "yes" or "on" */
    OPT_STRING,   /* char * (points into argv/environ or the default; never freed) */
    OPT_INT,      /* int64_t */
    OPT_DOUBLE,   /* double */
    OPT_DURATION, /* int64_t microseconds; text like "540", "9m", "2.5s" (bounds in seconds) */
    OPT_LIST,     /* struct opt_list: repeatable; also takes the following non-option words until the next flag */
};

struct opt_list {
    size_t n;
    const char **items;
};

struct opt_spec {
    const char *name; /* long name without "--"; NULL ends the table */
    int short_name;   /* 0 for none */
    const char *env;  /* environment variable or NULL */
    enum opt_type type;
    void *dst;
    const char *def;  /* default as text, or NULL */
    double min, max;  /* bounds for numbers and durations (seconds); min == max means unbounded */
    const char *metavar;
    const char *help;
};

struct opt_program {
    const char *name;        /* e.g. "ntpmon-agent" */
    const char *usage;       /* e.g. "[options] monitor|setup|check IP…|version" */
    const char *description; /* one paragraph */
    const struct opt_spec *const *groups; /* NULL-terminated list of NULL-terminated tables */
    const char *footer;      /* extra help text (commands, examples) or NULL */
};

/* Parses argv; on success returns the index of the first positional argument (argv is permuted so all
 * positionals come last). Prints help/version and exits 0 for --help/--version; prints an error and exits 2
 * on a bad flag or value. List values stay valid until the next opts_parse, which releases them (programs parse
 * once; tests parse many times without leaking). */
int opts_parse(const struct opt_program *prog, int argc, char **argv);
/* Prints "PROG: message" and "Try 'PROG --help'." to stderr and exits 2. */
void opts_usage_error(const struct opt_program *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Reads KEY=VALUE lines (systemd EnvironmentFile style) and sets the variables not already set. A missing file
 * is fine; a malformed line is reported on stderr and skipped. Returns the number of variables set. */
int opts_load_env_file(const char *path);

/* ---- shared groups ---- */

struct opts_common {
    const char *env;
    const char *log_level;
};
extern const struct opt_spec *opts_common_specs(struct opts_common *c);
/* Validates env and applies the log level (fatal on bad values). Call right after opts_parse. */
void opts_common_apply(const struct opt_program *prog, const struct opts_common *c);

struct opts_mqtt {
    const char *url;
    const char *token_file;
    const char *ca_file;
    const char *client_id;
};
extern const struct opt_spec *opts_mqtt_specs(struct opts_mqtt *m);
/* The broker token: the file's first line (--mqtt-token-file) or $MQTT_TOKEN; a malloc'd string or NULL with a
 * message in err. */
char *opts_mqtt_token(const struct opts_mqtt *m, char *err, size_t err_len);
/* A server daemon's broker: checks the URL, then reads the credentials — the token (as opts_mqtt_token) and its
 * `sub` as the username, both malloc'd. No token at all means connecting anonymously (a broker without the auth
 * plugin): both NULL, with a warning. A bad URL, an unreadable token file or a token that is not a JWT is a
 * configuration error (exit 2 with the reason). */
void opts_mqtt_credentials(const struct opt_program *prog, const struct opts_mqtt *m, char **token, char **username);

struct opts_db {
    const char *dsn;         /* --database-dsn / DATABASE_DSN */
    const char *config_file; /* --database-config / DATABASE_CONFIG (database.yaml) */
    const char *ca_file;     /* --database-ca-file / DATABASE_CA_FILE: CA for tls=true (default: the system's) */
    int64_t check_interval_us; /* --database-check-interval: daemons ping an idle database this often */
};
extern const struct opt_spec *opts_db_specs(struct opts_db *d);
struct db_dsn;
/* The database a server daemon uses (dbconf_resolve of the flags, environment, database.yaml and CA file for env);
 * a bad DSN or file is a configuration error (exit 2 with the reason). */
void opts_db_resolve(const struct opt_program *prog, const struct opts_db *d, const char *env, struct db_dsn *out);

struct opts_metrics {
    const char *listen;           /* --metrics-listen ADDR:PORT, NULL = off */
    struct metrics_limits limits; /* --metrics-request-timeout, --metrics-max-connections, --metrics-max-per-ip */
    int64_t health_interval_us;   /* --health-interval: /healthz and STATUS= are re-evaluated this often */
};
extern const struct opt_spec *opts_metrics_specs(struct opts_metrics *m);

#endif
