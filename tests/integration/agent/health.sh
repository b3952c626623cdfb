#!/usr/bin/env bash
# ntpmon-agent in the daemon frame: READY=1, STATUS= (broker, servers, spool, clock), WATCHDOG=1 and STOPPING=1 on
# a notify socket the test owns; /healthz 503 with the reason while the broker is stopped and while the local clock
# check fails (its reference 50 ms off), 200 again when the broker is back and state.json names a good reference;
# SIGHUP re-reads state.json; a state directory that cannot be used or a metrics address in use is a
# configuration error (exit 2) and goes through the same teardown.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
ag_broker
ag_fake good 127.0.0.5 --offset 0.001
ag_fake bad 127.0.0.6 --offset 0.050
ag_setup nl-ams1 --clock-ref 127.0.0.5 >/dev/null
set_refs() { # state.json's clock_refs (picked up while running)
    /usr/bin/python3 - "$AG_STATE/test/state.json" "$@" <<'PY'
import json, os, sys
p = sys.argv[1]; s = json.load(open(p)); s["clock_refs"] = sys.argv[2:]
open(p + ".new", "w").write(json.dumps(s)); os.chmod(p + ".new", 0o600); os.rename(p + ".new", p)
PY
}
MPORT=$(h_free_port tcp)
sock=$(h_notify_socket agent)
NOTIFY_SOCKET=$sock WATCHDOG_USEC=300000 ag_start nl-ams1 --clock-samples 1 --metrics-listen "127.0.0.1:$MPORT" \
    --health-interval 0.1s
LOG=${H_LOG[agent-nl-ams1]}
h_ready agent "$MPORT" 'serving; broker connected; 0 servers; spool 0; clock ok'
h_outage "$MPORT" broker

set_refs 127.0.0.6
h_wait_ok "the reference 50 ms off: 503 and why" 20 h_healthz_is "$MPORT" '^503 unhealthy: local clock check failed: probing paused$'
h_wait_ok "…and STATUS= says so" 10 h_notified agent '^STATUS=unhealthy; broker connected; .*clock bad; local clock check failed'
set_refs 127.0.0.5
h_wait_ok "a good reference again: 200" 20 h_healthz_is "$MPORT" '^200 ok$'
kill -HUP "${H_PID[agent-nl-ams1]}"
h_wait_ok "SIGHUP re-reads state.json" 10 grep -q "state.json reloaded (SIGHUP): nothing changed" "$LOG"

h_stopped agent-nl-ams1 agent
h_like "$(h_log agent-nl-ams1)" "summary: 0 server\(s\)" "the last summary comes after the steps stopped"

# a configuration error after the metrics listener is up still stops every started step: here the lock is taken
# by a second agent on the same directory, so the second exits 2 and the first keeps serving
ag_start nl-ams1 --metrics-listen "127.0.0.1:$MPORT"
h_wait_ok "the agent runs again" 20 h_healthz_is "$MPORT" '^200 ok$'
out=$("$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" monitor "${AG_FAST[@]}" 2>&1); rc=$?
h_is "$rc" 2 "a second agent on the same state directory: exit 2"
h_like "$out" "error: .*(lock|running)" "…with a clear message"
h_like "$out" "stopped \(exit 2\)" "…through the frame's teardown"
out=$("$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/elsewhere" monitor "${AG_FAST[@]}" 2>&1); rc=$?
h_is "$rc" 2 "no state.json: exit 2"
# the metrics address is taken (once `return 2` that skipped the agent's own cleanup): the steps already started —
# state directory lock, spool — are stopped, so the lock is free again at once
h_token monitor de-fra1 | "$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/s2" setup --name de-fra1 --mqtt-url "$MQTT_URL" \
    --mqtt-token-file - >/dev/null
out=$("$H_BIN/ntpmon-agent" -e test --state-dir "$H_TMP/s2" monitor "${AG_FAST[@]}" --metrics-listen "127.0.0.1:$MPORT" 2>&1); rc=$?
h_is "$rc" 2 "--metrics-listen on an address in use: exit 2"
h_like "$out" "error: --metrics-listen: cannot serve metrics on 127.0.0.1:$MPORT" "…with a clear message"
h_like "$out" "summary: 0 server\(s\).*stopped \(exit 2\)" "…after stopping the spool and the state directory"
h_ok "…whose lock is free again" flock -n "$H_TMP/s2/test/agent.lock" true
h_done
