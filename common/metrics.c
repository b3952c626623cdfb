/* metrics.c — the metric registry (append-only array, values as atomic doubles) and the HTTP endpoint. The HTTP
 * thread only reads; the daemon's loop only writes, so no lock is held on the hot path. libmicrohttpd is loaded
 * with dlopen when metrics are first served: linked normally it pulls GnuTLS and eight more libraries into every
 * daemon (≈2.4 MB of RSS in the agent) even with metrics off. */
#include "metrics.h"

#include <dlfcn.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netaddr.h"

#define MAX_METRICS 256

struct metric {
    const char *name, *help, *labels;
    bool is_counter;
    _Atomic uint64_t bits; /* a double's bits */
};

static struct metric metrics[MAX_METRICS];
static struct metric overflow;
static _Atomic size_t n_metrics;
static struct MHD_Daemon *daemon_handle;

/* The libmicrohttpd functions we use, resolved at run time. */
static struct {
    void *lib;
    struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                       MHD_AccessHandlerCallback, void *, ...);
    void (*stop_daemon)(struct MHD_Daemon *);
    struct MHD_Response *(*response_from_buffer)(size_t, void *, enum MHD_ResponseMemoryMode);
    enum MHD_Result (*add_header)(struct MHD_Response *, const char *, const char *);
    enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
    void (*destroy_response)(struct MHD_Response *);
} mhd;

static int mhd_load(char *err, size_t err_len)
{
    if (mhd.lib) return 0;
    void *lib = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, err_len, "cannot load libmicrohttpd for --metrics-listen: %s", dlerror());
        return -1;
    }
    /* POSIX dlsym returns void *; converting it to a function pointer is the documented way to use it */
    *(void **)&mhd.start_daemon = dlsym(lib, "MHD_start_daemon");
    *(void **)&mhd.stop_daemon = dlsym(lib, "MHD_stop_daemon");
    *(void **)&mhd.response_from_buffer = dlsym(lib, "MHD_create_response_from_buffer");
    *(void **)&mhd.add_header = dlsym(lib, "MHD_add_response_header");
    *(void **)&mhd.queue_response = dlsym(lib, "MHD_queue_response");
    *(void **)&mhd.destroy_response = dlsym(lib, "MHD_destroy_response");
    if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.response_from_buffer || !mhd.add_header ||
        !mhd.queue_response || !mhd.destroy_response) {
        snprintf(err, err_len, "libmicrohttpd lacks a function ntpmon needs");
        dlclose(lib);
        memset(&mhd, 0, sizeof mhd);
        return -1;
    }
    mhd.lib = lib;
    return 0;
}
static pthread_mutex_t health_lock = PTHREAD_MUTEX_INITIALIZER;
static bool healthy = true;
static char health_reason[256] = "";

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static struct metric *reg(const char *name, const char *help, const char *labels, bool counter)
{
    size_t n = atomic_load(&n_metrics);
    if (n >= MAX_METRICS) {
        LOG(WARN, "metrics: registry full, %s not exported", name);
        return &overflow;
    }
    struct metric *m = &metrics[n];
    m->name = name;
    m->help = help;
    m->labels = labels;
    m->is_counter = counter;
    atomic_store(&m->bits, to_bits(0));
    atomic_store(&n_metrics, n + 1); /* publish after the entry is complete */
    return m;
}

struct metric *metrics_counter(const char *name, const char *help, const char *labels) { return reg(name, help, labels, true); }
struct metric *metrics_gauge(const char *name, const char *help, const char *labels) { return reg(name, help, labels, false); }

void metric_add(struct metric *m, double v)
{
    uint64_t old = atomic_load(&m->bits);
    while (!atomic_compare_exchange_weak(&m->bits, &old, to_bits(from_bits(old) + v))) {
    }
}

void metric_inc(struct metric *m) { metric_add(m, 1); }
void metric_set(struct metric *m, double v) { atomic_store(&m->bits, to_bits(v)); }
double metric_value(const struct metric *m) { return from_bits(atomic_load(&((struct metric *)m)->bits)); }

bool metrics_health(char *reason, size_t len)
{
    pthread_mutex_lock(&health_lock);
    bool ok = healthy;
    if (reason && len) snprintf(reason, len, "%s", ok ? "" : health_reason);
    pthread_mutex_unlock(&health_lock);
    return ok;
}

void metrics_set_health(bool ok, const char *reason)
{
    pthread_mutex_lock(&health_lock);
    healthy = ok;
    snprintf(health_reason, sizeof health_reason, "%s", reason ? reason : "");
    pthread_mutex_unlock(&health_lock);
}

char *metrics_render(void)
{
    size_t n = atomic_load(&n_metrics);
    size_t cap = 4096 + n * 256, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct metric *m = &metrics[i];
        bool first = true;
        for (size_t j = 0; j < i; j++)
            if (strcmp(metrics[j].name, m->name) == 0) first = false;
        if (first && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
                                    m->is_counter ? "counter" : "gauge");
        if (len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s %.17g\n", m->name, m->labels ? "{" : "",
                                    m->labels ? m->labels : "", m->labels ? "}" : "", metric_value(m));
    }
    return out;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)con_cls;
    struct MHD_Response *resp;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        resp = mhd.response_from_buffer(19, (void *)"method not allowed\n", MHD_RESPMEM_PERSISTENT);
    } else if (strcmp(url, "/metrics") == 0) {
        char *text = metrics_render();
        if (!text) return MHD_NO;
        resp = mhd.response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        mhd.add_header(resp, "Content-Type", "text/plain; version=0.0.4");
    } else if (strcmp(url, "/healthz") == 0) {
        char body[300];
        pthread_mutex_lock(&health_lock);
        if (healthy) snprintf(body, sizeof body, "ok\n");
        else snprintf(body, sizeof body, "unhealthy: %s\n", health_reason);
        status = healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
        pthread_mutex_unlock(&health_lock);
        resp = mhd.response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    } else {
        status = MHD_HTTP_NOT_FOUND;
        resp = mhd.response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
    }
    enum MHD_Result r = mhd.queue_response(conn, status, resp);
    mhd.destroy_response(resp);
    return r;
}

int metrics_listen(const char *listen, char *err, size_t err_len)
{
    struct sockaddr_storage ss;
    socklen_t ss_len;
    uint16_t port;
    char why[160];
    if (netaddr_parse_listen(listen, &ss, &ss_len, &port, why, sizeof why) < 0) {
        snprintf(err, err_len, "metrics %s", why);
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    /* The server thread inherits our signal mask: block everything while it starts, so SIGTERM and friends
     * reach the daemon's signalfd instead of killing the process from the metrics thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (mhd_load(err, err_len) < 0) return -1;
    daemon_handle = mhd.start_daemon(flags, port, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR,
                                     (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 16,
                                     MHD_OPTION_CONNECTION_TIMEOUT, 10, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!daemon_handle) {
        snprintf(err, err_len, "cannot serve metrics on %s (address in use?)", listen);
        return -1;
    }
    LOG(INFO, "metrics on http://%s/metrics", listen);
    return 0;
}

void metrics_stop(void)
{
    if (daemon_handle) mhd.stop_daemon(daemon_handle);
    daemon_handle = NULL;
}
