/* ntp-query.c — one NTP client exchange with common/ntp.c, for the harness and foundation tests:
 *   ntp-query [-t TIMEOUT_MS] ADDR PORT   prints "offset=<s> delay=<s> stratum=<n> refid=<id> error=<text>"
 * Exit 0 on a good reply, 1 on a bad/KoD reply, 2 on timeout or usage errors. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netaddr.h"
#include "ntp.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    int timeout_ms = 1000, argi = 1;
    if (argc > 2 && strcmp(argv[1], "-t") == 0) {
        timeout_ms = atoi(argv[2]);
        argi = 3;
    }
    if (argc - argi != 2) {
        fprintf(stderr, "usage: ntp-query [-t TIMEOUT_MS] ADDR PORT\n");
        return 2;
    }
    struct netaddr addr;
    if (netaddr_parse(argv[argi], &addr) < 0) {
        fprintf(stderr, "ntp-query: invalid address %s\n", argv[argi]);
        return 2;
    }
    struct sockaddr_storage ss;
    socklen_t sl = netaddr_to_sockaddr(&addr, (uint16_t)atoi(argv[argi + 1]), &ss);
    int fd = socket(addr.family, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        fprintf(stderr, "ntp-query: %s\n", strerror(errno));
        return 2;
    }
    uint8_t req[NTP_PACKET_LEN], rep[1024];
    struct ntp_ts sent;
    ntp_request_build(req, &sent);
    int64_t t1 = now_ns();
    if (send(fd, req, sizeof req, 0) != (ssize_t)sizeof req) {
        fprintf(stderr, "ntp-query: send: %s\n", strerror(errno));
        return 2;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    for (;;) {
        int left = timeout_ms - (int)((now_ns() - t1) / 1000000);
        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            printf("error=timeout\n");
            return 2;
        }
        ssize_t n = recv(fd, rep, sizeof rep, 0);
        int64_t t4 = now_ns();
        if (n < 0) {
            printf("error=network: %s\n", strerror(errno));
            return 2;
        }
        struct ntp_packet p;
        enum ntp_reply_status st = ntp_reply_parse(rep, (size_t)n, &sent, &p);
        if (st != NTP_REPLY_OK) continue; /* ignore and keep waiting, like a timeout would */
        struct ntp_verdict v;
        ntp_reply_verdict(&p, &v);
        double off, delay;
        ntp_offset_delay(t1, p.receive, p.transmit, t4, &off, &delay);
        char refid[16];
        ntp_refid_str(&p, refid);
        printf("offset=%.9f delay=%.9f stratum=%u refid=%s error=%s\n", off, delay, p.stratum, refid, v.error);
        return v.error[0] ? 1 : 0;
    }
}
