#!/usr/bin/env bash
# The selector's statistics and its failure behaviour against real MariaDB and mosquitto (with broker-auth): statistics loaded from
# log_scores at start and kept from the stream, each result counted once (the stream re-delivers what log_scores
# already holds); a database error in the middle of a review's transaction changes nothing and the next run
# retries (daemon and `once`); a database outage is survived.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/common.bash"
h_start_mariadb
sel_start_broker

sel_fixture 3
ctl settings set selector "{\"active_target\":2,\"testing_target\":1,$SEL_FAST}" >/dev/null
S=$(ctl server add 192.0.2.30 --account pool | awk '{print $2}')
h_sql "UPDATE server_scores SET status = 'testing' WHERE server_id = $S" # as if bootstrapped earlier

# 20 results per monitor, already scored (log_scores) before the selector starts …
for i in 1 2 3; do
    sel_gen "m$i" "$S" 192.0.2.30 20 >"$H_TMP/old-m$i.jsonl"
    h_sql "$(sel_lines_to_sql "$S" "m$i" <"$H_TMP/old-m$i.jsonl")"
done
h_is "$(h_sql "SELECT COUNT(*) FROM log_scores")" 60 "fixture: 60 scored results"
sel_watch_selection
MPORT=$(h_free_port tcp)
sel_start selector --metrics-listen "127.0.0.1:$MPORT"
h_wait_ok "statistics loaded from log_scores (lazily, in the background)" 10 grep -q "history: all 1 servers loaded in .* (60 rows read, 60 added" "$H_TMP/selector.log"
h_is "$(sel_count_status "$S" testing)" 3 "20 results are not enough for active (32)"

# … then the stream re-delivers the same 20 (an agent's spool replay) and brings 15 new ones.
for i in 1 2 3; do
    sel_pub_as "m$i" -t "ntpmon/test/results/$S/m$i" -l <"$H_TMP/old-m$i.jsonl"
done
h_wait_ok "the replayed results arrive and are recognised" 10 sel_metric_is "$MPORT" 'ntpmon_selector_results_total{outcome="duplicate"}' 60
h_is "$(sel_metric "$MPORT" 'ntpmon_selector_results_total{outcome="added"}')" 0 "none of them added"
h_is "$(sel_count_status "$S" testing)" 3 "re-delivered results are not counted twice (still testing)"
for i in 1 2 3; do sel_results "m$i" "$S" 192.0.2.30 15; done
h_wait_ok "35 distinct results: promoted" 15 sel_count_is "$S" active 2
# A review may run while a monitor's 15 new results are still arriving: the reason then names 32–35 results, never
# the 50–55 a doubled count would give.
h_wait_ok "the reason counts each result once" 10 grep -qE "promotion to active \(priority 20, 3[2-5] results\)" "$H_TMP/selection-watch.log"
h_unlike "$(cat "$H_TMP/selection-watch.log")" "(5[0-5]|[6-9][0-9]) results" "no doubled counts"

# A database error in the middle of a review: the first pair's update succeeds, the second fails (a trigger
# stands in for the failure); the transaction rolls back, so the first is not changed either.
m1=$(h_sql "SELECT id FROM monitors WHERE name='m1'")
m2=$(h_sql "SELECT id FROM monitors WHERE name='m2'")
h_sql "DELIMITER //
CREATE TRIGGER inject_failure BEFORE UPDATE ON server_scores FOR EACH ROW
  IF NEW.monitor_id = $m2 AND NEW.status <> OLD.status THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure';
  END IF //
DELIMITER ;"
h_is "$(h_sql "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_name = 'inject_failure'")" 1 "fault injected"
before=$(h_sql "SELECT GROUP_CONCAT(CONCAT(monitor_id, ':', status) ORDER BY monitor_id) FROM server_scores WHERE server_id=$S")
# Both paused in one statement (what `ntpmonctl monitor set-status` writes): a review between two commands would
# apply m1's pause alone.
h_sql "UPDATE monitors SET status = 'paused', deleted_on = NULL WHERE name IN ('m1', 'm2')"
h_wait_ok "the failed review is logged" 15 grep -q "review of server $S failed, nothing changed: .*injected failure" "$H_TMP/selector.log"
h_is "$(h_sql "SELECT GROUP_CONCAT(CONCAT(monitor_id, ':', status) ORDER BY monitor_id) FROM server_scores WHERE server_id=$S")" "$before" "no partial change (m1's update rolled back)"
h_ok "the selector keeps running" h_alive selector
h_sql "DROP TRIGGER inject_failure"
h_wait_ok "the next run retries and applies both" 15 sel_status_is "$S" m2 candidate
h_is "$(sel_status "$S" m1)" candidate "m1 too"
h_wait_ok "the testing monitor takes over" 15 sel_status_is "$S" m3 active

# The same through `once`, the daemon stopped: exit 1, nothing changed; after the fault, once applies.
h_stop selector
ctl monitor set-status m1 active >/dev/null
ctl monitor set-status m2 active >/dev/null
h_sql "UPDATE server_scores SET status = 'active' WHERE server_id = $S AND monitor_id IN ($m1, $m2)"
h_sql "CREATE TRIGGER inject_failure BEFORE UPDATE ON servers_monitor_review FOR EACH ROW
       SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'"
h_is "$(h_sql "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_name = 'inject_failure'")" 1 "fault injected at the end of the transaction"
before=$(h_sql "SELECT GROUP_CONCAT(CONCAT(monitor_id, ':', status) ORDER BY monitor_id) FROM server_scores WHERE server_id=$S")
out=$(sel_selector --no-publish once "$S" 2>&1); rc=$?
h_is "$rc" 1 "once exits 1 when the review's transaction fails"
h_like "$out" "server $S: .*injected failure" "and says why"
h_is "$(h_sql "SELECT GROUP_CONCAT(CONCAT(monitor_id, ':', status) ORDER BY monitor_id) FROM server_scores WHERE server_id=$S")" "$before" "nothing changed"
h_sql "DROP TRIGGER inject_failure"
out=$(sel_selector --no-publish once "$S" 2>&1); rc=$?
h_is "$rc" 0 "once succeeds after the fault"
h_like "$out" "excess active: 3 above target 2" "and applies the pending change"
h_is "$(sel_count_status "$S" active)" 2 "back to the target"

# A database outage while the daemon runs: it logs, keeps taking results, and carries on when the database returns.
sel_start selector2
h_stop_mariadb
sel_results m1 "$S" 192.0.2.30 3
h_wait_ok "the outage is logged" 20 grep -qE "(finding due servers|rescan) failed" "$H_TMP/selector2.log"
h_ok "the selector survives the outage" h_alive selector2
h_restart_mariadb
mark=$(h_sql "SELECT UTC_TIMESTAMP()")
reviewed_after() { [ "$(h_sql "SELECT last_review >= '$mark' FROM servers_monitor_review WHERE server_id = $S")" = 1 ]; }
h_wait_ok "reviews resume when the database is back" 30 reviewed_after
h_stop selector2
h_is "$?" 0 "clean stop"
h_done
