#!/usr/bin/env bash
# The selector against a real MariaDB and mosquitto with the broker-auth plugin (every party with its token): a new server's pairs go candidate → testing → active as
# results arrive (published as the agents would), and every monitor's retained assignment follows each change;
# servers and monitors added or deleted by ntpmonctl while it runs; results for unknown pairs and malformed
# results are skipped; `simulate` writes nothing; `once` applies and publishes; seq grows across restarts.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/common.bash"
h_start_mariadb
sel_start_broker

h_ok "migrate" ctl db migrate
h_is "$(h_sql "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='ntpmon_test' AND table_name='selector_assign'")" 1 "selector_assign table exists"
ctl account add pool >/dev/null
for i in 1 2 3 4; do
    ctl account add "acct$i" >/dev/null
    ctl monitor add --name "m$i" --account "acct$i" --ip4 "198.51.$((16 * i)).7" --status active >/dev/null
done
ctl account add acct5 >/dev/null
ctl monitor add --name m5 --account acct5 --ip6 2001:db8:5::7 --status active >/dev/null # no pair with IPv4 servers
ctl settings set selector "{\"active_target\":3,\"testing_target\":3,$SEL_FAST}" >/dev/null
S=$(ctl server add 192.0.2.10 --account pool | awk '{print $2}')
h_is "$(sel_count_status "$S" candidate)" 4 "a new server's pairs start as candidates"

sel_watch_selection
MPORT=$(h_free_port tcp)
sel_start selector --metrics-listen "127.0.0.1:$MPORT"
h_wait_ok "assignments published at start: the candidate is probed every 7200 s" 15 sel_assign_is m1 "$S" candidate
h_unlike "$(h_log selector)" "anonymously|refused|not authori" "the selector logs in with its token (role selector) and may publish"
h_is "$(sel_assign_field m3 "$S" interval_s)" 7200 "candidate interval"
h_is "$(sel_assign_field m3 "$S" samples)" 3 "samples per probe"
h_is "$(sel_count_status "$S" candidate)" 4 "without results nothing changes (too few monitors with data)"

# First results: bootstrap moves the candidates with data to testing (no result minimum). The four monitors'
# results reach the selector in no fixed order, and a review may run between them (then bootstrap sees only some,
# and the others, with 3 results, stay candidates): so the review is driven. Reviews are put off (a review without
# changes schedules the next an hour later), the results are published, and only once the selector has counted
# all 12 is the server made due again.
# settings_applied N: the selector's latest settings line has review_after_nochange_s N (it re-reads every second)
settings_applied() { grep "info: settings: " "$H_TMP/selector.log" | tail -1 | grep -q "\"review_after_nochange_s\":$1,"; }
ctl settings set selector "{\"active_target\":3,\"testing_target\":3,$SEL_FAST,\"review_after_nochange_s\":3600}" >/dev/null
h_wait_ok "the selector takes the new settings" 20 settings_applied 3600
put_off() { [ "$(h_sql "SELECT next_review > UTC_TIMESTAMP() + INTERVAL 1000 SECOND FROM servers_monitor_review WHERE server_id = $S")" = 1 ]; }
h_wait_ok "reviews put off (a review under the new settings ran)" 20 put_off
for i in 1 2 3 4; do sel_results "m$i" "$S" 192.0.2.10 3; done
h_wait_ok "the selector counted all 12 results" 20 sel_metric_is "$MPORT" 'ntpmon_selector_results_total{outcome="added"}' 12
h_is "$(sel_count_status "$S" candidate)" 4 "no review ran meanwhile"
ctl settings set selector "{\"active_target\":3,\"testing_target\":3,$SEL_FAST}" >/dev/null
h_wait_ok "the selector takes the fast settings back" 20 settings_applied 1 # before any review can use the hour
h_sql "UPDATE servers_monitor_review SET next_review = UTC_TIMESTAMP() WHERE server_id = $S"
h_wait_ok "candidates become testing as results arrive" 20 sel_count_is "$S" testing 4
h_is "$(sel_count_status "$S" candidate)" 0 "no candidate left"
h_wait_ok "the retained assignment follows: testing" 10 sel_assign_is m2 "$S" testing
h_is "$(sel_assign_field m2 "$S" interval_s)" 2700 "testing interval"
h_wait_ok "status/selection explains the change" 10 grep -q "bootstrap: no testing monitor" "$H_TMP/selection-watch.log"
h_like "$(grep "/selection/$S " "$H_TMP/selection-watch.log" | head -1)" '"from":"candidate","to":"testing"' "selection message names from and to"

# 32 results in the window: testing → active, up to the target of 3.
for i in 1 2 3 4; do sel_results "m$i" "$S" 192.0.2.10 32; done
h_wait_ok "testing monitors become active once they have 32 results" 20 sel_count_is "$S" active 3
h_is "$(sel_count_status "$S" active)" 3 "three active (the target)"
h_is "$(sel_count_status "$S" testing)" 1 "one left testing"
active_mon=$(h_sql "SELECT m.name FROM server_scores ss JOIN monitors m ON m.id=ss.monitor_id WHERE ss.server_id=$S AND ss.status='active' ORDER BY m.id LIMIT 1")
h_wait_ok "the retained assignment follows: active" 10 sel_assign_is "$active_mon" "$S" active
h_is "$(sel_assign_field "$active_mon" "$S" interval_s)" 540 "active interval of a globally active monitor"
h_like "$(h_sql "SELECT last_change IS NOT NULL, next_review > last_review FROM servers_monitor_review WHERE server_id=$S")" "^1	1$" "review schedule recorded"

# A server added while the selector runs: the rescan puts it into every work list.
S2=$(ctl server add 192.0.2.20 --account pool | awk '{print $2}')
h_wait_ok "a server added by ntpmonctl reaches the assignments" 10 sel_assign_is m1 "$S2" candidate
seq_before=$(sel_assign_seq m1)
ctl server delete "$S2" >/dev/null
h_wait_ok "a deleted server leaves the assignments" 10 sel_assign_is m1 "$S2" none
h_num_between "$(sel_assign_seq m1)" "$((seq_before + 1))" 99999999999999 "seq grows with every publish"

# Results nobody should count: unknown server, unknown monitor, wrong JSON, topic/payload mismatch.
sel_results m1 999999 192.0.2.99 2
sel_results nosuch "$S" 192.0.2.10 2
sel_results m5 "$S" 192.0.2.10 40 # a known monitor and server without a pair
sel_raw "results/$S/m1" '{"v":1,"id":'
sel_raw "results/$S/m2" "$(sel_gen m1 "$S" 192.0.2.10 1)"
h_wait_ok "unknown server skipped" 10 grep -q "results/999999/m1: unknown server" "$H_TMP/selector.log"
h_wait_ok "unknown monitor skipped" 10 grep -q "results/$S/nosuch: unknown or deleted monitor" "$H_TMP/selector.log"
h_wait_ok "malformed result skipped with a reason" 10 grep -q "skipping a result on ntpmon/test/results/$S/m1: invalid JSON" "$H_TMP/selector.log"
h_wait_ok "a result under another monitor's name skipped" 10 grep -q "skipping a result on ntpmon/test/results/$S/m2: .*monitor" "$H_TMP/selector.log"
h_ok "the selector is still running" h_alive selector
h_is "$(h_sql "SELECT COUNT(*) FROM server_scores WHERE server_id=999999")" 0 "no pair invented for an unknown server"
h_is "$(h_sql "SELECT COUNT(*) FROM server_scores ss JOIN monitors m ON m.id=ss.monitor_id WHERE m.name='m5'")" 0 "nor for a monitor/server without a pair"
h_is "$(sel_assign_count m5)" 0 "and no work for it"

# A monitor deleted mid-run: its pairs leave at once and its work list empties.
ctl monitor set-status "$active_mon" deleted >/dev/null
h_wait_ok "a deleted monitor's active pair goes back to candidate" 15 sel_status_is "$S" "$active_mon" candidate
assign_empty() { [ "$(sel_assign_count "$1")" = 0 ]; }
h_wait_ok "its assignment is emptied" 10 assign_empty "$active_mon"
h_wait_ok "the remaining testing monitor replaces it" 15 sel_count_is "$S" active 3
h_wait_ok "the block is explained" 10 grep -q "monitor is globally deleted" "$H_TMP/selection-watch.log"

# simulate and once read the statistics from log_scores (the daemon keeps them from the stream): the scorer's
# rows, inserted here as its fixture.
for m in m2 m3 m4; do sel_log_scores "$S" "$m" 35; done
# simulate: the table and the changes, nothing written.
before=$(h_sql "SELECT GROUP_CONCAT(CONCAT_WS(':', monitor_id, status, IFNULL(constraint_violation_type,'')) ORDER BY monitor_id) FROM server_scores WHERE server_id=$S")
sim=$(sel_selector simulate 192.0.2.10 2>&1)
h_like "$sim" "monitor +id +global +status +count +avg_step +rtt_ms +priority +healthy +constraint" "simulate prints the table header"
h_like "$sim" "m[2-4] +[0-9]+ +active +active +35 +1\.000 +20\.0 +20 +yes +- +in" "simulate prints count, step, rtt, priority, health, constraint"
h_like "$sim" "$active_mon +[0-9]+ +deleted +candidate +0 " "and the pairs without results"
h_like "$sim" "changes a review would make now" "simulate lists the changes"
h_is "$(h_sql "SELECT GROUP_CONCAT(CONCAT_WS(':', monitor_id, status, IFNULL(constraint_violation_type,'')) ORDER BY monitor_id) FROM server_scores WHERE server_id=$S")" "$before" "simulate wrote nothing"
out=$(sel_selector simulate 192.0.2.99 2>&1); rc=$?
h_is "$rc" 1 "simulate of an unknown server exits 1"
h_like "$out" "no server 192.0.2.99" "with a clear message"

# Restart: every assignment is published again, with a higher seq (also across the restart).
seq_before=$(sel_assign_seq m2)
h_stop selector
h_is "$?" 0 "SIGTERM stops the selector cleanly (exit 0)"
h_like "$(h_log selector)" "stopped" "it says so"
sel_start selector2
seq_above() { local s; s=$(sel_assign_seq "$1"); [ -n "$s" ] && [ "$s" -gt "$2" ]; }
h_wait_ok "assignments republished after a restart with a higher seq" 10 seq_above m2 "$seq_before"
h_is "$(h_sql "SELECT COUNT(*) FROM selector_assign")" 5 "every published assignment is recorded (one row per monitor)"
h_stop selector2

# once: applies a pending change and publishes the affected assignment.
ctl monitor set-status m2 paused >/dev/null
was=$(sel_status "$S" m2)
out=$(sel_selector once 192.0.2.10 2>&1); rc=$?
h_is "$rc" 0 "once exits 0"
h_like "$out" "m2 +$was -> candidate +monitor is globally paused" "once prints the change and why"
h_like "$out" "published [1-9][0-9]* assignment" "once publishes the changed assignments"
h_is "$(sel_status "$S" m2)" candidate "once applied the change"
h_is "$(sel_assign_count m2)" 0 "the paused monitor's assignment is empty"
out=$(sel_selector once 192.0.2.77 2>&1); rc=$?
h_is "$rc" 1 "once with an unknown server exits 1"
h_like "$out" "no server 192.0.2.77" "with a clear message"
out=$(sel_selector --setting active_target=0 simulate "$S" 2>&1); rc=$?
h_is "$rc" 2 "a bad --setting exits 2"
h_like "$out" "selector.active_target must be between 1 and 1000" "naming the setting"
h_done
