/* sched.c — the work list as an array of servers sorted by id (stable heap objects, since each owns a timer that
 * the loop points at), merged with each new assignment. Removed servers leave a tombstone with their last probe
 * time for one min-interval, so a server dropped and re-added at once is not probed again too soon. */
#include "sched.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

struct tombstone {
    int64_t id;
    struct netaddr addr;
    int64_t last_probe_us;
};

struct sched {
    struct evloop *loop;
    struct sched_config cfg;
    sched_due_fn due;
    sched_remove_fn removed;
    void *arg;
    struct sched_server **servers; /* sorted by id */
    size_t n, cap;
    struct tombstone *tombs;
    size_t n_tombs;
    uint64_t rng;
};

static double next_uniform(struct sched *s)
{
    /* xorshift64*: scheduling jitter needs spread, not secrecy */
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

int64_t sched_next_due(const struct sched_config *cfg, int64_t now_us, int64_t last_probe_us, int64_t interval_us,
                       double u)
{
    if (last_probe_us == 0) {
        int64_t spread = interval_us;
        if (cfg->first_max_us > 0 && spread > cfg->first_max_us) spread = cfg->first_max_us;
        int64_t base = now_us > cfg->start_floor_us ? now_us : cfg->start_floor_us;
        return base + (int64_t)(u * (double)spread);
    }
    double factor = 1.0 + cfg->jitter * (2.0 * u - 1.0);
    int64_t due = last_probe_us + (int64_t)((double)interval_us * factor);
    if (due < last_probe_us + cfg->min_interval_us) due = last_probe_us + cfg->min_interval_us;
    if (due < now_us) due = now_us;
    return due;
}

static void on_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct sched_server *srv = arg;
    struct sched *s = srv->owner;
    if (srv->busy || srv->held) return;
    s->due(s, srv, s->arg);
}

static void schedule(struct sched *s, struct sched_server *srv)
{
    int64_t now = time_mono_us();
    int64_t due = sched_next_due(&s->cfg, now, srv->last_probe_us, srv->interval_us, next_uniform(s));
    evloop_timer_start(s->loop, &srv->timer, due - now);
}

struct sched *sched_new(struct evloop *loop, const struct sched_config *cfg, sched_due_fn due, sched_remove_fn removed,
                        void *arg)
{
    struct sched *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->cfg = *cfg;
    s->due = due;
    s->removed = removed;
    s->arg = arg;
    if (getrandom(&s->rng, sizeof s->rng, 0) != (ssize_t)sizeof s->rng || s->rng == 0)
        s->rng = (uint64_t)time_now_us() | 1;
    return s;
}

static void drop_server(struct sched *s, struct sched_server *srv)
{
    evloop_timer_stop(s->loop, &srv->timer);
    if (srv->busy && s->removed) s->removed(s, srv, s->arg);
    free(srv);
}

void sched_free(struct sched *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) drop_server(s, s->servers[i]);
    free(s->servers);
    free(s->tombs);
    free(s);
}

size_t sched_count(const struct sched *s) { return s->n; }
struct sched_server *sched_at(struct sched *s, size_t i) { return i < s->n ? s->servers[i] : NULL; }

struct sched_server *sched_find(struct sched *s, int64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->servers[mid]->id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->n && s->servers[lo]->id == id ? s->servers[lo] : NULL;
}

static int cmp_assign_id(const void *a, const void *b)
{
    const struct msg_assign_server *x = *(const struct msg_assign_server *const *)a;
    const struct msg_assign_server *y = *(const struct msg_assign_server *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static bool same_addr(const struct netaddr *a, const struct netaddr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static void prune_tombs(struct sched *s, int64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_tombs; i++)
        if (s->tombs[i].last_probe_us + s->cfg.min_interval_us > now) s->tombs[k++] = s->tombs[i];
    s->n_tombs = k;
}

static void bury(struct sched *s, const struct sched_server *srv, int64_t now)
{
    if (srv->last_probe_us == 0 || srv->last_probe_us + s->cfg.min_interval_us <= now) return;
    s->tombs = xrealloc(s->tombs, (s->n_tombs + 1) * sizeof *s->tombs);
    s->tombs[s->n_tombs++] = (struct tombstone){srv->id, srv->addr, srv->last_probe_us};
}

static int64_t exhume(struct sched *s, int64_t id, const struct netaddr *addr)
{
    for (size_t i = 0; i < s->n_tombs; i++)
        if (s->tombs[i].id == id && same_addr(&s->tombs[i].addr, addr)) return s->tombs[i].last_probe_us;
    return 0;
}

static struct sched_server *new_server(struct sched *s, const struct msg_assign_server *a, const struct netaddr *addr)
{
    struct sched_server *srv = xcalloc(1, sizeof *srv);
    srv->id = a->id;
    srv->addr = *addr;
    netaddr_format(addr, srv->ip);
    srv->owner = s;
    evloop_timer_init(&srv->timer, on_timer, srv);
    return srv;
}

void sched_apply(struct sched *s, const struct msg_assign *a, struct sched_apply_stats *st)
{
    memset(st, 0, sizeof *st);
    int64_t now = time_mono_us();
    prune_tombs(s, now);
    const struct msg_assign_server **list = xcalloc(a->n_servers ? a->n_servers : 1, sizeof *list);
    for (size_t i = 0; i < a->n_servers; i++) list[i] = &a->servers[i];
    qsort(list, a->n_servers, sizeof *list, cmp_assign_id);

    struct sched_server **out = xcalloc(a->n_servers ? a->n_servers : 1, sizeof *out);
    size_t n_out = 0, old = 0;
    for (size_t i = 0; i < a->n_servers; i++) {
        const struct msg_assign_server *as = list[i];
        if (n_out > 0 && out[n_out - 1]->id == as->id) {
            st->duplicates++;
            continue;
        }
        struct netaddr addr;
        if (netaddr_parse(as->ip, &addr) < 0) continue; /* msg_assign_decode already checked it */
        /* servers of the old list with smaller ids are gone */
        while (old < s->n && s->servers[old]->id < as->id) {
            bury(s, s->servers[old], now);
            drop_server(s, s->servers[old++]);
            st->removed++;
        }
        struct sched_server *srv = NULL;
        if (old < s->n && s->servers[old]->id == as->id) {
            srv = s->servers[old++];
            if (!same_addr(&srv->addr, &addr)) { /* same id, new address: a different target */
                bury(s, srv, now);
                drop_server(s, srv);
                srv = NULL;
                st->removed++;
            }
        }
        bool fresh = srv == NULL;
        if (fresh) {
            srv = new_server(s, as, &addr);
            srv->last_probe_us = exhume(s, as->id, &addr);
            st->added++;
        }
        int64_t interval = (int64_t)as->interval_s * 1000000;
        bool retime = fresh || srv->interval_us != interval;
        if (!fresh && (retime || srv->status != as->status || srv->samples != as->samples)) st->changed++;
        else if (!fresh) st->kept++;
        srv->status = as->status;
        srv->samples = as->samples;
        srv->interval_us = interval;
        if (retime && !srv->busy && !srv->held) schedule(s, srv);
        out[n_out++] = srv;
    }
    while (old < s->n) {
        bury(s, s->servers[old], now);
        drop_server(s, s->servers[old++]);
        st->removed++;
    }
    free(list);
    free(s->servers);
    s->servers = out;
    s->n = n_out;
    s->cap = a->n_servers;
    st->total = n_out;
}

void sched_probe_started(struct sched *s, struct sched_server *srv, void *probe)
{
    (void)s;
    srv->busy = true;
    srv->held = false;
    srv->probe = probe;
    srv->last_probe_us = time_mono_us();
}

void sched_probe_done(struct sched *s, struct sched_server *srv)
{
    srv->busy = false;
    srv->probe = NULL;
    schedule(s, srv);
}

void sched_hold(struct sched *s, struct sched_server *srv)
{
    (void)s;
    srv->held = true;
}

void sched_release_held(struct sched *s, bool (*filter)(const struct sched_server *srv, void *arg), void *arg)
{
    int64_t now = time_mono_us();
    for (size_t i = 0; i < s->n; i++) {
        struct sched_server *srv = s->servers[i];
        if (!srv->held || (filter && !filter(srv, arg))) continue;
        srv->held = false;
        /* spread the backlog over a short window instead of probing everything at the same instant */
        int64_t spread = srv->interval_us < s->cfg.min_interval_us ? srv->interval_us : s->cfg.min_interval_us;
        int64_t due = now + (int64_t)(next_uniform(s) * (double)spread);
        if (srv->last_probe_us && due < srv->last_probe_us + s->cfg.min_interval_us)
            due = srv->last_probe_us + s->cfg.min_interval_us;
        evloop_timer_start(s->loop, &srv->timer, due - now);
    }
}

void sched_all_now(struct sched *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct sched_server *srv = s->servers[i];
        if (srv->busy) continue;
        srv->held = false;
        evloop_timer_start(s->loop, &srv->timer, 0);
    }
}
