/* ntp.c — NTP wire format and reply validation. The only place that converts between network byte order and
 * host values; everything else sees struct ntp_packet. Network input is never trusted: every check returns a
 * status, nothing here can crash on a hostile packet. */
#include "ntp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static struct ntp_ts get_ts(const uint8_t *p) { return (struct ntp_ts){get32(p), get32(p + 4)}; }

static void put_ts(uint8_t *p, struct ntp_ts ts)
{
    put32(p, ts.seconds);
    put32(p + 4, ts.fraction);
}

void ntp_packet_encode(const struct ntp_packet *p, uint8_t buf[NTP_PACKET_LEN])
{
    buf[0] = (uint8_t)((p->leap & 3) << 6 | (p->version & 7) << 3 | (p->mode & 7));
    buf[1] = (uint8_t)p->stratum;
    buf[2] = (uint8_t)(int8_t)p->poll;
    buf[3] = (uint8_t)(int8_t)p->precision;
    put32(buf + 4, p->root_delay);
    put32(buf + 8, p->root_dispersion);
    put32(buf + 12, p->refid);
    put_ts(buf + 16, p->reference);
    put_ts(buf + 24, p->origin);
    put_ts(buf + 32, p->receive);
    put_ts(buf + 40, p->transmit);
}

void ntp_packet_decode(const uint8_t buf[NTP_PACKET_LEN], struct ntp_packet *p)
{
    p->leap = buf[0] >> 6;
    p->version = (buf[0] >> 3) & 7;
    p->mode = buf[0] & 7;
    p->stratum = buf[1];
    p->poll = (int8_t)buf[2];
    p->precision = (int8_t)buf[3];
    p->root_delay = get32(buf + 4);
    p->root_dispersion = get32(buf + 8);
    p->refid = get32(buf + 12);
    p->reference = get_ts(buf + 16);
    p->origin = get_ts(buf + 24);
    p->receive = get_ts(buf + 32);
    p->transmit = get_ts(buf + 40);
}

const char *ntp_reply_status_str(enum ntp_reply_status status)
{
    switch (status) {
    case NTP_REPLY_OK: return "ok";
    case NTP_REPLY_SHORT: return "short packet";
    case NTP_REPLY_BAD_VERSION: return "bad version";
    case NTP_REPLY_BAD_MODE: return "not a server reply";
    case NTP_REPLY_BAD_ORIGIN: return "origin mismatch";
    case NTP_REPLY_ZERO_TRANSMIT: return "zero transmit timestamp";
    case NTP_REPLY_RECEIVE_AFTER_TRANSMIT: return "receive after transmit";
    }
    return "unknown";
}

void ntp_request_build(uint8_t buf[NTP_PACKET_LEN], struct ntp_ts *sent)
{
    struct ntp_packet req = {.leap = 0, .version = 4, .mode = NTP_MODE_CLIENT};
    uint32_t rnd[2] = {0, 0};
    for (int tries = 0; rnd[0] == 0 && rnd[1] == 0; tries++) { /* 0 means "none" on the wire: draw again */
        if (random_fill(rnd, sizeof rnd) < 0 || tries == 8) {
            /* the nonce is what keeps spoofed replies out: no request without one */
            fprintf(stderr, "ntpmon: no random bytes for an NTP request: %s\n", strerror(errno));
            abort();
        }
    }
    req.transmit = (struct ntp_ts){rnd[0], rnd[1]};
    ntp_packet_encode(&req, buf);
    *sent = req.transmit;
}

static uint64_t ts64(struct ntp_ts t) { return (uint64_t)t.seconds << 32 | t.fraction; }

bool ntp_ts_is_zero(struct ntp_ts ts) { return ts.seconds == 0 && ts.fraction == 0; }

enum ntp_reply_status ntp_reply_parse(const uint8_t *buf, size_t len, const struct ntp_ts *sent,
                                      struct ntp_packet *out)
{
    if (len < NTP_PACKET_LEN) return NTP_REPLY_SHORT;
    ntp_packet_decode(buf, out);
    if (out->version < 1 || out->version > 4) return NTP_REPLY_BAD_VERSION;
    if (out->mode != NTP_MODE_SERVER) return NTP_REPLY_BAD_MODE;
    if (ts64(out->origin) != ts64(*sent)) return NTP_REPLY_BAD_ORIGIN;
    if (ntp_ts_is_zero(out->transmit)) return NTP_REPLY_ZERO_TRANSMIT;
    /* Compare as a wrapping 64-bit difference so an era boundary between the two stamps is fine. */
    if ((int64_t)(ts64(out->transmit) - ts64(out->receive)) < 0) return NTP_REPLY_RECEIVE_AFTER_TRANSMIT;
    return NTP_REPLY_OK;
}

#define NS_PER_S 1000000000LL
#define ERA_S 4294967296LL

int64_t ntp_ts_to_unix_ns(struct ntp_ts ts, int64_t pivot_unix_ns)
{
    /* fraction * 1e9 / 2^32, rounded */
    int64_t frac_ns = (int64_t)(((uint64_t)ts.fraction * NS_PER_S + (1ULL << 31)) >> 32);
    /* The era is chosen in whole seconds (era 0 is 1900-2036; shift by whole eras toward the pivot), and only the
     * final time is scaled to ns, saturating: a hostile reply chooses ts, and ns arithmetic on eras would overflow
     * int64 for pivots past ~2040. */
    int64_t era0_s = (int64_t)ts.seconds - NTP_UNIX_EPOCH_OFFSET;
    int64_t pivot_s = pivot_unix_ns / NS_PER_S;
    int64_t diff = pivot_s - era0_s;
    int64_t eras = diff >= 0 ? (diff + ERA_S / 2) / ERA_S : -((-diff + ERA_S / 2) / ERA_S);
    int64_t secs = era0_s + eras * ERA_S, out;
    if (__builtin_mul_overflow(secs, NS_PER_S, &out) || __builtin_add_overflow(out, frac_ns, &out))
        out = secs < 0 ? INT64_MIN : INT64_MAX;
    return out;
}

struct ntp_ts ntp_ts_from_unix_ns(int64_t unix_ns)
{
    int64_t secs = unix_ns / NS_PER_S;
    int64_t ns = unix_ns % NS_PER_S;
    if (ns < 0) {
        ns += NS_PER_S;
        secs--;
    }
    struct ntp_ts t;
    t.seconds = (uint32_t)(uint64_t)(secs + NTP_UNIX_EPOCH_OFFSET); /* wraps into the current era */
    t.fraction = (uint32_t)(((uint64_t)ns << 32) / NS_PER_S);
    return t;
}

void ntp_offset_delay(int64_t t1_ns, struct ntp_ts t2, struct ntp_ts t3, int64_t t4_ns, double *offset_s,
                      double *delay_s)
{
    int64_t t2_ns = ntp_ts_to_unix_ns(t2, t1_ns);
    int64_t t3_ns = ntp_ts_to_unix_ns(t3, t2_ns);
    double a = (double)(t2_ns - t1_ns), b = (double)(t3_ns - t4_ns);
    *offset_s = (a + b) / 2.0 / 1e9;
    double delay = ((double)(t4_ns - t1_ns) - (double)(t3_ns - t2_ns)) / 1e9;
    /* The server claims to have held the request longer than the whole round trip: receive and transmit are
     * skewed (the offset is unaffected, the skews cancel). Not a measurable delay: 0, as beevik/ntp's rtt(). */
    *delay_s = delay < 0 ? 0 : delay;
}

bool ntp_refid_is_printable(const struct ntp_packet *p)
{
    uint8_t b[4] = {(uint8_t)(p->refid >> 24), (uint8_t)(p->refid >> 16), (uint8_t)(p->refid >> 8),
                    (uint8_t)p->refid};
    int n = 4;
    while (n > 0 && b[n - 1] == 0) n--;
    if (n == 0) return false;
    for (int i = 0; i < n; i++)
        if (b[i] < 0x21 || b[i] > 0x7e) return false;
    return true;
}

void ntp_refid_str(const struct ntp_packet *p, char out[16])
{
    uint8_t b[4] = {(uint8_t)(p->refid >> 24), (uint8_t)(p->refid >> 16), (uint8_t)(p->refid >> 8),
                    (uint8_t)p->refid};
    if (p->stratum <= 1 && ntp_refid_is_printable(p)) {
        int n = 0;
        for (int i = 0; i < 4 && b[i]; i++) out[n++] = (char)b[i];
        out[n] = '\0';
        return;
    }
    if (p->stratum <= 1 && p->refid == 0) {
        out[0] = '\0';
        return;
    }
    snprintf(out, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

void ntp_reply_verdict(const struct ntp_packet *p, struct ntp_verdict *v)
{
    v->error[0] = '\0';
    v->ends_probe = false;
    v->has_offset = true;
    if (p->stratum == 0) {
        v->ends_probe = true;
        if (ntp_refid_is_printable(p)) {
            ntp_refid_str(p, v->error);
            if (strcmp(v->error, "RATE") == 0) v->has_offset = false;
        } else {
            snprintf(v->error, sizeof v->error, "bad stratum 0");
        }
        return;
    }
    if (p->stratum == 16) v->ends_probe = true;
    if (p->stratum > 10) {
        snprintf(v->error, sizeof v->error, "bad stratum %u", p->stratum);
        return;
    }
    if (p->leap == NTP_LEAP_UNSYNC) snprintf(v->error, sizeof v->error, "unsynchronized");
}

void ntp_server_reply_build(const struct ntp_packet *request, const struct ntp_packet *fields,
                            uint8_t buf[NTP_PACKET_LEN])
{
    struct ntp_packet reply = *fields;
    reply.mode = NTP_MODE_SERVER;
    if (reply.version == 0) reply.version = request->version ? request->version : 4;
    reply.origin = request->transmit;
    ntp_packet_encode(&reply, buf);
}
