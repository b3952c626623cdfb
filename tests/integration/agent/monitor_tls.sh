#!/usr/bin/env bash
# mqtts:// with the CA file from state.json: the agent connects over TLS and results flow; with the wrong CA it
# refuses the broker's certificate (a clear log line) and keeps its results in the spool.
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
P=$H_TMP/pki; mkdir -p "$P"
mkca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$1" \
        -keyout "$P/$1.key" -out "$P/$1.pem" 2>/dev/null
}
mkca test-ca; mkca other-ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" -keyout "$P/server.key" \
    -out "$P/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$P/ext"
openssl x509 -req -in "$P/server.csr" -CA "$P/test-ca.pem" -CAkey "$P/test-ca.key" -CAcreateserial -days 2 \
    -extfile "$P/ext" -out "$P/server.pem" 2>/dev/null
TLS_PORT=$(h_free_port tcp)
ag_broker "listener $TLS_PORT 127.0.0.1
cafile $P/test-ca.pem
certfile $P/server.pem
keyfile $P/server.key"
h_wait 10 h_port_open_tcp "$TLS_PORT"
ag_fake a 127.0.0.2 --offset 0.007
ag_responder   # on the plain listener
MQTT_URL="mqtts://127.0.0.1:$TLS_PORT" ag_setup au-syd1 --mqtt-ca-file "$P/test-ca.pem" >/dev/null
h_ok "state.json keeps the CA file" grep -q "\"mqtt_ca_file\": \"$P/test-ca.pem\"" "$AG_STATE/test/state.json"
ag_start au-syd1
h_wait_ok "connects over TLS" 10 grep -q "mqtt: connected to 127.0.0.1:$TLS_PORT" "${H_LOG[agent-au-syd1]}"
ag_assign au-syd1 1 '[{"id":61,"ip":"127.0.0.2","status":"active","interval_s":1,"samples":1}]'
h_wait_ok "results flow over TLS and are confirmed" 15 bash -c "[ \$(grep -c ' server 61 monitor au-syd1 ' '${H_LOG[responder]}') -ge 2 ]"
h_stop agent-au-syd1

MQTT_URL="mqtts://127.0.0.1:$TLS_PORT" ag_setup au-syd1 --mqtt-ca-file "$P/other-ca.pem" >/dev/null
AG_PROC=agent-wrongca ag_start au-syd1
h_wait_ok "the wrong CA: the broker's certificate is refused" 10 grep -q "certificate verify failed" "${H_LOG[agent-wrongca]}"
h_wait_ok "results are made anyway" 10 grep -q ' result .* server 61 ' "${H_LOG[agent-wrongca]}"
h_stop agent-wrongca; h_is "$?" 0 "SIGTERM: exit 0"
h_ok "and stay in the spool" grep -q '^R ' "$AG_STATE/test/spool.log"
h_done
