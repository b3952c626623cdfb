/* fuzz_ntp_reply.c — libFuzzer target: arbitrary bytes as an NTP reply (and as the origin we expect), through
 * parse, verdict, refid text and offset arithmetic. Network input must never crash us. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ntp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ntp_ts sent = {0, 0};
    if (size >= 8) {
        sent.seconds = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
        sent.fraction = (uint32_t)data[4] << 24 | (uint32_t)data[5] << 16 | (uint32_t)data[6] << 8 | data[7];
    }
    const uint8_t *pkt = size >= 8 ? data + 8 : data;
    size_t len = size >= 8 ? size - 8 : size;
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
        int64_t t1 = 1795460400LL * 1000000000LL;
        ntp_offset_delay(t1, p.receive, p.transmit, t1 + 1000000, &off, &delay);
        uint8_t out[NTP_PACKET_LEN];
        ntp_packet_encode(&p, out);
        if (memcmp(out, pkt, NTP_PACKET_LEN) != 0) __builtin_trap(); /* decode/encode must round-trip */
    }
    return 0;
}
