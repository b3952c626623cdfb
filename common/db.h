/* db.h — the MariaDB/MySQL helper every server part uses: connect from a struct db_dsn (UTC session, utf8mb4),
 * prepared statements with bound parameters (never SQL built from values), typed row access, a per-connection
 * statement cache, reconnect after a lost connection, and transactions retried on deadlock. */
#ifndef NTPMON_DB_H
#define NTPMON_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbconf.h"

#define DB_ERR_LEN 512

struct db;

enum db_param_type { DB_P_NULL, DB_P_INT, DB_P_DOUBLE, DB_P_STRING };
struct db_param {
    enum db_param_type type;
    int64_t i;
    double d;
    const char *s;
    size_t len;
};
#define DB_INT(x) ((struct db_param){.type = DB_P_INT, .i = (int64_t)(x)})
#define DB_DOUBLE(x) ((struct db_param){.type = DB_P_DOUBLE, .d = (double)(x)})
#define DB_STR(x) ((struct db_param){.type = DB_P_STRING, .s = (x), .len = strlen(x)})
#define DB_STRN(x, n) ((struct db_param){.type = DB_P_STRING, .s = (x), .len = (n)})
#define DB_NULL ((struct db_param){.type = DB_P_NULL})
/* A nullable string/double: NULL when absent. */
#define DB_STR_OR_NULL(x) ((x) ? DB_STR(x) : DB_NULL)
#define DB_DOUBLE_IF(has, x) ((has) ? DB_DOUBLE(x) : DB_NULL)

/* One fetched row; valid only inside the row callback. */
struct db_row;
size_t db_row_columns(const struct db_row *row);
bool db_row_is_null(const struct db_row *row, size_t col);
int64_t db_row_int(const struct db_row *row, size_t col);       /* 0 for NULL */
double db_row_double(const struct db_row *row, size_t col);     /* 0 for NULL */
const char *db_row_str(const struct db_row *row, size_t col);   /* "" for NULL; numbers formatted */
size_t db_row_len(const struct db_row *row, size_t col);
/* A DATETIME column as Unix µs (UTC); 0 for NULL. */
int64_t db_row_time_us(const struct db_row *row, size_t col);
/* Return non-zero from the callback to stop fetching (db_query then returns that value). */
typedef int (*db_row_cb)(void *arg, const struct db_row *row);

/* A handle that is not connected yet: db_ensure (or the first statement) connects. Never NULL. */
struct db *db_new(const struct db_dsn *dsn);
/* Connects (no retry); NULL with a reason in err. create_db: create the database first if it does not exist. */
struct db *db_open(const struct db_dsn *dsn, bool create_db, char err[DB_ERR_LEN]);
void db_close(struct db *db);
/* Makes sure the connection is alive (a ping: a round trip), reconnecting if it was lost; 0 or -1 (see db_error).
 * For health probes; transactions do not need it (db_tx reconnects and retries after a lost connection). */
int db_ensure(struct db *db);
/* Connects when there is no connection; no round trip when there is one (a dead one shows at its next use). */
int db_connect(struct db *db);
/* The last error text and MySQL error number. */
const char *db_error(const struct db *db);
unsigned db_errno(const struct db *db);
/* True for errors worth retrying: deadlock, lock wait timeout, lost/refused connection, server shutdown. */
bool db_errno_is_retryable(unsigned err);
/* True for a duplicate-key error (1062). */
bool db_errno_is_duplicate(unsigned err);

/* Runs one statement without parameters or results (DDL, SET, BEGIN …). */
int db_exec(struct db *db, const char *sql);
/* Runs a prepared statement with parameters; affected rows and last insert id are optional outputs. */
int db_execp(struct db *db, const char *sql, const struct db_param *params, size_t n_params, uint64_t *affected,
             uint64_t *insert_id);
/* Runs a prepared single-row statement (INSERT … VALUES (?,?), UPDATE … WHERE k = ?) for `rows` rows of `columns`
 * parameters each (params: row-major) in one round trip: MariaDB's bulk execution (COM_STMT_BULK_EXECUTE, server
 * 10.2+; one row per execution on a server without it). *affected: the rows' total (matched rows for an UPDATE:
 * connections use CLIENT_FOUND_ROWS); db_last_warnings: the total. On an error run it inside a transaction and
 * roll back (an INSERT's rows go together; an UPDATE runs row by row on the server). Every row must bind the same
 * type per column, or NULL. 0 or -1. */
int db_execp_bulk(struct db *db, const char *sql, const struct db_param *params, size_t columns, size_t rows,
                  uint64_t *affected);
/* Warnings left by the last db_execp (INSERT IGNORE turns errors into warnings: callers that must not miss a
 * skipped row check this). mysql_warning_count() does not see prepared statements' warnings. */
unsigned db_last_warnings(const struct db *db);
/* Runs a prepared query; calls cb for each row. Returns 0, the callback's non-zero value, or -1 on error. */
int db_query(struct db *db, const char *sql, const struct db_param *params, size_t n_params, db_row_cb cb, void *arg);
/* Convenience: the first column of the first row as an integer; returns 1 found, 0 no row, -1 error. */
int db_query_int(struct db *db, const char *sql, const struct db_param *params, size_t n_params, int64_t *out);

int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);
/* Runs fn inside a transaction, committing when it returns 0; on a retryable error (deadlock, lost connection)
 * it rolls back, reconnects if needed and runs fn again, up to max_attempts. fn must be safe to re-run.
 * Returns 0 on commit, fn's non-zero result, or -1 on a database error. */
int db_tx(struct db *db, int (*fn)(struct db *db, void *arg), void *arg, int max_attempts);

/* The raw connection (MYSQL *) for hot paths that manage their own statements. */
void *db_mysql(struct db *db);

#endif
