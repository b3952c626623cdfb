/* netaddr.h — IPv4/IPv6 addresses: parsing to canonical text, the ranges an agent must never probe, and
 * prefix comparison (the selector's /24, /48, /20, /44 network rules). */
#ifndef NTPMON_NETADDR_H
#define NTPMON_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define NETADDR_STRLEN 46

struct netaddr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
};

/* Parses a literal IPv4 or IPv6 address (no names, no brackets, no zone); 0 on success, -1 otherwise. */
int netaddr_parse(const char *text, struct netaddr *out);
/* Canonical text (inet_ntop). */
void netaddr_format(const struct netaddr *a, char out[NETADDR_STRLEN]);
/* 4 or 6. */
int netaddr_version(const struct netaddr *a);
/* Why the address must not be probed ("loopback", "private", "link-local", "multicast", "unspecified",
 * "reserved", "broadcast"), or NULL when it may be. allow_loopback lets 127.0.0.0/8 and ::1 through (tests, demo).
 * IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry. */
const char *netaddr_forbidden_reason(const struct netaddr *a, bool allow_loopback);
/* True when both are the same family and agree on the first prefix_bits bits. */
bool netaddr_same_prefix(const struct netaddr *a, const struct netaddr *b, unsigned prefix_bits);
/* Fills a sockaddr for a UDP destination; returns its length. */
socklen_t netaddr_to_sockaddr(const struct netaddr *a, uint16_t port, struct sockaddr_storage *ss);
/* The address of a sockaddr. */
void netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out);

#endif
