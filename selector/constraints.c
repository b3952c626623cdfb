/* constraints.c — predicates for the selector's network and account rules (constraints.h). */
#include "constraints.h"

#include <string.h>

static const char *const names[] = {"", "same_network", "same_account", "diversity", "account_limit"};

const char *sel_violation_str(enum sel_violation v)
{
    return (unsigned)v < sizeof names / sizeof names[0] ? names[v] : "";
}

enum sel_violation sel_violation_parse(const char *s)
{
    if (!s) return SEL_VIOL_NONE;
    for (unsigned i = 1; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0) return (enum sel_violation)i;
    return SEL_VIOL_NONE;
}

bool sel_violation_pauses(enum sel_violation v) { return v == SEL_VIOL_SAME_NETWORK || v == SEL_VIOL_SAME_ACCOUNT; }

bool sel_same_network(const struct sel_settings *s, const struct netaddr *server, const struct netaddr *monitor)
{
    if (server->family != monitor->family) return false;
    unsigned bits = (unsigned)(server->family == AF_INET ? s->same_network_v4 : s->same_network_v6);
    return netaddr_same_prefix(monitor, server, bits);
}

int sel_diversity_bits(const struct sel_settings *s, const struct netaddr *a)
{
    return a->family == AF_INET ? s->diversity_v4 : s->diversity_v6;
}

bool sel_same_diversity_network(const struct sel_settings *s, const struct netaddr *a, const struct netaddr *b)
{
    if (a->family != b->family) return false;
    return netaddr_same_prefix(a, b, (unsigned)sel_diversity_bits(s, a));
}

bool sel_account_allows(int limit, int active, int testing, enum msg_pair_status to)
{
    if (to == MSG_STATUS_ACTIVE) return active < limit && active + testing < limit + 1;
    if (to == MSG_STATUS_TESTING) return testing < limit + 1 && active + testing < limit + 1;
    return true; /* candidates and paused pairs are never limited */
}
