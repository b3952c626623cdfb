/* topicacl.c — level-by-level walks over '/'-separated strings, without copying. */
#include "topicacl.h"

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

bool acl_filter_valid(const char *filter)
{
    if (!filter || !*filter) return false;
    struct level_iter it = {filter, false};
    const char *s;
    size_t len;
    while (next_level(&it, &s, &len)) {
        if (memchr(s, '#', len)) {
            if (!level_is(s, len, '#') || !it.done) return false;
        }
        if (memchr(s, '+', len) && !level_is(s, len, '+')) return false;
    }
    return true;
}

bool acl_topic_valid(const char *topic)
{
    return topic && *topic && !strpbrk(topic, "+#");
}

bool acl_topic_matches(const char *filter, const char *topic)
{
    if (!acl_filter_valid(filter) || !acl_topic_valid(topic)) return false;
    if (topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return false;
    struct level_iter fi = {filter, false}, ti = {topic, false};
    const char *fs, *ts;
    size_t fl, tl;
    for (;;) {
        bool hf = next_level(&fi, &fs, &fl);
        bool ht = next_level(&ti, &ts, &tl);
        if (hf && level_is(fs, fl, '#')) return true; /* also matches the parent level */
        if (!hf || !ht) return hf == ht;
        if (level_is(fs, fl, '+')) continue;
        if (fl != tl || memcmp(fs, ts, fl) != 0) return false;
    }
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
