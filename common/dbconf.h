/* dbconf.h — where the database is: the Go-style DSN `user:pass@tcp(host:port)/db?params` (also `unix(/path)`),
 * `database.yaml` (mysql: {user, pass, dsn}), and how the two combine (DESIGN.md §5, the pool's convention:
 * user and password may live in the YAML file while the DSN comes from $DATABASE_DSN). No connection here. */
#ifndef NTPMON_DBCONF_H
#define NTPMON_DBCONF_H

#include <stdbool.h>
#include <stddef.h>

#define DBCONF_ERR_LEN 256

struct db_dsn {
    char user[128];
    char pass[256];
    bool has_user, has_pass;
    char host[256];   /* "" with a socket */
    unsigned port;    /* 3306 by default */
    char socket[256]; /* unix(...) */
    char dbname[128]; /* "" when the DSN names none: the caller picks ntpmon_<env> */
    unsigned timeout_s, read_timeout_s, write_timeout_s; /* 0: library default */
    bool tls;
};

/* Parses a DSN; 0 on success, -1 with a one-line reason in err (the password is never echoed). */
int dbconf_parse_dsn(const char *dsn, struct db_dsn *out, char err[DBCONF_ERR_LEN]);
/* Reads database.yaml: fills user/pass, and dsn_out (malloc'd, may be NULL) when the file has a dsn field. */
int dbconf_load_yaml(const char *path, char **user_out, char **pass_out, char **dsn_out, char err[DBCONF_ERR_LEN]);
/* Resolves the final DSN from a DSN string (flag or env; may be NULL) and a YAML file (explicit path, or the
 * default locations when yaml_path is NULL). User/pass in the DSN win over the YAML's. When neither names a
 * database, dbname becomes "ntpmon_<env>". */
int dbconf_resolve(const char *dsn, const char *yaml_path, const char *env, struct db_dsn *out,
                   char err[DBCONF_ERR_LEN]);
/* "user@host:port/db" for logs (never the password). */
void dbconf_describe(const struct db_dsn *d, char *buf, size_t len);

#endif
