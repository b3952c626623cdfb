/* check.c — `ntpmon-agent check IP…`: probes every address at once (IPv4 and IPv6) on the probe engine and prints
 * one result message per line, in argument order: exactly DESIGN.md §2's result without server_id and status.
 * Also the command-line helpers `check` and `trace` share: the target rule, the monitor's name, the fd limit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent.h"
#include "evloop.h"
#include "log.h"
#include "msg.h"
#include "netaddr.h"
#include "probe.h"
#include "state.h"
#include "ulid.h"
#include "xalloc.h"

struct check_item {
    struct netaddr addr;
    bool done;
    struct msg_result r;
};

struct check_run {
    struct evloop *loop;
    size_t left;
};

static struct check_run run;

static void on_done(struct probe *p, const struct probe_outcome *oc, void *arg)
{
    (void)p;
    struct check_item *it = arg;
    probe_outcome_to_result(oc, &it->r);
    it->done = true;
    if (--run.left == 0) evloop_stop(run.loop);
}

/* The name results carry: the monitor's own when state.json is readable, else the host name. */
void agent_monitor_name(const struct agent_opts *o, char out[MSG_NAME_MAX])
{
    char *dir = state_env_dir(o->state_dir, o->common.env);
    char *path = xasprintf("%s/%s", dir, STATE_FILE);
    struct agent_state st;
    char err[256];
    int saved = log_get_level();
    log_set_level(LOG_LEVEL_ERROR);
    int rc = access(path, R_OK) == 0 ? state_load(path, &st, err, sizeof err) : -1;
    log_set_level((enum log_level)saved);
    free(path);
    free(dir);
    if (rc == 0) {
        snprintf(out, MSG_NAME_MAX, "%s", st.name);
        state_free(&st);
        return;
    }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    host[strcspn(host, ".")] = '\0';
    size_t k = 0;
    for (size_t i = 0; host[i] && k < MSG_NAME_MAX - 1; i++) {
        char c = host[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
            out[k++] = c;
    }
    out[k] = '\0';
    if (!msg_name_is_valid(out)) snprintf(out, MSG_NAME_MAX, "check");
}


void agent_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

unsigned agent_target_allow(const struct agent_opts *o)
{
    return (o->allow_loopback ? NETADDR_ALLOW_LOOPBACK : 0u) |
           (o->allow_documentation_nets ? NETADDR_ALLOW_DOCUMENTATION : 0u);
}

int agent_parse_target(const struct agent_opts *o, const char *verb, const char *text, struct netaddr *out)
{
    if (netaddr_parse(text, out) < 0) {
        fprintf(stderr, "%s: '%s' is not an IP address\n", AGENT_NAME, text);
        return -1;
    }
    const char *why = netaddr_forbidden_reason(out, agent_target_allow(o));
    if (why) {
        const char *hint = strcmp(why, "loopback") == 0        ? " (--allow-loopback allows it)"
                           : strcmp(why, "documentation") == 0 ? " (--allow-documentation-nets allows it in labs and tests)"
                                                               : "";
        fprintf(stderr, "%s: refusing to %s %s: %s address%s\n", AGENT_NAME, verb, text, why, hint);
        return -1;
    }
    int fam = out->family;
    if ((fam == AF_INET && o->no_ipv4) || (fam == AF_INET6 && o->no_ipv6)) {
        fprintf(stderr, "%s: refusing to %s %s: IPv%d is turned off\n", AGENT_NAME, verb, text, fam == AF_INET ? 4 : 6);
        return -1;
    }
    return 0;
}

int agent_check(const struct agent_opts *o, int n, char **ips)
{
    struct check_item *items = xcalloc((size_t)n, sizeof *items);
    for (int i = 0; i < n; i++) {
        if (agent_parse_target(o, "probe", ips[i], &items[i].addr) < 0) {
            free(items);
            return 2;
        }
    }
    agent_raise_fd_limit();
    char name[MSG_NAME_MAX];
    agent_monitor_name(o, name);
    run.loop = evloop_new();
    run.left = (size_t)n;
    struct probe_config pc = {.port = (uint16_t)o->ntp_port, .timeout_us = o->timeout_us,
                              .spacing_us = o->spacing_us, .max_sockets = (int)o->max_sockets};
    struct probe_engine *eng = probe_engine_new(run.loop, &pc);
    for (int i = 0; i < n; i++) probe_start(eng, &items[i].addr, 0, (int)o->samples, on_done, &items[i]);
    evloop_run(run.loop);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        struct msg_result *r = &items[i].r;
        r->v = 1;
        ulid_new(r->id);
        snprintf(r->monitor, sizeof r->monitor, "%s", name);
        snprintf(r->agent, sizeof r->agent, "%s", agent_version_string());
        char *json = msg_result_encode(r);
        if (!json) {
            fprintf(stderr, "%s: out of memory\n", AGENT_NAME);
            rc = 2;
            break;
        }
        fputs(json, stdout);
        fputc('\n', stdout);
        free(json);
        if (r->error[0]) rc = 1;
    }
    fflush(stdout);
    probe_engine_free(eng);
    evloop_free(run.loop);
    free(items);
    return rc;
}
