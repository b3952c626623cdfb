#!/usr/bin/env bash
# Bad input never stops ntpmon-ingest nor gets into `results`: wrong JSON, missing fields, wrong types, NaN and huge
# numbers, a 1 MiB payload (refused by the broker before ingest), topic/payload mismatches, an unknown or deleted monitor, an unknown server — and rows
# the database itself refuses (a trigger's error; a CHECK that INSERT IGNORE would silently skip) — each lands in results_rejected with a clear reason, readable ids are
# confirmed as "rejected" to the publishing monitor, and valid results published around them are all stored.
# A valid result is stored with every field; replays store nothing twice and are confirmed again.
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$(dirname "$0")/ingest-lib.bash"
h_start_mariadb
ig_start_broker
ig_fixture 2
"$H_BIN/ntpmonctl" monitor add --name gone --account ops --ip4 198.51.100.99 >/dev/null
"$H_BIN/ntpmonctl" monitor set-status gone deleted >/dev/null
"$H_BIN/ntpmonctl" server add 192.0.2.250 --account ops >/dev/null   # id 11: the database refuses its rows
printf "DELIMITER //\nCREATE TRIGGER results_poison BEFORE INSERT ON results FOR EACH ROW BEGIN IF NEW.ip = '192.0.2.250' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poison row for the test'; END IF; END//\n" |
    mariadb --no-defaults -S "$H_DB_SOCK" -uroot ntpmon_test || { echo "# trigger failed"; exit 1; }
"$H_BIN/ntpmonctl" server add 192.0.2.251 --account ops >/dev/null   # id 12: a CHECK skips its rows under IGNORE
h_sql "ALTER TABLE results ADD CONSTRAINT results_test_check CHECK (ip <> '192.0.2.251')"
"$H_BIN/ntpmonctl" server add 192.0.2.252 --account ops >/dev/null   # id 13: deleted behind ingest's cache
h_sql "ALTER TABLE results ADD CONSTRAINT results_test_fk FOREIGN KEY (server_id) REFERENCES servers (id)"

# Everything ingest confirms, as the agents would see it.
h_spawn stored stdbuf -oL mosquitto_sub -d -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$IG_ADMIN_TOKEN" -q 1 -v -t 'ntpmon/test/monitors/+/stored'
ig_start_ingest ingest1 --last-submit-interval 0.1s --cache-refresh 1h || exit 1
h_wait 10 grep -q 'SUBACK' "$H_TMP/stored.log" || { echo "# mosquitto_sub did not subscribe"; exit 1; }

# Valid results from pub1 keep flowing around the bad ones.
ig_publish 1 3000 --window 200 --resend-timeout 10s --deadline 120s

T=ntpmon/test/results
pub() { mosquitto_pub -V mqttv5 -p "$H_MQTT_PORT" -u admin -P "$IG_ADMIN_TOKEN" -q 1 -t "$1" -s; }
gen() { # gen ID [FIELD=JSON …]: a valid result of pub2 for server 1, with fields replaced or (FIELD=-) removed
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
r = {"v": 1, "id": sys.argv[1], "monitor": "pub2", "server_id": 1, "ip": "192.0.2.1",
     "ts": "2026-11-23T19:00:00.123456Z", "status": "testing", "offset": 0.000123, "rtt": 0.012345,
     "stratum": 2, "leap": 0, "refid": "GPS", "error": "",
     "samples": [{"ts": "2026-11-23T18:59:56.123456Z", "offset": 0.0002, "rtt": 0.02, "stratum": 2, "leap": 0,
                  "refid": "GPS", "error": ""},
                 {"ts": "2026-11-23T18:59:58.123456Z", "offset": 0.000123, "rtt": 0.012345, "stratum": 2,
                  "leap": 0, "refid": "GPS", "error": ""}],
     "agent": "ntpmon-agent/0.1.0"}
raw = {}
for kv in sys.argv[2:]:
    k, v = kv.split("=", 1)
    if v == "-": r.pop(k, None)
    else: raw[k] = v; r[k] = None
text = json.dumps(r, separators=(",", ":"))
for k, v in raw.items():   # raw JSON text, so NaN and 1e300 go out as written
    text = text.replace('"%s":null' % k, '"%s":%s' % (k, v), 1)
print(text, end="")
PY
}
rows_at_least() { [ "$(h_sql "SELECT COUNT(*) FROM results WHERE id = '$ID_OK'")" -ge "$1" ]; }
rejected_at_least() { [ "$(h_sql 'SELECT COUNT(*) FROM results_rejected')" -ge "$1" ]; }
last_submit_set() { [ "$(h_sql "SELECT last_submit IS NOT NULL FROM monitors WHERE name='pub2'")" = 1 ]; }
ID_OK=01JD0000000000000000000001
ID_MISSING=01JD0000000000000000000002
ID_TYPE=01JD0000000000000000000003
ID_NAN=01JD0000000000000000000004
ID_HUGE=01JD0000000000000000000005
ID_SRVMIS=01JD0000000000000000000006
ID_MONMIS=01JD0000000000000000000007
ID_UNKMON=01JD0000000000000000000008
ID_GONE=01JD0000000000000000000009
ID_UNKSRV=01JD000000000000000000000A
ID_POISON=01JD000000000000000000000B
ID_BIG=01JD000000000000000000000C
ID_CHECK=01JD000000000000000000000D
ID_FK=01JD000000000000000000000E

gen $ID_OK | pub $T/1/pub2
h_wait 10 rows_at_least 1 || { echo "# the first result was not stored"; exit 1; }   # the cache is loaded now
h_sql "DELETE FROM server_scores WHERE server_id = 13; DELETE FROM servers_monitor_review WHERE server_id = 13; DELETE FROM servers WHERE id = 13"
gen $ID_FK server_id=13 'ip="192.0.2.252"' | pub $T/13/pub2                            # IGNORE turns its FK error into a warning
printf '{"v":1,"id":"01JD00000000000000000000ZZ","monitor":' | pub $T/1/pub2             # wrong JSON
gen $ID_MISSING ts=- | pub $T/1/pub2                                                     # a missing field
gen $ID_TYPE 'stratum="2"' | pub $T/1/pub2                                               # a wrong type
gen $ID_NAN offset=NaN | pub $T/1/pub2                                                   # NaN
gen $ID_HUGE offset=1e300 | pub $T/1/pub2                                                # a huge number
gen $ID_SRVMIS | pub $T/2/pub2                                                           # topic server 2, payload 1
gen $ID_MONMIS monitor='"pub1"' | pub $T/1/pub2                                          # topic pub2, payload pub1
gen $ID_UNKMON monitor='"nosuch"' | pub $T/1/nosuch                                      # unknown monitor
gen $ID_GONE monitor='"gone"' | pub $T/1/gone                                            # deleted monitor
gen $ID_UNKSRV server_id=999 | pub $T/999/pub2                                           # unknown server
gen $ID_POISON server_id=11 'ip="192.0.2.250"' | pub $T/11/pub2                          # refused by the database
gen $ID_CHECK server_id=12 'ip="192.0.2.251"' | pub $T/12/pub2                           # skipped by IGNORE + CHECK
# 1 MiB: the broker plugin refuses it (no reader accepts more than 64 KiB); ingest's own cap is in test_intake
{ gen $ID_BIG | head -c -1; printf ',"pad":"%s"}' "$(head -c 1048576 /dev/zero | tr '\0' x)"; } | pub $T/1/pub2 2>/dev/null
printf 'not json at all' | pub ntpmon/test/results/abc/pub2                              # a bad topic level

ig_wait_publishers 1 120
h_wait_ok "all 14 bad or special messages that reach ingest handled" 20 rejected_at_least 14
reason() { h_sql "SELECT reason FROM results_rejected WHERE $1"; }
h_like "$(reason "payload LIKE '%ZZ\",\"monitor\":'")" "^invalid JSON" "wrong JSON: reason"
h_is "$(h_sql "SELECT result_id IS NULL, monitor IS NULL FROM results_rejected WHERE payload LIKE '%ZZ\",\"monitor\":'")" "1	1" "wrong JSON: no id/monitor invented"
h_is "$(reason "result_id='$ID_MISSING'")" "field 'ts' is missing" "missing field: reason"
h_is "$(reason "result_id='$ID_TYPE'")" "field 'stratum' must be an integer" "wrong type: reason"
h_like "$(reason "result_id='$ID_NAN'")" "offset' is not a finite number|^invalid JSON" "NaN: reason"
h_like "$(reason "result_id='$ID_HUGE'")" "field 'offset' is out of range" "huge number: reason"
h_is "$(reason "result_id='$ID_SRVMIS'")" "server_id 1 does not match the topic's 2" "topic/payload server mismatch: reason"
h_is "$(reason "result_id='$ID_MONMIS'")" "monitor 'pub1' does not match the topic's 'pub2'" "topic/payload monitor mismatch: reason"
h_is "$(reason "result_id='$ID_UNKMON'")" "unknown monitor 'nosuch'" "unknown monitor: reason"
h_is "$(reason "result_id='$ID_GONE'")" "monitor 'gone' is deleted" "deleted monitor: reason"
h_is "$(reason "result_id='$ID_UNKSRV'")" "unknown server 999" "unknown server: reason"
h_like "$(reason "result_id='$ID_POISON'")" "^database refused the result: .*poison row for the test" "row the database refuses: reason"
h_like "$(reason "result_id='$ID_CHECK'")" "^database refused the result: .*CONSTRAINT .results_test_check. failed" "row a CHECK refuses: reason"
h_like "$(reason "result_id='$ID_FK'")" "^database refused the result: .*foreign key constraint fails" "row INSERT IGNORE skips with only a warning: refused, not confirmed as stored"
h_is "$(h_sql "SELECT COUNT(*) FROM results_rejected WHERE payload_size > 65536")" 0 \
    "the 1 MiB payload never reached ingest (refused by the broker)"
h_like "$(h_log mosquitto)" "refused a 10[0-9]{5}-byte publish on ntpmon/test/results/1/pub2 \(limit 65536" \
    "…which logged why"
h_is "$(reason "topic='ntpmon/test/results/abc/pub2'")" "topic is not ntpmon/test/results/<server_id>/<monitor>" "bad topic: reason"
h_is "$(h_sql "SELECT monitor FROM results_rejected WHERE result_id='$ID_TYPE'")" pub2 "the monitor is recorded when readable"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE id IN ('$ID_MISSING','$ID_TYPE','$ID_NAN','$ID_HUGE','$ID_SRVMIS','$ID_MONMIS','$ID_UNKMON','$ID_GONE','$ID_UNKSRV','$ID_POISON','$ID_BIG','$ID_CHECK','$ID_FK')")" 0 "no refused message in results"

# The valid one, every field.
row=$(h_sql "SELECT r.id, m.name, r.server_id, r.ts, r.ip, r.status, r.\`offset\`, r.rtt, r.stratum, r.leap, r.refid, r.error, r.agent, r.v, JSON_LENGTH(r.samples), JSON_VALUE(r.samples,'\$[1].rtt'), JSON_VALUE(r.samples,'\$[0].ts') FROM results r JOIN monitors m ON m.id=r.monitor_id WHERE r.id='$ID_OK'")
h_is "$row" "$ID_OK	pub2	1	2026-11-23 19:00:00.123456	192.0.2.1	testing	0.000123	0.012345	2	0	GPS		ntpmon-agent/0.1.0	1	2	0.012345	2026-11-23T18:59:56.123456Z" "a valid result is stored with every field"
h_is "$(h_sql 'SELECT COUNT(*) FROM results')" 3001 "the 3000 valid results around them and the valid one are stored"
h_wait_ok "last_submit of pub2 moved forward" 10 last_submit_set

# Confirmations: the valid id under ids, every readable refused id under rejected, to the publishing monitor.
conf() { grep "^ntpmon/test/monitors/$1/stored " "$H_TMP/stored.log"; }
h_wait_ok "pub2 is told $ID_OK is stored" 10 sh -c "grep '^ntpmon/test/monitors/pub2/stored ' '$H_TMP/stored.log' | grep -q '\"ids\":\[[^]]*$ID_OK'"
for id in $ID_MISSING $ID_TYPE $ID_HUGE $ID_SRVMIS $ID_MONMIS $ID_UNKSRV $ID_POISON $ID_CHECK $ID_FK; do
    h_like "$(conf pub2)" "\"rejected\":\[[^]]*$id" "pub2 is told $id was rejected"
done
h_like "$(conf nosuch)" "\"rejected\":\[\"$ID_UNKMON\"\]" "the unknown monitor's publisher is told too"
h_like "$(conf gone)" "\"rejected\":\[\"$ID_GONE\"\]" "the deleted monitor's publisher is told too"

# Replays (a lost confirmation makes the agent re-send): nothing stored twice, confirmed again.
gen $ID_OK | pub $T/1/pub2
h_wait 10 rows_at_least 1 || { echo "# the first result was not stored"; exit 1; }   # the cache is loaded now
h_sql "DELETE FROM server_scores WHERE server_id = 13; DELETE FROM servers_monitor_review WHERE server_id = 13; DELETE FROM servers WHERE id = 13"
gen $ID_FK server_id=13 'ip="192.0.2.252"' | pub $T/13/pub2                            # IGNORE turns its FK error into a warning
gen $ID_TYPE 'stratum="2"' | pub $T/1/pub2
h_wait_ok "the replayed valid id is confirmed again" 10 sh -c "test \$(grep -c '$ID_OK' '$H_TMP/stored.log') -ge 2"
h_wait_ok "the replayed refused id is confirmed again" 10 sh -c "test \$(grep -c '$ID_TYPE' '$H_TMP/stored.log') -ge 2"
h_is "$(h_sql "SELECT COUNT(*) FROM results WHERE id='$ID_OK'")" 1 "replayed result stored once"
h_is "$(h_sql "SELECT COUNT(*) FROM results_rejected WHERE result_id='$ID_TYPE'")" 1 "replayed refusal recorded once"
h_wait_ok "the summary counts the duplicate" 10 grep -q 'duplicates [1-9]' "$H_TMP/ingest1.log"
h_ok "ingest is still running" h_alive ingest1
h_stop ingest1; h_is "$?" 0 "SIGTERM: exits 0 (and no sanitizer report)"
h_unlike "$(h_log ingest1)" "ERROR: AddressSanitizer|runtime error" "no sanitizer findings"
h_done
