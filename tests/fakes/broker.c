/* broker.c — the fake broker of broker.h: records the callbacks the plugin registers and calls them on demand. */
#include "broker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FAKE_EVENTS 16
#define FAKE_LOG_MAX (256 * 1024)

int64_t fake_now_s;
bool fake_broker_quiet;

static struct {
    MOSQ_FUNC_generic_callback cb;
    void *userdata;
} callbacks[FAKE_EVENTS];
static void *plugin_userdata;
static struct mosquitto_opt *plugin_opts;
static int plugin_n_opts;
static char log_buf[FAKE_LOG_MAX];
static size_t log_len;
static int kicks;
static char last_kick[128];
static int plugin_id_storage;

time_t time(time_t *t)
{
    time_t now;
    if (fake_now_s) {
        now = (time_t)fake_now_s;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = ts.tv_sec;
    }
    if (t) *t = now;
    return now;
}

void fake_broker_reset(void)
{
    memset(callbacks, 0, sizeof callbacks);
    log_len = 0;
    log_buf[0] = '\0';
    kicks = 0;
    last_kick[0] = '\0';
}

static void free_opts(void)
{
    for (int i = 0; i < plugin_n_opts; i++) {
        free(plugin_opts[i].key);
        free(plugin_opts[i].value);
    }
    free(plugin_opts);
    plugin_opts = NULL;
    plugin_n_opts = 0;
}

int fake_broker_start(const char *const *options, int n)
{
    free_opts();
    plugin_opts = calloc((size_t)n + 1, sizeof *plugin_opts);
    if (!plugin_opts) abort();
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(options[i], '=');
        if (!eq) abort();
        plugin_opts[i].key = strndup(options[i], (size_t)(eq - options[i]));
        plugin_opts[i].value = strdup(eq + 1);
    }
    plugin_n_opts = n;
    int versions[] = {5, 4};
    if (mosquitto_plugin_version(2, versions) != 5) return -1;
    plugin_userdata = NULL;
    return mosquitto_plugin_init((mosquitto_plugin_id_t *)&plugin_id_storage, &plugin_userdata, plugin_opts, n);
}

void fake_broker_stop(void)
{
    if (plugin_userdata) mosquitto_plugin_cleanup(plugin_userdata, plugin_opts, plugin_n_opts);
    plugin_userdata = NULL;
    free_opts();
}

int fake_broker_event(int event, void *event_data)
{
    if (event < 0 || event >= FAKE_EVENTS || !callbacks[event].cb) return -1000;
    return callbacks[event].cb(event, event_data, callbacks[event].userdata);
}

int fake_broker_auth(struct mosquitto *ctx, const char *username, const char *password)
{
    struct mosquitto_evt_basic_auth ed = {.client = ctx, .username = (char *)username, .password = (char *)password};
    return fake_broker_event(MOSQ_EVT_BASIC_AUTH, &ed);
}

int fake_broker_acl(struct mosquitto *ctx, int access, const char *topic, uint32_t payloadlen)
{
    struct mosquitto_evt_acl_check ed = {.client = ctx, .topic = topic, .access = access, .payloadlen = payloadlen,
                                         .qos = 1};
    return fake_broker_event(MOSQ_EVT_ACL_CHECK, &ed);
}

int fake_broker_disconnect(struct mosquitto *ctx)
{
    struct mosquitto_evt_disconnect ed = {.client = ctx};
    return fake_broker_event(MOSQ_EVT_DISCONNECT, &ed);
}

int fake_broker_tick(void)
{
    struct mosquitto_evt_tick ed = {.now_s = time(NULL)};
    return fake_broker_event(MOSQ_EVT_TICK, &ed);
}

int fake_broker_reload(void)
{
    /* as mosquitto 2.0.11 does: no options on reload */
    struct mosquitto_evt_reload ed = {.options = NULL, .option_count = 0};
    return fake_broker_event(MOSQ_EVT_RELOAD, &ed);
}

const char *fake_broker_log(void)
{
    return log_buf;
}

int fake_broker_kicks(const char **last_id)
{
    if (last_id) *last_id = last_kick;
    return kicks;
}

/* ---------- the broker functions the plugin links against ---------- */

int mosquitto_callback_register(mosquitto_plugin_id_t *identifier, int event, MOSQ_FUNC_generic_callback cb_func,
                                const void *event_data, void *userdata)
{
    (void)identifier;
    (void)event_data;
    if (event < 0 || event >= FAKE_EVENTS) return MOSQ_ERR_NOT_SUPPORTED;
    if (callbacks[event].cb) return MOSQ_ERR_ALREADY_EXISTS;
    callbacks[event].cb = cb_func;
    callbacks[event].userdata = userdata;
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_callback_unregister(mosquitto_plugin_id_t *identifier, int event, MOSQ_FUNC_generic_callback cb_func,
                                  const void *event_data)
{
    (void)identifier;
    (void)event_data;
    if (event < 0 || event >= FAKE_EVENTS || callbacks[event].cb != cb_func) return MOSQ_ERR_NOT_FOUND;
    callbacks[event].cb = NULL;
    callbacks[event].userdata = NULL;
    return MOSQ_ERR_SUCCESS;
}

void mosquitto_log_printf(int level, const char *fmt, ...)
{
    (void)level;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!fake_broker_quiet) printf("# broker log: %s\n", line);
    size_t n = strlen(line);
    if (log_len + n + 2 < FAKE_LOG_MAX) {
        memcpy(log_buf + log_len, line, n);
        log_len += n;
        log_buf[log_len++] = '\n';
        log_buf[log_len] = '\0';
    }
}

const char *mosquitto_client_id(const struct mosquitto *client)
{
    return client->id;
}

const char *mosquitto_client_address(const struct mosquitto *client)
{
    return client->address;
}

bool mosquitto_client_clean_session(const struct mosquitto *client)
{
    return client->clean_session;
}

int mosquitto_kick_client_by_clientid(const char *clientid, bool with_will)
{
    (void)with_will;
    kicks++;
    snprintf(last_kick, sizeof last_kick, "%s", clientid);
    return MOSQ_ERR_SUCCESS;
}
