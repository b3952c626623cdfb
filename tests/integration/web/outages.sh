#!/usr/bin/env bash
# ntpmon-web while its database and its broker go away and come back: it stays up, answers 503 with the reason for
# what needs the missing part (history without the database; checks and online monitors without the broker),
# keeps serving what does not (checks without the database, the server list, open streams), /healthz says why, and
# everything recovers by itself — an open score stream survives a broker restart and carries new scores after it.
# SIGTERM while a check waits: the check is answered, exit 0.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/pipeline.sh"
. "$H_ROOT/tests/lib/web.sh"
P_WEB_FLAGS="--check-rate 600 --check-burst 100 --check-rate-global 6000 --check-burst-global 100 --check-cache 0"
P_SCORER_FLAGS="--record-same-interval 0 --record-close-interval 0"
p_stack
w_init
h_wait_ok "web is healthy" 20 bash -c "[ \"\$(curl -s $W_URL/healthz)\" = ok ]"
online() { w_req GET /api/monitors/online >/dev/null; [ "$(w_json 'length')" = 3 ]; }
h_wait_ok "three monitors online" 20 online
h_is "$(w_req GET /api/server/scores/1/json)" 200 "history answers"

# ---- the database goes away ----
h_stop_mariadb
h_wait_ok "history: 503 while the database is away" 20 w_is_code 503 GET /api/server/scores/1/json
h_like "$(w_json .error)" "^database unavailable: " "…with the reason"
h_wait_ok "/healthz says why" 20 bash -c "curl -s $W_URL/healthz | grep -q '^unhealthy: database: '"
h_is "$(w_req GET /healthz)" 503 "…with 503"
h_is "$(w_req GET /api/servers)/$(w_json 'length')" "200/3" "the server list is still served (from memory)"
h_is "$(w_req POST /api/check/ntp/127.0.0.2)/$(w_json 'length')" "200/3" "checks work without the database"
h_is "$(w_req GET /api/server/scores/127.0.0.99/stream)" 503 "a stream of a server not in memory: 503 (needs the database)"
h_alive web; h_is "$?" 0 "ntpmon-web stays up"
h_restart_mariadb
h_wait_ok "history recovers by itself" 30 w_is_code 200 GET /api/server/scores/1/json
h_wait_ok "/healthz is ok again" 10 bash -c "[ \"\$(curl -s $W_URL/healthz)\" = ok ]"

# ---- the broker goes away, with a score stream open ----
curl -s -N --max-time 120 "$W_URL/api/server/scores/1/stream" >"$H_TMP/kept.sse" &
kept=$!
h_wait 10 grep -q '^event: score' "$H_TMP/kept.sse"
h_stop mosquitto
h_wait_ok "online monitors: 503 while the broker is away" 20 w_is_code 503 GET /api/monitors/online
h_like "$(w_json .error)" "^broker unavailable: " "…with the reason"
h_is "$(w_req POST /api/check/ntp/127.0.0.3)/$(w_json .error | sed "s/:.*//")" "503/broker unavailable" "checks: 503, broker unavailable"
h_wait_ok "/healthz says why" 10 bash -c "curl -s $W_URL/healthz | grep -q 'broker: '"
h_is "$(w_req GET /api/server/scores/1/log)" 200 "history works without the broker"
kill -0 "$kept" 2>/dev/null; h_is "$?" 0 "the open stream stays open"
lines=$(wc -l <"$H_TMP/kept.sse")
h_restart_mosquitto
h_wait_ok "online monitors come back by themselves" 30 online
h_wait_ok "checks work again" 20 w_is_code 200 POST /api/check/ntp/127.0.0.3
h_wait_ok "/healthz is ok again" 10 bash -c "[ \"\$(curl -s $W_URL/healthz)\" = ok ]"
h_wait_ok "the stream opened before the restart carries new scores after it" 30 \
    bash -c "tail -n +$((lines + 1)) '$H_TMP/kept.sse' | grep -q '^event: score'"
kill "$kept" 2>/dev/null; wait "$kept" 2>/dev/null

# ---- SIGTERM while a check waits for a hung monitor ----
kill -STOP "${H_PID[agent-syd1]}"
curl -s --max-time 30 -X POST "$W_URL/api/check/ntp/127.0.0.4?all=1" -o "$H_TMP/last.json" -w '%{http_code}' >"$H_TMP/last.code" &
last=$!
h_wait 10 grep -q 'check .* of 127.0.0.4 (all monitors) started' "${H_LOG[web]}"
h_wait 10 bash -c "[ \$(grep -c 'ad-hoc check of 127.0.0.4' '${H_LOG[agent-ams1]}') -ge 1 ]"
h_stop web; rc=$?
kill -CONT "${H_PID[agent-syd1]}"
wait "$last"
h_is "$rc" 0 "SIGTERM while a check waits: exit 0"
h_is "$(cat "$H_TMP/last.code")" 200 "…the waiting check got its answer"
h_like "$(jq -r 'map(.monitor) | sort | join(",")' "$H_TMP/last.json")" "ams1,lax1,syd1" "…every asked monitor in it"
h_done
