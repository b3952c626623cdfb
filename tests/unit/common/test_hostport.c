/* test_hostport.c — the one host[:port] parser (MQTT URLs, the DSN's tcp(…), clock references). */
#include <string.h>

#include "hostport.h"
#include "unit.h"

static int parse(const char *text, char *host, uint16_t *port, char *err)
{
    return hostport_parse(text, strlen(text), 123, host, 64, port, err);
}

TEST(forms)
{
    char host[64], err[HOSTPORT_ERR_LEN];
    uint16_t port;
    CHECK_INT(parse("db.example", host, &port, err), 0);
    CHECK_STR(host, "db.example");
    CHECK_INT(port, 123);
    CHECK_INT(parse("192.0.2.1:3307", host, &port, err), 0);
    CHECK_STR(host, "192.0.2.1");
    CHECK_INT(port, 3307);
    CHECK_INT(parse("[2001:db8::1]:8883", host, &port, err), 0);
    CHECK_STR(host, "2001:db8::1");
    CHECK_INT(port, 8883);
    CHECK_INT(parse("[::1]", host, &port, err), 0);
    CHECK_STR(host, "::1");
    CHECK_INT(port, 123);
    CHECK_INT(parse("time.example.org:5123", host, &port, err), 0);
    CHECK_STR(host, "time.example.org");
    CHECK_INT(port, 5123);
    CHECK_INT(parse("2001:db8::1", host, &port, err), 0); /* bare IPv6: no port */
    CHECK_STR(host, "2001:db8::1");
    CHECK_INT(port, 123);
    /* only len bytes count */
    CHECK_INT(hostport_parse("h:80)/db", 4, 1, host, sizeof host, &port, err), 0);
    CHECK_STR(host, "h");
    CHECK_INT(port, 80);
}

TEST(errors)
{
    char host[8], err[HOSTPORT_ERR_LEN];
    uint16_t port = 7;
    CHECK_INT(parse("", host, &port, err), -1);
    CHECK_STR(err, "the host is empty");
    CHECK_INT(parse(":80", host, &port, err), -1);
    CHECK_STR(err, "the host is empty");
    CHECK_INT(parse("h:0", host, &port, err), -1);
    CHECK_STR(err, "port must be 1..65535");
    CHECK_INT(parse("h:65536", host, &port, err), -1);
    CHECK_INT(parse("h:", host, &port, err), -1);
    CHECK_INT(parse("h:+80", host, &port, err), -1);
    CHECK_INT(parse("h:8x", host, &port, err), -1);
    CHECK_INT(parse("[::1", host, &port, err), -1);
    CHECK_CONTAINS(err, "unterminated");
    CHECK_INT(parse("[::1]80", host, &port, err), -1);
    CHECK_CONTAINS(err, "after ']'");
    CHECK_INT(parse("[host]:80", host, &port, err), -1);
    CHECK_CONTAINS(err, "IPv6");
    CHECK_INT(parse("a]b:1", host, &port, err), -1);
    CHECK_INT(hostport_parse("averylonghost", 13, 1, host, sizeof host, &port, err), -1);
    CHECK_STR(err, "the host is too long");
    CHECK_INT(port, 7); /* untouched on failure */
}

int main(void)
{
    RUN(forms);
    RUN(errors);
    return unit_done();
}
