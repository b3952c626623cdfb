/* test_trace.c — what an error-queue entry means (crafted sock_extended_err + offender + quote: spoofed or mangled
 * quotes are ignored), the outcome → message mapping, and the engine against loopback (port unreachable from the
 * target ends the trace at hop 1, IPv4 and IPv6; concurrency and the queue). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "trace.h"
#include "tracing.h"
#include "unit.h"

static struct netaddr addr(const char *text)
{
    struct netaddr a;
    netaddr_parse(text, &a);
    return a;
}

static struct sock_extended_err icmp(int v6, unsigned type, unsigned code)
{
    struct sock_extended_err ee;
    memset(&ee, 0, sizeof ee);
    ee.ee_errno = 113; /* EHOSTUNREACH, as the kernel sets it for time exceeded */
    ee.ee_origin = v6 ? SO_EE_ORIGIN_ICMP6 : SO_EE_ORIGIN_ICMP;
    ee.ee_type = (uint8_t)type;
    ee.ee_code = (uint8_t)code;
    return ee;
}

static uint8_t sent[NTP_PACKET_LEN];

static void make_sent(void)
{
    struct ntp_ts ts;
    ntp_request_build(sent, &ts);
}

TEST(time_exceeded_with_our_packet_quoted_is_a_hop)
{
    make_sent();
    struct netaddr target = addr("192.0.2.7"), router = addr("198.51.100.1");
    struct sock_extended_err ee = icmp(0, 11, 0);
    CHECK_INT(trace_classify_error(&target, sent, &ee, &router, sent, sizeof sent), TRACE_HOP);
    /* a router quoting only the UDP header leaves no payload: the socket match is all there is */
    CHECK_INT(trace_classify_error(&target, sent, &ee, &router, NULL, 0), TRACE_HOP);
    /* a router quoting part of the packet: the part must match */
    CHECK_INT(trace_classify_error(&target, sent, &ee, &router, sent, 8), TRACE_HOP);
}

TEST(a_quote_that_is_not_our_packet_is_ignored)
{
    make_sent();
    struct netaddr target = addr("192.0.2.7"), router = addr("198.51.100.1");
    struct sock_extended_err ee = icmp(0, 11, 0);
    uint8_t forged[NTP_PACKET_LEN];
    memcpy(forged, sent, sizeof forged);
    forged[47] ^= 1; /* a guessed transmit timestamp, one bit off */
    CHECK_INT(trace_classify_error(&target, sent, &ee, &router, forged, sizeof forged), TRACE_IGNORE);
    forged[47] ^= 1;
    forged[0] ^= 0x40; /* another version in the header */
    CHECK_INT(trace_classify_error(&target, sent, &ee, &router, forged, 8), TRACE_IGNORE);
    /* a forged port unreachable "from the server" with a wrong nonce cannot end the trace early */
    forged[0] ^= 0x40;
    forged[40] ^= 0x80;
    struct sock_extended_err pu = icmp(0, 3, 3);
    CHECK_INT(trace_classify_error(&target, sent, &pu, &target, forged, sizeof forged), TRACE_IGNORE);
    CHECK_INT(trace_classify_error(&target, sent, &pu, &target, sent, sizeof sent), TRACE_REACHED);
}

TEST(offender_and_origin_must_fit)
{
    make_sent();
    struct netaddr target = addr("192.0.2.7"), router6 = addr("2001:db8::1"), router = addr("198.51.100.1");
    struct sock_extended_err ee = icmp(0, 11, 0);
    CHECK_INT(trace_classify_error(&target, sent, &ee, NULL, sent, sizeof sent), TRACE_IGNORE);
    CHECK_INT(trace_classify_error(&target, sent, &ee, &router6, sent, sizeof sent), TRACE_IGNORE);
    struct sock_extended_err local = ee;
    local.ee_origin = SO_EE_ORIGIN_LOCAL;
    CHECK_INT(trace_classify_error(&target, sent, &local, &router, sent, sizeof sent), TRACE_IGNORE);
    struct sock_extended_err v6origin = icmp(1, 11, 0); /* an ICMPv6 origin on an IPv4 probe */
    CHECK_INT(trace_classify_error(&target, sent, &v6origin, &router, sent, sizeof sent), TRACE_IGNORE);
}

TEST(unreachable_from_the_server_or_a_router)
{
    make_sent();
    struct netaddr target = addr("192.0.2.7"), router = addr("198.51.100.1");
    struct sock_extended_err port = icmp(0, 3, 3), host = icmp(0, 3, 1), admin = icmp(0, 3, 13);
    CHECK_INT(trace_classify_error(&target, sent, &port, &target, sent, sizeof sent), TRACE_REACHED);
    CHECK_INT(trace_classify_error(&target, sent, &admin, &target, sent, sizeof sent), TRACE_REACHED);
    CHECK_INT(trace_classify_error(&target, sent, &host, &router, sent, sizeof sent), TRACE_UNREACHABLE);
    CHECK_INT(trace_classify_error(&target, sent, &port, &router, sent, sizeof sent), TRACE_UNREACHABLE);
    struct sock_extended_err reasm = icmp(0, 11, 1), quench = icmp(0, 4, 0);
    CHECK_INT(trace_classify_error(&target, sent, &reasm, &router, sent, sizeof sent), TRACE_IGNORE);
    CHECK_INT(trace_classify_error(&target, sent, &quench, &router, sent, sizeof sent), TRACE_IGNORE);
}

TEST(icmpv6_types)
{
    make_sent();
    struct netaddr target = addr("2001:db8:200::2"), router = addr("2001:db8:100::2");
    struct sock_extended_err te = icmp(1, 3, 0), pu = icmp(1, 1, 4), noroute = icmp(1, 1, 0), big = icmp(1, 2, 0);
    CHECK_INT(trace_classify_error(&target, sent, &te, &router, sent, sizeof sent), TRACE_HOP);
    CHECK_INT(trace_classify_error(&target, sent, &pu, &target, sent, sizeof sent), TRACE_REACHED);
    CHECK_INT(trace_classify_error(&target, sent, &noroute, &router, sent, sizeof sent), TRACE_UNREACHABLE);
    CHECK_INT(trace_classify_error(&target, sent, &big, &router, sent, sizeof sent), TRACE_IGNORE);
    struct sock_extended_err v4origin = icmp(0, 11, 0);
    CHECK_INT(trace_classify_error(&target, sent, &v4origin, &router, sent, sizeof sent), TRACE_IGNORE);
}

TEST(outcome_to_message)
{
    struct trace_hop hops[3] = {
        {.ttl = 1, .has_addr = true, .addr = addr("198.51.100.2"), .n_rtt = 3, .rtt = {0.001, 0.002, 0.003}},
        {.ttl = 2},
        {.ttl = 3, .has_addr = true, .addr = addr("192.0.2.7"), .n_rtt = 1, .rtt = {0.004}},
    };
    struct trace_outcome o = {.target = addr("192.0.2.7"), .port = 123, .start_us = 1795460400000000LL,
                              .reached = true, .n_hops = 3, .hops = hops};
    struct msg_trace m;
    memset(&m, 0, sizeof m);
    trace_outcome_to_msg(&o, &m);
    char *json = msg_trace_path_encode(&m);
    CHECK_STR(json, "{\"ip\":\"192.0.2.7\",\"port\":123,\"reached\":true,\"hops\":[{\"ttl\":1,\"addr\":\"198.51.100.2\","
                    "\"rtt\":[0.001,0.002,0.003]},{\"ttl\":2,\"addr\":null,\"rtt\":[]},{\"ttl\":3,\"addr\":\"192.0.2.7\","
                    "\"rtt\":[0.004]}]}");
    free(json);
    CHECK_INT(m.ts_us, 1795460400000000LL);
}

/* ---- the engine on loopback ---- */

struct seen {
    int done;
    struct trace_outcome o;
    struct trace_hop hops[TRACE_MAX_HOPS];
    struct evloop *loop;
    int want;
};

static void on_done(struct trace *t, const struct trace_outcome *o, void *arg)
{
    (void)t;
    struct seen *s = arg;
    s->o = *o;
    memcpy(s->hops, o->hops, o->n_hops * sizeof *o->hops);
    s->o.hops = s->hops;
    if (++s->done == s->want) evloop_stop(s->loop);
}

/* A UDP port on addr with nothing listening (bound, then closed). */
static uint16_t closed_port(int family)
{
    int fd = socket(family, SOCK_DGRAM, 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_family = (sa_family_t)family;
    if (family == AF_INET) ((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else ((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
    bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    uint16_t port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port);
    close(fd);
    return port;
}

static void loopback_trace(const char *ip, int family)
{
    struct evloop *loop = evloop_new();
    struct trace_config cfg = {.port = closed_port(family), .max_hops = 30, .probes = 3, .max_silent = 2,
                               .timeout_us = 2000000, .max_running = 1};
    struct trace_engine *e = trace_engine_new(loop, &cfg);
    struct seen s[3];
    memset(s, 0, sizeof s);
    struct netaddr a = addr(ip);
    for (int i = 0; i < 3; i++) {
        s[i].loop = loop;
        s[i].want = 0; /* never stop the loop: the test runs it one iteration at a time */
    }
    for (int i = 0; i < 3; i++) trace_start(e, &a, 0, on_done, &s[i]);
    CHECK_INT(trace_engine_running(e), 1); /* max_running 1: the others wait */
    CHECK_INT(trace_engine_queued(e), 2);
    for (int round = 0; round < 50 && !(s[0].done && s[1].done && s[2].done); round++) evloop_run_once(loop, 100000);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(s[i].done, 1);
        CHECK(s[i].o.reached);
        CHECK_INT(s[i].o.n_hops, 1);
        CHECK_INT(s[i].o.packets_sent, 3);
        CHECK_INT(s[i].hops[0].ttl, 1);
        CHECK(s[i].hops[0].has_addr && memcmp(&s[i].hops[0].addr, &a, sizeof a) == 0);
        CHECK_INT(s[i].hops[0].n_rtt, 3);
        CHECK(s[i].hops[0].rtt[0] >= 0 && s[i].hops[0].rtt[0] < 1);
        CHECK_STR(s[i].o.error, "");
    }
    CHECK_INT(trace_engine_running(e), 0);
    CHECK_INT(trace_engine_queued(e), 0);
    trace_engine_free(e);
    evloop_free(loop);
}

TEST(engine_ipv4_loopback) { loopback_trace("127.0.0.1", AF_INET); }
TEST(engine_ipv6_loopback) { loopback_trace("::1", AF_INET6); }

TEST(cancel_and_free_with_traces_pending)
{
    struct evloop *loop = evloop_new();
    struct trace_config cfg = {.port = 9, .max_hops = 30, .probes = 3, .max_silent = 2, .timeout_us = 2000000,
                               .max_running = 1};
    struct trace_engine *e = trace_engine_new(loop, &cfg);
    struct netaddr a = addr("127.0.0.1");
    struct seen s = {.loop = loop, .want = 1};
    struct trace *t1 = trace_start(e, &a, 0, on_done, &s);
    struct trace *t2 = trace_start(e, &a, 0, on_done, &s);
    trace_start(e, &a, 0, on_done, &s);
    trace_cancel(t2); /* a queued one */
    CHECK_INT(trace_engine_queued(e), 1);
    trace_cancel(t1); /* the running one: the queued one starts */
    CHECK_INT(trace_engine_running(e), 1);
    CHECK_INT(trace_engine_queued(e), 0);
    trace_engine_free(e); /* no callback, no leak */
    CHECK_INT(s.done, 0);
    evloop_free(loop);
}

/* The status-change trigger's notion of failing: no reply or a KoD; other errors come from a server that answers. */
TEST(what_counts_as_failing)
{
    struct msg_result r;
    memset(&r, 0, sizeof r);
    r.stratum = 2;
    CHECK(!tracing_result_failing(&r));
    strcpy(r.error, "timeout");
    CHECK(tracing_result_failing(&r));
    strcpy(r.error, "network: connection refused");
    CHECK(tracing_result_failing(&r));
    r.stratum = 0;
    strcpy(r.error, "RATE");
    CHECK(tracing_result_failing(&r));
    r.stratum = 16;
    strcpy(r.error, "bad stratum 16");
    CHECK(!tracing_result_failing(&r));
    r.stratum = 2;
    strcpy(r.error, "unsynchronized");
    CHECK(!tracing_result_failing(&r));
}

int main(void)
{
    RUN(time_exceeded_with_our_packet_quoted_is_a_hop);
    RUN(a_quote_that_is_not_our_packet_is_ignored);
    RUN(offender_and_origin_must_fit);
    RUN(unreachable_from_the_server_or_a_router);
    RUN(icmpv6_types);
    RUN(outcome_to_message);
    RUN(engine_ipv4_loopback);
    RUN(engine_ipv6_loopback);
    RUN(cancel_and_free_with_traces_pending);
    RUN(what_counts_as_failing);
    return unit_done();
}
