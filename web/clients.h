/* clients.h — what ntpmon-web knows about each client address: open connections, event streams and checks in
 * flight, and its token buckets (API requests, new checks). IPv4 clients are keyed by address, IPv6 clients by
 * their /64 (one subscriber's network), so rotating addresses inside a prefix buys nothing. Idle entries are
 * forgotten. Also the token bucket itself, used for per-client and global limits. */
#ifndef NTPMON_WEB_CLIENTS_H
#define NTPMON_WEB_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"

/* A token bucket: `rate` tokens a second, at most `burst` saved up. */
struct bucket {
    double tokens;
    int64_t last_us; /* 0: never used (full) */
};
/* Takes one token; returns 0, or how long until one is there (µs, > 0) when the bucket is empty. */
int64_t bucket_take(struct bucket *b, double rate, double burst, int64_t now_us);

struct client {
    struct netaddr key;   /* the address, IPv6 cut to its /64 */
    char text[NETADDR_STRLEN + 4]; /* for logs: "192.0.2.7" or "2001:db8:1:2::/64" */
    int conns;            /* TCP connections from this address (not counted behind a trusted proxy) */
    int streams;          /* open event streams */
    int checks;           /* checks in flight */
    int requests;         /* requests being handled (keeps the entry alive while a request points at it) */
    struct bucket api, check;
    int64_t last_us;      /* last use (monotonic) */
};

struct clients;
struct clients *clients_new(void);
void clients_free(struct clients *c);
/* The entry of an address (created on first use; never NULL). Valid while any of its counters is non-zero, or
 * until the next clients_expire. */
struct client *clients_get(struct clients *c, const struct netaddr *addr, int64_t now_us);
/* Looks an address up without creating it; NULL when unknown. */
struct client *clients_find(struct clients *c, const struct netaddr *addr);
/* Forgets entries with nothing open that were last used before idle_before_us. Returns how many. */
size_t clients_expire(struct clients *c, int64_t idle_before_us);
size_t clients_count(const struct clients *c);

#endif
