/* constraints.h — the network and account rules of DESIGN.md §7 as pure predicates on registered addresses and
 * counts: same network (the server's /24 or /48), same account, diversity (/20 or /44) and account limits
 * (X active, X+1 testing, X+1 together). */
#ifndef NTPMON_SELECTOR_CONSTRAINTS_H
#define NTPMON_SELECTOR_CONSTRAINTS_H

#include <stdbool.h>
#include <stdint.h>

#include "msg.h"
#include "netaddr.h"
#include "settings.h"

enum sel_violation {
    SEL_VIOL_NONE = 0,
    SEL_VIOL_SAME_NETWORK, /* monitor in the server's /24 or /48: the pair is paused */
    SEL_VIOL_SAME_ACCOUNT, /* monitor and server of one account: the pair is paused */
    SEL_VIOL_DIVERSITY,    /* two active/testing monitors in one /20 or /44: gradual removal */
    SEL_VIOL_ACCOUNT_LIMIT /* more of one account than its limit allows: gradual removal */
};

/* The names stored in server_scores.constraint_violation_type ("" for none). */
const char *sel_violation_str(enum sel_violation v);
/* Parses a stored name; unknown or empty names give SEL_VIOL_NONE. */
enum sel_violation sel_violation_parse(const char *s);
/* True for the violations that cannot change while the pair exists (they pause it). */
bool sel_violation_pauses(enum sel_violation v);

/* True when the monitor's registered address lies in the server's /24 (IPv4) or /48 (IPv6). */
bool sel_same_network(const struct sel_settings *s, const struct netaddr *server, const struct netaddr *monitor);
/* True when two monitors' addresses share a /20 (IPv4) or /44 (IPv6). */
bool sel_same_diversity_network(const struct sel_settings *s, const struct netaddr *a, const struct netaddr *b);
/* The prefix length the diversity rule uses for this address's family. */
int sel_diversity_bits(const struct sel_settings *s, const struct netaddr *a);
/* Whether one more monitor of an account may become `to` (active or testing) on a server where the account's
 * other monitors hold `active` active and `testing` testing pairs; limit X: X active, X+1 testing, X+1 together. */
bool sel_account_allows(int limit, int active, int testing, enum msg_pair_status to);

#endif
