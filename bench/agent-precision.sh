#!/usr/bin/env bash
# bench/agent-precision.sh — timing precision against a real chronyd on 127.0.0.1:123 (it serves this machine's own
# clock, so every offset is measurement error): p50/p99/max of the absolute offset over PROBES probes (3 queries each, the chosen
# sample's offset) from `ntpmon-agent check`, beside `ntpdig -p 3` doing the same. Needs root and a free port 123.
#   bench/agent-precision.sh [--build DIR]     env: PROBES (1000)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NTPMON_BUILD:-${BUILD:-$ROOT/build}}
[ "${1:-}" = --build ] && B=$2
case "$B" in /*) ;; *) B=$ROOT/$B ;; esac
PROBES=${PROBES:-1000}
TMP=$(mktemp -d)
trap 'kill $CHRONY 2>/dev/null; wait $CHRONY 2>/dev/null; rm -rf "$TMP"' EXIT
cat >"$TMP/chrony.conf" <<CONF
port 123
bindaddress 127.0.0.1
allow 127.0.0.0/8
local stratum 1
cmdport 0
pidfile $TMP/chronyd.pid
driftfile $TMP/drift
CONF
chronyd -x -u root -d -f "$TMP/chrony.conf" >"$TMP/chronyd.log" 2>&1 &
CHRONY=$!
for _ in $(seq 1 100); do ss -Huln 'sport = :123' | grep -q 127.0.0.1 && break; sleep 0.05; done
ss -Huln 'sport = :123' | grep -q 127.0.0.1 || { echo "chronyd did not start on 127.0.0.1:123"; cat "$TMP/chronyd.log"; exit 1; }

# ours: one process, probes one after another (one socket at a time), 3 queries 10 ms apart
targets=(); for _ in $(seq 1 "$PROBES"); do targets+=(127.0.0.1); done
"$B/bin/ntpmon-agent" check --allow-loopback --ntp-port 123 --samples 3 --sample-spacing 0.01 --max-sockets 1 \
    "${targets[@]}" | /usr/bin/python3 -c 'import json,sys; [print(json.loads(l).get("offset","nan")) for l in sys.stdin]' >"$TMP/ours"
# the peer: one ntpdig run per probe (it prints the best of its 3 samples, in µs resolution)
for _ in $(seq 1 "$PROBES"); do ntpdig -j -p 3 -g 10 127.0.0.1 2>/dev/null; done |
    /usr/bin/python3 -c 'import json,sys; [print(json.loads(l)["offset"]) for l in sys.stdin if l.startswith("{")]' >"$TMP/peer"
stats() {
    /usr/bin/python3 - "$1" <<'PY'
import math, sys
a = sorted(abs(float(l)) for l in open(sys.argv[1]) if l.strip() and l.strip() != "nan")
q = lambda p: a[min(len(a) - 1, int(math.ceil(p * len(a))) - 1)]
print("%d %.1f %.1f %.1f" % (len(a), q(0.5) * 1e6, q(0.99) * 1e6, a[-1] * 1e6))
PY
}
read -r on o50 o99 omax < <(stats "$TMP/ours")
read -r pn p50 p99 pmax < <(stats "$TMP/peer")
echo "## agent: timing precision against chronyd on loopback ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| %-36s | %7s | %12s | %12s | %12s |\n' client probes "p50 abs (µs)" "p99 abs (µs)" "max abs (µs)"
printf '|%s|%s|%s|%s|%s|\n' -------------------------------------- --------- -------------- -------------- --------------
printf '| %-36s | %7d | %12s | %12s | %12s |\n' "ntpmon-agent check (3 samples)" "$on" "$o50" "$o99" "$omax"
printf '| %-36s | %7d | %12s | %12s | %12s |\n' "ntpdig -p 3 (µs resolution)" "$pn" "$p50" "$p99" "$pmax"
