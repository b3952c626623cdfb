/* cmd_account.c — `ntpmonctl account add|set|list`: accounts own servers and monitors; their flags hold the
 * per-account monitor limit the selector enforces. */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"

static int64_t monitors_per_server = -1;

const struct opt_spec *cmd_account_specs(void)
{
    static const struct opt_spec specs[] = {
        {"monitors-per-server", 0, NULL, OPT_INT, &monitors_per_server, "-1", -1, 1000, "N",
         "the account's monitors_per_server_limit (the selector's default is 2)"},
        {0},
    };
    return specs;
}

static bool account_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255) return false;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) return false;
    return true;
}

int cmd_account_add(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: account add NAME [--monitors-per-server N]");
    if (!account_name_ok(argv[0])) return ctl_fail("invalid account name '%s' (1..255 printable characters)", argv[0]);
    struct db *db = ctl_db(ctx);
    char flags[64] = "{}";
    if (monitors_per_server >= 0)
        snprintf(flags, sizeof flags, "{\"monitors_per_server_limit\":%lld}", (long long)monitors_per_server);
    struct db_param p[] = {DB_STR(argv[0]), DB_STR(flags)};
    uint64_t id = 0;
    if (db_execp(db, "INSERT INTO accounts (name, flags) VALUES (?, ?)", p, 2, NULL, &id) < 0) {
        if (db_errno_is_duplicate(db_errno(db))) return ctl_fail("account '%s' already exists", argv[0]);
        return ctl_db_fail(ctx, "adding the account");
    }
    printf("account %llu %s\n", (unsigned long long)id, argv[0]);
    return 0;
}

int cmd_account_set(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1 || monitors_per_server < 0) return ctl_fail("usage: account set NAME --monitors-per-server N");
    struct db *db = ctl_db(ctx);
    struct db_param p[] = {DB_INT(monitors_per_server), DB_STR(argv[0])};
    uint64_t affected = 0;
    if (db_execp(db, "UPDATE accounts SET flags = JSON_SET(flags, '$.monitors_per_server_limit', ?) WHERE name = ?", p,
                 2, &affected, NULL) < 0)
        return ctl_db_fail(ctx, "updating the account");
    if (affected == 0) return ctl_fail("no account named '%s'", argv[0]);
    printf("account %s: monitors_per_server_limit %lld\n", argv[0], (long long)monitors_per_server);
    return 0;
}

static int print_account(void *arg, const struct db_row *row)
{
    (void)arg;
    printf("%lld\t%s\t%s\n", (long long)db_row_int(row, 0), db_row_str(row, 1),
           db_row_is_null(row, 2) ? "-" : db_row_str(row, 2));
    return 0;
}

int cmd_account_list(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc) return ctl_fail("account list takes no arguments");
    struct db *db = ctl_db(ctx);
    printf("id\tname\tmonitors_per_server_limit\n");
    if (db_query(db, "SELECT id, name, JSON_VALUE(flags, '$.monitors_per_server_limit') FROM accounts ORDER BY id",
                 NULL, 0, print_account, NULL) < 0)
        return ctl_db_fail(ctx, "listing accounts");
    return 0;
}
