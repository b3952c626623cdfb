/* test_ntp.c — the NTP codec: request format, every reply check (short, version, mode, origin, zero transmit,
 * receive after transmit), KoD and stratum verdicts, era-aware timestamps, offset/delay arithmetic. */
#include "ntp.h"
#include "unit.h"

static const int64_t NS = 1000000000LL;
static const int64_t NOW_NS = 1795460400LL * 1000000000LL; /* 2026-11-23 */

/* A well-formed reply to `req_xmt` whose server clock is `offset_ns` ahead, with `delay_ns` path delay. */
static void make_reply(uint8_t buf[48], struct ntp_ts req_xmt, int64_t t1, int64_t offset_ns, int64_t delay_ns,
                       unsigned stratum, unsigned leap, const char *refid)
{
    struct ntp_packet p = {.leap = leap, .version = 4, .mode = NTP_MODE_SERVER, .stratum = stratum, .poll = 6,
                           .precision = -20};
    if (refid) p.refid = (uint32_t)refid[0] << 24 | (uint32_t)refid[1] << 16 | (uint32_t)refid[2] << 8 | (uint32_t)refid[3];
    p.origin = req_xmt;
    p.receive = ntp_ts_from_unix_ns(t1 + delay_ns / 2 + offset_ns);
    p.transmit = ntp_ts_from_unix_ns(t1 + delay_ns / 2 + offset_ns + 1000); /* 1 µs in the server */
    p.reference = p.receive;
    ntp_packet_encode(&p, buf);
}

TEST(request_is_v4_client_with_random_transmit)
{
    uint8_t a[48], b[48];
    struct ntp_ts sa, sb;
    ntp_request_build(a, &sa);
    ntp_request_build(b, &sb);
    struct ntp_packet p;
    ntp_packet_decode(a, &p);
    CHECK_INT(p.version, 4);
    CHECK_INT(p.mode, NTP_MODE_CLIENT);
    CHECK_INT(p.stratum, 0);
    CHECK(p.transmit.seconds == sa.seconds && p.transmit.fraction == sa.fraction);
    CHECK(!(sa.seconds == sb.seconds && sa.fraction == sb.fraction));
    CHECK(ntp_ts_is_zero(p.origin) && ntp_ts_is_zero(p.receive));
}

TEST(valid_reply_parses_and_gives_offset)
{
    uint8_t req[48], rep[48];
    struct ntp_ts sent;
    ntp_request_build(req, &sent);
    make_reply(rep, sent, NOW_NS, 250 * 1000000LL, 20 * 1000000LL, 2, 0, NULL);
    struct ntp_packet p;
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_OK);
    double off, delay;
    ntp_offset_delay(NOW_NS, p.receive, p.transmit, NOW_NS + 20 * 1000000LL + 1000, &off, &delay);
    CHECK_NEAR(off, 0.250, 2e-9);
    CHECK_NEAR(delay, 0.020, 2e-9);
    struct ntp_verdict v;
    ntp_reply_verdict(&p, &v);
    CHECK_STR(v.error, "");
    CHECK(v.has_offset && !v.ends_probe);
}

TEST(negative_and_large_offsets)
{
    uint8_t rep[48];
    struct ntp_ts sent = {0x12345678, 0x9abcdef0};
    struct ntp_packet p;
    double off, delay;
    make_reply(rep, sent, NOW_NS, -40 * 1000000LL, 2000000, 1, 0, "GPS\0");
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_OK);
    ntp_offset_delay(NOW_NS, p.receive, p.transmit, NOW_NS + 2000000 + 1000, &off, &delay);
    CHECK_NEAR(off, -0.040, 2e-9);
    make_reply(rep, sent, NOW_NS, 4 * NS, 2000000, 1, 0, "GPS\0");
    ntp_reply_parse(rep, 48, &sent, &p);
    ntp_offset_delay(NOW_NS, p.receive, p.transmit, NOW_NS + 2000000 + 1000, &off, &delay);
    CHECK_NEAR(off, 4.0, 2e-9);
    /* a server a year ahead */
    make_reply(rep, sent, NOW_NS, 365LL * 86400 * NS, 2000000, 1, 0, "GPS\0");
    ntp_reply_parse(rep, 48, &sent, &p);
    ntp_offset_delay(NOW_NS, p.receive, p.transmit, NOW_NS + 2000000 + 1000, &off, &delay);
    CHECK_NEAR(off, 365.0 * 86400, 1e-6);
}

/* Issue 19: receive = T−2000 s, transmit = T+2000 s passes every check; the offset is still right (the skews cancel)
 * but the delay would be −4000 s. A negative delay is not a measurement: it is clamped to 0, as the pool's NTP
 * library (beevik/ntp rtt()) does. */
TEST(negative_delay_is_clamped_to_zero)
{
    struct ntp_ts sent = {0x12345678, 0x9abcdef0};
    struct ntp_packet p = {.version = 4, .mode = NTP_MODE_SERVER, .stratum = 1, .origin = sent};
    int64_t t1 = NOW_NS, t4 = NOW_NS + 20 * 1000000LL;
    p.receive = ntp_ts_from_unix_ns(t1 + 10 * 1000000LL - 2000 * NS);
    p.transmit = ntp_ts_from_unix_ns(t1 + 10 * 1000000LL + 2000 * NS);
    uint8_t rep[48];
    ntp_packet_encode(&p, rep);
    struct ntp_packet q;
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &q), NTP_REPLY_OK);
    double off, delay;
    ntp_offset_delay(t1, q.receive, q.transmit, t4, &off, &delay);
    CHECK_NEAR(off, 0.0, 2e-9);
    CHECK(delay == 0.0);
    /* a small skew: 1 ms of server time more than the 0.5 ms round trip */
    p.receive = ntp_ts_from_unix_ns(t1 + 250000);
    p.transmit = ntp_ts_from_unix_ns(t1 + 1250000);
    ntp_packet_encode(&p, rep);
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &q), NTP_REPLY_OK);
    ntp_offset_delay(t1, q.receive, q.transmit, t1 + 500000, &off, &delay);
    CHECK(delay == 0.0);
    CHECK_NEAR(off, 0.0005, 2e-9);
}

TEST(short_packet_rejected)
{
    uint8_t rep[48];
    struct ntp_ts sent = {1, 2};
    struct ntp_packet p;
    make_reply(rep, sent, NOW_NS, 0, 1000, 2, 0, NULL);
    CHECK_INT(ntp_reply_parse(rep, 47, &sent, &p), NTP_REPLY_SHORT);
    CHECK_INT(ntp_reply_parse(rep, 0, &sent, &p), NTP_REPLY_SHORT);
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_OK);
}

TEST(longer_packet_with_extension_accepted)
{
    uint8_t rep[68] = {0};
    struct ntp_ts sent = {1, 2};
    struct ntp_packet p;
    make_reply(rep, sent, NOW_NS, 0, 1000, 2, 0, NULL);
    CHECK_INT(ntp_reply_parse(rep, sizeof rep, &sent, &p), NTP_REPLY_OK);
}

TEST(wrong_mode_and_version_rejected)
{
    uint8_t rep[48];
    struct ntp_ts sent = {7, 8};
    struct ntp_packet p;
    make_reply(rep, sent, NOW_NS, 0, 1000, 2, 0, NULL);
    rep[0] = (uint8_t)((rep[0] & ~7) | NTP_MODE_CLIENT);
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_BAD_MODE);
    rep[0] = (uint8_t)((rep[0] & ~7) | 5); /* broadcast */
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_BAD_MODE);
    make_reply(rep, sent, NOW_NS, 0, 1000, 2, 0, NULL);
    rep[0] = (uint8_t)((rep[0] & ~0x38) | (0 << 3));
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_BAD_VERSION);
    rep[0] = (uint8_t)((rep[0] & ~0x38) | (7 << 3));
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_BAD_VERSION);
    rep[0] = (uint8_t)((rep[0] & ~0x38) | (3 << 3));
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_OK);
}

TEST(origin_mismatch_rejected)
{
    uint8_t rep[48];
    struct ntp_ts sent = {100, 200}, other = {100, 201};
    struct ntp_packet p;
    make_reply(rep, sent, NOW_NS, 0, 1000, 2, 0, NULL);
    CHECK_INT(ntp_reply_parse(rep, 48, &other, &p), NTP_REPLY_BAD_ORIGIN);
}

TEST(zero_transmit_rejected)
{
    uint8_t rep[48];
    struct ntp_ts sent = {100, 200};
    struct ntp_packet p;
    make_reply(rep, sent, NOW_NS, 0, 1000, 2, 0, NULL);
    memset(rep + 40, 0, 8);
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_ZERO_TRANSMIT);
}

TEST(receive_after_transmit_rejected)
{
    uint8_t rep[48];
    struct ntp_ts sent = {100, 200};
    struct ntp_packet p;
    make_reply(rep, sent, NOW_NS, 0, 1000, 2, 0, NULL);
    ntp_packet_decode(rep, &p);
    struct ntp_ts tmp = p.receive;
    p.receive = p.transmit;
    p.transmit = tmp;
    ntp_packet_encode(&p, rep);
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_RECEIVE_AFTER_TRANSMIT);
}

static void verdict_for(unsigned stratum, unsigned leap, const char *refid, struct ntp_verdict *v)
{
    uint8_t rep[48];
    struct ntp_ts sent = {5, 6};
    struct ntp_packet p;
    make_reply(rep, sent, NOW_NS, 0, 1000, stratum, leap, refid);
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_OK);
    ntp_reply_verdict(&p, v);
}

TEST(kiss_of_death_codes)
{
    struct ntp_verdict v;
    verdict_for(0, 3, "RATE", &v);
    CHECK_STR(v.error, "RATE");
    CHECK(v.ends_probe && !v.has_offset);
    verdict_for(0, 3, "DENY", &v);
    CHECK_STR(v.error, "DENY");
    CHECK(v.ends_probe && v.has_offset);
    verdict_for(0, 0, "RSTR", &v);
    CHECK_STR(v.error, "RSTR");
    verdict_for(0, 0, "INIT", &v);
    CHECK_STR(v.error, "INIT");
    verdict_for(0, 0, "\x01\x02\x03\x04", &v);
    CHECK_STR(v.error, "bad stratum 0");
    CHECK(v.ends_probe);
}

TEST(stratum_and_leap_verdicts)
{
    struct ntp_verdict v;
    verdict_for(16, 3, "\0\0\0\0", &v);
    CHECK_STR(v.error, "bad stratum 16");
    CHECK(v.ends_probe);
    verdict_for(12, 0, NULL, &v);
    CHECK_STR(v.error, "bad stratum 12");
    CHECK(!v.ends_probe);
    verdict_for(11, 0, NULL, &v);
    CHECK_STR(v.error, "bad stratum 11");
    verdict_for(10, 0, NULL, &v);
    CHECK_STR(v.error, "");
    verdict_for(2, 3, NULL, &v);
    CHECK_STR(v.error, "unsynchronized");
    verdict_for(2, 1, NULL, &v); /* leap second pending is fine */
    CHECK_STR(v.error, "");
}

TEST(refid_text)
{
    struct ntp_packet p = {.stratum = 1, .refid = 0x47505300}; /* "GPS\0" */
    char s[16];
    ntp_refid_str(&p, s);
    CHECK_STR(s, "GPS");
    p.stratum = 2;
    p.refid = 0xC0000201;
    ntp_refid_str(&p, s);
    CHECK_STR(s, "192.0.2.1");
    p.stratum = 1;
    p.refid = 0x01020304; /* unprintable at stratum 1: dotted quad */
    ntp_refid_str(&p, s);
    CHECK_STR(s, "1.2.3.4");
}

TEST(era_conversion)
{
    /* Round trip across 2036 (era 1): seconds wrap, the pivot chooses the era. */
    int64_t t2036 = 2085978496LL * NS + 5 * NS; /* just after 2036-02-07 06:28:16 */
    struct ntp_ts ts = ntp_ts_from_unix_ns(t2036);
    CHECK(ts.seconds < 10);
    CHECK_INT(ntp_ts_to_unix_ns(ts, t2036) / 1000, t2036 / 1000);
    CHECK_INT(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(NOW_NS), NOW_NS), NOW_NS);
    /* a stamp from era 0 seen from a pivot in era 1 lands within half an era of the pivot */
    int64_t back = ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(NOW_NS), t2036);
    CHECK_INT(back, NOW_NS);
    /* fraction precision: 1 ns steps survive within 1 ns */
    int64_t t = NOW_NS + 123456789;
    CHECK_NEAR((double)(ntp_ts_to_unix_ns(ntp_ts_from_unix_ns(t), t) - t), 0, 1);
    /* pivots far from now and any stamp: the result is within half an era of the pivot, with no int64 overflow
     * on the way (the ASan/UBSan build makes an overflow fatal; a hostile reply picks the stamp) */
    const int64_t half_era_ns = 2147483648LL * NS;
    int64_t pivots[] = {4000000000LL * NS, 6100000000LL * NS, -2208988800LL * NS, 0};
    struct ntp_ts stamps[] = {{0, 0}, {0xffffffffu, 0xffffffffu}, {0x80000000u, 0}, {0x7fffffffu, 0xffffffffu}};
    for (size_t i = 0; i < sizeof pivots / sizeof pivots[0]; i++)
        for (size_t j = 0; j < sizeof stamps / sizeof stamps[0]; j++) {
            int64_t r = ntp_ts_to_unix_ns(stamps[j], pivots[i]);
            CHECK(r - pivots[i] <= half_era_ns + NS && pivots[i] - r <= half_era_ns + NS);
        }
}

TEST(server_reply_builder_echoes_origin)
{
    uint8_t req[48], rep[48];
    struct ntp_ts sent;
    ntp_request_build(req, &sent);
    struct ntp_packet rq, fields = {.stratum = 1, .refid = 0x52415445 /* RATE */, .receive = {10, 0}, .transmit = {10, 1}};
    ntp_packet_decode(req, &rq);
    ntp_server_reply_build(&rq, &fields, rep);
    struct ntp_packet p;
    CHECK_INT(ntp_reply_parse(rep, 48, &sent, &p), NTP_REPLY_OK);
    CHECK_INT(p.version, 4);
    CHECK_STR(ntp_reply_status_str(NTP_REPLY_BAD_ORIGIN), "origin mismatch");
}

int main(void)
{
    RUN(request_is_v4_client_with_random_transmit);
    RUN(valid_reply_parses_and_gives_offset);
    RUN(negative_and_large_offsets);
    RUN(negative_delay_is_clamped_to_zero);
    RUN(short_packet_rejected);
    RUN(longer_packet_with_extension_accepted);
    RUN(wrong_mode_and_version_rejected);
    RUN(origin_mismatch_rejected);
    RUN(zero_transmit_rejected);
    RUN(receive_after_transmit_rejected);
    RUN(kiss_of_death_codes);
    RUN(stratum_and_leap_verdicts);
    RUN(refid_text);
    RUN(era_conversion);
    RUN(server_reply_builder_echoes_origin);
    return unit_done();
}
