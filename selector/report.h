/* report.h — human-readable output of a review: the monitor table `simulate` prints (count, average step, rtt,
 * priority, health, constraint state, recommendation) and the list of changes with their reasons. */
#ifndef NTPMON_SELECTOR_REPORT_H
#define NTPMON_SELECTOR_REPORT_H

#include <stdio.h>

#include "review.h"
#include "settings.h"

/* The table of every pair of the reviewed server, in the order the rules walk them (pairs without results last). */
void report_table(FILE *out, const struct review_outcome *o, const struct sel_settings *cfg);
/* One line per change ("  nl-ams1  testing -> active  promotion to active (…)"), or a line saying there is none. */
void report_changes(FILE *out, const struct review_outcome *o);

#endif
