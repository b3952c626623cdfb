#!/usr/bin/env bash
# common/mqtt.c against a real mosquitto: QoS 1 round trip, MQTT 5 response topic + correlation data, a
# persistent session that keeps queued messages across reconnects, and reconnect after a broker restart.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
h_start_mosquitto
st=$H_BIN/mqtt-selftest

out=$(timeout -k 5 30 "$st" "$MQTT_URL" ROUNDTRIP 2>&1)
h_like "$out" "roundtrip 200/200" "200 QoS 1 messages round-trip"
h_like "$out" "response correlation ok" "response topic and correlation data survive"

out=$(timeout -k 5 30 "$st" "$MQTT_URL" PERSIST sess-1 2>&1); h_like "$out" "ready" "persistent session created"
for i in $(seq 1 25); do mosquitto_pub -V mqttv5 -p "$H_MQTT_PORT" -q 1 -t selftest/data -m "{\"i\":$i}"; done
out=$(timeout -k 5 30 "$st" "$MQTT_URL" DRAIN sess-1 25 2>&1)
h_like "$out" "session_present=1" "session resumed"
h_like "$out" "got 25" "messages published while away are delivered"

h_spawn recon "$st" "$MQTT_URL" RECONNECT
h_wait_ok "connects" 10 grep -q "connected 1" "${H_LOG[recon]}"
h_stop mosquitto KILL
h_restart_mosquitto
h_wait_ok "reconnects after the broker comes back" 20 grep -q "connected 2" "${H_LOG[recon]}"
h_stop recon; h_is "$?" 0 "exits 0 on SIGTERM"
h_done
