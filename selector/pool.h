/* pool.h — the selector's in-memory view of the pool: monitors, servers and their pairs (server_scores rows),
 * each pair with its 24 h statistics, and each monitor's work list (what its retained `assign` message says).
 * Filled from the database by a scan (dbio.c) and kept current by reviews; results land here (stats). No SQL,
 * no MQTT: the benchmark drives it directly. */
#ifndef NTPMON_SELECTOR_POOL_H
#define NTPMON_SELECTOR_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "idmap.h"
#include "msg.h"
#include "netaddr.h"
#include "rules.h"
#include "settings.h"
#include "stats.h"

struct pool_monitor {
    int64_t id;
    char name[MSG_NAME_MAX];
    enum sel_mon_status status; /* SEL_MON_DELETED also when the row disappeared */
    int64_t account_id;
    bool has4, has6;
    struct netaddr ip4, ip6;
    bool seen;       /* in the current scan */
    bool dirty;      /* the work list may have changed since its hash was computed */
    uint64_t want;   /* hash of the current work list */
    uint64_t sent;   /* hash of the last published one */
    bool published;  /* published by this process (retained messages outlive us; we republish at start) */
    int64_t last_seq;
    uint32_t *pairs; /* indexes into pool.pairs */
    uint32_t n_pairs, cap_pairs;
};

struct pool_server {
    int64_t id;
    char ip[MSG_IP_MAX];
    int64_t account_id;
    bool deleted; /* deletion_on reached, or the row disappeared */
    bool seen;
    bool history;    /* its window of log_scores rows has been loaded (selector/backfill.h) */
    uint32_t *pairs; /* indexes into pool.pairs, sorted by monitor id */
    uint32_t n_pairs, cap_pairs;
};

struct pool_pair {
    uint32_t server, monitor; /* indexes */
    uint8_t status;           /* enum msg_pair_status; NONE: statistics only (no server_scores row) */
    bool seen;
    struct stats_pair stats;
};

struct pool {
    struct pool_monitor *mon;
    size_t n_mon, cap_mon;
    struct pool_server *srv;
    size_t n_srv, cap_srv;
    struct pool_pair *pairs;
    size_t n_pairs, cap_pairs;
    struct idmap mon_by_id, srv_by_id, mon_by_name;
    size_t n_history;    /* servers whose history is loaded */
    size_t history_scan; /* where the next search for a server without history starts */
};

void pool_init(struct pool *p);
void pool_free(struct pool *p);

/* A scan: begin, upsert everything the database holds, end (what was not seen is gone). */
void pool_scan_begin(struct pool *p);
uint32_t pool_upsert_monitor(struct pool *p, int64_t id, const char *name, enum sel_mon_status status,
                             int64_t account_id, const char *ip4, const char *ip6);
uint32_t pool_upsert_server(struct pool *p, int64_t id, const char *ip, int64_t account_id, bool deleted);
/* A server_scores row; both ends must have been upserted in this scan. Returns the pair index or IDMAP_NONE. */
uint32_t pool_upsert_pair(struct pool *p, int64_t server_id, int64_t monitor_id, enum msg_pair_status status);
void pool_scan_end(struct pool *p);

uint32_t pool_monitor_by_id(const struct pool *p, int64_t id);
uint32_t pool_monitor_by_name(const struct pool *p, const char *name);
uint32_t pool_server_by_id(const struct pool *p, int64_t id);
/* The pair of a server and monitor (indexes), or IDMAP_NONE; with create, a statistics-only pair is made. */
uint32_t pool_pair_find(struct pool *p, uint32_t server, uint32_t monitor, bool create);
/* Sets a pair's status after a review (creating the pair if needed); marks the monitor's work list dirty. */
void pool_set_status(struct pool *p, int64_t server_id, int64_t monitor_id, enum msg_pair_status status);
/* Marks every work list dirty (settings changed, broker reconnected). */
void pool_mark_all_dirty(struct pool *p);

/* Whether the monitor gets work at all (not paused, deleted or unknown). */
bool pool_monitor_works(const struct pool_monitor *m);
/* The probe interval of a pair status for this monitor. */
int pool_interval(const struct sel_settings *cfg, const struct pool_monitor *m, enum msg_pair_status status);
/* Recomputes the hash of a monitor's work list: every field the assign message lists (server ids in order, their
 * addresses, statuses, intervals, samples), so equal hashes mean byte-identical lists. */
uint64_t pool_work_hash(struct pool *p, uint32_t mon, const struct sel_settings *cfg);
/* Builds a monitor's work list (malloc'd servers; msg_assign_free). */
void pool_work_list(struct pool *p, uint32_t mon, const struct sel_settings *cfg, struct msg_assign *out);

/* Marks a server's history loaded (counted once). */
void pool_history_mark(struct pool *p, uint32_t server);
/* Servers whose history is not loaded yet. */
size_t pool_history_pending(const struct pool *p);
/* Up to max ids of servers without history, round-robin from where the last call stopped; returns how many. */
size_t pool_history_next(struct pool *p, int64_t *ids, size_t max);

/* Drops statistics older than the window everywhere; returns the entries dropped. */
uint64_t pool_expire_stats(struct pool *p, int64_t now_us, int window_s);
/* Heap bytes held by statistics entries. */
uint64_t pool_stats_bytes(const struct pool *p);
/* Results held by the statistics (entries in use). */
uint64_t pool_stats_entries(const struct pool *p);

#endif
