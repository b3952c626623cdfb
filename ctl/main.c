/* main.c — ntpmonctl: the admin tool (schema, accounts, monitors, servers, settings; tokens, logs, ad-hoc
 * checks and traces). `ntpmonctl [options] GROUP COMMAND [options] ARGS`. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "log.h"
#include "xalloc.h"

static const struct ctl_command commands[] = {
    {"db", "migrate", "", "create or upgrade the schema (idempotent)", NULL, cmd_db_migrate},
    {"db", "status", "", "print the schema version", NULL, cmd_db_status},
    {"account", "add", "NAME [--monitors-per-server N]", "add an account", cmd_account_specs, cmd_account_add},
    {"account", "set", "NAME --monitors-per-server N", "change an account's monitor limit", cmd_account_specs,
     cmd_account_set},
    {"account", "list", "", "list accounts", NULL, cmd_account_list},
    {"monitor", "add", "--name N --account A [--ip4 X] [--ip6 Y] [--status S]",
     "register a monitor (creates its candidate pairs)", cmd_monitor_specs, cmd_monitor_add},
    {"monitor", "list", "", "list monitors", NULL, cmd_monitor_list},
    {"monitor", "set-status", "NAME pending|testing|active|paused|deleted", "change a monitor's global status", NULL,
     cmd_monitor_set_status},
    {"server", "add", "IP --account A [--zone Z] [--allow-local]", "add an NTP server (creates its candidate pairs)",
     cmd_server_specs, cmd_server_add},
    {"server", "set-zone", "IP|ID ZONE|none", "set a server's zone (ISO 3166 country code or continent)", NULL,
     cmd_server_set_zone},
    {"server", "list", "", "list servers", NULL, cmd_server_list},
    {"server", "delete", "IP|ID", "delete a server (it leaves the pool; history is kept)", NULL, cmd_server_delete},
    {"zone", "list", "", "zones: servers, in the pool, held by the guard, leaving, removed today, alert", NULL,
     cmd_zone_list},
    {"zone", "release", "ZONE", "end the mass-outage guard's holds in a zone (the scorer's next check)", NULL,
     cmd_zone_release},
    {"log", NULL, "IP|ID [--monitor '*'|NAME] [--limit N] [--since T]",
     "print a server's score log as the pool's CSV (newest first; default: the overall score)", cmd_log_specs,
     cmd_log},
    {"settings", "get", "KEY", "print a system setting (JSON)", NULL, cmd_settings_get},
    {"settings", "set", "KEY JSON", "store a system setting, e.g. settings set selector '{\"active_target\":3}'", NULL,
     cmd_settings_set},
    {"token", "issue", "--role ROLE [--name N] [--ttl D] [--key-file F]",
     "print a signed broker token (key: --key-file or $JWT_KEY)", cmd_token_specs, cmd_token_issue},
    {"token", "revoke", "NAME|JTI [--revoked-file F]", "revoke a subject or token id at the broker", cmd_token_specs,
     cmd_token_revoke},
    {"key", "gen", "--alg HS256|ES256|RS256 --out PREFIX", "write a new signing key (PREFIX.key, PREFIX.pub)",
     cmd_key_specs, cmd_key_gen},
    {"check", NULL, "IP [--all] [--timeout S] [--table]",
     "ad-hoc check: ask online monitors to probe IP now (MQTT, web role token)", cmd_check_specs, cmd_check},
    {"trace", "show", "IP|ID|TRACE-ULID [--monitor NAME] [--limit N] [--json]",
     "print stored traces of a server like traceroute (newest first)", cmd_trace_specs, cmd_trace_show},
    {"trace", NULL, "IP [--monitor NAME…] [--json] [--timeout S]",
     "ask monitors to trace the path to IP now (MQTT, web role token)", cmd_trace_specs, cmd_trace},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

int ctl_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ntpmonctl: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

int ctl_db_fail(struct ctl_ctx *ctx, const char *what)
{
    return ctl_fail("%s failed: %s", what, ctx->db ? db_error(ctx->db) : "no database");
}

struct db *ctl_db(struct ctl_ctx *ctx)
{
    if (ctx->db) return ctx->db;
    struct db_dsn dsn;
    char err[DB_ERR_LEN];
    if (dbconf_resolve(ctx->dbo.dsn, ctx->dbo.config_file, ctx->dbo.ca_file, ctx->common.env, &dsn, err) < 0) {
        ctl_fail("%s", err);
        exit(1);
    }
    ctx->db = db_open(&dsn, false, err);
    if (!ctx->db) {
        /* db migrate may create the database itself */
        ctx->db = db_open(&dsn, true, err);
        if (!ctx->db) {
            ctl_fail("%s", err);
            exit(1);
        }
    }
    return ctx->db;
}

static char *build_footer(void)
{
    size_t cap = 8192, len = 0;
    char *out = xmalloc(cap);
    len += (size_t)snprintf(out + len, cap - len, "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS && len < cap; i++) {
        char left[160];
        snprintf(left, sizeof left, "%s%s%s %s", commands[i].group, commands[i].name ? " " : "",
                 commands[i].name ? commands[i].name : "", commands[i].args);
        len += (size_t)snprintf(out + len, cap - len, "  %-58s  %s\n", left, commands[i].help);
    }
    if (len < cap)
        snprintf(out + len, cap - len,
                 "\nThe database comes from $DATABASE_DSN (user:pass@tcp(host:port)/db) or database.yaml; without a\n"
                 "database name in either, ntpmon_<env> is used. Exit status: 0 ok, 1 failed, 2 bad usage.\n");
    return out;
}

/* Finds the spec of a flag among all option tables (to know whether it takes a value while scanning). */
static const struct opt_spec *find_spec(const struct opt_spec *const *groups, const char *arg)
{
    for (const struct opt_spec *const *g = groups; *g; g++) {
        for (const struct opt_spec *s = *g; s->name; s++) {
            if (arg[1] == '-') {
                size_t n = strcspn(arg + 2, "=");
                if (strlen(s->name) == n && strncmp(s->name, arg + 2, n) == 0) return s;
            } else if (s->short_name && arg[1] == s->short_name && arg[2] == '\0') {
                return s;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static struct ctl_ctx ctx;
    ctx.prog = "ntpmonctl";
    const struct opt_spec *all[N_COMMANDS + 4];
    size_t n_all = 0;
    all[n_all++] = opts_common_specs(&ctx.common);
    all[n_all++] = opts_db_specs(&ctx.dbo);
    all[n_all++] = opts_mqtt_specs(&ctx.mqtto);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].specs) all[n_all++] = commands[i].specs();
    all[n_all] = NULL;

    /* Find the command words: the first two arguments that are neither flags nor flag values. */
    const char *words[2] = {NULL, NULL};
    int n_words = 0;
    bool want_help = false;
    for (int i = 1; i < argc && n_words < 2; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) break;
        /* --help and --version need no command: opts_parse answers them and exits. */
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "--version") == 0) want_help = true;
        if (a[0] == '-' && a[1]) {
            const struct opt_spec *s = find_spec(all, a);
            if (s && s->type != OPT_FLAG && !strchr(a, '=') && !(a[1] != '-' && a[2])) i++;
            continue;
        }
        words[n_words++] = a;
    }
    const struct ctl_command *cmd = NULL;
    for (size_t i = 0; i < N_COMMANDS && n_words >= 1; i++) {
        if (strcmp(commands[i].group, words[0]) != 0) continue;
        if (commands[i].name && n_words >= 2 && strcmp(commands[i].name, words[1]) == 0) cmd = &commands[i];
        if (!commands[i].name && !cmd) cmd = &commands[i];
    }

    char *footer = build_footer();
    const struct opt_spec *groups[5] = {all[0], all[1], all[2], NULL, NULL};
    if (cmd && cmd->specs) groups[3] = cmd->specs();
    char usage[256];
    if (cmd) snprintf(usage, sizeof usage, "[options] %s%s%s %s", cmd->group, cmd->name ? " " : "",
                      cmd->name ? cmd->name : "", cmd->args);
    else snprintf(usage, sizeof usage, "[options] GROUP COMMAND [ARGS]");
    struct opt_program prog = {
        "ntpmonctl", usage,
        cmd ? cmd->help : "Administer an ntpmon deployment: schema, accounts, monitors, servers and settings.",
        groups, footer};
    if (!cmd && !want_help) {
        if (n_words == 0) opts_usage_error(&prog, "missing command");
        opts_usage_error(&prog, "unknown command '%s%s%s'", words[0], n_words > 1 ? " " : "", n_words > 1 ? words[1] : "");
    }
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &ctx.common);
    log_set_level(log_get_level() < LOG_LEVEL_WARN ? log_get_level() : LOG_LEVEL_WARN); /* a CLI stays quiet */
    int skip = cmd->name ? 2 : 1;
    int rc = cmd->run(&ctx, argc - first - skip, argv + first + skip);
    db_close(ctx.db);
    free(footer);
    return rc;
}
