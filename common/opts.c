/* opts.c — flag/env/default resolution over getopt_long, generated --help, and the shared option groups. */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dbconf.h"
#include "jwtpeek.h"
#include "log.h"
#include "mqtt.h"
#include "msg.h"
#include "timeutil.h"
#include "xalloc.h"

#ifndef NTPMON_VERSION
#define NTPMON_VERSION "0.0.0"
#endif

#define MAX_SPECS 128

static const struct opt_program *current_prog;

void opts_usage_error(const struct opt_program *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog->name);
    va_end(ap);
    exit(2);
}

static size_t collect(const struct opt_program *prog, const struct opt_spec **out)
{
    size_t n = 0;
    for (const struct opt_spec *const *g = prog->groups; g && *g; g++)
        for (const struct opt_spec *s = *g; s->name; s++)
            if (n < MAX_SPECS) out[n++] = s;
    return n;
}

static void print_help(const struct opt_program *prog)
{
    printf("Usage: %s %s\n\n", prog->name, prog->usage);
    if (prog->description) printf("%s\n\n", prog->description);
    printf("Options:\n");
    const struct opt_spec *specs[MAX_SPECS];
    size_t n = collect(prog, specs);
    for (size_t i = 0; i < n; i++) {
        const struct opt_spec *s = specs[i];
        char left[96];
        int k = 0;
        if (s->short_name) k = snprintf(left, sizeof left, "-%c, ", s->short_name);
        else k = snprintf(left, sizeof left, "    ");
        snprintf(left + k, sizeof left - (size_t)k, "--%s%s%s", s->name, s->type == OPT_FLAG ? "" : " ",
                 s->type == OPT_FLAG ? "" : (s->metavar ? s->metavar : "VALUE"));
        printf("  %-34s %s", left, s->help ? s->help : "");
        if (s->def && s->type != OPT_FLAG) printf(" (default %s)", s->def);
        if (s->env) printf(" [env %s]", s->env);
        printf("\n");
    }
    printf("  %-34s %s\n  %-34s %s\n", "-h, --help", "show this help and exit", "    --version",
           "print the version and exit");
    if (prog->footer) printf("\n%s", prog->footer);
}

static bool parse_bool_text(const char *v, bool *out)
{
    if (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) {
        *out = true;
        return true;
    }
    if (!strcasecmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !*v) {
        *out = false;
        return true;
    }
    return false;
}

/* Stores text into the spec's destination; returns NULL or a static error description. */
static const char *store(const struct opt_spec *s, const char *text)
{
    static char why[160];
    bool bounded = s->min != s->max;
    switch (s->type) {
    case OPT_FLAG:
        if (!parse_bool_text(text, (bool *)s->dst)) return "expected true or false";
        return NULL;
    case OPT_STRING:
        *(const char **)s->dst = text;
        return NULL;
    case OPT_LIST: {
        struct opt_list *l = s->dst;
        l->items = xrealloc(l->items, (l->n + 1) * sizeof *l->items);
        l->items[l->n++] = text;
        return NULL;
    }
    case OPT_INT: {
        errno = 0;
        char *end;
        long long v = strtoll(text, &end, 10);
        if (errno || end == text || *end) return "expected an integer";
        if (bounded && (v < s->min || v > s->max)) {
            snprintf(why, sizeof why, "must be between %.0f and %.0f", s->min, s->max);
            return why;
        }
        *(int64_t *)s->dst = v;
        return NULL;
    }
    case OPT_DOUBLE: {
        errno = 0;
        char *end;
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v)) return "expected a number";
        if (bounded && (v < s->min || v > s->max)) {
            snprintf(why, sizeof why, "must be between %g and %g", s->min, s->max);
            return why;
        }
        *(double *)s->dst = v;
        return NULL;
    }
    case OPT_DURATION: {
        int64_t us;
        if (time_parse_duration(text, &us) < 0) return "expected a duration like 90, 90s, 5m, 6h or 2d";
        if (bounded && (us < s->min * 1e6 || us > s->max * 1e6)) {
            snprintf(why, sizeof why, "must be between %gs and %gs", s->min, s->max);
            return why;
        }
        *(int64_t *)s->dst = us;
        return NULL;
    }
    }
    return "unknown option type";
}

static void store_or_die(const struct opt_program *prog, const struct opt_spec *s, const char *text,
                         const char *source)
{
    const char *why = store(s, text);
    if (why) opts_usage_error(prog, "invalid value '%s' for %s: %s", text, source, why);
}

/* What opts_parse allocated (list arrays, copies of list variables): kept for the process, released by the next
 * opts_parse, so a program or a test may parse more than once without leaking. */
static void **owned;
static size_t n_owned, cap_owned;

static void own(void *p)
{
    if (!p) return;
    if (n_owned == cap_owned) owned = xrealloc(owned, (cap_owned = cap_owned ? cap_owned * 2 : 16) * sizeof *owned);
    owned[n_owned++] = p;
}

/* getopt_long takes any unique prefix of a long name ("--token X" became "--token-retry X"): a long option must be
 * spelled out. arg is the next word getopt will read (values it consumes never reach here; nor does anything after
 * "--", which ends the flags). */
static void refuse_abbreviation(const struct opt_program *prog, const char *arg, const struct option *longopts)
{
    if (!arg || arg[0] != '-' || arg[1] != '-' || arg[2] == '\0') return;
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    char candidates[256] = "";
    size_t cl = 0;
    for (const struct option *o = longopts; o->name; o++) {
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) return;
        if (strncmp(o->name, name, len) == 0 && cl < sizeof candidates)
            cl += (size_t)snprintf(candidates + cl, sizeof candidates - cl, "%s--%s", cl ? ", " : "", o->name);
    }
    if (candidates[0])
        opts_usage_error(prog, "unknown option '--%.*s' (options are not abbreviated: did you mean %s?)", (int)len,
                         name, candidates);
    opts_usage_error(prog, "unknown option '--%.*s'", (int)len, name);
}

int opts_parse(const struct opt_program *prog, int argc, char **argv)
{
    current_prog = prog;
    for (size_t i = 0; i < n_owned; i++) free(owned[i]);
    n_owned = 0;
    const struct opt_spec *specs[MAX_SPECS];
    size_t n = collect(prog, specs);
    bool seen[MAX_SPECS] = {false};

    /* Defaults first, then the environment; flags override both. */
    for (size_t i = 0; i < n; i++) {
        const struct opt_spec *s = specs[i];
        if (s->type == OPT_LIST) memset(s->dst, 0, sizeof(struct opt_list));
        else if (s->type == OPT_FLAG) *(bool *)s->dst = false;
        if (s->def) store_or_die(prog, s, s->def, "the default");
        const char *ev = s->env ? getenv(s->env) : NULL;
        if (ev && (*ev || s->type == OPT_STRING)) {
            char source[96];
            snprintf(source, sizeof source, "$%s", s->env);
            if (s->type == OPT_LIST) {
                /* a list from the environment: space separated */
                struct opt_list *l = s->dst;
                l->n = 0;
                char *copy = xstrdup(ev);
                own(copy);
                for (char *tok = strtok(copy, " ,"); tok; tok = strtok(NULL, " ,")) store_or_die(prog, s, tok, source);
            } else {
                store_or_die(prog, s, ev, source);
            }
        }
    }

    struct option longopts[MAX_SPECS + 3];
    char shortopts[2 * MAX_SPECS + 8];
    size_t k = 0, si = 0;
    shortopts[si++] = '+'; /* stop at the first positional: we permute by hand to allow flags after commands */
    shortopts[si++] = ':'; /* a short option missing its value is ':', not an unknown option */
    shortopts[si++] = 'h';
    for (size_t i = 0; i < n; i++) {
        longopts[k++] = (struct option){specs[i]->name, specs[i]->type == OPT_FLAG ? optional_argument : required_argument,
                                        NULL, 1000 + (int)i};
        if (specs[i]->short_name) {
            shortopts[si++] = (char)specs[i]->short_name;
            if (specs[i]->type != OPT_FLAG) shortopts[si++] = ':';
        }
    }
    shortopts[si] = '\0';
    longopts[k++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[k++] = (struct option){"version", no_argument, NULL, 'V'};
    longopts[k] = (struct option){NULL, 0, NULL, 0};

    /* Collect positionals ourselves so that "prog cmd --flag x" and "prog --flag x cmd" both work. */
    char **positional = xcalloc((size_t)argc + 1, sizeof *positional);
    own(positional); /* --help, --version and usage errors exit from inside the loop */
    int n_pos = 0;
    optind = 1;
    opterr = 0;
    while (optind < argc) {
        refuse_abbreviation(prog, argv[optind], longopts);
        int longidx = -1;
        int c = getopt_long(argc, argv, shortopts, longopts, &longidx);
        if (c == -1) {
            if (optind >= argc) break;
            if (optind > 1 && strcmp(argv[optind - 1], "--") == 0) { /* everything after "--" is positional */
                while (optind < argc) positional[n_pos++] = argv[optind++];
                break;
            }
            positional[n_pos++] = argv[optind++];
            continue;
        }
        if (c == 'h') {
            print_help(prog);
            exit(0);
        }
        if (c == 'V') {
            printf("%s %s\n", prog->name, NTPMON_VERSION);
            exit(0);
        }
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            if (optopt && optopt < 256 && c == '?')
                opts_usage_error(prog, "unknown option '-%c'", optopt);
            if (c == ':' || (optopt >= 1000))
                opts_usage_error(prog, "option '%s' needs a value", bad);
            opts_usage_error(prog, "unknown option '%s'", bad);
        }
        const struct opt_spec *s = NULL;
        if (c >= 1000) s = specs[c - 1000];
        else
            for (size_t i = 0; i < n; i++)
                if (specs[i]->short_name == c) s = specs[i];
        if (!s) opts_usage_error(prog, "unknown option");
        size_t idx = 0;
        while (specs[idx] != s) idx++;
        char source[96];
        snprintf(source, sizeof source, "--%s", s->name);
        if (s->type == OPT_FLAG) {
            store_or_die(prog, s, optarg ? optarg : "true", source);
        } else if (s->type == OPT_LIST) {
            if (!seen[idx]) ((struct opt_list *)s->dst)->n = 0; /* a flag replaces env/default lists */
            store_or_die(prog, s, optarg, source);
            /* "--clock-ref a b c": take following words until the next flag */
            while (optind < argc && argv[optind][0] != '-' && s->short_name == 0 && s->metavar &&
                   strstr(s->metavar, "…"))
                store_or_die(prog, s, argv[optind++], source);
        } else {
            store_or_die(prog, s, optarg, source);
        }
        seen[idx] = true;
    }
    /* Put positionals at the end of argv in order. */
    int first = argc - n_pos;
    for (int i = 0; i < n_pos; i++) argv[first + i] = positional[i];
    for (size_t i = 0; i < n; i++)
        if (specs[i]->type == OPT_LIST) own(((struct opt_list *)specs[i]->dst)->items);
    return first;
}

int opts_load_env_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[4096];
    int lineno = 0, set = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        size_t len = strlen(p);
        while (len && isspace((unsigned char)p[len - 1])) p[--len] = '\0';
        if (!*p || *p == '#') continue;
        if (strncmp(p, "export ", 7) == 0) p += 7;
        char *eq = strchr(p, '=');
        if (!eq || eq == p) {
            fprintf(stderr, "%s:%d: ignoring line without KEY=VALUE\n", path, lineno);
            continue;
        }
        *eq = '\0';
        char *val = eq + 1;
        size_t vlen = strlen(val);
        if (vlen >= 2 && (val[0] == '"' || val[0] == '\'') && val[vlen - 1] == val[0]) {
            val[vlen - 1] = '\0';
            val++;
        }
        bool ok_name = true;
        for (char *q = p; *q; q++)
            if (!(isalnum((unsigned char)*q) || *q == '_')) ok_name = false;
        if (!ok_name) {
            fprintf(stderr, "%s:%d: ignoring invalid variable name '%s'\n", path, lineno, p);
            continue;
        }
        if (!getenv(p) && setenv(p, val, 0) == 0) set++;
    }
    fclose(f);
    return set;
}

/* ---- shared groups ---- */

const struct opt_spec *opts_common_specs(struct opts_common *c)
{
    static struct opt_spec specs[3];
    specs[0] = (struct opt_spec){"env", 'e', "DEPLOYMENT_MODE", OPT_STRING, &c->env, "devel", 0, 0, "ENV",
                                 "deployment: prod, test or devel (own database and topic prefix)", };
    specs[1] = (struct opt_spec){"log-level", 0, "LOG_LEVEL", OPT_STRING, &c->log_level, "info", 0, 0, "LEVEL",
                                 "error, warn, info or debug"};
    specs[2] = (struct opt_spec){0};
    return specs;
}

void opts_common_apply(const struct opt_program *prog, const struct opts_common *c)
{
    log_init(prog->name);
    enum log_level level;
    if (log_level_parse(c->log_level, &level) < 0)
        opts_usage_error(prog, "invalid log level '%s' (error, warn, info or debug)", c->log_level);
    log_set_level(level);
    if (!msg_env_is_valid(c->env))
        opts_usage_error(prog, "invalid env '%s' (lowercase letters, digits, '-' or '_', at most 15)", c->env);
}

const struct opt_spec *opts_mqtt_specs(struct opts_mqtt *m)
{
    static struct opt_spec specs[5];
    specs[0] = (struct opt_spec){"mqtt-url", 0, "MQTT_URL", OPT_STRING, &m->url, "mqtt://127.0.0.1:1883", 0, 0,
                                 "URL", "broker: mqtt://host[:1883] or mqtts://host[:8883]"};
    specs[1] = (struct opt_spec){"mqtt-token-file", 0, "MQTT_TOKEN_FILE", OPT_STRING, &m->token_file, NULL, 0, 0,
                                 "FILE", "file holding the broker token (else $MQTT_TOKEN holds the token itself)"};
    specs[2] = (struct opt_spec){"mqtt-ca-file", 0, "MQTT_CA_FILE", OPT_STRING, &m->ca_file, NULL, 0, 0, "FILE",
                                 "CA certificate for mqtts:// (default: the system's)"};
    specs[3] = (struct opt_spec){"mqtt-client-id", 0, "MQTT_CLIENT_ID", OPT_STRING, &m->client_id, NULL, 0, 0,
                                 "ID", "MQTT client id (default: derived from the token and host)"};
    specs[4] = (struct opt_spec){0};
    return specs;
}

char *opts_mqtt_token(const struct opts_mqtt *m, char *err, size_t err_len)
{
    if (m->token_file && *m->token_file) {
        FILE *f = fopen(m->token_file, "r");
        if (!f) {
            snprintf(err, err_len, "cannot read token file %s: %s", m->token_file, strerror(errno));
            return NULL;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, f);
        fclose(f);
        if (n <= 0) {
            free(line);
            snprintf(err, err_len, "token file %s is empty", m->token_file);
            return NULL;
        }
        while (n > 0 && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
        if (n == 0) {
            free(line);
            snprintf(err, err_len, "token file %s is empty", m->token_file);
            return NULL;
        }
        return line;
    }
    const char *t = getenv("MQTT_TOKEN");
    if (t && *t) return xstrdup(t);
    snprintf(err, err_len, "no broker token: set --mqtt-token-file or $MQTT_TOKEN");
    return NULL;
}

void opts_mqtt_credentials(const struct opt_program *prog, const struct opts_mqtt *m, char **token, char **username)
{
    char host[256];
    int port;
    bool tls;
    if (mqtt_url_parse(m->url, host, sizeof host, &port, &tls) < 0)
        opts_usage_error(prog, "invalid --mqtt-url '%s': want mqtt://host[:port] or mqtts://host[:port]", m->url);
    char err[256];
    *token = opts_mqtt_token(m, err, sizeof err);
    *username = NULL;
    if (!*token) {
        if (m->token_file && *m->token_file) opts_usage_error(prog, "%s", err);
        LOG_ALWAYS(WARN, "no broker token ($MQTT_TOKEN or --mqtt-token-file): connecting without credentials");
        return;
    }
    struct jwt_claims_peek claims;
    if (jwt_peek(*token, &claims, err, sizeof err) < 0)
        opts_usage_error(prog, "the broker token is not a JWT: %s", err);
    *username = xstrdup(claims.sub);
}

void opts_db_resolve(const struct opt_program *prog, const struct opts_db *d, const char *env, struct db_dsn *out)
{
    char err[DBCONF_ERR_LEN];
    if (dbconf_resolve(d->dsn, d->config_file, d->ca_file, env, out, err) < 0) {
        fprintf(stderr, "%s: %s\n", prog->name, err);
        exit(2);
    }
}

const struct opt_spec *opts_db_specs(struct opts_db *d)
{
    static struct opt_spec specs[5];
    specs[0] = (struct opt_spec){"database-dsn", 0, "DATABASE_DSN", OPT_STRING, &d->dsn, NULL, 0, 0, "DSN",
                                 "user:pass@tcp(host:port)/db?params (user/pass may come from database.yaml; "
                                 "tls=true|skip-verify|false)"};
    specs[1] = (struct opt_spec){"database-config", 0, "DATABASE_CONFIG", OPT_STRING, &d->config_file, NULL, 0, 0,
                                 "FILE", "database.yaml (mysql: {user, pass, dsn}); default ./database.yaml, "
                                         "/etc/ntpmon/database.yaml, /vault/secrets/database.yaml"};
    specs[2] = (struct opt_spec){"database-ca-file", 0, "DATABASE_CA_FILE", OPT_STRING, &d->ca_file, NULL, 0, 0,
                                 "FILE", "CA certificate that signs the database server's (tls=true; default: the "
                                         "system's store; replaces the DSN's tls-ca)"};
    specs[3] = (struct opt_spec){"database-check-interval", 0, NULL, OPT_DURATION, &d->check_interval_us, "10s", 0.01,
                                 3600, "DURATION", "daemons: how often the database is pinged for /healthz"};
    specs[4] = (struct opt_spec){0};
    return specs;
}

const struct opt_spec *opts_metrics_specs(struct opts_metrics *m)
{
    static struct opt_spec specs[6];
    specs[0] = (struct opt_spec){"metrics-listen", 0, "METRICS_LISTEN", OPT_STRING, &m->listen, NULL, 0, 0,
                                 "ADDR:PORT", "serve Prometheus /metrics and /healthz on this address (off by default)"};
    /* defaults: METRICS_LIMITS_DEFAULT */
    specs[1] = (struct opt_spec){"metrics-request-timeout", 0, NULL, OPT_DURATION, &m->limits.request_timeout_us, "5s",
                                 0.1, 300, "DURATION",
                                 "a whole HTTP request must arrive within this (from connect or the previous answer)"};
    specs[2] = (struct opt_spec){"metrics-max-connections", 0, NULL, OPT_INT, &m->limits.max_connections, "128", 1,
                                 65536, "N", "open connections to the metrics endpoint in all"};
    specs[3] = (struct opt_spec){"metrics-max-per-ip", 0, NULL, OPT_INT, &m->limits.max_per_ip, "8", 1, 65536, "N",
                                 "open connections to the metrics endpoint from one address"};
    specs[4] = (struct opt_spec){"health-interval", 0, NULL, OPT_DURATION, &m->health_interval_us, "1s", 0.01, 3600,
                                 "DURATION", "how often /healthz and the service manager's STATUS= are brought up to date"};
    specs[5] = (struct opt_spec){0};
    return specs;
}
