/* hostport.c — "host[:port]", "[v6][:port]" and bare IPv6 literals. */
#include "hostport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char err[HOSTPORT_ERR_LEN], const char *why)
{
    snprintf(err, HOSTPORT_ERR_LEN, "%s", why);
    return -1;
}

int hostport_parse(const char *text, size_t len, uint16_t default_port, char *host, size_t host_len, uint16_t *port,
                   char err[HOSTPORT_ERR_LEN])
{
    const char *end = text + len;
    const char *hs = text, *he, *ps = NULL;
    if (len > 0 && text[0] == '[') {
        const char *rb = memchr(text, ']', len);
        if (!rb) return fail(err, "unterminated '[' in the host");
        hs = text + 1;
        he = rb;
        if (rb + 1 < end) {
            if (rb[1] != ':') return fail(err, "expected ':' after ']'");
            ps = rb + 2;
        }
        if (memchr(hs, ':', (size_t)(he - hs)) == NULL) return fail(err, "only an IPv6 address goes in brackets");
    } else {
        const char *colon = memchr(text, ':', len);
        if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) { /* a bare IPv6 literal: no port */
            he = end;
        } else {
            he = colon ? colon : end;
            if (colon) ps = colon + 1;
        }
    }
    if (he == hs) return fail(err, "the host is empty");
    if ((size_t)(he - hs) >= host_len) return fail(err, "the host is too long");
    if (memchr(hs, '[', (size_t)(he - hs)) || memchr(hs, ']', (size_t)(he - hs)))
        return fail(err, "a '[' or ']' out of place in the host");
    uint16_t p = default_port;
    if (ps) {
        char digits[8];
        size_t n = (size_t)(end - ps);
        if (n == 0 || n >= sizeof digits) return fail(err, "port must be 1..65535");
        memcpy(digits, ps, n);
        digits[n] = '\0';
        char *e;
        errno = 0;
        long v = strtol(digits, &e, 10);
        if (errno || *e || digits[0] < '0' || digits[0] > '9' || v < 1 || v > 65535)
            return fail(err, "port must be 1..65535");
        p = (uint16_t)v;
    }
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = p;
    return 0;
}
