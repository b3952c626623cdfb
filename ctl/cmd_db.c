/* cmd_db.c — `ntpmonctl db migrate` and `db status`: versioned schema changes recorded in schema_migrations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"
#include "log.h"
#include "migrations.h"
#include "xalloc.h"

int migrations_current(struct db *db)
{
    if (db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INT UNSIGNED NOT NULL PRIMARY KEY,"
                    " name VARCHAR(255) NOT NULL,"
                    " applied_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP"
                    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") < 0)
        return -1;
    int64_t v = 0;
    if (db_query_int(db, "SELECT IFNULL(MAX(version), 0) FROM schema_migrations", NULL, 0, &v) < 0) return -1;
    return (int)v;
}

/* Runs the statements of one migration; each ends with ';' at the end of a line. */
static int run_statements(struct db *db, const char *sql)
{
    char *copy = xstrdup(sql);
    char *stmt = copy;
    int rc = 0;
    for (char *p = copy; *p; p++) {
        if (*p == ';' && (p[1] == '\n' || p[1] == '\0')) {
            *p = '\0';
            /* skip statements that are only comments and blank lines */
            bool empty = true;
            for (char *line = stmt; line && *line;) {
                char *nl = strchr(line, '\n');
                char *q = line;
                while (*q == ' ' || *q == '\t') q++;
                if (*q && *q != '\n' && !(q[0] == '-' && q[1] == '-')) empty = false;
                line = nl ? nl + 1 : NULL;
            }
            if (!empty && db_exec(db, stmt) < 0) {
                rc = -1;
                break;
            }
            stmt = p + 1;
        }
    }
    free(copy);
    return rc;
}

struct applied {
    int versions[256];
    size_t n;
};

static int collect_applied(void *arg, const struct db_row *row)
{
    struct applied *a = arg;
    if (a->n < sizeof a->versions / sizeof a->versions[0]) a->versions[a->n++] = (int)db_row_int(row, 0);
    return 0;
}

static bool is_applied(const struct applied *a, int version)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->versions[i] == version) return true;
    return false;
}

static const struct migration *known(int version)
{
    for (size_t i = 0; i < migrations_count; i++)
        if (migrations[i].version == version) return &migrations[i];
    return NULL;
}

/* Applies every known migration not yet recorded (not only those above the highest recorded one, so a migration
 * that was added with a lower number than one already applied is not skipped). */
int migrations_apply(struct db *db, int *from_version, int *to_version)
{
    int current = migrations_current(db);
    if (current < 0) return 1;
    struct applied applied = {.n = 0};
    if (db_query(db, "SELECT version FROM schema_migrations ORDER BY version", NULL, 0, collect_applied, &applied) < 0)
        return ctl_fail("reading schema_migrations failed: %s", db_error(db));
    int latest = migrations_count ? migrations[migrations_count - 1].version : 0;
    *from_version = current;
    *to_version = current;
    for (size_t i = 0; i < applied.n; i++)
        if (!known(applied.versions[i]))
            return ctl_fail("database schema version %d is newer than this ntpmonctl knows (%d); upgrade ntpmonctl",
                            applied.versions[i], latest);
    for (size_t i = 0; i < migrations_count; i++) {
        const struct migration *m = &migrations[i];
        if (is_applied(&applied, m->version)) continue;
        if (run_statements(db, m->sql) < 0)
            return ctl_fail("migration %s failed: %s (fix the cause and run 'db migrate' again)", m->name,
                            db_error(db));
        struct db_param p[] = {DB_INT(m->version), DB_STR(m->name)};
        if (db_execp(db, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", p, 2, NULL, NULL) < 0)
            return ctl_fail("recording migration %s failed: %s", m->name, db_error(db));
        printf("applied migration %s\n", m->name);
        if (m->version > *to_version) *to_version = m->version;
    }
    return 0;
}

int cmd_db_migrate(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc) return ctl_fail("db migrate takes no arguments");
    struct db *db = ctl_db(ctx);
    int from, to;
    int rc = migrations_apply(db, &from, &to);
    if (rc) return rc;
    if (from == to) printf("schema is up to date (version %d)\n", to);
    else printf("schema migrated from version %d to %d\n", from, to);
    return 0;
}

int cmd_db_status(struct ctl_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc) return ctl_fail("db status takes no arguments");
    struct db *db = ctl_db(ctx);
    int current = migrations_current(db);
    if (current < 0) return ctl_db_fail(ctx, "reading the schema version");
    int latest = migrations_count ? migrations[migrations_count - 1].version : 0;
    printf("schema version %d (this ntpmonctl knows up to %d)%s\n", current, latest,
           current < latest ? ": run 'ntpmonctl db migrate'" : "");
    return 0;
}
