/* topicacl.h — MQTT topic and filter algebra for the broker plugin's ACLs: validity, topic-matches-filter, and
 * filter containment (every topic a subscription could receive is matched by an allowed filter), with the
 * MQTT rules for '$' topics and `$share/<group>/` prefixes. Pure functions, no allocation. */
#ifndef NTPMON_AUTH_TOPICACL_H
#define NTPMON_AUTH_TOPICACL_H

#include <stdbool.h>

/* True for a valid topic filter: non-empty, '#' only as the whole last level, '+' only as a whole level. */
bool acl_filter_valid(const char *filter);
/* True for a valid topic name (non-empty, no wildcards). */
bool acl_topic_valid(const char *topic);
/* True when topic is matched by filter (a topic starting with '$' never matches a leading wildcard). */
bool acl_topic_matches(const char *filter, const char *topic);
/* True when every topic matched by `inner` is also matched by `outer` (both valid filters). */
bool acl_filter_contains(const char *outer, const char *inner);
/* For "$share/<group>/<filter>" returns <filter>; for other filters the filter itself; NULL when a $share
 * filter is malformed (empty or wildcard group, nothing after it). */
const char *acl_strip_share(const char *filter);

#endif
