/* agent-spool.c — what the agent's on-disk spool costs: appends with fsync per result, per group of results and
 * without fsync; confirmations; replay (restart) of a full spool; compaction. Prints a table.
 *   agent-spool [N] [DIR]   (default: N = 100000, a temporary directory under /var/tmp) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "timeutil.h"
#include "ulid.h"
#include "xalloc.h"

static const char *payload =
    "{\"v\":1,\"id\":\"01M853PS5V083YHWED6PGRRG14\",\"monitor\":\"nl-ams1\",\"server_id\":1234,\"ip\":\"192.0.2.1\","
    "\"ts\":\"2026-11-23T19:00:00.123456Z\",\"status\":\"active\",\"offset\":0.000123,\"rtt\":0.012345,\"stratum\":2,"
    "\"leap\":0,\"refid\":\"GPS\",\"error\":\"\",\"samples\":[{\"ts\":\"2026-11-23T19:00:00.123456Z\",\"offset\":0.000123,"
    "\"rtt\":0.012345,\"stratum\":2,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\"},{\"ts\":\"2026-11-23T19:00:02.123456Z\","
    "\"offset\":0.000125,\"rtt\":0.012401,\"stratum\":2,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\"},{\"ts\":"
    "\"2026-11-23T19:00:04.123456Z\",\"offset\":0.000121,\"rtt\":0.012390,\"stratum\":2,\"leap\":0,\"refid\":\"GPS\","
    "\"error\":\"\"}],\"agent\":\"ntpmon-agent/0.1.0\"}";

static void row(const char *what, size_t n, int64_t us)
{
    printf("| %-46s | %8zu | %10.1f | %12.0f |\n", what, n, us / 1000.0, n / (us / 1e6));
}

int main(int argc, char **argv)
{
    log_set_level(LOG_LEVEL_ERROR);
    char tmpl[] = "/var/tmp/agent-spool.XXXXXX";
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 100000;
    const char *dir = argc > 2 ? argv[2] : mkdtemp(tmpl);
    if (n < 1) n = 1;
    if (!dir) return 1;
    char *path = xasprintf("%s/spool.log", dir);
    char err[256];
    size_t plen = strlen(payload);
    char (*ids)[ULID_LEN + 1] = xcalloc(n, sizeof *ids);
    for (size_t i = 0; i < n; i++) ulid_new(ids[i]);
    printf("spool cost, %zu-byte results, file in %s\n\n", plen, dir);
    printf("| %-46s | %8s | %10s | %12s |\n", "operation", "results", "ms", "results/s");
    printf("|%s|%s|%s|%s|\n", "------------------------------------------------", "----------", "------------",
           "--------------");

    /* fsync per result: the cost when results trickle in one at a time */
    unlink(path);
    struct spool *sp = spool_open(path, n, true, err, sizeof err);
    if (!sp) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t k = n < 2000 ? n : 2000;
    int64_t t0 = time_mono_us();
    for (size_t i = 0; i < k; i++) {
        spool_add(sp, ids[i], 1234, payload, plen);
        spool_sync(sp);
    }
    row("append + fdatasync each", k, time_mono_us() - t0);
    spool_close(sp);

    /* group commit: one fsync per 100 results (a busy loop iteration) */
    unlink(path);
    sp = spool_open(path, n, true, err, sizeof err);
    t0 = time_mono_us();
    for (size_t i = 0; i < n; i++) {
        spool_add(sp, ids[i], 1234, payload, plen);
        if (i % 100 == 99) spool_sync(sp);
    }
    spool_sync(sp);
    row("append, fdatasync per 100", n, time_mono_us() - t0);
    struct spool_stats st;
    spool_get_stats(sp, &st);
    printf("| %-46s | %8zu | %10.1f | %12s |\n", "  spool file size (MB)", st.live, st.file_bytes / 1e6, "");
    spool_close(sp);

    /* restart with a full spool */
    t0 = time_mono_us();
    sp = spool_open(path, n, true, err, sizeof err);
    row("replay (restart) of a full spool", spool_live(sp), time_mono_us() - t0);

    /* read back for sending */
    t0 = time_mono_us();
    size_t sent = 0;
    const struct spool_entry *e;
    while ((e = spool_next_due(sp))) {
        free(spool_payload(sp, e));
        spool_mark_sent(sp, e, 1);
        sent++;
    }
    row("read for sending", sent, time_mono_us() - t0);

    /* confirmations (with the compactions they trigger) */
    t0 = time_mono_us();
    for (size_t i = 0; i < n; i++) spool_confirm(sp, ids[i]);
    spool_sync(sp);
    row("confirm (incl. compactions)", n, time_mono_us() - t0);
    spool_get_stats(sp, &st);
    printf("| %-46s | %8llu | %10s | %12s |\n", "  compactions during confirm", (unsigned long long)st.compactions, "",
           "");
    spool_close(sp);

    /* no fsync at all (--no-spool-fsync) */
    unlink(path);
    sp = spool_open(path, n, false, err, sizeof err);
    t0 = time_mono_us();
    for (size_t i = 0; i < n; i++) spool_add(sp, ids[i], 1234, payload, plen);
    row("append, no fsync (--no-spool-fsync)", n, time_mono_us() - t0);
    spool_close(sp);
    unlink(path);
    if (argc <= 2) rmdir(dir);
    free(ids);
    free(path);
    return 0;
}
