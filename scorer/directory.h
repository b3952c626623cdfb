/* directory.h — what the scorer knows about monitors (name → id, usable or not) and servers (id → exists,
 * deleted), cached from the database and reloaded periodically and when an unknown name or id shows up; plus the
 * "already reported" sets that make a skipped result's reason appear in the log once, not once per result. */
#ifndef NTPMON_SCORER_DIRECTORY_H
#define NTPMON_SCORER_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct dir_monitor {
    int64_t id;
    char name[MSG_NAME_MAX];
    bool deleted; /* status deleted or deleted_on set: its results are skipped */
};

struct dir_server {
    int64_t id;
    bool deleted; /* deletion_on reached: scored, but never enters the pool */
    unsigned zone; /* servers.zone as a common/zone id; 0: none */
};

struct directory;

struct directory *dir_new(void);
void dir_free(struct directory *d);

/* A reload: begin, add every row, then commit (the new list replaces the old) or abort (the old list stays:
 * a database outage must not make every monitor "unknown"). */
void dir_monitors_begin(struct directory *d);
void dir_monitor_add(struct directory *d, int64_t id, const char *name, bool deleted);
void dir_monitors_end(struct directory *d, bool commit);
void dir_servers_begin(struct directory *d);
void dir_server_add(struct directory *d, int64_t id, bool deleted, unsigned zone);
void dir_servers_end(struct directory *d, bool commit);

const struct dir_monitor *dir_monitor_by_name(const struct directory *d, const char *name);
const struct dir_monitor *dir_monitor_by_id(const struct directory *d, int64_t id);
const struct dir_server *dir_server(const struct directory *d, int64_t id);
size_t dir_monitor_count(const struct directory *d);
size_t dir_server_count(const struct directory *d);
/* Calls fn for every server id (for per-server subscriptions). */
void dir_server_each(const struct directory *d, void (*fn)(int64_t id, void *arg), void *arg);

/* True the first time a key is reported (then false until dir_forget_reports); bounded, so a flood of
 * distinct bad keys cannot grow it without limit (past the bound everything counts as reported). */
bool dir_report_once(struct directory *d, const char *key);
void dir_forget_reports(struct directory *d);

#endif
