/* migrations.h — the schema migrations embedded from conf/schema/NNN_*.sql at build time (tools/embed-sql.sh). */
#ifndef NTPMON_MIGRATIONS_H
#define NTPMON_MIGRATIONS_H

#include <stddef.h>

struct migration {
    int version;
    const char *name;
    const char *sql; /* statements separated by ";" at the end of a line */
};

extern const struct migration migrations[];
extern const size_t migrations_count;

/* Brings the database to the newest schema; prints what it did. 0 on success, 1 on error (message printed).
 * A database newer than this binary knows is an error. */
struct db;
int migrations_apply(struct db *db, int *from_version, int *to_version);
/* The database's current schema version (0 for an empty database), or -1 on error. */
int migrations_current(struct db *db);

#endif
