/* ulid.h — ULIDs (26 Crockford base32 chars: 48-bit ms time + 80 random bits), the unique id of every result. */
#ifndef NTPMON_ULID_H
#define NTPMON_ULID_H

#include <stdbool.h>
#include <stdint.h>

#define ULID_LEN 26

/* A new ULID for now; within one millisecond of one process the ids still sort in creation order. */
void ulid_new(char out[ULID_LEN + 1]);
/* A new ULID stamped with the given Unix time in ms (random part from the kernel's CSPRNG). */
void ulid_new_at(int64_t unix_ms, char out[ULID_LEN + 1]);
/* True when s is exactly 26 valid characters (case-insensitive) and fits in 128 bits. */
bool ulid_is_valid(const char *s);
/* Copies s in its canonical form (upper case) into out when it is a valid ULID and returns true; otherwise out is
 * "" and false. Every ULID read from outside (messages, spool lines) goes through here before it is compared. */
bool ulid_canonical(const char *s, char out[ULID_LEN + 1]);
/* The ms timestamp of a valid ULID, or -1. */
int64_t ulid_time_ms(const char *s);

#endif
