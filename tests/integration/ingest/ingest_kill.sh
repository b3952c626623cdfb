#!/usr/bin/env bash
# kill -9 of ntpmon-ingest three times during a 100 000-result run: the persistent session keeps what the broker
# still holds, the publishers re-send whatever was not confirmed, and the end state is exactly 100 000 rows, every
# one confirmed (replays are stored once and confirmed again).
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
ig_start_broker
ig_fixture 4
ig_start_ingest ingest || exit 1
# a re-send timeout of seconds turns into a re-send storm when confirmations lag under load (each publisher
# re-sends its whole window every few seconds): 20 s still re-sends what a kill lost, without the storm
ig_publish 4 25000 --window 2000 --resend-timeout 20s --deadline 480s
rows() { h_sql 'SELECT COUNT(*) FROM results'; }
for at in 20000 45000 70000; do
    h_wait 120 sh -c "test \$(mariadb --no-defaults -S '$H_DB_SOCK' -uroot -N -B ntpmon_test -e 'SELECT COUNT(*) FROM results') -ge $at"
    h_stop ingest KILL
    h_diag "killed ingest at $(rows) rows"
    ig_start_ingest ingest || exit 1
done
ig_wait_publishers 4 480
ig_check_exact 4 100000
h_like "$(ig_sum resent 4)" "^[1-9]" "the publishers had to re-send (the kills lost acknowledged but uncommitted messages)"
h_diag "re-sent by the publishers: $(ig_sum resent 4); confirmed twice: $(ig_sum dup_confirms 4)"
h_is "$(grep -c 'session resumed' "$H_TMP/ingest.log")" 3 "each restart resumed the broker session"
h_stop ingest; h_is "$?" 0 "SIGTERM: exits 0"
h_done
