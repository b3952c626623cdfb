/* cmd_log.c — `ntpmonctl log <ip|id> [--monitor '*'|NAME] [--limit N] [--since T]`: a server's score log from
 * log_scores in the pool's CSV format (DESIGN.md §8, common/scorelog), newest first like the pool's
 * /scores/<ip>/log. Without --monitor only the overall ("recent median") score; '*' every row; NAME (or a monitor
 * id) one monitor's rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "scorelog.h"
#include "timeutil.h"

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

static int parse_since(const char *s, int64_t *us)
{
    char *end;
    long long secs = strtoll(s, &end, 10);
    if (end != s && *end == '\0') {
        *us = secs * 1000000LL;
        return 0;
    }
    if (time_parse_rfc3339(s, us) == 0) return 0;
    if (time_parse_sql(s, us) == 0) return 0;
    if (strlen(s) == 10) { /* a bare date */
        char full[32];
        snprintf(full, sizeof full, "%s 00:00:00", s);
        if (time_parse_sql(full, us) == 0) return 0;
    }
    return -1;
}

static int print_row(void *arg, const struct db_row *row)
{
    (void)arg;
    struct scorelog_row r = {
        .ts_us = db_row_time_us(row, 0),
        .has_offset = !db_row_is_null(row, 1),
        .offset = db_row_double(row, 1),
        .step = db_row_double(row, 2),
        .score = db_row_double(row, 3),
        .monitor_id = db_row_int(row, 4),
        .monitor_name = db_row_str(row, 5), /* text columns each have their own buffer */
        .has_rtt = !db_row_is_null(row, 6),
        .rtt_us = db_row_int(row, 6),
        .leap = (int)db_row_int(row, 7),
        .error = db_row_str(row, 8),
    };
    scorelog_csv_row(stdout, &r);
    return 0;
}

int cmd_log(struct ctl_ctx *ctx, int argc, char **argv)
{
    if (argc != 1) return ctl_fail("usage: log IP|ID [--monitor '*'|NAME] [--limit N] [--since T]");
    int64_t since_us = 0;
    if (opt_since && parse_since(opt_since, &since_us) < 0)
        return ctl_fail("invalid --since '%s': use Unix seconds, RFC 3339 or 'YYYY-MM-DD HH:MM:SS'", opt_since);
    struct db *db = ctl_db(ctx);

    int64_t server_id;
    int rc = ctl_find_server(ctx, argv[0], &server_id);
    if (rc) return rc;

    /* which rows: overall only, every monitor, or one monitor */
    int64_t monitor_id = 0;
    bool all = opt_monitor && strcmp(opt_monitor, "*") == 0;
    if (opt_monitor && !all && (rc = ctl_find_monitor(ctx, opt_monitor, &monitor_id)) != 0) return rc;
    char since[32];
    time_format_sql_us(since_us, since);
    static const char head[] =
        "SELECT l.ts, l.`offset`, l.step, l.score, IFNULL(l.monitor_id, 0), IFNULL(m.name, ''), l.rtt,"
        " IFNULL(JSON_VALUE(l.attributes, '$.leap'), 0), IFNULL(JSON_VALUE(l.attributes, '$.error'), '')"
        " FROM log_scores l LEFT JOIN monitors m ON m.id = l.monitor_id WHERE l.server_id = ? AND l.ts >= ?";
    static const char tail[] = " ORDER BY l.ts DESC, l.id DESC LIMIT ?";
    char sql[sizeof head + sizeof tail + 64];
    struct db_param p[4];
    size_t n = 0;
    p[n++] = DB_INT(server_id);
    p[n++] = DB_STR(since);
    if (all) {
        snprintf(sql, sizeof sql, "%s%s", head, tail);
    } else if (monitor_id) {
        snprintf(sql, sizeof sql, "%s AND l.monitor_id = ?%s", head, tail);
        p[n++] = DB_INT(monitor_id);
    } else {
        snprintf(sql, sizeof sql, "%s AND l.monitor_id IS NULL%s", head, tail);
    }
    p[n++] = DB_INT(opt_limit);
    scorelog_csv_header(stdout);
    if (db_query(db, sql, p, n, print_row, NULL) < 0) return ctl_db_fail(ctx, "reading the score log");
    return fflush(stdout) == 0 ? 0 : ctl_fail("writing the log failed");
}
