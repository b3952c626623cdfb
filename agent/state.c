/* state.c — state directory layout, the lock, atomic file replacement, and state.json (json-c). */
#include "state.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwtpeek.h"
#include "mqtt.h"
#include "xalloc.h"

#define DEFAULT_STATE_DIR "/var/lib/ntpmon-agent"

char *state_env_dir(const char *flag_dir, const char *env)
{
    const char *base = flag_dir && *flag_dir ? flag_dir : getenv("MONITOR_STATE_DIR");
    char *sysd = NULL;
    if (!base || !*base) {
        const char *sd = getenv("STATE_DIRECTORY");
        if (sd && *sd) {
            sysd = xstrndup(sd, strcspn(sd, ":"));
            base = sysd;
        }
    }
    if (!base || !*base) base = DEFAULT_STATE_DIR;
    char *out = xasprintf("%s/%s", base, env);
    free(sysd);
    return out;
}

static int mkdir_0700(const char *dir, char *err, size_t err_len)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST) return 0;
    snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
    return -1;
}

int state_dir_prepare(const char *dir, char *err, size_t err_len)
{
    char *copy = xstrdup(dir);
    char *parent = dirname(copy);
    struct stat st;
    if (stat(parent, &st) < 0 && mkdir_0700(parent, err, err_len) < 0) {
        free(copy);
        return -1;
    }
    free(copy);
    if (mkdir_0700(dir, err, err_len) < 0) return -1;
    if (stat(dir, &st) < 0) {
        snprintf(err, err_len, "cannot use %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "%s is not a directory", dir);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, err_len, "%s has mode %04o: it holds a secret token, so it must not be accessible to others "
                               "(chmod 700 %s)", dir, (unsigned)(st.st_mode & 07777), dir);
        return -1;
    }
    return 0;
}

int state_lock(const char *dir, char *err, size_t err_len)
{
    char *path = xasprintf("%s/%s", dir, LOCK_FILE);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, err_len, "%s is locked: another ntpmon-agent runs on this state directory", path);
        close(fd);
        free(path);
        return -1;
    }
    free(path);
    return fd;
}

void state_free(struct agent_state *s)
{
    free(s->mqtt_url);
    free(s->mqtt_ca_file);
    if (s->token) {
        explicit_bzero(s->token, strlen(s->token));
        free(s->token);
    }
    for (size_t i = 0; i < s->n_clock_refs; i++) free(s->clock_refs[i]);
    memset(s, 0, sizeof *s);
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

void state_copy(struct agent_state *dst, const struct agent_state *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->name, src->name, sizeof dst->name);
    dst->mqtt_url = dup_or_null(src->mqtt_url);
    dst->mqtt_ca_file = dup_or_null(src->mqtt_ca_file);
    dst->token = dup_or_null(src->token);
    dst->n_clock_refs = src->n_clock_refs;
    for (size_t i = 0; i < src->n_clock_refs; i++) dst->clock_refs[i] = xstrdup(src->clock_refs[i]);
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

bool state_same_connection(const struct agent_state *a, const struct agent_state *b)
{
    return str_eq(a->mqtt_url, b->mqtt_url) && str_eq(a->mqtt_ca_file, b->mqtt_ca_file) && str_eq(a->token, b->token);
}

bool state_same_clock_refs(const struct agent_state *a, const struct agent_state *b)
{
    if (a->n_clock_refs != b->n_clock_refs) return false;
    for (size_t i = 0; i < a->n_clock_refs; i++)
        if (strcmp(a->clock_refs[i], b->clock_refs[i]) != 0) return false;
    return true;
}

static const char *get_string(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string)) return NULL;
    return json_object_get_string(v);
}

int state_load(const char *path, struct agent_state *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, err_len, "cannot read %s: %s (run 'ntpmon-agent setup' first)", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s is not a regular file", path);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, err_len, "%s has mode %04o: it holds a secret token and must not be readable by others "
                               "(chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
        return -1;
    }
    size_t len;
    char *text = file_read_all(path, STATE_MAX_BYTES, &len, err, err_len);
    if (!text) return -1;
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    explicit_bzero(text, len);
    bool trailing = false;
    for (size_t i = end; o && i < len; i++)
        if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') trailing = true;
    free(text);
    if (!o || trailing || !json_object_is_type(o, json_type_object)) {
        snprintf(err, err_len, "%s is not a JSON object (%s)", path,
                 !o ? json_tokener_error_desc(jerr) : trailing ? "trailing data" : "wrong type");
        if (o) json_object_put(o);
        return -1;
    }
    int rc = -1;
    const char *name = get_string(o, "name"), *url = get_string(o, "mqtt_url"), *ca = get_string(o, "mqtt_ca_file"),
               *token = get_string(o, "token");
    char host[256];
    int port;
    bool tls;
    struct jwt_claims_peek claims;
    char why[160];
    if (!name || !msg_name_is_valid(name)) {
        snprintf(err, err_len, "%s: 'name' is missing or not a valid monitor name", path);
        goto done;
    }
    if (!url || mqtt_url_parse(url, host, sizeof host, &port, &tls) < 0) {
        snprintf(err, err_len, "%s: 'mqtt_url' is missing or not mqtt://host[:port] / mqtts://host[:port]", path);
        goto done;
    }
    if (!token || !*token) {
        snprintf(err, err_len, "%s: 'token' is missing", path);
        goto done;
    }
    if (jwt_peek(token, &claims, why, sizeof why) < 0) {
        snprintf(err, err_len, "%s: 'token' is unusable: %s", path, why);
        goto done;
    }
    if (strcmp(claims.sub, name) != 0) {
        snprintf(err, err_len, "%s: the token is for monitor '%.60s', not '%s'", path, claims.sub, name);
        goto done;
    }
    snprintf(out->name, sizeof out->name, "%s", name);
    out->mqtt_url = xstrdup(url);
    out->mqtt_ca_file = ca && *ca ? xstrdup(ca) : NULL;
    out->token = xstrdup(token);
    json_object *refs;
    if (json_object_object_get_ex(o, "clock_refs", &refs) && !json_object_is_type(refs, json_type_null)) {
        if (!json_object_is_type(refs, json_type_array) || json_object_array_length(refs) > STATE_MAX_CLOCK_REFS) {
            snprintf(err, err_len, "%s: 'clock_refs' must be a list of at most %d host names", path,
                     STATE_MAX_CLOCK_REFS);
            state_free(out);
            goto done;
        }
        for (size_t i = 0; i < json_object_array_length(refs); i++) {
            json_object *r = json_object_array_get_idx(refs, i);
            if (!json_object_is_type(r, json_type_string) || json_object_get_string_len(r) == 0 ||
                json_object_get_string_len(r) > 255) {
                snprintf(err, err_len, "%s: clock_refs[%zu] is not a host name", path, i);
                state_free(out);
                goto done;
            }
            out->clock_refs[out->n_clock_refs++] = xstrdup(json_object_get_string(r));
        }
    }
    rc = 0;
done:
    json_object_put(o);
    return rc;
}

int state_save(const char *path, const struct agent_state *s, char *err, size_t err_len)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(s->name));
    json_object_object_add(o, "mqtt_url", json_object_new_string(s->mqtt_url ? s->mqtt_url : ""));
    if (s->mqtt_ca_file) json_object_object_add(o, "mqtt_ca_file", json_object_new_string(s->mqtt_ca_file));
    json_object *refs = json_object_new_array();
    for (size_t i = 0; i < s->n_clock_refs; i++) json_object_array_add(refs, json_object_new_string(s->clock_refs[i]));
    json_object_object_add(o, "clock_refs", refs);
    json_object_object_add(o, "token", json_object_new_string(s->token ? s->token : ""));
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(text);
    char *copy = xmalloc(len + 2);
    memcpy(copy, text, len);
    copy[len++] = '\n';
    json_object_put(o);
    int rc = file_write_atomic(path, copy, len, 0600, err, err_len);
    explicit_bzero(copy, len);
    free(copy);
    return rc;
}
