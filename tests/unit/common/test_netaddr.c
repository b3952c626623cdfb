/* test_netaddr.c — address parsing, the never-probe ranges, and prefix comparison for the selector's rules. */
#include "netaddr.h"
#include "unit.h"

enum { LOOP = NETADDR_ALLOW_LOOPBACK, DOC = NETADDR_ALLOW_DOCUMENTATION };

static const char *why(const char *text, unsigned allow)
{
    struct netaddr a;
    if (netaddr_parse(text, &a) < 0) return "unparsable";
    const char *r = netaddr_forbidden_reason(&a, allow);
    return r ? r : "ok";
}

TEST(parse_and_format)
{
    struct netaddr a;
    char s[NETADDR_STRLEN];
    CHECK_INT(netaddr_parse("2001:DB8:0:0::1", &a), 0);
    netaddr_format(&a, s);
    CHECK_STR(s, "2001:db8::1");
    CHECK_INT(netaddr_version(&a), 6);
    CHECK_INT(netaddr_parse("192.0.2.1", &a), 0);
    CHECK_INT(netaddr_version(&a), 4);
    CHECK_INT(netaddr_parse("192.0.2", &a), -1);
    CHECK_INT(netaddr_parse("pool.ntp.org", &a), -1);
    CHECK_INT(netaddr_parse("[::1]", &a), -1);
    CHECK_INT(netaddr_parse("fe80::1%eth0", &a), -1);
}

TEST(forbidden_ranges)
{
    CHECK_STR(why("8.8.8.8", 0), "ok");
    CHECK_STR(why("198.18.0.1", 0), "ok");
    CHECK_STR(why("2a00:1450::1", 0), "ok");
    CHECK_STR(why("2001:2::1", 0), "ok");
    CHECK_STR(why("127.0.0.1", 0), "loopback");
    CHECK_STR(why("127.0.0.2", LOOP), "ok");
    CHECK_STR(why("::1", 0), "loopback");
    CHECK_STR(why("::1", LOOP), "ok");
    CHECK_STR(why("10.1.2.3", LOOP), "private");
    CHECK_STR(why("172.16.0.1", 0), "private");
    CHECK_STR(why("172.32.0.1", 0), "ok");
    CHECK_STR(why("192.168.1.1", 0), "private");
    CHECK_STR(why("100.64.0.1", 0), "private");
    CHECK_STR(why("fd00::1", 0), "private");
    CHECK_STR(why("169.254.1.1", 0), "link-local");
    CHECK_STR(why("fe80::1", 0), "link-local");
    CHECK_STR(why("224.0.0.1", 0), "multicast");
    CHECK_STR(why("239.255.255.250", 0), "multicast");
    CHECK_STR(why("ff02::1", 0), "multicast");
    CHECK_STR(why("0.0.0.0", 0), "unspecified");
    CHECK_STR(why("::", 0), "unspecified");
    CHECK_STR(why("255.255.255.255", 0), "broadcast");
    CHECK_STR(why("240.0.0.1", 0), "reserved");
    CHECK_STR(why("::ffff:10.0.0.1", 0), "private");
    CHECK_STR(why("::ffff:127.0.0.1", LOOP), "ok");
}

TEST(documentation_and_embedded)
{
    CHECK_STR(why("192.0.2.1", 0), "documentation");
    CHECK_STR(why("198.51.100.7", LOOP), "documentation");
    CHECK_STR(why("203.0.113.255", 0), "documentation");
    CHECK_STR(why("203.0.114.1", 0), "ok");
    CHECK_STR(why("2001:db8::1", 0), "documentation");
    CHECK_STR(why("3fff:123::1", 0), "documentation");
    CHECK_STR(why("192.0.0.8", 0), "reserved");
    CHECK_STR(why("100::1", 0), "reserved");
    CHECK_STR(why("100.127.255.255", 0), "private"); /* CGNAT */
    CHECK_STR(why("100.128.0.1", 0), "ok");
    /* v4-mapped and v4-compatible */
    CHECK_STR(why("::ffff:192.168.1.1", 0), "private");
    CHECK_STR(why("::ffff:8.8.8.8", 0), "ok");
    CHECK_STR(why("::10.0.0.1", 0), "private");
    CHECK_STR(why("::ffff:192.0.2.1", 0), "documentation");
    /* NAT64 well-known and local-use prefixes */
    CHECK_STR(why("64:ff9b::10.0.0.1", 0), "private");
    CHECK_STR(why("64:ff9b::127.0.0.1", 0), "loopback");
    CHECK_STR(why("64:ff9b::8.8.8.8", 0), "ok");
    CHECK_STR(why("64:ff9b:1::a9fe:1", 0), "link-local");
    /* 6to4 and Teredo */
    CHECK_STR(why("2002:c0a8:0101::1", 0), "private");     /* 192.168.1.1 */
    CHECK_STR(why("2002:0808:0808::1", 0), "ok");          /* 8.8.8.8 */
    CHECK_STR(why("2001:0:4136:e378:8000:63bf:f5ff:fffe", 0), "private"); /* client 10.0.0.1 */
    CHECK_STR(why("2001:0:4136:e378:8000:63bf:f7f7:f7f7", 0), "ok");      /* client 8.8.8.8 */
    /* :: and ::1 stay IPv6 */
    CHECK_STR(why("::", 0), "unspecified");
    CHECK_STR(why("::1", LOOP), "ok");
}

/* --allow-documentation-nets (labs and tests): the documentation ranges in every spelling, nothing else. */
TEST(documentation_flag)
{
    static const char *const doc[] = {"192.0.2.1", "192.0.2.255", "198.51.100.1", "203.0.113.254", "2001:db8::1",
                                      "2001:db8:ffff::2", "3fff::1", "::ffff:192.0.2.1", "64:ff9b::198.51.100.9",
                                      "2002:cb00:7101::1" /* 6to4 of 203.0.113.1 */};
    for (size_t i = 0; i < sizeof doc / sizeof doc[0]; i++) {
        CHECK_STR(why(doc[i], 0), "documentation");    /* production: refused */
        CHECK_STR(why(doc[i], LOOP), "documentation"); /* --allow-loopback does not open them */
        CHECK_STR(why(doc[i], DOC), "ok");
        CHECK_STR(why(doc[i], DOC | LOOP), "ok");
    }
    /* the documentation flag opens nothing else */
    static const struct {
        const char *ip, *reason;
    } others[] = {
        {"127.0.0.1", "loopback"},      {"::1", "loopback"},           {"::ffff:127.0.0.1", "loopback"},
        {"10.1.2.3", "private"},        {"172.16.0.1", "private"},     {"192.168.1.1", "private"},
        {"100.64.0.1", "private"},      {"fd00::1", "private"},        {"fec0::1", "private"},
        {"169.254.1.1", "link-local"},  {"fe80::1", "link-local"},     {"224.0.0.1", "multicast"},
        {"ff02::1", "multicast"},       {"0.0.0.0", "unspecified"},    {"::", "unspecified"},
        {"255.255.255.255", "broadcast"}, {"240.0.0.1", "reserved"},   {"192.0.0.8", "reserved"},
        {"100::1", "reserved"},         {"::ffff:10.0.0.1", "private"}, {"64:ff9b::100.64.0.1", "private"},
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        CHECK_STR(why(others[i].ip, DOC), others[i].reason);
        CHECK_STR(why(others[i].ip, 0), others[i].reason);
    }
    /* neighbours of the documentation ranges stay as they were */
    CHECK_STR(why("192.0.3.1", DOC), "ok");
    CHECK_STR(why("198.51.101.1", DOC), "ok");
    CHECK_STR(why("2001:db9::1", DOC), "ok");
    /* loopback with both flags */
    CHECK_STR(why("127.0.0.1", DOC | LOOP), "ok");
    CHECK_STR(why("10.1.2.3", DOC | LOOP), "private");
}

TEST(prefixes)
{
    struct netaddr a, b;
    netaddr_parse("198.51.100.7", &a);
    netaddr_parse("198.51.100.200", &b);
    CHECK(netaddr_same_prefix(&a, &b, 24));
    netaddr_parse("198.51.101.1", &b);
    CHECK(!netaddr_same_prefix(&a, &b, 24));
    CHECK(netaddr_same_prefix(&a, &b, 20));
    netaddr_parse("198.51.112.1", &b);
    CHECK(!netaddr_same_prefix(&a, &b, 20));
    netaddr_parse("2001:db8:1:2::1", &a);
    netaddr_parse("2001:db8:1:ffff::1", &b);
    CHECK(netaddr_same_prefix(&a, &b, 48));
    netaddr_parse("2001:db8:2::1", &b);
    CHECK(!netaddr_same_prefix(&a, &b, 48));
    CHECK(netaddr_same_prefix(&a, &b, 44));
    netaddr_parse("2001:db8:10::1", &b);
    CHECK(!netaddr_same_prefix(&a, &b, 44));
    netaddr_parse("198.51.100.7", &b);
    CHECK(!netaddr_same_prefix(&a, &b, 0)); /* different families never match */
}

TEST(prefix_and_listen)
{
    struct netaddr a;
    unsigned bits;
    CHECK_INT(netaddr_parse_prefix("10.0.0.0/8", &a, &bits), 0);
    CHECK_INT(bits, 8);
    CHECK_INT(netaddr_parse_prefix("2001:db8::/32", &a, &bits), 0);
    CHECK_INT(bits, 32);
    CHECK_INT(netaddr_parse_prefix("192.0.2.7", &a, &bits), 0);
    CHECK_INT(bits, 32);
    CHECK_INT(netaddr_parse_prefix("::1", &a, &bits), 0);
    CHECK_INT(bits, 128);
    CHECK_INT(netaddr_parse_prefix("10.0.0.0/33", &a, &bits), -1);
    CHECK_INT(netaddr_parse_prefix("10.0.0.0/", &a, &bits), -1);
    CHECK_INT(netaddr_parse_prefix("example.org/8", &a, &bits), -1);
    char text[NETADDR_STRLEN];
    netaddr_parse("::ffff:192.0.2.9", &a);
    netaddr_unmap(&a);
    netaddr_format(&a, text);
    CHECK_STR(text, "192.0.2.9");
    netaddr_parse("2001:db8::9", &a);
    netaddr_unmap(&a);
    netaddr_format(&a, text);
    CHECK_STR(text, "2001:db8::9");
    struct sockaddr_storage ss;
    socklen_t len;
    uint16_t port = 0;
    char err[128];
    CHECK_INT(netaddr_parse_listen("127.0.0.1:8095", &ss, &len, &port, err, sizeof err), 0);
    CHECK_INT(ss.ss_family, AF_INET);
    CHECK_INT(port, 8095);
    CHECK_INT(netaddr_parse_listen("[::1]:8095", &ss, &len, &port, err, sizeof err), 0);
    CHECK_INT(ss.ss_family, AF_INET6);
    CHECK_INT(netaddr_parse_listen(":80", &ss, &len, &port, err, sizeof err), 0);
    CHECK_INT(netaddr_parse_listen("127.0.0.1", &ss, &len, &port, err, sizeof err), -1);
    CHECK_CONTAINS(err, "ADDR:PORT");
    CHECK_INT(netaddr_parse_listen("127.0.0.1:0", &ss, &len, &port, err, sizeof err), -1);
    CHECK_INT(netaddr_parse_listen("localhost:80", &ss, &len, &port, err, sizeof err), -1);
    CHECK_CONTAINS(err, "not an IP address");
    CHECK_INT(netaddr_parse_listen("::1:80", &ss, &len, &port, err, sizeof err), -1);
}

int main(void)
{
    RUN(parse_and_format);
    RUN(forbidden_ranges);
    RUN(documentation_and_embedded);
    RUN(documentation_flag);
    RUN(prefixes);
    RUN(prefix_and_listen);
    return unit_done();
}
