/* setup.c — `ntpmon-agent setup`: checks the name, broker URL, CA file and token, and writes state.json atomically
 * (0600 in a 0700 directory). Run as root on a state directory owned by the agent's user, it hands the files to
 * that user so the daemon can read them. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "jwtpeek.h"
#include "mqtt.h"
#include "msg.h"
#include "state.h"
#include "xalloc.h"

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: setup: ", AGENT_NAME);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

static char *read_token(const char *file)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) return NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    if (f != stdin) fclose(f);
    if (n <= 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = '\0';
    return line;
}

int agent_setup(const struct agent_opts *o)
{
    if (!o->name || !msg_name_is_valid(o->name))
        return fail("--name is missing or invalid (1-63 of A-Z a-z 0-9 . _ -)");
    char host[256];
    int port;
    bool tls;
    if (!o->mqtt_url || mqtt_url_parse(o->mqtt_url, host, sizeof host, &port, &tls) < 0)
        return fail("--mqtt-url '%s' is missing or invalid (mqtt://host[:port] or mqtts://host[:port])",
                    o->mqtt_url ? o->mqtt_url : "");
    if (!o->mqtt_token_file) return fail("--mqtt-token-file FILE (or '-' for standard input) is required");
    char *token = read_token(o->mqtt_token_file);
    if (!token || !*token) {
        free(token);
        return fail("cannot read a token from %s", o->mqtt_token_file);
    }
    struct jwt_claims_peek claims;
    char why[160];
    if (jwt_peek(token, &claims, why, sizeof why) < 0) {
        free(token);
        return fail("the token is unusable: %s", why);
    }
    if (strcmp(claims.sub, o->name) != 0) {
        free(token);
        return fail("the token is for monitor '%s', not '%s'", claims.sub, o->name);
    }
    if (claims.exp && claims.exp < (int64_t)time(NULL))
        fprintf(stderr, "%s: setup: warning: the token has expired; ask for a new one\n", AGENT_NAME);
    char ca_abs[PATH_MAX];
    if (o->mqtt_ca_file && *o->mqtt_ca_file) {
        if (!realpath(o->mqtt_ca_file, ca_abs) || access(ca_abs, R_OK) < 0) {
            free(token);
            return fail("cannot read the CA file %s: %s", o->mqtt_ca_file, strerror(errno));
        }
    }
    if (o->clock_refs.n > STATE_MAX_CLOCK_REFS) {
        free(token);
        return fail("at most %d --clock-ref servers", STATE_MAX_CLOCK_REFS);
    }

    struct agent_state st = {0};
    snprintf(st.name, sizeof st.name, "%s", o->name);
    st.mqtt_url = xstrdup(o->mqtt_url);
    st.mqtt_ca_file = o->mqtt_ca_file && *o->mqtt_ca_file ? xstrdup(ca_abs) : NULL;
    st.token = token;
    for (size_t i = 0; i < o->clock_refs.n; i++) st.clock_refs[st.n_clock_refs++] = xstrdup(o->clock_refs.items[i]);

    char *dir = state_env_dir(o->state_dir, o->common.env);
    char err[512];
    int rc = 0;
    char *path = xasprintf("%s/%s", dir, STATE_FILE);
    if (state_dir_prepare(dir, err, sizeof err) < 0 || state_save(path, &st, err, sizeof err) < 0) {
        fprintf(stderr, "%s: setup: %s\n", AGENT_NAME, err);
        rc = 2;
    } else {
        /* root setting up a state directory that belongs to the agent's user: give the files to that user */
        struct stat parent;
        char *base = xstrndup(dir, (size_t)(strrchr(dir, '/') - dir));
        if (geteuid() == 0 && stat(base, &parent) == 0 && parent.st_uid != 0) {
            if (chown(dir, parent.st_uid, parent.st_gid) < 0 || chown(path, parent.st_uid, parent.st_gid) < 0)
                fprintf(stderr, "%s: setup: warning: cannot hand %s to uid %u: %s\n", AGENT_NAME, dir,
                        (unsigned)parent.st_uid, strerror(errno));
        }
        free(base);
        printf("wrote %s (monitor %s, broker %s)\n", path, st.name, st.mqtt_url);
    }
    free(path);
    free(dir);
    state_free(&st);
    return rc;
}
