#!/usr/bin/env bash
# Local clock check, token renewal and state.json changes while running:
#  - two clock references, one 50 ms off: unhealthy (n − ⌊(n+2)/2⌋ = 0 failures allowed), probing paused,
#    status clock_ok:false; state.json's clock_refs changed to good ones (a name resolved on the resolver thread):
#    healthy, probing resumes, clock_ok:true;
#  - a short-lived token is renewed by the real token service (ntpmon-tokend: the monitor is registered in MariaDB)
#    through token/request before a third of its life is left, written to state.json (0600) and used for a
#    reconnect to the broker-auth broker;
#  - state.json naming another monitor: the agent restarts itself as that monitor.
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
ag_broker
h_start_mariadb
h_ok "schema" "$H_BIN/ntpmonctl" db migrate
h_ok "account" "$H_BIN/ntpmonctl" account add agents
h_ok "monitor jp-tyo1 registered" "$H_BIN/ntpmonctl" monitor add --name jp-tyo1 --account agents --ip4 192.0.2.10
h_spawn tokend env MQTT_TOKEN="$(h_token tokens agenttest)" "$H_BIN/ntpmon-tokend" --monitor-ttl 10m --min-interval 1s
h_wait_ok "the token service connects" 10 grep -q "connected to the broker" "${H_LOG[tokend]}"
ag_fake srv 127.0.0.2 --offset 0.002
ag_fake refgood 127.0.0.1 '[::1]:'"$AG_NTP_PORT" --offset 0.001
ag_fake refgood2 127.0.0.5 --offset -0.002
ag_fake refbad 127.0.0.6 --offset 0.050
ag_responder
status() { ag_status jp-tyo1; }

ag_setup jp-tyo1 --clock-ref 127.0.0.5 127.0.0.6 >/dev/null
h_token monitor jp-tyo1 6s >"$H_TMP/short.token"   # renewal due after 4 s
/usr/bin/python3 - "$AG_STATE/test/state.json" "$(cat "$H_TMP/short.token")" <<'PY'
import json, os, sys
p = sys.argv[1]; s = json.load(open(p)); s["token"] = sys.argv[2]
open(p + ".new", "w").write(json.dumps(s)); os.chmod(p + ".new", 0o600); os.rename(p + ".new", p)
PY
ag_start jp-tyo1 --clock-samples 1
LOG=${H_LOG[agent-jp-tyo1]}
ag_assign jp-tyo1 1 '[{"id":41,"ip":"127.0.0.2","status":"active","interval_s":1,"samples":1}]'
h_wait_ok "one reference 50 ms off: the clock is bad" 10 grep -q "local clock check: BAD (1 of 2 references disagree; at most 0 may)" "$LOG"
line=$(grep '127.0.0.6' "$LOG" | head -1)
h_like "$line" "127.0.0.6 \(127.0.0.6\): offset [0-9.]+ s is beyond 0.010000 s" "the log names the reference, its offset and the limit"
h_num_between "$(echo "$line" | sed 's/.*offset \([0-9.]*\) s.*/\1/')" 0.045 0.055 "the reported offset is the reference's 50 ms"
h_wait_ok "status says clock_ok:false" 10 ag_status_like jp-tyo1 '"clock_ok":false'
h_is "$(grep -c ' result .* server 41 ' "$LOG")" 0 "no probing while the clock is bad"

# token renewal happens meanwhile (6 s token: asked for once a third of its life is left)
h_wait_ok "the agent asks the token service" 10 grep -q "asked the token service for a new token" "$LOG"
h_wait_ok "and takes the new token" 10 grep -q "token renewed (expires" "$LOG"
h_wait_ok "state.json holds it" 5 bash -c "! grep -q '$(cat "$H_TMP/short.token")' '$AG_STATE/test/state.json'"
h_is "$(stat -c %a "$AG_STATE/test/state.json")" 600 "still 0600"
h_wait_ok "the agent reconnected with it" 10 bash -c "[ \$(grep -c 'mqtt: connected' '$LOG') -ge 2 ]"
h_wait_ok "the token service issued it" 5 grep -q "issued a token for monitor jp-tyo1" "${H_LOG[tokend]}"
h_like "$(grep -c "asked the token service" "$LOG")" '^[1-2]$' "no renewal storm"

/usr/bin/python3 - "$AG_STATE/test/state.json" <<'PY'
import json, os, sys
p = sys.argv[1]; s = json.load(open(p)); s["clock_refs"] = ["localhost", "127.0.0.5"]
open(p + ".new", "w").write(json.dumps(s)); os.chmod(p + ".new", 0o600); os.rename(p + ".new", p)
PY
h_wait_ok "new clock references from state.json are picked up" 10 grep -q "state.json changed (file changed): new clock references" "$LOG"
h_wait_ok "the clock is good again" 10 grep -q "local clock check: ok (2 of 2 references agree)" "$LOG"
h_wait_ok "status says clock_ok:true" 10 ag_status_like jp-tyo1 '"clock_ok":true'
h_wait_ok "probing resumes" 10 grep -q ' result .* server 41 ' "$LOG"
h_wait_ok "and results arrive" 10 grep -q ' server 41 monitor jp-tyo1 ' "${H_LOG[responder]}"

# a different monitor name: restart as that monitor (same process id, new identity)
pid=${H_PID[agent-jp-tyo1]}
/usr/bin/python3 - "$AG_STATE/test/state.json" "$(h_token monitor jp-osa1)" <<'PY'
import json, os, sys
p = sys.argv[1]; s = json.load(open(p)); s["name"] = "jp-osa1"; s["token"] = sys.argv[2]
open(p + ".new", "w").write(json.dumps(s)); os.chmod(p + ".new", 0o600); os.rename(p + ".new", p)
PY
h_wait_ok "a new name: the agent restarts itself" 10 grep -q "now names monitor 'jp-osa1' (was 'jp-tyo1'): restarting as that monitor" "$LOG"
h_wait_ok "as the new monitor" 10 grep -q "starting ntpmon-agent/.* as monitor 'jp-osa1'" "$LOG"
h_ok "in the same process" kill -0 "$pid"
h_wait_ok "its status is published" 10 ag_status_like jp-osa1 '"online":true'
h_like "$(status)" '"online":false' "the old name says offline"
h_stop agent-jp-tyo1; h_is "$?" 0 "SIGTERM: exit 0"
h_done
