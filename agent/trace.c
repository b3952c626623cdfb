/* trace.c — the trace engine. Each trace is a small state machine driven by one evloop timer and, while a hop is in
 * flight, one watch per probe socket:
 *
 *   QUEUED --a slot frees--> HOP (probes out; answers come in; the hop timer runs) --hop over--> next HOP … --> done
 *
 * A hop is over when every probe was answered, when its timeout passes, or — once one probe was answered — a short
 * while later (10× that answer's rtt, at least 50 ms; traceroute's "here" wait), so a lost answer does not cost a
 * whole timeout. Failures found while sending are reported through a zero-delay timer: nothing recurses. */
#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

#define HERE_MIN_US 50000 /* after a first answer, the rest of the hop waits at least this … */
#define HERE_FACTOR 10    /* … or this many times that answer's rtt */

/* ICMP types and codes (the kernel hands them over raw in sock_extended_err). */
#define ICMP4_DEST_UNREACH 3
#define ICMP4_TIME_EXCEEDED 11
#define ICMP6_DEST_UNREACH 1
#define ICMP6_TIME_EXCEEDED 3

enum tstate { T_QUEUED, T_HOP, T_FAILED };

struct tprobe {
    int fd;
    uint8_t sent[NTP_PACKET_LEN];
    struct ntp_ts sent_ts;
    int64_t t_send_ns;
    bool answered;
    struct trace *t; /* back pointer for the fd callback */
};

struct trace {
    struct trace_engine *e;
    struct netaddr target;
    uint16_t port;
    enum tstate state;
    int ttl;
    int silent_run;
    bool end_after_hop;    /* the server answered or a router said unreachable */
    bool reached;
    int64_t start_us, start_mono_us, hop_deadline_us;
    struct tprobe probes[TRACE_MAX_PROBES];
    struct trace_hop hops[TRACE_MAX_HOPS];
    size_t n_hops;
    uint64_t sent, answers, ignored;
    char error[MSG_ERROR_MAX];
    struct evloop_timer timer;
    trace_done_fn done;
    void *arg;
    struct trace *next, *prev; /* the engine's running list or queue */
};

struct trace_engine {
    struct evloop *loop;
    struct trace_config cfg;
    struct trace *running, *qhead, *qtail;
    size_t n_running, n_queued;
    bool admitting;
};

static void on_timer(struct evloop *loop, void *arg);
static void admit(struct trace_engine *e);

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

struct trace_engine *trace_engine_new(struct evloop *loop, const struct trace_config *cfg)
{
    struct trace_engine *e = xcalloc(1, sizeof *e);
    e->loop = loop;
    e->cfg = *cfg;
    if (e->cfg.port == 0) e->cfg.port = 123;
    e->cfg.max_hops = clamp(e->cfg.max_hops, 1, TRACE_MAX_HOPS);
    e->cfg.probes = clamp(e->cfg.probes, 1, TRACE_MAX_PROBES);
    e->cfg.max_silent = clamp(e->cfg.max_silent, 1, TRACE_MAX_HOPS);
    e->cfg.max_running = clamp(e->cfg.max_running, 1, 1000);
    if (e->cfg.timeout_us < 1000) e->cfg.timeout_us = 1000;
    return e;
}

size_t trace_engine_running(const struct trace_engine *e) { return e->n_running; }
size_t trace_engine_queued(const struct trace_engine *e) { return e->n_queued; }

/* ---- the pure part: what an ICMP error means ---- */

enum trace_verdict trace_classify_error(const struct netaddr *target, const uint8_t sent[NTP_PACKET_LEN],
                                        const struct sock_extended_err *ee, const struct netaddr *offender,
                                        const uint8_t *quoted, size_t quoted_len)
{
    bool v6 = target->family == AF_INET6;
    if (ee->ee_origin != (v6 ? SO_EE_ORIGIN_ICMP6 : SO_EE_ORIGIN_ICMP)) return TRACE_IGNORE; /* local, timestamps */
    if (!offender || offender->family != target->family) return TRACE_IGNORE;
    /* The quote, as far as the router quoted it, must be our packet: its last 8 bytes are the random transmit
     * timestamp, so a full quote proves the sender saw this very probe. Some routers quote no payload at all (RFC
     * 792's 8 bytes are the UDP header): then the kernel's match of the quoted addresses and ports to this
     * probe's own socket is all there is, as in every traceroute. */
    size_t cmp = quoted_len < NTP_PACKET_LEN ? quoted_len : NTP_PACKET_LEN;
    if (cmp > 0 && (!quoted || memcmp(quoted, sent, cmp) != 0)) return TRACE_IGNORE;
    bool from_target = memcmp(offender->bytes, target->bytes, v6 ? 16 : 4) == 0;
    unsigned type = ee->ee_type, code = ee->ee_code;
    unsigned time_exceeded = v6 ? ICMP6_TIME_EXCEEDED : ICMP4_TIME_EXCEEDED;
    unsigned unreach = v6 ? ICMP6_DEST_UNREACH : ICMP4_DEST_UNREACH;
    if (type == time_exceeded) return code == 0 ? TRACE_HOP : TRACE_IGNORE; /* code 1: reassembly, not a hop */
    if (type == unreach) {
        if (from_target) return TRACE_REACHED; /* port unreachable (or a host firewall): the server answered */
        return TRACE_UNREACHABLE; /* a router: no route, prohibited, or a firewall rejecting UDP 123 */
    }
    return TRACE_IGNORE; /* packet too big, parameter problems, … */
}

void trace_outcome_to_msg(const struct trace_outcome *o, struct msg_trace *m)
{
    netaddr_format(&o->target, m->ip);
    m->port = o->port;
    m->reached = o->reached;
    m->ts_us = o->start_us;
    m->n_hops = o->n_hops < MSG_TRACE_MAX_HOPS ? o->n_hops : MSG_TRACE_MAX_HOPS;
    for (size_t i = 0; i < m->n_hops; i++) {
        const struct trace_hop *h = &o->hops[i];
        struct msg_trace_hop *mh = &m->hops[i];
        memset(mh, 0, sizeof *mh);
        mh->ttl = h->ttl;
        mh->has_addr = h->has_addr;
        if (h->has_addr) netaddr_format(&h->addr, mh->addr);
        mh->n_rtt = (size_t)h->n_rtt;
        for (int k = 0; k < h->n_rtt; k++) mh->rtt[k] = h->rtt[k];
    }
}

/* ---- sockets ---- */

static void close_probe(struct trace *t, struct tprobe *p)
{
    if (p->fd < 0) return;
    evloop_fd_remove(t->e->loop, p->fd);
    close(p->fd);
    p->fd = -1;
}

static void close_probes(struct trace *t)
{
    for (int i = 0; i < TRACE_MAX_PROBES; i++) close_probe(t, &t->probes[i]);
}

static void set_network_error(struct trace *t, int err)
{
    char text[96];
    snprintf(text, sizeof text, "%s", strerror(err));
    text[0] = (char)tolower((unsigned char)text[0]);
    snprintf(t->error, sizeof t->error, "network: %s", text);
}

static void on_probe_fd(struct evloop *loop, int fd, unsigned events, void *arg);

/* Opens, configures and sends one probe; 0, or -1 with errno. */
static int send_probe(struct trace *t, struct tprobe *p)
{
    bool v6 = t->target.family == AF_INET6;
    int fd = socket(t->target.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    p->fd = fd;
    p->t = t;
    p->answered = false;
    int one = 1, ttl = t->ttl;
    int rc = v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one)
                : setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
    if (rc == 0)
        rc = v6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl)
                : setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    if (rc < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one); /* kernel receive time; else we read the clock */
    struct sockaddr_storage ss;
    socklen_t sl = netaddr_to_sockaddr(&t->target, t->port, &ss);
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) return -1;
    if (evloop_fd_set(t->e->loop, fd, EVLOOP_READ, on_probe_fd, p) < 0) return -1;
    ntp_request_build(p->sent, &p->sent_ts);
    p->t_send_ns = wall_ns();
    ssize_t w = send(fd, p->sent, sizeof p->sent, 0);
    if (w != (ssize_t)sizeof p->sent) {
        if (w >= 0) errno = EIO;
        return -1;
    }
    t->sent++;
    return 0;
}

static void start_hop(struct trace *t)
{
    struct trace_engine *e = t->e;
    t->state = T_HOP;
    struct trace_hop *h = &t->hops[t->n_hops];
    memset(h, 0, sizeof *h);
    h->ttl = t->ttl;
    if (t->n_hops == 0) {
        t->start_us = wall_ns() / 1000;
        t->start_mono_us = evloop_now(e->loop);
    }
    for (int i = 0; i < e->cfg.probes; i++) {
        if (send_probe(t, &t->probes[i]) < 0) {
            set_network_error(t, errno);
            close_probes(t);
            t->state = T_FAILED;
            evloop_timer_start(e->loop, &t->timer, 0);
            return;
        }
    }
    t->hop_deadline_us = evloop_now(e->loop) + e->cfg.timeout_us;
    evloop_timer_start(e->loop, &t->timer, e->cfg.timeout_us);
}

/* ---- the end of a hop, of a trace ---- */

static void unlink_running(struct trace *t)
{
    struct trace_engine *e = t->e;
    if (t->prev) t->prev->next = t->next;
    else e->running = t->next;
    if (t->next) t->next->prev = t->prev;
    t->next = t->prev = NULL;
    e->n_running--;
}

static void finish(struct trace *t)
{
    struct trace_engine *e = t->e;
    close_probes(t);
    evloop_timer_stop(e->loop, &t->timer);
    unlink_running(t);
    struct trace_outcome o = {.target = t->target, .port = t->port, .start_us = t->start_us,
                              .duration_us = evloop_now(e->loop) - t->start_mono_us, .reached = t->reached,
                              .n_hops = t->n_hops, .hops = t->hops, .packets_sent = t->sent,
                              .answers = t->answers, .ignored = t->ignored};
    snprintf(o.error, sizeof o.error, "%s", t->error);
    if (t->done) t->done(t, &o, t->arg);
    free(t);
    admit(e);
}

static void end_hop(struct trace *t)
{
    struct trace_engine *e = t->e;
    close_probes(t);
    struct trace_hop *h = &t->hops[t->n_hops++];
    t->silent_run = h->has_addr ? 0 : t->silent_run + 1;
    if (t->end_after_hop || t->silent_run >= e->cfg.max_silent || t->ttl >= e->cfg.max_hops) {
        finish(t);
        return;
    }
    t->ttl++;
    start_hop(t);
}

static void on_timer(struct evloop *loop, void *arg)
{
    (void)loop;
    struct trace *t = arg;
    if (t->state == T_HOP) end_hop(t);
    else if (t->state == T_FAILED) finish(t);
}

static bool hop_complete(const struct trace *t)
{
    for (int i = 0; i < t->e->cfg.probes; i++)
        if (!t->probes[i].answered) return false;
    return true;
}

/* Records an answer to probe p from addr at receive time t_ns. */
static void take_answer(struct trace *t, struct tprobe *p, const struct netaddr *from, int64_t t_ns,
                        enum trace_verdict v)
{
    struct trace_engine *e = t->e;
    p->answered = true;
    t->answers++;
    struct trace_hop *h = &t->hops[t->n_hops];
    double rtt = (double)(t_ns - p->t_send_ns) / 1e9;
    if (rtt < 0) rtt = 0;
    if (!h->has_addr) {
        h->has_addr = true;
        h->addr = *from;
    }
    if (memcmp(&h->addr, from, sizeof *from) == 0 && h->n_rtt < TRACE_MAX_PROBES) h->rtt[h->n_rtt++] = rtt;
    if (v == TRACE_REACHED) {
        t->reached = true;
        t->end_after_hop = true;
    } else if (v == TRACE_UNREACHABLE) {
        t->end_after_hop = true;
    }
    close_probe(t, p);
    if (hop_complete(t)) {
        evloop_timer_start(e->loop, &t->timer, 0);
        return;
    }
    int64_t here = (int64_t)(rtt * 1e6) * HERE_FACTOR;
    if (here < HERE_MIN_US) here = HERE_MIN_US;
    int64_t due = evloop_now(e->loop) + here;
    if (due < t->hop_deadline_us) {
        t->hop_deadline_us = due;
        evloop_timer_start(e->loop, &t->timer, here);
    }
}

static int64_t cmsg_time(struct msghdr *mh, int64_t fallback)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        }
    }
    return fallback;
}

/* Reads one error-queue entry; 1 when one was read, 0 when the queue is empty. */
static int read_error(struct trace *t, struct tprobe *p)
{
    uint8_t buf[512];
    char cbuf[512];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(p->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) return 0;
    int64_t t_ns = cmsg_time(&mh, wall_ns());
    const struct sock_extended_err *ee = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
            (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
            ee = (const struct sock_extended_err *)CMSG_DATA(c);
    }
    if (!ee) return 1;
    struct sock_extended_err copy;
    memcpy(&copy, ee, sizeof copy);
    struct netaddr from;
    const struct sockaddr *off = SO_EE_OFFENDER(ee);
    bool have_from = off->sa_family == AF_INET || off->sa_family == AF_INET6;
    if (have_from) netaddr_from_sockaddr(off, &from);
    enum trace_verdict v = trace_classify_error(&t->target, p->sent, &copy, have_from ? &from : NULL, buf,
                                                (size_t)n > sizeof buf ? sizeof buf : (size_t)n);
    if (v == TRACE_IGNORE) {
        t->ignored++;
        if (copy.ee_origin == SO_EE_ORIGIN_LOCAL && copy.ee_errno && !t->error[0])
            LOG(DEBUG, "trace: local error on a probe: %s", strerror((int)copy.ee_errno));
        else
            LOG(DEBUG, "trace: ignored an ICMP error (origin %u type %u code %u) that does not answer our probe",
                copy.ee_origin, copy.ee_type, copy.ee_code);
        return 1;
    }
    take_answer(t, p, &from, t_ns, v);
    return 1;
}

/* Reads one datagram; 1 when one was read, 0 when none is waiting. */
static int read_reply(struct trace *t, struct tprobe *p)
{
    uint8_t buf[1024];
    char cbuf[CMSG_SPACE(sizeof(struct timespec)) + 64];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(p->fd, &mh, MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1; /* a pending error: read via the queue */
    int64_t t_ns = cmsg_time(&mh, wall_ns());
    struct ntp_packet pkt;
    if (ntp_reply_parse(buf, (size_t)n, &p->sent_ts, &pkt) != NTP_REPLY_OK) {
        t->ignored++; /* connected: it came from the server's address and port, but it does not answer us */
        return 1;
    }
    take_answer(t, p, &t->target, t_ns, TRACE_REACHED);
    return 1;
}

static void on_probe_fd(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)events;
    struct tprobe *p = arg;
    struct trace *t = p->t;
    if (t->state != T_HOP || p->fd != fd) return;
    /* At most a few entries per wake-up: a flood on one socket cannot hold the loop. */
    for (int i = 0; i < 8 && p->fd == fd && !p->answered; i++) {
        if (read_error(t, p)) continue;
        if (p->fd == fd && !p->answered && read_reply(t, p)) continue;
        break;
    }
}

/* ---- queue ---- */

static void admit(struct trace_engine *e)
{
    if (e->admitting) return;
    e->admitting = true;
    while (e->qhead && e->n_running < (size_t)e->cfg.max_running) {
        struct trace *t = e->qhead;
        e->qhead = t->next;
        if (e->qhead) e->qhead->prev = NULL;
        else e->qtail = NULL;
        e->n_queued--;
        t->next = e->running;
        t->prev = NULL;
        if (e->running) e->running->prev = t;
        e->running = t;
        e->n_running++;
        t->ttl = 1;
        start_hop(t);
    }
    e->admitting = false;
}

struct trace *trace_start(struct trace_engine *e, const struct netaddr *addr, uint16_t port, trace_done_fn done,
                          void *arg)
{
    struct trace *t = xcalloc(1, sizeof *t);
    t->e = e;
    t->target = *addr;
    t->port = port ? port : e->cfg.port;
    t->state = T_QUEUED;
    t->done = done;
    t->arg = arg;
    for (int i = 0; i < TRACE_MAX_PROBES; i++) t->probes[i].fd = -1;
    evloop_timer_init(&t->timer, on_timer, t);
    t->prev = e->qtail;
    if (e->qtail) e->qtail->next = t;
    else e->qhead = t;
    e->qtail = t;
    e->n_queued++;
    admit(e);
    return t;
}

static void drop(struct trace *t)
{
    struct trace_engine *e = t->e;
    if (t->state == T_QUEUED) {
        if (t->prev) t->prev->next = t->next;
        else e->qhead = t->next;
        if (t->next) t->next->prev = t->prev;
        else e->qtail = t->prev;
        e->n_queued--;
    } else {
        unlink_running(t);
    }
    close_probes(t);
    evloop_timer_stop(e->loop, &t->timer);
    free(t);
}

void trace_cancel(struct trace *t)
{
    if (!t) return;
    struct trace_engine *e = t->e;
    drop(t);
    admit(e);
}

void trace_engine_free(struct trace_engine *e)
{
    if (!e) return;
    e->admitting = true;
    while (e->running) drop(e->running);
    while (e->qhead) drop(e->qhead);
    free(e);
}
