/* pool.c — the in-memory pool (pool.h). Each server keeps its pairs sorted by monitor id and each monitor its
 * pairs sorted by server id, so a result finds its pair by one hash lookup and one binary search, and a work list
 * is walked in server order without sorting. */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void pool_init(struct pool *p) { memset(p, 0, sizeof *p); }

void pool_free(struct pool *p)
{
    for (size_t i = 0; i < p->n_mon; i++) free(p->mon[i].pairs);
    for (size_t i = 0; i < p->n_srv; i++) free(p->srv[i].pairs);
    for (size_t i = 0; i < p->n_pairs; i++) stats_free(&p->pairs[i].stats);
    free(p->mon);
    free(p->srv);
    free(p->pairs);
    idmap_free(&p->mon_by_id);
    idmap_free(&p->srv_by_id);
    idmap_free(&p->mon_by_name);
    memset(p, 0, sizeof *p);
}

static void push_index(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t at, uint32_t v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap + *cap / 2 + 4 : 8;
        *arr = xrealloc(*arr, *cap * sizeof **arr);
    }
    memmove(*arr + at + 1, *arr + at, (*n - at) * sizeof **arr);
    (*arr)[at] = v;
    (*n)++;
}

void pool_scan_begin(struct pool *p)
{
    for (size_t i = 0; i < p->n_mon; i++) p->mon[i].seen = false;
    for (size_t i = 0; i < p->n_srv; i++) p->srv[i].seen = false;
    for (size_t i = 0; i < p->n_pairs; i++) p->pairs[i].seen = false;
}

uint32_t pool_monitor_by_id(const struct pool *p, int64_t id) { return idmap_get(&p->mon_by_id, (uint64_t)id); }
uint32_t pool_server_by_id(const struct pool *p, int64_t id) { return idmap_get(&p->srv_by_id, (uint64_t)id); }

uint32_t pool_monitor_by_name(const struct pool *p, const char *name)
{
    uint32_t i = idmap_get(&p->mon_by_name, idmap_hash_str(name));
    if (i == IDMAP_NONE || strcmp(p->mon[i].name, name) != 0) return IDMAP_NONE; /* stale after a rename */
    return i;
}

static bool addr_changed(bool *has, struct netaddr *a, const char *text)
{
    struct netaddr n;
    bool ok = text && *text && netaddr_parse(text, &n) == 0;
    if (ok == *has && (!ok || memcmp(&n, a, sizeof n) == 0)) return false;
    *has = ok;
    if (ok) *a = n;
    return true;
}

uint32_t pool_upsert_monitor(struct pool *p, int64_t id, const char *name, enum sel_mon_status status,
                             int64_t account_id, const char *ip4, const char *ip6)
{
    uint32_t i = pool_monitor_by_id(p, id);
    if (i == IDMAP_NONE) {
        if (p->n_mon == p->cap_mon) {
            p->cap_mon = p->cap_mon ? p->cap_mon * 2 : 64;
            p->mon = xrealloc(p->mon, p->cap_mon * sizeof *p->mon);
        }
        i = (uint32_t)p->n_mon++;
        memset(&p->mon[i], 0, sizeof p->mon[i]);
        p->mon[i].id = id;
        p->mon[i].status = SEL_MON_UNKNOWN;
        p->mon[i].dirty = true;
        idmap_put(&p->mon_by_id, (uint64_t)id, i);
    }
    struct pool_monitor *m = &p->mon[i];
    if (strcmp(m->name, name) != 0) {
        snprintf(m->name, sizeof m->name, "%s", name);
        idmap_put(&p->mon_by_name, idmap_hash_str(m->name), i);
        m->dirty = true;
    }
    if (m->status != status) m->dirty = true;
    m->status = status;
    m->account_id = account_id;
    if (addr_changed(&m->has4, &m->ip4, ip4)) m->dirty = true;
    if (addr_changed(&m->has6, &m->ip6, ip6)) m->dirty = true;
    m->seen = true;
    return i;
}

static void mark_server_monitors_dirty(struct pool *p, struct pool_server *s)
{
    for (uint32_t k = 0; k < s->n_pairs; k++) p->mon[p->pairs[s->pairs[k]].monitor].dirty = true;
}

uint32_t pool_upsert_server(struct pool *p, int64_t id, const char *ip, int64_t account_id, bool deleted)
{
    uint32_t i = pool_server_by_id(p, id);
    if (i == IDMAP_NONE) {
        if (p->n_srv == p->cap_srv) {
            p->cap_srv = p->cap_srv ? p->cap_srv * 2 : 256;
            p->srv = xrealloc(p->srv, p->cap_srv * sizeof *p->srv);
        }
        i = (uint32_t)p->n_srv++;
        memset(&p->srv[i], 0, sizeof p->srv[i]);
        p->srv[i].id = id;
        idmap_put(&p->srv_by_id, (uint64_t)id, i);
    }
    struct pool_server *s = &p->srv[i];
    if (strcmp(s->ip, ip) != 0 || s->deleted != deleted) mark_server_monitors_dirty(p, s);
    snprintf(s->ip, sizeof s->ip, "%s", ip);
    s->account_id = account_id;
    s->deleted = deleted;
    s->seen = true;
    return i;
}

/* Position of monitor id `mid` in a server's sorted list (or where it would go). */
static uint32_t server_slot(const struct pool *p, const struct pool_server *s, int64_t mid, bool *found)
{
    uint32_t lo = 0, hi = s->n_pairs;
    while (lo < hi) {
        uint32_t mid_i = (lo + hi) / 2;
        int64_t v = p->mon[p->pairs[s->pairs[mid_i]].monitor].id;
        if (v < mid) lo = mid_i + 1;
        else hi = mid_i;
    }
    *found = lo < s->n_pairs && p->mon[p->pairs[s->pairs[lo]].monitor].id == mid;
    return lo;
}

static uint32_t monitor_slot(const struct pool *p, const struct pool_monitor *m, int64_t sid)
{
    uint32_t lo = 0, hi = m->n_pairs;
    while (lo < hi) {
        uint32_t mid_i = (lo + hi) / 2;
        if (p->srv[p->pairs[m->pairs[mid_i]].server].id < sid) lo = mid_i + 1;
        else hi = mid_i;
    }
    return lo;
}

uint32_t pool_pair_find(struct pool *p, uint32_t server, uint32_t monitor, bool create)
{
    struct pool_server *s = &p->srv[server];
    bool found;
    uint32_t at = server_slot(p, s, p->mon[monitor].id, &found);
    if (found) return s->pairs[at];
    if (!create) return IDMAP_NONE;
    if (p->n_pairs == p->cap_pairs) {
        p->cap_pairs = p->cap_pairs ? p->cap_pairs + p->cap_pairs / 2 : 1024;
        p->pairs = xrealloc(p->pairs, p->cap_pairs * sizeof *p->pairs);
    }
    uint32_t k = (uint32_t)p->n_pairs++;
    p->pairs[k] = (struct pool_pair){.server = server, .monitor = monitor, .status = MSG_STATUS_NONE};
    push_index(&s->pairs, &s->n_pairs, &s->cap_pairs, at, k);
    struct pool_monitor *m = &p->mon[monitor];
    push_index(&m->pairs, &m->n_pairs, &m->cap_pairs, monitor_slot(p, m, s->id), k);
    return k;
}

uint32_t pool_upsert_pair(struct pool *p, int64_t server_id, int64_t monitor_id, enum msg_pair_status status)
{
    uint32_t s = pool_server_by_id(p, server_id), m = pool_monitor_by_id(p, monitor_id);
    if (s == IDMAP_NONE || m == IDMAP_NONE) return IDMAP_NONE;
    uint32_t k = pool_pair_find(p, s, m, true);
    struct pool_pair *pp = &p->pairs[k];
    if (pp->status != status) p->mon[m].dirty = true;
    pp->status = (uint8_t)status;
    pp->seen = true;
    return k;
}

void pool_scan_end(struct pool *p)
{
    for (size_t i = 0; i < p->n_mon; i++)
        if (!p->mon[i].seen && p->mon[i].status != SEL_MON_DELETED) {
            p->mon[i].status = SEL_MON_DELETED;
            p->mon[i].dirty = true;
        }
    for (size_t i = 0; i < p->n_srv; i++)
        if (!p->srv[i].seen && !p->srv[i].deleted) {
            p->srv[i].deleted = true;
            mark_server_monitors_dirty(p, &p->srv[i]);
        }
    for (size_t i = 0; i < p->n_pairs; i++)
        if (!p->pairs[i].seen && p->pairs[i].status != MSG_STATUS_NONE) {
            p->pairs[i].status = MSG_STATUS_NONE;
            p->mon[p->pairs[i].monitor].dirty = true;
        }
}

void pool_set_status(struct pool *p, int64_t server_id, int64_t monitor_id, enum msg_pair_status status)
{
    uint32_t s = pool_server_by_id(p, server_id), m = pool_monitor_by_id(p, monitor_id);
    if (s == IDMAP_NONE || m == IDMAP_NONE) return; /* the next scan brings it */
    uint32_t k = pool_pair_find(p, s, m, true);
    if (p->pairs[k].status != status) p->mon[m].dirty = true;
    p->pairs[k].status = (uint8_t)status;
}

void pool_mark_all_dirty(struct pool *p)
{
    for (size_t i = 0; i < p->n_mon; i++) p->mon[i].dirty = true;
}

bool pool_monitor_works(const struct pool_monitor *m)
{
    return m->status == SEL_MON_ACTIVE || m->status == SEL_MON_TESTING || m->status == SEL_MON_PENDING;
}

int pool_interval(const struct sel_settings *cfg, const struct pool_monitor *m, enum msg_pair_status status)
{
    switch (status) {
    case MSG_STATUS_ACTIVE: return m->status == SEL_MON_ACTIVE ? cfg->interval_active_s : cfg->interval_active_other_s;
    case MSG_STATUS_TESTING: return cfg->interval_testing_s;
    case MSG_STATUS_PAUSED: return cfg->interval_paused_s;
    default: return cfg->interval_candidate_s;
    }
}

static bool in_work_list(const struct pool *p, const struct pool_pair *pp)
{
    return pp->status != MSG_STATUS_NONE && !p->srv[pp->server].deleted;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8) h = (h ^ (v & 0xff)) * 1099511628211ULL;
    return h;
}

uint64_t pool_work_hash(struct pool *p, uint32_t mon, const struct sel_settings *cfg)
{
    struct pool_monitor *m = &p->mon[mon];
    uint64_t h = mix(14695981039346656037ULL, (uint64_t)cfg->samples);
    if (pool_monitor_works(m))
        for (uint32_t k = 0; k < m->n_pairs; k++) {
            const struct pool_pair *pp = &p->pairs[m->pairs[k]];
            if (!in_work_list(p, pp)) continue;
            h = mix(h, (uint64_t)p->srv[pp->server].id);
            for (const unsigned char *c = (const unsigned char *)p->srv[pp->server].ip; *c; c++) h = (h ^ *c) * 1099511628211ULL;
            h = mix(h, ((uint64_t)pp->status << 32) | (uint32_t)pool_interval(cfg, m, pp->status));
        }
    m->want = h;
    m->dirty = false;
    return h;
}

void pool_work_list(struct pool *p, uint32_t mon, const struct sel_settings *cfg, struct msg_assign *out)
{
    struct pool_monitor *m = &p->mon[mon];
    memset(out, 0, sizeof *out);
    out->servers = xcalloc(m->n_pairs ? m->n_pairs : 1, sizeof *out->servers);
    if (!pool_monitor_works(m)) return;
    for (uint32_t k = 0; k < m->n_pairs; k++) {
        const struct pool_pair *pp = &p->pairs[m->pairs[k]];
        if (!in_work_list(p, pp)) continue;
        struct msg_assign_server *e = &out->servers[out->n_servers++];
        e->id = p->srv[pp->server].id;
        snprintf(e->ip, sizeof e->ip, "%s", p->srv[pp->server].ip);
        e->status = (enum msg_pair_status)pp->status;
        e->interval_s = pool_interval(cfg, m, e->status);
        e->samples = cfg->samples;
    }
}

void pool_history_mark(struct pool *p, uint32_t server)
{
    if (server == IDMAP_NONE || p->srv[server].history) return;
    p->srv[server].history = true;
    p->n_history++;
}

size_t pool_history_pending(const struct pool *p) { return p->n_srv - p->n_history; }

size_t pool_history_next(struct pool *p, int64_t *ids, size_t max)
{
    size_t n = 0;
    if (!p->n_srv || p->n_history == p->n_srv) return 0;
    for (size_t seen = 0; seen < p->n_srv && n < max; seen++) {
        size_t i = p->history_scan++ % p->n_srv;
        if (!p->srv[i].history) ids[n++] = p->srv[i].id;
    }
    p->history_scan %= p->n_srv;
    return n;
}

uint64_t pool_expire_stats(struct pool *p, int64_t now_us, int window_s)
{
    uint64_t dropped = 0;
    for (size_t i = 0; i < p->n_pairs; i++) dropped += stats_expire(&p->pairs[i].stats, now_us, window_s);
    return dropped;
}

uint64_t pool_stats_bytes(const struct pool *p)
{
    uint64_t b = 0;
    for (size_t i = 0; i < p->n_pairs; i++) b += stats_bytes(&p->pairs[i].stats);
    return b;
}

uint64_t pool_stats_entries(const struct pool *p)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->n_pairs; i++) n += p->pairs[i].stats.n;
    return n;
}
