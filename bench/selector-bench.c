/* selector-bench.c — the selector's benchmark (bench/selector.sh runs it): a synthetic pool of SERVERS × MONITORS
 * pairs (default 10 000 × 100) with a full 24 h of statistics in memory, then
 *   1. ingestion straight into the statistics (what a result costs once decoded),
 *   2. ingestion of result messages through the whole stream path (shared validator + step + statistics), beside
 *      json-c parsing the same messages alone (the ceiling of that path),
 *   3. a review of every server (statistics summaries + every rule), as the daemon runs it minus the database,
 * and the process's peak RSS. One thread: the figures are for one core. Prints a markdown table. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "results.h"
#include "rules.h"
#include "settings.h"
#include "stats.h"
#include "timeutil.h"
#include "xalloc.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

static double secs(int64_t from_us) { return (time_mono_us() - from_us) / 1e6; }

int main(int argc, char **argv)
{
    int n_srv = argc > 1 ? atoi(argv[1]) : 10000, n_mon = argc > 2 ? atoi(argv[2]) : 100;
    int n_msgs = argc > 3 ? atoi(argv[3]) : 200000;
    struct sel_settings cfg;
    sel_settings_defaults(&cfg);
    int64_t now = time_now_us();
    struct pool pool;
    pool_init(&pool);

    /* The pool: monitors in their own /16s and accounts, 7 active, 8 testing and the rest candidates per server. */
    int64_t t = time_mono_us();
    pool_scan_begin(&pool);
    char name[32], ip[48];
    for (int m = 1; m <= n_mon; m++) {
        snprintf(name, sizeof name, "mon-%03d", m);
        snprintf(ip, sizeof ip, "10.%d.%d.1", m % 250, m / 250);
        pool_upsert_monitor(&pool, m, name, m % 10 == 0 ? SEL_MON_TESTING : SEL_MON_ACTIVE, 1000 + m, ip, NULL);
    }
    for (int s = 1; s <= n_srv; s++) {
        snprintf(ip, sizeof ip, "100.%d.%d.%d", 64 + s / 65536, (s / 256) % 256, s % 256);
        pool_upsert_server(&pool, s, ip, 1, false);
        for (int m = 1; m <= n_mon; m++) {
            int k = (m + s) % n_mon; /* a different set of actives on every server */
            enum msg_pair_status st = k < 7 ? MSG_STATUS_ACTIVE : k < 15 ? MSG_STATUS_TESTING : MSG_STATUS_CANDIDATE;
            pool_upsert_pair(&pool, s, m, st);
        }
    }
    pool_scan_end(&pool);
    double build_s = secs(t);

    /* 1. 24 h of results at the assignment intervals, straight into the statistics. */
    uint64_t n_results = 0;
    t = time_mono_us();
    for (size_t k = 0; k < pool.n_pairs; k++) {
        struct pool_pair *pp = &pool.pairs[k];
        int interval = pool_interval(&cfg, &pool.mon[pp->monitor], (enum msg_pair_status)pp->status);
        int64_t phase = (int64_t)(rnd() % (uint64_t)interval);
        double base_rtt = 5 + (double)(rnd() % 200);
        for (int64_t at = (int64_t)cfg.stats_window_s - 1 - phase; at >= 0; at -= interval) {
            uint64_t r = rnd();
            double step = (r & 63) == 0 ? -5 : 1, rtt = step > 0 ? base_rtt + (double)(r % 7) : 0;
            stats_add(&pp->stats, now - at * 1000000, (uint16_t)r, step, rtt, now, cfg.stats_window_s);
            n_results++;
        }
    }
    double direct_s = secs(t);
    long pool_rss = peak_rss_kb();

    /* 2. Result messages through the stream path (validator + step + statistics), in batches so the benchmark's
     * own messages do not weigh on the peak RSS. */
    enum { BATCH = 20000 };
    char **msgs = xcalloc(BATCH, sizeof *msgs), **topics = xcalloc(BATCH, sizeof *topics);
    uint64_t outcome[RESULTS_N_OUTCOMES] = {0}, parsed = 0;
    double parse_s = 0, stream_s = 0;
    char err[MSG_ERR_LEN];
    for (int done = 0; done < n_msgs; done += BATCH) {
        int nb = n_msgs - done < BATCH ? n_msgs - done : BATCH;
        for (int i = 0; i < nb; i++) {
            int s = 1 + (int)(rnd() % (uint64_t)n_srv), m = 1 + (int)(rnd() % (uint64_t)n_mon);
            char ts[TIME_RFC3339_LEN], id[ULID_LEN + 1];
            time_format_rfc3339(now - (int64_t)(rnd() % 3600) * 1000000, ts);
            static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
            id[0] = '0';
            for (int c = 1; c < 26; c++) id[c] = b32[rnd() % 32];
            id[26] = '\0';
            snprintf(name, sizeof name, "mon-%03d", m);
            topics[i] = xasprintf("ntpmon/bench/results/%d/%s", s, name);
            msgs[i] = xasprintf("{\"v\":1,\"id\":\"%s\",\"monitor\":\"%s\",\"server_id\":%d,\"ip\":\"%s\",\"ts\":\"%s\","
                                "\"status\":\"candidate\",\"offset\":0.000123,\"rtt\":0.012345,\"stratum\":2,\"leap\":0,"
                                "\"refid\":\"GPS\",\"error\":\"\",\"samples\":[{\"ts\":\"%s\",\"offset\":0.000123,"
                                "\"rtt\":0.012345,\"stratum\":2,\"leap\":0,\"refid\":\"GPS\",\"error\":\"\"}],"
                                "\"agent\":\"ntpmon-agent/0.1.0\"}",
                                id, name, s, pool.srv[s - 1].ip, ts, ts);
        }
        t = time_mono_us();
        for (int i = 0; i < nb; i++) {
            json_object *o = json_tokener_parse(msgs[i]);
            parsed += o != NULL;
            json_object_put(o);
        }
        parse_s += secs(t);
        t = time_mono_us();
        for (int i = 0; i < nb; i++)
            outcome[results_ingest(&pool, "bench", topics[i], msgs[i], strlen(msgs[i]), now, cfg.stats_window_s, err)]++;
        stream_s += secs(t);
        for (int i = 0; i < nb; i++) {
            free(msgs[i]);
            free(topics[i]);
        }
    }
    free(msgs);
    free(topics);

    /* 3. A review of every server, as the daemon runs it (minus the database). */
    struct sel_pair *pairs = xcalloc((size_t)n_mon, sizeof *pairs);
    struct sel_server server = {0};
    uint64_t changes = 0, guards = 0;
    t = time_mono_us();
    for (size_t s = 0; s < pool.n_srv; s++) {
        struct pool_server *ps = &pool.srv[s];
        server.id = ps->id;
        server.has_addr = netaddr_parse(ps->ip, &server.addr) == 0;
        server.account_id = ps->account_id;
        for (uint32_t k = 0; k < ps->n_pairs; k++) {
            const struct pool_pair *pp = &pool.pairs[ps->pairs[k]];
            const struct pool_monitor *pm = &pool.mon[pp->monitor];
            struct stats_summary sum;
            stats_summarize(&pp->stats, now, cfg.stats_window_s, &sum);
            pairs[k] = (struct sel_pair){.monitor_id = pm->id, .monitor_name = pm->name, .global = pm->status,
                                         .status = (enum msg_pair_status)pp->status, .account_id = pm->account_id,
                                         .has_addr = pm->has4, .addr = pm->ip4, .count = sum.count,
                                         .avg_step = sum.avg_step, .avg_rtt_ms = sum.avg_rtt_ms};
        }
        struct sel_result res;
        sel_review(&cfg, &server, pairs, ps->n_pairs, now, &res);
        changes += res.n_changes;
        guards += res.guard;
        sel_result_free(&res);
    }
    double review_s = secs(t);
    free(pairs);

    long rss = peak_rss_kb();
    printf("| pool | %d servers × %d monitors = %zu pairs, %llu results of 24 h in memory (%.0f MB of entries) |\n",
           n_srv, n_mon, pool.n_pairs, (unsigned long long)n_results, pool_stats_bytes(&pool) / 1048576.0);
    printf("| building the pool | %.2f s |\n", build_s);
    printf("| ingestion into the statistics (decoded) | %.0f results/s (%llu in %.2f s) |\n", n_results / direct_s,
           (unsigned long long)n_results, direct_s);
    printf("| ingestion through the stream path (validate + step + statistics) | %.0f results/s (%d messages; added %llu, "
           "duplicate %llu, other %llu) |\n",
           n_msgs / stream_s, n_msgs, (unsigned long long)outcome[RESULTS_ADDED],
           (unsigned long long)outcome[RESULTS_DUPLICATE],
           (unsigned long long)(n_msgs - outcome[RESULTS_ADDED] - outcome[RESULTS_DUPLICATE]));
    printf("| ceiling: json-c parsing the same messages alone | %.0f messages/s |\n", parsed / parse_s);
    printf("| review of every server (summaries + rules) | %.2f s for %zu servers (%.0f µs each; %llu changes planned) |\n",
           review_s, pool.n_srv, review_s * 1e6 / (double)pool.n_srv, (unsigned long long)changes);
    printf("| peak RSS | %.0f MB with the pool and its statistics; %.0f MB at the end |\n", pool_rss / 1024.0, rss / 1024.0);
    (void)guards;
    pool_free(&pool);
    return 0;
}
