#!/usr/bin/env bash
# asan: yes
# The mass-outage guard in `ntpmon-scorer replay --zones` (tests/tools/guard-scenario.py makes the streams): a zone
# of 20 where 40 % fail from two monitors but answer a third → held, the zone alert published, released when
# their scores recover, alert cleared; the same servers failing from every monitor → they leave exactly as without
# the guard; a single failing server in a calm zone → leaves as without the guard; every score identical to the
# guard-off replay; bad zones files refused.
. "$(dirname "$0")/../../lib/harness.sh"
sc=$H_BIN/ntpmon-scorer
gen=$H_ROOT/tests/tools/guard-scenario.py
for s in cut dead single calm; do /usr/bin/python3 "$gen" $s --zones "$H_TMP/zones.txt" >"$H_TMP/$s.jsonl"; done
h_is "$(wc -l <"$H_TMP/zones.txt")" 30 "zones file: 20 servers in au, 10 in de"

# pool membership per recorded overall score, "server in_pool" lines, from the JSON output
membership() { grep '"type":"overall"' | sed -E 's/.*"server_id":([0-9]+),.*"in_pool":(true|false).*/\1 \2/'; }
changes() { grep '"changed":true' | sed -E 's/.*"server_id":([0-9]+),.*"ts":"([^"]+)".*"in_pool":(true|false).*/\1 \2 \3/'; }

# ---- cut: 8 of 20 in au fail from lax1 and lax2, answer zrh1 ----
"$sc" replay <"$H_TMP/cut.jsonl" >"$H_TMP/cut.off.json" 2>/dev/null
"$sc" replay --zones "$H_TMP/zones.txt" <"$H_TMP/cut.jsonl" >"$H_TMP/cut.on.json" 2>"$H_TMP/cut.err"
h_is "$(grep '"type":"guard"' "$H_TMP/cut.on.json" | grep '"verdict":"held"' | sed -E 's/.*"server_id":([0-9]+),.*/\1/' | paste -sd' ')" \
    "1 2 3 4 5 6 7 8" "cut: the 8 servers failing from lax1 and lax2 are held (all of them, the first too)"
h_like "$(grep '"verdict":"held"' "$H_TMP/cut.on.json" | head -1)" \
    '"reason":"held: zone au 8 of 20 servers hit \(40 %, outage: > 20 % and >= 3\); answers 1 monitor","monitors_answering":\["zrh1"\]' \
    "cut: the hold names the zone, the count, the fraction and the monitor still answering"
h_is "$(changes <"$H_TMP/cut.off.json" | awk '$3 == "false"' | cut -d' ' -f1 | sort -n | paste -sd' ')" "1 2 3 4 5 6 7 8" \
    "cut without the guard: the same 8 leave the pool"
h_is "$(changes <"$H_TMP/cut.on.json" | awk '$3 == "false"' | wc -l)" 0 "cut with the guard: nobody leaves the pool"
h_like "$(grep '"type":"zone"' "$H_TMP/cut.on.json" | grep '"held":8' | head -1)" \
    '\{"zone":"au","held":8,"in_pool":20,"leaving":8,"fraction":0.4,"monitors_answering":\["zrh1"\],"ts":"[^"]+","type":"zone"\}' \
    "cut: the zone alert counts 8 held of 20 in the pool, and zrh1 answering"
h_is "$(grep '"verdict":"released"' "$H_TMP/cut.on.json" | wc -l)" 8 "cut: all 8 released when their scores recover"
h_like "$(grep '"type":"zone"' "$H_TMP/cut.on.json" | tail -1)" '"zone":"au","cleared":true' "cut: the alert is cleared after the last release"
h_like "$(cat "$H_TMP/cut.err")" "the guard held 8 times, released 8, ended 0 holds" "cut: summary on stderr"

# every score is the same with and without the guard; only membership differs, and only for the held servers
"$sc" replay --csv <"$H_TMP/cut.jsonl" >"$H_TMP/cut.off.csv" 2>/dev/null
"$sc" replay --csv --zones "$H_TMP/zones.txt" <"$H_TMP/cut.jsonl" >"$H_TMP/cut.on.csv" 2>/dev/null
h_is "$(head -1 "$H_TMP/cut.on.csv")" "ts_epoch,ts,offset,step,score,monitor_id,monitor_name,rtt,leap,error,guard" "CSV: an eleventh column 'guard'"
if cmp -s <(cut -d, -f1-10 "$H_TMP/cut.on.csv" | tail -n +2) <(tail -n +2 "$H_TMP/cut.off.csv"); then
    h_pass "cut: every CSV row (scores, steps, monitors) identical to the guard-off replay"
else h_fail "cut: every CSV row identical to the guard-off replay" "$(diff <(cut -d, -f1-10 "$H_TMP/cut.on.csv") "$H_TMP/cut.off.csv" | head)"; fi
h_like "$(grep -m1 ',"held: zone au' "$H_TMP/cut.on.csv")" '^[0-9]+,[^,]+,,-5,[0-9.]+,0,,,,timeout,"held: zone au 8 of 20' \
    "CSV: the hold on the overall row it happened on"
h_ok "CSV: overall rows of held servers say held" grep -q ',held$' "$H_TMP/cut.on.csv"
diff <(grep -v '"type":"guard"\|"type":"zone"' "$H_TMP/cut.on.json" | sed 's/,"held":true//; s/"in_pool":[a-z]*//; s/,"changed":true//') \
     <(sed 's/"in_pool":[a-z]*//; s/,"changed":true//' "$H_TMP/cut.off.json") >"$H_TMP/cut.diff"
h_is "$(wc -l <"$H_TMP/cut.diff")" 0 "JSON: every score row identical apart from membership"
never_held='^(9|1[0-9]|2[0-9]|30) '
h_is "$(membership <"$H_TMP/cut.on.json" | grep -E "$never_held" | md5sum)" "$(membership <"$H_TMP/cut.off.json" | grep -E "$never_held" | md5sum)" \
    "servers never held: membership identical to the guard-off replay"

msgs=$("$sc" replay --messages -e test --zones "$H_TMP/zones.txt" <"$H_TMP/cut.jsonl" 2>/dev/null)
h_like "$(echo "$msgs" | grep '^ntpmon/test/status/servers/1 ' | grep -m1 held)" \
    '\{"server_id":1,"in_pool":true,"held":true,"score":[0-9.]+,"ts":"[^"]+","reason":"held: zone au 8 of 20' \
    "messages: status/servers/1 says held with the reason"
h_like "$(echo "$msgs" | grep -m1 '^ntpmon/test/status/zones/au ')" '"zone":"au","held":1,"in_pool":20' "messages: the retained zone alert"
h_is "$(echo "$msgs" | grep -c '^ntpmon/test/status/zones/au $')" 1 "messages: the alert cleared by one empty message"

# ---- dead: the same servers fail from every monitor ----
"$sc" replay <"$H_TMP/dead.jsonl" >"$H_TMP/dead.off.json" 2>/dev/null
"$sc" replay --zones "$H_TMP/zones.txt" <"$H_TMP/dead.jsonl" >"$H_TMP/dead.on.json" 2>/dev/null
h_is "$(grep -c '"verdict":"held"' "$H_TMP/dead.on.json")" 0 "dead: nobody is held (no monitor reaches them)"
h_like "$(grep -m1 '"type":"guard"' "$H_TMP/dead.on.json")" '"reason":"not held: no monitor gets a good answer"' "dead: the reason says why"
h_is "$(changes <"$H_TMP/dead.on.json" | md5sum)" "$(changes <"$H_TMP/dead.off.json" | md5sum)" \
    "dead: every pool change at the same moment as without the guard"
h_is "$(changes <"$H_TMP/dead.on.json" | awk '$3 == "false"' | wc -l)" 8 "dead: the 8 servers leave"
h_is "$(grep -c '"type":"zone"' "$H_TMP/dead.on.json")" 0 "dead: no zone alert"

# ---- single: one server of the calm zone de fails from two of three monitors ----
"$sc" replay <"$H_TMP/single.jsonl" >"$H_TMP/single.off.json" 2>/dev/null
"$sc" replay --zones "$H_TMP/zones.txt" <"$H_TMP/single.jsonl" >"$H_TMP/single.on.json" 2>/dev/null
h_is "$(changes <"$H_TMP/single.on.json" | md5sum)" "$(changes <"$H_TMP/single.off.json" | md5sum)" \
    "single: it leaves (and comes back) exactly as without the guard"
h_like "$(changes <"$H_TMP/single.on.json" | awk '$3 == "false"')" "^21 " "single: server 21 leaves the pool"
h_like "$(grep -m1 '"type":"guard"' "$H_TMP/single.on.json")" 'not held: no outage: zone de 1 of 10 servers hit' "single: not held, and why"

# ---- calm: nothing fails, the guard has nothing to say ----
h_is "$("$sc" replay --csv --zones "$H_TMP/zones.txt" <"$H_TMP/calm.jsonl" 2>/dev/null | cut -d, -f1-10 | md5sum)" \
    "$("$sc" replay --csv <"$H_TMP/calm.jsonl" 2>/dev/null | md5sum)" "calm: the same CSV as without the guard"

# ---- guard settings and bad zones files ----
out=$("$sc" replay --zones "$H_TMP/zones.txt" --guard-setting enabled=false <"$H_TMP/cut.jsonl" 2>/dev/null)
h_is "$(echo "$out" | grep -c '"verdict":"held"')" 0 "--guard-setting enabled=false: nobody held"
out=$("$sc" replay --zones "$H_TMP/zones.txt" --guard-setting fraction=0.5 <"$H_TMP/cut.jsonl" 2>/dev/null)
h_is "$(echo "$out" | grep -c '"verdict":"held"')" 0 "--guard-setting fraction=0.5: 40 % is no outage"
out=$("$sc" replay --zones "$H_TMP/zones.txt" --guard-setting fraction=7 </dev/null 2>&1); rc=$?
h_is "$rc" 2 "a bad guard setting is a usage error"
h_like "$out" "guard.fraction must be between 0.01 and 1" "… naming the setting"
printf '1 au\n2 mars\n' >"$H_TMP/bad.txt"
out=$("$sc" replay --zones "$H_TMP/bad.txt" </dev/null 2>&1); rc=$?
h_is "$rc" 2 "an unknown zone is refused"
h_like "$out" "bad.txt:2: unknown zone 'mars'" "… naming the line"
printf '# comment\n\n1 AU\n1 de\n' >"$H_TMP/dup.txt"
out=$("$sc" replay --zones "$H_TMP/dup.txt" </dev/null 2>&1); rc=$?
h_like "$out" "server 1 is listed twice" "a server listed twice is refused"
out=$("$sc" replay --zones "$H_TMP/nope.txt" </dev/null 2>&1); rc=$?
h_like "$out" "cannot open" "a missing zones file is refused"
out=$("$sc" --zones "$H_TMP/zones.txt" </dev/null 2>&1); rc=$?
h_like "$out" "options of 'replay'" "--zones outside replay is refused"
h_done
