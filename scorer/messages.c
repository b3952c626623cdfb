/* messages.c — scores and server status payloads (see messages.h). */
#include "messages.h"

#include <stdio.h>
#include <string.h>

#include "guard.h"

void sc_score_message(struct msg_score *m, int64_t server_id, int64_t ts_us, double score, double step,
                      bool in_pool, int monitors)
{
    memset(m, 0, sizeof *m);
    m->server_id = server_id;
    m->ts_us = ts_us;
    m->score = score;
    m->step = step;
    m->in_pool = in_pool;
    m->monitors = monitors;
}

void sc_status_message(struct msg_server_status *m, int64_t server_id, bool in_pool, int64_t ts_us, double score,
                       double in_pool_score)
{
    char s[48], t[48], reason[MSG_ERROR_MAX];
    msg_format_number(score, s);
    msg_format_number(in_pool_score, t);
    if (in_pool) snprintf(reason, sizeof reason, "overall score %s >= %s", s, t);
    else if (score >= in_pool_score) snprintf(reason, sizeof reason, "server deleted");
    else snprintf(reason, sizeof reason, "overall score %s < %s", s, t);
    sc_guard_status_message(m, server_id, in_pool, false, ts_us, score, reason);
}

void sc_guard_status_message(struct msg_server_status *m, int64_t server_id, bool in_pool, bool held, int64_t ts_us,
                             double score, const char *reason)
{
    memset(m, 0, sizeof *m);
    m->server_id = server_id;
    m->in_pool = in_pool;
    m->held = held;
    m->ts_us = ts_us;
    m->score = score;
    snprintf(m->reason, sizeof m->reason, "%s", reason);
}

void sc_zone_alert(struct msg_zone_alert *a, const char *zone, const struct guard_counts *all,
                   const char *const *monitors, size_t n_monitors, int64_t ts_us)
{
    memset(a, 0, sizeof *a);
    snprintf(a->zone, sizeof a->zone, "%s", zone);
    a->held = all->held;
    a->in_pool = all->in_pool;
    a->leaving = all->left + all->held + all->at_risk;
    int base = all->in_pool + all->left;
    a->fraction = base > 0 ? (double)(all->left + all->held + all->at_risk + all->recovered) / base : 0;
    for (size_t i = 0; i < n_monitors && i < MSG_ZONE_MONITORS_MAX; i++)
        snprintf(a->monitors[a->n_monitors++], sizeof a->monitors[0], "%s", monitors[i]);
    a->ts_us = ts_us;
}
