#!/usr/bin/env bash
# Two scorers split the servers with --shard 0/2 and 1/2 (the second subscribing per server with --shard-topics):
# each scores only its own servers, together every result exactly once, the same as one scorer (replay) would;
# the first pays for its wildcard subscription by receiving and dropping the other shard's results, the second
# never receives them.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/scorer-lib.bash"
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
scored_total() { [ "$(h_sql 'SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL')" -ge "$1" ]; }

ctl db migrate >/dev/null
ctl account add ops >/dev/null
mons=""
for m in 1 2 3; do
    ctl monitor add --name "m$m" --account ops --ip4 "203.0.113.$m" --status active >/dev/null
    mons="$mons,m$m=$(h_sql "SELECT id FROM monitors WHERE name='m$m'")"
done
servers=""
for i in 1 2 3 4 5 6; do
    ctl server add "192.0.2.$i" --account ops >/dev/null
    servers="$servers,$(h_sql "SELECT id FROM servers WHERE ip='192.0.2.$i'")"
done
h_sql "UPDATE server_scores SET status = 'active'"
py gen "$H_TMP" --servers "${servers#,}" --monitors "${mons#,}" --statuses m1=active,m2=active,m3=active \
    --rounds 16 --start-ts $(( $(date +%s) - 16 * 300 - 300 )) --seed 3
total=$(wc -l <"$H_TMP/stream.jsonl")
even=$(grep -c '"server_id":[0-9]*[02468],' "$H_TMP/stream.jsonl")

p0=$(h_free_port); p1=$(h_free_port)
h_spawn shard0 env MQTT_TOKEN="$SCORER_TOKEN" "$H_BIN/ntpmon-scorer" -e test --shard 0/2 --metrics-listen "127.0.0.1:$p0"
h_spawn shard1 env MQTT_TOKEN="$SCORER_TOKEN" "$H_BIN/ntpmon-scorer" -e test --shard 1/2 --shard-topics --metrics-listen "127.0.0.1:$p1"
h_wait_ok "shard 0 connects" 10 grep -q "connected to the broker" "${H_LOG[shard0]}"
h_wait_ok "shard 1 connects" 10 grep -q "connected to the broker" "${H_LOG[shard1]}"
h_like "$(h_log shard0)" "shard 0/2: 3 servers" "shard 0 takes the even ids"
h_like "$(h_log shard1)" "shard 1/2: 3 servers" "shard 1 takes the odd ids"
h_ok "stream published" env MQTT_TOKEN="$FEED_TOKEN" "$H_BIN/result-feed" "$MQTT_URL" --env test --input "$H_TMP/stream.jsonl"
h_wait_ok "every result scored" 30 scored_total "$total"

h_is "$(h_sql 'SELECT COUNT(DISTINCT result_id) FROM log_scores WHERE monitor_id IS NOT NULL')" "$total" "each exactly once"
h_is "$(metric "$p0" ntpmon_scorer_results_scored_total)" "$even" "shard 0 scored the even servers' results"
h_is "$(metric "$p1" ntpmon_scorer_results_scored_total)" "$((total - even))" "shard 1 scored the odd servers' results"
h_is "$(metric "$p0" ntpmon_scorer_results_other_shard_total)" "$((total - even))" "shard 0 received and dropped the rest (wildcard)"
h_is "$(metric "$p1" ntpmon_scorer_results_other_shard_total)" 0 "shard 1 never received another shard's result (per-server topics)"
h_unlike "$(h_log shard0; h_log shard1)" "cannot be stored|Duplicate" "no shard touched the other's servers"

"$H_BIN/ntpmon-scorer" replay <"$H_TMP/stream.jsonl" >"$H_TMP/replay.json" 2>/dev/null
h_sql "SELECT IF(monitor_id IS NULL, 'overall', 'monitor'), result_id, step, score,
       IFNULL(JSON_VALUE(attributes, '\$.status'), '') FROM log_scores ORDER BY id" >"$H_TMP/db.tsv"
h_ok "together they wrote what one scorer would" py compare "$H_TMP/replay.json" "$H_TMP/db.tsv" --unordered

# a server added while running: the per-server subscriber picks it up at its next reload
h_stop shard1
h_spawn shard1 env MQTT_TOKEN="$SCORER_TOKEN" "$H_BIN/ntpmon-scorer" -e test --shard 1/2 --shard-topics --reload-interval 0.5
h_wait_ok "shard 1 reconnects" 10 bash -c "grep -c 'connected to the broker' '${H_LOG[shard1]}' | grep -qx 2"
ctl server add 192.0.2.7 --account ops >/dev/null
new=$(h_sql "SELECT id FROM servers WHERE ip='192.0.2.7'")
h_sql "UPDATE server_scores SET status = 'active' WHERE server_id = $new"
shard=$(( new % 2 ))
h_diag "new server $new belongs to shard $shard"
seen_new() {
    local r; r=$(py one "$new" m1 10 0.001 active)
    echo "$r" | MQTT_TOKEN=$FEED_TOKEN "$H_BIN/result-feed" "$MQTT_URL" --env test >/dev/null
    h_wait 3 bash -c "[ \"\$(mariadb --no-defaults -S '$H_DB_SOCK' -uroot -N -B ntpmon_test -e \"SELECT COUNT(*) FROM log_scores WHERE server_id = $new\")\" -gt 0 ]"
}
h_wait_ok "a new server's results are scored by its shard" 20 seen_new
h_stop shard0; h_is "$?" 0 "shard 0 stops cleanly"
h_stop shard1; h_is "$?" 0 "shard 1 stops cleanly"
h_done
