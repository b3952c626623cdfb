/* intake.h — what ingest holds between the broker and the database: one `entry` per MQTT message (a result ready
 * for `results`, or a rejection ready for `results_rejected`) and fixed-capacity batches of them. Turning a message
 * into an entry is pure (no I/O): the shared validator runs here; the database checks (monitor, server) are the
 * writer's. */
#ifndef NTPMON_INGEST_INTAKE_H
#define NTPMON_INGEST_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define INTAKE_PAYLOAD_KEEP 65535 /* results_rejected.payload is a BLOB: at most 2^16 - 1 bytes */
#define INTAKE_TOPIC_KEEP 255     /* results_rejected.topic is VARCHAR(255) */
#define INTAKE_REASON_MAX 255     /* results_rejected.reason is VARCHAR(255) */

enum entry_kind { ENTRY_RESULT, ENTRY_REJECT, ENTRY_TRACE };
enum entry_outcome { OUTCOME_PENDING = 0, OUTCOME_STORED, OUTCOME_REJECTED };

struct entry {
    enum entry_kind kind;
    char publisher[MSG_NAME_MAX]; /* the monitor that gets the confirmation; "" when nobody can be told */
    /* the result (kind RESULT); of a REJECT only rec.id and rec.monitor, "" when the payload had no readable one */
    struct msg_result_record rec;
    char *samples_json;
    /* the trace's own fields (kind TRACE; rec's v, id, monitor, server_id, ts_us, ip and agent are shared) */
    enum msg_trace_trigger trigger;
    int port;
    bool reached;
    char *hops_json;
    /* the message as received, for results_rejected (also kept for results the writer may still refuse) */
    char *topic;
    char *payload;       /* at most INTAKE_PAYLOAD_KEEP bytes */
    size_t payload_len;  /* bytes kept */
    size_t payload_size; /* the original size */
    char reason[INTAKE_REASON_MAX + 1];
    int64_t received_us; /* wall clock */
    /* filled by the writer */
    int64_t monitor_id;
    enum entry_outcome outcome;
};

/* Fills e (zeroed first) from one message on a results or traces topic: a RESULT or a TRACE when the shared
 * validator of that kind accepts it, otherwise a REJECT with the validator's reason and whatever id/monitor can be
 * read. */
void intake_message(const char *env, const char *topic, const void *payload, size_t len, int64_t now_us,
                    struct entry *e);
/* Turns a RESULT or TRACE into a REJECT (the writer's database checks) with a reason. */
void entry_reject(struct entry *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees what e owns and zeroes it. */
void entry_clear(struct entry *e);

struct batch {
    struct entry *entries;
    size_t n, cap;
    int64_t first_mono_us; /* when its first entry arrived (the flush timer's reference) */
    struct batch *next;    /* queue link */
};

/* A batch with room for cap entries. */
struct batch *batch_new(size_t cap);
/* Clears every entry (the batch can be reused). */
void batch_reset(struct batch *b);
void batch_free(struct batch *b);

#endif
