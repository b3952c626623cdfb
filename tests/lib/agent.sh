# tests/lib/agent.sh — helpers for the agent's integration tests (source after harness.sh).
#   ag_broker [EXTRA_CONFIG]     mosquitto + broker-auth (h_start_broker_auth); AG_ADMIN holds an admin token that
#                                the test's own clients (assignments, status reads) use
#   ag_setup NAME [setup flags]  runs `ntpmon-agent setup` into $AG_STATE with a fresh monitor token (h_token)
#   ag_start NAME [flags]        starts `monitor` (as process agent-NAME, or $AG_PROC) with fast test intervals
#   ag_fake NAME ADDR [flags]    starts ntp-fake on ADDR:$AG_NTP_PORT (process fake-NAME)
#   ag_responder [flags]         starts tests/tools/stored-responder with an ingest token (process responder)
#   ag_assign NAME SEQ SERVERS   publishes a retained assignment (as the selector would); SERVERS is the JSON list
#   ag_results [NAME]            the result lines the responder printed (optionally for one monitor)
AG_STATE=$H_TMP/state
AG_NTP_PORT=${AG_NTP_PORT:-$(h_free_port udp)}
export DEPLOYMENT_MODE=test
# --timeout 1: the fake servers answer at once, but under load a reply can wait for the CPU
AG_FAST=(--allow-loopback --ntp-port "$AG_NTP_PORT" --min-interval 0.5 --first-probe-max 0.3 --sample-spacing 0.05
         --timeout 1 --status-interval 1 --resend-timeout 3 --mqtt-backoff-min 0.1 --mqtt-backoff-max 0.5
         --clock-cache 2 --shutdown-timeout 2)

ag_broker() {
    h_start_broker_auth "${1:-}"
    AG_ADMIN=$(h_token admin "" 4h)
    [ -n "$AG_ADMIN" ] || { echo "# cannot issue tokens"; exit 1; }
    export AG_ADMIN H_MQTT_PORT
}
ag_setup() {
    local name=$1; shift
    h_token monitor "$name" >"$H_TMP/$name.token"
    "$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" setup --name "$name" --mqtt-url "$MQTT_URL" \
        --mqtt-token-file "$H_TMP/$name.token" "$@"
}
ag_start() {
    local name=$1; shift
    h_spawn "${AG_PROC:-agent-$name}" "$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" --log-level debug monitor "${AG_FAST[@]}" "$@"
}
ag_fake() {
    local name=$1 addr=$2; shift 2
    h_spawn "fake-$name" "$H_BIN/ntp-fake" --listen "$addr:$AG_NTP_PORT" "$@"
    h_wait 10 grep -q "listening" "${H_LOG[fake-$name]}" || { echo "# ntp-fake $name did not start"; h_log "fake-$name"; exit 1; }
}
ag_responder() {
    h_spawn responder env MQTT_TOKEN="$(h_token ingest agenttest)" "$H_BIN/stored-responder" -e test --mqtt-url "$MQTT_URL" "$@"
    h_wait 10 grep -q "^connected" "${H_LOG[responder]}" || { echo "# responder did not connect"; h_log responder; exit 1; }
}
# ag_pub TOPIC_SUFFIX mosquitto_pub-args…: publishes on ntpmon/test/TOPIC_SUFFIX as admin
ag_pub() {
    local t=$1; shift
    mosquitto_pub -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$AG_ADMIN" -q 1 -t "ntpmon/test/$t" "$@"
}
ag_assign() {
    local name=$1 seq=$2 servers=$3
    ag_pub "monitors/$name/assign" -r -m "{\"seq\":$seq,\"ts\":\"2026-11-23T19:00:00Z\",\"servers\":$servers}"
}
ag_results() { grep "^result " "${H_LOG[responder]}" | { if [ -n "${1:-}" ]; then grep " monitor $1 "; else cat; fi; }; }
# ag_status NAME: the retained status message of a monitor (empty when none)
ag_status() {
    timeout 12 mosquitto_sub -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$AG_ADMIN" -t "ntpmon/test/monitors/$1/status" \
        -C 1 -W 10 2>/dev/null
}
# ag_status_like NAME REGEX: true when the monitor's retained status matches (for h_wait)
ag_status_like() { [[ "$(ag_status "$1")" =~ $2 ]]; }
# ag_count_results [NAME]: distinct result ULIDs the responder saw
ag_count_results() { ag_results "${1:-}" | awk '{print $2}' | sort -u | wc -l; }
# ag_made PROC: ULIDs an agent process says it made (its debug log lines)
ag_made() { grep -o ' result [0-9A-Z]\{26\} server' "${H_LOG[$1]}" | awk '{print $2}' | sort -u; }
# ag_request [mqtt-request flags]: ad-hoc requests as the web UI (role web)
ag_request() { env MQTT_TOKEN="$AG_WEB" "$H_BIN/mqtt-request" -e test --log-level error --mqtt-url "$MQTT_URL" "$@"; }
