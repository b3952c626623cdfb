/* guard.h — the mass-outage guard's rule (DESIGN.md §9), pure: no I/O, no clock. When a server's overall score
 * would take it out of the pool while it still answers at least one monitor and its zone is losing servers en
 * masse, it is held in the pool. Inputs: what the score says, the server's membership and hold, how many monitors
 * it answers, its zone's counts (from the database in the service, from the stream in replay) and the settings;
 * output: follow the score, hold, keep holding, release or leave, with a reason. The engine asks through its
 * pool hook (engine.h); the service and replay implement that hook with this rule, so both decide alike. */
#ifndef NTPMON_SCORER_GUARD_H
#define NTPMON_SCORER_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "guardconf.h"

#define GUARD_REASON_LEN 128 /* fits msg_server_status.reason */

/* The zone's other servers (never the one being decided), as of now. */
struct guard_counts {
    int in_pool;       /* in the pool, held ones included */
    int held;          /* held in the pool */
    int left;          /* out of the pool, having left within the answer window */
    int recovered;     /* in the pool again after a hold that ended by recovery within the answer window */
    int at_risk;       /* in the pool, not held, but at least half of its monitors get no good answer: would leave */
    int removed_today; /* left the pool since 00:00 UTC (any of them, in or out now) */
    bool released;     /* an operator released the zone's holds within the answer window: hold none */
};

enum guard_verdict {
    GUARD_FOLLOW,  /* no say: membership follows the score */
    GUARD_HOLD,    /* the score says out; held in the pool from now */
    GUARD_KEEP,    /* held, and stays held */
    GUARD_RELEASE, /* held, the score says in again: in the pool, no longer held */
    GUARD_LEAVE,   /* held, the hold ends: out of the pool */
};

struct guard_input {
    bool score_in;         /* the score's decision: overall score ≥ the threshold and not deleted */
    bool in_pool;          /* membership now (a held server is in) */
    int64_t held_since_us; /* 0: not held */
    const char *zone;      /* NULL or "": none (never held) */
    bool deleted;
    int answering;         /* monitors whose latest result within the answer window is a good answer */
    struct guard_counts counts;
    int64_t now_us;
};

struct guard_decision {
    enum guard_verdict verdict;
    bool in_pool;   /* membership after the decision */
    bool held;      /* held after the decision */
    char reason[GUARD_REASON_LEN];
    /* the zone as the rule saw it, this server included (as leaving when it would leave) */
    int zone_in_pool, zone_leaving, zone_event, zone_base;
    double zone_fraction;
};

/* Decides one server (see the verdicts). */
void guard_decide(const struct guard_settings *g, const struct guard_input *in, struct guard_decision *out);
/* True when the zone is losing servers en masse with this server counted as leaving (the decision's zone figures
 * are filled either way). */
bool guard_zone_in_event(const struct guard_settings *g, const struct guard_counts *c, int64_t now_us,
                         struct guard_decision *fig);
/* "held", "released", …: the verdict's name in logs and replay output. */
const char *guard_verdict_name(enum guard_verdict v);

/* How many monitors server s answers at now_us: each monitor's latest row with ts ≤ now within the window, without
 * error and with a positive step (a good answer). Their ids go to ids[0..max) when ids is not NULL. */
int guard_answering(const struct eng *e, const struct eng_server *s, int64_t now_us, int64_t window_us,
                    int64_t *ids, size_t max);

/* Where the zone's counts come from (the database in the service, the replayed stream in replay): fills c with
 * the zone's servers other than s, as of now. 0, or -1 when they cannot be had (the decision is then void). */
typedef int (*guard_count_fn)(void *arg, const struct eng_server *s, int64_t now_us, struct guard_counts *c);

/* The engine's pool hook in full: the rule for server s at now_us given what its score says, with its answers
 * from its pairs and its zone's counts from `count` (asked only when they matter), and the decision applied to
 * s's guard state (held_since, left, recovered). Up to max_ids answering monitors go to ids. 0, or -1 when the
 * counts failed (s unchanged; out says FOLLOW). */
int guard_apply(const struct guard_settings *g, const struct eng *e, struct eng_server *s, bool score_in,
                int64_t now_us, guard_count_fn count, void *arg, int64_t *ids, size_t max_ids,
                struct guard_decision *out);

/* The per-server state the counts are made of (what servers.in_pool/held_since/pool_left_at/hold_recovered_at
 * hold in the database). */
struct guard_member {
    bool in_pool;
    int64_t held_since_us, left_us, recovered_us; /* 0: none */
    bool at_risk; /* see guard_at_risk */
};
/* One monitor's latest result within the window: whether it was a good answer (no error, positive step). */
struct guard_tally {
    int monitors, good;
};
/* True when the tally says the server would leave: it has monitors reporting, and at least half of them got no
 * good answer on their latest result. */
bool guard_tally_at_risk(const struct guard_tally *t);
/* The tally of server s at now_us from its pairs (as guard_answering counts). */
void guard_tally_server(const struct eng_server *s, int64_t now_us, int64_t window_us, struct guard_tally *t);
/* Adds one of the zone's other servers to the counts, as of now. */
void guard_count(const struct guard_settings *g, const struct guard_member *m, int64_t now_us, struct guard_counts *c);
/* The start of now's UTC day (removals "today" count from here). */
int64_t guard_day_start(int64_t now_us);

#endif
