/* cmd_log.c — `ntpmonctl log <ip|id> [--monitor '*'|NAME] [--limit N] [--since T]`: a server's score log from
 * log_scores in the pool's CSV format (DESIGN.md §8, common/scorelog), newest first like the pool's
 * /scores/<ip>/log. Without --monitor only the overall ("recent median") score; '*' every row; NAME (or a monitor
 * id) one monitor's rows. The query is common/history's, shared with ntpmon-web's /log endpoint (same bytes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "history.h"
#include "scorelog.h"

static const char *opt_monitor;
static int64_t opt_limit;
static const char *opt_since;

const struct opt_spec *cmd_log_specs(void)
{
    static const struct opt_spec specs[] = {
        {"monitor", 0, NULL, OPT_STRING, &opt_monitor, NULL, 0, 0, "'*'|NAME",
         "'*' for every monitor's rows, or one monitor (name or id); default: the overall score only"},
        {"limit", 0, NULL, OPT_INT, &opt_limit, "50", 1, 1000000, "N", "at most N rows (newest first)"},
        {"since", 0, NULL, OPT_STRING, &opt_since, NULL, 0, 0, "T",
         "only rows at or after T: Unix seconds, RFC 3339 or 'YYYY-MM-DD HH:MM:SS' (UTC)"},
        {0},
    };
    return specs;
}

static int print_row(void *arg, const struct scorelog_row *row)
{
    (void)arg;
    scorelog_csv_row(stdout, row);
    return 0;
}

int cmd_log(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: log IP|ID [--monitor '*'|NAME] [--limit N] [--since T]");
    struct history_query q = {.limit = opt_limit};
    if (opt_since && history_parse_since(opt_since, &q.since_us) < 0)
        return ctl_fail("invalid --since '%s': use Unix seconds, RFC 3339 or 'YYYY-MM-DD HH:MM:SS'", opt_since);
    struct db *db = ctl_db(ctx);
    int rc = ctl_find_server(ctx, argv[0], &q.server_id);
    if (rc) return rc;
    /* which rows: overall only, every monitor, or one monitor */
    int found = history_resolve_monitor(db, opt_monitor, &q);
    if (found < 0) return ctl_db_fail(ctx, "looking up the monitor");
    if (found == 0) return ctl_fail("no monitor '%s'", opt_monitor);
    scorelog_csv_header(stdout);
    if (history_query(db, &q, print_row, NULL) < 0) return ctl_db_fail(ctx, "reading the score log");
    return fflush(stdout) == 0 ? 0 : ctl_fail("writing the log failed");
}
