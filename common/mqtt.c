/* mqtt.c — libmosquitto 2.0 driven from our evloop. libmosquitto only sends CONNECT properties from its blocking
 * connect, and its reconnect functions drop them (so a v5 session expiry would be lost after the first reconnect).
 * So each attempt builds a fresh client object and runs mosquitto_connect_bind_v5 on a worker thread; the main
 * loop touches the object again only after the thread reports back through an eventfd. A watchdog cancels an
 * attempt that hangs (unreachable broker). */
#include "mqtt.h"

#include <errno.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "hostport.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

enum state { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_CONNECTED, ST_WAIT_RETRY, ST_STOPPED };

struct subscription {
    char *filter;
    int qos;
};

struct mqtt_session {
    struct evloop *loop;
    struct mqtt_config cfg; /* strings owned */
    char host[256];
    int port;
    bool tls;
    struct mqtt_handlers h;
    void *arg;
    struct mosquitto *mosq;
    enum state state;
    int fd;        /* socket registered with the loop, or -1 */
    int eventfd;   /* connect thread -> loop */
    pthread_t thread;
    bool thread_running;
    int thread_rc, thread_errno; /* errno lives per thread: the connect thread hands its own over */
    struct evloop_timer misc_timer, retry_timer, watchdog;
    int64_t backoff_us;
    struct subscription *subs;
    size_t n_subs;
    int unacked;
    bool reconnect_now;
    bool disconnect_reported; /* on_disconnect already called for this connection attempt */
    bool read_paused;         /* mqtt_session_pause_reading */
};

static bool lib_ready;

static void report_disconnect(struct mqtt_session *s, int reason, const char *why)
{
    if (s->disconnect_reported) return;
    s->disconnect_reported = true;
    if (s->h.on_disconnect) s->h.on_disconnect(s, reason, why, s->arg);
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

void mqtt_client_id_for(const char *username, const char *wanted, char *out, size_t len)
{
    if (!username || !*username) {
        snprintf(out, len, "%s", wanted ? wanted : "");
        return;
    }
    size_t n = strlen(username);
    if (!wanted || !*wanted || strcmp(wanted, username) == 0) snprintf(out, len, "%s", username);
    else if (strncmp(wanted, username, n) == 0 && wanted[n] == ':' && wanted[n + 1]) snprintf(out, len, "%s", wanted);
    else snprintf(out, len, "%s:%s", username, wanted);
}

/* Replaces the configured client id with the one the broker will accept for the current username. */
static void fix_client_id(struct mqtt_session *s)
{
    char id[512];
    mqtt_client_id_for(s->cfg.username, s->cfg.client_id, id, sizeof id);
    free((char *)s->cfg.client_id);
    s->cfg.client_id = id[0] ? xstrdup(id) : NULL;
}

int mqtt_url_parse(const char *url, char *host, size_t host_len, int *port, bool *tls)
{
    if (!url) return -1;
    const char *p;
    uint16_t def;
    if (strncmp(url, "mqtt://", 7) == 0) {
        *tls = false;
        def = 1883;
        p = url + 7;
    } else if (strncmp(url, "mqtts://", 8) == 0) {
        *tls = true;
        def = 8883;
        p = url + 8;
    } else {
        return -1;
    }
    const char *end = p + strcspn(p, "/");
    if (*end && strcmp(end, "/") != 0) return -1;
    uint16_t v;
    char err[HOSTPORT_ERR_LEN];
    if (hostport_parse(p, (size_t)(end - p), def, host, host_len, &v, err) < 0) return -1;
    *port = v;
    return 0;
}

static void sync_fd(struct mqtt_session *s);
static void schedule_retry(struct mqtt_session *s, const char *why, int reason);

/* ---- libmosquitto callbacks (run inside loop_read/write/misc on the loop's thread) ---- */

static void cb_connect(struct mosquitto *m, void *ud, int rc, int flags, const mosquitto_property *props)
{
    (void)m;
    (void)props;
    struct mqtt_session *s = ud;
    if (rc != 0) {
        char why[160];
        snprintf(why, sizeof why, "broker refused the connection: %s", mosquitto_reason_string(rc));
        s->state = ST_HANDSHAKE; /* the disconnect that follows schedules the retry */
        LOG(WARN, "mqtt: %s", why);
        report_disconnect(s, rc, why);
        return;
    }
    s->state = ST_CONNECTED;
    s->backoff_us = 0;
    s->unacked = 0;
    LOG(INFO, "mqtt: connected to %s:%d%s", s->host, s->port, (flags & 1) ? " (session resumed)" : "");
    for (size_t i = 0; i < s->n_subs; i++) {
        int r = mosquitto_subscribe_v5(s->mosq, NULL, s->subs[i].filter, s->subs[i].qos, 0, NULL);
        if (r != MOSQ_ERR_SUCCESS) LOG(WARN, "mqtt: subscribe %s failed: %s", s->subs[i].filter, mosquitto_strerror(r));
    }
    if (s->h.on_connect) s->h.on_connect(s, (flags & 1) != 0, s->arg);
}

static void cb_disconnect(struct mosquitto *m, void *ud, int rc, const mosquitto_property *props)
{
    (void)m;
    (void)props;
    struct mqtt_session *s = ud;
    bool was_connected = s->state == ST_CONNECTED;
    if (s->state == ST_STOPPED) return;
    const char *why = rc == 0 ? "disconnected" : mosquitto_reason_string(rc);
    if (rc > 0 && rc < 0x80) why = mosquitto_strerror(rc);
    if (was_connected) {
        LOG(WARN, "mqtt: connection to %s:%d lost: %s", s->host, s->port, why);
        report_disconnect(s, rc, why);
    }
    s->state = ST_HANDSHAKE; /* marks "needs retry" until the loop notices */
}

static void cb_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg, const mosquitto_property *props)
{
    (void)m;
    struct mqtt_session *s = ud;
    if (s->h.on_message) s->h.on_message(s, msg, props, s->arg);
}

static void cb_publish(struct mosquitto *m, void *ud, int mid, int reason, const mosquitto_property *props)
{
    (void)m;
    (void)props;
    struct mqtt_session *s = ud;
    if (s->unacked > 0) s->unacked--;
    if (s->h.on_publish) s->h.on_publish(s, mid, reason, s->arg);
}

/* ---- connection lifecycle ---- */

static void destroy_client(struct mqtt_session *s)
{
    if (s->fd >= 0) {
        evloop_fd_remove(s->loop, s->fd);
        s->fd = -1;
    }
    if (s->mosq) {
        mosquitto_destroy(s->mosq);
        s->mosq = NULL;
    }
}

/* libmosquitto's own error lines carry what its return codes do not (e.g. OpenSSL's "certificate verify failed").
 * May run on the connect thread: LOG is thread-safe. */
static void cb_log(struct mosquitto *m, void *ud, int level, const char *line)
{
    (void)m;
    (void)ud;
    if (level & MOSQ_LOG_ERR) LOG(WARN, "mqtt: libmosquitto: %s", line);
    else if (level & MOSQ_LOG_WARNING) LOG(DEBUG, "mqtt: libmosquitto: %s", line);
}

static struct mosquitto *build_client(struct mqtt_session *s, char *err, size_t err_len)
{
    struct mosquitto *m = mosquitto_new(s->cfg.client_id, s->cfg.clean_start, s);
    if (!m) {
        snprintf(err, err_len, "cannot create MQTT client: %s", strerror(errno));
        return NULL;
    }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    if (s->cfg.receive_maximum > 0) mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, s->cfg.receive_maximum);
    mosquitto_connect_v5_callback_set(m, cb_connect);
    mosquitto_disconnect_v5_callback_set(m, cb_disconnect);
    mosquitto_message_v5_callback_set(m, cb_message);
    mosquitto_publish_v5_callback_set(m, cb_publish);
    mosquitto_log_callback_set(m, cb_log);
    int rc;
    if (s->cfg.username && (rc = mosquitto_username_pw_set(m, s->cfg.username, s->cfg.password)) != MOSQ_ERR_SUCCESS) {
        snprintf(err, err_len, "bad MQTT credentials: %s", mosquitto_strerror(rc));
        mosquitto_destroy(m);
        return NULL;
    }
    if (s->cfg.will_topic) {
        rc = mosquitto_will_set_v5(m, s->cfg.will_topic, (int)strlen(s->cfg.will_payload ? s->cfg.will_payload : ""),
                                   s->cfg.will_payload ? s->cfg.will_payload : "", 1, s->cfg.will_retain, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, err_len, "bad MQTT will: %s", mosquitto_strerror(rc));
            mosquitto_destroy(m);
            return NULL;
        }
    }
    if (s->tls) {
        rc = mosquitto_tls_set(m, s->cfg.ca_file, s->cfg.ca_file ? NULL : "/etc/ssl/certs", NULL, NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(err, err_len, "TLS set-up failed (CA %s): %s", s->cfg.ca_file ? s->cfg.ca_file : "system store",
                     mosquitto_strerror(rc));
            mosquitto_destroy(m);
            return NULL;
        }
    }
    return m;
}

static void *connect_thread(void *arg)
{
    struct mqtt_session *s = arg;
    pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
    mosquitto_property *props = NULL;
    if (!s->cfg.clean_start)
        mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                     s->cfg.session_expiry_s ? s->cfg.session_expiry_s : 7 * 86400);
    int rc = mosquitto_connect_bind_v5(s->mosq, s->host, s->port, s->cfg.keepalive_s ? s->cfg.keepalive_s : 30, NULL,
                                       props);
    s->thread_errno = errno;
    mosquitto_property_free_all(&props);
    s->thread_rc = rc;
    uint64_t one = 1;
    if (write(s->eventfd, &one, sizeof one) < 0) { /* the loop's watchdog will notice */
    }
    return NULL;
}

static void join_thread(struct mqtt_session *s, bool cancel)
{
    if (!s->thread_running) return;
    if (cancel) pthread_cancel(s->thread);
    pthread_join(s->thread, NULL);
    s->thread_running = false;
    uint64_t v;
    while (read(s->eventfd, &v, sizeof v) > 0) {
    }
}

/* Stopping: a connect in progress usually ends within milliseconds, so let it finish (it reports through the
 * eventfd just before it returns) and cancel only one still hanging after grace_ms — cancelling a thread that is
 * about to finish gains nothing, and unwinding it is what the sanitizers (rightly wary of cancellation) report. */
static void join_thread_grace(struct mqtt_session *s, int grace_ms)
{
    if (!s->thread_running) return;
    struct pollfd p = {s->eventfd, POLLIN, 0};
    int r;
    do {
        r = poll(&p, 1, grace_ms);
    } while (r < 0 && errno == EINTR);
    join_thread(s, r <= 0);
}

static void begin_connect(struct mqtt_session *s)
{
    if (s->state == ST_STOPPED) return;
    destroy_client(s);
    char err[256];
    s->mosq = build_client(s, err, sizeof err);
    if (!s->mosq) {
        schedule_retry(s, err, MOSQ_ERR_INVAL);
        return;
    }
    s->state = ST_CONNECTING;
    s->disconnect_reported = false;
    if (pthread_create(&s->thread, NULL, connect_thread, s) != 0) {
        schedule_retry(s, "cannot start connect thread", MOSQ_ERR_ERRNO);
        return;
    }
    s->thread_running = true;
    evloop_timer_start(s->loop, &s->watchdog, s->cfg.connect_timeout_us ? s->cfg.connect_timeout_us : 15000000);
}

static void schedule_retry(struct mqtt_session *s, const char *why, int reason)
{
    if (s->state == ST_STOPPED) return;
    destroy_client(s);
    s->state = ST_WAIT_RETRY;
    int64_t min = s->cfg.backoff_min_us ? s->cfg.backoff_min_us : 500000;
    int64_t max = s->cfg.backoff_max_us ? s->cfg.backoff_max_us : 30000000;
    s->backoff_us = s->backoff_us ? s->backoff_us * 2 : min;
    if (s->backoff_us > max) s->backoff_us = max;
    if (s->reconnect_now) {
        s->backoff_us = 0;
        s->reconnect_now = false;
    }
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) < 0) r = 0;
    int64_t delay = s->backoff_us / 2 + (s->backoff_us ? (int64_t)(r % (uint64_t)(s->backoff_us / 2 + 1)) : 0);
    if (!s->disconnect_reported)
        LOG(WARN, "mqtt: cannot connect to %s:%d: %s; retrying in %.1f s", s->host, s->port, why ? why : "failed",
            delay / 1e6);
    else
        LOG(INFO, "mqtt: reconnecting to %s:%d in %.1f s", s->host, s->port, delay / 1e6);
    report_disconnect(s, reason, why ? why : "connect failed");
    evloop_timer_start(s->loop, &s->retry_timer, delay);
}

static void on_retry(struct evloop *loop, void *arg)
{
    (void)loop;
    begin_connect(arg);
}

static void on_watchdog(struct evloop *loop, void *arg)
{
    (void)loop;
    struct mqtt_session *s = arg;
    if (s->state != ST_CONNECTING) return;
    join_thread(s, true);
    schedule_retry(s, "connect timed out", MOSQ_ERR_TIMEOUT);
}

static void handle_io_result(struct mqtt_session *s, int rc)
{
    if (s->state == ST_STOPPED) return;
    if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(s->mosq) < 0 || s->state == ST_HANDSHAKE) {
        if (rc == MOSQ_ERR_SUCCESS && s->state == ST_HANDSHAKE && mosquitto_socket(s->mosq) >= 0) {
            sync_fd(s);
            return; /* still waiting for CONNACK */
        }
        const char *why = rc == MOSQ_ERR_SUCCESS ? "connection closed" : mosquitto_strerror(rc);
        if (rc == MOSQ_ERR_ERRNO) why = strerror(errno);
        if (s->state == ST_CONNECTED) LOG(WARN, "mqtt: connection to %s:%d lost: %s", s->host, s->port, why);
        schedule_retry(s, why, rc);
        return;
    }
    sync_fd(s);
}

static void on_socket(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    struct mqtt_session *s = arg;
    int rc = MOSQ_ERR_SUCCESS;
    if (events & EVLOOP_READ) rc = mosquitto_loop_read(s->mosq, 64);
    if (rc == MOSQ_ERR_SUCCESS && s->mosq && (events & EVLOOP_WRITE)) rc = mosquitto_loop_write(s->mosq, 64);
    if (s->mosq) handle_io_result(s, rc);
}

static void on_misc(struct evloop *loop, void *arg)
{
    struct mqtt_session *s = arg;
    if (s->mosq && (s->state == ST_CONNECTED || s->state == ST_HANDSHAKE)) {
        int rc = mosquitto_loop_misc(s->mosq);
        if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(s->mosq)) rc = mosquitto_loop_write(s->mosq, 64);
        handle_io_result(s, rc);
    }
    evloop_timer_start(loop, &s->misc_timer, 1000000);
}

static void on_connect_done(struct evloop *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    struct mqtt_session *s = arg;
    uint64_t v;
    if (read(s->eventfd, &v, sizeof v) < 0 || s->state != ST_CONNECTING) return;
    join_thread(s, false);
    evloop_timer_stop(s->loop, &s->watchdog);
    if (s->thread_rc != MOSQ_ERR_SUCCESS) {
        const char *why = s->thread_rc == MOSQ_ERR_ERRNO ? strerror(s->thread_errno) : mosquitto_strerror(s->thread_rc);
        schedule_retry(s, why, s->thread_rc);
        return;
    }
    s->state = ST_HANDSHAKE;
    sync_fd(s);
    /* CONNECT may still sit in the output queue (the socket was connecting). */
    if (mosquitto_want_write(s->mosq)) handle_io_result(s, mosquitto_loop_write(s->mosq, 64));
}

static void sync_fd(struct mqtt_session *s)
{
    int fd = s->mosq ? mosquitto_socket(s->mosq) : -1;
    if (fd != s->fd) {
        if (s->fd >= 0) evloop_fd_remove(s->loop, s->fd);
        s->fd = -1;
        if (fd >= 0 && evloop_fd_set(s->loop, fd, EVLOOP_READ, on_socket, s) == 0) s->fd = fd;
    }
    /* While paused the fd is not watched for input; a hang-up still arrives as a read event and is handled. */
    unsigned events = s->read_paused && s->state == ST_CONNECTED ? 0u : EVLOOP_READ;
    if (s->fd >= 0) evloop_fd_events(s->loop, s->fd, events | (mosquitto_want_write(s->mosq) ? EVLOOP_WRITE : 0u));
}

void mqtt_session_pause_reading(struct mqtt_session *s, bool paused)
{
    if (s->read_paused == paused) return;
    s->read_paused = paused;
    if (s->fd >= 0 && s->mosq) sync_fd(s);
}

struct mqtt_session *mqtt_session_new(struct evloop *loop, const struct mqtt_config *cfg, const struct mqtt_handlers *h,
                                      void *arg, char *err, size_t err_len)
{
    if (!lib_ready) {
        mosquitto_lib_init();
        lib_ready = true;
    }
    struct mqtt_session *s = xcalloc(1, sizeof *s);
    if (mqtt_url_parse(cfg->url, s->host, sizeof s->host, &s->port, &s->tls) < 0) {
        snprintf(err, err_len, "invalid MQTT URL '%s' (want mqtt://host[:port] or mqtts://host[:port])",
                 cfg->url ? cfg->url : "");
        free(s);
        return NULL;
    }
    s->loop = loop;
    s->cfg = *cfg;
    s->cfg.url = dup_or_null(cfg->url);
    s->cfg.client_id = dup_or_null(cfg->client_id);
    s->cfg.username = dup_or_null(cfg->username);
    s->cfg.password = dup_or_null(cfg->password);
    s->cfg.ca_file = dup_or_null(cfg->ca_file);
    s->cfg.will_topic = dup_or_null(cfg->will_topic);
    s->cfg.will_payload = dup_or_null(cfg->will_payload);
    fix_client_id(s);
    if (h) s->h = *h;
    s->arg = arg;
    s->fd = -1;
    s->state = ST_IDLE;
    s->eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    evloop_fd_set(loop, s->eventfd, EVLOOP_READ, on_connect_done, s);
    evloop_timer_init(&s->misc_timer, on_misc, s);
    evloop_timer_init(&s->retry_timer, on_retry, s);
    evloop_timer_init(&s->watchdog, on_watchdog, s);
    return s;
}

void mqtt_session_start(struct mqtt_session *s)
{
    if (s->state != ST_IDLE) return;
    evloop_timer_start(s->loop, &s->misc_timer, 1000000);
    begin_connect(s);
}

void mqtt_session_stop(struct mqtt_session *s)
{
    if (s->state == ST_STOPPED) return;
    join_thread_grace(s, 1000);
    bool was_connected = s->state == ST_CONNECTED;
    s->state = ST_STOPPED; /* first: the disconnect callback must not report our own DISCONNECT as a lost link */
    if (was_connected && s->mosq) {
        mosquitto_disconnect_v5(s->mosq, 0, NULL);
        mosquitto_loop_write(s->mosq, 16);
    }
    evloop_timer_stop(s->loop, &s->misc_timer);
    evloop_timer_stop(s->loop, &s->retry_timer);
    evloop_timer_stop(s->loop, &s->watchdog);
    destroy_client(s);
}

void mqtt_session_free(struct mqtt_session *s)
{
    if (!s) return;
    mqtt_session_stop(s);
    evloop_fd_remove(s->loop, s->eventfd);
    close(s->eventfd);
    for (size_t i = 0; i < s->n_subs; i++) free(s->subs[i].filter);
    free(s->subs);
    free((char *)s->cfg.url);
    free((char *)s->cfg.client_id);
    free((char *)s->cfg.username);
    free((char *)s->cfg.password);
    free((char *)s->cfg.ca_file);
    free((char *)s->cfg.will_topic);
    free((char *)s->cfg.will_payload);
    free(s);
}

bool mqtt_session_connected(const struct mqtt_session *s) { return s->state == ST_CONNECTED; }
int mqtt_session_unacked(const struct mqtt_session *s) { return s->unacked; }

void mqtt_session_set_credentials(struct mqtt_session *s, const char *username, const char *password)
{
    free((char *)s->cfg.username);
    free((char *)s->cfg.password);
    s->cfg.username = dup_or_null(username);
    s->cfg.password = dup_or_null(password);
    fix_client_id(s);
}

void mqtt_session_set_url(struct mqtt_session *s, const char *url, const char *ca_file)
{
    char host[256];
    int port;
    bool tls;
    if (mqtt_url_parse(url, host, sizeof host, &port, &tls) < 0) {
        LOG(ERROR, "mqtt: ignoring invalid broker URL '%s'", url);
        return;
    }
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    s->tls = tls;
    free((char *)s->cfg.url);
    free((char *)s->cfg.ca_file);
    s->cfg.url = xstrdup(url);
    s->cfg.ca_file = dup_or_null(ca_file);
}

void mqtt_session_reconnect(struct mqtt_session *s)
{
    if (s->state == ST_STOPPED || s->state == ST_IDLE) return;
    join_thread(s, true);
    if (s->state == ST_CONNECTED && s->mosq) {
        mosquitto_disconnect_v5(s->mosq, 0, NULL);
        mosquitto_loop_write(s->mosq, 16);
        report_disconnect(s, 0, "reconnecting");
    }
    s->state = ST_WAIT_RETRY;
    s->reconnect_now = true;
    s->backoff_us = 0;
    destroy_client(s);
    evloop_timer_stop(s->loop, &s->watchdog);
    evloop_timer_start(s->loop, &s->retry_timer, 0);
}

void mqtt_session_subscribe(struct mqtt_session *s, const char *filter, int qos)
{
    s->subs = xrealloc(s->subs, (s->n_subs + 1) * sizeof *s->subs);
    s->subs[s->n_subs++] = (struct subscription){xstrdup(filter), qos};
    if (s->state == ST_CONNECTED) {
        mosquitto_subscribe_v5(s->mosq, NULL, filter, qos, 0, NULL);
        sync_fd(s);
    }
}

static int after_publish(struct mqtt_session *s, int rc, int qos)
{
    if (rc == MOSQ_ERR_SUCCESS) {
        if (qos > 0) s->unacked++;
        sync_fd(s);
    }
    return rc;
}

int mqtt_publish(struct mqtt_session *s, const char *topic, const void *payload, size_t len, int qos, bool retain,
                 int *mid)
{
    if (s->state != ST_CONNECTED) return MOSQ_ERR_NO_CONN;
    int rc = mosquitto_publish_v5(s->mosq, mid, topic, (int)len, payload, qos, retain, NULL);
    return after_publish(s, rc, qos);
}

int mqtt_publish_request(struct mqtt_session *s, const char *topic, const void *payload, size_t len,
                         const char *response_topic, const void *corr, uint16_t corr_len, int *mid)
{
    if (s->state != ST_CONNECTED) return MOSQ_ERR_NO_CONN;
    mosquitto_property *props = NULL;
    mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, response_topic);
    if (corr && corr_len) mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr, corr_len);
    int rc = mosquitto_publish_v5(s->mosq, mid, topic, (int)len, payload, 1, false, props);
    mosquitto_property_free_all(&props);
    return after_publish(s, rc, 1);
}

int mqtt_publish_response(struct mqtt_session *s, const char *topic, const void *payload, size_t len,
                          const void *corr, uint16_t corr_len, int *mid)
{
    if (s->state != ST_CONNECTED) return MOSQ_ERR_NO_CONN;
    mosquitto_property *props = NULL;
    if (corr && corr_len) mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr, corr_len);
    int rc = mosquitto_publish_v5(s->mosq, mid, topic, (int)len, payload, 1, false, props);
    mosquitto_property_free_all(&props);
    return after_publish(s, rc, 1);
}

void mqtt_props_response(const mosquitto_property *props, char **response_topic, void **corr, uint16_t *corr_len)
{
    *response_topic = NULL;
    *corr = NULL;
    *corr_len = 0;
    mosquitto_property_read_string(props, MQTT_PROP_RESPONSE_TOPIC, response_topic, false);
    mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, corr, corr_len, false);
}

void mqtt_session_flush(struct mqtt_session *s, int64_t timeout_us)
{
    int64_t deadline = time_mono_us() + timeout_us;
    while (s->state == ST_CONNECTED && s->mosq && time_mono_us() < deadline) {
        bool want = mosquitto_want_write(s->mosq);
        if (!want && s->unacked == 0) break;
        struct pollfd pfd = {mosquitto_socket(s->mosq), (short)(POLLIN | (want ? POLLOUT : 0)), 0};
        int64_t left = deadline - time_mono_us();
        if (poll(&pfd, 1, (int)(left / 1000) + 1) < 0 && errno != EINTR) break;
        int rc = MOSQ_ERR_SUCCESS;
        if (pfd.revents & POLLIN) rc = mosquitto_loop_read(s->mosq, 64);
        if (rc == MOSQ_ERR_SUCCESS && (pfd.revents & POLLOUT)) rc = mosquitto_loop_write(s->mosq, 64);
        if (rc != MOSQ_ERR_SUCCESS) break;
    }
}
