/* check.c — the ad-hoc check's roster and fan-out (see check.h). One check owns two timers on the caller's loop:
 * the next request and the deadline; answers are matched by the response topic's monitor and request id. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ask.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

/* ---------- roster ---------- */

void check_roster_free(struct check_roster *r)
{
    free(r->m);
    r->m = NULL;
    r->n = r->cap = 0;
}

/* Index of name, or of where it would be inserted (found tells which). */
static size_t roster_find(const struct check_roster *r, const char *name, bool *found)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(r->m[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

int check_roster_update(struct check_roster *r, const char *name, const void *payload, size_t len, int64_t now_us,
                        char err[MSG_ERR_LEN])
{
    if (!msg_name_is_valid(name)) {
        snprintf(err, MSG_ERR_LEN, "invalid monitor name");
        return -1;
    }
    bool found;
    size_t i = roster_find(r, name, &found);
    if (len == 0) { /* a cleared retained status: the monitor is gone */
        if (found) {
            memmove(&r->m[i], &r->m[i + 1], (r->n - i - 1) * sizeof r->m[0]);
            r->n--;
        }
        return 0;
    }
    struct msg_monitor_status st;
    if (msg_monitor_status_decode(payload, len, &st, err) < 0) return -1;
    if (!found) {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 16;
            r->m = xrealloc(r->m, r->cap * sizeof r->m[0]);
        }
        memmove(&r->m[i + 1], &r->m[i], (r->n - i) * sizeof r->m[0]);
        r->n++;
        memset(&r->m[i], 0, sizeof r->m[i]);
        snprintf(r->m[i].name, sizeof r->m[i].name, "%s", name);
    }
    r->m[i].status = st;
    r->m[i].seen_us = now_us;
    return 0;
}

bool check_monitor_serves(const struct check_monitor *m, int family)
{
    return m->status.online && (family == 6 ? m->status.ipv6 : m->status.ipv4);
}

size_t check_roster_serving(const struct check_roster *r, int family)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) n += check_monitor_serves(&r->m[i], family);
    return n;
}

/* ---------- one check ---------- */

struct asked {
    char name[MSG_NAME_MAX];
    bool asked, answered;
    int64_t asked_us; /* monotonic */
};

struct check {
    struct evloop *loop;
    struct mqtt_session *mq;
    char env[MSG_ENV_MAX];
    char ip[NETADDR_STRLEN];
    char request_id[CHECK_REQUEST_ID_LEN];
    struct check_params p;
    struct check_handlers h;
    void *arg;
    struct asked *mons;
    size_t n_mons, next;
    int healthy, answered, asked;
    int64_t started_us; /* monotonic */
    bool finished;
    struct evloop_timer ask_timer, deadline_timer;
};

void check_params_default(struct check_params *p)
{
    *p = (struct check_params){
        .all = false,
        .want_healthy = CHECK_DEFAULT_HEALTHY,
        .samples = 1,
        .spacing_us = CHECK_DEFAULT_SPACING_US,
        .deadline_us = CHECK_DEFAULT_DEADLINE_US,
    };
}

bool check_result_healthy(const struct msg_result *r)
{
    return r->error[0] == '\0' && r->leap != 3 && r->stratum >= 1 && r->stratum <= 7;
}

static void answer(struct check *c, struct asked *a, const struct msg_result *r, const char *error)
{
    int64_t now = time_mono_us();
    struct check_answer ans = {
        .monitor = a->name,
        .result = r,
        .error = error,
        .healthy = r && check_result_healthy(r),
        .since_start_us = now - c->started_us,
        .since_asked_us = a->asked ? now - a->asked_us : 0,
    };
    a->answered = true;
    c->answered++;
    if (ans.healthy) c->healthy++;
    if (c->h.on_answer) c->h.on_answer(c, &ans, c->arg);
}

static void finish(struct check *c)
{
    if (c->finished) return;
    c->finished = true;
    evloop_timer_stop(c->loop, &c->ask_timer);
    evloop_timer_stop(c->loop, &c->deadline_timer);
    if (c->h.on_done) c->h.on_done(c, c->arg);
}

static bool enough(const struct check *c) { return !c->p.all && c->healthy >= c->p.want_healthy; }

/* Done when enough are healthy, or everyone was asked and everyone asked has answered. */
static void maybe_finish(struct check *c)
{
    if (c->finished) return;
    if (enough(c)) {
        finish(c);
        return;
    }
    if (c->next < c->n_mons) return;
    for (size_t i = 0; i < c->n_mons; i++)
        if (c->mons[i].asked && !c->mons[i].answered) return;
    finish(c);
}

static void ask(struct check *c, struct asked *a)
{
    struct msg_ntp_request body = {.samples = c->p.samples};
    snprintf(body.ip, sizeof body.ip, "%s", c->ip);
    char *payload = msg_ntp_request_encode(&body);
    a->asked = true;
    a->asked_us = time_mono_us();
    c->asked++;
    int rc = payload ? ask_monitor(c->mq, c->env, MSG_TOPIC_REQUEST_NTP, a->name, c->request_id, payload)
                     : MOSQ_ERR_NOMEM;
    free(payload);
    if (rc != MOSQ_ERR_SUCCESS) {
        char why[96];
        snprintf(why, sizeof why, "could not send the request: %s",
                 rc == MOSQ_ERR_NO_CONN ? "broker unavailable" : mosquitto_strerror(rc));
        answer(c, a, NULL, why);
    }
}

static void on_ask(struct evloop *loop, void *arg)
{
    struct check *c = arg;
    if (c->finished) return;
    if (!enough(c)) {
        if (c->p.all) {
            while (c->next < c->n_mons && !c->finished) ask(c, &c->mons[c->next++]);
        } else if (c->next < c->n_mons) {
            ask(c, &c->mons[c->next++]);
            if (c->next < c->n_mons) evloop_timer_start(loop, &c->ask_timer, c->p.spacing_us);
        }
    }
    maybe_finish(c);
}

static void on_deadline(struct evloop *loop, void *arg)
{
    (void)loop;
    struct check *c = arg;
    c->next = c->n_mons; /* ask nobody else */
    for (size_t i = 0; i < c->n_mons && !c->finished; i++)
        if (c->mons[i].asked && !c->mons[i].answered) answer(c, &c->mons[i], NULL, "no answer (timeout)");
    finish(c);
}

struct check *check_start(struct evloop *loop, struct mqtt_session *mq, const char *env,
                          const struct check_roster *roster, const char *ip, const char *request_id,
                          const struct check_params *p, const struct check_handlers *h, void *arg, char *err,
                          size_t err_len)
{
    struct netaddr addr;
    if (netaddr_parse(ip, &addr) < 0) {
        snprintf(err, err_len, "'%s' is not an IP address", ip);
        return NULL;
    }
    int family = netaddr_version(&addr);
    size_t n = check_roster_serving(roster, family);
    if (n == 0) {
        snprintf(err, err_len, "no monitor online for IPv%d checks", family);
        return NULL;
    }
    struct check *c = xcalloc(1, sizeof *c);
    c->loop = loop;
    c->mq = mq;
    snprintf(c->env, sizeof c->env, "%s", env);
    netaddr_format(&addr, c->ip);
    if (request_id) snprintf(c->request_id, sizeof c->request_id, "%s", request_id);
    else ulid_new(c->request_id);
    c->p = *p;
    if (c->p.samples < 1) c->p.samples = 1;
    if (c->p.samples > MSG_REQUEST_MAX_SAMPLES) c->p.samples = MSG_REQUEST_MAX_SAMPLES;
    if (h) c->h = *h;
    c->arg = arg;
    c->mons = xcalloc(n, sizeof *c->mons);
    for (size_t i = 0; i < roster->n; i++)
        if (check_monitor_serves(&roster->m[i], family))
            snprintf(c->mons[c->n_mons++].name, MSG_NAME_MAX, "%s", roster->m[i].name);
    /* A random order spreads ad-hoc load over the monitors. */
    for (size_t i = c->n_mons; i > 1; i--) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) < 0) r = (uint32_t)time_mono_us();
        size_t j = r % i;
        struct asked tmp = c->mons[i - 1];
        c->mons[i - 1] = c->mons[j];
        c->mons[j] = tmp;
    }
    c->started_us = time_mono_us();
    evloop_timer_init(&c->ask_timer, on_ask, c);
    evloop_timer_init(&c->deadline_timer, on_deadline, c);
    evloop_timer_start(loop, &c->deadline_timer, c->p.deadline_us);
    /* The first request goes out from the loop, so no callback runs before the caller has the handle. */
    evloop_timer_start(loop, &c->ask_timer, 0);
    return c;
}

bool check_response(struct check *c, const char *monitor, const char *request_id, const void *payload, size_t len)
{
    if (strcmp(request_id, c->request_id) != 0) return false;
    if (c->finished) return true;
    struct asked *a = NULL;
    for (size_t i = 0; i < c->n_mons; i++)
        if (strcmp(c->mons[i].name, monitor) == 0) a = &c->mons[i];
    if (!a || !a->asked || a->answered) return true; /* not asked, or a repeat: ignored */
    char error[MSG_ERROR_MAX];
    char err[MSG_ERR_LEN];
    struct msg_result *r = xmalloc(sizeof *r);
    if (msg_error_decode(payload, len, error, sizeof error)) {
        answer(c, a, NULL, error);
    } else if (msg_result_decode(payload, len, r, err) < 0) {
        char why[MSG_ERR_LEN + 32];
        snprintf(why, sizeof why, "unreadable answer: %s", err);
        answer(c, a, NULL, why);
    } else {
        answer(c, a, r, NULL);
    }
    free(r);
    maybe_finish(c);
    return true;
}

const char *check_request_id(const struct check *c) { return c->request_id; }

void check_free(struct check *c)
{
    if (!c) return;
    evloop_timer_stop(c->loop, &c->ask_timer);
    evloop_timer_stop(c->loop, &c->deadline_timer);
    free(c->mons);
    free(c);
}
