/* topicacl.h — MQTT topic and filter algebra for the broker plugin's ACLs: validity and topic-matches-filter by
 * the broker's own rules (mosquitto's exported functions), and filter containment (every topic a subscription could
 * receive is matched by an allowed filter) with the MQTT rules for '$' topics and `$share/<group>/` prefixes, which
 * the broker does not export. Pure functions, no allocation. */
#ifndef NTPMON_AUTH_TOPICACL_H
#define NTPMON_AUTH_TOPICACL_H

#include <stdbool.h>

/* True for a valid topic filter (the broker's rule: '#' only as the whole last level, '+' only as a whole level,
 * at most 65 535 bytes), and non-empty. */
bool acl_filter_valid(const char *filter);
/* True for a valid topic name (the broker's rule: no wildcards, at most 65 535 bytes), and non-empty. */
bool acl_topic_valid(const char *topic);
/* True when topic is matched by filter, as the broker matches (a topic starting with '$' never matches a leading
 * wildcard); false when either is invalid. */
bool acl_topic_matches(const char *filter, const char *topic);
/* True when every topic matched by `inner` is also matched by `outer` (both valid filters). */
bool acl_filter_contains(const char *outer, const char *inner);
/* For "$share/<group>/<filter>" returns <filter>; for other filters the filter itself; NULL when a $share
 * filter is malformed (empty or wildcard group, nothing after it). */
const char *acl_strip_share(const char *filter);

#endif
