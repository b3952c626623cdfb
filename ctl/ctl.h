/* ctl.h — what every ntpmonctl command gets: the parsed shared options, lazily opened database, and helpers for
 * one-line errors. Each command lives in its own cmd_*.c and is listed in main.c's table. */
#ifndef NTPMON_CTL_H
#define NTPMON_CTL_H

#include <stdbool.h>

#include "db.h"
#include "opts.h"

struct ctl_ctx {
    struct opts_common common;
    struct opts_db dbo;
    struct opts_mqtt mqtto;
    struct db *db;
    const char *prog;
};

struct ctl_command {
    const char *group;       /* "server" */
    const char *name;        /* "add"; NULL for one-word commands ("log") */
    const char *args;        /* usage of the positional arguments, e.g. "IP --account A" */
    const char *help;        /* one line */
    const struct opt_spec *(*specs)(void); /* the command's own options, or NULL */
    int (*run)(struct ctl_ctx *ctx, int argc, char **argv); /* argc/argv: positional arguments after the command */
};

/* Opens the env's database (from DATABASE_DSN / database.yaml) or exits 1 with a one-line error. */
struct db *ctl_db(struct ctl_ctx *ctx);
/* Prints "ntpmonctl: message" to stderr and returns 1 (the exit status for failed commands). */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a database error as one line and returns 1. */
int ctl_db_fail(struct ctl_ctx *ctx, const char *what);

#endif
