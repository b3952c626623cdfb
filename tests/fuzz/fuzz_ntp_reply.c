/* fuzz_ntp_reply.c — libFuzzer target: arbitrary bytes as an NTP reply (and as the origin we expect), through
 * parse, verdict, refid text and offset arithmetic. Network input must never crash us. And a property: every
 * reply the agent accepts makes a result the shared validator accepts (the agent's own sample and result
 * builders, then msg_result_validate as ingest, scorer and selector run it) — a server must not be able to make
 * its results unstorable.
 * Input: 8 bytes of the origin we sent, the reply (48 bytes and more); 12 bytes after the 48-byte header, when
 * present, choose our transmit time t1 (2000..2100) and the receive time t4 − t1 (±35 min: local clock steps). */
// fuzz-sources: agent/probe.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "ntp.h"
#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Builds the result the agent's daemon would publish for this one-sample probe and runs the validator on it. */
static void check_result_is_storable(const struct ntp_packet *p, int64_t t1_ns, int64_t t4_ns)
{
    struct probe_sample s;
    probe_sample_from_reply(t1_ns, p, t4_ns, &s);
    struct probe_outcome o = {.n = 1, .chosen = 0, .samples = &s};
    netaddr_parse("192.0.2.1", &o.addr);
    static struct msg_result r, back;
    memset(&r, 0, sizeof r);
    r.v = 1;
    strcpy(r.id, "01HZZZZZZZZZZZZZZZZZZZZZZZ");
    strcpy(r.monitor, "fz-mon1");
    r.has_server_id = true;
    r.server_id = 1234;
    r.status = MSG_STATUS_ACTIVE;
    strcpy(r.agent, "ntpmon-agent/fuzz");
    probe_outcome_to_result(&o, &r);
    char *json = msg_result_encode(&r);
    if (!json) abort();
    char err[MSG_ERR_LEN];
    if (msg_result_validate("prod", "ntpmon/prod/results/1234/fz-mon1", json, strlen(json), &back, err) < 0) {
        fprintf(stderr, "the validator refuses a result the agent made: %s\n%s\n", err, json);
        abort();
    }
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ntp_ts sent = {0, 0};
    if (size >= 8) {
        sent.seconds = be32(data);
        sent.fraction = be32(data + 4);
    }
    const uint8_t *pkt = size >= 8 ? data + 8 : data;
    size_t len = size >= 8 ? size - 8 : size;
    int64_t t1 = 1795460400LL * 1000000000LL, t4 = t1 + 1000000;
    if (len >= NTP_PACKET_LEN + 12) {
        const uint8_t *x = pkt + NTP_PACKET_LEN;
        t1 = (946684800LL + be32(x) % (100LL * 365 * 86400)) * 1000000000LL + be32(x + 4) % 1000000000u;
        t4 = t1 + (int64_t)(int32_t)be32(x + 8) * 1000;
    }
    struct ntp_packet p;
    /* also try with the origin the packet itself carries, so the deeper checks are reached */
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && len >= NTP_PACKET_LEN) {
            struct ntp_packet tmp;
            ntp_packet_decode(pkt, &tmp);
            sent = tmp.origin;
        }
        enum ntp_reply_status st = ntp_reply_parse(pkt, len, &sent, &p);
        (void)ntp_reply_status_str(st);
        if (st != NTP_REPLY_OK) continue;
        struct ntp_verdict v;
        ntp_reply_verdict(&p, &v);
        char refid[16];
        ntp_refid_str(&p, refid);
        double off, delay;
        ntp_offset_delay(t1, p.receive, p.transmit, t4, &off, &delay);
        uint8_t out[NTP_PACKET_LEN];
        ntp_packet_encode(&p, out);
        if (memcmp(out, pkt, NTP_PACKET_LEN) != 0) __builtin_trap(); /* decode/encode must round-trip */
        check_result_is_storable(&p, t1, t4);
    }
    return 0;
}
