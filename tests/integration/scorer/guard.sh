#!/usr/bin/env bash
# asan: yes
# The mass-outage guard in the scoring service, against a real broker and database: zone au of 20 servers and de of
# 10, monitors lax1, lax2 and zrh1; 8 servers of au stop answering lax1 and lax2 (zrh1 still sees them). The
# stream (tests/tools/guard-scenario.py) is timed so that it ends now, during the outage. Then: those 8 are held
# (servers.held_since, in_pool 1), status/servers/<id> says held with the reason, the retained zone alert names
# the count and zrh1; `ntpmonctl zone list` shows it; every score equals guard-off replay's; a restart keeps the
# holds and republishes them; `ntpmonctl zone release au` ends the holds (they leave, the alert is cleared); bad
# guard settings are refused by ntpmonctl, and the scorer keeps its old ones when the database has bad ones.
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/scorer-lib.bash"

h_ok "migrate" ctl db migrate
h_ok "account" ctl account add ops
k=0
for m in lax1 lax2 zrh1; do
    k=$((k + 1))
    h_ok "monitor $m" ctl monitor add --name $m --account ops --ip4 "203.0.$((k * 16)).1" --status active
done
h_is "$(h_sql "SELECT GROUP_CONCAT(CONCAT(name, '=', id) ORDER BY id) FROM monitors")" "lax1=1,lax2=2,zrh1=3" "monitors"
for i in $(seq 1 30); do
    zone=au; [ "$i" -gt 20 ] && zone=de
    ctl server add "192.0.2.$i" --account ops --zone $zone >/dev/null
done
h_is "$(h_sql "SELECT GROUP_CONCAT(DISTINCT zone ORDER BY zone), COUNT(*), MAX(id) FROM servers")" "au,de	30	30" "30 servers in zones au and de"
h_sql "UPDATE server_scores SET status = 'active'"
out=$(ctl server add 192.0.2.99 --account ops --zone mars 2>&1); rc=$?
h_is "$rc" 1 "server add with an unknown zone fails"
h_like "$out" "unknown zone 'mars'" "… saying why"
h_is "$(h_sql "SELECT COUNT(*) FROM servers WHERE ip = '192.0.2.99'")" 0 "… and adds nothing"
h_ok "set-zone" ctl server set-zone 192.0.2.30 DE
out=$(ctl server set-zone 30 xx 2>&1); h_like "$out" "unknown zone 'xx'" "set-zone refuses unknown zones"
h_is "$(h_sql "SELECT zone FROM servers WHERE id = 30")" "de" "set-zone lower-cases"

# bad guard settings never reach the database; good ones do
out=$(ctl settings set guard '{"fraction":2}' 2>&1); rc=$?
h_is "$rc" 1 "settings set guard with a bad value fails"
h_like "$out" "guard.fraction must be between 0.01 and 1" "… naming the setting"
out=$(ctl settings set guard '{"fractoin":0.3}' 2>&1); h_like "$out" "unknown guard settings: fractoin" "a misspelt key is refused"
h_ok "good guard settings are stored" ctl settings set guard '{"refresh_s":1}'

# 10.65 h of results ending now: 10 h calm (scores settle near 20), then lax1 and lax2 lose servers 1..8
now=$(date +%s)
/usr/bin/python3 "$H_ROOT/tests/tools/guard-scenario.py" cut --start $((now - 38340)) --hours 10.65 \
    --zones "$H_TMP/zones.txt" >"$H_TMP/stream.jsonl"
py tsv "$H_TMP/stream.jsonl" lax1=1,lax2=2,zrh1=3 >"$H_TMP/rows.tsv"
mariadb --no-defaults -S "$H_DB_SOCK" -uroot ntpmon_test --local-infile=1 -e "LOAD DATA LOCAL INFILE '$H_TMP/rows.tsv'
    INTO TABLE results (id, monitor_id, server_id, ts, ip, status, \`offset\`, rtt, stratum, leap, refid, error, samples, agent)"
total=$(wc -l <"$H_TMP/stream.jsonl")
scorer() { h_spawn scorer env MQTT_TOKEN="$SCORER_TOKEN" "$H_BIN/ntpmon-scorer" -e test --max-age 12h --rescan-interval 0 "$@"; }
scorer
h_wait_ok "scorer connects" 10 grep -q "connected to the broker" "${H_LOG[scorer]}"
h_ok "stream published" env MQTT_TOKEN="$FEED_TOKEN" "$H_BIN/result-feed" "$MQTT_URL" --env test --input "$H_TMP/stream.jsonl"
scored() { [ "$(h_sql "SELECT COUNT(*) FROM log_scores WHERE monitor_id IS NOT NULL")" -ge "$total" ]; }
h_wait_ok "every result scored" 60 scored

h_is "$(h_sql "SELECT GROUP_CONCAT(id ORDER BY id) FROM servers WHERE held_since IS NOT NULL")" "1,2,3,4,5,6,7,8" \
    "the 8 servers that zrh1 still reaches are held"
h_is "$(h_sql "SELECT COUNT(*) FROM servers WHERE in_pool = 1")" 30 "nobody left the pool"
h_like "$(h_sql "SELECT held_reason FROM servers WHERE id = 1")" "^held: zone au 8 of 20 servers hit \(40 %" "held_reason"
h_is "$(h_sql "SELECT COUNT(*) FROM servers WHERE id <= 8 AND score_raw < 10")" 8 "… although their scores are below 10"
sub() { timeout 10 mosquitto_sub -p "$H_MQTT_PORT" -u "$WATCH_USER" -P "$WATCH_TOKEN" -v --retained-only "$@" 2>/dev/null; }
h_like "$(sub -t ntpmon/test/status/servers/1 -C 1)" \
    '"server_id":1,"in_pool":true,"held":true,"score":-?[0-9.]+,"ts":"[^"]+","reason":"held: zone au 8 of 20' \
    "retained status/servers/1 says held, with the reason"
# the alert is recomputed after the holds (the scan at start holds them before the broker is connected)
alert_held() { sub -t ntpmon/test/status/zones/au -C 1 -W 3 | grep -q "\"held\":$1,"; }
h_wait_ok "the zone alert is retained" 15 alert_held 8
alert=$(sub -t ntpmon/test/status/zones/au -C 1)
h_like "$alert" '^ntpmon/test/status/zones/au \{"zone":"au","held":8,"in_pool":20,"leaving":8,"fraction":0.4,"monitors_answering":\["zrh1"\],"ts":"' \
    "retained zone alert: 8 held of 20, 40 %, zrh1 still answers"
h_like "$(h_sql "SELECT alert FROM guard_zones WHERE zone = 'au'")" '"held":8' "guard_zones records the standing alert"
h_like "$(ctl zone list)" "au	20	20	8	8	0	since " "zone list: au has 20 servers, 20 in the pool, 8 held and leaving, an alert"
h_like "$(ctl zone list)" "de	10	10	0	0	0	-" "zone list: de is calm"
h_like "$(ctl server list | grep '^1	')" "au	since " "server list shows the zone and the hold"

# every score is what the pool's rules give without the guard
"$H_BIN/ntpmon-scorer" replay -e test <"$H_TMP/stream.jsonl" 2>/dev/null \
    | /usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    o = json.loads(line)
    print("%s %s %.9f %.9f" % (o["result_id"], o["type"], o["step"], o["score"]))' | sort >"$H_TMP/replay.txt"
h_sql "SELECT result_id, IF(monitor_id IS NULL, 'overall', 'monitor'), step, score FROM log_scores" \
    | awk '{printf "%s %s %.9f %.9f\n", $1, $2, $3, $4}' | sort >"$H_TMP/db.txt"
h_ok "every log row (steps, pair and overall scores) equals guard-off replay's" diff "$H_TMP/db.txt" "$H_TMP/replay.txt"

# a restart keeps the holds and republishes them
h_stop scorer; h_is "$?" 0 "SIGTERM: exits 0"
port=$(h_free_port)
scorer --metrics-listen 127.0.0.1:$port
h_wait_ok "restarted scorer republishes" 15 grep -q "republished" "${H_LOG[scorer]}"
h_is "$(h_sql "SELECT COUNT(*) FROM servers WHERE held_since IS NOT NULL")" 8 "the holds survive a restart"
h_wait_ok "the guard's periodic check runs" 15 bash -c "curl -s http://127.0.0.1:$port/metrics | grep -q '^ntpmon_scorer_guard_held{zone=\"au\"} 8'"
h_is "$(h_sql "SELECT COUNT(*) FROM servers WHERE held_since IS NOT NULL")" 8 "… and the check keeps them (zrh1 answered within 30 min)"

# bad settings in the database: logged, the old ones kept
h_sql "UPDATE system_settings SET value = '{\"refresh_s\":1,\"min_count\":-4}' WHERE \`key\` = 'guard'"
h_wait_ok "a bad setting is logged" 10 grep -q "guard.min_count must be between" "${H_LOG[scorer]}"
h_like "$(h_log scorer)" "keeping the previous settings" "… and the old settings kept"
h_is "$(h_sql "SELECT COUNT(*) FROM servers WHERE held_since IS NOT NULL")" 8 "the holds go on"
h_sql "UPDATE system_settings SET value = '{\"refresh_s\":1}' WHERE \`key\` = 'guard'"

# zone release: every hold in au ends at the next check; the servers leave; the alert is cleared
out=$(ctl zone release au)
h_like "$out" "zone au released: 8 held servers leave the pool" "zone release"
held_gone() { [ "$(h_sql "SELECT COUNT(*) FROM servers WHERE held_since IS NOT NULL")" = 0 ]; }
h_wait_ok "the holds end" 15 held_gone
h_is "$(h_sql "SELECT GROUP_CONCAT(id ORDER BY id) FROM servers WHERE in_pool = 0")" "1,2,3,4,5,6,7,8" "the 8 leave the pool"
h_like "$(sub -t ntpmon/test/status/servers/1 -C 1)" '"in_pool":false,.*"reason":"hold ended: the zone was released by hand"' \
    "retained status says why"
h_is "$(sub -t ntpmon/test/status/zones/au -C 1 -W 3)" "" "the retained zone alert is cleared"
h_is "$(h_sql "SELECT COUNT(*) FROM guard_zones WHERE alert IS NOT NULL")" 0 "no alert stands in guard_zones"
metrics=$(curl -s "http://127.0.0.1:$port/metrics")
h_like "$metrics" 'ntpmon_scorer_guard_decisions_total\{verdict="left"\} 8' "metrics: 8 holds ended"
h_like "$metrics" 'ntpmon_scorer_guard_alerts_total [1-9]' "metrics: alerts published"
h_like "$metrics" 'ntpmon_scorer_guard_held\{zone="au"\} 0' "metrics: nothing held in au"
h_stop scorer; h_is "$?" 0 "SIGTERM: exits 0"
h_done
