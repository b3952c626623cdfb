/* fuzz_result_decode.c — libFuzzer target: arbitrary bytes as a result message (and every other decoder), through
 * the shared validator; a decoded result must re-encode and decode to the same values. */
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
    struct msg_result r, r2;
    if (msg_result_validate("prod", "ntpmon/prod/results/1234/nl-ams1", payload, size, &r, err) == 0 ||
        msg_result_decode(payload, size, &r, err) == 0) {
        char *enc = msg_result_encode(&r);
        if (!enc) __builtin_trap();
        if (msg_result_decode(enc, strlen(enc), &r2, err) != 0) __builtin_trap();
        if (strcmp(r.id, r2.id) != 0 || r.server_id != r2.server_id || r.n_samples != r2.n_samples ||
            r.ts_us != r2.ts_us || strcmp(r.error, r2.error) != 0)
            __builtin_trap();
        free(enc);
    }
    struct msg_assign a;
    if (msg_assign_decode(payload, size, &a, err) == 0) msg_assign_free(&a);
    struct msg_stored s;
    if (msg_stored_decode(payload, size, &s, err) == 0) msg_stored_free(&s);
    struct msg_selection sel;
    if (msg_selection_decode(payload, size, &sel, err) == 0) msg_selection_free(&sel);
    struct msg_token t;
    if (msg_token_decode(payload, size, &t, err) == 0) msg_token_free(&t);
    struct msg_ntp_request rq;
    msg_ntp_request_decode(payload, size, &rq, err);
    struct msg_monitor_status ms;
    msg_monitor_status_decode(payload, size, &ms, err);
    struct msg_score sc;
    msg_score_decode(payload, size, &sc, err);
    struct msg_server_status ss;
    msg_server_status_decode(payload, size, &ss, err);
    char topic[MSG_TOPIC_MAX];
    size_t n = size < sizeof topic - 1 ? size : sizeof topic - 1;
    memcpy(topic, data, n);
    topic[n] = '\0';
    struct msg_topic tp;
    msg_topic_parse("prod", topic, &tp);
    return 0;
}
