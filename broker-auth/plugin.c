/* plugin.c — ntpmon_auth.so, the mosquitto 2.0 plugin (API version 5) of DESIGN.md §4: MQTT username = token sub,
 * password = JWT, verified once at connect (verify.c); the claims are kept per client so an ACL check is a few
 * topic matches; revocations (revoked.c) and expiry take rights away mid-session.
 *
 * Options: plugin_opt_env (required), plugin_opt_key_file (required), plugin_opt_revoked_file,
 * plugin_opt_leeway (seconds, default 30), plugin_opt_purge_interval (seconds between purges of expired offline
 * sessions, default 60). Unknown or missing options stop the broker at start. A publish larger than any reader of
 * its topic accepts (common/msg: 64 KiB; assign: the work-list cap) is refused.
 *
 * Per-client state is keyed by the broker's client context, and kept after a disconnect when the client has a
 * persistent session: mosquitto checks READ access for offline sessions while it queues their messages, so
 * dropping the claims at disconnect would drop the queue. Offline entries go when their token expires, when
 * the same client id authenticates again, or when the broker ends the session (a disconnect event with the
 * session marked clean). Every one of those paths ends in client_free(), which also clears the client's entry in
 * the context cache, so the cache can never hand out a freed client. The plugin never aborts and never blocks: allocation failures deny, file checks are a
 * stat() at most once a second. */
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "revoked.h"
#include "strmap.h"
#include "verify.h"

#define LOG_PREFIX "ntpmon_auth: "
#define PURGE_INTERVAL_DEFAULT_S 60
#define PURGE_INTERVAL_MAX_S 86400
#define LEEWAY_MAX_S 3600

struct config {
    char *env;
    char *key_file;
    char *revoked_file;
    int64_t leeway_s;
    int64_t purge_interval_s;
};

struct plugin;

struct client {
    struct plugin *owner;
    struct mosquitto *ctx;
    char *id;
    struct auth_session *session;
    bool online;
    uint64_t revoked_gen; /* the revocation generation `revoked` was computed for */
    bool revoked;
    bool logged_expired, logged_revoked;
    uint64_t oversized; /* publishes refused for their size (logged at 1, 2, 4, 8, …) */
};

struct plugin {
    mosquitto_plugin_id_t *pid;
    struct config cfg;
    struct auth_key *key;
    struct revoked *revoked;
    struct strmap *by_ctx; /* "%p" of the context → struct client (owner) */
    struct strmap *by_id;  /* client id → the newest struct client of that id (borrowed) */
    int64_t last_purge_s;
    bool kick_pending;     /* the revocation list changed: kick revoked clients on the next tick */
    /* Every ACL check (one per publish and per delivery) needs the client of a context: a direct-mapped cache
     * in front of by_ctx saves formatting and hashing the key on that hot path. client_free() clears a client's
     * entry, whoever frees it (a drop, the purge, the map's destructor), so a hit is always a live client. */
    struct ctx_cache_entry {
        const struct mosquitto *ctx;
        struct client *c;
    } ctx_cache[256];
};

static struct ctx_cache_entry *ctx_cache_slot(struct plugin *p, const struct mosquitto *ctx)
{
    uintptr_t h = (uintptr_t)ctx;
    h ^= h >> 9;
    return &p->ctx_cache[(h >> 4) & 255];
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void ctx_key(const struct mosquitto *ctx, char out[32])
{
    snprintf(out, 32, "%p", (const void *)ctx);
}

static const char *safe(const char *s)
{
    return s ? s : "(none)";
}

/* ---------- options ---------- */

static void config_free(struct config *c)
{
    free(c->env);
    free(c->key_file);
    free(c->revoked_file);
    memset(c, 0, sizeof *c);
}

static int config_copy(const struct config *from, struct config *to)
{
    memset(to, 0, sizeof *to);
    to->leeway_s = from->leeway_s;
    to->purge_interval_s = from->purge_interval_s;
    to->env = strdup(from->env);
    to->key_file = strdup(from->key_file);
    to->revoked_file = from->revoked_file ? strdup(from->revoked_file) : NULL;
    if (!to->env || !to->key_file || (from->revoked_file && !to->revoked_file)) {
        config_free(to);
        return -1;
    }
    return 0;
}

static int config_parse(struct mosquitto_opt *opts, int n, struct config *c, char *err, size_t err_len)
{
    memset(c, 0, sizeof *c);
    c->leeway_s = 30;
    c->purge_interval_s = PURGE_INTERVAL_DEFAULT_S;
    for (int i = 0; i < n; i++) {
        const char *k = opts[i].key, *v = opts[i].value ? opts[i].value : "";
        char **dst = NULL;
        if (strcmp(k, "env") == 0) dst = &c->env;
        else if (strcmp(k, "key_file") == 0) dst = &c->key_file;
        else if (strcmp(k, "revoked_file") == 0) dst = &c->revoked_file;
        if (dst) {
            free(*dst);
            if (!(*dst = strdup(v))) {
                snprintf(err, err_len, "out of memory");
                return -1;
            }
        } else if (strcmp(k, "leeway") == 0) {
            char *end;
            long long l = strtoll(v, &end, 10);
            if (!*v || *end || l < 0 || l > LEEWAY_MAX_S) {
                snprintf(err, err_len, "plugin_opt_leeway '%s' is not a number of seconds from 0 to %d", v,
                         LEEWAY_MAX_S);
                return -1;
            }
            c->leeway_s = l;
        } else if (strcmp(k, "purge_interval") == 0) {
            char *end;
            long long l = strtoll(v, &end, 10);
            if (!*v || *end || l < 1 || l > PURGE_INTERVAL_MAX_S) {
                snprintf(err, err_len, "plugin_opt_purge_interval '%s' is not a number of seconds from 1 to %d", v,
                         PURGE_INTERVAL_MAX_S);
                return -1;
            }
            c->purge_interval_s = l;
        } else {
            snprintf(err, err_len,
                     "unknown option plugin_opt_%s (known: env, key_file, revoked_file, leeway, purge_interval)", k);
            return -1;
        }
    }
    if (!c->env || !*c->env) {
        snprintf(err, err_len, "plugin_opt_env is required (the deployment env: prod, test, devel)");
        return -1;
    }
    char prefix[64];
    if (msg_prefix(prefix, sizeof prefix, c->env) < 0) {
        snprintf(err, err_len, "plugin_opt_env '%s' is not a valid env name", c->env);
        return -1;
    }
    if (!c->key_file || !*c->key_file) {
        snprintf(err, err_len, "plugin_opt_key_file is required (an HMAC secret, or an EC/RSA public PEM)");
        return -1;
    }
    if (c->revoked_file && !*c->revoked_file) {
        free(c->revoked_file);
        c->revoked_file = NULL;
    }
    return 0;
}

/* ---------- clients ---------- */

/* The only place a client is freed (also the maps' destructor): its context cache entry goes with it. */
static void client_free(void *v)
{
    struct client *c = v;
    if (!c) return;
    struct ctx_cache_entry *e = ctx_cache_slot(c->owner, c->ctx);
    if (e->c == c) *e = (struct ctx_cache_entry){NULL, NULL};
    auth_session_free(c->session);
    free(c->id);
    free(c);
}

/* Removes c from both maps and frees it. */
static void client_drop(struct plugin *p, struct client *c)
{
    char key[32];
    ctx_key(c->ctx, key);
    if (strmap_get(p->by_id, c->id) == c) strmap_remove(p->by_id, c->id);
    if (strmap_get(p->by_ctx, key) == c) strmap_remove(p->by_ctx, key);
    client_free(c);
}

static bool client_is_revoked(struct plugin *p, struct client *c)
{
    uint64_t gen = revoked_generation(p->revoked);
    if (c->revoked_gen != gen) {
        c->revoked = revoked_contains(p->revoked, c->session->sub) || revoked_contains(p->revoked, c->session->jti);
        c->revoked_gen = gen;
    }
    return c->revoked;
}

static void refresh_revoked(struct plugin *p, bool force)
{
    char msg[512];
    int r = revoked_refresh(p->revoked, now_s(), force, msg, sizeof msg);
    if (r < 0) mosquitto_log_printf(MOSQ_LOG_ERR, LOG_PREFIX "%s", msg);
    else if (r > 0) {
        mosquitto_log_printf(MOSQ_LOG_INFO, LOG_PREFIX "%s", msg);
        p->kick_pending = true;
    }
}

/* ---------- events ---------- */

static int on_basic_auth(int event, void *event_data, void *userdata)
{
    (void)event;
    struct mosquitto_evt_basic_auth *ed = event_data;
    struct plugin *p = userdata;
    const char *id = mosquitto_client_id(ed->client);
    const char *addr = mosquitto_client_address(ed->client);
    refresh_revoked(p, false);
    if (!id || !*id) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, LOG_PREFIX "refused a client without client id from %s", safe(addr));
        return MOSQ_ERR_AUTH;
    }
    struct auth_policy pol = {p->cfg.env, p->cfg.leeway_s};
    struct auth_session *s;
    char err[AUTH_ERR_LEN];
    if (auth_verify(p->key, &pol, ed->username, ed->password, now_s(), &s, err) < 0) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, LOG_PREFIX "refused client '%s' from %s (username '%.64s'): %s", id,
                             safe(addr), safe(ed->username), err);
        return MOSQ_ERR_AUTH;
    }
    if (revoked_contains(p->revoked, s->sub) || revoked_contains(p->revoked, s->jti)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, LOG_PREFIX "refused client '%s' from %s (username '%s'): token revoked",
                             id, safe(addr), s->sub);
        auth_session_free(s);
        return MOSQ_ERR_AUTH;
    }
    if (!auth_client_id_allowed(s->sub, id)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             LOG_PREFIX "refused client '%s' from %s (username '%s'): client id must be '%s' or '%s:…'",
                             id, safe(addr), s->sub, s->sub, s->sub);
        auth_session_free(s);
        return MOSQ_ERR_AUTH;
    }
    struct client *c = calloc(1, sizeof *c);
    if (!c || !(c->id = strdup(id))) {
        free(c);
        auth_session_free(s);
        return MOSQ_ERR_NOMEM;
    }
    c->owner = p;
    c->ctx = ed->client;
    c->session = s;
    c->online = true;
    c->revoked_gen = revoked_generation(p->revoked);

    /* An offline session of the same id is about to be taken over (or is dead): its claims go now. */
    struct client *prev = strmap_get(p->by_id, id);
    if (prev && !prev->online && prev->ctx != ed->client) client_drop(p, prev);
    char key[32];
    ctx_key(ed->client, key);
    struct client *stale = strmap_get(p->by_ctx, key);
    if (stale) client_drop(p, stale); /* a context reused after its last client ended */
    if (strmap_put(p->by_ctx, key, c, NULL) < 0 || strmap_put(p->by_id, id, c, NULL) < 0) {
        strmap_remove(p->by_ctx, key);
        client_free(c);
        return MOSQ_ERR_NOMEM;
    }
    mosquitto_log_printf(MOSQ_LOG_DEBUG, LOG_PREFIX "client '%s' authenticated as '%s' until %lld", id, s->sub,
                         (long long)s->exp);
    return MOSQ_ERR_SUCCESS;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
    (void)event;
    struct mosquitto_evt_acl_check *ed = event_data;
    struct plugin *p = userdata;
    struct ctx_cache_entry *slot = ctx_cache_slot(p, ed->client);
    struct client *c = slot->ctx == ed->client ? slot->c : NULL;
    if (!c) {
        char key[32];
        ctx_key(ed->client, key);
        c = strmap_get(p->by_ctx, key);
        if (!c) return MOSQ_ERR_ACL_DENIED;
        *slot = (struct ctx_cache_entry){ed->client, c};
    }
    refresh_revoked(p, false);
    if (client_is_revoked(p, c)) {
        if (!c->logged_revoked)
            mosquitto_log_printf(MOSQ_LOG_NOTICE, LOG_PREFIX "client '%s' (%s): token revoked, access denied", c->id,
                                 c->session->sub);
        c->logged_revoked = true;
        return MOSQ_ERR_ACL_DENIED;
    }
    struct auth_policy pol = {p->cfg.env, p->cfg.leeway_s};
    int64_t now = now_s();
    if (auth_session_expired(c->session, &pol, now)) {
        if (!c->logged_expired)
            mosquitto_log_printf(MOSQ_LOG_NOTICE, LOG_PREFIX "client '%s' (%s): token expired, access denied", c->id,
                                 c->session->sub);
        c->logged_expired = true;
        return ed->access == MOSQ_ACL_UNSUBSCRIBE ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
    }
    enum auth_access a;
    switch (ed->access) {
    case MOSQ_ACL_READ: a = AUTH_READ; break;
    case MOSQ_ACL_WRITE: a = AUTH_WRITE; break;
    case MOSQ_ACL_SUBSCRIBE: a = AUTH_SUBSCRIBE; break;
    case MOSQ_ACL_UNSUBSCRIBE: a = AUTH_UNSUBSCRIBE; break;
    default: return MOSQ_ERR_ACL_DENIED;
    }
    if (!auth_session_allows(c->session, &pol, a, ed->topic, now)) return MOSQ_ERR_ACL_DENIED;
    if (a == AUTH_WRITE) {
        /* No reader accepts more (they refuse bigger payloads before parsing): do not let any token push more
         * through the broker. */
        size_t max = msg_max_payload(p->cfg.env, ed->topic);
        if (ed->payloadlen > max) {
            c->oversized++;
            if ((c->oversized & (c->oversized - 1)) == 0)
                mosquitto_log_printf(MOSQ_LOG_NOTICE,
                                     LOG_PREFIX "client '%s' (%s): refused a %lu-byte publish on %s (limit %zu; %llu "
                                                "refused so far)",
                                     c->id, c->session->sub, (unsigned long)ed->payloadlen, ed->topic, max,
                                     (unsigned long long)c->oversized);
            return MOSQ_ERR_ACL_DENIED;
        }
    }
    return MOSQ_ERR_SUCCESS;
}

static int on_disconnect(int event, void *event_data, void *userdata)
{
    (void)event;
    struct mosquitto_evt_disconnect *ed = event_data;
    struct plugin *p = userdata;
    char key[32];
    ctx_key(ed->client, key);
    struct client *c = strmap_get(p->by_ctx, key);
    if (!c) return MOSQ_ERR_SUCCESS;
    if (mosquitto_client_clean_session(ed->client)) client_drop(p, c);
    else c->online = false;
    return MOSQ_ERR_SUCCESS;
}

struct purge {
    struct plugin *p;
    int64_t now_s;
    size_t n;
};

/* strmap_filter on by_ctx: true (the map then frees the client) for an offline client whose token expired. */
static bool purge_offline_expired(const char *key, void *value, void *arg)
{
    (void)key;
    struct client *c = value;
    struct purge *pu = arg;
    struct auth_policy pol = {pu->p->cfg.env, pu->p->cfg.leeway_s};
    if (c->online || !auth_session_expired(c->session, &pol, pu->now_s)) return false;
    if (strmap_get(pu->p->by_id, c->id) == c) strmap_remove(pu->p->by_id, c->id);
    pu->n++;
    return true;
}

struct kick_list {
    struct plugin *p;
    size_t n, cap;
    char **ids;
};

static bool collect_revoked(const char *key, void *value, void *arg)
{
    (void)key;
    struct client *c = value;
    struct kick_list *k = arg;
    if (!c->online || !client_is_revoked(k->p, c)) return false;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        char **ids = realloc(k->ids, cap * sizeof *ids);
        if (!ids) return false;
        k->ids = ids;
        k->cap = cap;
    }
    if ((k->ids[k->n] = strdup(c->id))) k->n++;
    return false;
}

/* Revoked clients still connected are disconnected (their ACL checks already fail), so they notice at once. */
static void kick_revoked(struct plugin *p)
{
    struct kick_list k = {p, 0, 0, NULL};
    strmap_filter(p->by_ctx, collect_revoked, &k, NULL);
    for (size_t i = 0; i < k.n; i++) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, LOG_PREFIX "disconnecting client '%s': token revoked", k.ids[i]);
        mosquitto_kick_client_by_clientid(k.ids[i], true);
        free(k.ids[i]);
    }
    free(k.ids);
}

static int on_tick(int event, void *event_data, void *userdata)
{
    (void)event;
    (void)event_data;
    struct plugin *p = userdata;
    refresh_revoked(p, false);
    if (p->kick_pending) {
        p->kick_pending = false;
        kick_revoked(p);
    }
    int64_t now = now_s();
    if (now - p->last_purge_s >= p->cfg.purge_interval_s) {
        p->last_purge_s = now;
        struct purge pu = {p, now, 0};
        strmap_filter(p->by_ctx, purge_offline_expired, &pu, client_free);
        if (pu.n)
            mosquitto_log_printf(MOSQ_LOG_INFO, LOG_PREFIX "purged %zu expired offline session(s)", pu.n);
    }
    return MOSQ_ERR_SUCCESS;
}

static bool forget_revoked_verdict(const char *key, void *value, void *arg)
{
    (void)key;
    (void)arg;
    ((struct client *)value)->revoked_gen = UINT64_MAX;
    return false;
}

/* Loads key and revocation list for cfg; on success swaps them in (taking ownership of cfg). */
static int apply_config(struct plugin *p, struct config *cfg, char *err, size_t err_len)
{
    char kerr[AUTH_ERR_LEN], warn[AUTH_ERR_LEN];
    struct auth_key *key = auth_key_load(cfg->key_file, kerr, warn);
    if (!key) {
        snprintf(err, err_len, "%s", kerr);
        return -1;
    }
    struct revoked *rev = revoked_new(cfg->revoked_file);
    if (!rev) {
        auth_key_free(key);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    if (warn[0]) mosquitto_log_printf(MOSQ_LOG_WARNING, LOG_PREFIX "%s", warn);
    auth_key_free(p->key);
    revoked_free(p->revoked);
    config_free(&p->cfg);
    p->key = key;
    p->revoked = rev;
    p->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    /* a new list restarts its generations: every cached verdict must be recomputed */
    strmap_filter(p->by_ctx, forget_revoked_verdict, NULL, NULL);
    refresh_revoked(p, true);
    static const char *kinds[] = {"HMAC secret: HS256/HS384/HS512", "EC P-256 key: ES256", "RSA key: RS256"};
    mosquitto_log_printf(MOSQ_LOG_INFO,
                         LOG_PREFIX "env '%s', key %s (%s), leeway %lld s, purge interval %lld s, revocation file %s",
                         p->cfg.env, p->cfg.key_file, kinds[auth_key_kind(p->key)], (long long)p->cfg.leeway_s,
                         (long long)p->cfg.purge_interval_s, p->cfg.revoked_file ? p->cfg.revoked_file : "(none)");
    return 0;
}

static int on_reload(int event, void *event_data, void *userdata)
{
    (void)event;
    struct mosquitto_evt_reload *ed = event_data;
    struct plugin *p = userdata;
    struct config cfg;
    char err[512];
    int rc;
    if (ed->option_count > 0) {
        rc = config_parse(ed->options, ed->option_count, &cfg, err, sizeof err);
    } else {
        /* mosquitto 2.0.11 passes no options on reload: keep them, re-read the key and the revocation file */
        rc = config_copy(&p->cfg, &cfg);
        if (rc < 0) snprintf(err, sizeof err, "out of memory");
    }
    if (rc < 0 || apply_config(p, &cfg, err, sizeof err) < 0) {
        mosquitto_log_printf(MOSQ_LOG_ERR, LOG_PREFIX "reload failed, keeping the previous settings: %s", err);
        config_free(&cfg);
        return MOSQ_ERR_SUCCESS;
    }
    return MOSQ_ERR_SUCCESS;
}

/* ---------- entry points ---------- */

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
    for (int i = 0; i < supported_version_count; i++)
        if (supported_versions[i] == 5) return 5;
    return -1;
}

static void plugin_free(struct plugin *p)
{
    if (!p) return;
    strmap_free(p->by_id, NULL);
    strmap_free(p->by_ctx, client_free);
    auth_key_free(p->key);
    revoked_free(p->revoked);
    config_free(&p->cfg);
    free(p);
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options,
                          int option_count)
{
    struct plugin *p = calloc(1, sizeof *p);
    if (!p || !(p->by_ctx = strmap_new()) || !(p->by_id = strmap_new())) {
        plugin_free(p);
        return MOSQ_ERR_NOMEM;
    }
    p->pid = identifier;
    p->last_purge_s = now_s();
    struct config cfg;
    char err[512];
    if (config_parse(options, option_count, &cfg, err, sizeof err) < 0 || apply_config(p, &cfg, err, sizeof err) < 0) {
        mosquitto_log_printf(MOSQ_LOG_ERR, LOG_PREFIX "cannot start: %s", err);
        config_free(&cfg);
        plugin_free(p);
        return MOSQ_ERR_INVAL;
    }
    if (mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, p) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, p) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, on_disconnect, NULL, p) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_RELOAD, on_reload, NULL, p)) {
        mosquitto_log_printf(MOSQ_LOG_ERR, LOG_PREFIX "cannot register callbacks");
        plugin_free(p);
        return MOSQ_ERR_UNKNOWN;
    }
    if (mosquitto_callback_register(identifier, MOSQ_EVT_TICK, on_tick, NULL, p))
        mosquitto_log_printf(MOSQ_LOG_WARNING, LOG_PREFIX "no tick events: revocations apply at the next check");
    *userdata = p;
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
    (void)options;
    (void)option_count;
    struct plugin *p = userdata;
    if (!p) return MOSQ_ERR_SUCCESS;
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_DISCONNECT, on_disconnect, NULL);
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_RELOAD, on_reload, NULL);
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_TICK, on_tick, NULL);
    plugin_free(p);
    return MOSQ_ERR_SUCCESS;
}
