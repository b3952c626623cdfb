/* checks.h — ntpmon-web's on-demand checks: each is a common/check run (the pool's semantics) whose answers are
 * collected, kept for the cache time and shared: a request for the same target (and `all`) within that time gets
 * the collected answers — at once when the check is over, or joins it while it runs. A waiting request gets one
 * JSON array when the check ends; a streaming one (Accept: text/event-stream) gets each answer the moment it
 * arrives ("answer" events), then a "done" event. */
#ifndef NTPMON_WEB_CHECKS_H
#define NTPMON_WEB_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "http.h"
#include "live.h"

struct checks_config {
    const char *env;
    struct check_params params;
    int64_t cache_us;  /* answers are shared for this long after a check started */
    size_t max_backlog; /* per streaming listener */
};

struct checks;
struct check_entry;

struct checks *checks_new(struct evloop *loop, struct live *live, const struct checks_config *cfg);
/* The running or cached check of ip (canonical text) with this `all`, or NULL. */
struct check_entry *checks_find(struct checks *cs, const char *ip, bool all);
/* Starts a check; NULL with a reason (no monitor online for the family). */
struct check_entry *checks_start(struct checks *cs, const char *ip, bool all, char *err, size_t err_len);
/* Answers r from the entry: now when it is over, else when it ends (or, streaming, as answers come). The client's
 * `checks` counter covers the wait. */
void checks_attach(struct checks *cs, struct check_entry *e, struct http_req *r, bool stream);
/* A message on E/responses/<monitor>/<request_id>. */
void checks_response(struct checks *cs, const char *monitor, const char *request_id, const void *payload, size_t len);
/* Ends every running check now: waiting requests get the answers so far (shutdown). */
void checks_finish_all(struct checks *cs);
size_t checks_running(const struct checks *cs);
/* Frees everything (after checks_finish_all and after the HTTP server is gone). */
void checks_free(struct checks *cs);

#endif
