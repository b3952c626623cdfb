/* directory.c — monitor and server caches and the report-once set (see directory.h). Open addressing with
 * linear probing; reloads rebuild the tables from scratch. */
#include "directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define MAX_REPORTS 4096

struct table {
    void *items; /* array of the element type */
    size_t n, cap, size;
    uint32_t *slots; /* index+1 */
    size_t n_slots;
};

struct directory {
    struct table monitors, monitors_by_id, servers;
    struct table new_monitors, new_monitors_by_id, new_servers; /* a reload in progress */
    char **reports;
    size_t n_reports;
    uint32_t *report_slots;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct directory *dir_new(void)
{
    struct directory *d = xcalloc(1, sizeof *d);
    d->report_slots = xcalloc(2 * MAX_REPORTS, sizeof *d->report_slots);
    d->reports = xcalloc(MAX_REPORTS, sizeof *d->reports);
    return d;
}

static void table_clear(struct table *t, size_t size)
{
    free(t->items);
    free(t->slots);
    *t = (struct table){.size = size};
}

void dir_free(struct directory *d)
{
    if (!d) return;
    table_clear(&d->monitors, 0);
    table_clear(&d->monitors_by_id, 0);
    table_clear(&d->servers, 0);
    table_clear(&d->new_monitors, 0);
    table_clear(&d->new_monitors_by_id, 0);
    table_clear(&d->new_servers, 0);
    dir_forget_reports(d);
    free(d->reports);
    free(d->report_slots);
    free(d);
}

static uint64_t monitor_hash(const void *item) { return hash_text(((const struct dir_monitor *)item)->name); }
static uint64_t monitor_id_hash(const void *item) { return mix((uint64_t)((const struct dir_monitor *)item)->id); }
static uint64_t server_hash(const void *item) { return mix((uint64_t)((const struct dir_server *)item)->id); }

static void table_index(struct table *t, uint64_t h, size_t k)
{
    size_t mask = t->n_slots - 1, i = (size_t)h & mask;
    while (t->slots[i]) i = (i + 1) & mask;
    t->slots[i] = (uint32_t)k + 1;
}

/* Appends an element and indexes it; the slot array stays at most half full. */
static void table_insert(struct table *t, uint64_t (*hash)(const void *), const void *item)
{
    if ((t->n + 1) * 2 > t->n_slots) {
        free(t->slots);
        t->n_slots = t->n_slots ? t->n_slots * 2 : 64;
        t->slots = xcalloc(t->n_slots, sizeof *t->slots);
        for (size_t k = 0; k < t->n; k++) table_index(t, hash((char *)t->items + k * t->size), k);
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->items = xrealloc(t->items, t->cap * t->size);
    }
    memcpy((char *)t->items + t->n * t->size, item, t->size);
    table_index(t, hash(item), t->n);
    t->n++;
}

void dir_monitors_begin(struct directory *d)
{
    table_clear(&d->new_monitors, sizeof(struct dir_monitor));
    table_clear(&d->new_monitors_by_id, sizeof(struct dir_monitor));
}

void dir_monitor_add(struct directory *d, int64_t id, const char *name, bool deleted)
{
    struct dir_monitor m = {.id = id, .deleted = deleted};
    snprintf(m.name, sizeof m.name, "%s", name);
    table_insert(&d->new_monitors, monitor_hash, &m);
    table_insert(&d->new_monitors_by_id, monitor_id_hash, &m);
}

void dir_monitors_end(struct directory *d, bool commit)
{
    if (commit) {
        table_clear(&d->monitors, 0);
        table_clear(&d->monitors_by_id, 0);
        d->monitors = d->new_monitors;
        d->monitors_by_id = d->new_monitors_by_id;
        d->new_monitors = d->new_monitors_by_id = (struct table){0};
    } else {
        table_clear(&d->new_monitors, 0);
        table_clear(&d->new_monitors_by_id, 0);
    }
}

void dir_servers_begin(struct directory *d) { table_clear(&d->new_servers, sizeof(struct dir_server)); }

void dir_server_add(struct directory *d, int64_t id, bool deleted, unsigned zone)
{
    struct dir_server s = {.id = id, .deleted = deleted, .zone = zone};
    table_insert(&d->new_servers, server_hash, &s);
}

void dir_servers_end(struct directory *d, bool commit)
{
    if (commit) {
        table_clear(&d->servers, 0);
        d->servers = d->new_servers;
        d->new_servers = (struct table){0};
    } else {
        table_clear(&d->new_servers, 0);
    }
}

const struct dir_monitor *dir_monitor_by_name(const struct directory *d, const char *name)
{
    const struct table *t = &d->monitors;
    if (!t->n_slots) return NULL;
    size_t mask = t->n_slots - 1;
    for (size_t i = (size_t)hash_text(name) & mask; t->slots[i]; i = (i + 1) & mask) {
        const struct dir_monitor *m = (const struct dir_monitor *)t->items + (t->slots[i] - 1);
        if (strcmp(m->name, name) == 0) return m;
    }
    return NULL;
}

const struct dir_monitor *dir_monitor_by_id(const struct directory *d, int64_t id)
{
    const struct table *t = &d->monitors_by_id;
    if (!t->n_slots) return NULL;
    size_t mask = t->n_slots - 1;
    for (size_t i = (size_t)mix((uint64_t)id) & mask; t->slots[i]; i = (i + 1) & mask) {
        const struct dir_monitor *m = (const struct dir_monitor *)t->items + (t->slots[i] - 1);
        if (m->id == id) return m;
    }
    return NULL;
}

const struct dir_server *dir_server(const struct directory *d, int64_t id)
{
    const struct table *t = &d->servers;
    if (!t->n_slots) return NULL;
    size_t mask = t->n_slots - 1;
    for (size_t i = (size_t)mix((uint64_t)id) & mask; t->slots[i]; i = (i + 1) & mask) {
        const struct dir_server *s = (const struct dir_server *)t->items + (t->slots[i] - 1);
        if (s->id == id) return s;
    }
    return NULL;
}

size_t dir_monitor_count(const struct directory *d) { return d->monitors.n; }
size_t dir_server_count(const struct directory *d) { return d->servers.n; }

void dir_server_each(const struct directory *d, void (*fn)(int64_t id, void *arg), void *arg)
{
    for (size_t k = 0; k < d->servers.n; k++) fn(((const struct dir_server *)d->servers.items)[k].id, arg);
}

bool dir_report_once(struct directory *d, const char *key)
{
    size_t mask = 2 * MAX_REPORTS - 1;
    size_t i = (size_t)hash_text(key) & mask;
    for (; d->report_slots[i]; i = (i + 1) & mask)
        if (strcmp(d->reports[d->report_slots[i] - 1], key) == 0) return false;
    if (d->n_reports >= MAX_REPORTS) return false;
    d->reports[d->n_reports] = xstrdup(key);
    d->report_slots[i] = (uint32_t)++d->n_reports;
    return true;
}

void dir_forget_reports(struct directory *d)
{
    for (size_t i = 0; i < d->n_reports; i++) free(d->reports[i]);
    d->n_reports = 0;
    memset(d->report_slots, 0, 2 * MAX_REPORTS * sizeof *d->report_slots);
}
