#!/usr/bin/env bash
# The stored results behind the statistics, loaded lazily (issue 18): the selector connects before reading
# log_scores; a server's rows are read before its first review (here the background loader is off:
# --history-batch 0). Results it got over MQTT before that, and which the table holds too, count once; the numbers
# each pair is judged on equal those of a selector that loaded every row eagerly at start (--load-history eager).
# With the background loader on, every server gets loaded without a review and the log says when.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/common.bash"
h_start_mariadb
sel_start_broker
sel_fixture 2
ctl settings set selector "{\"active_target\":2,\"testing_target\":2,$SEL_FAST,\"review_after_nochange_s\":3600,\"review_after_change_s\":3600}" >/dev/null
S=$(ctl server add 192.0.2.50 --account pool | awk '{print $2}')
S2=$(ctl server add 192.0.2.51 --account pool | awk '{print $2}')
h_sql "UPDATE servers_monitor_review SET next_review = UTC_TIMESTAMP() + INTERVAL 1 DAY"

# m1: 20 results stored (as the scorer would), of which the first 12 also come over MQTT, plus 5 that come only
# over MQTT; 10 more stored rows of m2. S2 has 7 stored rows of m1.
sel_gen m1 "$S" 192.0.2.50 20 >"$H_TMP/stored.jsonl"
sel_lines_to_sql "$S" m1 <"$H_TMP/stored.jsonl" >"$H_TMP/stored.sql"
h_sql "$(cat "$H_TMP/stored.sql")"
sel_log_scores "$S" m2 10 0.5 30000
sel_log_scores "$S2" m1 7
h_is "$(h_sql "SELECT COUNT(*) FROM log_scores")" 37 "37 rows stored"

MPORT=$(h_free_port tcp)
sel_start selector --metrics-listen "127.0.0.1:$MPORT" --history-batch 0 --log-level debug
h_like "$(grep "started:" "$H_TMP/selector.log")" "history lazy" "lazy history is the default"
h_wait_ok "connected before any stored result was read" 10 grep -q "broker connected" "$H_TMP/selector.log"
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_servers_pending)" 2 "metric: both servers pending"
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_servers_loaded)" 0 "metric: none loaded"
head -12 "$H_TMP/stored.jsonl" | sel_pub_as m1 -t "ntpmon/$SEL_ENV/results/$S/m1" -l
sel_gen m1 "$S" 192.0.2.50 5 >"$H_TMP/streamed.jsonl"
sel_pub_as m1 -t "ntpmon/$SEL_ENV/results/$S/m1" -l <"$H_TMP/streamed.jsonl"
h_wait_ok "17 results from the stream" 20 sel_metric_is "$MPORT" 'ntpmon_selector_results_total{outcome="added"}' 17
h_wait_ok "the statistics hold 17 results" 10 sel_metric_is "$MPORT" ntpmon_selector_stats_entries 17
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_rows_total)" 0 "no stored row read yet"

h_sql "UPDATE servers_monitor_review SET next_review = UTC_TIMESTAMP() WHERE server_id = $S"
h_wait_ok "the review loads the server's stored rows first" 20 sel_metric_is "$MPORT" ntpmon_selector_history_servers_loaded 1
h_wait_ok "the review ran" 20 grep -q "server $S: m1 count" "$H_TMP/selector.log"
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_rows_total)" 30 "30 stored rows of that server read"
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_duplicates_total)" 12 "the 12 that came over MQTT too are repeats"
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_added_total)" 18 "18 added"
h_wait_ok "each result counted once: 35 in the statistics" 10 sel_metric_is "$MPORT" ntpmon_selector_stats_entries 35
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_servers_pending)" 1 "the other server is still pending (no background loading)"
h_like "$(grep "server $S: m1 count" "$H_TMP/selector.log" | head -1)" "m1 count 25 " "m1: 20 stored + 5 only streamed"
lazy=$(grep "server $S: m[12] count" "$H_TMP/selector.log" | head -2 | sed 's/.*debug: //')
h_stop selector

# The eager selector on the same rows: the 5 streamed-only results are stored by now (the scorer's job).
h_sql "$(sel_lines_to_sql "$S" m1 <"$H_TMP/streamed.jsonl")"
sel_start eager --metrics-listen "127.0.0.1:$MPORT" --load-history eager --log-level debug
h_like "$(grep "started:" "$H_TMP/eager.log")" "history eager: 42 results" "eager: every stored row before connecting"
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_servers_pending)" 0 "eager: no server pending"
h_sql "UPDATE servers_monitor_review SET next_review = UTC_TIMESTAMP() WHERE server_id = $S"
h_wait_ok "the eager selector reviews the server" 20 grep -q "server $S: m1 count" "$H_TMP/eager.log"
eager=$(grep "server $S: m[12] count" "$H_TMP/eager.log" | head -2 | sed 's/.*debug: //')
h_is "$lazy" "$eager" "lazy and eager history judge the pairs on the same numbers"
h_stop eager

# The background loader (the default): every server loaded without a review, and the log says when.
h_sql "UPDATE servers_monitor_review SET next_review = UTC_TIMESTAMP() + INTERVAL 1 DAY"
sel_start background --metrics-listen "127.0.0.1:$MPORT" --history-batch 1
h_wait_ok "the background loader reaches every server" 20 grep -q "history: all 2 servers loaded" "$H_TMP/background.log"
h_wait_ok "metric: none pending" 10 sel_metric_is "$MPORT" ntpmon_selector_history_servers_pending 0
h_is "$(sel_metric "$MPORT" ntpmon_selector_history_rows_total)" 42 "every stored row read once"
h_wait_ok "and held once" 10 sel_metric_is "$MPORT" ntpmon_selector_stats_entries 42
h_is "$(sel_metric "$MPORT" ntpmon_selector_reviews_total)" 0 "without any review"
h_stop background
out=$("$H_BIN/ntpmon-selector" --load-history sometimes run 2>&1); rc=$?
h_is "$rc" 2 "a bad --load-history exits 2"
h_like "$out" "invalid --load-history 'sometimes'" "naming the flag"
h_done
