/* cmds.h — the entry points of every ntpmonctl command (one cmd_*.c file per group). */
#ifndef NTPMON_CMDS_H
#define NTPMON_CMDS_H

#include "ctl.h"

int cmd_db_migrate(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_db_status(struct ctl_ctx *ctx, int argc, char **argv);

const struct opt_spec *cmd_account_specs(void);
int cmd_account_add(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_account_set(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_account_list(struct ctl_ctx *ctx, int argc, char **argv);

const struct opt_spec *cmd_monitor_specs(void);
int cmd_monitor_add(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_monitor_list(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_monitor_set_status(struct ctl_ctx *ctx, int argc, char **argv);

/* Resolves a server given as an IP address or an id to its id; 0, or the command's exit status after printing
 * why (not an address or id, no such server, database error). */
int ctl_find_server(struct ctl_ctx *ctx, const char *arg, int64_t *id);

/* Resolves a monitor given by name or id; 0, or the command's exit status after printing why. */
int ctl_find_monitor(struct ctl_ctx *ctx, const char *arg, int64_t *id);

const struct opt_spec *cmd_server_specs(void);
int cmd_server_add(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_server_list(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_server_delete(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_server_set_zone(struct ctl_ctx *ctx, int argc, char **argv);

int cmd_zone_list(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_zone_release(struct ctl_ctx *ctx, int argc, char **argv);

const struct opt_spec *cmd_log_specs(void);
int cmd_log(struct ctl_ctx *ctx, int argc, char **argv);

int cmd_settings_get(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_settings_set(struct ctl_ctx *ctx, int argc, char **argv);

const struct opt_spec *cmd_token_specs(void);
int cmd_token_issue(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_token_revoke(struct ctl_ctx *ctx, int argc, char **argv);

const struct opt_spec *cmd_key_specs(void);
int cmd_key_gen(struct ctl_ctx *ctx, int argc, char **argv);

const struct opt_spec *cmd_check_specs(void);
int cmd_check(struct ctl_ctx *ctx, int argc, char **argv);

const struct opt_spec *cmd_trace_specs(void);
int cmd_trace(struct ctl_ctx *ctx, int argc, char **argv);
int cmd_trace_show(struct ctl_ctx *ctx, int argc, char **argv);

/* Pairs (server_scores rows) and reviews shared by monitor and server commands (pairs.c). */
struct db;
/* Creates the missing candidate pairs of a new server with every non-deleted monitor of its IP family, and
 * makes it due for review after the configured delay. Runs inside the caller's transaction. */
int pairs_for_server(struct db *db, int64_t server_id, int ip_version);
/* The same for a new monitor, for every live server of the families the monitor has an address of. */
int pairs_for_monitor(struct db *db, int64_t monitor_id, bool has_ip4, bool has_ip6);

#endif
