/* xalloc.h — allocation for daemons and tools: out of memory is fatal (logged, exit 70).
 * The mosquitto plugin must never use these: it returns MOSQ_ERR_NOMEM instead. */
#ifndef NTPMON_XALLOC_H
#define NTPMON_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formats into a new string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
