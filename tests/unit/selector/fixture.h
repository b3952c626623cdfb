/* fixture.h — builds rule-engine inputs for the selector's unit tests from compact tables: one row per monitor
 * (name, registered address, account, account limit, global status, pair status, results, average step, rtt). */
#ifndef NTPMON_TEST_SELECTOR_FIXTURE_H
#define NTPMON_TEST_SELECTOR_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "settings.h"
#include "unit.h"

#define A SEL_MON_ACTIVE
#define T SEL_MON_TESTING
#define P SEL_MON_PENDING
#define PZ SEL_MON_PAUSED
#define D SEL_MON_DELETED
#define ACT MSG_STATUS_ACTIVE
#define TST MSG_STATUS_TESTING
#define CAN MSG_STATUS_CANDIDATE
#define PAU MSG_STATUS_PAUSED

struct mon {
    const char *name;
    const char *ip;
    int64_t account;
    int limit;
    enum sel_mon_status global;
    enum msg_pair_status status;
    uint32_t count;
    double step, rtt;
};

#define NOW_US 1800000000000000LL /* 2027-01-15 */
#define MAX_MONS 64

struct scenario {
    struct sel_settings cfg;
    struct sel_server server;
    struct sel_pair pairs[MAX_MONS];
    size_t n;
    struct sel_result res;
};

static inline void scenario_init(struct scenario *s, const char *server_ip, int64_t server_account, const struct mon *m,
                                 size_t n)
{
    sel_result_free(&s->res);
    memset(s, 0, sizeof *s);
    sel_settings_defaults(&s->cfg);
    s->server.id = 1;
    s->server.has_addr = netaddr_parse(server_ip, &s->server.addr) == 0;
    s->server.account_id = server_account;
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        struct sel_pair *p = &s->pairs[i];
        p->monitor_id = (int64_t)i + 1;
        p->monitor_name = m[i].name;
        p->global = m[i].global;
        p->status = m[i].status;
        p->account_id = m[i].account;
        p->account_limit = m[i].limit;
        p->has_addr = m[i].ip && netaddr_parse(m[i].ip, &p->addr) == 0;
        p->count = m[i].count;
        p->avg_step = m[i].step;
        p->avg_rtt_ms = m[i].rtt;
    }
}

static inline void scenario_run(struct scenario *s)
{
    sel_result_free(&s->res);
    sel_review(&s->cfg, &s->server, s->pairs, s->n, NOW_US, &s->res);
}

/* Applies the result as the next run's input (statuses and constraint state). */
static inline void scenario_apply(struct scenario *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct sel_pair *p = &s->pairs[i];
        p->status = p->new_status;
        p->stored_violation = p->new_violation;
        p->stored_since_us = p->new_since_us;
        p->stored_last_check_us = p->new_last_check_us;
        p->stored_pause_reason = p->new_pause_reason;
    }
}

static inline struct sel_pair *pair_named(struct scenario *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->pairs[i].monitor_name, name) == 0) return &s->pairs[i];
    printf("#   no monitor %s in the scenario\n", name);
    abort();
}

static inline enum msg_pair_status status_of(struct scenario *s, const char *name)
{
    return pair_named(s, name)->new_status;
}

/* The change of a monitor, or NULL. */
static inline const struct sel_change *change_of(struct scenario *s, const char *name)
{
    for (size_t i = 0; i < s->res.n_changes; i++)
        if (strcmp(s->pairs[s->res.changes[i].pair].monitor_name, name) == 0) return &s->res.changes[i];
    return NULL;
}

/* The reason of a monitor's change, or "" when it has none. */
static inline const char *reason_of(struct scenario *s, const char *name)
{
    const struct sel_change *c = change_of(s, name);
    return c ? c->reason : "";
}

static inline int count_changes(struct scenario *s, enum sel_rule rule)
{
    int k = 0;
    for (size_t i = 0; i < s->res.n_changes; i++) k += s->res.changes[i].rule == rule;
    return k;
}

static inline int count_new_status(struct scenario *s, enum msg_pair_status st)
{
    int k = 0;
    for (size_t i = 0; i < s->n; i++) k += s->pairs[i].new_status == st;
    return k;
}

#define CHECK_STATUS(s, name, want) CHECK_STR(msg_pair_status_str(status_of(s, name)), msg_pair_status_str(want))

#endif
