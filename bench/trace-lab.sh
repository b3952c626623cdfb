#!/usr/bin/env bash
# bench/trace-lab.sh — traceroute on the lab path (tests/lib/netlab.sh: a monitor host behind three routers, a chronyd
# server host; needs root and network namespaces):
#  1. one trace's time and packets: RUNS × `ntpmon-agent trace` (IPv4 and IPv6), beside `traceroute -U -p 123 -q 3`
#     (Debian's traceroute, when installed) on the same path;
#  2. probe timing precision against that chronyd (it serves this machine's clock: every offset is measurement
#     error) from one event loop, without traces and with 10 traces running back to back on the same loop
#     (bench/trace-precision.c), in the same run.
#   bench/trace-lab.sh [--build DIR]     env: RUNS (50), PEER_RUNS (5: traceroute takes seconds), PROBES (1000)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NTPMON_BUILD:-${BUILD:-$ROOT/build}}
[ "${1:-}" = --build ] && B=$2
case "$B" in /*) ;; *) B=$ROOT/$B ;; esac
export NTPMON_BUILD=$B
RUNS=${RUNS:-50}
PEER_RUNS=${PEER_RUNS:-5}
PROBES=${PROBES:-1000}
. "$ROOT/tests/lib/netlab.sh"
nl_enter "$@"
. "$ROOT/tests/lib/harness.sh" >/dev/null
nl_init >/dev/null
nl_chain m1 r1 r2 r3 s1
nl_routes
nl_chronyd s1 >/dev/null
nl_warm m1 s1 >/dev/null || { echo "the lab path does not work"; exit 1; }
S4=$(nl_addr s1 4); S6=$(nl_addr s1 6)

stats() { # median and p95 of the numbers on stdin
    /usr/bin/python3 -c '
import math, sys
a = sorted(float(l) for l in sys.stdin if l.strip())
q = lambda p: a[min(len(a) - 1, max(0, int(math.ceil(p * len(a))) - 1))]
print("%.2f %.2f %d" % (q(0.5), q(0.95), len(a)))'
}
ours() { # ours IP: "median_ms p95_ms runs" of the engine's own duration
    local ip=$1 i
    for i in $(seq 1 "$RUNS"); do
        nl_exec m1 "$B/bin/ntpmon-agent" --allow-documentation-nets --log-level info trace "$ip" 2>&1 >/dev/null | grep -o 'packets, [0-9.]* s' | awk '{print $2 * 1000}'
    done | stats
}
pkts() { nl_exec m1 "$B/bin/ntpmon-agent" --allow-documentation-nets --log-level info trace "$1" 2>&1 >/dev/null | sed -n 's/.*: \([0-9]*\) hops, .*, \([0-9]*\) packets.*/\2 \1/p'; }
peer() { # wall time of traceroute -U -p 123 -q 3 -n -w 1 (ms); its last output is kept for the hop count
    local ip=$1 i t0 t1
    for i in $(seq 1 "$PEER_RUNS"); do
        t0=$(date +%s%N); nl_exec m1 traceroute -U -p 123 -q 3 -n -w 1 "$ip" >"$H_TMP/traceroute.out" 2>&1; t1=$(date +%s%N)
        echo "$(( (t1 - t0) / 1000 ))" | awk '{print $1 / 1000}'
    done | stats
}
echo "## trace: traceroute over UDP 123 on the lab path (monitor → 3 routers → chronyd; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| %-44s | %6s | %12s | %12s | %15s |\n' "trace of the server (4 hops)" runs "median (ms)" "p95 (ms)" "packets (hops)"
printf '|%s|%s|%s|%s|%s|\n' ---------------------------------------------- -------- -------------- -------------- -----------------
for fam in 4 6; do
    ip=$S4; [ $fam = 6 ] && ip=$S6
    read -r m p n < <(ours "$ip")
    read -r np nh < <(pkts "$ip")
    printf '| %-44s | %6s | %12s | %12s | %15s |\n' "ntpmon-agent trace, IPv$fam (time inside the engine)" "$n" "$m" "$p" "$np ($nh)"
    if command -v traceroute >/dev/null; then
        read -r m p n < <(peer "$ip")
        hops=$(grep -c '^ *[0-9]' "$H_TMP/traceroute.out")
        reached=$(grep -c "^ *[0-9]*  $ip " "$H_TMP/traceroute.out")
        printf '| %-44s | %6s | %12s | %12s | %15s |\n' "traceroute -U -p 123 -q 3 -n -w 1, IPv$fam (wall)" "$n" "$m" "$p" "$((3 * hops)) ($hops)"
        [ "$reached" = 0 ] && PEER_NOTE="traceroute's own UDP payload is not NTP: chronyd ignores it, so traceroute never sees the server answer and runs on to its hop limit; ntpmon's probes carry an NTP request and end at the reply."
    fi
done
t0=$(date +%s%N); nl_exec m1 "$B/bin/ntpmon-agent" --allow-documentation-nets trace "$S4" >/dev/null 2>&1; t1=$(date +%s%N)
echo
[ -n "${PEER_NOTE:-}" ] && echo "$PEER_NOTE" && echo
echo "One \`ntpmon-agent trace\` process, start to exit: $(( (t1 - t0) / 1000000 )) ms (the engine's own time is in the table)."
echo
echo "### probe timing precision with traces on the same event loop ($PROBES probes of chronyd through the routers)"
echo
printf '| %-30s | %6s | %12s | %12s | %12s | %12s | %12s | %14s |\n' "" probes "p50 abs (µs)" "p99 abs (µs)" "max abs (µs)" "rtt p50 (µs)" "rtt p99 (µs)" "traces (pkts)"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------------------------- -------- -------------- -------------- -------------- -------------- -------------- ----------------
for n in 0 10; do
    read -r c o50 o99 omax r50 r99 td pk < <(nl_exec m1 "$B/bench/trace-precision" "$S4" 123 "$PROBES" "$n" "$S4")
    label="no traces"; [ "$n" = 10 ] && label="10 traces running"
    printf '| %-30s | %6s | %12s | %12s | %12s | %12s | %12s | %14s |\n' "$label" "$c" "$o50" "$o99" "$omax" "$r50" "$r99" "$td ($pk)"
done
h_cleanup >/dev/null 2>&1; nl_cleanup; trap - EXIT
