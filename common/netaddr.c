/* netaddr.c — address parsing and classification; the list of never-probe ranges lives here only. */
#include "netaddr.h"

#include "hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int netaddr_parse(const char *text, struct netaddr *out)
{
    memset(out, 0, sizeof *out);
    if (!text) return -1;
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->bytes) == 1) {
        out->family = AF_INET6;
        return 0;
    }
    return -1;
}

void netaddr_format(const struct netaddr *a, char out[NETADDR_STRLEN])
{
    if (!inet_ntop(a->family, a->bytes, out, NETADDR_STRLEN)) out[0] = '\0';
}

int netaddr_version(const struct netaddr *a) { return a->family == AF_INET6 ? 6 : 4; }

struct range {
    uint8_t prefix[16];
    unsigned bits;
    const char *reason;
    unsigned allowed_by; /* the NETADDR_ALLOW_* bit that lets this range through, or 0 */
};

static bool in_range(const uint8_t *bytes, const struct range *r)
{
    unsigned full = r->bits / 8, rem = r->bits % 8;
    if (memcmp(bytes, r->prefix, full) != 0) return false;
    if (rem == 0) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rem));
    return (bytes[full] & mask) == (r->prefix[full] & mask);
}

enum { DOC = NETADDR_ALLOW_DOCUMENTATION, LOOP = NETADDR_ALLOW_LOOPBACK };

static const struct range v4_forbidden[] = {
    {{0}, 8, "unspecified", 0},               /* 0.0.0.0/8 "this network" */
    {{10}, 8, "private", 0},
    {{100, 64}, 10, "private", 0},            /* carrier-grade NAT shared space (RFC 6598) */
    {{127}, 8, "loopback", LOOP},
    {{169, 254}, 16, "link-local", 0},
    {{172, 16}, 12, "private", 0},
    {{192, 0, 0}, 24, "reserved", 0},         /* IETF protocol assignments (RFC 6890) */
    {{192, 0, 2}, 24, "documentation", DOC},  /* TEST-NET-1 */
    {{192, 168}, 16, "private", 0},
    {{198, 51, 100}, 24, "documentation", DOC}, /* TEST-NET-2 */
    {{203, 0, 113}, 24, "documentation", DOC}, /* TEST-NET-3 */
    {{224}, 4, "multicast", 0},
    {{255, 255, 255, 255}, 32, "broadcast", 0},
    {{240}, 4, "reserved", 0},
};

static const struct range v6_forbidden[] = {
    {{0}, 128, "unspecified", 0},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback", LOOP},
    {{0x01}, 64, "reserved", 0},              /* 100::/64 discard-only (RFC 6666) */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation", DOC},
    {{0x3f, 0xff}, 20, "documentation", DOC}, /* 3fff::/20 (RFC 9637) */
    {{0xfc}, 7, "private", 0},                /* unique local */
    {{0xfe, 0x80}, 10, "link-local", 0},
    {{0xfe, 0xc0}, 10, "private", 0},         /* deprecated site-local */
    {{0xff}, 8, "multicast", 0},
};

/* IPv6 forms that carry an IPv4 address (RFC 4291, 6052, 8215, 3056, 4380): judged as the IPv4 address inside, so
 * a forbidden IPv4 target cannot be reached through its IPv6 spelling. Returns false for other addresses. */
static bool embedded_v4(const uint8_t *b, struct netaddr *v4)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t compat[12] = {0};                                        /* ::a.b.c.d (deprecated) */
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0}; /* 64:ff9b::/96 */
    static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};            /* 64:ff9b:1::/48 */
    v4->family = AF_INET;
    memset(v4->bytes, 0, sizeof v4->bytes);
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 || memcmp(b, nat64_local, 6) == 0 ||
        (memcmp(b, compat, 12) == 0 && (b[12] | b[13]) != 0)) { /* :: and ::1 stay IPv6 */
        memcpy(v4->bytes, b + 12, 4);
        return true;
    }
    if (b[0] == 0x20 && b[1] == 0x02) { /* 6to4: 2002:AABB:CCDD::/48 */
        memcpy(v4->bytes, b + 2, 4);
        return true;
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) { /* Teredo: the client's address, inverted */
        for (int i = 0; i < 4; i++) v4->bytes[i] = (uint8_t)~b[12 + i];
        return true;
    }
    return false;
}

const char *netaddr_forbidden_reason(const struct netaddr *a, unsigned allow)
{
    const uint8_t *b = a->bytes;
    const struct range *table = v4_forbidden;
    size_t n = sizeof v4_forbidden / sizeof v4_forbidden[0];
    if (a->family == AF_INET6) {
        struct netaddr v4;
        if (embedded_v4(b, &v4)) return netaddr_forbidden_reason(&v4, allow);
        table = v6_forbidden;
        n = sizeof v6_forbidden / sizeof v6_forbidden[0];
    }
    for (size_t i = 0; i < n; i++) {
        if (in_range(b, &table[i])) {
            return table[i].allowed_by & allow ? NULL : table[i].reason;
        }
    }
    return NULL;
}

void netaddr_unmap(struct netaddr *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a->family != AF_INET6 || memcmp(a->bytes, mapped, 12) != 0) return;
    a->family = AF_INET;
    memmove(a->bytes, a->bytes + 12, 4);
    memset(a->bytes + 4, 0, 12);
}

bool netaddr_same_prefix(const struct netaddr *a, const struct netaddr *b, unsigned prefix_bits)
{
    if (a->family != b->family) return false;
    unsigned max = a->family == AF_INET ? 32 : 128;
    if (prefix_bits > max) prefix_bits = max;
    struct range r = {.bits = prefix_bits};
    memcpy(r.prefix, b->bytes, 16);
    return in_range(a->bytes, &r);
}

int netaddr_parse_prefix(const char *text, struct netaddr *out, unsigned *bits)
{
    char addr[NETADDR_STRLEN + 8];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    if (n >= sizeof addr) return -1;
    memcpy(addr, text, n);
    addr[n] = '\0';
    if (netaddr_parse(addr, out) < 0) return -1;
    unsigned max = out->family == AF_INET ? 32 : 128;
    *bits = max;
    if (slash) {
        char *end;
        long b = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || b < 0 || b > (long)max) return -1;
        *bits = (unsigned)b;
    }
    return 0;
}

int netaddr_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, uint16_t *port_out, char *err,
                         size_t err_len)
{
    /* the split is the one host:port parser's; ":PORT" alone is every IPv4 address */
    const char *t = text ? text : "";
    char full[NETADDR_STRLEN + 16], host[NETADDR_STRLEN + 2], why[HOSTPORT_ERR_LEN];
    uint16_t port = 0;
    if (strlen(t) >= sizeof full - 8) {
        snprintf(err, err_len, "listen address '%.60s…' is too long", t);
        return -1;
    }
    snprintf(full, sizeof full, "%s%s", t[0] == ':' ? "0.0.0.0" : "", t);
    int rc = hostport_parse(full, strlen(full), 0, host, sizeof host, &port, why);
    if (rc < 0 && strstr(why, "port")) {
        snprintf(err, err_len, "listen address '%s' has an invalid port (1..65535)", t);
        return -1;
    }
    if (rc < 0 || port == 0) {
        snprintf(err, err_len, "listen address '%s' must be ADDR:PORT%s%s%s", t, rc < 0 ? " (" : "", rc < 0 ? why : "",
                 rc < 0 ? ")" : "");
        return -1;
    }
    struct netaddr a;
    if (netaddr_parse(host, &a) < 0) {
        snprintf(err, err_len, "listen address '%s' is not an IP address (IPv6 goes in brackets)", t);
        return -1;
    }
    *len = netaddr_to_sockaddr(&a, port, ss);
    *port_out = port;
    return 0;
}

socklen_t netaddr_to_sockaddr(const struct netaddr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, a->bytes, 4);
        return sizeof *sin;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    memcpy(&sin6->sin6_addr, a->bytes, 16);
    return sizeof *sin6;
}

void netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        out->family = AF_INET;
        memcpy(out->bytes, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else {
        out->family = AF_INET6;
        memcpy(out->bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    }
}
