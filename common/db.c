/* db.c — MariaDB Connector/C wrapper: connection lifecycle, a small statement cache, parameter binding, and row
 * fetching into typed column buffers (integers and doubles arrive exactly, everything else as text). */
#include "db.h"

#include <errmsg.h>
#include <inttypes.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

#define STMT_CACHE 64
#define MAX_PARAMS 4096

struct cached_stmt {
    char *sql;
    MYSQL_STMT *stmt;
    uint64_t last_used;
};

struct db {
    MYSQL *conn;
    struct db_dsn dsn;
    char err[DB_ERR_LEN];
    unsigned err_no;
    struct cached_stmt cache[STMT_CACHE];
    uint64_t use_counter;
    unsigned last_warnings; /* of the last db_execp */
    bool was_connected;     /* a connection existed before: db_ensure logs a re-connection */
};

void *db_mysql(struct db *db) { return db->conn; }
const char *db_error(const struct db *db) { return db->err; }
unsigned db_last_warnings(const struct db *db) { return db->last_warnings; }
unsigned db_errno(const struct db *db) { return db->err_no; }

bool db_errno_is_retryable(unsigned e)
{
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT || e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
           e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR || e == ER_SERVER_SHUTDOWN ||
           e == ER_CONNECTION_KILLED || e == CR_SERVER_LOST_EXTENDED || e == ER_QUERY_INTERRUPTED;
}

bool db_errno_is_duplicate(unsigned e) { return e == ER_DUP_ENTRY; }

static void set_conn_error(struct db *db, const char *what)
{
    db->err_no = db->conn ? mysql_errno(db->conn) : CR_CONNECTION_ERROR;
    snprintf(db->err, sizeof db->err, "%s: %s", what, db->conn ? mysql_error(db->conn) : "not connected");
}

static void set_stmt_error(struct db *db, MYSQL_STMT *st, const char *what)
{
    db->err_no = mysql_stmt_errno(st);
    snprintf(db->err, sizeof db->err, "%s: %s", what, mysql_stmt_error(st));
}

static void clear_cache(struct db *db)
{
    for (int i = 0; i < STMT_CACHE; i++) {
        if (db->cache[i].stmt) mysql_stmt_close(db->cache[i].stmt);
        free(db->cache[i].sql);
        db->cache[i] = (struct cached_stmt){0};
    }
}

static MYSQL *connect_raw(const struct db_dsn *d, const char *dbname, char err[DB_ERR_LEN], unsigned *err_no)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        snprintf(err, DB_ERR_LEN, "out of memory");
        return NULL;
    }
    unsigned timeout = d->timeout_s ? d->timeout_s : 5;
    unsigned rtimeout = d->read_timeout_s ? d->read_timeout_s : 60;
    unsigned wtimeout = d->write_timeout_s ? d->write_timeout_s : 60;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rtimeout);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &wtimeout);
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* Per connection, never per transaction: UTC; and every warning of a statement kept, so a caller that checks
     * an INSERT IGNORE's warnings (ingest: one per duplicate of a bulk insert) sees them all with SHOW WARNINGS. */
    mysql_optionsv(m, MYSQL_INIT_COMMAND, "SET time_zone = '+00:00', max_error_count = 65535");
    my_bool off = 0;
    mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off); /* we reconnect ourselves so cached statements are rebuilt */
    if (d->tls != DBCONF_TLS_OFF) {
        my_bool on = 1, verify = d->tls == DBCONF_TLS_VERIFY;
        mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
        /* skip-verify gets no CA: Connector/C checks the chain against any CA it is given */
        if (verify && d->tls_ca[0]) mysql_optionsv(m, MYSQL_OPT_SSL_CA, d->tls_ca);
        else if (verify) mysql_optionsv(m, MYSQL_OPT_SSL_CAPATH, "/etc/ssl/certs"); /* the system's store */
        static atomic_bool warned;
        if (!verify && !atomic_exchange(&warned, true))
            LOG(WARN, "database: tls=skip-verify encrypts without verifying the server's certificate: anyone on the "
                      "path can pose as the database (use tls=true, with tls-ca or --database-ca-file for a private CA)");
    }
    unsigned proto = d->socket[0] ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_optionsv(m, MYSQL_OPT_PROTOCOL, &proto);
    if (!mysql_real_connect(m, d->socket[0] ? NULL : d->host, d->user, d->has_pass ? d->pass : NULL, dbname,
                            d->port, d->socket[0] ? d->socket : NULL, CLIENT_FOUND_ROWS)) {
        char where[300];
        dbconf_describe(d, where, sizeof where);
        int n = 0;
        if (d->tls == DBCONF_TLS_VERIFY && mysql_errno(m) == CR_SSL_CONNECTION_ERROR)
            n = snprintf(err, DB_ERR_LEN, "cannot connect to %s: %s (tls=true: the server's certificate must be "
                         "signed by %s and name the host %s)", where, mysql_error(m),
                         d->tls_ca[0] ? d->tls_ca : "a CA of the system's store", d->host);
        if (n <= 0) /* (a truncated message is still the message) */
            snprintf(err, DB_ERR_LEN, "cannot connect to %s: %s", where, mysql_error(m));
        if (err_no) *err_no = mysql_errno(m);
        mysql_close(m);
        return NULL;
    }
    return m;
}

struct db *db_new(const struct db_dsn *dsn)
{
    struct db *db = xcalloc(1, sizeof *db);
    db->dsn = *dsn;
    return db;
}

struct db *db_open(const struct db_dsn *dsn, bool create_db, char err[DB_ERR_LEN])
{
    if (create_db) {
        MYSQL *m = connect_raw(dsn, NULL, err, NULL);
        if (!m) return NULL;
        /* The name was validated by the DSN parser (alnum, _, -, $), so quoting it as an identifier is safe. */
        char sql[320];
        snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                 dsn->dbname);
        if (mysql_query(m, sql)) {
            snprintf(err, DB_ERR_LEN, "cannot create database %s: %s", dsn->dbname, mysql_error(m));
            mysql_close(m);
            return NULL;
        }
        mysql_close(m);
    }
    struct db *db = db_new(dsn);
    db->conn = connect_raw(dsn, dsn->dbname, err, &db->err_no);
    if (!db->conn) {
        free(db);
        return NULL;
    }
    db->was_connected = true;
    return db;
}

void db_close(struct db *db)
{
    if (!db) return;
    clear_cache(db);
    if (db->conn) mysql_close(db->conn);
    free(db);
}

static int reconnect(struct db *db)
{
    clear_cache(db);
    if (db->conn) mysql_close(db->conn);
    db->conn = connect_raw(&db->dsn, db->dsn.dbname, db->err, &db->err_no);
    if (!db->conn) {
        if (!db->err_no) db->err_no = CR_CONNECTION_ERROR;
        return -1;
    }
    char where[300];
    dbconf_describe(&db->dsn, where, sizeof where);
    LOG(INFO, "database connection %s (%s)", db->was_connected ? "re-established" : "established", where);
    db->was_connected = true;
    return 0;
}

int db_ensure(struct db *db)
{
    if (db->conn && mysql_ping(db->conn) == 0) return 0;
    return reconnect(db);
}

int db_connect(struct db *db) { return db->conn ? 0 : reconnect(db); }

/* After a lost connection every statement is dead; drop the cache so the next use re-prepares. */
static void note_failure(struct db *db)
{
    if (db->err_no == CR_SERVER_GONE_ERROR || db->err_no == CR_SERVER_LOST || db->err_no == ER_CONNECTION_KILLED ||
        db->err_no == CR_SERVER_LOST_EXTENDED) {
        clear_cache(db);
        if (db->conn) mysql_close(db->conn);
        db->conn = NULL;
    }
}

int db_exec(struct db *db, const char *sql)
{
    if (!db->conn && db_ensure(db) < 0) return -1;
    if (mysql_real_query(db->conn, sql, strlen(sql))) {
        set_conn_error(db, "query failed");
        note_failure(db);
        return -1;
    }
    MYSQL_RES *res = mysql_store_result(db->conn);
    if (res) mysql_free_result(res);
    return 0;
}

static MYSQL_STMT *get_stmt(struct db *db, const char *sql)
{
    if (!db->conn && db_ensure(db) < 0) return NULL;
    int victim = 0;
    for (int i = 0; i < STMT_CACHE; i++) {
        if (db->cache[i].sql && strcmp(db->cache[i].sql, sql) == 0) {
            db->cache[i].last_used = ++db->use_counter;
            return db->cache[i].stmt;
        }
        if (db->cache[i].last_used < db->cache[victim].last_used) victim = i;
    }
    MYSQL_STMT *st = mysql_stmt_init(db->conn);
    if (!st) {
        set_conn_error(db, "statement init failed");
        return NULL;
    }
    if (mysql_stmt_prepare(st, sql, strlen(sql))) {
        set_stmt_error(db, st, "prepare failed");
        mysql_stmt_close(st);
        note_failure(db);
        return NULL;
    }
    struct cached_stmt *c = &db->cache[victim];
    if (c->stmt) mysql_stmt_close(c->stmt);
    free(c->sql);
    c->sql = xstrdup(sql);
    c->stmt = st;
    c->last_used = ++db->use_counter;
    return st;
}

static int bind_and_execute(struct db *db, MYSQL_STMT *st, const struct db_param *params, size_t n)
{
    if (n != mysql_stmt_param_count(st)) {
        db->err_no = 0;
        snprintf(db->err, sizeof db->err, "statement wants %lu parameters, got %zu", mysql_stmt_param_count(st), n);
        return -1;
    }
    if (n > MAX_PARAMS) {
        snprintf(db->err, sizeof db->err, "too many parameters");
        return -1;
    }
    MYSQL_BIND *b = n ? xcalloc(n, sizeof *b) : NULL;
    unsigned long *lens = n ? xcalloc(n, sizeof *lens) : NULL;
    for (size_t i = 0; i < n; i++) {
        const struct db_param *p = &params[i];
        switch (p->type) {
        case DB_P_NULL: b[i].buffer_type = MYSQL_TYPE_NULL; break;
        case DB_P_INT:
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = (void *)&p->i;
            break;
        case DB_P_DOUBLE:
            b[i].buffer_type = MYSQL_TYPE_DOUBLE;
            b[i].buffer = (void *)&p->d;
            break;
        case DB_P_STRING:
            b[i].buffer_type = MYSQL_TYPE_STRING;
            b[i].buffer = (void *)p->s;
            lens[i] = (unsigned long)p->len;
            b[i].buffer_length = lens[i];
            b[i].length = &lens[i];
            break;
        }
    }
    int rc = 0;
    if (n && mysql_stmt_bind_param(st, b)) {
        set_stmt_error(db, st, "bind failed");
        rc = -1;
    } else if (mysql_stmt_execute(st)) {
        set_stmt_error(db, st, "execute failed");
        note_failure(db);
        rc = -1;
    }
    free(b);
    free(lens);
    return rc;
}

int db_execp(struct db *db, const char *sql, const struct db_param *params, size_t n_params, uint64_t *affected,
             uint64_t *insert_id)
{
    db->last_warnings = 0;
    MYSQL_STMT *st = get_stmt(db, sql);
    if (!st) return -1;
    if (bind_and_execute(db, st, params, n_params) < 0) return -1;
    db->last_warnings = (unsigned)mysql_stmt_warning_count(st);
    if (affected) *affected = mysql_stmt_affected_rows(st);
    if (insert_id) *insert_id = mysql_stmt_insert_id(st);
    mysql_stmt_free_result(st);
    return 0;
}

/* ---- bulk execution ---- */

static enum enum_field_types bulk_type(enum db_param_type t)
{
    return t == DB_P_INT ? MYSQL_TYPE_LONGLONG : t == DB_P_DOUBLE ? MYSQL_TYPE_DOUBLE : MYSQL_TYPE_STRING;
}

/* The server without bulk operations (MySQL, MariaDB before 10.2): one execution per row, totals summed. */
static int rows_one_by_one(struct db *db, MYSQL_STMT *st, const struct db_param *params, size_t columns, size_t rows,
                           uint64_t *affected)
{
    uint64_t sum = 0;
    for (size_t r = 0; r < rows; r++) {
        if (bind_and_execute(db, st, params + r * columns, columns) < 0) return -1;
        db->last_warnings += (unsigned)mysql_stmt_warning_count(st);
        sum += mysql_stmt_affected_rows(st);
        mysql_stmt_free_result(st);
    }
    if (affected) *affected = sum;
    return 0;
}

/* What MARIADB_STMT_BULK_SUPPORTED checks, through the public API (the macro reads a private struct). */
static bool bulk_supported(struct db *db)
{
    unsigned long caps = 0, ext = 0;
    if (mariadb_get_infov(db->conn, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps) ||
        mariadb_get_infov(db->conn, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &ext))
        return false;
    return !(caps & CLIENT_MYSQL) && (ext & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32));
}

int db_execp_bulk(struct db *db, const char *sql, const struct db_param *params, size_t columns, size_t rows,
                  uint64_t *affected)
{
    if (rows <= 1) {
        if (rows == 0) {
            if (affected) *affected = 0;
            return 0;
        }
        return db_execp(db, sql, params, columns, affected, NULL);
    }
    db->last_warnings = 0;
    MYSQL_STMT *st = get_stmt(db, sql);
    if (!st) return -1;
    if (columns == 0 || columns != mysql_stmt_param_count(st) || columns > MAX_PARAMS || rows > UINT32_MAX) {
        db->err_no = 0;
        snprintf(db->err, sizeof db->err, "bulk statement wants %lu parameters a row, got %zu", mysql_stmt_param_count(st),
                 columns);
        return -1;
    }
    if (!bulk_supported(db)) return rows_one_by_one(db, st, params, columns, rows, affected);
    /* Column-wise arrays (Connector/C's documented layout): per column one value per row — int64s and doubles side
     * by side, strings as pointers — with a length and an indicator (NULL or not) per row. One type per column
     * for every row (the packet states it once): a column's first non-NULL value decides. */
    MYSQL_BIND *b = xcalloc(columns, sizeof *b);
    void **vals = xcalloc(columns, sizeof *vals);
    unsigned long *lens = xcalloc(columns * rows, sizeof *lens);
    char *ind = xcalloc(columns * rows, 1);
    int rc = 0;
    for (size_t j = 0; j < columns && rc == 0; j++) {
        enum db_param_type t = DB_P_NULL;
        for (size_t r = 0; r < rows; r++) {
            enum db_param_type u = params[r * columns + j].type;
            if (u == DB_P_NULL || u == t) continue;
            if (t != DB_P_NULL) {
                db->err_no = 0;
                snprintf(db->err, sizeof db->err, "bulk statement: column %zu mixes value types", j + 1);
                rc = -1;
                break;
            }
            t = u;
        }
        size_t width = t == DB_P_INT ? sizeof(int64_t) : t == DB_P_DOUBLE ? sizeof(double) : sizeof(char *);
        vals[j] = xcalloc(rows, width);
        for (size_t r = 0; r < rows; r++) {
            const struct db_param *p = &params[r * columns + j];
            char *in = &ind[j * rows + r];
            *in = p->type == DB_P_NULL ? STMT_INDICATOR_NULL : STMT_INDICATOR_NONE;
            if (p->type == DB_P_NULL) continue;
            if (t == DB_P_INT) ((int64_t *)vals[j])[r] = p->i;
            else if (t == DB_P_DOUBLE) ((double *)vals[j])[r] = p->d;
            else {
                ((const char **)vals[j])[r] = p->s;
                lens[j * rows + r] = (unsigned long)p->len;
            }
        }
        b[j].buffer_type = bulk_type(t);
        b[j].buffer = vals[j];
        b[j].length = t == DB_P_STRING || t == DB_P_NULL ? &lens[j * rows] : NULL;
        b[j].u.indicator = &ind[j * rows];
    }
    unsigned int n = (unsigned int)rows, none = 0;
    if (rc == 0) {
        mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &n);
        if (mysql_stmt_bind_param(st, b)) {
            set_stmt_error(db, st, "bind failed");
            rc = -1;
        } else if (mysql_stmt_execute(st)) {
            set_stmt_error(db, st, "bulk execute failed");
            rc = -1;
        } else {
            db->last_warnings = (unsigned)mysql_stmt_warning_count(st);
            if (affected) *affected = mysql_stmt_affected_rows(st);
            mysql_stmt_free_result(st);
        }
        /* the statement stays cached: later single executions must not see the array */
        if (db->conn) mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &none);
        if (rc < 0) note_failure(db);
    }
    for (size_t j = 0; j < columns; j++) free(vals[j]);
    free(vals);
    free(b);
    free(lens);
    free(ind);
    return rc;
}

/* ---- rows ---- */

enum col_kind { COL_INT, COL_DOUBLE, COL_TEXT };

struct db_row {
    size_t n;
    MYSQL_BIND *binds;
    enum col_kind *kinds;
    int64_t *ints;
    double *doubles;
    char **texts;
    unsigned long *lens;
    my_bool *nulls;
    my_bool *errors;
    unsigned long *caps;
    char scratch[48];
};

size_t db_row_columns(const struct db_row *row) { return row->n; }
bool db_row_is_null(const struct db_row *row, size_t col) { return col >= row->n || row->nulls[col]; }

int64_t db_row_int(const struct db_row *row, size_t col)
{
    if (db_row_is_null(row, col)) return 0;
    switch (row->kinds[col]) {
    case COL_INT: return row->ints[col];
    case COL_DOUBLE: return (int64_t)row->doubles[col];
    case COL_TEXT: return strtoll(row->texts[col], NULL, 10);
    }
    return 0;
}

double db_row_double(const struct db_row *row, size_t col)
{
    if (db_row_is_null(row, col)) return 0;
    switch (row->kinds[col]) {
    case COL_INT: return (double)row->ints[col];
    case COL_DOUBLE: return row->doubles[col];
    case COL_TEXT: return strtod(row->texts[col], NULL);
    }
    return 0;
}

const char *db_row_str(const struct db_row *row, size_t col)
{
    if (db_row_is_null(row, col)) return "";
    struct db_row *r = (struct db_row *)row; /* scratch is per row, formatting is a cache */
    switch (row->kinds[col]) {
    case COL_INT: snprintf(r->scratch, sizeof r->scratch, "%" PRId64, row->ints[col]); return r->scratch;
    case COL_DOUBLE: snprintf(r->scratch, sizeof r->scratch, "%.17g", row->doubles[col]); return r->scratch;
    case COL_TEXT: return row->texts[col];
    }
    return "";
}

size_t db_row_len(const struct db_row *row, size_t col)
{
    if (db_row_is_null(row, col)) return 0;
    return row->kinds[col] == COL_TEXT ? row->lens[col] : strlen(db_row_str(row, col));
}

int64_t db_row_time_us(const struct db_row *row, size_t col)
{
    int64_t us = 0;
    if (db_row_is_null(row, col)) return 0;
    if (time_parse_sql(db_row_str(row, col), &us) < 0) return 0;
    return us;
}

static void row_free(struct db_row *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->texts[i]);
    free(r->binds);
    free(r->kinds);
    free(r->ints);
    free(r->doubles);
    free(r->texts);
    free(r->lens);
    free(r->nulls);
    free(r->errors);
    free(r->caps);
}

int db_query(struct db *db, const char *sql, const struct db_param *params, size_t n_params, db_row_cb cb, void *arg)
{
    MYSQL_STMT *st = get_stmt(db, sql);
    if (!st) return -1;
    my_bool update_max = 1;
    mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
    if (bind_and_execute(db, st, params, n_params) < 0) return -1;
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (!meta) {
        mysql_stmt_free_result(st);
        return 0; /* not a query */
    }
    if (mysql_stmt_store_result(st)) {
        set_stmt_error(db, st, "fetch failed");
        mysql_free_result(meta);
        note_failure(db);
        return -1;
    }
    struct db_row r = {0};
    r.n = mysql_num_fields(meta);
    MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    r.binds = xcalloc(r.n, sizeof *r.binds);
    r.kinds = xcalloc(r.n, sizeof *r.kinds);
    r.ints = xcalloc(r.n, sizeof *r.ints);
    r.doubles = xcalloc(r.n, sizeof *r.doubles);
    r.texts = xcalloc(r.n, sizeof *r.texts);
    r.lens = xcalloc(r.n, sizeof *r.lens);
    r.nulls = xcalloc(r.n, sizeof *r.nulls);
    r.errors = xcalloc(r.n, sizeof *r.errors);
    r.caps = xcalloc(r.n, sizeof *r.caps);
    for (size_t i = 0; i < r.n; i++) {
        MYSQL_BIND *b = &r.binds[i];
        switch (fields[i].type) {
        case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: case MYSQL_TYPE_LONG: case MYSQL_TYPE_INT24:
        case MYSQL_TYPE_LONGLONG: case MYSQL_TYPE_YEAR:
            r.kinds[i] = COL_INT;
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &r.ints[i];
            b->is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
            break;
        case MYSQL_TYPE_FLOAT: case MYSQL_TYPE_DOUBLE:
            r.kinds[i] = COL_DOUBLE;
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &r.doubles[i];
            break;
        default:
            r.kinds[i] = COL_TEXT;
            r.caps[i] = fields[i].max_length + 1 > 64 ? fields[i].max_length + 1 : 64;
            r.texts[i] = xmalloc(r.caps[i]);
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = r.texts[i];
            b->buffer_length = r.caps[i];
            break;
        }
        b->length = &r.lens[i];
        b->is_null = &r.nulls[i];
        b->error = &r.errors[i];
    }
    int rc = 0;
    if (mysql_stmt_bind_result(st, r.binds)) {
        set_stmt_error(db, st, "bind result failed");
        rc = -1;
    }
    while (rc == 0) {
        int f = mysql_stmt_fetch(st);
        if (f == MYSQL_NO_DATA) break;
        if (f == 1) {
            set_stmt_error(db, st, "fetch failed");
            rc = -1;
            break;
        }
        if (f == MYSQL_DATA_TRUNCATED) {
            for (size_t i = 0; i < r.n; i++) {
                if (r.kinds[i] != COL_TEXT || !r.errors[i]) continue;
                r.caps[i] = r.lens[i] + 1;
                r.texts[i] = xrealloc(r.texts[i], r.caps[i]);
                r.binds[i].buffer = r.texts[i];
                r.binds[i].buffer_length = r.caps[i];
                mysql_stmt_fetch_column(st, &r.binds[i], (unsigned)i, 0);
            }
            mysql_stmt_bind_result(st, r.binds);
        }
        for (size_t i = 0; i < r.n; i++)
            if (r.kinds[i] == COL_TEXT && !r.nulls[i]) r.texts[i][r.lens[i] < r.caps[i] ? r.lens[i] : r.caps[i] - 1] = '\0';
        rc = cb ? cb(arg, &r) : 0;
    }
    row_free(&r);
    mysql_free_result(meta);
    mysql_stmt_free_result(st);
    return rc;
}

struct first_int {
    int64_t v;
    bool found;
};

static int take_first_int(void *arg, const struct db_row *row)
{
    struct first_int *f = arg;
    f->v = db_row_int(row, 0);
    f->found = true;
    return 1;
}

int db_query_int(struct db *db, const char *sql, const struct db_param *params, size_t n_params, int64_t *out)
{
    struct first_int f = {0, false};
    int rc = db_query(db, sql, params, n_params, take_first_int, &f);
    if (rc < 0) return -1;
    if (f.found) *out = f.v;
    return f.found ? 1 : 0;
}

int db_begin(struct db *db) { return db_exec(db, "START TRANSACTION"); }

int db_commit(struct db *db)
{
    if (!db->conn) return -1;
    if (mysql_commit(db->conn)) {
        set_conn_error(db, "commit failed");
        note_failure(db);
        return -1;
    }
    return 0;
}

int db_rollback(struct db *db)
{
    if (!db->conn) return -1;
    if (mysql_rollback(db->conn)) {
        set_conn_error(db, "rollback failed");
        note_failure(db);
        return -1;
    }
    return 0;
}

int db_tx(struct db *db, int (*fn)(struct db *db, void *arg), void *arg, int max_attempts)
{
    for (int attempt = 1;; attempt++) {
        int rc = -1;
        /* No ping first: a connection that died since its last use fails at BEGIN (or later) with a lost
         * connection, which closes it (note_failure), and the next attempt reconnects. */
        if (db_connect(db) == 0 && db_begin(db) == 0) {
            rc = fn(db, arg);
            if (rc == 0 && db_commit(db) == 0) return 0;
            if (rc > 0) {
                db_rollback(db);
                return rc;
            }
            char saved[DB_ERR_LEN];
            unsigned saved_no = db->err_no;
            snprintf(saved, sizeof saved, "%s", db->err);
            if (db->conn) mysql_rollback(db->conn);
            db->err_no = saved_no;
            snprintf(db->err, sizeof db->err, "%s", saved);
        }
        if (!db_errno_is_retryable(db->err_no) || attempt >= max_attempts) return -1;
        LOG(WARN, "transaction attempt %d failed (%s); retrying", attempt, db->err);
        struct timespec ts = {0, (long)(20000000L * attempt)}; /* 20 ms, 40 ms, … */
        if (ts.tv_nsec >= 1000000000L) ts = (struct timespec){1, 0};
        nanosleep(&ts, NULL);
    }
}
