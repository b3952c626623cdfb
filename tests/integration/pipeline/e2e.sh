#!/usr/bin/env bash
# The whole pipeline end to end with real processes (broker + plugin, MariaDB, three agents, ingest, scorer, selector,
# token service, chronyd and fake NTP servers, intervals shrunk by settings and flags): a server added while
# everything runs goes candidate → testing → active, its score rises above 10 and status/servers/<id> says in_pool;
# the 120 ms server and the RATE server settle where the step table puts them; ntpmonctl log prints their CSV; the
# web UI's ad-hoc check answers; every daemon serves /metrics and /healthz and exits 0 on SIGTERM.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/../../lib/pipeline.sh"
P_SERVERS="127.0.0.3 127.0.0.4"
p_stack
E=ntpmon/test
watch_tok=$(h_token watcher e2e 1h)
h_spawn watch stdbuf -oL mosquitto_sub -V mqttv5 -p "$H_MQTT_PORT" -u watch-e2e -P "$watch_tok" -q 1 -v -t "$E/status/#"
h_wait 10 h_alive watch

# ---- a new server ----
h_ok "ntpmonctl server add while the pipeline runs" "$H_BIN/ntpmonctl" server add 127.0.0.2 --account pool-operators --allow-local
id=$(h_sql "SELECT id FROM servers WHERE ip = '127.0.0.2'")
h_is "$(h_sql "SELECT GROUP_CONCAT(DISTINCT status) FROM server_scores WHERE server_id = $id")" candidate \
    "its pairs start as candidates"
admin=$(h_token admin "" 1h)
assigned() { mosquitto_sub -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$admin" -C 1 -W 10 -t "$E/monitors/ams1/assign" 2>/dev/null |
    grep -q "\"id\":$id,"; }
h_wait_ok "the selector puts it in ams1's retained assignment" 30 assigned
active3() { [ "$(h_sql "SELECT COUNT(*) FROM server_scores WHERE server_id = $id AND status = 'active'")" = 3 ]; }
h_wait_ok "it reaches 3 active monitors" 120 active3
sel=$(grep "^$E/status/selection/$id " "${H_LOG[watch]}")
h_like "$sel" '"from":"candidate","to":"testing"' "status/selection reported candidate → testing"
h_like "$sel" '"from":"testing","to":"active"' "…and testing → active"
in_pool() { [ "$(h_sql "SELECT in_pool FROM servers WHERE id = $id")" = 1 ]; }
h_wait_ok "its overall score rises above 10 (in the pool)" 120 in_pool
h_num_between "$(h_sql "SELECT score_raw FROM servers WHERE id = $id")" 10 20 "servers.score_raw between 10 and 20"
st=$(mosquitto_sub -V mqttv5 -p "$H_MQTT_PORT" -u watch-e2e -P "$watch_tok" -C 1 -W 15 -t "$E/status/servers/$id" 2>/dev/null)
h_like "$st" "\"server_id\":$id,\"in_pool\":true" "the retained status/servers/$id says in_pool"
sc=$(mosquitto_sub -V mqttv5 -p "$H_MQTT_PORT" -u watch-e2e -P "$watch_tok" -C 1 -W 15 -t "$E/scores/$id" 2>/dev/null)
h_like "$sc" "\"in_pool\":true" "the retained scores/$id agrees"

# ---- the 120 ms and the RATE server, where the step table puts them ----
off_id=$(h_sql "SELECT id FROM servers WHERE ip = '127.0.0.3'")
rate_id=$(h_sql "SELECT id FROM servers WHERE ip = '127.0.0.4'")
steps=$(h_sql "SELECT MIN(step), MAX(step) FROM log_scores WHERE server_id = $off_id AND monitor_id IS NOT NULL")
# step = −2.308·|o| + 0.731 at |o| = 0.120 s: 0.45404 (± a few µs of offset)
h_num_between "$(echo "$steps" | cut -f1)" 0.4535 0.4546 "120 ms server: smallest step is -2.308*0.12+0.731"
h_num_between "$(echo "$steps" | cut -f2)" 0.4535 0.4546 "…and so is the largest"
h_num_between "$(h_sql "SELECT MAX(score_raw) FROM server_scores WHERE server_id = $off_id")" 2 9.0808 \
    "its pair scores stay under the steady 0.45404/0.05 = 9.08"
h_is "$(h_sql "SELECT in_pool FROM servers WHERE id = $off_id")" 0 "…so it is not in the pool"
h_is "$(h_sql "SELECT GROUP_CONCAT(DISTINCT step) FROM log_scores WHERE server_id = $rate_id AND monitor_id IS NOT NULL")" -3.5 \
    "RATE server: every step is -3.5"
h_num_between "$(h_sql "SELECT score_raw FROM servers WHERE id = $rate_id")" -70 -20 "…its overall score sinks toward -70"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE server_id = $rate_id AND (\`offset\` IS NOT NULL OR error <> 'RATE')")" 0 \
    "…its results carry error RATE and no offset"

# ---- the CSV log ----
csv=$("$H_BIN/ntpmonctl" log 127.0.0.4 --monitor '*' --limit 20)
h_is "$(echo "$csv" | head -1)" "ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error" "ntpmonctl log: the pool's CSV header"
h_like "$(echo "$csv" | sed -n 2,20p)" ",-3.5,[-0-9.]+,[0-9]+,(ams1|lax1|syd1),[0-9.]+,,RATE" "…per-monitor rows with step -3.5 and RATE"
csv=$("$H_BIN/ntpmonctl" log 127.0.0.3)
h_like "$(echo "$csv" | sed -n 2p)" "^[0-9]+,[0-9-]+ [0-9:]+,,[0-9.]+,[0-9.]+,0,," "…overall rows have monitor_id 0 and no name"

# ---- the web UI's ad-hoc check ----
web=$(h_token web "" 1h)
out=$(MQTT_TOKEN=$web "$H_BIN/ntpmonctl" check 127.0.0.2 --timeout 15s 2>&1); rc=$?
h_is "$rc" 0 "ntpmonctl check of the good server exits 0"
h_is "$(echo "$out" | grep -c '"error":""')" 3 "…three healthy answers"
out=$(MQTT_TOKEN=$web "$H_BIN/ntpmonctl" check 127.0.0.4 --all --timeout 15s 2>&1); rc=$?
h_is "$rc" 1 "checking the RATE server exits 1"
h_is "$(echo "$out" | grep -c '"error":"RATE"')" 3 "…every monitor answers RATE"
out=$(MQTT_TOKEN=$web "$H_BIN/ntpmonctl" check 10.1.2.3 --all --timeout 15s 2>&1); rc=$?
h_is "$(echo "$out" | grep -c 'private')" 3 "a private address is refused by every monitor"

# ---- metrics and health of every daemon ----
for d in ingest scorer selector tokend agent-ams1; do
    h_like "$(curl -s --max-time 3 "http://127.0.0.1:${P_METRICS[$d]}/healthz")" "^ok" "$d /healthz is ok"
done
h_num_between "$(p_metric agent-ams1 ntpmon_agent_results_total)" 10 100000 "agent /metrics counts results"
h_is "$(p_metric agent-ams1 ntpmon_agent_mqtt_connected)" 1 "agent /metrics says connected"
h_like "$(curl -s "http://127.0.0.1:${P_METRICS[ingest]}/metrics")" "ntpmon_ingest" "ingest serves its metrics"
h_like "$(curl -s "http://127.0.0.1:${P_METRICS[scorer]}/metrics")" "ntpmon_scorer" "scorer serves its metrics"
h_like "$(curl -s "http://127.0.0.1:${P_METRICS[selector]}/metrics")" "ntpmon_selector" "selector serves its metrics"
# ---- clean shutdown ----
for d in agent-ams1 agent-lax1 agent-syd1 selector scorer ingest tokend; do
    h_stop "$d"; h_is "$?" 0 "$d exits 0 on SIGTERM"
done
h_done
