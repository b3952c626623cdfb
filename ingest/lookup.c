/* lookup.c — two open-addressing hash tables (monitor name → id/state, server id → state) and the queries that
 * fill them. Entries are never removed one by one: a full reload rebuilds both tables. */
#include "lookup.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "xalloc.h"

enum state { ST_EMPTY = 0, ST_OK, ST_UNKNOWN, ST_DELETED };

struct mon_slot {
    char name[MSG_NAME_MAX];
    int64_t id;
    enum state state;
    uint64_t gen; /* batch generation of a negative answer */
};

struct srv_slot {
    int64_t id;
    enum state state;
    uint64_t gen;
};

struct lookup {
    struct mon_slot *mons;
    size_t mon_cap, mon_n;
    struct srv_slot *srvs;
    size_t srv_cap, srv_n;
    uint64_t gen;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint64_t hash_int(int64_t v)
{
    uint64_t x = (uint64_t)v;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static struct mon_slot *mon_find(struct mon_slot *tab, size_t cap, const char *name)
{
    size_t i = hash_str(name) & (cap - 1);
    while (tab[i].state != ST_EMPTY && strcmp(tab[i].name, name) != 0) i = (i + 1) & (cap - 1);
    return &tab[i];
}

static struct srv_slot *srv_find(struct srv_slot *tab, size_t cap, int64_t id)
{
    size_t i = hash_int(id) & (cap - 1);
    while (tab[i].state != ST_EMPTY && tab[i].id != id) i = (i + 1) & (cap - 1);
    return &tab[i];
}

static void mon_grow(struct lookup *l)
{
    if ((l->mon_n + 1) * 2 <= l->mon_cap) return;
    size_t cap = l->mon_cap * 2;
    struct mon_slot *tab = xcalloc(cap, sizeof *tab);
    for (size_t i = 0; i < l->mon_cap; i++)
        if (l->mons[i].state != ST_EMPTY) *mon_find(tab, cap, l->mons[i].name) = l->mons[i];
    free(l->mons);
    l->mons = tab;
    l->mon_cap = cap;
}

static void srv_grow(struct lookup *l)
{
    if ((l->srv_n + 1) * 2 <= l->srv_cap) return;
    size_t cap = l->srv_cap * 2;
    struct srv_slot *tab = xcalloc(cap, sizeof *tab);
    for (size_t i = 0; i < l->srv_cap; i++)
        if (l->srvs[i].state != ST_EMPTY) *srv_find(tab, cap, l->srvs[i].id) = l->srvs[i];
    free(l->srvs);
    l->srvs = tab;
    l->srv_cap = cap;
}

static void mon_put(struct lookup *l, const char *name, int64_t id, enum state st)
{
    mon_grow(l);
    struct mon_slot *s = mon_find(l->mons, l->mon_cap, name);
    if (s->state == ST_EMPTY) {
        l->mon_n++;
        snprintf(s->name, sizeof s->name, "%s", name);
    }
    s->id = id;
    s->state = st;
    s->gen = l->gen;
}

static void srv_put(struct lookup *l, int64_t id, enum state st)
{
    srv_grow(l);
    struct srv_slot *s = srv_find(l->srvs, l->srv_cap, id);
    if (s->state == ST_EMPTY) {
        l->srv_n++;
        s->id = id;
    }
    s->state = st;
    s->gen = l->gen;
}

static void clear_tables(struct lookup *l)
{
    free(l->mons);
    free(l->srvs);
    l->mon_cap = 64;
    l->srv_cap = 1024;
    l->mons = xcalloc(l->mon_cap, sizeof *l->mons);
    l->srvs = xcalloc(l->srv_cap, sizeof *l->srvs);
    l->mon_n = l->srv_n = 0;
}

struct lookup *lookup_new(void)
{
    struct lookup *l = xcalloc(1, sizeof *l);
    clear_tables(l);
    l->gen = 1;
    return l;
}

void lookup_free(struct lookup *l)
{
    if (!l) return;
    free(l->mons);
    free(l->srvs);
    free(l);
}

void lookup_begin_batch(struct lookup *l) { l->gen++; }

void lookup_counts(const struct lookup *l, size_t *monitors, size_t *servers)
{
    *monitors = l->mon_n;
    *servers = l->srv_n;
}

static enum state monitor_state(const char *status) { return strcmp(status, "deleted") == 0 ? ST_DELETED : ST_OK; }

static int add_monitor_row(void *arg, const struct db_row *row)
{
    struct lookup *l = arg;
    const char *name = db_row_str(row, 1);
    if (msg_name_is_valid(name)) mon_put(l, name, db_row_int(row, 0), monitor_state(db_row_str(row, 2)));
    return 0;
}

static int add_server_row(void *arg, const struct db_row *row)
{
    srv_put(arg, db_row_int(row, 0), ST_OK);
    return 0;
}

int lookup_reload(struct lookup *l, struct db *db)
{
    struct lookup fresh = {0};
    clear_tables(&fresh);
    fresh.gen = l->gen;
    if (db_query(db, "SELECT id, name, status FROM monitors", NULL, 0, add_monitor_row, &fresh) < 0 ||
        db_query(db, "SELECT id FROM servers", NULL, 0, add_server_row, &fresh) < 0) {
        free(fresh.mons);
        free(fresh.srvs);
        return -1;
    }
    free(l->mons);
    free(l->srvs);
    l->mons = fresh.mons;
    l->mon_cap = fresh.mon_cap;
    l->mon_n = fresh.mon_n;
    l->srvs = fresh.srvs;
    l->srv_cap = fresh.srv_cap;
    l->srv_n = fresh.srv_n;
    return 0;
}

struct one_monitor {
    bool found;
    int64_t id;
    enum state state;
};

static int take_monitor(void *arg, const struct db_row *row)
{
    struct one_monitor *m = arg;
    m->found = true;
    m->id = db_row_int(row, 0);
    m->state = monitor_state(db_row_str(row, 1));
    return 0;
}

static enum lookup_answer answer_of(enum state st)
{
    return st == ST_OK ? LOOKUP_OK : st == ST_DELETED ? LOOKUP_DELETED : LOOKUP_UNKNOWN;
}

int lookup_monitor(struct lookup *l, struct db *db, const char *name, enum lookup_answer *ans, int64_t *id)
{
    struct mon_slot *s = mon_find(l->mons, l->mon_cap, name);
    if (s->state == ST_OK || (s->state != ST_EMPTY && s->gen == l->gen)) {
        *ans = answer_of(s->state);
        *id = s->id;
        return 0;
    }
    struct one_monitor m = {false, 0, ST_UNKNOWN};
    struct db_param p[] = {DB_STR(name)};
    if (db_query(db, "SELECT id, status FROM monitors WHERE name = ?", p, 1, take_monitor, &m) < 0) return -1;
    mon_put(l, name, m.found ? m.id : 0, m.found ? m.state : ST_UNKNOWN);
    *ans = answer_of(m.found ? m.state : ST_UNKNOWN);
    *id = m.id;
    return 0;
}

int lookup_server(struct lookup *l, struct db *db, int64_t server_id, enum lookup_answer *ans)
{
    struct srv_slot *s = srv_find(l->srvs, l->srv_cap, server_id);
    if (s->state == ST_OK || (s->state != ST_EMPTY && s->gen == l->gen)) {
        *ans = answer_of(s->state);
        return 0;
    }
    int64_t one = 0;
    struct db_param p[] = {DB_INT(server_id)};
    int rc = db_query_int(db, "SELECT 1 FROM servers WHERE id = ?", p, 1, &one);
    if (rc < 0) return -1;
    srv_put(l, server_id, rc == 1 ? ST_OK : ST_UNKNOWN);
    *ans = rc == 1 ? LOOKUP_OK : LOOKUP_UNKNOWN;
    return 0;
}
