#!/usr/bin/env bash
# ntpmon-scorer replay on a recorded scenario (one server, monitors a, b, c) against the score log computed by
# hand below; the messages it would publish with an in-pool threshold of 1 (so the short scenario crosses it both
# ways); bad lines are reported and skipped while the rest is scored; the output is deterministic.
. "$(dirname "$0")/../../lib/harness.sh"
sc=$H_BIN/ntpmon-scorer
T=1795460400   # 2026-11-23 19:00:00Z
r() { # r SECONDS MONITOR STATUS EXTRA-JSON
    local ts; ts=$(date -u -d "@$((T + $1))" +%Y-%m-%dT%H:%M:%SZ)
    printf '{"v":1,"id":"01JDAAAAAAAAAAAAAAAAAA%04d","monitor":"%s","server_id":1,"ip":"192.0.2.1","ts":"%s","status":"%s",%s,"refid":"","samples":[]}\n' \
        "$1" "$2" "$ts" "$3" "$4"
}
{
    r 0    a active  '"offset":0.001,"rtt":0.010,"stratum":2,"leap":0,"error":""'
    r 60   b active  '"offset":0.05,"rtt":0.020,"stratum":2,"leap":0,"error":""'
    r 120  c testing '"stratum":0,"leap":0,"error":"timeout"'
    echo '{"v":1,"id":"not json'
    r 540  a active  '"offset":-0.2,"rtt":0.011,"stratum":2,"leap":0,"error":""'
    r 600  b active  '"offset":0.001,"rtt":0.020,"stratum":2,"leap":0,"error":""'
    r 660  c testing '"offset":4,"rtt":0.030,"stratum":2,"leap":0,"error":""'
    r 1080 a active  '"rtt":0.012,"stratum":0,"leap":0,"error":"RATE"'
    r 1140 c active  '"offset":0,"rtt":0.005,"stratum":1,"leap":0,"error":""'
    r 1150 c active  '"offset":"NaN","rtt":0.005,"stratum":1,"leap":0,"error":""'
    r 2000 b active  '"offset":0,"rtt":0.020,"stratum":2,"leap":1,"error":""'
    r 2100 b active  '"offset":0,"rtt":0.020,"stratum":2,"leap":0,"error":""'
    r 2300 a active  '"offset":0.001,"rtt":0.010,"stratum":2,"leap":0,"error":""'
} >"$H_TMP/scenario.jsonl"
# the NaN line: a string offset is refused like a NaN; make one with a bare NaN too (json-c reads it as a number)
sed -i 's/"offset":"NaN"/"offset":NaN/' "$H_TMP/scenario.jsonl"

# By hand (step table, score = prev·0.95 + step, median over the monitors active at the time):
#  a@0     +1                        a=1          median {a}            → 1 (first: recorded)
#  b@60    −6.667·0.05+1.167=0.83365 b=0.83365    {a,b} two → oldest a  → 1 (same as last: not recorded)
#  c@120   timeout −5                c=−5         c is testing: {a,b}   → 1 (not recorded)
#  a@540   −2.308·0.2+0.731=0.2694   a=0.95+0.2694=1.2194  {a,b} → oldest b → 0.83365 (>5 %: recorded)
#  b@600   +1                        b=0.83365·0.95+1=1.7919675  oldest a → 1.2194 (recorded)
#  c@660   4 s: −4, at most −20      c=min(−5·0.95−4, −20)=−20   oldest a → 1.2194 (same: not recorded)
#  a@1080  RATE −3.5                 a=1.2194·0.95−3.5=−2.34157  oldest b → 1.7919675 (recorded)
#  c@1140  c now active, +1          c=−20·0.95+1=−18  {a,b,c}: −18, −2.34157, 1.79 → middle a (recorded, RATE)
#  b@2000  +1, leap 1                b=2.702369125  middle a −2.34157 (same within 15 min: not recorded)
#  b@2100  +1                        b=3.56725066875  middle a (same, but 15 min after 19:19: recorded)
#  a@2300  +1                        a=−2.34157·0.95+1=−1.2244915  middle a (recorded)
cat >"$H_TMP/want.csv" <<'CSV'
ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error
1795460400,2026-11-23 19:00:00,0.001,1,1,0,a,10,,
1795460400,2026-11-23 19:00:00,,1,1,0,,,,
1795460460,2026-11-23 19:01:00,0.05,0.83365,0.83365,0,b,20,,
1795460520,2026-11-23 19:02:00,,-5,-5,0,c,,,timeout
1795460940,2026-11-23 19:09:00,-0.2,0.2694,1.2194,0,a,11,,
1795460940,2026-11-23 19:09:00,,0.83365,0.83365,0,,,,
1795461000,2026-11-23 19:10:00,0.001,1,1.7919675,0,b,20,,
1795461000,2026-11-23 19:10:00,,0.2694,1.2194,0,,,,
1795461060,2026-11-23 19:11:00,4,-4,-20,0,c,30,,
1795461480,2026-11-23 19:18:00,,-3.5,-2.34157,0,a,12,,RATE
1795461480,2026-11-23 19:18:00,,1,1.7919675,0,,,,
1795461540,2026-11-23 19:19:00,0,1,-18,0,c,5,,
1795461540,2026-11-23 19:19:00,,-3.5,-2.34157,0,,,,RATE
1795462400,2026-11-23 19:33:20,0,1,2.702369125,0,b,20,1,
1795462500,2026-11-23 19:35:00,0,1,3.567250669,0,b,20,,
1795462500,2026-11-23 19:35:00,,-3.5,-2.34157,0,,,,RATE
1795462700,2026-11-23 19:38:20,0.001,1,-1.2244915,0,a,10,,
1795462700,2026-11-23 19:38:20,,1,-1.2244915,0,,,,
CSV
out=$("$sc" replay --csv <"$H_TMP/scenario.jsonl" 2>"$H_TMP/err.log"); rc=$?
h_is "$rc" 0 "replay exits 0 with bad lines in the input"
if [ "$out" = "$(cat "$H_TMP/want.csv")" ]; then h_pass "replay --csv equals the score log computed by hand"
else h_fail "replay --csv equals the score log computed by hand" "$(diff <(echo "$out") "$H_TMP/want.csv")"; fi
err=$(cat "$H_TMP/err.log")
h_like "$err" "line 4 skipped: invalid JSON" "a broken line is reported with its number"
h_like "$err" "line 10 skipped: field 'offset' is not a finite number" "a NaN offset is reported"
h_like "$err" "11 results scored, 2 skipped, 7 overall scores recorded" "summary on stderr"
out2=$("$sc" replay --csv <"$H_TMP/scenario.jsonl" 2>/dev/null)
h_is "$(echo "$out2" | md5sum)" "$(echo "$out" | md5sum)" "deterministic: the same input gives the same bytes"

# The messages the service would publish, with the pool threshold lowered to 1 so this short history crosses it.
msgs=$("$sc" replay --messages -e test --in-pool-score 1 <"$H_TMP/scenario.jsonl" 2>/dev/null)
h_is "$(echo "$msgs" | grep -c "^ntpmon/test/scores/1 ")" 7 "a scores message per recorded overall score"
h_is "$(echo "$msgs" | grep '^ntpmon/test/status/servers/1 ' | grep -o '"in_pool":[a-z]*' | paste -sd' ')" \
    '"in_pool":true "in_pool":false "in_pool":true "in_pool":false' "in and out of the pool at 1, 0.83365, 1.2194, -2.34157"
h_is "$(echo "$msgs" | head -1)" \
    'ntpmon/test/scores/1 {"server_id":1,"score":1,"step":1,"in_pool":true,"ts":"2026-11-23T19:00:00.000000Z","monitors":1}' \
    "scores payload"
h_like "$msgs" 'status/servers/1 \{"server_id":1,"in_pool":false,"score":-2.34157,"ts":"2026-11-23T19:19:00.000000Z","reason":"overall score -2.34157 < 1"\}' \
    "status payload with its reason"
h_like "$msgs" 'scores/1 \{"server_id":1,"score":-2.34157,"step":-3.5,"in_pool":false,"ts":"2026-11-23T19:19:00.000000Z","monitors":3\}' \
    "monitors counts the rows the median looked at"

# JSON lines (default): the status used, and the overall rows with the monitor chosen
json=$("$sc" replay <"$H_TMP/scenario.jsonl" 2>/dev/null)
h_like "$(echo "$json" | sed -n 4p)" '"type":"monitor".*"monitor":"c".*"status":"testing".*"step":-5,"score":-5' "per-result JSON line"
h_like "$json" '"type":"overall".*"ts":"2026-11-23T19:19:00.000000Z","step":-3.5,"score":-2.34157,"monitor":"a","monitors":3' "overall JSON line names the chosen monitor"

# Bad usage
out=$("$sc" replay --csv --messages </dev/null 2>&1); rc=$?
h_is "$rc" 2 "--csv with --messages is a usage error"
out=$("$sc" replay extra </dev/null 2>&1); rc=$?
h_is "$rc" 2 "replay takes no arguments"
out=$("$sc" --csv </dev/null 2>&1); rc=$?
h_like "$out" "options of 'replay'" "--csv outside replay is refused"
h_done
