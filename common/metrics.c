/* metrics.c — the metric registry (append-only array, values as atomic doubles) and the HTTP endpoint. The HTTP
 * thread only reads; the daemon's loop only writes, so no lock is held on the hot path. libmicrohttpd is loaded
 * with dlopen when metrics are first served: linked normally it pulls GnuTLS and eight more libraries into every
 * daemon (≈2.4 MB of RSS in the agent) even with metrics off.
 *
 * The endpoint must keep answering a liveness probe whatever other clients do (issue 19: 16 clients trickling
 * header lines held every slot). So: epoll (no FD_SETSIZE limit), a connection cap well above any scraper's
 * needs, a per-IP cap, and a deadline for each whole request — libmicrohttpd's own timeout is only an idle
 * timeout, which a client sending one byte now and then never reaches. Our own thread runs the server
 * (MHD_run_wait) and, between rounds, shuts down every connection whose request is overdue; the connections are
 * tracked through libmicrohttpd's connection notifications, all on that one thread. */
#include "metrics.h"

#include <dlfcn.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "netaddr.h"
#include "timeutil.h"

#define MAX_METRICS 256
#define RUN_WAIT_MS 200 /* how long the server thread blocks at most: the deadline check and stop latency */

struct metric {
    const char *name, *help, *labels;
    bool is_counter;
    _Atomic uint64_t bits; /* a double's bits */
};

static struct metric metrics[MAX_METRICS];
static struct metric overflow;
static _Atomic size_t n_metrics;
static struct MHD_Daemon *daemon_handle;
static pthread_t server_thread;
static atomic_bool server_stop;
static int64_t request_timeout_us;

/* A connection being served: since when its current request may run (accept, or the previous response). */
struct tracked_conn {
    struct MHD_Connection *conn;
    int64_t since_us;
    bool cut;
    struct tracked_conn *prev, *next;
};
static struct tracked_conn *tracked; /* only touched by the server thread */

/* The libmicrohttpd functions we use, resolved at run time. */
static struct {
    void *lib;
    struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                       MHD_AccessHandlerCallback, void *, ...);
    void (*stop_daemon)(struct MHD_Daemon *);
    enum MHD_Result (*run_wait)(struct MHD_Daemon *, int32_t);
    const union MHD_ConnectionInfo *(*connection_info)(struct MHD_Connection *, enum MHD_ConnectionInfoType, ...);
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
    *(void **)&mhd.run_wait = dlsym(lib, "MHD_run_wait");
    *(void **)&mhd.connection_info = dlsym(lib, "MHD_get_connection_info");
    *(void **)&mhd.response_from_buffer = dlsym(lib, "MHD_create_response_from_buffer");
    *(void **)&mhd.add_header = dlsym(lib, "MHD_add_response_header");
    *(void **)&mhd.queue_response = dlsym(lib, "MHD_queue_response");
    *(void **)&mhd.destroy_response = dlsym(lib, "MHD_destroy_response");
    if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.run_wait || !mhd.connection_info ||
        !mhd.response_from_buffer || !mhd.add_header || !mhd.queue_response || !mhd.destroy_response) {
        snprintf(err, err_len, "libmicrohttpd lacks a function ntpmon needs (0.9.73 or newer is required)");
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

/* ---------- the HTTP server (all on the server thread) ---------- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct tracked_conn *t = calloc(1, sizeof *t);
        *socket_context = t;
        if (!t) return; /* untracked: only the idle timeout applies to it */
        t->conn = conn;
        t->since_us = time_mono_us();
        t->next = tracked;
        if (tracked) tracked->prev = t;
        tracked = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct tracked_conn *t = *socket_context;
        if (!t) return;
        if (t->prev) t->prev->next = t->next;
        else tracked = t->next;
        if (t->next) t->next->prev = t->prev;
        free(t);
        *socket_context = NULL;
    }
}

/* Ends every connection whose request has run past the deadline: shutdown() makes libmicrohttpd see the end of
 * the stream on its next round and close it (it owns the descriptor). */
static void cut_overdue(void)
{
    int64_t now = time_mono_us();
    for (struct tracked_conn *t = tracked; t; t = t->next) {
        if (t->cut || now - t->since_us < request_timeout_us) continue;
        const union MHD_ConnectionInfo *ci = mhd.connection_info(t->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci) continue;
        shutdown(ci->connect_fd, SHUT_RDWR);
        t->cut = true;
        LOG(INFO, "metrics: a request took longer than %.1f s: connection closed", (double)request_timeout_us / 1e6);
    }
}

static void *serve(void *arg)
{
    (void)arg;
    while (!atomic_load(&server_stop)) {
        mhd.run_wait(daemon_handle, RUN_WAIT_MS);
        cut_overdue();
    }
    return NULL;
}

/* libmicrohttpd's error log through ours: rate-limited, so a flood of refused connections cannot flood the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    LOG(WARN, "metrics: %s", line);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)con_cls;
    /* the request is complete: the next one on this connection gets a fresh deadline from now */
    const union MHD_ConnectionInfo *ci = mhd.connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context) ((struct tracked_conn *)ci->socket_context)->since_us = time_mono_us();
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

int metrics_listen(const char *listen, const struct metrics_limits *limits, char *err, size_t err_len)
{
    struct metrics_limits lim = METRICS_LIMITS_DEFAULT;
    if (limits) lim = *limits;
    if (lim.request_timeout_us < 100000 || lim.max_connections < 1 || lim.max_per_ip < 1 ||
        lim.max_connections > 65536 || lim.max_per_ip > lim.max_connections) {
        snprintf(err, err_len, "metrics limits out of range (request timeout ≥ 0.1 s, 1 ≤ per-IP ≤ connections ≤ 65536)");
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t ss_len;
    uint16_t port;
    char why[160];
    if (netaddr_parse_listen(listen, &ss, &ss_len, &port, why, sizeof why) < 0) {
        snprintf(err, err_len, "metrics %s", why);
        return -1;
    }
    /* no internal thread: ours runs the server (see the top of this file); epoll has no FD_SETSIZE limit */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    if (daemon_handle) {
        snprintf(err, err_len, "metrics are already served");
        return -1;
    }
    if (mhd_load(err, err_len) < 0) return -1;
    request_timeout_us = lim.request_timeout_us;
    /* libmicrohttpd's idle timeout, in whole seconds: never shorter than the request deadline, which acts first */
    unsigned idle_s = (unsigned)((lim.request_timeout_us + 999999) / 1000000);
    /* the logger first: libmicrohttpd logs errors in option parsing with whatever logger is set by then */
    daemon_handle = mhd.start_daemon(flags, port, NULL, NULL, answer, NULL, MHD_OPTION_EXTERNAL_LOGGER,
                                     mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)lim.max_connections,
                                     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)lim.max_per_ip,
                                     MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_NOTIFY_CONNECTION,
                                     on_connection, NULL, MHD_OPTION_END);
    if (!daemon_handle) {
        snprintf(err, err_len, "cannot serve metrics on %s (address in use?)", listen);
        return -1;
    }
    /* The server thread inherits our signal mask: block everything while it starts, so SIGTERM and friends
     * reach the daemon's signalfd instead of killing the process from the metrics thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    atomic_store(&server_stop, false);
    int rc = pthread_create(&server_thread, NULL, serve, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        mhd.stop_daemon(daemon_handle);
        daemon_handle = NULL;
        snprintf(err, err_len, "cannot start the metrics thread: %s", strerror(rc));
        return -1;
    }
    LOG(INFO, "metrics on http://%s/metrics (at most %lld connections, %lld per address, %.1f s a request)", listen,
        (long long)lim.max_connections, (long long)lim.max_per_ip, (double)lim.request_timeout_us / 1e6);
    return 0;
}

void metrics_stop(void)
{
    if (!daemon_handle) return;
    atomic_store(&server_stop, true);
    pthread_join(server_thread, NULL);
    mhd.stop_daemon(daemon_handle); /* closes what is left (CLOSED notifications free the tracking) */
    daemon_handle = NULL;
}
