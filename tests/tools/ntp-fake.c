/* ntp-fake.c — a misbehaving NTP server for tests, the demo and benchmarks. It answers NTP client requests on one
 * or more ADDR:PORT sockets with a chosen clock offset, stratum, leap, refid or Kiss-o'-Death code — or misbehaves
 * on purpose: no reply, a reply from another port, a wrong origin, a wrong mode, a short packet, a zero transmit
 * timestamp, receive after transmit, receive/transmit skewed apart (a negative delay), fixed or random delays,
 * dropping every Nth request. Replies leave from the
 * address the request was sent to (IP_PKTINFO), so a wildcard bind answers for all of 127.0.0.0/8. Without delays
 * it reads in batches (recvmmsg) so it can serve as a fast benchmark responder.
 *
 *   ntp-fake --listen 127.0.0.1:12345 --offset 0.25
 *   ntp-fake --listen 127.0.0.2:123 127.0.0.3:123 --kod RATE
 *   ntp-fake --listen '[::1]:12345' --wrong-origin --then-good
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "netaddr.h"
#include "ntp.h"
#include "opts.h"
#include "xalloc.h"

#define BATCH 64

static struct {
    struct opts_common common;
    struct opt_list listen;
    double offset;
    int64_t stratum, leap, version, drop_every;
    const char *refid, *kod;
    bool no_reply, wrong_port, wrong_origin, wrong_mode, short_packet, zero_transmit, recv_after_xmt, then_good, log;
    int64_t delay_us, delay_random_us;
    double skew;
} o;

static const struct opt_spec specs[] = {
    {"listen", 0, NULL, OPT_LIST, &o.listen, NULL, 0, 0, "ADDR:PORT…", "where to answer ([v6]:port for IPv6)"},
    {"offset", 0, NULL, OPT_DOUBLE, &o.offset, "0", -1e9, 1e9, "SECONDS", "our clock minus the real one"},
    {"stratum", 0, NULL, OPT_INT, &o.stratum, "1", 0, 255, "N", "stratum in replies"},
    {"leap", 0, NULL, OPT_INT, &o.leap, "0", 0, 3, "N", "leap indicator in replies (3: unsynchronized)"},
    {"version", 0, NULL, OPT_INT, &o.version, "0", 0, 7, "N", "version in replies (0: the request's)"},
    {"refid", 0, NULL, OPT_STRING, &o.refid, NULL, 0, 0, "TEXT", "reference id: 1-4 chars or a dotted quad"},
    {"kod", 0, NULL, OPT_STRING, &o.kod, NULL, 0, 0, "CODE", "answer Kiss-o'-Death: stratum 0, refid CODE"},
    {"no-reply", 0, NULL, OPT_FLAG, &o.no_reply, NULL, 0, 0, NULL, "never answer"},
    {"wrong-port", 0, NULL, OPT_FLAG, &o.wrong_port, NULL, 0, 0, NULL, "answer from another source port"},
    {"wrong-origin", 0, NULL, OPT_FLAG, &o.wrong_origin, NULL, 0, 0, NULL, "origin timestamp not the request's"},
    {"wrong-mode", 0, NULL, OPT_FLAG, &o.wrong_mode, NULL, 0, 0, NULL, "mode 3 (client) instead of 4"},
    {"short", 0, NULL, OPT_FLAG, &o.short_packet, NULL, 0, 0, NULL, "send only 40 bytes"},
    {"zero-transmit", 0, NULL, OPT_FLAG, &o.zero_transmit, NULL, 0, 0, NULL, "transmit timestamp 0"},
    {"receive-after-transmit", 0, NULL, OPT_FLAG, &o.recv_after_xmt, NULL, 0, 0, NULL, "receive > transmit"},
    {"skew-timestamps", 0, NULL, OPT_DOUBLE, &o.skew, "0", 0, 1e6, "SECONDS",
     "receive SECONDS early and transmit SECONDS late: every check passes, the offset stays right, delay is -2x"},
    {"then-good", 0, NULL, OPT_FLAG, &o.then_good, NULL, 0, 0, NULL,
     "after a misbehaving packet, also send a correct reply"},
    {"delay", 0, NULL, OPT_DURATION, &o.delay_us, "0", 0, 60, "DURATION", "wait this long before answering"},
    {"delay-random", 0, NULL, OPT_DURATION, &o.delay_random_us, "0", 0, 60, "DURATION",
     "plus a uniformly random extra delay up to this"},
    {"drop-every", 0, NULL, OPT_INT, &o.drop_every, "0", 0, 1000000, "N", "ignore every Nth request"},
    {"log", 0, NULL, OPT_FLAG, &o.log, NULL, 0, 0, NULL, "print a line per request on stdout"},
    {0},
};

struct listener {
    int fd, alt_fd; /* alt_fd: a second socket on the same address for --wrong-port */
    int family;
};

struct pending {
    struct evloop_timer timer;
    struct pending *prev, *next; /* delayed replies, freed at exit */
    int64_t t2_ns;
    struct listener *l;
    struct sockaddr_storage to;
    socklen_t to_len;
    union {
        struct in_pktinfo v4;
        struct in6_pktinfo v6;
    } src;
    bool have_src;
    struct ntp_packet req;
};

static struct evloop *loop;
static struct pending *delayed;
static uint64_t requests;
static uint32_t refid_value;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct ntp_ts fake_time(int64_t real_ns) { return ntp_ts_from_unix_ns(real_ns + (int64_t)(o.offset * 1e9)); }

static uint32_t parse_refid(const char *text)
{
    struct netaddr a;
    if (netaddr_parse(text, &a) == 0 && a.family == AF_INET)
        return (uint32_t)a.bytes[0] << 24 | (uint32_t)a.bytes[1] << 16 | (uint32_t)a.bytes[2] << 8 | a.bytes[3];
    uint8_t b[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < 4 && text[i]; i++) b[i] = (uint8_t)text[i];
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Builds the reply (good or misbehaving) into buf; returns its length. */
static size_t build_reply(const struct ntp_packet *req, int64_t t2_ns, uint8_t buf[NTP_PACKET_LEN], bool good)
{
    struct ntp_packet f = {0};
    f.leap = (unsigned)o.leap;
    f.version = (unsigned)o.version;
    f.stratum = o.kod ? 0 : (unsigned)o.stratum;
    f.poll = 6;
    f.precision = -20;
    f.root_delay = 0x00000100;
    f.root_dispersion = 0x00000200;
    f.refid = refid_value;
    f.receive = fake_time(t2_ns);
    f.reference = fake_time(t2_ns - 16 * 1000000000LL);
    f.transmit = fake_time(now_ns());
    if (o.skew > 0) {
        f.receive = fake_time(t2_ns - (int64_t)(o.skew * 1e9));
        f.transmit = fake_time(now_ns() + (int64_t)(o.skew * 1e9));
    }
    if (!good) {
        if (o.zero_transmit) f.transmit = (struct ntp_ts){0, 0};
        if (o.recv_after_xmt) f.receive = (struct ntp_ts){f.transmit.seconds + 1, f.transmit.fraction};
    }
    ntp_server_reply_build(req, &f, buf);
    if (!good) {
        if (o.wrong_mode) buf[0] = (uint8_t)((buf[0] & 0xf8) | NTP_MODE_CLIENT);
        if (o.wrong_origin) buf[24] ^= 0x5a;
    }
    return !good && o.short_packet ? 40 : NTP_PACKET_LEN;
}

static bool misbehaves(void)
{
    return o.wrong_port || o.wrong_origin || o.wrong_mode || o.short_packet || o.zero_transmit || o.recv_after_xmt;
}

static void send_one(struct pending *p, int64_t t2_ns)
{
    uint8_t buf[NTP_PACKET_LEN];
    struct iovec iov = {buf, 0};
    char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct msghdr mh = {.msg_name = &p->to, .msg_namelen = p->to_len, .msg_iov = &iov, .msg_iovlen = 1};
    if (p->have_src) {
        memset(cbuf, 0, sizeof cbuf);
        mh.msg_control = cbuf;
        struct cmsghdr *c = (struct cmsghdr *)cbuf;
        if (p->l->family == AF_INET) {
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof p->src.v4);
            struct in_pktinfo pi = p->src.v4;
            pi.ipi_ifindex = 0;
            pi.ipi_spec_dst = pi.ipi_addr;
            memcpy(CMSG_DATA(c), &pi, sizeof pi);
            mh.msg_controllen = CMSG_SPACE(sizeof p->src.v4);
        } else {
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof p->src.v6);
            memcpy(CMSG_DATA(c), &p->src.v6, sizeof p->src.v6);
            mh.msg_controllen = CMSG_SPACE(sizeof p->src.v6);
        }
    }
    bool bad = misbehaves();
    iov.iov_len = build_reply(&p->req, t2_ns, buf, !bad);
    int fd = bad && o.wrong_port ? p->l->alt_fd : p->l->fd;
    if (sendmsg(fd, &mh, 0) < 0 && o.log) printf("send failed: %s\n", strerror(errno));
    if (bad && o.then_good) {
        iov.iov_len = build_reply(&p->req, t2_ns, buf, true);
        sendmsg(p->l->fd, &mh, 0);
    }
}

static void on_delayed(struct evloop *l, void *arg)
{
    (void)l;
    struct pending *p = arg;
    send_one(p, p->t2_ns);
    if (p->prev) p->prev->next = p->next;
    else delayed = p->next;
    if (p->next) p->next->prev = p->prev;
    free(p);
}

static int64_t random_delay(void)
{
    if (!o.delay_random_us) return o.delay_us;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) < 0) r = 0;
    return o.delay_us + (int64_t)(r % (uint64_t)(o.delay_random_us + 1));
}

static void on_readable(struct evloop *l, int fd, unsigned events, void *arg)
{
    (void)l;
    (void)events;
    struct listener *lst = arg;
    struct mmsghdr msgs[BATCH];
    uint8_t bufs[BATCH][128];
    struct iovec iovs[BATCH];
    struct sockaddr_storage from[BATCH];
    char cbufs[BATCH][CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct timespec)) + 64];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iovs[i] = (struct iovec){bufs[i], sizeof bufs[i]};
        msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iovs[i],
                                          .msg_iovlen = 1, .msg_control = cbufs[i], .msg_controllen = sizeof cbufs[i]};
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    int64_t now = now_ns();
    for (int i = 0; i < n; i++) {
        requests++;
        int64_t t2 = now; /* the kernel's arrival time when it gives one: our own scheduling delay must not bias it */
        if (msgs[i].msg_len < NTP_PACKET_LEN) continue;
        struct pending p = {.l = lst, .to_len = msgs[i].msg_hdr.msg_namelen};
        memcpy(&p.to, &from[i], sizeof p.to);
        ntp_packet_decode(bufs[i], &p.req);
        if (p.req.mode != NTP_MODE_CLIENT) continue;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                memcpy(&p.src.v4, CMSG_DATA(c), sizeof p.src.v4);
                p.have_src = true;
            } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                memcpy(&p.src.v6, CMSG_DATA(c), sizeof p.src.v6);
                p.have_src = true;
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof ts);
                t2 = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            }
        }
        if (o.log) {
            struct netaddr a;
            char ip[NETADDR_STRLEN];
            netaddr_from_sockaddr((struct sockaddr *)&from[i], &a);
            netaddr_format(&a, ip);
            printf("request %llu from %s\n", (unsigned long long)requests, ip);
        }
        if (o.no_reply || (o.drop_every && requests % (uint64_t)o.drop_every == 0)) continue;
        int64_t delay = random_delay();
        if (delay > 0) {
            struct pending *d = xmalloc(sizeof *d);
            *d = p;
            d->t2_ns = t2;
            d->prev = NULL;
            d->next = delayed;
            if (delayed) delayed->prev = d;
            delayed = d;
            evloop_timer_init(&d->timer, on_delayed, d);
            evloop_timer_start(loop, &d->timer, delay);
        } else {
            send_one(&p, t2);
        }
    }
}

static void on_signal(struct evloop *l, int signo, void *arg)
{
    (void)signo;
    (void)arg;
    evloop_stop(l);
}

static int open_listener(const char *spec, struct listener *l)
{
    char host[NETADDR_STRLEN + 2];
    const char *port_s;
    if (spec[0] == '[') {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host) return -1;
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = '\0';
        port_s = rb + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host) return -1;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port_s = colon + 1;
    }
    struct netaddr a;
    int port = atoi(port_s);
    if (netaddr_parse(host, &a) < 0 || port < 1 || port > 65535) return -1;
    struct sockaddr_storage ss;
    socklen_t sl = netaddr_to_sockaddr(&a, (uint16_t)port, &ss);
    l->family = a.family;
    l->fd = socket(a.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (a.family == AF_INET6) setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (a.family == AF_INET) setsockopt(l->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    else setsockopt(l->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    setsockopt(l->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    int big = 4 << 20;
    setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&ss, sl) < 0) {
        fprintf(stderr, "ntp-fake: cannot bind %s: %s\n", spec, strerror(errno));
        return -1;
    }
    l->alt_fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_storage alt;
    socklen_t al = netaddr_to_sockaddr(&a, 0, &alt);
    if (l->alt_fd < 0 || bind(l->alt_fd, (struct sockaddr *)&alt, al) < 0) {
        /* a wildcard address can't be reused with port 0 on some stacks; fall back to any */
        if (l->alt_fd >= 0) close(l->alt_fd);
        l->alt_fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    }
    return evloop_fd_set(loop, l->fd, EVLOOP_READ, on_readable, l);
}

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&o.common), specs, NULL};
    const struct opt_program prog = {.name = "ntp-fake", .usage = "--listen ADDR:PORT… [misbehaviour flags]",
                                     .description = "A misbehaving NTP server for tests and benchmarks.",
                                     .groups = groups};
    int first = opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &o.common);
    if (first < argc) opts_usage_error(&prog, "unexpected argument '%s'", argv[first]);
    if (o.listen.n == 0) opts_usage_error(&prog, "--listen ADDR:PORT is required");
    if (o.kod && (strlen(o.kod) < 1 || strlen(o.kod) > 4)) opts_usage_error(&prog, "--kod takes 1 to 4 characters");
    refid_value = parse_refid(o.kod ? o.kod : o.refid ? o.refid : o.stratum <= 1 ? "GPS" : "192.0.2.1");
    setvbuf(stdout, NULL, _IOLBF, 0);
    loop = evloop_new();
    struct listener *ls = xcalloc(o.listen.n, sizeof *ls);
    for (size_t i = 0; i < o.listen.n; i++)
        if (open_listener(o.listen.items[i], &ls[i]) < 0) opts_usage_error(&prog, "cannot listen on '%s'", o.listen.items[i]);
    evloop_signal(loop, SIGTERM, on_signal, NULL);
    evloop_signal(loop, SIGINT, on_signal, NULL);
    printf("listening on %zu address(es)\n", o.listen.n);
    evloop_run(loop);
    printf("served %llu request(s)\n", (unsigned long long)requests);
    for (size_t i = 0; i < o.listen.n; i++) {
        close(ls[i].fd);
        if (ls[i].alt_fd >= 0) close(ls[i].alt_fd);
    }
    while (delayed) {
        struct pending *p = delayed;
        delayed = p->next;
        evloop_timer_stop(loop, &p->timer);
        free(p);
    }
    free(ls);
    free(o.listen.items);
    evloop_free(loop);
    return 0;
}
