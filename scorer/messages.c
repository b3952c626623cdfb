/* messages.c — scores and server status payloads (see messages.h). */
#include "messages.h"

#include <stdio.h>
#include <string.h>

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
    memset(m, 0, sizeof *m);
    m->server_id = server_id;
    m->in_pool = in_pool;
    m->ts_us = ts_us;
    m->score = score;
    char s[48], t[48];
    msg_format_number(score, s);
    msg_format_number(in_pool_score, t);
    if (in_pool) snprintf(m->reason, sizeof m->reason, "overall score %s >= %s", s, t);
    else if (score >= in_pool_score) snprintf(m->reason, sizeof m->reason, "server deleted");
    else snprintf(m->reason, sizeof m->reason, "overall score %s < %s", s, t);
}
