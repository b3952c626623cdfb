/* probe.c — the probe engine. Each probe is a small state machine driven by one evloop timer (sample timeout or
 * spacing) and, while a sample is in flight, one socket watch:
 *
 *   QUEUED --socket free--> INFLIGHT --reply/timeout/error--> (SPACING --timer--> QUEUED …) --last--> done
 *
 * Nothing is ever handled recursively: a failure found while sending is reported through a zero-delay timer, and
 * queued probes are admitted by one loop, so a dead network with thousands of probes cannot grow the stack. */
#include "probe.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ntp.h"
#include "xalloc.h"

enum pstate { P_QUEUED, P_INFLIGHT, P_FAILED, P_SPACING };

struct probe {
    struct probe_engine *e;
    struct netaddr addr;
    uint16_t port;
    int want;
    size_t n;
    enum pstate state;
    int fd;
    struct ntp_ts sent;
    int64_t t1_ns, t1_mono_us;
    struct evloop_timer timer;
    probe_done_fn done;
    void *arg;
    struct probe *qnext;               /* admission queue */
    struct probe *anext, *aprev;       /* every live probe (for the engine's teardown) */
    size_t bad;
    char fail[MSG_ERROR_MAX];          /* P_FAILED: the network error to record */
    struct probe_sample samples[];
};

struct probe_engine {
    struct evloop *loop;
    struct probe_config cfg;
    int sockets;
    size_t active;
    struct probe *qhead, *qtail;
    struct probe *all;
    bool admitting;
    struct probe_counters c;
};

static void on_timer(struct evloop *loop, void *arg);

struct probe_engine *probe_engine_new(struct evloop *loop, const struct probe_config *cfg)
{
    struct probe_engine *e = xcalloc(1, sizeof *e);
    e->loop = loop;
    e->cfg = *cfg;
    if (e->cfg.max_sockets < 1) e->cfg.max_sockets = 1;
    if (e->cfg.port == 0) e->cfg.port = 123;
    return e;
}

size_t probe_engine_active(const struct probe_engine *e) { return e->active; }
void probe_engine_counters(const struct probe_engine *e, struct probe_counters *c) { *c = e->c; }

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void network_error(char *out, size_t len, int err)
{
    char text[96];
    snprintf(text, sizeof text, "%s", strerror(err));
    text[0] = (char)tolower((unsigned char)text[0]);
    snprintf(out, len, "network: %s", text);
}

static void close_socket(struct probe *p)
{
    if (p->fd < 0) return;
    evloop_fd_remove(p->e->loop, p->fd);
    close(p->fd);
    p->fd = -1;
    p->e->sockets--;
}

static void unlink_probe(struct probe *p)
{
    struct probe_engine *e = p->e;
    if (p->aprev) p->aprev->anext = p->anext;
    else e->all = p->anext;
    if (p->anext) p->anext->aprev = p->aprev;
    e->active--;
}

static void dequeue(struct probe *p)
{
    struct probe_engine *e = p->e;
    struct probe **pp = &e->qhead, *prev = NULL;
    while (*pp && *pp != p) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (!*pp) return;
    *pp = p->qnext;
    if (e->qtail == p) e->qtail = prev;
    p->qnext = NULL;
}

size_t probe_choose(const struct probe_sample *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].ends_probe) return i;
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        int rb = s[best].s.error[0] == '\0' ? 0 : s[best].replied ? 1 : 2;
        int ri = s[i].s.error[0] == '\0' ? 0 : s[i].replied ? 1 : 2;
        if (ri < rb) best = i;
        else if (ri == rb && s[i].s.has_rtt && s[best].s.has_rtt && s[i].s.rtt < s[best].s.rtt) best = i;
    }
    return best;
}

void probe_outcome_to_result(const struct probe_outcome *o, struct msg_result *r)
{
    netaddr_format(&o->addr, r->ip);
    r->n_samples = o->n < MSG_MAX_SAMPLES ? o->n : MSG_MAX_SAMPLES;
    for (size_t i = 0; i < r->n_samples; i++) r->samples[i] = o->samples[i].s;
    if (o->n == 0) return;
    const struct msg_sample *c = &o->samples[o->chosen].s;
    r->ts_us = c->ts_us;
    r->has_offset = c->has_offset;
    r->offset = c->offset;
    r->has_rtt = c->has_rtt;
    r->rtt = c->rtt;
    r->stratum = c->stratum;
    r->leap = c->leap;
    snprintf(r->refid, sizeof r->refid, "%s", c->refid);
    snprintf(r->error, sizeof r->error, "%s", c->error);
}

static void finish(struct probe *p)
{
    struct probe_engine *e = p->e;
    close_socket(p);
    evloop_timer_stop(e->loop, &p->timer);
    unlink_probe(p);
    struct probe_outcome o = {.addr = p->addr, .n = p->n, .bad_replies = p->bad, .samples = p->samples};
    o.chosen = probe_choose(p->samples, p->n);
    if (p->done) p->done(p, &o, p->arg);
    free(p);
}

static void admit(struct probe_engine *e);

/* Closes the sample: the next one after the spacing, or the end of the probe. */
static void end_sample(struct probe *p)
{
    struct probe_engine *e = p->e;
    close_socket(p);
    p->n++;
    const struct probe_sample *last = &p->samples[p->n - 1];
    if (last->ends_probe || p->n >= (size_t)p->want) {
        finish(p);
    } else {
        p->state = P_SPACING;
        int64_t delay = p->t1_mono_us + e->cfg.spacing_us - evloop_now(e->loop);
        evloop_timer_start(e->loop, &p->timer, delay);
    }
    admit(e);
}

static void record_no_reply(struct probe *p, const char *error)
{
    struct probe_sample *ps = &p->samples[p->n];
    memset(ps, 0, sizeof *ps);
    ps->s.ts_us = p->t1_ns / 1000;
    snprintf(ps->s.error, sizeof ps->s.error, "%s", error);
}

static void fail_later(struct probe *p, int err)
{
    network_error(p->fail, sizeof p->fail, err);
    p->state = P_FAILED;
    p->e->c.net_errors++;
    evloop_timer_start(p->e->loop, &p->timer, 0);
}

static void on_readable(struct evloop *loop, int fd, unsigned events, void *arg);

static void send_sample(struct probe *p)
{
    struct probe_engine *e = p->e;
    p->state = P_INFLIGHT;
    p->t1_ns = wall_ns();
    p->t1_mono_us = evloop_now(e->loop);
    int fd = socket(p->addr.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_later(p, errno);
        return;
    }
    p->fd = fd;
    e->sockets++;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one); /* kernel receive time; else we read the clock */
    struct sockaddr_storage ss;
    socklen_t sl = netaddr_to_sockaddr(&p->addr, p->port, &ss);
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        int err = errno;
        close_socket(p);
        fail_later(p, err);
        return;
    }
    if (evloop_fd_set(e->loop, fd, EVLOOP_READ, on_readable, p) < 0) {
        int err = errno;
        close_socket(p);
        fail_later(p, err);
        return;
    }
    uint8_t req[NTP_PACKET_LEN];
    ntp_request_build(req, &p->sent);
    p->t1_ns = wall_ns();
    p->t1_mono_us = evloop_now(e->loop);
    ssize_t w = send(fd, req, sizeof req, 0);
    if (w != (ssize_t)sizeof req) {
        int err = w < 0 ? errno : EIO;
        close_socket(p);
        fail_later(p, err);
        return;
    }
    e->c.samples_sent++;
    evloop_timer_start(e->loop, &p->timer, e->cfg.timeout_us);
}

static void admit(struct probe_engine *e)
{
    if (e->admitting) return;
    e->admitting = true;
    while (e->qhead && e->sockets < e->cfg.max_sockets) {
        struct probe *p = e->qhead;
        e->qhead = p->qnext;
        if (!e->qhead) e->qtail = NULL;
        p->qnext = NULL;
        send_sample(p);
    }
    e->admitting = false;
}

static void begin_sample(struct probe *p)
{
    struct probe_engine *e = p->e;
    p->state = P_QUEUED;
    p->qnext = NULL;
    if (e->qtail) e->qtail->qnext = p;
    else e->qhead = p;
    e->qtail = p;
    admit(e);
}

static void on_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct probe *p = arg;
    switch (p->state) {
    case P_INFLIGHT:
        p->e->c.timeouts++;
        record_no_reply(p, "timeout");
        end_sample(p);
        break;
    case P_FAILED:
        record_no_reply(p, p->fail);
        end_sample(p);
        break;
    case P_SPACING:
        begin_sample(p);
        break;
    case P_QUEUED:
        break;
    }
}

void probe_sample_from_reply(int64_t t1_ns, const struct ntp_packet *pkt, int64_t t4_ns, struct probe_sample *ps)
{
    memset(ps, 0, sizeof *ps);
    ps->replied = true;
    ps->s.ts_us = t1_ns / 1000;
    double offset, delay;
    ntp_offset_delay(t1_ns, pkt->receive, pkt->transmit, t4_ns, &offset, &delay);
    struct ntp_verdict v;
    ntp_reply_verdict(pkt, &v);
    ps->s.has_offset = v.has_offset;
    ps->s.offset = v.has_offset ? offset : 0;
    ps->s.has_rtt = true;
    /* Above the validator's bound only when our own clock stepped forward during the sample: keep the result
     * storable (the clock check pauses probing after such a step). */
    ps->s.rtt = delay > MSG_MAX_RTT ? MSG_MAX_RTT : delay;
    ps->s.stratum = (int)pkt->stratum;
    ps->s.leap = (int)pkt->leap;
    ntp_refid_str(pkt, ps->s.refid);
    snprintf(ps->s.error, sizeof ps->s.error, "%s", v.error);
    ps->ends_probe = v.ends_probe;
}

static void take_reply(struct probe *p, const struct ntp_packet *pkt, int64_t t4_ns)
{
    probe_sample_from_reply(p->t1_ns, pkt, t4_ns, &p->samples[p->n]);
}

static void on_readable(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    struct probe *p = arg;
    if (p->state != P_INFLIGHT || fd != p->fd) return;
    for (;;) {
        uint8_t buf[2048];
        char cbuf[CMSG_SPACE(sizeof(struct timespec)) + 128];
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
        ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
        int64_t now_ns = wall_ns();
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            /* an ICMP error (port unreachable, host unreachable …) reported on the connected socket */
            p->e->c.net_errors++;
            char why[MSG_ERROR_MAX];
            network_error(why, sizeof why, errno);
            evloop_timer_stop(p->e->loop, &p->timer);
            record_no_reply(p, why);
            end_sample(p);
            return;
        }
        int64_t t4_ns = now_ns;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof ts);
                t4_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            }
        }
        struct ntp_packet pkt;
        enum ntp_reply_status st = ntp_reply_parse(buf, (size_t)n, &p->sent, &pkt);
        if (st != NTP_REPLY_OK) {
            /* Dropped, and we keep waiting: a spoofed or stale packet must not pre-empt the real answer.
             * With no valid reply the sample ends as a timeout. */
            p->bad++;
            p->e->c.bad_replies++;
            char ip[NETADDR_STRLEN];
            netaddr_format(&p->addr, ip);
            LOG(DEBUG, "probe %s: dropped a reply: %s", ip, ntp_reply_status_str(st));
            continue;
        }
        p->e->c.replies++;
        evloop_timer_stop(p->e->loop, &p->timer);
        take_reply(p, &pkt, t4_ns);
        end_sample(p);
        return;
    }
}

struct probe *probe_start(struct probe_engine *e, const struct netaddr *addr, uint16_t port, int samples,
                          probe_done_fn done, void *arg)
{
    if (samples < 1) samples = 1;
    if (samples > MSG_MAX_SAMPLES) samples = MSG_MAX_SAMPLES;
    struct probe *p = xcalloc(1, sizeof *p + (size_t)samples * sizeof p->samples[0]);
    p->e = e;
    p->addr = *addr;
    p->port = port ? port : e->cfg.port;
    p->want = samples;
    p->fd = -1;
    p->done = done;
    p->arg = arg;
    evloop_timer_init(&p->timer, on_timer, p);
    p->anext = e->all;
    if (e->all) e->all->aprev = p;
    e->all = p;
    e->active++;
    begin_sample(p);
    return p;
}

void probe_cancel(struct probe *p)
{
    if (!p) return;
    struct probe_engine *e = p->e;
    if (p->state == P_QUEUED) dequeue(p);
    close_socket(p);
    evloop_timer_stop(e->loop, &p->timer);
    unlink_probe(p);
    free(p);
    admit(e);
}

void probe_engine_free(struct probe_engine *e)
{
    if (!e) return;
    e->admitting = true; /* no admissions while tearing down */
    while (e->all) {
        struct probe *p = e->all;
        if (p->state == P_QUEUED) dequeue(p);
        close_socket(p);
        evloop_timer_stop(e->loop, &p->timer);
        unlink_probe(p);
        free(p);
    }
    free(e);
}
