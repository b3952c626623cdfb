/* report.c — printing reviews for operators (report.h). */
#include "report.h"

#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "xalloc.h"

static int walk_cmp(const void *a, const void *b, void *arg)
{
    const struct sel_pair *p = arg;
    const struct sel_pair *x = &p[*(const size_t *)a], *y = &p[*(const size_t *)b];
    if (x->visible != y->visible) return x->visible ? -1 : 1;
    if (!x->visible) return (x->monitor_id > y->monitor_id) - (x->monitor_id < y->monitor_id);
    return sel_compare_pairs(x, y);
}

void report_table(FILE *out, const struct review_outcome *o, const struct sel_settings *cfg)
{
    const struct dbio_review_rows *r = &o->rows;
    const struct sel_result *res = &o->res;
    fprintf(out, "server %lld %s (account %lld): %zu pairs, %d with results in the last %d s\n",
            (long long)r->server.id, r->ip, (long long)r->server.account_id, r->n, res->n_visible, cfg->stats_window_s);
    fprintf(out, "%-20s %6s %-8s %-9s %6s %9s %9s %8s %-7s %-14s %-7s %s\n", "monitor", "id", "global", "status",
            "count", "avg_step", "rtt_ms", "priority", "healthy", "constraint", "state", "new");
    size_t *idx = xcalloc(r->n ? r->n : 1, sizeof *idx);
    for (size_t i = 0; i < r->n; i++) idx[i] = i;
    qsort_r(idx, r->n, sizeof *idx, walk_cmp, r->pairs);
    for (size_t k = 0; k < r->n; k++) {
        const struct sel_pair *p = &r->pairs[idx[k]];
        enum sel_violation v = p->violation ? p->violation : p->new_violation;
        char step[16] = "-", rtt[16] = "-", prio[16] = "-";
        if (p->visible) {
            snprintf(step, sizeof step, "%.3f", p->avg_step);
            snprintf(rtt, sizeof rtt, "%.1f", p->avg_rtt_ms);
            snprintf(prio, sizeof prio, "%.0f", p->priority);
        }
        fprintf(out, "%-20s %6lld %-8s %-9s %6u %9s %9s %8s %-7s %-14s %-7s %s\n", p->monitor_name,
                (long long)p->monitor_id, sel_mon_status_str(p->global), msg_pair_status_str(p->status),
                (unsigned)p->count, step, rtt, prio, !p->visible ? "-" : p->healthy ? "yes" : "no",
                v ? sel_violation_str(v) : "-", p->visible || p->state == SEL_STATE_BLOCK ? sel_state_str(p->state) : "-",
                p->new_status != p->status ? msg_pair_status_str(p->new_status) : "");
    }
    free(idx);
    fprintf(out,
            "budget %d per kind%s%s; active %d -> %d (target %d, floor %d); testing %d -> %d (target %d, floor %d)\n",
            res->budget, res->emergency ? "; no active monitor: emergency" : "",
            res->guard ? "; too few monitors with results and none healthy: no change at all" : "", res->active_start,
            res->active_end, res->target_active, sel_floor_active(cfg), res->testing_start, res->testing_end,
            res->target_testing, sel_floor_testing(cfg));
}

void report_changes(FILE *out, const struct review_outcome *o)
{
    if (!o->res.n_changes) {
        fprintf(out, "  no changes\n");
        return;
    }
    for (size_t i = 0; i < o->res.n_changes; i++) {
        const struct sel_change *c = &o->res.changes[i];
        char move[32];
        snprintf(move, sizeof move, "%s -> %s", msg_pair_status_str(c->from), msg_pair_status_str(c->to));
        fprintf(out, "  %-20s %-22s %s%s\n", o->rows.pairs[c->pair].monitor_name, move, c->reason,
                c->rule == SEL_RULE_PAUSE ? " (not counted as a change)" : "");
    }
}
