/* dbconf.c — DSN and database.yaml parsing (libyaml for YAML). */
#include "dbconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "hostport.h"
#include "timeutil.h"
#include "xalloc.h"

static int copy_field(char *dst, size_t cap, const char *src, size_t len, const char *what, char err[DBCONF_ERR_LEN])
{
    if (len >= cap) {
        snprintf(err, DBCONF_ERR_LEN, "DSN %s is too long", what);
        return -1;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

static int parse_timeout(const char *v, unsigned *out)
{
    int64_t us;
    if (time_parse_duration(v, &us) < 0 || us > 3600LL * 1000000) return -1;
    *out = (unsigned)((us + 999999) / 1000000);
    return 0;
}

/* Go's readBool: the spellings strconv.ParseBool-style DSN flags accept. */
static int read_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"1", "true", "TRUE", "True"}, *const no[] = {"0", "false", "FALSE", "False"};
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(v, yes[i]) == 0) return *out = true, 0;
        if (strcmp(v, no[i]) == 0) return *out = false, 0;
    }
    return -1;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* url.QueryUnescape: %XX and '+' for a space. -1 on a bad escape or when it does not fit. */
static int query_unescape(const char *v, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = v; *p; p++) {
        char c = *p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0) return -1;
            c = (char)(hi * 16 + lo);
            p += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (n + 1 >= cap || c == '\0') return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

static int parse_tls(const char *v, enum dbconf_tls *out)
{
    bool b;
    if (read_bool(v, &b) == 0) *out = b ? DBCONF_TLS_VERIFY : DBCONF_TLS_OFF;
    else if (strcasecmp(v, "skip-verify") == 0) *out = DBCONF_TLS_SKIP_VERIFY;
    else return -1;
    return 0;
}

static int parse_params(char *params, struct db_dsn *out, char err[DBCONF_ERR_LEN])
{
    char *save = NULL;
    for (char *kv = strtok_r(params, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            snprintf(err, DBCONF_ERR_LEN, "DSN parameter '%.40s' needs a value", kv);
            return -1;
        }
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(kv, "timeout") == 0 || strcmp(kv, "readTimeout") == 0 || strcmp(kv, "writeTimeout") == 0) {
            unsigned *dst = kv[0] == 't' ? &out->timeout_s : kv[0] == 'r' ? &out->read_timeout_s : &out->write_timeout_s;
            if (parse_timeout(v, dst) < 0) {
                snprintf(err, DBCONF_ERR_LEN, "DSN parameter %s has an invalid duration", kv);
                return -1;
            }
        } else if (strcmp(kv, "tls") == 0) {
            if (parse_tls(v, &out->tls) < 0) {
                snprintf(err, DBCONF_ERR_LEN, "DSN parameter tls must be true, false or skip-verify");
                return -1;
            }
        } else if (strcmp(kv, "tls-ca") == 0) {
            if (query_unescape(v, out->tls_ca, sizeof out->tls_ca) < 0 || !out->tls_ca[0]) {
                snprintf(err, DBCONF_ERR_LEN, "DSN parameter tls-ca must be a file name (percent-encoded, %%2F for '/')");
                return -1;
            }
        }
        /* charset, parseTime, loc, collation …: accepted for compatibility with the pool's DSNs */
    }
    return 0;
}

int dbconf_parse_dsn(const char *dsn, struct db_dsn *out, char err[DBCONF_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    out->port = 3306;
    snprintf(out->host, sizeof out->host, "127.0.0.1");
    if (!dsn || !*dsn) {
        snprintf(err, DBCONF_ERR_LEN, "empty DSN");
        return -1;
    }
    /* [user[:password]@][net[(addr)]]/dbname[?params], split as go-sql-driver/mysql's ParseDSN: the last '/'
     * starts the database name (a password or a unix path may hold '/'; a parameter value may not: it must be
     * written %2F), the last '@' before it ends the credentials (so a password may hold '@', and so may a
     * parameter value), and the first ':' of the credentials splits user and password. */
    const char *slash = strrchr(dsn, '/');
    if (!slash) {
        snprintf(err, DBCONF_ERR_LEN, "DSN needs '/' before the database name (user:pass@tcp(host:port)/db)");
        return -1;
    }
    const char *at = NULL;
    for (size_t i = (size_t)(slash - dsn); i > 0; i--)
        if (dsn[i - 1] == '@') {
            at = dsn + i - 1;
            break;
        }
    const char *rest = dsn;
    if (at) {
        const char *colon = memchr(dsn, ':', (size_t)(at - dsn));
        size_t ulen = colon ? (size_t)(colon - dsn) : (size_t)(at - dsn);
        if (copy_field(out->user, sizeof out->user, dsn, ulen, "user", err) < 0) return -1;
        out->has_user = ulen > 0;
        if (colon) {
            if (copy_field(out->pass, sizeof out->pass, colon + 1, (size_t)(at - colon - 1), "password", err) < 0)
                return -1;
            out->has_pass = true;
        }
        rest = at + 1;
    }
    /* net(addr): tcp(host[:port]) or unix(/path), optional */
    size_t addr_len = (size_t)(slash - rest);
    const char *open = memchr(rest, '(', addr_len);
    if (open) {
        if (slash[-1] != ')') {
            if (memchr(open + 1, ')', (size_t)(slash - open - 1)))
                snprintf(err, DBCONF_ERR_LEN, "DSN: a '/' in a parameter value must be written %%2F");
            else snprintf(err, DBCONF_ERR_LEN, "DSN address must look like tcp(host:port) or unix(/path)");
            return -1;
        }
        size_t net_len = (size_t)(open - rest), inner = (size_t)(slash - 1 - open - 1);
        bool is_unix = net_len == 4 && strncmp(rest, "unix", 4) == 0;
        if (!is_unix && !(net_len == 3 && strncmp(rest, "tcp", 3) == 0)) {
            snprintf(err, DBCONF_ERR_LEN, "DSN address must look like tcp(host:port) or unix(/path)");
            return -1;
        }
        if (is_unix) {
            if (inner == 0) {
                snprintf(err, DBCONF_ERR_LEN, "DSN unix() needs a socket path");
                return -1;
            }
            if (copy_field(out->socket, sizeof out->socket, open + 1, inner, "socket path", err) < 0) return -1;
            out->host[0] = '\0';
        } else if (inner > 0) {
            char herr[HOSTPORT_ERR_LEN];
            uint16_t port;
            if (hostport_parse(open + 1, inner, 3306, out->host, sizeof out->host, &port, herr) < 0) {
                snprintf(err, DBCONF_ERR_LEN, "DSN %s", herr);
                return -1;
            }
            out->port = port;
        }
    } else if (addr_len > 0 && !(addr_len == 3 && strncmp(rest, "tcp", 3) == 0)) {
        snprintf(err, DBCONF_ERR_LEN, "DSN address must look like tcp(host:port) or unix(/path)");
        return -1;
    }
    /* database name and params */
    const char *q = strchr(slash + 1, '?');
    size_t dblen = q ? (size_t)(q - slash - 1) : strlen(slash + 1);
    if (copy_field(out->dbname, sizeof out->dbname, slash + 1, dblen, "database name", err) < 0) return -1;
    for (char *p = out->dbname; *p; p++) {
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '$')) {
            snprintf(err, DBCONF_ERR_LEN, "DSN database name has invalid characters");
            return -1;
        }
    }
    if (q) {
        char *params = xstrdup(q + 1);
        int rc = parse_params(params, out, err);
        free(params);
        if (rc < 0) return -1;
    }
    return 0;
}

const char *dbconf_tls_name(enum dbconf_tls tls)
{
    switch (tls) {
    case DBCONF_TLS_OFF: return "false";
    case DBCONF_TLS_VERIFY: return "true";
    case DBCONF_TLS_SKIP_VERIFY: return "skip-verify";
    }
    return "?";
}

/* Walks a YAML document for mysql.{user,pass,dsn}. */
int dbconf_load_yaml(const char *path, char **user_out, char **pass_out, char **dsn_out, char err[DBCONF_ERR_LEN])
{
    *user_out = *pass_out = *dsn_out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, DBCONF_ERR_LEN, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int depth = 0, rc = -1;
    bool in_mysql = false, expect_key = true, seen_mysql = false;
    char key[64] = "";
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, DBCONF_ERR_LEN, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "YAML syntax error");
            goto out;
        }
        yaml_event_type_t type = ev.type;
        if (type == YAML_MAPPING_START_EVENT || type == YAML_SEQUENCE_START_EVENT) {
            if (depth == 1 && type == YAML_MAPPING_START_EVENT && strcmp(key, "mysql") == 0) {
                in_mysql = true;
                seen_mysql = true;
            }
            depth++;
            expect_key = true;
        } else if (type == YAML_MAPPING_END_EVENT || type == YAML_SEQUENCE_END_EVENT) {
            depth--;
            if (depth == 1) in_mysql = false;
            expect_key = true;
        } else if (type == YAML_SCALAR_EVENT) {
            const char *val = (const char *)ev.data.scalar.value;
            if (expect_key) {
                snprintf(key, sizeof key, "%s", val);
                expect_key = false;
            } else {
                if (in_mysql && depth == 2) {
                    char **dst = strcmp(key, "user") == 0 ? user_out
                               : strcmp(key, "pass") == 0 ? pass_out
                               : strcmp(key, "dsn") == 0 ? dsn_out : NULL;
                    if (dst) {
                        free(*dst);
                        *dst = xstrdup(val);
                    }
                }
                expect_key = true;
            }
        }
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT) break;
    }
    if (!seen_mysql) {
        snprintf(err, DBCONF_ERR_LEN, "%s: no 'mysql:' mapping (expected mysql: {user, pass, dsn})", path);
        goto out;
    }
    rc = 0;
out:
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc < 0) {
        free(*user_out);
        free(*pass_out);
        free(*dsn_out);
        *user_out = *pass_out = *dsn_out = NULL;
    }
    return rc;
}

int dbconf_resolve(const char *dsn, const char *yaml_path, const char *ca_file, const char *env, struct db_dsn *out,
                   char err[DBCONF_ERR_LEN])
{
    char *y_user = NULL, *y_pass = NULL, *y_dsn = NULL;
    const char *yaml = yaml_path;
    if (!yaml) {
        static const char *const defaults[] = {"database.yaml", "/etc/ntpmon/database.yaml",
                                               "/vault/secrets/database.yaml"};
        for (size_t i = 0; i < 3 && !yaml; i++)
            if (access(defaults[i], R_OK) == 0) yaml = defaults[i];
    }
    if (yaml && dbconf_load_yaml(yaml, &y_user, &y_pass, &y_dsn, err) < 0) return -1;
    const char *use = dsn && *dsn ? dsn : y_dsn;
    int rc = -1;
    if (!use) {
        snprintf(err, DBCONF_ERR_LEN, "no database configured: set $DATABASE_DSN, --database-dsn or a database.yaml");
        goto out;
    }
    if (dbconf_parse_dsn(use, out, err) < 0) goto out;
    if (!out->has_user && y_user) {
        snprintf(out->user, sizeof out->user, "%s", y_user);
        out->has_user = true;
    }
    if (!out->has_pass && y_pass) {
        snprintf(out->pass, sizeof out->pass, "%s", y_pass);
        out->has_pass = true;
    }
    if (!out->has_user) snprintf(out->user, sizeof out->user, "root");
    if (!out->dbname[0]) snprintf(out->dbname, sizeof out->dbname, "ntpmon_%s", env ? env : "devel");
    for (char *p = out->dbname; *p; p++)
        if (*p == '-') *p = '_';
    if (ca_file && *ca_file) {
        if (strlen(ca_file) >= sizeof out->tls_ca) {
            snprintf(err, DBCONF_ERR_LEN, "database CA file name is too long");
            goto out;
        }
        snprintf(out->tls_ca, sizeof out->tls_ca, "%s", ca_file);
    }
    if (out->tls_ca[0] && access(out->tls_ca, R_OK) < 0) {
        snprintf(err, DBCONF_ERR_LEN, "cannot read the database CA file %.160s: %.40s", out->tls_ca, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(y_user);
    free(y_pass);
    free(y_dsn);
    return rc;
}

void dbconf_describe(const struct db_dsn *d, char *buf, size_t len)
{
    char tls[32] = "";
    if (d->tls != DBCONF_TLS_OFF) snprintf(tls, sizeof tls, " (tls=%s)", dbconf_tls_name(d->tls));
    bool v6 = strchr(d->host, ':') != NULL;
    if (d->socket[0]) snprintf(buf, len, "%s@unix(%s)/%s%s", d->user, d->socket, d->dbname, tls);
    else snprintf(buf, len, "%s@%s%s%s:%u/%s%s", d->user, v6 ? "[" : "", d->host, v6 ? "]" : "", d->port, d->dbname, tls);
}
