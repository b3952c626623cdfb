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
/* What netaddr_forbidden_reason lets through besides public unicast: OR them; production passes 0. */
enum netaddr_allow {
    NETADDR_ALLOW_LOOPBACK = 1u << 0,      /* 127.0.0.0/8 and ::1 (tests, demo) */
    NETADDR_ALLOW_DOCUMENTATION = 1u << 1, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20 (labs) */
};
/* Why the address must not be probed ("loopback", "private" (also CGNAT 100.64/10), "link-local", "multicast",
 * "unspecified", "documentation", "reserved", "broadcast"), or NULL when it may be; allow (NETADDR_ALLOW_* bits) lets
 * the loopback or documentation ranges through and nothing else. IPv6 forms carrying an IPv4 address (v4-mapped,
 * v4-compatible, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, 6to4, Teredo) are judged as that IPv4 address. Agent, web
 * gateway and ntpmonctl share it. */
const char *netaddr_forbidden_reason(const struct netaddr *a, unsigned allow);
/* Turns an IPv4-mapped IPv6 address (::ffff:a.b.c.d) into the IPv4 address; others stay as they are. */
void netaddr_unmap(struct netaddr *a);
/* True when both are the same family and agree on the first prefix_bits bits. */
bool netaddr_same_prefix(const struct netaddr *a, const struct netaddr *b, unsigned prefix_bits);
/* Parses "ADDR/BITS" (or a bare address: all its bits) into an address and a prefix length; 0 or -1. */
int netaddr_parse_prefix(const char *text, struct netaddr *out, unsigned *bits);
/* Parses a listen address "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (every IPv4 address) into a socket address and
 * its port; 0, or -1 with a one-line reason in err. */
int netaddr_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, uint16_t *port, char *err,
                         size_t err_len);
/* Fills a sockaddr for a UDP destination; returns its length. */
socklen_t netaddr_to_sockaddr(const struct netaddr *a, uint16_t port, struct sockaddr_storage *ss);
/* The address of a sockaddr. */
void netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out);

#endif
