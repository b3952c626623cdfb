#!/usr/bin/env bash
# Two ntpmon-ingest workers share the subscription ($share/ingest/…, each with its own client id): 100 000 results
# from 4 publishers arrive as exactly 100 000 rows, every one confirmed, each written once, and both workers did
# a share of the work.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
ig_start_broker
ig_fixture 4
ig_start_ingest ingest-a || exit 1
ig_start_ingest ingest-b || exit 1
ig_publish 4 25000 --window 2000 --resend-timeout 10s --deadline 240s
ig_wait_publishers 4 240
ig_check_exact 4 100000
h_stop ingest-a; h_is "$?" 0 "worker a: SIGTERM exits 0"
h_stop ingest-b; h_is "$?" 0 "worker b: SIGTERM exits 0"
wa=$(grep 'totals since start' "$H_TMP/ingest-a.log" | sed -n 's/.*written \([0-9]*\).*/\1/p')
wb=$(grep 'totals since start' "$H_TMP/ingest-b.log" | sed -n 's/.*written \([0-9]*\).*/\1/p')
h_diag "worker a wrote $wa rows, worker b $wb"
h_num_between "$wa" 10000 90000 "worker a wrote a share"
h_num_between "$wb" 10000 90000 "worker b wrote a share"
h_is "$((wa + wb))" 100000 "together they wrote each result once"
h_done
