#!/usr/bin/env bash
# MariaDB stopped for 30 s in the middle of a 100 000-result run: ingest holds a bounded batch, stops reading from
# the broker when it is full (the broker queues), retries with backoff, confirms nothing it has not committed, and
# catches up when the database returns: exactly 100 000 rows, every one confirmed.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
ig_start_broker
ig_fixture 4
ig_start_ingest ingest --max-held 5000 --batch-size 500 || exit 1
ig_publish 4 25000 --window 2000 --resend-timeout 10s --deadline 240s
h_wait 120 sh -c "test \$(mariadb --no-defaults -S '$H_DB_SOCK' -uroot -N -B ntpmon_test -e 'SELECT COUNT(*) FROM results') -ge 30000"
h_stop_mariadb
t_stop=$(date +%s)
h_diag "MariaDB stopped"
h_wait_ok "ingest holds what it has and pauses reading" 20 grep -q 'reading paused until the database is back' "$H_TMP/ingest.log"
h_wait_ok "the summary line says the database is failing" 20 grep -q 'database failing' "$H_TMP/ingest.log"
# The outage lasts 30 s by design (the scenario), measured from the stop.
h_wait 40 sh -c "test \$(date +%s) -ge $((t_stop + 30))"
h_ok "ingest is still running after 30 s without its database" h_alive ingest
h_restart_mariadb || { echo "# MariaDB did not come back"; exit 1; }
h_diag "MariaDB back after $(( $(date +%s) - t_stop )) s"
h_wait_ok "ingest reports the database recovered" 30 grep -q 'database writes recovered' "$H_TMP/ingest.log"
h_wait_ok "reading resumes" 30 grep -q 'reading resumed' "$H_TMP/ingest.log"
ig_wait_publishers 4 240
ig_check_exact 4 100000
held=$(grep -o 'held [0-9]*' "$H_TMP/ingest.log" | awk '{ if ($2 > m) m = $2 } END { print m + 0 }')
h_num_between "$held" 1 6500 "ingest never held more than --max-held plus one batch (most: $held)"
h_diag "re-sent by the publishers: $(ig_sum resent 4)"
h_stop ingest; h_is "$?" 0 "SIGTERM: exits 0"
h_done
