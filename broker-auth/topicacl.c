/* topicacl.c — validity and matching are the broker's own functions (mosquitto_sub_topic_check,
 * mosquitto_pub_topic_check, mosquitto_topic_matches_sub: in the plugin they resolve to the running broker, in tests
 * and tools to libmosquitto, the same code), so the plugin can never disagree with the broker about what a filter
 * matches. Filter containment, which the broker does not export, is ours: level-by-level walks over
 * '/'-separated strings, without copying. */
#include "topicacl.h"

#include <mosquitto.h>
#include <string.h>

#define SHARE_PREFIX "$share/"

/* One level: [*p, *p + len); advances past it. Returns false at the end of the string. */
struct level_iter {
    const char *p;
    bool done;
};

static bool next_level(struct level_iter *it, const char **start, size_t *len)
{
    if (it->done) return false;
    const char *slash = strchr(it->p, '/');
    *start = it->p;
    if (slash) {
        *len = (size_t)(slash - it->p);
        it->p = slash + 1;
    } else {
        *len = strlen(it->p);
        it->done = true;
    }
    return true;
}

static bool level_is(const char *s, size_t len, char c)
{
    return len == 1 && s[0] == c;
}

/* mosquitto's checks accept the empty string, which MQTT does not allow as a topic or a filter. */
bool acl_filter_valid(const char *filter)
{
    return filter && *filter && mosquitto_sub_topic_check(filter) == MOSQ_ERR_SUCCESS;
}

bool acl_topic_valid(const char *topic)
{
    return topic && *topic && mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS;
}

bool acl_topic_matches(const char *filter, const char *topic)
{
    if (!acl_filter_valid(filter) || !acl_topic_valid(topic)) return false;
    bool result = false;
    return mosquitto_topic_matches_sub(filter, topic, &result) == MOSQ_ERR_SUCCESS && result;
}

bool acl_filter_contains(const char *outer, const char *inner)
{
    if (!acl_filter_valid(outer) || !acl_filter_valid(inner)) return false;
    /* a leading wildcard in outer never covers '$' topics, which a literal inner level may name */
    if ((outer[0] == '+' || outer[0] == '#') && inner[0] == '$') return false;
    struct level_iter oi = {outer, false}, ii = {inner, false};
    const char *os, *is;
    size_t ol, il;
    for (;;) {
        bool ho = next_level(&oi, &os, &ol);
        bool hi = next_level(&ii, &is, &il);
        if (ho && level_is(os, ol, '#')) return true;
        if (!hi) return !ho; /* inner ended: outer must end too (a trailing '#' was handled above) */
        if (!ho) return false;
        if (level_is(is, il, '#')) return false; /* inner reaches deeper than a non-'#' outer level */
        if (level_is(os, ol, '+')) continue;
        if (level_is(is, il, '+')) return false;
        if (ol != il || memcmp(os, is, ol) != 0) return false;
    }
}

const char *acl_strip_share(const char *filter)
{
    if (!filter) return NULL;
    if (strncmp(filter, SHARE_PREFIX, strlen(SHARE_PREFIX)) != 0) return filter;
    const char *group = filter + strlen(SHARE_PREFIX);
    const char *slash = strchr(group, '/');
    if (!slash || slash == group || slash[1] == '\0') return NULL;
    for (const char *p = group; p < slash; p++)
        if (*p == '+' || *p == '#') return NULL;
    return slash + 1;
}
