#!/usr/bin/env bash
# ntpmon-web's public face under bad input and abuse (the whole pipeline behind it): non-literal targets 400,
# forbidden targets 403 (v4-mapped, NAT64 and 6to4 forms too), 404/405/413/415, limit clamped to 10 000; token
# buckets per client and global with 429 + Retry-After, one check in flight per client, cache hits free, a second
# client joining a running check; X-Forwarded-For believed only from --trusted-proxy; stream caps (503) and dead
# stream clients freed; slow senders cut at the request deadline; the per-address connection limit.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/pipeline.sh"
. "$H_ROOT/tests/lib/web.sh"
PROXY=127.0.0.9
P_WEB_FLAGS="--trusted-proxy $PROXY --check-rate 1 --check-burst 2 --check-rate-global 1 --check-burst-global 4
  --max-streams 6 --max-streams-per-client 2 --max-connections-per-client 12 --request-deadline 2s --stream-ping 1s
  --api-rate 1 --api-burst 30"
p_stack
w_init
# Requests through the trusted proxy on behalf of client $1 (most tests use a fresh client address each time, so
# the per-client API bucket of one does not spill into the next).
as() { local c=$1; shift; w_req "$@" --interface "$PROXY" -H "X-Forwarded-For: $c"; }
# (a counter on disk: these run inside $(…) subshells)
fresh() { local n=$(( $(cat "$H_TMP/n" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$H_TMP/n"; echo "198.18.$((n / 250)).$((n % 250 + 1))"; }
rq() { as "$(fresh)" "$@"; }
h_wait_ok "web is up" 20 bash -c "[ \"\$(curl -s $W_URL/healthz)\" = ok ]"
online() { rq GET /api/monitors/online >/dev/null; [ "$(w_json 'length')" = 3 ]; }
h_wait_ok "three monitors online" 20 online

# ---- targets ----
for t in example.org 1.2.3 1.2.3.4.5 0x7f.0.0.1 256.1.1.1 '[::1]' 'fe80::1%25eth0' "$(printf 'a%.0s' {1..300})"; do
    code=$(rq POST "/api/check/ntp/$t")
    h_is "$code/$(w_json '.error | test("not an IP address")')" "400/true" "check of '${t:0:20}': 400, not an IP address"
done
while read -r t why; do
    code=$(rq POST "/api/check/ntp/$t")
    h_is "$code/$(w_json .error | sed 's/.*: it is a //')" "403/$why address" "check of $t: 403 ($why)"
done <<LIST
10.1.2.3 private
100.64.0.1 private
192.168.0.1 private
169.254.1.1 link-local
224.0.0.1 multicast
0.0.0.0 unspecified
255.255.255.255 broadcast
192.0.2.1 documentation
198.51.100.7 documentation
203.0.113.9 documentation
2001:db8::1 documentation
fd00::1 private
fe80::1 link-local
ff02::1 multicast
:: unspecified
::ffff:10.0.0.1 private
64:ff9b::10.0.0.1 private
2002:c0a8:0101::1 private
64:ff9b::c000:201 documentation
LIST
h_is "$(rq POST '/api/check/ntp/127.0.0.2?all=maybe')/$(w_json .error)" "400/invalid all 'maybe': use 1 or 0" "all=maybe: 400"

# ---- methods, bodies, content types ----
h_is "$(rq GET /api/check/ntp/127.0.0.2)/$(w_header Allow)" "405/POST" "GET on the check endpoint: 405, Allow: POST"
h_is "$(rq OPTIONS /api/check/ntp/127.0.0.2)/$(w_header Access-Control-Allow-Origin)" "405/" \
    "no CORS preflight for checks (405, no Access-Control-Allow-Origin)"
h_is "$(rq DELETE /api/servers)" 405 "DELETE /api/servers: 405"
head -c 5000 /dev/zero | tr '\0' 'x' >"$H_TMP/big"
h_is "$(rq POST /api/check/ntp/127.0.0.2 -H 'Content-Type: application/json' --data-binary @"$H_TMP/big")" 413 \
    "a 5000-byte body: 413"
h_is "$(rq POST /api/check/ntp/127.0.0.2 -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
        --data-binary @"$H_TMP/big")" 413 "…also chunked, without a length: 413"
h_is "$(rq POST /api/check/ntp/127.0.0.2 -H 'Content-Type: text/plain' --data 'all=1')" 415 "a text/plain body: 415"
h_is "$(rq POST /api/check/ntp/127.0.0.2 --data 'all=1')" 415 "a form body: 415"
h_is "$(rq POST /api/check/ntp/127.0.0.2 -H 'Content-Type: application/json' --data 'not json')/$(w_json .error)" \
    "400/the body must be a JSON object" "a body that is not JSON: 400"
h_is "$(rq POST /api/check/ntp/127.0.0.2 -H 'Content-Type: application/json' --data '{"all":"yes"}')" 400 \
    "{\"all\":\"yes\"}: 400"

# ---- history and stream parameters ----
h_is "$(rq GET /api/nope)" 404 "an unknown endpoint: 404"
h_is "$(rq GET /api/server/scores/127.0.0.99/json)/$(w_json .error)" "404/server not found" "an unknown server: 404"
h_is "$(rq GET /api/server/scores/99999/log)" 404 "an unknown server id: 404"
h_is "$(rq GET /api/server/scores/abc/json)" 400 "neither address nor id: 400"
h_is "$(rq GET /api/server/scores/1/xml)" 404 "an unknown mode: 404"
h_is "$(rq GET '/api/server/scores/1/json?monitor=nosuch')/$(w_json .error)" "404/monitor not found" "an unknown monitor: 404"
h_is "$(rq GET '/api/server/scores/1/json?monitor=bad%20name')" 400 "an invalid monitor name: 400"
h_is "$(rq GET '/api/server/scores/1/json?since=yesterday')" 400 "an unreadable since: 400"
h_is "$(rq GET /api/server/scores/127.0.0.99/stream)" 404 "a stream of an unknown server: 404"
"$H_BIN/ntpmonctl" server add 203.0.113.50 --account pool-operators >/dev/null
big=$(h_sql "SELECT id FROM servers WHERE ip = '203.0.113.50'")
h_is "$(rq GET /api/server/scores/203.0.113.50/stream --max-time 2)" 200 \
    "a stream of a server added a moment ago (not yet in the directory): found in the database"
h_sql "INSERT INTO log_scores (server_id, ts, score, step, attributes)
       SELECT $big, '2020-01-01' + INTERVAL seq MINUTE, seq / 1000, 1, '{\"leap\":0,\"error\":\"\"}' FROM seq_1_to_10050"
h_is "$(rq GET "/api/server/scores/$big/log?limit=20000")/$(wc -l <"$W_BODY")" "200/10001" "limit=20000 is clamped to 10 000 rows"
h_is "$(rq GET "/api/server/scores/$big/json?limit=20000")/$(w_json '.history | length')" "200/10000" "…in JSON too"
h_is "$(rq GET "/api/server/scores/$big/json?limit=abc")/$(w_json '.history | length')" "200/100" "an unreadable limit: the default 100"
h_is "$(rq GET "/api/server/scores/$big/json?limit=-5")/$(w_json '.history | length')" "200/100" "a negative limit: the default 100"

# ---- checks: token buckets, one in flight, the cache ----
C1=198.51.100.1
h_is "$(as $C1 POST /api/check/ntp/127.0.0.2)" 200 "client 1, first check: 200"
h_is "$(as $C1 POST /api/check/ntp/127.0.0.3)" 200 "client 1, second check (burst 2): 200"
code=$(as $C1 POST /api/check/ntp/127.0.0.4)
h_is "$code/$(w_json .error | sed 's/;.*//')" "429/too many checks from your address" "client 1, third: 429"
h_num_between "$(w_header Retry-After)" 1 60 "…with Retry-After in seconds ($(w_header Retry-After))"
h_is "$(as $C1 POST /api/check/ntp/127.0.0.2)/$(w_header X-Ntpmon-Check)" "200/cached" \
    "…but the same target again is answered from the cache, free"
h_is "$(as "$C1, $PROXY" POST /api/check/ntp/127.0.0.4)/$(w_json .error | sed 's/;.*//')" \
    "429/too many checks from your address" "X-Forwarded-For through two trusted hops names the same client"
# a monitor that hangs (SIGSTOP) keeps a check running until its deadline
kill -STOP "${H_PID[agent-syd1]}"
C2=198.51.100.2 C3=198.51.100.3
curl -s -N --max-time 20 -X POST --interface $PROXY -H "X-Forwarded-For: $C2" -H 'Accept: text/event-stream' \
    "$W_URL/api/check/ntp/127.0.0.3?all=1" >"$H_TMP/c2.sse" &
c2=$!
h_wait_ok "client 2's streamed check is running (first answer in)" 10 grep -q '^event: answer' "$H_TMP/c2.sse"
code=$(as $C2 POST /api/check/ntp/127.0.0.2)
h_is "$code/$(w_json .error | sed 's/;.*//')" "429/a check from your address is still running" \
    "client 2 asks again while its check runs: 429"
h_like "$(w_header Retry-After)" '^[0-9]+$' "…with Retry-After"
before=$(w_metric ntpmon_web_checks_total)
curl -s -N --max-time 20 -X POST --interface $PROXY -H "X-Forwarded-For: $C3" -H 'Accept: text/event-stream' \
    "$W_URL/api/check/ntp/127.0.0.3?all=1" >"$H_TMP/c3.sse" &
c3=$!
wait $c2 $c3
h_is "$(w_metric ntpmon_web_checks_total)" "$before" "client 3 asking the same target joined the running check (no new probes)"
h_is "$(grep -c '^event: answer' "$H_TMP/c3.sse")" 3 "…and got all three answers"
h_like "$(cat "$H_TMP/c2.sse")" '"monitor":"syd1","healthy":false,"error":"no answer \(timeout\)"' \
    "the hung monitor is reported at the deadline: no answer (timeout)"
kill -CONT "${H_PID[agent-syd1]}"
h_is "$(as 198.51.100.4 POST /api/check/ntp/127.0.0.4)" 200 "another client, new target: 200 (the 4th check overall)"
code=$(as 198.51.100.5 POST /api/check/ntp/::1)
h_is "$code/$(w_json .error | sed 's/;.*//')" "429/too many checks right now" "the 5th: the global bucket is empty, 429"
# an untrusted peer's X-Forwarded-For is ignored: naming client 1 does not make it client 1 (whose bucket is empty)
code=$(w_req POST /api/check/ntp/127.0.0.5 -H "X-Forwarded-For: $C1")
h_is "$code/$(w_json .error | sed 's/;.*//')" "429/too many checks right now" \
    "X-Forwarded-For from an untrusted peer is ignored (its own bucket is full; only the global one stops it)"

# ---- the per-client API bucket ----
C6=198.51.100.6
codes=$(for i in $(seq 1 45); do as $C6 GET /api/servers; echo; done | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
h_like "$codes" "200:3[0-3] 429:1[2-5]" "45 quick requests from one client: the burst (30) answered, the rest 429 ($codes)"

# ---- streams: caps, and a client that vanishes is freed ----
pids=()
stream_as() { curl -s -N --max-time 60 --interface $PROXY -H "X-Forwarded-For: $1" "$W_URL/api/server/scores/1/stream" >/dev/null & pids+=($!); }
stream_as 198.51.100.7; stream_as 198.51.100.7
h_wait_ok "two streams open" 10 bash -c "[ \"\$(curl -s $W_URL/metrics | awk '\$1 == \"ntpmon_web_streams\" {print \$2}')\" = 2 ]"
h_is "$(as 198.51.100.7 GET /api/server/scores/1/stream)/$(w_json .error)" "503/too many event streams from your address" \
    "a third stream from the same client: 503"
stream_as 198.51.100.8; stream_as 198.51.100.8; stream_as 198.51.100.9; stream_as 198.51.100.9
h_wait_ok "six streams open" 10 bash -c "[ \"\$(curl -s $W_URL/metrics | awk '\$1 == \"ntpmon_web_streams\" {print \$2}')\" = 6 ]"
h_is "$(as 198.51.100.10 GET /api/scores/stream)/$(w_json .error)" "503/too many event streams open; try again later" \
    "past the total cap: 503"
kill -KILL "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null
h_wait_ok "streams of killed clients are freed (the next ping finds them gone)" 10 \
    bash -c "[ \"\$(curl -s $W_URL/metrics | awk '\$1 == \"ntpmon_web_streams\" {print \$2}')\" = 0 ]"

# ---- slow senders and too many connections ----
out=$(/usr/bin/python3 - "$P_WEB_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /api/servers HTTP/1.1\r\nHost: x\r\n")
t0 = time.monotonic()
try:
    while time.monotonic() - t0 < 15:  # one byte every 0.3 s: never idle, never done
        s.sendall(b"X")
        time.sleep(0.3)
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                break
        except BlockingIOError:
            pass
        s.setblocking(True)
except OSError:
    pass
print("%.1f" % (time.monotonic() - t0))
PY
)
h_num_between "$out" 1.5 6 "a client dripping its headers is cut at the 2 s request deadline (after ${out}s)"
h_like "$(w_metric ntpmon_web_deadline_closed_total)" '^[1-9]' "…and counted"
out=$(/usr/bin/python3 - "$P_WEB_PORT" "$PROXY" <<'PY'
import socket, sys, time
port, proxy = int(sys.argv[1]), sys.argv[2]
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s
mine = [conn("127.0.0.1") for _ in range(12)]
time.sleep(0.3)
extra = conn("127.0.0.1")
extra.settimeout(1.5)
try:
    refused = extra.recv(1) == b""
except ConnectionResetError:
    refused = True
except socket.timeout:
    refused = False
# a trusted proxy is not limited per address
many = [conn(proxy) for _ in range(20)]
many[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
many[-1].settimeout(3)
reply = many[-1].recv(100)
print("refused=%s proxy=%s" % (refused, reply.split(b"\r\n")[0].decode()))
PY
)
h_is "$out" "refused=True proxy=HTTP/1.1 200 OK" "the 13th connection from one address is refused; a trusted proxy may open 20"
h_like "$(w_metric ntpmon_web_refused_connections_total)" '^[1-9]' "…counted"

# ---- loopback targets need --allow-loopback ----
port2=$(h_free_port tcp)
h_spawn web2 env MQTT_TOKEN="${P_TOKEN[web]}" "$H_BIN/ntpmon-web" --listen "127.0.0.1:$port2"
h_wait 10 h_port_open_tcp "$port2"
h_is "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port2/api/check/ntp/127.0.0.2")" 403 \
    "without --allow-loopback a loopback target is refused: 403"
h_stop web2; h_is "$?" 0 "…(that gateway exits 0 on SIGTERM)"
h_alive web; h_is "$?" 0 "ntpmon-web survived all of it"
h_stop web; h_is "$?" 0 "…and exits 0 on SIGTERM"
h_done
