/* hostport.h — the one "host[:port]" parser (MQTT URLs, the DSN's tcp(…), clock references): a name or IPv4
 * address with an optional ":port", an IPv6 literal in brackets with an optional ":port", or a bare IPv6 literal
 * (two colons or more, no port: as Go's net.SplitHostPort/JoinHostPort treat the DSN's tcp(::1)). */
#ifndef NTPMON_HOSTPORT_H
#define NTPMON_HOSTPORT_H

#include <stddef.h>
#include <stdint.h>

#define HOSTPORT_ERR_LEN 96

/* Parses the first len bytes of text. The port stays default_port when none is given; an empty host is refused.
 * 0, or -1 with the reason in err ("port must be 1..65535", …; never echoes the text). */
int hostport_parse(const char *text, size_t len, uint16_t default_port, char *host, size_t host_len, uint16_t *port,
                   char err[HOSTPORT_ERR_LEN]);

#endif
