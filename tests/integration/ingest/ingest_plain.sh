#!/usr/bin/env bash
# ntpmon-ingest with real mosquitto and MariaDB: 100 000 results from 4 publishers (each keeps and re-sends what is
# unconfirmed, as the agent does) arrive as exactly 100 000 rows, every one confirmed; the summary line and the
# Prometheus metrics report them; SIGTERM exits 0.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
ig_start_broker
ig_fixture 4
MPORT=$(h_free_port tcp)
ig_start_ingest ingest1 --metrics-listen "127.0.0.1:$MPORT" || exit 1
t0=$(date +%s%N)
ig_publish 4 25000 --window 2000 --resend-timeout 10s --deadline 240s
ig_wait_publishers 4 240
h_diag "100000 results end to end in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ig_check_exact 4 100000
h_is "$(h_sql "SELECT COUNT(DISTINCT monitor_id), COUNT(DISTINCT server_id) FROM results")" "4	10" "rows of every monitor and server"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE error='timeout' AND \`offset\` IS NULL")" \
     "$(h_sql "SELECT COUNT(*) FROM results WHERE error<>''")" "timeouts stored without an offset"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE JSON_LENGTH(samples) <> 3")" 0 "every row keeps its 3 samples"
h_wait_ok "summary line counts 100000 received" 10 grep -qE 'written [1-9]' "$H_TMP/ingest1.log"
metrics=$(curl -s "http://127.0.0.1:$MPORT/metrics")
h_like "$metrics" $'\nntpmon_ingest_written_total 100000' "metrics: 100000 written"
h_like "$metrics" $'\nntpmon_ingest_received_total 100000' "metrics: 100000 received"
h_like "$metrics" $'\nntpmon_ingest_held 0' "metrics: nothing held"
h_is "$(curl -s "http://127.0.0.1:$MPORT/healthz")" ok "healthz: ok"
h_stop ingest1; h_is "$?" 0 "SIGTERM: exits 0"
written=$(grep 'totals since start' "$H_TMP/ingest1.log" | sed -n 's/.*written \([0-9]*\).*/\1/p')
h_is "$written" 100000 "final summary: 100000 written"
h_done
