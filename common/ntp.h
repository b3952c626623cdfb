/* ntp.h — the NTP packet codec (RFC 5905): client requests, strict reply checks, era-aware timestamps,
 * offset/delay, and the contract's error strings for a reply (DESIGN.md §3). No sockets here.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |
 *    |                         Root Delay                            |
 *    |                         Root Dispersion                       |
 *    |                          Reference ID                         |
 *    |                     Reference Timestamp (64)                  |
 *    |                      Origin Timestamp (64)                    |
 *    |                      Receive Timestamp (64)                   |
 *    |                      Transmit Timestamp (64)                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
#ifndef NTPMON_NTP_H
#define NTPMON_NTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NTP_PACKET_LEN 48
#define NTP_MODE_CLIENT 3
#define NTP_MODE_SERVER 4
#define NTP_LEAP_UNSYNC 3
#define NTP_UNIX_EPOCH_OFFSET 2208988800LL /* seconds from 1900-01-01 to 1970-01-01 */

/* A 64-bit NTP timestamp as host-order fields (the wire form is converted only in ntp.c). */
struct ntp_ts {
    uint32_t seconds;
    uint32_t fraction;
};

/* A decoded packet. */
struct ntp_packet {
    unsigned leap, version, mode, stratum;
    int poll, precision;
    uint32_t root_delay, root_dispersion; /* NTP short format, 16.16 */
    uint32_t refid;
    struct ntp_ts reference, origin, receive, transmit;
};

enum ntp_reply_status {
    NTP_REPLY_OK = 0,
    NTP_REPLY_SHORT,          /* fewer than 48 bytes */
    NTP_REPLY_BAD_VERSION,    /* version not 1..4 */
    NTP_REPLY_BAD_MODE,       /* not a server reply */
    NTP_REPLY_BAD_ORIGIN,     /* origin does not echo our transmit timestamp (spoofed or stale) */
    NTP_REPLY_ZERO_TRANSMIT,  /* transmit timestamp 0 */
    NTP_REPLY_RECEIVE_AFTER_TRANSMIT,
};

/* Short description of a reply status for logs. */
const char *ntp_reply_status_str(enum ntp_reply_status status);

/* Encodes/decodes the 48-byte header (extension fields and MACs after it are ignored). */
void ntp_packet_encode(const struct ntp_packet *p, uint8_t buf[NTP_PACKET_LEN]);
void ntp_packet_decode(const uint8_t buf[NTP_PACKET_LEN], struct ntp_packet *p);

/* Builds an NTPv4 client request whose transmit timestamp is random (not our clock: RFC 5905 allows it, and it
 * doubles as an unguessable nonce); *sent gets that value, which the reply must echo as its origin. */
void ntp_request_build(uint8_t buf[NTP_PACKET_LEN], struct ntp_ts *sent);

/* Decodes and checks a reply against the transmit timestamp we sent (checks of DESIGN.md §3). */
enum ntp_reply_status ntp_reply_parse(const uint8_t *buf, size_t len, const struct ntp_ts *sent,
                                      struct ntp_packet *out);

/* Nanoseconds since the Unix epoch <-> NTP timestamps. The NTP seconds field wraps every 136 years (eras);
 * the era chosen is the one that puts the time closest to pivot_unix_ns (normally the local clock). */
int64_t ntp_ts_to_unix_ns(struct ntp_ts ts, int64_t pivot_unix_ns);
struct ntp_ts ntp_ts_from_unix_ns(int64_t unix_ns);
bool ntp_ts_is_zero(struct ntp_ts ts);

/* offset = ((t2−t1)+(t3−t4))/2 and delay = (t4−t1)−(t3−t2) in seconds; t1/t4 are local Unix ns. A negative
 * delay (a server whose receive/transmit stamps claim more time than the round trip) is reported as 0. */
void ntp_offset_delay(int64_t t1_ns, struct ntp_ts t2, struct ntp_ts t3, int64_t t4_ns, double *offset_s,
                      double *delay_s);

/* The reference id as text: 4 ASCII chars for stratum 0/1 (trailing NULs trimmed; non-printable bytes make it
 * dotted-quad), dotted quad otherwise. out needs 16 bytes. */
void ntp_refid_str(const struct ntp_packet *p, char out[16]);

/* True when the refid is 1..4 printable ASCII chars (a Kiss-o'-Death code at stratum 0). */
bool ntp_refid_is_printable(const struct ntp_packet *p);

/* What a valid reply means for the probe (DESIGN.md §3). */
struct ntp_verdict {
    char error[24];  /* "" when good; "RATE"/"DENY"/…; "bad stratum N"; "unsynchronized" */
    bool ends_probe; /* stratum 0 or 16: no more samples */
    bool has_offset; /* false for RATE */
};
void ntp_reply_verdict(const struct ntp_packet *p, struct ntp_verdict *v);

/* Builds a server-mode reply to a request (for the test NTP server and benchmark responders). */
void ntp_server_reply_build(const struct ntp_packet *request, const struct ntp_packet *fields,
                            uint8_t buf[NTP_PACKET_LEN]);

#endif
