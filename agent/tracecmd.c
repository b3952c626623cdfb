/* tracecmd.c — `ntpmon-agent trace [--ntp-port P] [--max-hops N] IP`: one trace on the trace engine, printed as the
 * path part of a trace message: {"ip","port","reached","hops":[{"ttl","addr","rtt":[…]}…]}. The same forbidden
 * targets as `check`. Exit 0 when a trace was made, 1 when the local network stack refused before any hop. */
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "evloop.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "trace.h"
#include "xalloc.h"

struct trace_run {
    struct evloop *loop;
    struct msg_trace *m;
    char error[MSG_ERROR_MAX];
    uint64_t sent;
    int64_t duration_us;
};

static void on_done(struct trace *t, const struct trace_outcome *oc, void *arg)
{
    (void)t;
    struct trace_run *run = arg;
    trace_outcome_to_msg(oc, run->m);
    snprintf(run->error, sizeof run->error, "%s", oc->error);
    run->sent = oc->packets_sent;
    run->duration_us = oc->duration_us;
    evloop_stop(run->loop);
}

int agent_trace(const struct agent_opts *o, const char *ip)
{
    struct netaddr addr;
    if (agent_parse_target(o, "trace", ip, &addr) < 0) return 2;
    struct trace_run run = {.loop = evloop_new(), .m = xcalloc(1, sizeof *run.m)};
    struct trace_config tc = {.port = (uint16_t)o->ntp_port, .max_hops = (int)o->trace_max_hops,
                              .probes = (int)o->trace_probes, .max_silent = (int)o->trace_silent,
                              .timeout_us = o->trace_timeout_us, .max_running = 1};
    struct trace_engine *e = trace_engine_new(run.loop, &tc);
    trace_start(e, &addr, 0, on_done, &run);
    evloop_run(run.loop);
    trace_engine_free(e);
    evloop_free(run.loop);
    int rc = 0;
    if (run.error[0]) {
        fprintf(stderr, "%s: the trace of %s stopped: %s\n", AGENT_NAME, ip, run.error);
        if (run.m->n_hops == 0 || (run.m->n_hops == 1 && !run.m->hops[0].has_addr)) rc = 1;
    }
    LOG(INFO, "trace of %s: %zu hops, %s, %llu packets, %.6f s", ip, run.m->n_hops,
        run.m->reached ? "reached" : "not reached", (unsigned long long)run.sent, run.duration_us / 1e6);
    char *json = msg_trace_path_encode(run.m);
    if (!json) {
        fprintf(stderr, "%s: out of memory\n", AGENT_NAME);
        free(run.m);
        return 2;
    }
    puts(json);
    fflush(stdout);
    free(json);
    free(run.m);
    return rc;
}
