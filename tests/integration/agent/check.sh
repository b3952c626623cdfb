#!/usr/bin/env bash
# ntpmon-agent check against the misbehaving NTP server: offsets (+0.250 s, −0.040 s, +4 s, IPv6) within 1 ms, every
# error string of the contract (KoD RATE/DENY/RSTR, stratum 16 and 12, leap 3, silence, spoofed, short, wrong mode,
# wrong port, refused), the exact result format, exit codes, parallel probing, refused addresses.
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
# --timeout 1: the fake servers answer at once (the slow one within 0.15 s), but under load a reply can wait for
# the CPU; a second keeps "timeout" meaning no reply at all.
A=("$H_BIN/ntpmon-agent" -e test --state-dir "$AG_STATE" check --allow-loopback --ntp-port "$AG_NTP_PORT"
   --sample-spacing 0.05 --timeout 1)

ag_fake p250 127.0.0.2 --offset 0.250
ag_fake m040 127.0.0.3 --offset -0.040
ag_fake p4 127.0.0.4 --offset 4
ag_fake v6 ::1 --offset 0.250 --stratum 2
ag_fake rate 127.0.0.5 --kod RATE
ag_fake deny 127.0.0.6 --kod DENY
ag_fake rstr 127.0.0.7 --kod RSTR
ag_fake s16 127.0.0.8 --stratum 16
ag_fake s12 127.0.0.9 --stratum 12
ag_fake leap 127.0.0.10 --leap 3
ag_fake silent 127.0.0.11 --no-reply
ag_fake origin 127.0.0.12 --wrong-origin
ag_fake short 127.0.0.13 --short
ag_fake mode 127.0.0.14 --wrong-mode
ag_fake port 127.0.0.15 --wrong-port
ag_fake spoofthengood 127.0.0.16 --wrong-origin --then-good --offset 0.1
ag_fake lossy 127.0.0.17 --drop-every 2 --offset 0.02
ag_fake slow 127.0.0.18 --delay 0.1 --delay-random 0.05 --offset -1.5

# field: python expression over the result r
field() { /usr/bin/python3 -c "import json,sys; r=json.loads(sys.stdin.readline()); print($1)"; }

for spec in "127.0.0.2 0.250" "127.0.0.3 -0.040" "127.0.0.4 4" "::1 0.250" "127.0.0.18 -1.5"; do
    set -- $spec
    out=$("${A[@]}" "$1"); rc=$?
    h_is "$rc" 0 "check $1: exit 0"
    h_num_between "$(echo "$out" | field 'r["offset"]')" "$(awk -v o="$2" 'BEGIN{print o-0.001}')" \
        "$(awk -v o="$2" 'BEGIN{print o+0.001}')" "check $1: offset $2 s within 1 ms"
    h_is "$(echo "$out" | field 'r["error"]')" "" "check $1: no error"
done
out=$("${A[@]}" ::1)
h_is "$(echo "$out" | field 'r["ip"]+" "+str(r["stratum"])+" "+r["refid"]')" "::1 2 192.0.2.1" "IPv6 result: ip, stratum, refid"

# exactly the result message without server_id and status
out=$("${A[@]}" 127.0.0.2)
h_is "$(echo "$out" | field '",".join(r.keys())')" "v,id,monitor,ip,ts,offset,rtt,stratum,leap,refid,error,samples,agent" "result fields, in order"
h_is "$(echo "$out" | field '",".join(r["samples"][0].keys())')" "ts,offset,rtt,stratum,leap,refid,error" "sample fields"
h_is "$(echo "$out" | field 'len(r["samples"])')" 3 "three samples by default"
h_like "$(echo "$out" | field 'r["ts"]')" '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$' "RFC 3339 UTC with µs"
h_like "$(echo "$out" | field 'r["id"]')" '^[0-9A-HJKMNP-TV-Z]{26}$' "a ULID id"
h_like "$(echo "$out" | field 'r["agent"]')" '^ntpmon-agent/' "agent field"
h_num_between "$(echo "$out" | field 'r["rtt"]')" 0 0.01 "loopback rtt is small and positive"

# the contract's error strings; offset presence; how many samples were taken
check_err() { # IP WANT_ERROR WANT_OFFSET(yes|no) WANT_SAMPLES DESC
    local out rc
    out=$("${A[@]}" "$1"); rc=$?
    h_is "$rc" 1 "$5: exit 1"
    h_is "$(echo "$out" | field 'r["error"]')" "$2" "$5: error '$2'"
    h_is "$(echo "$out" | field '"yes" if "offset" in r else "no"')" "$3" "$5: offset present: $3"
    h_is "$(echo "$out" | field 'len(r["samples"])')" "$4" "$5: $4 sample(s)"
}
check_err 127.0.0.5 RATE no 1 "KoD RATE"
check_err 127.0.0.6 DENY yes 1 "KoD DENY"
check_err 127.0.0.7 RSTR yes 1 "KoD RSTR"
check_err 127.0.0.8 "bad stratum 16" yes 1 "stratum 16"
check_err 127.0.0.9 "bad stratum 12" yes 3 "stratum 12"
check_err 127.0.0.10 unsynchronized yes 3 "leap 3"
check_err 127.0.0.11 timeout no 3 "silence"
check_err 127.0.0.12 timeout no 3 "wrong origin (spoofed)"
check_err 127.0.0.13 timeout no 3 "short packet"
check_err 127.0.0.14 timeout no 3 "wrong mode"
check_err 127.0.0.15 timeout no 3 "reply from the wrong port"
check_err 127.0.0.99 "network: connection refused" no 3 "nobody listening"
h_is "$("${A[@]}" 127.0.0.5 | field 'r["stratum"]')" 0 "KoD: stratum 0 reported"

out=$("${A[@]}" 127.0.0.16); h_is "$?" 0 "a spoofed packet does not pre-empt the real answer"
h_num_between "$(echo "$out" | field 'r["offset"]')" 0.099 0.101 "and the real answer is used"
out=$("${A[@]}" --samples 4 127.0.0.17); h_is "$?" 0 "a lost sample does not spoil the probe"
h_is "$(echo "$out" | field '",".join(s["error"] or "ok" for s in r["samples"])')" "ok,timeout,ok,timeout" "lost samples are recorded as timeouts"

# many servers at once, in argument order; a bad one makes the exit status 1
t0=$(date +%s%N)
out=$("${A[@]}" --sample-spacing 0.3 127.0.0.2 127.0.0.3 127.0.0.4 ::1 127.0.0.11 127.0.0.16 127.0.0.18); rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
h_is "$rc" 1 "one silent server: exit 1"
h_is "$(echo "$out" | wc -l)" 7 "one line per address"
h_is "$(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(l)["ip"] for l in sys.stdin))')" \
    "127.0.0.2 127.0.0.3 127.0.0.4 ::1 127.0.0.11 127.0.0.16 127.0.0.18" "results in argument order"
# in parallel ≈ 2 × 0.3 s + one timeout (1 s); one after another would take ≥ 7 × 0.6 s + 3 timeouts ≈ 7 s
h_num_between "$ms" 0 5000 "seven probes of 3 samples 0.3 s apart run in parallel (${ms} ms)"

# refusals and bad arguments: exit 2
h_fails "private address refused" "$H_BIN/ntpmon-agent" check 10.1.2.3
out=$("$H_BIN/ntpmon-agent" check 10.1.2.3 2>&1); h_is "$?" 2 "private address: exit 2"
h_like "$out" "refusing to probe 10.1.2.3: private address" "private address: clear message"
out=$("$H_BIN/ntpmon-agent" check 127.0.0.1 2>&1); h_is "$?" 2 "loopback without --allow-loopback: exit 2"
h_like "$out" "--allow-loopback" "loopback: the message names the flag"
for bad in fe80::1 224.0.0.1 0.0.0.0 ff02::1 fd00::1 169.254.1.1; do
    "$H_BIN/ntpmon-agent" check "$bad" >/dev/null 2>&1; h_is "$?" 2 "never probes $bad"
done
out=$("$H_BIN/ntpmon-agent" check not-an-ip 2>&1); h_is "$?" 2 "not an address: exit 2"
out=$("$H_BIN/ntpmon-agent" check 2>&1); h_is "$?" 2 "no address: exit 2"
out=$("$H_BIN/ntpmon-agent" check --samples 0 192.0.2.1 2>&1); h_is "$?" 2 "bad --samples: exit 2"
h_like "$out" "samples" "bad --samples: the message names it"
out=$("$H_BIN/ntpmon-agent" setup --token X 2>&1); h_is "$?" 2 "setup --token (no such flag; not --token-retry abbreviated): exit 2"
h_like "$out" "unknown option '--token' \(options are not abbreviated: did you mean --token-retry\?\)" "…with a message"
out=$("$H_BIN/ntpmon-agent" --no-ipv6 check --allow-loopback ::1 2>&1); h_is "$?" 2 "--no-ipv6 refuses an IPv6 check"
h_done
