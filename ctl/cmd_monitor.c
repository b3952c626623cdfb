/* cmd_monitor.c — `ntpmonctl monitor add|list|set-status`: monitors, their registered addresses (the selector's
 * network rules use them) and global status. Adding one creates its candidate pairs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "history.h"
#include "msg.h"
#include "netaddr.h"

static const char *opt_name, *opt_account, *opt_ip4, *opt_ip6, *opt_status;

const struct opt_spec *cmd_monitor_specs(void)
{
    static const struct opt_spec specs[] = {
        {"name", 0, NULL, OPT_STRING, &opt_name, NULL, 0, 0, "NAME", "monitor name (also its MQTT username)"},
        {"account", 0, NULL, OPT_STRING, &opt_account, NULL, 0, 0, "ACCOUNT", "owning account name"},
        {"ip4", 0, NULL, OPT_STRING, &opt_ip4, NULL, 0, 0, "ADDR", "the monitor's registered IPv4 address"},
        {"ip6", 0, NULL, OPT_STRING, &opt_ip6, NULL, 0, 0, "ADDR", "the monitor's registered IPv6 address"},
        {"status", 0, NULL, OPT_STRING, &opt_status, "pending", 0, 0, "STATUS",
         "initial global status: pending, testing, active or paused"},
        {0},
    };
    return specs;
}

static bool valid_monitor_status(const char *s, bool allow_deleted)
{
    return strcmp(s, "pending") == 0 || strcmp(s, "testing") == 0 || strcmp(s, "active") == 0 ||
           strcmp(s, "paused") == 0 || (allow_deleted && strcmp(s, "deleted") == 0);
}

/* Validates and canonicalises an address of the wanted family into out. */
static int check_addr(const char *text, int family_version, char out[NETADDR_STRLEN])
{
    struct netaddr a;
    if (netaddr_parse(text, &a) < 0) return ctl_fail("invalid IP address '%s'", text);
    if (netaddr_version(&a) != family_version)
        return ctl_fail("'%s' is not an IPv%d address", text, family_version);
    netaddr_format(&a, out);
    return 0;
}

struct monitor_add {
    const char *name;
    const char *ip4, *ip6;
    const char *status;
    int64_t account_id;
    int64_t id;
};

static int monitor_add_tx(struct db *db, void *arg)
{
    struct monitor_add *m = arg;
    struct db_param p[] = {DB_STR(m->name), DB_INT(m->account_id), DB_STR(m->status), DB_STR_OR_NULL(m->ip4),
                           DB_STR_OR_NULL(m->ip6)};
    uint64_t id = 0;
    if (db_execp(db, "INSERT INTO monitors (type, name, account_id, status, ip4, ip6) VALUES ('monitor', ?, ?, ?, ?, ?)",
                 p, 5, NULL, &id) < 0)
        return -1;
    m->id = (int64_t)id;
    return pairs_for_monitor(db, m->id, m->ip4 != NULL, m->ip6 != NULL);
}

static int lookup_account(struct ctl_ctx *ctx, const char *name, int64_t *id)
{
    struct db_param p[] = {DB_STR(name)};
    int r = db_query_int(ctl_db(ctx), "SELECT id FROM accounts WHERE name = ?", p, 1, id);
    if (r < 0) return ctl_db_fail(ctx, "looking up the account");
    if (r == 0) return ctl_fail("no account named '%s' (add it with 'ntpmonctl account add')", name);
    return 0;
}

int cmd_monitor_add(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc) return ctl_fail("usage: monitor add --name N --account A [--ip4 X] [--ip6 Y]");
    if (!opt_name || !msg_name_is_valid(opt_name))
        return ctl_fail("invalid or missing --name (1..63 of letters, digits, '.', '_', '-')");
    if (!opt_account) return ctl_fail("missing --account");
    if (!opt_ip4 && !opt_ip6) return ctl_fail("a monitor needs at least one of --ip4 and --ip6");
    if (!valid_monitor_status(opt_status, false))
        return ctl_fail("invalid --status '%s' (pending, testing, active or paused)", opt_status);
    char ip4[NETADDR_STRLEN], ip6[NETADDR_STRLEN];
    if (opt_ip4 && check_addr(opt_ip4, 4, ip4)) return 1;
    if (opt_ip6 && check_addr(opt_ip6, 6, ip6)) return 1;
    struct monitor_add m = {opt_name, opt_ip4 ? ip4 : NULL, opt_ip6 ? ip6 : NULL, opt_status, 0, 0};
    if (lookup_account(ctx, opt_account, &m.account_id)) return 1;
    struct db *db = ctl_db(ctx);
    if (db_tx(db, monitor_add_tx, &m, 3) != 0) {
        if (db_errno_is_duplicate(db_errno(db))) return ctl_fail("monitor '%s' already exists", opt_name);
        return ctl_db_fail(ctx, "adding the monitor");
    }
    printf("monitor %lld %s\n", (long long)m.id, opt_name);
    return 0;
}

static int print_monitor(void *arg, const struct db_row *row)
{
    (void)arg;
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)db_row_int(row, 0), db_row_str(row, 1), db_row_str(row, 2),
           db_row_str(row, 3), db_row_str(row, 4), db_row_is_null(row, 5) ? "-" : db_row_str(row, 5),
           db_row_is_null(row, 6) ? "-" : db_row_str(row, 6));
    return 0;
}

int cmd_monitor_list(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc) return ctl_fail("monitor list takes no arguments");
    struct db *db = ctl_db(ctx);
    printf("id\tname\ttype\taccount\tstatus\tip4\tip6\n");
    if (db_query(db,
                 "SELECT m.id, m.name, m.type, IFNULL(a.name, '-'), m.status, m.ip4, m.ip6"
                 " FROM monitors m LEFT JOIN accounts a ON a.id = m.account_id ORDER BY m.id",
                 NULL, 0, print_monitor, NULL) < 0)
        return ctl_db_fail(ctx, "listing monitors");
    return 0;
}

int cmd_monitor_set_status(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 2) return ctl_fail("usage: monitor set-status NAME pending|testing|active|paused|deleted");
    if (!valid_monitor_status(argv[1], true))
        return ctl_fail("invalid status '%s' (pending, testing, active, paused or deleted)", argv[1]);
    struct db *db = ctl_db(ctx);
    struct db_param p[] = {DB_STR(argv[1]), DB_STR(argv[1]), DB_STR(argv[0])};
    uint64_t affected = 0;
    if (db_execp(db,
                 "UPDATE monitors SET status = ?, deleted_on = IF(? = 'deleted', IFNULL(deleted_on, UTC_TIMESTAMP()), NULL)"
                 " WHERE name = ? AND type = 'monitor'",
                 p, 3, &affected, NULL) < 0)
        return ctl_db_fail(ctx, "updating the monitor");
    if (affected == 0) return ctl_fail("no monitor named '%s'", argv[0]);
    printf("monitor %s: %s\n", argv[0], argv[1]);
    return 0;
}

int ctl_find_monitor(struct ctl_ctx *ctx, const char *arg, int64_t *id)
{
    int r = history_find_monitor(ctl_db(ctx), arg, id);
    if (r < 0) return ctl_db_fail(ctx, "looking up the monitor");
    if (r == 0) return ctl_fail("no monitor '%s'", arg);
    return 0;
}
