/* netaddr.c — address parsing and classification; the list of never-probe ranges lives here only. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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
};

static bool in_range(const uint8_t *bytes, const struct range *r)
{
    unsigned full = r->bits / 8, rem = r->bits % 8;
    if (memcmp(bytes, r->prefix, full) != 0) return false;
    if (rem == 0) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rem));
    return (bytes[full] & mask) == (r->prefix[full] & mask);
}

static const struct range v4_forbidden[] = {
    {{0}, 8, "unspecified"},          /* 0.0.0.0/8 "this network" */
    {{10}, 8, "private"},
    {{100, 64}, 10, "private"},       /* carrier-grade NAT shared space */
    {{127}, 8, "loopback"},
    {{169, 254}, 16, "link-local"},
    {{172, 16}, 12, "private"},
    {{192, 168}, 16, "private"},
    {{224}, 4, "multicast"},
    {{255, 255, 255, 255}, 32, "broadcast"},
    {{240}, 4, "reserved"},
};

static const struct range v6_forbidden[] = {
    {{0}, 128, "unspecified"},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback"},
    {{0xfc}, 7, "private"},           /* unique local */
    {{0xfe, 0x80}, 10, "link-local"},
    {{0xfe, 0xc0}, 10, "private"},    /* deprecated site-local */
    {{0xff}, 8, "multicast"},
};

const char *netaddr_forbidden_reason(const struct netaddr *a, bool allow_loopback)
{
    const uint8_t *b = a->bytes;
    if (a->family == AF_INET6) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) == 0) {
            struct netaddr v4 = {.family = AF_INET};
            memcpy(v4.bytes, b + 12, 4);
            return netaddr_forbidden_reason(&v4, allow_loopback);
        }
        for (size_t i = 0; i < sizeof v6_forbidden / sizeof v6_forbidden[0]; i++) {
            if (in_range(b, &v6_forbidden[i])) {
                if (allow_loopback && strcmp(v6_forbidden[i].reason, "loopback") == 0) return NULL;
                return v6_forbidden[i].reason;
            }
        }
        return NULL;
    }
    for (size_t i = 0; i < sizeof v4_forbidden / sizeof v4_forbidden[0]; i++) {
        if (in_range(b, &v4_forbidden[i])) {
            if (allow_loopback && strcmp(v4_forbidden[i].reason, "loopback") == 0) return NULL;
            return v4_forbidden[i].reason;
        }
    }
    return NULL;
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
