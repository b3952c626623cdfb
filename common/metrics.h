/* metrics.h — Prometheus-style metrics and a health endpoint for every daemon: counters and gauges registered at
 * start, updated lock-free from the daemon's loop, served as text on GET /metrics and GET /healthz by a small
 * libmicrohttpd thread (--metrics-listen ADDR:PORT; off when not given), bounded so slow or greedy clients cannot
 * lock a liveness probe out (--metrics-request-timeout, --metrics-max-connections, --metrics-max-per-ip). */
#ifndef NTPMON_METRICS_H
#define NTPMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct metric;

/* Registers a counter (only grows) or a gauge. name: Prometheus metric name; labels: NULL or a fixed label set
 * like "kind=\"timeout\"" (one metric per label set; help/type are printed once per name). Up to 256 metrics.
 * Never fails: past the limit a dummy metric is returned (and logged once). */
struct metric *metrics_counter(const char *name, const char *help, const char *labels);
struct metric *metrics_gauge(const char *name, const char *help, const char *labels);
void metric_add(struct metric *m, double v);
void metric_inc(struct metric *m);
void metric_set(struct metric *m, double v);
double metric_value(const struct metric *m);

/* What /healthz answers: 200 "ok" or 503 with the reason. Healthy until told otherwise. */
void metrics_set_health(bool ok, const char *reason);

/* The exposition text (malloc'd), as /metrics serves it. */
char *metrics_render(void);

/* What one client may hold of the endpoint, so that a liveness probe always gets through. */
struct metrics_limits {
    int64_t request_timeout_us; /* a whole request (from connect or the previous response) must arrive in this */
    int64_t max_connections;    /* open connections in all */
    int64_t max_per_ip;         /* open connections from one address */
};
#define METRICS_LIMITS_DEFAULT {5000000, 128, 8}
/* Starts serving on "ADDR:PORT" ("127.0.0.1:9100", "[::1]:9100", ":9100" for all addresses) with the limits
 * (NULL: the defaults). 0, or -1 with err. */
int metrics_listen(const char *listen, const struct metrics_limits *limits, char *err, size_t err_len);
/* Stops serving (within 0.2 s); metrics_listen may be called again. */
void metrics_stop(void);

#endif
