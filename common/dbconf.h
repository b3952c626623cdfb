/* dbconf.h — where the database is: the Go-style DSN `user:pass@tcp(host:port)/db?params` (also `unix(/path)`),
 * split exactly as go-sql-driver/mysql's ParseDSN does (the last '/' starts the database name, the last '@' before
 * it ends the credentials, the first ':' splits user and password), `database.yaml` (mysql: {user, pass, dsn}),
 * and how the two combine (DESIGN.md §5, the pool's convention: user and password may live in the YAML file while
 * the DSN comes from $DATABASE_DSN). TLS as the Go driver names it: tls=true (encrypt, verify the chain and the
 * host name), tls=skip-verify (encrypt, verify nothing: a warning is logged), tls=false; tls-ca=FILE (percent-encoded: %2F for '/') or --database-ca-file names the CA (default: the
 * system's store). No connection here. */
#ifndef NTPMON_DBCONF_H
#define NTPMON_DBCONF_H

#include <stdbool.h>
#include <stddef.h>

#define DBCONF_ERR_LEN 256

enum dbconf_tls {
    DBCONF_TLS_OFF,         /* tls=false (default) */
    DBCONF_TLS_VERIFY,      /* tls=true: the chain and the host name are verified */
    DBCONF_TLS_SKIP_VERIFY, /* tls=skip-verify: encrypted, nothing verified (a warning at connect) */
};

struct db_dsn {
    char user[128];
    char pass[256];
    bool has_user, has_pass;
    char host[256];   /* "" with a socket */
    unsigned port;    /* 3306 by default */
    char socket[256]; /* unix(...) */
    char dbname[128]; /* "" when the DSN names none: the caller picks ntpmon_<env> */
    unsigned timeout_s, read_timeout_s, write_timeout_s; /* 0: library default */
    enum dbconf_tls tls;
    char tls_ca[512]; /* CA file for tls=true; "" = the system's store */
};

/* Parses a DSN; 0 on success, -1 with a one-line reason in err (the password is never echoed). */
int dbconf_parse_dsn(const char *dsn, struct db_dsn *out, char err[DBCONF_ERR_LEN]);
/* Reads database.yaml: fills user/pass, and dsn_out (malloc'd, may be NULL) when the file has a dsn field. */
int dbconf_load_yaml(const char *path, char **user_out, char **pass_out, char **dsn_out, char err[DBCONF_ERR_LEN]);
/* Resolves the final DSN from a DSN string (flag or env; may be NULL) and a YAML file (explicit path, or the
 * default locations when yaml_path is NULL). User/pass in the DSN win over the YAML's. When neither names a
 * database, dbname becomes "ntpmon_<env>". ca_file (--database-ca-file; may be NULL) replaces the DSN's tls-ca;
 * the CA file must be readable. */
int dbconf_resolve(const char *dsn, const char *yaml_path, const char *ca_file, const char *env, struct db_dsn *out,
                   char err[DBCONF_ERR_LEN]);
/* The DSN parameter value of a TLS mode ("true", "skip-verify", …). */
const char *dbconf_tls_name(enum dbconf_tls tls);
/* "user@host:port/db" for logs (never the password), with " (tls=…)" when TLS is on. */
void dbconf_describe(const struct db_dsn *d, char *buf, size_t len);

#endif
