#!/usr/bin/env bash
# ntpmon-agent monitor against a real mosquitto: status + will, an assignment probed at its intervals (never closer
# than --min-interval), results on the right topics with the assignment's status, confirmations draining the
# spool, older assignments ignored, the assignment kept on disk and used after a restart with the broker away.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
ag_broker
ag_fake good 127.0.0.2 --offset 0.012
ag_fake kod 127.0.0.3 --kod RATE
ag_fake off 127.0.0.4 --offset -0.5
ag_responder

h_ok "setup writes state.json" ag_setup nl-ams1
h_is "$(stat -c %a "$AG_STATE/test/state.json")" 600 "state.json is 0600"
h_is "$(stat -c %a "$AG_STATE/test")" 700 "the state dir is 0700"
# no re-send by timeout: "no result was sent twice" below must not depend on how fast confirmations come back
ag_start nl-ams1 --min-interval 1.5 --resend-timeout 120
h_wait_ok "status is online" 10 ag_status_like nl-ams1 '"online":true'
st=$(ag_status nl-ams1)
h_like "$st" '"clock_ok":null' "no clock reference: clock_ok is null"
h_like "$st" '"ipv4":true,"ipv6":true' "both families on with --allow-loopback"
h_like "$st" '"version":"0.1.0"' "status carries the version"
h_like "$(h_log agent-nl-ams1)" "no reference server configured" "a warning says the clock is not checked"

ag_assign nl-ams1 1000 '[{"id":11,"ip":"127.0.0.2","status":"active","interval_s":1,"samples":3},
  {"id":12,"ip":"127.0.0.3","status":"testing","interval_s":1,"samples":2},
  {"id":13,"ip":"127.0.0.4","status":"candidate","interval_s":1,"samples":1}]'
h_wait_ok "results for every server" 20 bash -c "
  for id in 11 12 13; do [ \$(grep -c \"^result .* server \$id .* seen 1 \" '${H_LOG[responder]}') -ge 3 ] || exit 1; done"
r=$(ag_results nl-ams1)
h_like "$(echo "$r" | grep ' server 11 ' | head -1)" "error '' offset 0\.01[12][0-9]* status active" "good server: +12 ms, status active"
h_like "$(echo "$r" | grep ' server 12 ' | head -1)" "error 'RATE' offset none.* status testing" "KoD RATE: error RATE, no offset"
h_like "$(echo "$r" | grep ' server 13 ' | head -1)" "error '' offset -0\.(499|50)[0-9]* status candidate" "-500 ms server"
h_is "$(echo "$r" | grep -c 'invalid')" 0 "every result passes the shared validator"

# spacing between probes of one server: interval 1 s, but --min-interval 1.5 s wins
spacing=$(grep -o ' result [0-9A-Z]\{26\} server 11 ' "${H_LOG[agent-nl-ams1]}" | awk '{print $2}' |
  /usr/bin/python3 -c '
import sys
B="0123456789ABCDEFGHJKMNPQRSTVWXYZ"
t=[sum(B.index(c)*32**(9-i) for i,c in enumerate(l.strip()[:10])) for l in sys.stdin]
print(min(b-a for a,b in zip(t,t[1:])))')
h_num_between "$spacing" 1400 100000 "probes of one server are at least --min-interval apart (${spacing} ms)"

h_wait_ok "confirmations drain the spool" 10 ag_status_like nl-ams1 '"spool":0,'
h_is "$(ag_results nl-ams1 | awk '$8 > 1' | wc -l)" 0 "no result was sent twice"
h_ok "assignment kept on disk" grep -q '"seq":1000' "$AG_STATE/test/assign.json"

ag_assign nl-ams1 999 '[{"id":99,"ip":"127.0.0.9","status":"active","interval_s":1,"samples":1}]'
h_wait_ok "an older seq is ignored with a log line" 10 grep -q "ignoring an older assignment (seq 999 < 1000)" "${H_LOG[agent-nl-ams1]}"
ag_assign nl-ams1 1001 '[{"id":11,"ip":"127.0.0.2","status":"active","interval_s":1,"samples":1}]'
h_wait_ok "a newer seq replaces the work list" 10 grep -q "assignment seq 1001 from the broker: 1 server(s) (0 added, 2 removed, 1 changed)" "${H_LOG[agent-nl-ams1]}"

h_stop agent-nl-ams1; h_is "$?" 0 "SIGTERM: exit 0"
h_like "$(ag_status nl-ams1)" '"online":false' "clean stop leaves online:false"

# monitor --once: probe every assigned server once, wait for the confirmations, exit 0
before=$(ag_count_results nl-ams1)
out=$(timeout 90 "$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" monitor --once "${AG_FAST[@]}" 2>&1); rc=$?
h_is "$rc" 0 "monitor --once: exit 0"
h_like "$out" "monitor --once: probing 1 server\(s\)" "monitor --once: probes the assigned server"
h_like "$out" "monitor --once: every result is confirmed" "monitor --once: waits for the confirmation"
h_is "$(ag_count_results nl-ams1)" "$((before + 1))" "monitor --once: exactly one new result"

# a restart with the broker away keeps probing the saved assignment into the spool
h_stop mosquitto
AG_PROC=agent-2 ag_start nl-ams1
h_wait_ok "the saved assignment is used" 10 grep -q "assignment seq 1001 from $AG_STATE/test/assign.json: 1 server(s)" "${H_LOG[agent-2]}"
h_wait_ok "and probed while the broker is away" 10 grep -q " result [0-9A-Z]* server 11 " "${H_LOG[agent-2]}"
h_stop agent-2; h_is "$?" 0 "SIGTERM without a broker: exit 0"
h_ok "unconfirmed results stay in the spool" grep -q '^R ' "$AG_STATE/test/spool.log"
h_done
