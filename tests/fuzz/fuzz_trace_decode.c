/* fuzz_trace_decode.c — libFuzzer target: arbitrary bytes as a trace message (through the shared validator), a
 * stored hops array and a traceroute request; a decoded trace must re-encode and decode to the same values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *payload = (const char *)data;
    char err[MSG_ERR_LEN];
    static struct msg_trace t, t2;
    if (msg_trace_validate("prod", "ntpmon/prod/traces/1234/nl-ams1", payload, size, &t, err) == 0 ||
        msg_trace_decode(payload, size, &t, err) == 0) {
        char *enc = msg_trace_encode(&t);
        if (!enc) __builtin_trap();
        if (msg_trace_decode(enc, strlen(enc), &t2, err) != 0) __builtin_trap();
        if (strcmp(t.id, t2.id) != 0 || t.n_hops != t2.n_hops || t.ts_us != t2.ts_us || t.reached != t2.reached ||
            t.trigger != t2.trigger)
            __builtin_trap();
        free(enc);
    }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    msg_trace_hops_decode(text, strlen(text), &t, err);
    free(text);
    struct msg_traceroute_request rq;
    msg_traceroute_request_decode(payload, size, &rq, err);
    return 0;
}
