/* dbconf.c — DSN and database.yaml parsing (libyaml for YAML). */
#include "dbconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

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

int dbconf_parse_dsn(const char *dsn, struct db_dsn *out, char err[DBCONF_ERR_LEN])
{
    memset(out, 0, sizeof *out);
    out->port = 3306;
    snprintf(out->host, sizeof out->host, "127.0.0.1");
    if (!dsn || !*dsn) {
        snprintf(err, DBCONF_ERR_LEN, "empty DSN");
        return -1;
    }
    /* credentials: everything before the last '@' */
    const char *at = strrchr(dsn, '@');
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
    /* address: tcp(host:port) or unix(/path), optional */
    /* the database part starts at the first '/' after the address, which may itself contain '/' (unix paths) */
    const char *addr_end = rest;
    if (strncmp(rest, "tcp(", 4) == 0 || strncmp(rest, "unix(", 5) == 0) {
        const char *close = strchr(rest, ')');
        addr_end = close ? close + 1 : rest + strlen(rest);
    }
    const char *slash = strchr(addr_end, '/');
    if (!slash) {
        snprintf(err, DBCONF_ERR_LEN, "DSN needs '/' before the database name (user:pass@tcp(host:port)/db)");
        return -1;
    }
    size_t addr_len = (size_t)(slash - rest);
    if (strncmp(rest, "tcp(", 4) == 0 || strncmp(rest, "unix(", 5) == 0) {
        bool is_unix = rest[0] == 'u';
        const char *open = rest + (is_unix ? 5 : 4);
        const char *close = memchr(open, ')', addr_len);
        if (!close || close + 1 != slash) {
            snprintf(err, DBCONF_ERR_LEN, "DSN address must look like tcp(host:port) or unix(/path)");
            return -1;
        }
        size_t inner = (size_t)(close - open);
        if (is_unix) {
            if (inner == 0 || copy_field(out->socket, sizeof out->socket, open, inner, "socket path", err) < 0) {
                if (inner == 0) snprintf(err, DBCONF_ERR_LEN, "DSN unix() needs a socket path");
                return -1;
            }
            out->host[0] = '\0';
        } else if (inner > 0) {
            const char *hend = open + inner;
            const char *port = NULL;
            const char *hstart = open;
            if (*open == '[') { /* [v6]:port */
                const char *rb = memchr(open, ']', inner);
                if (!rb) {
                    snprintf(err, DBCONF_ERR_LEN, "DSN has an unterminated '[' in the host");
                    return -1;
                }
                hstart = open + 1;
                hend = rb;
                if (rb + 1 < open + inner) {
                    if (rb[1] != ':') {
                        snprintf(err, DBCONF_ERR_LEN, "DSN host: expected ':' after ']'");
                        return -1;
                    }
                    port = rb + 2;
                }
            } else {
                const char *c = memchr(open, ':', inner);
                if (c) {
                    hend = c;
                    port = c + 1;
                }
            }
            if (hend > hstart && copy_field(out->host, sizeof out->host, hstart, (size_t)(hend - hstart), "host", err) < 0)
                return -1;
            if (port) {
                char *end;
                errno = 0;
                long p = strtol(port, &end, 10);
                if (errno || end != open + inner || p < 1 || p > 65535) {
                    snprintf(err, DBCONF_ERR_LEN, "DSN port must be 1..65535");
                    return -1;
                }
                out->port = (unsigned)p;
            }
        }
    } else if (addr_len > 0) {
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
        char *save = NULL;
        for (char *kv = strtok_r(params, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (!eq) {
                snprintf(err, DBCONF_ERR_LEN, "DSN parameter '%s' needs a value", kv);
                free(params);
                return -1;
            }
            *eq = '\0';
            const char *v = eq + 1;
            int bad = 0;
            if (strcmp(kv, "timeout") == 0) bad = parse_timeout(v, &out->timeout_s);
            else if (strcmp(kv, "readTimeout") == 0) bad = parse_timeout(v, &out->read_timeout_s);
            else if (strcmp(kv, "writeTimeout") == 0) bad = parse_timeout(v, &out->write_timeout_s);
            else if (strcmp(kv, "tls") == 0) out->tls = strcmp(v, "true") == 0 || strcmp(v, "skip-verify") == 0;
            /* charset, parseTime, loc, collation …: accepted for compatibility with the pool's DSNs */
            if (bad) {
                snprintf(err, DBCONF_ERR_LEN, "DSN parameter %s has an invalid duration", kv);
                free(params);
                return -1;
            }
        }
        free(params);
    }
    return 0;
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

int dbconf_resolve(const char *dsn, const char *yaml_path, const char *env, struct db_dsn *out,
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
    rc = 0;
out:
    free(y_user);
    free(y_pass);
    free(y_dsn);
    return rc;
}

void dbconf_describe(const struct db_dsn *d, char *buf, size_t len)
{
    if (d->socket[0]) snprintf(buf, len, "%s@unix(%s)/%s", d->user, d->socket, d->dbname);
    else snprintf(buf, len, "%s@%s:%u/%s", d->user, d->host, d->port, d->dbname);
}
