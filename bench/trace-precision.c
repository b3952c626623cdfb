/* bench/trace-precision.c — does tracing disturb probing? One event loop, as in the agent: PROBES probes of an NTP
 * server one after another (3 queries 10 ms apart, the chosen sample's offset and rtt), while TRACES traces of
 * TRACE_IP run back to back on the same loop (0 = none). Prints one line:
 *   probes p50_abs_offset_us p99_abs_offset_us max_abs_offset_us p50_rtt_us p99_rtt_us traces_done packets
 * usage: trace-precision IP PORT PROBES TRACES TRACE_IP */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "probe.h"
#include "trace.h"

static struct evloop *loop;
static struct probe_engine *pe;
static struct trace_engine *te;
static struct netaddr target, trace_target;
static int want, done_probes;
static double *offs, *rtts;
static long traces_done, packets;

static void next_probe(void);

static void on_probe(struct probe *p, const struct probe_outcome *o, void *arg)
{
    (void)p;
    (void)arg;
    const struct probe_sample *s = &o->samples[o->chosen];
    if (o->n && s->s.has_offset) {
        offs[done_probes] = fabs(s->s.offset);
        rtts[done_probes] = s->s.rtt;
        done_probes++;
    } else {
        want--; /* a lost probe is not a measurement */
    }
    if (done_probes >= want) evloop_stop(loop);
    else next_probe();
}

static void next_probe(void) { probe_start(pe, &target, 0, 3, on_probe, NULL); }

static void on_trace(struct trace *t, const struct trace_outcome *o, void *arg)
{
    (void)t;
    (void)arg;
    traces_done++;
    packets += (long)o->packets_sent;
    if (!evloop_stopping(loop)) trace_start(te, &trace_target, 0, on_trace, NULL);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double q(double *v, int n, double p)
{
    int i = (int)ceil(p * n) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

int main(int argc, char **argv)
{
    if (argc != 6 || netaddr_parse(argv[1], &target) < 0 || netaddr_parse(argv[5], &trace_target) < 0) {
        fprintf(stderr, "usage: %s IP PORT PROBES TRACES TRACE_IP\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[2]), traces = atoi(argv[4]);
    want = atoi(argv[3]);
    offs = calloc((size_t)want, sizeof *offs);
    rtts = calloc((size_t)want, sizeof *rtts);
    loop = evloop_new();
    struct probe_config pc = {.port = (uint16_t)port, .timeout_us = 1000000, .spacing_us = 10000, .max_sockets = 64};
    pe = probe_engine_new(loop, &pc);
    struct trace_config tc = {.port = (uint16_t)port, .max_hops = 30, .probes = 3, .max_silent = 3,
                              .timeout_us = 1000000, .max_running = traces > 0 ? traces : 1};
    te = trace_engine_new(loop, &tc);
    for (int i = 0; i < traces; i++) trace_start(te, &trace_target, 0, on_trace, NULL);
    next_probe();
    evloop_run(loop);
    int n = done_probes;
    if (n == 0) return 1;
    qsort(offs, (size_t)n, sizeof *offs, cmp);
    qsort(rtts, (size_t)n, sizeof *rtts, cmp);
    printf("%d %.1f %.1f %.1f %.1f %.1f %ld %ld\n", n, q(offs, n, 0.5) * 1e6, q(offs, n, 0.99) * 1e6, offs[n - 1] * 1e6,
           q(rtts, n, 0.5) * 1e6, q(rtts, n, 0.99) * 1e6, traces_done, packets);
    trace_engine_free(te);
    probe_engine_free(pe);
    evloop_free(loop);
    free(offs);
    free(rtts);
    return 0;
}
