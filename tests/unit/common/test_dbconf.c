/* test_dbconf.c — the DSN parser (the pool's Go-style DSNs) and database.yaml, and how they combine. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dbconf.h"
#include "unit.h"

TEST(full_dsn)
{
    struct db_dsn d;
    char err[DBCONF_ERR_LEN];
    CHECK_INT(dbconf_parse_dsn("mon:s3cr:et@tcp(db.example:3307)/ntpmon_prod?charset=utf8&parseTime=true&timeout=5s&readTimeout=1m", &d, err), 0);
    CHECK_STR(d.user, "mon");
    CHECK_STR(d.pass, "s3cr:et");
    CHECK(d.has_user && d.has_pass);
    CHECK_STR(d.host, "db.example");
    CHECK_INT(d.port, 3307);
    CHECK_STR(d.dbname, "ntpmon_prod");
    CHECK_INT(d.timeout_s, 5);
    CHECK_INT(d.read_timeout_s, 60);
}

TEST(password_with_at_sign_and_defaults)
{
    struct db_dsn d;
    char err[DBCONF_ERR_LEN];
    CHECK_INT(dbconf_parse_dsn("u:p@ss@tcp(127.0.0.1)/x", &d, err), 0);
    CHECK_STR(d.pass, "p@ss");
    CHECK_INT(d.port, 3306);
    CHECK_INT(dbconf_parse_dsn("tcp(ntp-db-mysql)/betadb?charset=utf8&parseTime=true", &d, err), 0);
    CHECK(!d.has_user && !d.has_pass);
    CHECK_STR(d.host, "ntp-db-mysql");
    CHECK_STR(d.dbname, "betadb");
    CHECK_INT(dbconf_parse_dsn("root@/", &d, err), 0);
    CHECK_STR(d.user, "root");
    CHECK_STR(d.host, "127.0.0.1");
    CHECK_STR(d.dbname, "");
    CHECK_INT(dbconf_parse_dsn("u:p@unix(/run/mysqld/mysqld.sock)/db", &d, err), 0);
    CHECK_STR(d.socket, "/run/mysqld/mysqld.sock");
    CHECK_INT(dbconf_parse_dsn("u@tcp([::1]:3308)/db", &d, err), 0);
    CHECK_STR(d.host, "::1");
    CHECK_INT(d.port, 3308);
}

TEST(bad_dsns_have_clear_errors)
{
    struct db_dsn d;
    char err[DBCONF_ERR_LEN];
    CHECK_INT(dbconf_parse_dsn("", &d, err), -1);
    CHECK_STR(err, "empty DSN");
    CHECK_INT(dbconf_parse_dsn("u:p@tcp(h:99999)/db", &d, err), -1);
    CHECK_STR(err, "DSN port must be 1..65535");
    CHECK_INT(dbconf_parse_dsn("u:p@tcp(h:3306)", &d, err), -1);
    CHECK_CONTAINS(err, "needs '/'");
    CHECK_INT(dbconf_parse_dsn("u:p@h:3306/db", &d, err), -1);
    CHECK_CONTAINS(err, "tcp(host:port)");
    CHECK_INT(dbconf_parse_dsn("u:p@tcp(h/db", &d, err), -1);
    CHECK_CONTAINS(err, "tcp(host:port)");
    CHECK_INT(dbconf_parse_dsn("u:p@tcp(h)/db;drop", &d, err), -1);
    CHECK_STR(err, "DSN database name has invalid characters");
    CHECK_INT(dbconf_parse_dsn("u:p@tcp(h)/db?timeout=soon", &d, err), -1);
    CHECK_CONTAINS(err, "invalid duration");
    CHECK_INT(dbconf_parse_dsn("u:hunter2@tcp(h:0)/db", &d, err), -1);
    CHECK(!strstr(err, "hunter2"));
}

static char *write_file(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/ntpmon-dbconf-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

TEST(yaml_and_resolve)
{
    char err[DBCONF_ERR_LEN];
    char *user, *pass, *dsn;
    char *path = write_file("# db credentials\nmysql:\n  user: mon\n  pass: \"p: w\"\n  dsn: tcp(10.0.0.5:3306)/pooldb\nother: 1\n");
    CHECK_INT(dbconf_load_yaml(path, &user, &pass, &dsn, err), 0);
    CHECK_STR(user, "mon");
    CHECK_STR(pass, "p: w");
    CHECK_STR(dsn, "tcp(10.0.0.5:3306)/pooldb");
    free(user);
    free(pass);
    free(dsn);

    struct db_dsn d;
    /* the environment's DSN without credentials + user/pass from the YAML */
    CHECK_INT(dbconf_resolve("tcp(127.0.0.1:3310)/", path, NULL, "test", &d, err), 0);
    CHECK_STR(d.user, "mon");
    CHECK_STR(d.pass, "p: w");
    CHECK_INT(d.port, 3310);
    CHECK_STR(d.dbname, "ntpmon_test");
    /* credentials in the DSN win */
    CHECK_INT(dbconf_resolve("me:x@tcp(127.0.0.1:3310)/mine", path, NULL, "test", &d, err), 0);
    CHECK_STR(d.user, "me");
    CHECK_STR(d.dbname, "mine");
    /* only the YAML */
    CHECK_INT(dbconf_resolve(NULL, path, NULL, "prod", &d, err), 0);
    CHECK_STR(d.host, "10.0.0.5");
    CHECK_STR(d.dbname, "pooldb");

    path = write_file("mysql: [unclosed\n");
    CHECK_INT(dbconf_load_yaml(path, &user, &pass, &dsn, err), -1);
    CHECK_CONTAINS(err, path);
    path = write_file("postgres:\n  user: x\n");
    CHECK_INT(dbconf_load_yaml(path, &user, &pass, &dsn, err), -1);
    CHECK_CONTAINS(err, "no 'mysql:' mapping");
    CHECK_INT(dbconf_load_yaml("/nonexistent/database.yaml", &user, &pass, &dsn, err), -1);
    CHECK_CONTAINS(err, "cannot open /nonexistent/database.yaml");
    unlink(path);
    CHECK_INT(dbconf_resolve(NULL, "/nonexistent.yaml", NULL, "test", &d, err), -1);
}

/* go-sql-driver/mysql's ParseDSN: the last '/' starts the database name, the last '@' before it ends the
 * credentials, the first ':' splits user and password. */
TEST(split_as_the_go_driver)
{
    struct db_dsn d;
    char err[DBCONF_ERR_LEN];
    /* an '@' in a parameter value: the credentials end at the last '@' before the database's '/' */
    CHECK_INT(dbconf_parse_dsn("mon:pw@tcp(db:3306)/pool?tls=true&x=a@b", &d, err), 0);
    CHECK_STR(d.user, "mon");
    CHECK_STR(d.pass, "pw");
    CHECK_STR(d.host, "db");
    CHECK_STR(d.dbname, "pool");
    CHECK_INT(d.tls, DBCONF_TLS_VERIFY);
    /* '@', ':' and '/' in the password */
    CHECK_INT(dbconf_parse_dsn("mon:p@s:s/w@tcp(db)/pool", &d, err), 0);
    CHECK_STR(d.user, "mon");
    CHECK_STR(d.pass, "p@s:s/w");
    CHECK_STR(d.dbname, "pool");
    /* no credentials, '@' only in a parameter */
    CHECK_INT(dbconf_parse_dsn("tcp(db)/pool?x=a@b", &d, err), 0);
    CHECK(!d.has_user && !d.has_pass);
    CHECK_STR(d.host, "db");
    /* a unix socket path with '/' */
    CHECK_INT(dbconf_parse_dsn("u@unix(/run/mysqld/m.sock)/db?x=1@2", &d, err), 0);
    CHECK_STR(d.socket, "/run/mysqld/m.sock");
    CHECK_STR(d.user, "u");
    /* an empty password is still a password */
    CHECK_INT(dbconf_parse_dsn("u:@tcp(db)/x", &d, err), 0);
    CHECK(d.has_pass);
    CHECK_STR(d.pass, "");
    /* a bare IPv6 literal gets the default port, as Go's ensureHavePort */
    CHECK_INT(dbconf_parse_dsn("u@tcp(2001:db8::7)/x", &d, err), 0);
    CHECK_STR(d.host, "2001:db8::7");
    CHECK_INT(d.port, 3306);
    CHECK_INT(dbconf_parse_dsn("u@tcp()/x", &d, err), 0);
    CHECK_STR(d.host, "127.0.0.1");
    CHECK_INT(dbconf_parse_dsn("u@tcp/x", &d, err), 0);
    CHECK_STR(d.host, "127.0.0.1");
    /* an unescaped '/' in a parameter value breaks the split, as in Go: say so */
    CHECK_INT(dbconf_parse_dsn("u@tcp(db)/x?tls-ca=/etc/ca.pem", &d, err), -1);
    CHECK_CONTAINS(err, "%2F");
    CHECK_INT(dbconf_parse_dsn("u@udp(db)/x", &d, err), -1);
    CHECK_CONTAINS(err, "tcp(host:port)");
    CHECK_INT(dbconf_parse_dsn("u@tcp([db]:1)/x", &d, err), -1);
    CHECK_CONTAINS(err, "IPv6");
}

TEST(tls_modes)
{
    struct db_dsn d;
    char err[DBCONF_ERR_LEN];
    CHECK_INT(dbconf_parse_dsn("u@tcp(db)/x", &d, err), 0);
    CHECK_INT(d.tls, DBCONF_TLS_OFF);
    const char *on[] = {"true", "1", "TRUE", "True"}, *off[] = {"false", "0", "FALSE", "False"};
    for (int i = 0; i < 4; i++) {
        char dsn[64];
        snprintf(dsn, sizeof dsn, "u@tcp(db)/x?tls=%s", on[i]);
        CHECK_INT(dbconf_parse_dsn(dsn, &d, err), 0);
        CHECK_INT(d.tls, DBCONF_TLS_VERIFY);
        snprintf(dsn, sizeof dsn, "u@tcp(db)/x?tls=%s", off[i]);
        CHECK_INT(dbconf_parse_dsn(dsn, &d, err), 0);
        CHECK_INT(d.tls, DBCONF_TLS_OFF);
    }
    CHECK_INT(dbconf_parse_dsn("u@tcp(db)/x?tls=skip-verify", &d, err), 0);
    CHECK_INT(d.tls, DBCONF_TLS_SKIP_VERIFY);
    CHECK_STR(dbconf_tls_name(d.tls), "skip-verify");
    CHECK_INT(dbconf_parse_dsn("u@tcp(db)/x?tls=custom", &d, err), -1);
    CHECK_CONTAINS(err, "tls must be true, false or skip-verify");
    /* the CA file: percent-encoded in the DSN */
    CHECK_INT(dbconf_parse_dsn("u@tcp(db)/x?tls=true&tls-ca=%2Fetc%2Fntpmon%2Fdb%20ca.pem", &d, err), 0);
    CHECK_STR(d.tls_ca, "/etc/ntpmon/db ca.pem");
    CHECK_INT(dbconf_parse_dsn("u@tcp(db)/x?tls-ca=%2", &d, err), -1);
    CHECK_CONTAINS(err, "tls-ca");
    char desc[128];
    CHECK_INT(dbconf_parse_dsn("u@tcp([::1]:3307)/x?tls=true", &d, err), 0);
    dbconf_describe(&d, desc, sizeof desc);
    CHECK_STR(desc, "u@[::1]:3307/x (tls=true)");

    /* --database-ca-file replaces the DSN's, and must be readable */
    CHECK_INT(dbconf_resolve("u@tcp(db)/x?tls=true&tls-ca=%2Fnonexistent", NULL, "/dev/null", "test", &d, err), 0);
    CHECK_STR(d.tls_ca, "/dev/null");
    CHECK_INT(dbconf_resolve("u@tcp(db)/x?tls=true&tls-ca=%2Fnonexistent%2Fca.pem", NULL, NULL, "test", &d, err), -1);
    CHECK_CONTAINS(err, "cannot read the database CA file /nonexistent/ca.pem");
}

int main(void)
{
    RUN(split_as_the_go_driver);
    RUN(tls_modes);
    RUN(full_dsn);
    RUN(password_with_at_sign_and_defaults);
    RUN(bad_dsns_have_clear_errors);
    RUN(yaml_and_resolve);
    return unit_done();
}
