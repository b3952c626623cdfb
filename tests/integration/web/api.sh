#!/usr/bin/env bash
# ntpmon-web against the whole pipeline (broker with the plugin, MariaDB, three agents probing chronyd and the fake
# servers, ingest, scorer, selector): the check endpoint returns healthy answers from the real agents, all=1 asks
# everyone, Accept: text/event-stream streams each answer as it arrives, a repeat within the cache time answers
# from the cache; online monitors and servers; the JSON history equals the rows in log_scores; the CSV equals
# `ntpmonctl log` byte for byte; score streams start with the retained score and deliver each new score within a
# second of the scorer publishing it; SIGTERM with a stream open exits 0.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/pipeline.sh"
. "$H_ROOT/tests/lib/web.sh"
P_WEB_FLAGS="--check-rate 600 --check-burst 100 --check-rate-global 6000 --check-burst-global 100"
P_SCORER_FLAGS="--record-same-interval 0 --record-close-interval 0" # every overall score is recorded: live changes
p_stack
w_init

h_wait_ok "/healthz is ok once the broker and database are reached" 20 bash -c "[ \"\$(curl -s $W_URL/healthz)\" = ok ]"

# ---- online monitors and servers ----
online() { w_req GET /api/monitors/online >/dev/null; [ "$(w_json 'map(.name) | sort | join(",")')" = "ams1,lax1,syd1" ]; }
h_wait_ok "online monitors: ams1, lax1, syd1" 20 online
h_is "$(w_json '.[0] | [.ipv4, .ipv6, (.version | length > 0), (.last_seen | test("Z$"))] | map(tostring) | join(" ")')" \
    "true true true true" "…with their families (both with --allow-loopback), version and last status time"
h_is "$(w_header Access-Control-Allow-Origin)" "*" "…public: Access-Control-Allow-Origin: *"
code=$(w_req GET /api/servers)
h_is "$code" 200 "GET /api/servers"
h_is "$(w_json 'map(.ip) | join(" ")')" "127.0.0.2 127.0.0.3 127.0.0.4" "…lists every server"
in_pool_with_3() {
    w_req GET /api/servers >/dev/null
    [ "$(w_json '.[] | select(.ip == "127.0.0.2") | "\(.in_pool) \(.active | length)"')" = "true 3" ]
}
h_wait_ok "the chronyd server shows in the pool with 3 active monitors" 90 in_pool_with_3
h_like "$(w_json '.[] | select(.ip == "127.0.0.2") | "\(.id) \(.score) \(.score_ts)"')" '^1 1[0-9.]+ 20[0-9-]+T' "…with its id, score and time"

# ---- checks: JSON at the end ----
code=$(w_req POST /api/check/ntp/127.0.0.2)
h_is "$code" 200 "POST /api/check/ntp/127.0.0.2"
h_is "$(w_json 'length')" 3 "…three answers (stop after 3 healthy)"
h_is "$(w_json '[.[] | select(.healthy)] | length')" 3 "…all healthy"
h_is "$(w_json 'map(.monitor) | sort | join(",")')" "ams1,lax1,syd1" "…one from each monitor"
h_is "$(w_json '[.[].result | "\(.ip) \(.stratum) \(.error)"] | unique | join(",")')" "127.0.0.2 1 " "…real probes of chronyd"
h_is "$(w_header Access-Control-Allow-Origin)" "" "…and no CORS header on a check"
ids=$(w_json 'map(.result.id) | sort | join(",")')
code=$(w_req POST /api/check/ntp/127.0.0.2)
h_is "$code/$(w_header X-Ntpmon-Check)" "200/cached" "the same target again within the cache time: from the cache"
h_is "$(w_json 'map(.result.id) | sort | join(",")')" "$ids" "…the very same answers"
code=$(w_req POST '/api/check/ntp/127.0.0.4?all=1')
h_is "$code" 200 "all=1 of the RATE server"
h_is "$(w_json 'length')" 3 "…asks every monitor"
h_is "$(w_json '[.[] | select(.healthy | not)] | length')" 3 "…none healthy"
h_is "$(w_json '[.[].result.error] | unique | join(",")')" "RATE" "…each answer says RATE"
code=$(w_req POST /api/check/ntp/127.0.0.3 -H 'Content-Type: application/json' --data '{"all":true}')
h_is "$code/$(w_json 'length')" "200/3" "a JSON body {\"all\":true} works too"

# ---- checks: streamed (each answer the moment it arrives) ----
curl -s -N --max-time 20 -X POST -H 'Accept: text/event-stream' "$W_URL/api/check/ntp/::ffff:127.0.0.3" |
    while IFS= read -r line; do printf '%s %s\n' "$(date +%s%N)" "$line"; done >"$H_TMP/check.sse"
answers=$(grep -c ' event: answer$' "$H_TMP/check.sse")
h_is "$answers" 3 "streamed check (a v4-mapped target, checked as IPv4): three answer events"
h_like "$(grep -A1 ' event: done$' "$H_TMP/check.sse" | tail -1)" '"answers":3,"healthy":3,"cached":false' "…then a done event"
first=$(awk '$2 == "event:" && $3 == "answer" { print $1; exit }' "$H_TMP/check.sse")
last=$(awk '$2 == "event:" && $3 == "done" { print $1; exit }' "$H_TMP/check.sse")
h_num_between "$(( (last - first) / 1000000 ))" 500 20000 "…the first answer came well before the end (ms; monitors are asked 400 ms apart)"
h_like "$(grep -A1 ' event: answer$' "$H_TMP/check.sse" | sed -n 2p)" '"ip":"127.0.0.3"' "…answers carry the probe's result"

# ---- history: JSON rows equal log_scores, CSV equals ntpmonctl log (scorer stopped: the log holds still) ----
h_stop scorer
sql_rows() {
    h_sql "SET time_zone = '+00:00'; SELECT FLOOR(UNIX_TIMESTAMP(ts)), IFNULL(monitor_id, 0), ROUND(score, 9), ROUND(step, 9), IFNULL(ROUND(\`offset\`, 9), '-')
           FROM log_scores WHERE server_id = 1 $1 ORDER BY ts DESC, id DESC LIMIT $2"
}
api_rows() { w_json '.history[] | "\(.ts)\t\(.monitor_id)\t\(.score)\t\(.step)\t\(.offset // "-")"'; }
num_rows() { awk -F'\t' '{ printf "%s\t%s\t%.9f\t%.9f\t%s\n", $1, $2, $3, $4, ($5 == "-" ? "-" : sprintf("%.9f", $5)) }'; }
code=$(w_req GET '/api/server/scores/127.0.0.2/json?monitor=*&limit=200')
h_is "$code" 200 "GET …/127.0.0.2/json?monitor=*&limit=200"
h_is "$(api_rows | num_rows)" "$(sql_rows "" 200 | num_rows)" "…every row equals log_scores (ts, monitor, score, step, offset)"
h_is "$(w_json '.server | "\(.id) \(.ip)"')" "1 127.0.0.2" "…server {id, ip}"
h_is "$(w_json '.monitors | map(.name) | join(",")')" "ams1,lax1,syd1" "…monitors of the rows: ams1, lax1, syd1"
h_like "$(w_json '.monitors[0] | "\(.id) \(.type) \(.status) \(.score)"')" '^1 monitor active [0-9.]+$' "…with id, type, status, score"
h_is "$(w_header Access-Control-Allow-Origin)" "*" "…and Access-Control-Allow-Origin: *"
code=$(w_req GET /api/server/scores/1/json)
h_is "$(w_json '.history | length')/$(w_json '[.history[].monitor_id] | unique | join(",")')" \
    "$(sql_rows "AND monitor_id IS NULL" 100 | wc -l)/0" "default: the overall score only, 100 rows at most"
h_is "$(api_rows | num_rows)" "$(sql_rows "AND monitor_id IS NULL" 100 | num_rows)" "…equal to log_scores"
since=$(h_sql "SET time_zone = '+00:00'; SELECT FLOOR(UNIX_TIMESTAMP(ts)) FROM log_scores WHERE server_id = 1 ORDER BY ts LIMIT 20, 1")
# each line: the query string | the same request as ntpmonctl log flags
while IFS='|' read -r q flags; do
    code=$(w_req GET "/api/server/scores/127.0.0.2/log$q")
    eval "\"\$H_BIN/ntpmonctl\" log 127.0.0.2 $flags" >"$H_TMP/ctl.csv"
    if cmp -s "$W_BODY" "$H_TMP/ctl.csv" && [ "$code" = 200 ]; then h_pass "CSV log$q equals ntpmonctl log $flags ($(wc -l <"$W_BODY") lines)"
    else h_fail "CSV log$q equals ntpmonctl log $flags" "code $code" "$(diff "$W_BODY" "$H_TMP/ctl.csv" | head -5)"; fi
done <<LIST
|--limit 100
?monitor=*|--monitor '*' --limit 100
?monitor=*&limit=7|--monitor '*' --limit 7
?monitor=ams1|--monitor ams1 --limit 100
?monitor=2&limit=30|--monitor 2 --limit 30
?monitor=*&since=$since|--monitor '*' --limit 100 --since $since
?limit=3&since=$since|--limit 3 --since $since
LIST
h_is "$(w_header Content-Type)" "text/plain; charset=utf-8" "the CSV is served as text/plain"
h_is "$(w_header Access-Control-Allow-Origin)" "*" "…with Access-Control-Allow-Origin: *"
h_is "$(head -1 "$W_BODY")" "ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error" "…the pool's header"
p_start scorer

# ---- score streams ----
timeout 3 curl -s -N "$W_URL/api/server/scores/127.0.0.2/stream" >"$H_TMP/first.sse"
h_is "$(sed -n 1p "$H_TMP/first.sse")" "retry: 2000" "a score stream starts with a reconnect hint"
h_is "$(sed -n 3p "$H_TMP/first.sse")" "event: score" "…then the retained score"
h_like "$(sed -n 4p "$H_TMP/first.sse")" '^data: \{"server_id":1,"score":' "…as the scorer published it"
p_token watch watcher
out=$(/usr/bin/python3 "$H_ROOT/tests/integration/web/score_latency.py" "$W_URL" 1 "$H_MQTT_PORT" watch-test \
      "${P_TOKEN[watch]}" test 60 5 2>&1); rc=$?
h_diag "$(echo "$out" | tail -1)"
h_is "$rc" 0 "the stream delivered the scorer's new scores (5 matched with the broker's)"
h_num_between "$(echo "$out" | tail -1 | awk '{print $4}')" -1 1.0 "…each within a second of the broker delivering it"
timeout 8 curl -s -N "$W_URL/api/scores/stream" >"$H_TMP/all.sse"
h_like "$(grep -c '^event: score' "$H_TMP/all.sse")" '^[1-9]' "the every-server stream carries score events"
h_is "$(grep '^data: ' "$H_TMP/all.sse" | sed 's/.*"server_id":\([0-9]*\).*/\1/' | sort -u | wc -l)" 3 "…of all three servers"
timeout 8 curl -s -N "$W_URL/api/server/scores/1/stream" >"$H_TMP/one.sse"
h_like "$(grep -c '^event: result' "$H_TMP/one.sse")" '^[1-9]' "a server's stream carries its results"
h_is "$(grep '^data: ' "$H_TMP/one.sse" | grep -v '"server_id":1,' | wc -l)" 0 "…and nothing of other servers"

# ---- the page is served ----
code=$(w_req GET /)
h_is "$code/$(w_header Content-Type)" "200/text/html; charset=utf-8" "GET / serves the page"
h_like "$(w_header Content-Security-Policy)" "default-src 'self'" "…with a content security policy"
etag=$(w_header ETag)
h_is "$(w_req GET /scores/127.0.0.2 -H "If-None-Match: $etag")" 304 "…and 304 for an unchanged copy"
h_is "$(w_req GET /assets/app.js)/$(w_header Content-Type)" "200/text/javascript; charset=utf-8" "the script"
h_like "$(curl -s "$W_URL/metrics")" "ntpmon_web_checks_total [1-9]" "/metrics counts the checks"

# ---- SIGTERM with a stream open: drained, exit 0 ----
curl -s -N --max-time 30 "$W_URL/api/server/scores/1/stream" >"$H_TMP/term.sse" &
curl_pid=$!
h_wait 10 grep -q '^event: score' "$H_TMP/term.sse"
h_stop web; rc=$?
h_is "$rc" 0 "SIGTERM: ntpmon-web exits 0 with a stream open"
wait "$curl_pid"; h_is "$?" 0 "…and the stream ended cleanly for the client"
h_like "$(h_log web)" "draining \([0-9]+ requests, [1-9][0-9]* streams" "…it logged the drain (the stream among those open)"
h_done
