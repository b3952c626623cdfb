/* netwatch.c — getifaddrs scans, triggered by an rtnetlink subscription (debounced) and a periodic timer. When the
 * netlink socket is not available (some containers), the timer alone keeps it current. */
#include "netwatch.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "xalloc.h"

struct netwatch {
    struct evloop *loop;
    int64_t interval_us;
    netwatch_fn fn;
    void *arg;
    int nl;
    bool v4, v6;
    struct evloop_timer periodic, debounce;
};

void netwatch_scan(bool *ipv4, bool *ipv6)
{
    *ipv4 = *ipv6 = false;
    struct ifaddrs *list;
    if (getifaddrs(&list) < 0) return;
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
        if (i->ifa_addr->sa_family == AF_INET) {
            const uint8_t *b = (const uint8_t *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr;
            if (b[0] != 127 && !(b[0] == 169 && b[1] == 254) && b[0] != 0) *ipv4 = true;
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const uint8_t *b = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr;
            if ((b[0] & 0xe0) == 0x20) *ipv6 = true;
        }
    }
    freeifaddrs(list);
}

static void rescan(struct netwatch *nw)
{
    bool v4, v6;
    netwatch_scan(&v4, &v6);
    if (v4 == nw->v4 && v6 == nw->v6) return;
    LOG(INFO, "network: IPv4 %s, IPv6 %s", v4 ? "available" : "not available", v6 ? "available" : "not available");
    nw->v4 = v4;
    nw->v6 = v6;
    if (nw->fn) nw->fn(v4, v6, nw->arg);
}

static void on_periodic(struct evloop *loop, void *arg)
{
    struct netwatch *nw = arg;
    rescan(nw);
    evloop_timer_start(loop, &nw->periodic, nw->interval_us);
}

static void on_debounce(struct evloop *loop, void *arg)
{
    (void)loop;
    rescan(arg);
}

static void on_netlink(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)events;
    struct netwatch *nw = arg;
    char buf[8192];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
    /* a burst of events (an interface coming up) ends in one scan */
    if (!evloop_timer_active(&nw->debounce)) evloop_timer_start(loop, &nw->debounce, 300000);
}

struct netwatch *netwatch_new(struct evloop *loop, int64_t interval_us, netwatch_fn fn, void *arg)
{
    struct netwatch *nw = xcalloc(1, sizeof *nw);
    nw->loop = loop;
    nw->interval_us = interval_us;
    nw->fn = fn;
    nw->arg = arg;
    netwatch_scan(&nw->v4, &nw->v6);
    evloop_timer_init(&nw->periodic, on_periodic, nw);
    evloop_timer_init(&nw->debounce, on_debounce, nw);
    evloop_timer_start(loop, &nw->periodic, interval_us);
    nw->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK,
                             .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR};
    if (nw->nl >= 0 && (bind(nw->nl, (struct sockaddr *)&sa, sizeof sa) < 0 ||
                        evloop_fd_set(loop, nw->nl, EVLOOP_READ, on_netlink, nw) < 0)) {
        LOG(INFO, "network: no netlink events (%s); re-checking addresses every %.0f s", strerror(errno),
            interval_us / 1e6);
        close(nw->nl);
        nw->nl = -1;
    }
    return nw;
}

void netwatch_free(struct netwatch *nw)
{
    if (!nw) return;
    evloop_timer_stop(nw->loop, &nw->periodic);
    evloop_timer_stop(nw->loop, &nw->debounce);
    if (nw->nl >= 0) {
        evloop_fd_remove(nw->loop, nw->nl);
        close(nw->nl);
    }
    free(nw);
}

void netwatch_get(const struct netwatch *nw, bool *ipv4, bool *ipv6)
{
    *ipv4 = nw->v4;
    *ipv6 = nw->v6;
}
