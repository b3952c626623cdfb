/* zone.h — the pool's zones (DESIGN.md §5: servers.zone): the accepted codes in one place. A zone is an
 * ISO 3166-1 alpha-2 country code in lower case ("au", "de") or one of the pool's continent zones ("oceania",
 * "europe", …). ntpmonctl refuses anything else; the scorer's mass-outage guard counts servers per zone, and the
 * zone is a level of the alert topic E/status/zones/<zone>. */
#ifndef NTPMON_ZONE_H
#define NTPMON_ZONE_H

#include <stdbool.h>
#include <stddef.h>

#define ZONE_MAX 16 /* longest code + NUL ("south-america") */

/* True when code is an accepted zone (exact, lower case). */
bool zone_is_valid(const char *code);
/* Copies code lower-cased into out when it is an accepted zone ("AU" → "au"); 0, or -1 when it is not. */
int zone_normalize(const char *code, char out[ZONE_MAX]);
/* The accepted codes: countries first (alphabetical), then continents; *n receives the count. */
const char *const *zone_codes(size_t *n);
/* A compact id for an accepted zone: its position in zone_codes() + 1; 0 for anything else (no zone). */
unsigned zone_id(const char *code);
/* The code of a zone id, or NULL for 0 and unknown ids. */
const char *zone_code(unsigned id);

#endif
