/* ingest-dbload.c — the database's own ceiling for ingest's benchmark: the same rows ingest writes (results made
 * like result-publisher's, turned into entries by ingest's intake), inserted with ingest's prepared multi-row
 * INSERT IGNORE (ingest_store_results) in transactions of --batch rows, without MQTT and without the writer thread.
 * Only the insert loop is timed. Prints "dbload rows=N seconds=S rows_per_s=R".
 *   ingest-dbload --rows 100000 [--batch 1000] [--monitor-id 1] [--servers 10]   (database from $DATABASE_DSN) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "dbconf.h"
#include "intake.h"
#include "log.h"
#include "msg.h"
#include "opts.h"
#include "store.h"
#include "timeutil.h"
#include "ulid.h"
#include "xalloc.h"

static struct opts_common common;
static struct opts_db dbo;
static int64_t rows, batch, monitor_id, servers;

static const struct opt_spec specs[] = {
    {"rows", 0, NULL, OPT_INT, &rows, "100000", 1, 10000000, "N", "rows to insert"},
    {"batch", 0, NULL, OPT_INT, &batch, "1000", 1, 100000, "N", "rows per transaction"},
    {"monitor-id", 0, NULL, OPT_INT, &monitor_id, "1", 1, 4294967295.0, "ID", "monitor id of the rows"},
    {"servers", 0, NULL, OPT_INT, &servers, "10", 1, 100000, "N", "server ids 1..N"},
    {0},
};

static void make_entry(int64_t i, struct entry *e)
{
    struct msg_result r;
    memset(&r, 0, sizeof r);
    r.v = 1;
    ulid_new(r.id);
    snprintf(r.monitor, sizeof r.monitor, "pub1");
    r.has_server_id = true;
    r.server_id = 1 + i % servers;
    snprintf(r.ip, sizeof r.ip, "192.0.2.%d", (int)(r.server_id % 250) + 1);
    r.ts_us = time_now_us();
    r.status = MSG_STATUS_ACTIVE;
    r.n_samples = 3;
    for (size_t k = 0; k < 3; k++) {
        struct msg_sample *s = &r.samples[k];
        s->ts_us = r.ts_us - (int64_t)(2 - k) * 2000000;
        s->has_offset = s->has_rtt = true;
        s->offset = 0.000123 * (double)(k + 1) * ((i & 1) ? 1 : -1);
        s->rtt = 0.01 + 0.001 * (double)k;
        s->stratum = 2;
        snprintf(s->refid, sizeof s->refid, "GPS");
    }
    r.has_offset = r.has_rtt = true;
    r.offset = r.samples[0].offset;
    r.rtt = r.samples[0].rtt;
    r.stratum = 2;
    snprintf(r.refid, sizeof r.refid, "GPS");
    snprintf(r.agent, sizeof r.agent, "result-publisher/%s", NTPMON_VERSION);
    char *payload = msg_result_encode(&r);
    char topic[MSG_TOPIC_MAX];
    struct msg_topic t = {.kind = MSG_TOPIC_RESULT, .server_id = r.server_id};
    snprintf(t.monitor, sizeof t.monitor, "pub1");
    msg_topic_build(topic, sizeof topic, common.env, &t);
    intake_message(common.env, topic, payload, strlen(payload), time_now_us(), e);
    e->monitor_id = monitor_id;
    free(payload);
}

static int insert_chunk(struct db *db, void *arg)
{
    struct entry **v = arg;
    uint64_t inserted = 0;
    struct ingest_store_warning warn;
    size_t n = 0;
    while (v[n]) n++;
    return ingest_store_results(db, v, n, &inserted, &warn);
}

int main(int argc, char **argv)
{
    const struct opt_spec *groups[] = {opts_common_specs(&common), opts_db_specs(&dbo), specs, NULL};
    struct opt_program prog = {"ingest-dbload", "[options]", "Database ceiling for ingest's benchmark.", groups, NULL};
    opts_parse(&prog, argc, argv);
    opts_common_apply(&prog, &common);
    struct db_dsn dsn;
    char err[DB_ERR_LEN];
    opts_db_resolve(&prog, &dbo, common.env, &dsn);
    struct db *db = db_open(&dsn, false, err);
    if (!db) {
        fprintf(stderr, "ingest-dbload: %s\n", err);
        return 1;
    }
    struct entry *entries = xcalloc((size_t)rows, sizeof *entries);
    for (int64_t i = 0; i < rows; i++) {
        make_entry(i, &entries[i]);
        if (entries[i].kind != ENTRY_RESULT) {
            fprintf(stderr, "ingest-dbload: generated an invalid result: %s\n", entries[i].reason);
            return 1;
        }
    }
    struct entry **chunk = xcalloc((size_t)batch + 1, sizeof *chunk);
    int64_t t0 = time_mono_us();
    for (int64_t done = 0; done < rows;) {
        size_t n = 0;
        while (n < (size_t)batch && done < rows) chunk[n++] = &entries[done++];
        chunk[n] = NULL;
        if (db_tx(db, insert_chunk, chunk, 3) != 0) {
            fprintf(stderr, "ingest-dbload: %s\n", db_error(db));
            return 1;
        }
    }
    double secs = (time_mono_us() - t0) / 1e6;
    printf("dbload rows=%lld seconds=%.3f rows_per_s=%.0f\n", (long long)rows, secs, rows / secs);
    for (int64_t i = 0; i < rows; i++) entry_clear(&entries[i]);
    free(entries);
    free(chunk);
    db_close(db);
    return 0;
}
