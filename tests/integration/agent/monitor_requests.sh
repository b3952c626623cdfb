#!/usr/bin/env bash
# Ad-hoc requests (requests/ntp with an MQTT 5 response topic + correlation data): answered with a result; private
# addresses and other response topics refused; 100 requests in a second: the excess is refused (and never reaches
# the NTP server), the agent keeps working.
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
ag_broker
ag_fake target 127.0.0.2 --offset 0.042 --log
ag_fake work 127.0.0.3 --offset 0.001
ag_responder
ag_setup sg-sin1 >/dev/null
ag_fake v6 ::1 --offset 0.001 --log
# a window of an hour: the burst below counts the 2 earlier probes however long the test takes to get there
ag_start sg-sin1 --request-rate 30 --request-window 3600 --no-ipv6
ag_assign sg-sin1 1 '[{"id":5,"ip":"127.0.0.3","status":"active","interval_s":1,"samples":1},
  {"id":6,"ip":"::1","status":"active","interval_s":1,"samples":1}]'
h_wait_ok "agent connected" 10 grep -q "mqtt: connected" "${H_LOG[agent-sg-sin1]}"
AG_WEB=$(h_token web ui 1h)
REQ=(ag_request --monitor sg-sin1)

out=$("${REQ[@]}" --ip 127.0.0.2 --samples 2 --wait 5)
h_like "$out" "summary sent 1 answered 1 results 1 errors 0" "a request gets a result"
h_like "$out" "answer 0 corr ok" "with the request's correlation data"
ans=$(echo "$out" | grep '^answer 0' | cut -d" " -f5-)
h_is "$(echo "$ans" | /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print(r["ip"], round(r["offset"],3), len(r["samples"]), r["monitor"], "server_id" in r, "status" in r)')" \
    "127.0.0.2 0.042 2 sg-sin1 False False" "the answer is a result without server_id and status, with the asked samples"

out=$("${REQ[@]}" --ip 10.0.0.1 --wait 5)
h_like "$out" 'answer 0 corr ok \{"error":"forbidden address: 10.0.0.1 is a private address"\}' "a private address gets an error"
out=$("${REQ[@]}" --ip 192.168.1.1 --wait 5)
h_like "$out" '"error":"forbidden address' "another private range too"
out=$("${REQ[@]}" --payload '{"ip":"127.0.0.2","samples":9}' --wait 5)
h_like "$out" '"error":"bad request: field .samples. is out of range \(1..4\)' "more than 4 samples refused"
out=$("${REQ[@]}" --payload '{"ip":' --wait 5)
h_like "$out" '"error":"bad request: invalid JSON' "malformed JSON: an error reply"
out=$("${REQ[@]}" --payload '{"ip":"127.0.0.2","samples":1,"future":true}' --wait 5)
h_like "$out" "summary sent 1 answered 1 results 1" "unknown fields are ignored"
out=$("${REQ[@]}" --ip 127.0.0.2 --response-topic "ntpmon/test/results/5/sg-sin1" --wait 2)
h_like "$out" "answered 0" "a response topic other than responses/<name>/<id> is refused"
h_wait_ok "with a log line" 5 grep -q "refusing an ad-hoc request: its response topic 'ntpmon/test/results/5/sg-sin1'" "${H_LOG[agent-sg-sin1]}"
out=$("${REQ[@]}" --ip 127.0.0.2 --response-topic "ntpmon/test/responses/other-mon/x" --wait 2)
h_like "$out" "answered 0" "another monitor's response topic is refused"

# 100 in a second: 30 a minute in all (2 probes already made above), the rest refused
before=$(grep -c '^request' "${H_LOG[fake-target]}")
out=$("${REQ[@]}" --ip 127.0.0.2 --count 100 --wait 10)
h_like "$out" "summary sent 100 answered 100 results 28 errors 72 rate_limited 72 missing 0 bad_corr 0" \
    "100 requests: 28 answered (30 a window with the 2 earlier), 72 refused as rate limited"
probes=$(( $(grep -c '^request' "${H_LOG[fake-target]}") - before ))
h_is "$probes" 28 "the NTP server saw only the allowed probes"
n=$(grep -c ' result .* server 5 ' "${H_LOG[agent-sg-sin1]}")
h_wait_ok "assigned probing goes on" 10 bash -c "[ \$(grep -c ' result .* server 5 ' '${H_LOG[agent-sg-sin1]}') -gt $n ]"
h_ok "the agent is still running" h_alive agent-sg-sin1

# --no-ipv6: IPv6 servers are held, IPv6 requests refused, the status says so
h_is "$(grep -c ' result .* server 6 ' "${H_LOG[agent-sg-sin1]}")" 0 "--no-ipv6: the IPv6 server is never probed"
h_is "$(grep -c '^request' "${H_LOG[fake-v6]}")" 0 "--no-ipv6: nothing reached the IPv6 server"
out=$("${REQ[@]}" --ip ::1 --wait 5)
h_like "$out" '"error":"IPv6 is not available on this monitor"' "--no-ipv6: an IPv6 request gets an error"
h_like "$(ag_status sg-sin1)" '"ipv4":true,"ipv6":false' "--no-ipv6: the status says ipv6:false"
h_stop agent-sg-sin1; h_is "$?" 0 "SIGTERM: exit 0"
h_done
