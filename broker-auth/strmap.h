/* strmap.h — a small string-keyed hash map for the broker plugin (client sessions, the revoked set).
 * Plain malloc: every allocation failure is returned, never fatal (the plugin runs inside the broker). */
#ifndef NTPMON_AUTH_STRMAP_H
#define NTPMON_AUTH_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

/* A new empty map, or NULL when out of memory. */
struct strmap *strmap_new(void);
/* Frees the map; free_value (may be NULL) is called for every value. */
void strmap_free(struct strmap *m, void (*free_value)(void *));
/* The value stored for key, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Stores value (non-NULL) under key, returning the value it replaces through *old (NULL if none).
 * 0, or -1 when out of memory (the map is unchanged). */
int strmap_put(struct strmap *m, const char *key, void *value, void **old);
/* Removes key and returns its value (NULL when absent). */
void *strmap_remove(struct strmap *m, const char *key);
size_t strmap_count(const struct strmap *m);
/* Calls fn for every entry; an entry is removed (and handed to free_value) when fn returns true. */
void strmap_filter(struct strmap *m, bool (*fn)(const char *key, void *value, void *arg), void *arg,
                   void (*free_value)(void *));

#endif
