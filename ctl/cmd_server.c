/* cmd_server.c — `ntpmonctl server add|list|delete|set-zone`: the NTP servers being monitored. Adding one creates
 * its candidate pairs with every monitor of its IP family and makes it due for review; its zone (common/zone)
 * lets the scorer's mass-outage guard count it with its neighbours. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "history.h"
#include "netaddr.h"
#include "zone.h"

static const char *opt_account, *opt_zone;
static bool opt_allow_local;

const struct opt_spec *cmd_server_specs(void)
{
    static const struct opt_spec specs[] = {
        {"account", 0, NULL, OPT_STRING, &opt_account, NULL, 0, 0, "ACCOUNT", "owning account name"},
        {"allow-local", 0, NULL, OPT_FLAG, &opt_allow_local, NULL, 0, 0, NULL,
         "accept loopback, private and link-local addresses (tests, demo, private pools)"},
        {"zone", 0, NULL, OPT_STRING, &opt_zone, NULL, 0, 0, "ZONE",
         "the server's zone: an ISO 3166 country code (au, de, …) or a continent (oceania, europe, …)"},
        {0},
    };
    return specs;
}

struct server_add {
    const char *ip;
    int version;
    int64_t account_id;
    int64_t id;
    const char *zone; /* NULL: none */
};

/* The zone argument checked and lower-cased into out ("" for "none" when none_ok); 0, or the exit status. */
static int parse_zone(const char *arg, bool none_ok, char out[ZONE_MAX])
{
    if (none_ok && strcmp(arg, "none") == 0) {
        out[0] = '\0';
        return 0;
    }
    if (zone_normalize(arg, out) < 0)
        return ctl_fail("unknown zone '%s': want an ISO 3166 country code in lower case (au, de, gb, …) or a continent "
                        "(africa, asia, europe, north-america, oceania, south-america)%s", arg,
                        none_ok ? ", or none" : "");
    return 0;
}

static int server_add_tx(struct db *db, void *arg)
{
    struct server_add *s = arg;
    struct db_param p[] = {DB_STR(s->ip), DB_STR(s->version == 6 ? "v6" : "v4"), DB_INT(s->account_id),
                           DB_STR_OR_NULL(s->zone)};
    uint64_t id = 0;
    if (db_execp(db, "INSERT INTO servers (ip, ip_version, account_id, zone) VALUES (?, ?, ?, ?)", p, 4, NULL, &id) < 0)
        return -1;
    s->id = (int64_t)id;
    return pairs_for_server(db, s->id, s->version);
}

int cmd_server_add(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1 || !opt_account) return ctl_fail("usage: server add IP --account A [--zone Z] [--allow-local]");
    char zone[ZONE_MAX] = "";
    if (opt_zone) {
        int rc = parse_zone(opt_zone, false, zone);
        if (rc) return rc;
    }
    struct netaddr a;
    if (netaddr_parse(argv[0], &a) < 0) return ctl_fail("invalid IP address '%s'", argv[0]);
    /* Documentation ranges stay accepted: examples and labs use them as stand-ins (agents probe them only with
     * --allow-documentation-nets). */
    const char *why = netaddr_forbidden_reason(&a, NETADDR_ALLOW_DOCUMENTATION);
    bool local = why && (strcmp(why, "loopback") == 0 || strcmp(why, "private") == 0 ||
                         strcmp(why, "link-local") == 0);
    if (why && !(local && opt_allow_local))
        return ctl_fail("refusing %s address %s%s", why, argv[0], local ? " (use --allow-local for a private pool)" : "");
    char ip[NETADDR_STRLEN];
    netaddr_format(&a, ip);
    struct server_add s = {ip, netaddr_version(&a), 0, 0, zone[0] ? zone : NULL};
    struct db *db = ctl_db(ctx);
    struct db_param p[] = {DB_STR(opt_account)};
    int r = db_query_int(db, "SELECT id FROM accounts WHERE name = ?", p, 1, &s.account_id);
    if (r < 0) return ctl_db_fail(ctx, "looking up the account");
    if (r == 0) return ctl_fail("no account named '%s' (add it with 'ntpmonctl account add')", opt_account);
    if (db_tx(db, server_add_tx, &s, 3) != 0) {
        if (db_errno_is_duplicate(db_errno(db))) return ctl_fail("server %s already exists", ip);
        return ctl_db_fail(ctx, "adding the server");
    }
    printf("server %lld %s%s%s\n", (long long)s.id, ip, zone[0] ? " zone " : "", zone);
    return 0;
}

int cmd_server_set_zone(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 2) return ctl_fail("usage: server set-zone IP|ID ZONE|none");
    char zone[ZONE_MAX];
    int rc = parse_zone(argv[1], true, zone);
    if (rc) return rc;
    int64_t id;
    rc = ctl_find_server(ctx, argv[0], &id);
    if (rc) return rc;
    struct db_param p[] = {zone[0] ? DB_STR(zone) : DB_NULL, DB_INT(id)};
    /* the scorer picks the zone up at its next reload; a server without a zone is never held, so a hold in
     * progress ends at the guard's next check */
    if (db_execp(ctl_db(ctx), "UPDATE servers SET zone = ? WHERE id = ?", p, 2, NULL, NULL) < 0)
        return ctl_db_fail(ctx, "setting the zone");
    printf("server %s zone %s\n", argv[0], zone[0] ? zone : "none");
    return 0;
}

static int print_server(void *arg, const struct db_row *row)
{
    (void)arg;
    printf("%lld\t%s\t%s\t%.3f\t%lld\t%s\t%s\t%s\n", (long long)db_row_int(row, 0), db_row_str(row, 1),
           db_row_str(row, 2), db_row_double(row, 3), (long long)db_row_int(row, 4),
           db_row_is_null(row, 5) ? "-" : db_row_str(row, 5), db_row_str(row, 6), db_row_str(row, 7));
    return 0;
}

int cmd_server_list(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc) return ctl_fail("server list takes no arguments");
    struct db *db = ctl_db(ctx);
    printf("id\tip\taccount\tscore\tin_pool\tdeletion_on\tzone\theld\n");
    if (db_query(db,
                 "SELECT s.id, s.ip, IFNULL(a.name, '-'), s.score_raw, s.in_pool, s.deletion_on, IFNULL(s.zone, '-'),"
                 " IF(s.held_since IS NULL, '-', CONCAT('since ', DATE_FORMAT(s.held_since, '%Y-%m-%d %H:%i:%s')))"
                 " FROM servers s LEFT JOIN accounts a ON a.id = s.account_id ORDER BY s.id",
                 NULL, 0, print_server, NULL) < 0)
        return ctl_db_fail(ctx, "listing servers");
    return 0;
}

int ctl_find_server(struct ctl_ctx *ctx, const char *arg, int64_t *id)
{
    int r = history_find_server(ctl_db(ctx), arg, id);
    if (r == -2) return ctl_fail("'%s' is neither an IP address nor a server id", arg);
    if (r < 0) return ctl_db_fail(ctx, "looking up the server");
    if (r == 0) return ctl_fail("no server %s", arg);
    return 0;
}

int cmd_server_delete(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: server delete IP|ID");
    int64_t id;
    int rc = ctl_find_server(ctx, argv[0], &id);
    if (rc) return rc;
    struct db_param p[] = {DB_INT(id)};
    /* Deleted servers keep their rows (history); from deletion_on they get no assignments and leave the pool. */
    if (db_execp(ctl_db(ctx), "UPDATE servers SET deletion_on = IFNULL(deletion_on, UTC_DATE()), in_pool = 0 WHERE id = ?",
                 p, 1, NULL, NULL) < 0)
        return ctl_db_fail(ctx, "deleting the server");
    printf("server %s deleted\n", argv[0]);
    return 0;
}
