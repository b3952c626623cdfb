#!/usr/bin/env bash
# One assign message per monitor per review round (issue 18): a round that reviews three servers one batch at a
# time (review_batch 1) and moves every monitor's three pairs to testing publishes each monitor's changed work
# list once, at its end — counted by a subscriber on the assign topics — and says so in its log line and metrics
# (messages and payload bytes, the bytes matching what the subscriber got). A round that changes nothing
# publishes nothing (the lists are byte-identical to the last ones).
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/common.bash"
h_start_mariadb
sel_start_broker
sel_fixture 4
# Reviews without changes come back after an hour, so nothing is reviewed until the test makes it due.
ctl settings set selector "{\"active_target\":3,\"testing_target\":4,$SEL_FAST,\"review_after_nochange_s\":3600,\"review_after_change_s\":3600,\"review_batch\":1,\"assign_min_interval_s\":2}" >/dev/null
S=()
for i in 1 2 3; do S+=("$(ctl server add "192.0.2.$((40 + i))" --account pool | awk '{print $2}')"); done

MPORT=$(h_free_port tcp)
sel_start selector --metrics-listen "127.0.0.1:$MPORT"
h_wait_ok "the first assignments are published" 15 sel_assign_is m4 "${S[2]}" candidate
put_off() { [ "$(h_sql "SELECT COUNT(*) FROM servers_monitor_review WHERE next_review > UTC_TIMESTAMP() + INTERVAL 1000 SECOND")" = 3 ]; }
h_wait_ok "every server reviewed once and put off (no results: no change)" 20 put_off
h_is "$(sel_count_status "${S[0]}" candidate)" 4 "nothing changed yet"
for i in 1 2 3 4; do
    for k in 0 1 2; do sel_results "m$i" "${S[$k]}" "192.0.2.$((41 + k))" 3; done
done
h_wait_ok "the selector counted all 36 results" 20 sel_metric_is "$MPORT" 'ntpmon_selector_results_total{outcome="added"}' 36

# The subscriber: retained messages first (flag 1, proof that it is subscribed), then the live ones (flag 0).
h_spawn assign-watch mosquitto_sub -h 127.0.0.1 -p "$H_MQTT_PORT" -u admin -P "$SEL_ADMIN" -t "ntpmon/$SEL_ENV/monitors/+/assign" -F '%r %t %l'
retained_seen() { [ "$(grep -c '^1 ' "$H_TMP/assign-watch.log")" -ge 4 ]; }
h_wait_ok "the subscriber has the four retained assignments" 15 retained_seen
rounds_before=$(sel_metric "$MPORT" ntpmon_selector_review_rounds_total)
h_sql "UPDATE servers_monitor_review SET next_review = UTC_TIMESTAMP()"
all_testing() { local s; for s in "${S[@]}"; do sel_count_is "$s" testing 4 || return 1; done; }
h_wait_ok "one round moves the four monitors to testing on all three servers" 20 all_testing
round_done() { grep -q "round: 3 servers reviewed, 4 assign messages" "$H_TMP/selector.log"; }
h_wait_ok "the round's log line: 3 servers, 4 assign messages" 20 round_done
lists_follow() { local i; for i in 1 2 3 4; do sel_assign_is "m$i" "${S[2]}" testing && sel_assign_is "m$i" "${S[0]}" testing || return 1; done; }
h_wait_ok "every retained list has the new statuses" 10 lists_follow
live_is() { [ "$(grep -c '^0 ' "$H_TMP/assign-watch.log")" = "$1" ]; }
h_wait_ok "the subscriber got four live assign messages" 10 live_is 4
for i in 1 2 3 4; do
    h_is "$(grep -c "^0 ntpmon/$SEL_ENV/monitors/m$i/assign " "$H_TMP/assign-watch.log")" 1 "m$i: one message for three changed pairs"
done
bytes=$(awk '$1 == 0 { b += $3 } END { print b + 0 }' "$H_TMP/assign-watch.log")
h_like "$(grep "round: 3 servers reviewed" "$H_TMP/selector.log")" "4 assign messages, $bytes bytes" "the round's bytes are the payload bytes the subscriber got"
h_is "$(sel_metric "$MPORT" ntpmon_selector_round_assign_messages)" 4 "metric: messages of the last round"
h_is "$(sel_metric "$MPORT" ntpmon_selector_round_assign_bytes)" "$bytes" "metric: bytes of the last round"
h_num_between "$(sel_metric "$MPORT" ntpmon_selector_review_rounds_total)" "$((rounds_before + 1))" 1000 "metric: rounds"
h_is "$(h_sql "SELECT COUNT(*) FROM selector_assign")" 4 "selector_assign keeps one row per monitor"
seqs_match() {
    local i seq
    for i in 1 2 3 4; do
        seq=$(sel_assign_seq "m$i")
        [ "$(h_sql "SELECT a.seq FROM selector_assign a JOIN monitors m ON m.id = a.monitor_id WHERE m.name = 'm$i'")" = "$seq" ] || return 1
    done
}
h_wait_ok "selector_assign records the seq of each retained list" 10 seqs_match

# A round without changes: nothing published.
h_sql "UPDATE servers_monitor_review SET next_review = UTC_TIMESTAMP() WHERE server_id = ${S[1]}"
h_wait_ok "a round that changes nothing: 0 assign messages" 20 grep -q "round: 1 servers reviewed, 0 assign messages, 0 bytes" "$H_TMP/selector.log"
h_is "$(grep -c '^0 ' "$H_TMP/assign-watch.log")" 4 "no assign message for unchanged lists"
h_stop assign-watch
h_stop selector
h_done
