/* revoked.h — the broker's revocation list (plugin_opt_revoked_file: one token `sub` or `jti` per line, blank
 * lines and '#' comments ignored), re-read when the file changes. Checking costs one stat() at most once a
 * second; a file that cannot be read keeps the previous list (a revocation is never lost by a bad write). */
#ifndef NTPMON_AUTH_REVOKED_H
#define NTPMON_AUTH_REVOKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REVOKED_FILE_MAX (16 * 1024 * 1024)

struct revoked;

/* A list bound to path (NULL: no revocation file, nothing is ever revoked). NULL when out of memory. */
struct revoked *revoked_new(const char *path);
void revoked_free(struct revoked *r);
/* Re-reads the file if it changed (or always with force), at most once per second of now_s unless forced.
 * Returns 1 when the list was replaced, 0 when unchanged, -1 on an error (message in msg; old list kept). */
int revoked_refresh(struct revoked *r, int64_t now_s, bool force, char *msg, size_t msg_len);
/* Parses file text into the list (also used by tests and the fuzzer); 0 or -1 when out of memory. */
int revoked_parse(struct revoked *r, const char *text, size_t len);
/* True when key (a sub or a jti) is revoked. */
bool revoked_contains(const struct revoked *r, const char *key);
/* Grows every time the list is replaced: sessions cache their verdict per generation. */
uint64_t revoked_generation(const struct revoked *r);
size_t revoked_count(const struct revoked *r);

#endif
