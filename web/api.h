/* api.h — ntpmon-web's endpoints (DESIGN.md §9): the routing of every request and the policy in front of each
 * endpoint — IP literals only, forbidden targets, body and content-type rules, per-client and global token
 * buckets (429 with Retry-After), one check in flight per client, stream caps, CORS only where the data is public —
 * and the endpoints themselves: checks, online monitors, servers, score history (JSON, CSV), score streams, the
 * page, /healthz and /metrics. */
#ifndef NTPMON_WEB_API_H
#define NTPMON_WEB_API_H

#include <stdbool.h>
#include <stdint.h>

#include "checks.h"
#include "dbq.h"
#include "http.h"
#include "live.h"
#include "streams.h"

struct api_config {
    const char *env;
    bool allow_loopback;             /* tests and the demo: 127.0.0.0/8 and ::1 may be checked */
    double api_rate, api_burst;      /* per client: /api/ requests a second, and the burst */
    double check_rate, check_burst;  /* per client: new checks a second, and the burst */
    double check_rate_global, check_burst_global;
    int64_t history_default, history_max;
    int64_t check_deadline_us;       /* for Retry-After while a client's check runs */
};

struct api;
struct api *api_new(const struct api_config *cfg, struct evloop *loop, struct live *live, struct dbq *db,
                    struct streams *streams, struct checks *checks);
#define API_HEALTH_LEN 600
/* What /healthz says: true when healthy, else false with the reasons ("shutting down; broker: …; database: …"). */
bool api_health(const struct api *a, bool draining, char *reason, size_t len);
/* The http_handler: answers (or defers) one request. */
void api_handle(struct http_req *r, void *arg);
void api_free(struct api *a);

#endif
