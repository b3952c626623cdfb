/* netwatch.h — whether the host can probe over IPv4 and IPv6 (DESIGN.md §3): IPv4 is on while some interface that
 * is up has a non-loopback, non-link-local IPv4 address (NAT'd private addresses count: they reach the world),
 * IPv6 while one has a global unicast address (2000::/3). Re-checked on kernel address/link events (netlink) and
 * every --netwatch-interval. */
#ifndef NTPMON_AGENT_NETWATCH_H
#define NTPMON_AGENT_NETWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "evloop.h"

struct netwatch;
/* Called when either family changes. */
typedef void (*netwatch_fn)(bool ipv4, bool ipv6, void *arg);

/* Starts watching (scans once now). */
struct netwatch *netwatch_new(struct evloop *loop, int64_t interval_us, netwatch_fn fn, void *arg);
/* Stops watching. */
void netwatch_free(struct netwatch *nw);
/* The families usable as of the last scan. */
void netwatch_get(const struct netwatch *nw, bool *ipv4, bool *ipv6);
/* Scans the host's addresses now (pure read of getifaddrs). */
void netwatch_scan(bool *ipv4, bool *ipv6);

#endif
