#!/usr/bin/env bash
# A hostile NTP server cannot make its results unstorable (issue 19, item 2): its replies pass every check but put
# receive 2000 s early and transmit 2000 s late, so the delay formula gives about −4000 s. The agent clamps a
# negative delay to 0 (as the pool's NTP library does) and keeps the offset, which stays right because the skews
# cancel; the real ingest stores every result (none in results_rejected) with rtt 0. An honest server beside it is
# unaffected. The whole path is real: agent, broker with the plugin, ingest, MariaDB.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
h_start_mariadb
ag_broker
"$H_BIN/ntpmonctl" db migrate >/dev/null || { echo "# migrate failed"; exit 1; }
"$H_BIN/ntpmonctl" account add ops >/dev/null
"$H_BIN/ntpmonctl" monitor add --name hs-mon1 --account ops --ip4 198.51.100.7 --status active >/dev/null
"$H_BIN/ntpmonctl" server add 127.0.0.2 --account ops --allow-local >/dev/null
"$H_BIN/ntpmonctl" server add 127.0.0.3 --account ops --allow-local >/dev/null
bad=$(h_sql "SELECT id FROM servers WHERE ip = '127.0.0.2'")
good=$(h_sql "SELECT id FROM servers WHERE ip = '127.0.0.3'")
ag_fake hostile 127.0.0.2 --skew-timestamps 2000
ag_fake honest 127.0.0.3 --offset 0.003
h_spawn ingest env MQTT_TOKEN="$(h_token ingest hs 1h)" "$H_BIN/ntpmon-ingest" --flush-interval 20ms --summary-interval 2s
h_wait 20 grep -q 'mqtt: connected' "${H_LOG[ingest]}" || { echo "# ingest did not connect"; h_log ingest; exit 1; }
ag_setup hs-mon1 >/dev/null
ag_start hs-mon1
ag_assign hs-mon1 100 "[{\"id\":$bad,\"ip\":\"127.0.0.2\",\"status\":\"active\",\"interval_s\":1,\"samples\":2},
                        {\"id\":$good,\"ip\":\"127.0.0.3\",\"status\":\"active\",\"interval_s\":1,\"samples\":2}]"

stored() { [ "$(h_sql "SELECT COUNT(*) FROM results WHERE server_id = $1")" -ge "$2" ]; }
h_wait_ok "results of the hostile server are stored" 60 stored "$bad" 3
h_wait_ok "results of the honest server are stored" 30 stored "$good" 3
h_is "$(h_sql "SELECT COUNT(*) FROM results_rejected")" 0 "nothing was rejected"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE server_id = $bad AND (error <> '' OR rtt IS NULL OR rtt <> 0)")" 0 \
    "every stored result of the hostile server is good with rtt 0"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE server_id = $bad AND ABS(\`offset\`) > 0.05")" 0 \
    "…and an offset near 0 (the skews cancel)"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE server_id = $bad AND JSON_EXTRACT(samples, '\$[0].rtt') <> 0")" 0 \
    "the samples carry rtt 0 too"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE server_id = $good AND (rtt <= 0 OR rtt > 1 OR ABS(\`offset\` - 0.003) > 0.002)")" 0 \
    "the honest server's results are untouched (positive rtt, its 3 ms offset)"
h_ok "the agent still runs" h_alive agent-hs-mon1
h_done
