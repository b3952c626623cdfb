#!/usr/bin/env bash
# ntpmon-scorer against a real broker and database: results for 20 servers from 7 monitors (servers that answer
# well, slowly, far off, not at all, with KoD, flakily, and one that stops answering) flow in; the scorer is
# killed with SIGKILL in the middle and restarted. Afterwards every result is scored exactly once, and every log
# row, pair score, server score, in-pool flag and retained message equals `replay` of the same stream fed the
# statuses the daemon recorded. Bad input (unknown server or monitor, NaN offsets, missing fields, a topic that
# does not match) is logged once and skipped while everything else goes on. Every party logs in to the broker-auth
# broker with its role's token. Ingest is simulated: the test stores each chunk in the results table before
# publishing it, as ingest would. The two runs keep different spans of rows in memory (--history-tail), so both
# the scoring from memory and the loads of older rows are held to replay's numbers.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/scorer-lib.bash"
count_scored() { h_sql "SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL"; }
scored_at_least() { [ "$(count_scored)" -ge "$1" ]; }

h_ok "migrate" ctl db migrate
h_ok "account" ctl account add ops
mon_ids=""
for i in 1 2 3 4 5 6 7; do
    ctl monitor add --name "mon$i" --account ops --ip4 "203.0.113.$i" --status active >/dev/null
    mon_ids="$mon_ids,mon$i=$(h_sql "SELECT id FROM monitors WHERE name='mon$i'")"
done
servers=""
for i in $(seq 1 20); do
    ctl server add "192.0.2.$i" --account ops >/dev/null
    servers="$servers,$(h_sql "SELECT id FROM servers WHERE ip='192.0.2.$i'")"
done
h_is "$(h_sql 'SELECT COUNT(*) FROM server_scores')" 140 "140 candidate pairs"
# the selector's decisions (it has its own tests): 5 active, 1 testing, 1 candidate per server
h_sql "UPDATE server_scores ss JOIN monitors m ON m.id = ss.monitor_id
       SET ss.status = CASE WHEN m.name IN ('mon6') THEN 'testing' WHEN m.name = 'mon7' THEN 'candidate' ELSE 'active' END"
statuses="mon1=active,mon2=active,mon3=active,mon4=active,mon5=active,mon6=testing,mon7=candidate"

start=$(( $(date +%s) - 24 * 300 - 600 ))
py gen "$H_TMP" --servers "${servers#,}" --monitors "${mon_ids#,}" --statuses "$statuses" --rounds 24 \
    --start-ts "$start" --seed 7
total=$(wc -l <"$H_TMP/stream.jsonl")
h_is "$total" 3360 "stream of 24 rounds × 7 monitors × 20 servers"
split -l 1200 -d "$H_TMP/stream.jsonl" "$H_TMP/part."      # part.00 part.01 part.02
split -l 1200 -d "$H_TMP/results.tsv" "$H_TMP/rows."
ingest() { # stores a chunk in the results table, as ingest would before the scorer sees it
    mariadb --no-defaults -S "$H_DB_SOCK" -uroot ntpmon_test --local-infile=1 -e "LOAD DATA LOCAL INFILE '$1'
        INTO TABLE results (id, monitor_id, server_id, ts, ip, status, \`offset\`, rtt, stratum, leap, refid, error,
        samples, agent)"
}
feed() { MQTT_TOKEN=$FEED_TOKEN "$H_BIN/result-feed" "$MQTT_URL" --env test "$@"; }
scorer() { h_spawn scorer env MQTT_TOKEN="$SCORER_TOKEN" "$H_BIN/ntpmon-scorer" -e test --batch-delay 2ms "$@"; }

# ---- part 1: live ----
metrics_port=$(h_free_port tcp)
scorer --metrics-listen "127.0.0.1:$metrics_port"
h_wait_ok "scorer connects" 10 grep -q "connected to the broker" "${H_LOG[scorer]}"
ingest "$H_TMP/rows.00"
h_ok "part 1 published" feed <"$H_TMP/part.00"
h_wait_ok "part 1 scored" 30 scored_at_least 1200
# every result here is older than --history-tail: each server reads its older rows once, at its first result, and
# keeps them while its late results keep coming (not once per batch)
older_loads=$(curl -s "http://127.0.0.1:$metrics_port/metrics" | awk '$1 == "ntpmon_scorer_older_rows_loads_total" {print $2}')
h_ok "each of the 20 servers loaded its older rows once or twice, not per batch (loads: ${older_loads:-none})" \
    test "${older_loads:-0}" -ge 20 -a "${older_loads:-0}" -le 40

# ---- part 2: SIGKILL while results arrive; the broker keeps the rest for the scorer's session ----
ingest "$H_TMP/rows.01"
h_spawn feed2 env MQTT_TOKEN="$FEED_TOKEN" "$H_BIN/result-feed" "$MQTT_URL" --env test --rate 2000 --input "$H_TMP/part.01"
h_wait_ok "part 2 is being scored" 30 scored_at_least 1400
h_stop scorer KILL
killed_at=$(count_scored)
h_diag "killed after $killed_at results"
h_wait_ok "part 2 published while the scorer is down" 30 bash -c "! kill -0 ${H_PID[feed2]} 2>/dev/null"
h_like "$(h_log feed2)" "published 1200" "all of part 2 acknowledged by the broker"
# memory keeps each pair's rows of the last --history-tail (and the latest older one); the first run's 2 min (the default)
# leaves every result of this stream (15 min to 2 h old) to a load of older rows, the restart's 40 min leaves the
# newest rounds to what the first load and the trims keep: both must score as replay does
scorer --history-tail 40m
h_wait_ok "restarted scorer catches up on part 2" 30 scored_at_least 2400
h_like "$(h_log scorer)" "scored [0-9]+ results from the results table" "the start-up scan scored what the crash lost"

# ---- part 3: live again, with bad input mixed in ----
mon1=${mon_ids#*mon1=}; mon1=${mon1%%,*}
sid1=${servers#,}; sid1=${sid1%%,*}
good=$(grep -m1 "\"monitor\":\"mon1\",\"server_id\":$sid1,.*\"offset\"" "$H_TMP/part.02")
{
    head -300 "$H_TMP/part.02"
    for k in 1 2 3; do
        echo "${good/\"server_id\":$sid1/\"server_id\":9999}" | sed "s/\"id\":\"[0-9A-Z]\{6\}/\"id\":\"0000S$k/"
        echo "${good/\"monitor\":\"mon1\"/\"monitor\":\"ghost\"}" | sed "s/\"id\":\"[0-9A-Z]\{6\}/\"id\":\"0000G$k/"
    done
    nan=$(echo "$good" | sed 's/"offset":[-0-9.e]*/"offset":NaN/; s/"id":"[0-9A-Z]\{6\}/"id":"0000N1/')
    echo "@ntpmon/test/results/$sid1/mon1 $nan"
    echo "@ntpmon/test/results/$sid1/mon1 ${nan/0000N1/0000N2}"
    echo "@ntpmon/test/results/$sid1/mon1 $(echo "$good" | sed 's/"ts":"[^"]*",//')"
    echo "@ntpmon/test/results/$sid1/mon2 $good"
    echo "@ntpmon/test/results/$sid1/mon1 {not json"
    tail -n +301 "$H_TMP/part.02"
} >"$H_TMP/part3.txt"
ingest "$H_TMP/rows.02"
h_ok "part 3 published" feed <"$H_TMP/part3.txt"
h_wait_ok "everything scored" 30 scored_at_least "$total"

# ---- exactly once ----
h_is "$(count_scored)" "$total" "each valid result has exactly one per-monitor log row"
h_is "$(h_sql 'SELECT COUNT(DISTINCT result_id) FROM log_scores WHERE monitor_id IS NOT NULL')" "$total" "no result scored twice"
h_is "$(h_sql 'SELECT COUNT(*) FROM results r LEFT JOIN log_scores l ON l.result_id = r.id AND l.monitor_key = r.monitor_id WHERE l.id IS NULL')" 0 \
    "no stored result left unscored"
h_is "$(h_sql 'SELECT COUNT(*) FROM log_scores WHERE server_id = 9999 OR result_id LIKE "0000%"')" 0 "bad input wrote nothing"

# ---- bad input: logged once, skipped ----
log=$(h_log scorer)
h_is "$(grep -c 'skipping results for unknown server 9999' <<<"$log")" 1 "unknown server logged once (3 results)"
h_is "$(grep -c 'skipping results of unknown monitor ghost' <<<"$log")" 1 "unknown monitor logged once (3 results)"
h_is "$(grep -c "field 'offset' is not a finite number" <<<"$log")" 1 "NaN offset logged once (2 results)"
h_like "$log" "field 'ts' is missing" "a missing field is reported"
h_like "$log" "monitor 'mon1' does not match the topic's 'mon2'" "a topic that does not match is reported"
h_like "$log" "invalid JSON" "broken JSON is reported"

# ---- the same as replay, fed the statuses the daemon recorded, in the order it scored ----
h_sql "SELECT result_id, JSON_VALUE(attributes, '\$.status') FROM log_scores WHERE monitor_id IS NOT NULL ORDER BY id" >"$H_TMP/order.tsv"
h_is "$(cut -f2 "$H_TMP/order.tsv" | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd,)" \
    "active=2400,candidate=480,testing=480" "the status used is recorded in each row"
py replay-input "$H_TMP/stream.jsonl" "$H_TMP/order.tsv" >"$H_TMP/replay-in.jsonl"
"$H_BIN/ntpmon-scorer" replay -e test <"$H_TMP/replay-in.jsonl" >"$H_TMP/replay.json" 2>/dev/null
h_sql "SELECT IF(monitor_id IS NULL, 'overall', 'monitor'), result_id, step, score,
       IFNULL(JSON_VALUE(attributes, '\$.status'), '') FROM log_scores ORDER BY id" >"$H_TMP/db.tsv"
h_ok "every log row (per monitor and overall) equals replay's" py compare "$H_TMP/replay.json" "$H_TMP/db.tsv"

# pair scores and server scores: the last of each in replay
h_sql "SELECT ss.server_id, m.name, ss.score_raw FROM server_scores ss JOIN monitors m ON m.id = ss.monitor_id" \
    | awk '{printf "%s %s %.9f\n", $1, $2, $3}' | sort >"$H_TMP/pairs.db"
py last-pairs "$H_TMP/replay.json" | sort >"$H_TMP/pairs.replay"
h_ok "server_scores.score_raw of all 140 pairs equals replay" diff "$H_TMP/pairs.db" "$H_TMP/pairs.replay"
h_sql "SELECT id, score_raw, in_pool FROM servers" | awk '{printf "%s %.9f %s\n", $1, $2, $3}' | sort >"$H_TMP/servers.db"
py last-servers "$H_TMP/replay.json" | sort >"$H_TMP/servers.replay"
h_ok "servers.score_raw and in_pool equal replay" diff "$H_TMP/servers.db" "$H_TMP/servers.replay"

# in and out of the pool as the profiles say
in_pool() { h_sql "SELECT in_pool FROM servers WHERE id = $1"; }
profile_ids() { awk -v p="$1" '$2 == p {print $1}' "$H_TMP/profiles.txt"; }
ok=1; for s in $(profile_ids good); do [ "$(in_pool "$s")" = 1 ] || ok=0; done
h_is "$ok" 1 "servers answering well are in the pool"
ok=1; for p in bad far leaver; do for s in $(profile_ids $p); do [ "$(in_pool "$s")" = 0 ] || ok=0; done; done
h_is "$ok" 1 "silent, far-off and departed servers are out"
leaver=$(profile_ids leaver | head -1)

# retained messages: one per server topic, byte for byte the last one replay would publish
"$H_BIN/ntpmon-scorer" replay --messages -e test <"$H_TMP/replay-in.jsonl" 2>/dev/null \
    | awk '{t=$1; $1=""; last[t]=substr($0, 2)} END {for (t in last) print t, last[t]}' | sort >"$H_TMP/retained.replay"
n_topics=$(wc -l <"$H_TMP/retained.replay")
timeout 20 mosquitto_sub -p "$H_MQTT_PORT" -u "$WATCH_USER" -P "$WATCH_TOKEN" -v -t 'ntpmon/test/scores/#' -t 'ntpmon/test/status/servers/#' \
    --retained-only -C "$n_topics" | sort >"$H_TMP/retained.broker"
h_ok "retained scores and status messages equal replay's last ones ($n_topics topics)" \
    diff "$H_TMP/retained.broker" "$H_TMP/retained.replay"
h_like "$(grep "status/servers/$leaver " "$H_TMP/retained.broker")" '"in_pool":false,.*"reason":"overall score -?[0-9.]+ < 10"' \
    "the server that stopped answering has left the pool (retained status)"
h_like "$(grep "status/servers/$(profile_ids good | head -1) " "$H_TMP/retained.broker")" '"in_pool":true' \
    "a good server's retained status says in the pool"

# ---- ntpmonctl log: the same rows, the pool's CSV ----
first=$(profile_ids good | head -1)
out=$(ctl log "$first" --monitor '*' --limit 100000)
h_is "$(head -1 <<<"$out")" "ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error" "log header"
h_is "$(($(wc -l <<<"$out") - 1))" "$(h_sql "SELECT COUNT(*) FROM log_scores WHERE server_id = $first")" "--monitor '*': every row of the server"
# replay's CSV rows of this server (ts_epoch identifies a result in this stream), monitor ids filled in
py epochs "$H_TMP/replay-in.jsonl" "$first" >"$H_TMP/epochs"
"$H_BIN/ntpmon-scorer" replay --csv <"$H_TMP/replay-in.jsonl" 2>/dev/null | grep -F -f <(sed 's/$/,/' "$H_TMP/epochs") \
    | awk -F, -v ids="${mon_ids#,}" 'BEGIN {n = split(ids, a, ","); for (i = 1; i <= n; i++) {split(a[i], kv, "="); id[kv[1]] = kv[2]}}
        {if ($7 != "") $6 = id[$7]; print}' OFS=, >"$H_TMP/server.replay.csv"
tail -n +2 <<<"$out" | tac >"$H_TMP/server.ctl.csv"
h_ok "ntpmonctl log equals replay --csv for the server (monitor ids filled in)" diff "$H_TMP/server.ctl.csv" "$H_TMP/server.replay.csv"
out=$(ctl log "192.0.2.1" --limit 3)
h_is "$(($(wc -l <<<"$out") - 1))" 3 "--limit"
h_unlike "$(tail -n +2 <<<"$out" | cut -d, -f6 | sort -u)" "[1-9]" "default: only the overall score (monitor_id 0)"
h_is "$(tail -n +2 <<<"$out" | cut -d, -f7 | sort -u)" "" "overall rows have no monitor name"
out=$(ctl log "$first" --monitor mon3 --limit 100000)
h_is "$(tail -n +2 <<<"$out" | cut -d, -f7 | sort -u)" "mon3" "--monitor NAME: that monitor's rows"
h_is "$(($(wc -l <<<"$out") - 1))" 24 "… all 24 of them"
since=$(( start + 12 * 300 ))
out=$(ctl log "$first" --monitor mon3 --since "$since")
h_is "$(tail -n +2 <<<"$out" | awk -F, -v s="$since" '$1 < s' | wc -l)" 0 "--since drops older rows"
h_is "$(($(wc -l <<<"$out") - 1))" 12 "… and keeps the newer"
out=$(ctl log 192.0.2.250 2>&1); h_like "$out" "no server 192.0.2.250" "unknown server: clear error"
out=$(ctl log "$first" --monitor nosuch 2>&1); h_like "$out" "no monitor 'nosuch'" "unknown monitor: clear error"
out=$(ctl log "$first" --since yesterday 2>&1); h_like "$out" "invalid --since 'yesterday'" "bad --since: clear error"

# ---- clean shutdown ----
h_stop scorer; h_is "$?" 0 "SIGTERM: exits 0"
h_like "$(h_log scorer | tail -3)" "stopped" "says it stopped"
h_done
