#!/usr/bin/env bash
# Bad input never stops the agent or loses its good state: malformed assignments and requests, unknown fields,
# huge messages (refused by the broker), junk stored/token messages, a state.json with the wrong mode or bad JSON (each a clear log line,
# the last good state kept); bad start-up configuration exits 2 with a message; one agent per state directory.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
ag_broker
ag_fake a 127.0.0.2 --offset 0.005
ag_responder
ag_setup br-sao1 >/dev/null
ag_start br-sao1
LOG=${H_LOG[agent-br-sao1]}
ag_assign br-sao1 100 '[{"id":31,"ip":"127.0.0.2","status":"active","interval_s":1,"samples":1}]'
h_wait_ok "results flow" 15 grep -q ' result .* server 31 ' "$LOG"
pub() { ag_pub "monitors/br-sao1/$1" "${@:2}"; }
results() { grep -c ' result .* server 31 ' "$LOG"; }
still_probing() { local n; n=$(results); h_wait_ok "$1" 10 bash -c "[ \$(grep -c ' result .* server 31 ' '$LOG') -gt $n ]"; }

pub assign -m '{"seq":101,"servers":[{"id":'
h_wait_ok "malformed assignment: a log line" 5 grep -q "ignoring an invalid assignment: invalid JSON.*(keeping seq 100)" "$LOG"
pub assign -m '{"seq":102,"servers":[{"id":32,"ip":"not-an-ip","status":"active","interval_s":1}]}'
h_wait_ok "bad field: a log line naming it" 5 grep -q "ignoring an invalid assignment: servers\[0\]: field 'ip' is not an IP address" "$LOG"
pub assign -m '{"seq":103,"servers":[{"id":32,"ip":"127.0.0.2","status":"sleeping","interval_s":1}]}'
h_wait_ok "bad status: a log line" 5 grep -q "servers\[0\]: field 'status' must be" "$LOG"
pub assign -m '[1,2,3]'
h_wait_ok "not an object: a log line" 5 grep -q "ignoring an invalid assignment: not a JSON object" "$LOG"
# Above the assign cap nothing reaches the agent: the broker (max_packet_size 2 MiB) and its plugin (2 MiB - 64 KiB)
# refuse it; the agent's own cap (msg_assign_decode) is unit-tested.
head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$H_TMP/huge"
pub assign -f "$H_TMP/huge" 2>/dev/null  # mosquitto_pub (told the broker's limit at connect) does not even send it
head -c $((2 * 1024 * 1024 - 32 * 1024)) /dev/zero | tr '\0' 'x' >"$H_TMP/huge"
pub assign -f "$H_TMP/huge" 2>/dev/null
h_wait_ok "an assignment just above the assign cap: refused by the plugin" 10 \
    grep -q "refused a 2064384-byte publish on ntpmon/test/monitors/br-sao1/assign" "${H_LOG[mosquitto]}"
h_unlike "$(grep 'assignment' "$LOG" | tail -1)" "payload too large" "…so the agent never saw either"
still_probing "the last good assignment is still probed"
h_ok "and still the one on disk" grep -q '"seq":100' "$AG_STATE/test/assign.json"

pub assign -m '{"seq":104,"future_field":{"x":1},"servers":[{"id":31,"ip":"127.0.0.2","status":"testing","interval_s":1,"samples":1,"weight":7}]}'
h_wait_ok "unknown fields are ignored (forward compatible)" 5 grep -q "assignment seq 104 from the broker: 1 server(s) (0 added, 0 removed, 1 changed)" "$LOG"

pub stored -m '{"ids":"nope"}'
h_wait_ok "junk stored message: a log line" 5 grep -q "ignoring an invalid stored message" "$LOG"
pub stored -m '{"ids":["01ARZ3NDEKTSV4RRFFQ69G5FAV"],"rejected":[]}'
pub token -m '{"token":42}'
h_wait_ok "junk token message: a log line" 5 grep -q "ignoring an invalid token message" "$LOG"
pub token -m '{"token":"a.b.c","exp":99}'
h_wait_ok "an unusable renewed token is ignored" 5 grep -q "ignoring a renewed token" "$LOG"
head -c 100000 /dev/zero | tr '\0' ' ' >"$H_TMP/big-request"
AG_WEB=$(h_token web ui 1h)
out=$(ag_request --monitor br-sao1 --payload "$(cat "$H_TMP/big-request")" --wait 5)
h_like "$out" "answered 0 .*missing 1" "a 100 kB request: refused by the broker (no reader takes more than 64 KiB)"
pub requests/ntp -m '{"ip":"127.0.0.2"}'
h_wait_ok "a request without a response topic: refused with a log line" 5 grep -q "its response topic '(none)'" "$LOG"
still_probing "probing goes on after all that"

# state.json: wrong mode, bad JSON, wrong token — each refused, the last good state kept
good=$(cat "$AG_STATE/test/state.json")
chmod 644 "$AG_STATE/test/state.json"
h_wait_ok "state.json readable by others: refused" 5 grep -q "state.json changed (file changed) but is unusable: .*mode 0644.*keeping the last good state" "$LOG"
chmod 600 "$AG_STATE/test/state.json"
printf '{"name": "br-sao1", "mqtt_url": ' >"$AG_STATE/test/state.json"
h_wait_ok "state.json with bad JSON: refused" 5 grep -q "state.json changed (file changed) but is unusable: .*not a JSON object.*keeping the last good state" "$LOG"
echo "$good" | sed "s/\"name\": \"br-sao1\"/\"name\": \"xx-yyy1\"/" >"$AG_STATE/test/state.json"
h_wait_ok "state.json whose token is for another name: refused" 5 grep -q "the token is for monitor 'br-sao1', not 'xx-yyy1'" "$LOG"
still_probing "probing goes on with the last good state"
connects=$(grep -c "mqtt: connected" "$LOG")
new_token=$(h_token monitor br-sao1 2h)
echo "$good" | /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); s["token"]=sys.argv[1]; print(json.dumps(s))' "$new_token" >"$AG_STATE/test/state.json.new"
chmod 600 "$AG_STATE/test/state.json.new"; mv "$AG_STATE/test/state.json.new" "$AG_STATE/test/state.json"
h_wait_ok "a new token in state.json: picked up without a restart" 5 grep -q "state.json changed (file changed): new token; reconnecting" "$LOG"
h_wait_ok "and the agent reconnects with it" 10 bash -c "[ \$(grep -c 'mqtt: connected' '$LOG') -gt $connects ]"
h_ok "no token in the log" bash -c "! grep -qF '$new_token' '$LOG'"
h_ok "the agent is still running" h_alive agent-br-sao1

# start-up problems: exit 2 with a message
out=$("$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" monitor --allow-loopback 2>&1); rc=$?
h_is "$rc" 2 "a second agent on the same state dir: exit 2"
h_like "$out" "another ntpmon-agent runs on this state directory" "with a clear message"
h_stop agent-br-sao1; h_is "$?" 0 "SIGTERM: exit 0"
chmod 640 "$AG_STATE/test/state.json"
out=$("$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" monitor 2>&1); rc=$?
h_is "$rc" 2 "start with a readable state.json: exit 2"
h_like "$out" "mode 0640.*chmod 600" "naming the problem"
out=$("$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/nowhere" monitor 2>&1); rc=$?
h_is "$rc" 2 "start without setup: exit 2"
h_like "$out" "run 'ntpmon-agent setup' first" "saying what to do"
out=$("$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/s2" setup --name de-ber1 --mqtt-url "$MQTT_URL" --mqtt-token-file "$H_TMP/br-sao1.token" 2>&1); rc=$?
h_is "$rc" 2 "setup with another monitor's token: exit 2"
h_like "$out" "the token is for monitor 'br-sao1', not 'de-ber1'" "naming both"
out=$(h_token monitor de-ber1 | "$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/s2" setup --name de-ber1 --mqtt-url "http://x" --mqtt-token-file - 2>&1); rc=$?
h_is "$rc" 2 "setup with a bad URL: exit 2"
out=$(h_token monitor de-ber1 | "$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/s2" setup --name de-ber1 --mqtt-url "mqtts://[::1]:8883" --mqtt-token-file - --clock-ref a.example b.example 2>&1); rc=$?
h_is "$rc" 0 "setup reading the token from stdin: exit 0"
h_is "$(/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["name"], s["mqtt_url"], ",".join(s["clock_refs"]))' "$H_TMP/s2/test/state.json")" \
    "de-ber1 mqtts://[::1]:8883 a.example,b.example" "state.json holds name, URL and clock refs"
out=$("$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" monitor --timeout 99 2>&1); rc=$?
h_is "$rc" 2 "a flag out of range: exit 2"
h_like "$out" "timeout" "naming the flag"
out=$("$H_BIN/ntpmon-agent" -e 'Bad Env' monitor 2>&1); rc=$?
h_is "$rc" 2 "a bad env: exit 2"
h_done
