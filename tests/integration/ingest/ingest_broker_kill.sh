#!/usr/bin/env bash
# kill -9 of the broker once during a 100 000-result run: mosquitto restarts from its persistence file, ingest and
# the publishers reconnect (persistent sessions), the publishers re-send everything unconfirmed after their
# reconnect, and the end state is exactly 100 000 rows, every one confirmed.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
ig_start_broker
ig_fixture 4
ig_start_ingest ingest || exit 1
# a re-send timeout of seconds turns into a re-send storm when confirmations lag under load (each publisher
# re-sends its whole window every few seconds): 20 s still re-sends what a kill lost, without the storm
ig_publish 4 25000 --window 2000 --resend-timeout 20s --deadline 480s
h_wait 120 sh -c "test \$(mariadb --no-defaults -S '$H_DB_SOCK' -uroot -N -B ntpmon_test -e 'SELECT COUNT(*) FROM results') -ge 40000"
h_stop mosquitto KILL
h_diag "killed the broker at $(h_sql 'SELECT COUNT(*) FROM results') rows"
h_restart_mosquitto
h_wait_ok "ingest reconnects to the restarted broker" 30 sh -c "test \$(grep -c 'mqtt: connected' '$H_TMP/ingest.log') -ge 2"
ig_wait_publishers 4 480
ig_check_exact 4 100000
h_like "$(ig_sum resent 4)" "^[1-9]" "the publishers re-sent after reconnecting"
h_diag "re-sent by the publishers: $(ig_sum resent 4); confirmed twice: $(ig_sum dup_confirms 4)"
h_ok "ingest survived the broker crash" h_alive ingest
h_stop ingest; h_is "$?" 0 "SIGTERM: exits 0"
h_done
