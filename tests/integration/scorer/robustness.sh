#!/usr/bin/env bash
# ntpmon-scorer when things go wrong or change: a result delivered twice (broker redelivery, agent spool replay)
# is scored once; results older than --max-age are not scored; a result ingest stored but the broker never
# delivered is found by the rescan; monitor statuses follow status/selection events and the periodic reload; a
# broker restart and a database outage delay scoring but lose nothing; a deleted server leaves the pool; bad
# configuration exits 2 with a clear message.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/scorer-lib.bash"
SELECTOR_TOKEN=$(h_token selector)
SELECTOR_USER=$(tok_sub "$SELECTOR_TOKEN")
feed() { MQTT_TOKEN=$FEED_TOKEN "$H_BIN/result-feed" "$MQTT_URL" --env test "$@"; }
rows_of() { h_sql "SELECT COUNT(*) FROM log_scores WHERE result_id = '$1' AND monitor_id IS NOT NULL"; }
scored() { [ "$(rows_of "$1")" = 1 ]; }
status_of() { h_sql "SELECT JSON_VALUE(attributes, '\$.status') FROM log_scores WHERE result_id = '$1' AND monitor_id IS NOT NULL"; }
new_result() { py one "$@" | tee -a "$H_TMP/all.jsonl"; }
id_of() { sed 's/.*"id":"\([0-9A-Z]*\)".*/\1/' <<<"$1"; }
ingest() { # the results-table row ingest would write
    py tsv <(echo "$1") "${mons#,}" >"$H_TMP/row.tsv"
    mariadb --no-defaults -S "$H_DB_SOCK" -uroot ntpmon_test --local-infile=1 -e "LOAD DATA LOCAL INFILE
        '$H_TMP/row.tsv' INTO TABLE results (id, monitor_id, server_id, ts, ip, status, \`offset\`, rtt, stratum,
        leap, refid, error, samples, agent)"
}

h_ok "migrate" ctl db migrate
ctl account add ops >/dev/null
mons=""
for m in m1 m2 m3; do
    ctl monitor add --name "$m" --account ops --ip4 "203.0.113.${m#m}" --status active >/dev/null
    mons="$mons,$m=$(h_sql "SELECT id FROM monitors WHERE name='$m'")"
done
ctl server add 192.0.2.1 --account ops >/dev/null
ctl server add 192.0.2.2 --account ops >/dev/null
s1=$(h_sql "SELECT id FROM servers WHERE ip='192.0.2.1'")
s2=$(h_sql "SELECT id FROM servers WHERE ip='192.0.2.2'")
h_sql "UPDATE server_scores SET status = 'active'"

# ---- bad configuration ----
out=$("$H_BIN/ntpmon-scorer" -e test --shard 2/2 2>&1); rc=$?
h_is "$rc" 2 "--shard 2/2: exit 2"
h_like "$out" "invalid --shard '2/2': want K/N with 0 <= K < N" "… with a clear message"
out=$("$H_BIN/ntpmon-scorer" -e test --batch-size 0 2>&1); rc=$?
h_is "$rc" 2 "--batch-size 0: exit 2"
out=$(DATABASE_DSN='x:y@tcp(127.0.0.1:notaport)/db' "$H_BIN/ntpmon-scorer" -e test 2>&1); rc=$?
h_is "$rc" 2 "a bad DSN: exit 2"
h_unlike "$out" ":y@" "… without the password in the message"
h_spawn waiting env DATABASE_DSN="ntpmon:ntpmon@tcp(127.0.0.1:1)/ntpmon_test" "$H_BIN/ntpmon-scorer" -e test --start-retry 0.2s
h_wait_ok "an unreachable database at start is waited for, not fatal" 10 grep -q "Can't connect.*will keep trying" "${H_LOG[waiting]}"
h_wait_ok "… retrying the start" 10 grep -q "cannot read monitors and servers .*retrying in 0 s" "${H_LOG[waiting]}"
h_stop waiting; h_is "$?" 0 "… and SIGTERM still stops it cleanly"
out=$("$H_BIN/ntpmon-scorer" -e test --mqtt-url 'http://x' 2>&1); rc=$?
h_is "$rc" 2 "a bad broker URL: exit 2"
h_like "$out" "invalid --mqtt-url 'http://x'" "… naming the problem"
out=$(MQTT_TOKEN_FILE=/nonexistent "$H_BIN/ntpmon-scorer" -e test 2>&1); rc=$?
h_is "$rc" 2 "a missing token file: exit 2"
out=$(MQTT_TOKEN=not-a-jwt "$H_BIN/ntpmon-scorer" -e test 2>&1); rc=$?
h_is "$rc" 2 "a token that is not a JWT: exit 2"

# ---- phase 1: statuses from events (the reload is slow here) ----
h_spawn scorer env MQTT_TOKEN="$SCORER_TOKEN" "$H_BIN/ntpmon-scorer" -e test --batch-delay 1ms --max-age 1h --reload-interval 60
h_wait_ok "scorer connects" 10 grep -q "connected to the broker" "${H_LOG[scorer]}"

r1=$(new_result "$s1" m1 600 0.001 active)
printf '%s\n%s\n' "$r1" "$r1" | feed >/dev/null
r2=$(new_result "$s1" m2 590 0.002 active)
echo "$r2" | feed >/dev/null
h_wait_ok "results scored" 15 scored "$(id_of "$r2")"
h_is "$(rows_of "$(id_of "$r1")")" 1 "a result delivered twice in a row is scored once"
echo "$r1" | feed >/dev/null # redelivered later (the agent's spool, after a reconnect)
r3=$(new_result "$s1" m3 580 0.001 active)
echo "$r3" | feed >/dev/null
h_wait_ok "the next result is scored" 15 scored "$(id_of "$r3")"
h_is "$(rows_of "$(id_of "$r1")")" 1 "… and again later: still once"
h_is "$(h_sql "SELECT ROUND(score_raw, 6) FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id WHERE m.name = 'm1' AND server_id = $s1")" \
    "1.000000" "the pair score counted it once"

old=$(new_result "$s1" m1 7300 0.001 active)
ingest "$old"
echo "$old" | feed >/dev/null
r4=$(new_result "$s1" m2 570 0.001 active)
echo "$r4" | feed >/dev/null
h_wait_ok "a later result is scored" 15 scored "$(id_of "$r4")"
h_is "$(rows_of "$(id_of "$old")")" 0 "a result older than --max-age is not scored"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE id = '$(id_of "$old")'")" 1 "… it stays in the results table"

# the selector moves m2 to testing for s1 (database, then the event); the next m2 result uses it at once
h_sql "UPDATE server_scores ss JOIN monitors m ON m.id = ss.monitor_id SET ss.status = 'testing'
       WHERE m.name = 'm2' AND ss.server_id = $s1"
mosquitto_pub -p "$H_MQTT_PORT" -u "$SELECTOR_USER" -P "$SELECTOR_TOKEN" -q 1 -t "ntpmon/test/status/selection/$s1" \
    -m "{\"server_id\":$s1,\"changes\":[{\"monitor\":\"m2\",\"from\":\"active\",\"to\":\"testing\",\"reason\":\"test\"}],\"ts\":\"2026-11-23T19:00:00Z\"}"
# events are not ordered with results on other topics: publish m2 results until one shows the new status
event_seen() {
    local r; r=$(new_result "$s1" m2 500 0.001 active)
    echo "$r" | feed >/dev/null
    h_wait 10 scored "$(id_of "$r")" && [ "$(status_of "$(id_of "$r")")" = testing ]
}
h_wait_ok "a status/selection event changes the status used" 20 event_seen
mosquitto_pub -p "$H_MQTT_PORT" -u "$SELECTOR_USER" -P "$SELECTOR_TOKEN" -q 1 -t "ntpmon/test/status/selection/$s1" -m '{"broken'
r5=$(new_result "$s1" m3 400 0.001 active)
echo "$r5" | feed >/dev/null
h_wait_ok "a broken selection message changes nothing else" 15 scored "$(id_of "$r5")"
h_like "$(h_log scorer)" "ignoring a bad selection message" "… and is reported"

# a result ingest stored but the broker never delivered: the start-up scan of the next run finds it
lost=$(new_result "$s2" m3 300 0.003 active)
ingest "$lost"
h_stop scorer
h_is "$(rows_of "$(id_of "$lost")")" 0 "an undelivered result is not scored by magic"

# ---- phase 2: periodic reload and rescan ----
h_sql "DELETE ss FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id WHERE m.name = 'm2' AND ss.server_id = $s2"
# (a low in-pool threshold and every overall score recorded, so a few results put a server in the pool)
h_spawn scorer env MQTT_TOKEN="$SCORER_TOKEN" "$H_BIN/ntpmon-scorer" -e test --batch-delay 1ms --max-age 1h --reload-interval 0.5 \
    --rescan-interval 0.5 --rescan-settle 0 --in-pool-score 0.5 --record-same-interval 0 --record-close-interval 0
h_wait_ok "restarted: the start-up scan scores the undelivered result" 15 scored "$(id_of "$lost")"
lost2=$(new_result "$s2" m1 200 0.001 active)
ingest "$lost2"
h_wait_ok "the periodic rescan scores one stored while running" 15 scored "$(id_of "$lost2")"

# a pair the selector never created (no server_scores row; deleted before this run): scored, and the row is
# created as a candidate
n1=$(new_result "$s2" m2 150 0.001 active); n2=$(new_result "$s2" m2 140 0.001 active)
printf '%s\n%s\n' "$n1" "$n2" | feed >/dev/null
h_wait_ok "results of a pair without a row are scored" 15 scored "$(id_of "$n2")"
h_is "$(h_sql "SELECT ss.status, ROUND(ss.score_raw, 6) FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id
               WHERE m.name = 'm2' AND ss.server_id = $s2")" "candidate	1.950000" "… the pair row is created (candidate, both results counted)"
h_is "$(status_of "$(id_of "$n1")")/$(status_of "$(id_of "$n2")")" "/candidate" "… the first had no status, the next a candidate's"
# a pair row removed while the scorer has the server in memory: the update notices and inserts it again
h_sql "DELETE ss FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id WHERE m.name = 'm1' AND ss.server_id = $s2"
n3=$(new_result "$s2" m1 130 0.001 active)
echo "$n3" | feed >/dev/null
h_wait_ok "a result for a pair whose row vanished is scored" 15 scored "$(id_of "$n3")"
h_is "$(h_sql "SELECT COUNT(*) FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id WHERE m.name = 'm1' AND ss.server_id = $s2")" 1 \
    "… and the row is back"
h_is "$(rows_of "$(id_of "$old")")" 0 "the rescans leave the too-old result alone"

# status changed in the database only: the periodic reload picks it up
h_sql "UPDATE server_scores ss JOIN monitors m ON m.id = ss.monitor_id SET ss.status = 'candidate'
       WHERE m.name = 'm3' AND ss.server_id = $s1"
reload_seen() {
    local r; r=$(new_result "$s1" m3 100 0.001 active)
    echo "$r" | feed >/dev/null
    h_wait 10 scored "$(id_of "$r")" && [ "$(status_of "$(id_of "$r")")" = candidate ]
}
h_wait_ok "the periodic reload changes the status used" 20 reload_seen

# ---- the broker restarts ----
connects=$(grep -c 'info: connected to the broker' "${H_LOG[scorer]}")
h_stop mosquitto KILL
h_restart_mosquitto
h_wait_ok "reconnects after the broker comes back" 30 bash -c "grep -c 'info: connected to the broker' '${H_LOG[scorer]}' | grep -qx $((connects + 1))"
# The broker was killed: its sessions may be older than the kill (autosave), and until our SUBSCRIBE is through a
# publish can pass us by (ingest would have it: the rescan covers that). Publish until one arrives live.
live_seen() {
    local r; r=$(new_result "$s1" m1 50 0.001 active)
    echo "$r" | feed >/dev/null
    h_wait 3 scored "$(id_of "$r")" && return 0
    id_of "$r" >>"$H_TMP/missed"
    return 1
}
h_wait_ok "results published after the broker restart are scored" 20 live_seen
h_wait_ok "the retained score is republished" 10 bash -c \
    "timeout 5 mosquitto_sub -p $H_MQTT_PORT -u $WATCH_USER -P $WATCH_TOKEN -t 'ntpmon/test/scores/$s1' -C 1 --retained-only | grep -q '\"server_id\":$s1'"

# ---- the database goes away ----
h_stop_mariadb
outage=()
for i in 1 2 3 4 5; do outage+=("$(new_result "$s2" m$(( (i % 3) + 1 )) $((40 - i)) 0.001 active)"); done
printf '%s\n' "${outage[@]}" | feed >/dev/null
h_wait_ok "the outage is noticed" 20 grep -q "database unavailable" "${H_LOG[scorer]}"
h_restart_mariadb
all_outage_scored() { for r in "${outage[@]}"; do scored "$(id_of "$r")" || return 1; done; }
h_wait_ok "results received during the outage are scored once it is back" 45 all_outage_scored
h_is "$(h_sql "SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL")" \
    "$(h_sql "SELECT COUNT(DISTINCT result_id) FROM log_scores WHERE monitor_id IS NOT NULL")" "still nothing scored twice"
# a result only counts as missed when it never got its row (one that was merely slow under load did)
missed=0
while read -r id; do scored "$id" || missed=$((missed + 1)); done < <(cat "$H_TMP/missed" 2>/dev/null)
h_diag "results published before the resubscription went through (not stored by ingest here): $missed"
h_is "$(h_sql "SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL")" "$(( $(sort -u "$H_TMP/all.jsonl" | wc -l) - 1 - missed ))" \
    "every result but the too-old one has its row"


# ---- a server in the pool is deleted: it leaves, and results do not bring it back ----
h_is "$(h_sql "SELECT in_pool FROM servers WHERE id = $s2")" 1 "server 2 is in the pool (threshold 0.5)"
h_ok "server delete" ctl server delete 192.0.2.2
left() {
    local r; r=$(new_result "$s2" m1 5 0.001 active)
    echo "$r" | feed >/dev/null
    h_wait 5 scored "$(id_of "$r")" || return 1
    timeout 5 mosquitto_sub -p "$H_MQTT_PORT" -u "$WATCH_USER" -P "$WATCH_TOKEN" -t "ntpmon/test/status/servers/$s2" -C 1 --retained-only \
        | grep -q '"in_pool":false,.*"reason":"server deleted"'
}
h_wait_ok "a deleted server leaves the pool (retained status: server deleted)" 20 left
h_is "$(h_sql "SELECT in_pool FROM servers WHERE id = $s2")" 0 "… and stays out"
h_stop scorer; h_is "$?" 0 "SIGTERM: exits 0"
h_done
