/* history.h — a server's score history from log_scores, as `ntpmonctl log` and ntpmon-web's
 * /api/server/scores/{ip|id}/json|log read it (the pool data-api's parameters): the server by address or id, the
 * rows of the overall score, of every monitor ('*') or of one monitor (name or id), newest first, from `since`, at
 * most `limit`; each row as a common/scorelog row, so both print the same CSV bytes. One query, two users. */
#ifndef NTPMON_HISTORY_H
#define NTPMON_HISTORY_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "scorelog.h"

enum history_which {
    HISTORY_OVERALL, /* the overall ("recent median") score: monitor_id NULL */
    HISTORY_ALL,     /* every row, '*' */
    HISTORY_MONITOR, /* one monitor's rows */
};

struct history_query {
    int64_t server_id;
    enum history_which which;
    int64_t monitor_id; /* HISTORY_MONITOR */
    int64_t since_us;   /* rows at or after; 0 = all */
    int64_t limit;
};

/* Called for each row, newest first; the row's strings live until the callback returns. Non-zero stops. */
typedef int (*history_row_cb)(void *arg, const struct scorelog_row *row);

/* Resolves a server given as an IP literal or a numeric id: 1 found, 0 no such server, -1 database error,
 * -2 when the text is neither an address nor a positive id. */
int history_find_server(struct db *db, const char *text, int64_t *id);
/* Resolves a monitor given by name or id: 1 found, 0 none, -1 database error. */
int history_find_monitor(struct db *db, const char *text, int64_t *id);
/* Parses the monitor parameter: NULL or "" = overall, "*" = all, else a name or id looked up in the database.
 * Returns as history_find_monitor (1 also for overall and all). */
int history_resolve_monitor(struct db *db, const char *param, struct history_query *q);
/* Parses a since value: Unix seconds, RFC 3339, "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD" (UTC); 0 or -1. */
int history_parse_since(const char *text, int64_t *us);
/* Runs the query; 0, the callback's non-zero value, or -1 on a database error. */
int history_query(struct db *db, const struct history_query *q, history_row_cb cb, void *arg);

#endif
