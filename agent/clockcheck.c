/* clockcheck.c — one check run: parse the references, resolve the names on a worker thread (getaddrinfo blocks),
 * probe every resolved reference on the shared probe engine, count failures, report, and schedule the next run.
 * A resolver job that is still running when its run is abandoned is orphaned: the thread frees it when done. */
#include "clockcheck.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hostport.h"
#include "log.h"
#include "xalloc.h"

struct ref {
    char *text;
    char host[256];
    uint16_t port;
    bool parsed, resolved, good;
    struct netaddr addr;
    struct probe *probe;
    struct clockcheck *c;
};

struct resolve_item {
    char host[256];
    bool ok;
    struct netaddr addr;
    char err[128];
};

struct resolve_job {
    pthread_mutex_t lock;
    pthread_t thread;
    bool orphaned;
    int efd;
    bool allow_v4, allow_v6;
    size_t n;
    struct resolve_item items[];
};

struct clockcheck {
    struct evloop *loop;
    struct probe_engine *eng;
    struct clockcheck_config cfg;
    clockcheck_fn fn;
    void *arg;
    struct ref *refs;
    size_t n_refs;
    bool allow_v4, allow_v6;
    int state;     /* -2 before the first verdict */
    bool running;
    size_t pending;
    struct resolve_job *job;
    struct evloop_timer timer;
};

bool clockcheck_healthy(size_t n, size_t failures) { return failures <= n - (n + 2) / 2; }

static void schedule_next(struct clockcheck *c)
{
    evloop_timer_start(c->loop, &c->timer, c->cfg.cache_us);
}

static void conclude(struct clockcheck *c)
{
    size_t n = 0, fails = 0;
    for (size_t i = 0; i < c->n_refs; i++) {
        if (!c->refs[i].resolved) continue;
        n++;
        if (!c->refs[i].good) fails++;
    }
    int state;
    if (n == 0) {
        state = -1;
        LOG(WARN, "local clock check: no reference server could be resolved; clock state unknown, probing goes on");
    } else {
        state = clockcheck_healthy(n, fails) ? 1 : 0;
        if (state == 1) LOG(INFO, "local clock check: ok (%zu of %zu references agree)", n - fails, n);
        else LOG(WARN, "local clock check: BAD (%zu of %zu references disagree; at most %zu may): probing paused",
                 fails, n, n - (n + 2) / 2);
    }
    c->running = false;
    bool changed = state != c->state;
    c->state = state;
    schedule_next(c);
    if (changed && c->fn) c->fn(c, state, c->arg);
}

static void on_ref_done(struct probe *p, const struct probe_outcome *o, void *arg)
{
    (void)p;
    struct ref *r = arg;
    struct clockcheck *c = r->c;
    r->probe = NULL;
    const struct msg_sample *s = o->n ? &o->samples[o->chosen].s : NULL;
    char ip[NETADDR_STRLEN];
    netaddr_format(&r->addr, ip);
    bool good = false;
    if (!s) LOG(WARN, "local clock check: %s (%s): no sample", r->text, ip);
    else if (s->error[0]) LOG(WARN, "local clock check: %s (%s): %s", r->text, ip, s->error);
    else if (!s->has_offset) LOG(WARN, "local clock check: %s (%s): no offset", r->text, ip);
    else if (fabs(s->offset) > c->cfg.max_offset)
        LOG(WARN, "local clock check: %s (%s): offset %.6f s is beyond %.6f s", r->text, ip, s->offset,
            c->cfg.max_offset);
    else if (s->leap == 3) LOG(WARN, "local clock check: %s (%s): not synchronized (leap 3)", r->text, ip);
    else {
        good = true;
        LOG(DEBUG, "local clock check: %s (%s): offset %.6f s", r->text, ip, s->offset);
    }
    r->good = good;
    if (--c->pending == 0) conclude(c);
}

static void start_probes(struct clockcheck *c)
{
    c->pending = 0;
    for (size_t i = 0; i < c->n_refs; i++)
        if (c->refs[i].resolved) c->pending++;
    if (c->pending == 0) {
        conclude(c);
        return;
    }
    size_t todo = c->pending;
    for (size_t i = 0; i < c->n_refs && todo > 0; i++) {
        struct ref *r = &c->refs[i];
        if (!r->resolved) continue;
        todo--;
        r->probe = probe_start(c->eng, &r->addr, r->port, c->cfg.samples, on_ref_done, r);
    }
}

/* ---- resolver thread ---- */

static void job_free(struct resolve_job *j)
{
    close(j->efd);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static void *resolve_thread(void *arg)
{
    struct resolve_job *j = arg;
    for (size_t i = 0; i < j->n; i++) {
        struct resolve_item *it = &j->items[i];
        struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
        int rc = getaddrinfo(it->host, NULL, &hints, &res);
        if (rc != 0) {
            snprintf(it->err, sizeof it->err, "%s", gai_strerror(rc));
            continue;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            if ((ai->ai_family == AF_INET && j->allow_v4) || (ai->ai_family == AF_INET6 && j->allow_v6)) {
                netaddr_from_sockaddr(ai->ai_addr, &it->addr);
                it->ok = true;
                break;
            }
        }
        if (!it->ok) snprintf(it->err, sizeof it->err, "no address of an enabled family");
        freeaddrinfo(res);
    }
    /* Decide and signal under the lock, so abandon_job sees either the signal or takes the orphan path. */
    pthread_mutex_lock(&j->lock);
    bool orphaned = j->orphaned;
    if (!orphaned) {
        uint64_t one = 1;
        if (write(j->efd, &one, sizeof one) < 0) { /* cannot happen on an eventfd below its maximum */
        }
    }
    pthread_mutex_unlock(&j->lock);
    if (orphaned) job_free(j);
    return NULL;
}

static void abandon_job(struct clockcheck *c)
{
    struct resolve_job *j = c->job;
    if (!j) return;
    c->job = NULL;
    evloop_fd_remove(c->loop, j->efd);
    pthread_mutex_lock(&j->lock);
    uint64_t v;
    bool finished = read(j->efd, &v, sizeof v) == (ssize_t)sizeof v;
    if (!finished) j->orphaned = true;
    pthread_mutex_unlock(&j->lock);
    if (finished) {
        pthread_join(j->thread, NULL);
        job_free(j);
    } else {
        pthread_detach(j->thread);
    }
}

static void on_resolved(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    struct clockcheck *c = arg;
    struct resolve_job *j = c->job;
    uint64_t v;
    if (!j || fd != j->efd || read(fd, &v, sizeof v) != (ssize_t)sizeof v) return;
    evloop_fd_remove(c->loop, j->efd);
    pthread_join(j->thread, NULL);
    size_t k = 0;
    for (size_t i = 0; i < c->n_refs; i++) {
        struct ref *r = &c->refs[i];
        if (!r->parsed || r->resolved) continue;
        struct resolve_item *it = &j->items[k++];
        if (it->ok) {
            r->addr = it->addr;
            r->resolved = true;
        } else {
            LOG(WARN, "local clock check: cannot resolve %s: %s", r->text, it->err);
        }
    }
    c->job = NULL;
    job_free(j);
    start_probes(c);
}

static void run(struct clockcheck *c)
{
    if (c->running) return;
    c->running = true;
    size_t need_dns = 0;
    for (size_t i = 0; i < c->n_refs; i++) {
        struct ref *r = &c->refs[i];
        r->resolved = false;
        r->good = false;
        char herr[HOSTPORT_ERR_LEN];
        r->parsed = hostport_parse(r->text, strlen(r->text), c->cfg.default_port, r->host, sizeof r->host, &r->port,
                                   herr) == 0;
        if (!r->parsed) {
            LOG(WARN, "local clock check: ignoring '%s': %s (want HOST, HOST:PORT or [IPv6]:PORT)", r->text, herr);
            continue;
        }
        if (netaddr_parse(r->host, &r->addr) == 0) {
            bool fam_ok = (r->addr.family == AF_INET && c->allow_v4) || (r->addr.family == AF_INET6 && c->allow_v6);
            r->resolved = fam_ok;
            if (!fam_ok) LOG(WARN, "local clock check: skipping %s: its address family is off", r->text);
        } else {
            need_dns++;
        }
    }
    if (need_dns == 0) {
        start_probes(c);
        return;
    }
    struct resolve_job *j = xcalloc(1, sizeof *j + need_dns * sizeof j->items[0]);
    pthread_mutex_init(&j->lock, NULL);
    j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    j->allow_v4 = c->allow_v4;
    j->allow_v6 = c->allow_v6;
    for (size_t i = 0; i < c->n_refs; i++)
        if (c->refs[i].parsed && !c->refs[i].resolved) snprintf(j->items[j->n++].host, 256, "%s", c->refs[i].host);
    if (j->efd < 0 || evloop_fd_set(c->loop, j->efd, EVLOOP_READ, on_resolved, c) < 0 ||
        pthread_create(&j->thread, NULL, resolve_thread, j) != 0) {
        LOG(ERROR, "local clock check: cannot start the resolver: %s", strerror(errno));
        if (j->efd >= 0) evloop_fd_remove(c->loop, j->efd);
        job_free(j);
        for (size_t i = 0; i < c->n_refs; i++)
            if (c->refs[i].parsed && !c->refs[i].resolved) c->refs[i].parsed = false;
        start_probes(c);
        return;
    }
    c->job = j;
}

static void on_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    run(arg);
}

struct clockcheck *clockcheck_new(struct evloop *loop, struct probe_engine *eng, const struct clockcheck_config *cfg,
                                  clockcheck_fn fn, void *arg)
{
    struct clockcheck *c = xcalloc(1, sizeof *c);
    c->loop = loop;
    c->eng = eng;
    c->cfg = *cfg;
    c->fn = fn;
    c->arg = arg;
    c->state = -2;
    evloop_timer_init(&c->timer, on_timer, c);
    return c;
}

static void stop_run(struct clockcheck *c)
{
    abandon_job(c);
    for (size_t i = 0; i < c->n_refs; i++) {
        if (c->refs[i].probe) probe_cancel(c->refs[i].probe);
        c->refs[i].probe = NULL;
    }
    c->running = false;
    evloop_timer_stop(c->loop, &c->timer);
}

static void free_refs(struct clockcheck *c)
{
    for (size_t i = 0; i < c->n_refs; i++) free(c->refs[i].text);
    free(c->refs);
    c->refs = NULL;
    c->n_refs = 0;
}

void clockcheck_free(struct clockcheck *c)
{
    if (!c) return;
    stop_run(c);
    free_refs(c);
    free(c);
}

void clockcheck_set_refs(struct clockcheck *c, const char *const *refs, size_t n, bool allow_v4, bool allow_v6)
{
    stop_run(c);
    free_refs(c);
    c->allow_v4 = allow_v4;
    c->allow_v6 = allow_v6;
    c->refs = xcalloc(n ? n : 1, sizeof *c->refs);
    c->n_refs = n;
    for (size_t i = 0; i < n; i++) {
        c->refs[i].text = xstrdup(refs[i]);
        c->refs[i].c = c;
    }
    if (n == 0) {
        LOG(WARN, "local clock check: no reference server configured (--clock-ref or clock_refs in state.json); "
                  "the clock is not checked (clock_ok null)");
        bool changed = c->state != -1;
        c->state = -1;
        if (changed && c->fn) c->fn(c, -1, c->arg);
        return;
    }
    run(c);
}

int clockcheck_state(const struct clockcheck *c) { return c->state; }
