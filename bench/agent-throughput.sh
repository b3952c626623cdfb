#!/usr/bin/env bash
# bench/agent-throughput.sh — probe throughput of `ntpmon-agent check` against N loopback responders on
# 127.0.1.x:123 (ntp-fake, pinned to the other core), beside the peer `ntpdig` (ntpsec-ntpdate) doing the same kind
# of work in one run. Both clients are pinned to core 0 ("on one core"). Needs root (port 123) and a free port 123.
#   bench/agent-throughput.sh [--build DIR]     env: RESPONDERS (200), REPEAT (10), SAMPLES (16)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${NTPMON_BUILD:-${BUILD:-$ROOT/build}}
[ "${1:-}" = --build ] && B=$2
case "$B" in /*) ;; *) B=$ROOT/$B ;; esac
N=${RESPONDERS:-200}
REPEAT=${REPEAT:-10}
SAMPLES=${SAMPLES:-16}
TMP=$(mktemp -d)
trap 'kill $FAKE 2>/dev/null; wait $FAKE 2>/dev/null; rm -rf "$TMP"' EXIT

ips=()
for i in $(seq 1 "$N"); do ips+=("127.0.$((1 + i / 250)).$((1 + i % 250))"); done
listen=()
for ip in "${ips[@]}"; do listen+=("$ip:123"); done
# Fresh responders per client: their request count at exit is what the client really sent.
start_fake() {
    taskset -c 1 "$B/bin/ntp-fake" --log-level error --listen "${listen[@]}" >"$TMP/fake.log" 2>&1 &
    FAKE=$!
    for _ in $(seq 1 100); do grep -qs listening "$TMP/fake.log" && break; sleep 0.05; done
    grep -q listening "$TMP/fake.log" || { echo "responders did not start (port 123 busy? not root?)"; cat "$TMP/fake.log"; exit 1; }
}
stop_fake() { kill "$FAKE"; wait "$FAKE" 2>/dev/null; SERVED=$(awk '/^served/{print $2}' "$TMP/fake.log"); }

targets=()
for _ in $(seq 1 "$REPEAT"); do targets+=("${ips[@]}"); done
# measure CMD…: prints "wall_s cpu_s" (cpu = user + sys of the client)
measure() {
    /usr/bin/time -f '%e %U %S' -o "$TMP/time" "$@" >"$TMP/out" 2>"$TMP/err"
    awk '{printf "%.3f %.3f\n", $1, $2 + $3}' "$TMP/time"
}
start_fake
read -r a_wall a_cpu < <(measure taskset -c 0 "$B/bin/ntpmon-agent" check --allow-loopback --ntp-port 123 \
    --samples "$SAMPLES" --sample-spacing 0 --timeout 1 --max-sockets 256 "${targets[@]}")
a_samples=$(/usr/bin/python3 -c '
import json,sys
n=ok=0
for l in open(sys.argv[1]):
    for s in json.loads(l)["samples"]:
        n+=1; ok+= s["error"]==""
print(n, ok)' "$TMP/out")
read -r a_n a_ok <<<"$a_samples"
stop_fake; a_served=$SERVED
start_fake
read -r d_wall d_cpu < <(measure taskset -c 0 ntpdig -p "$SAMPLES" -t 1 "${ips[@]}")
stop_fake; d_n=$SERVED
d_ok=$(grep -c . "$TMP/out")

echo "## agent: probe throughput ($N responders on 127.0.x.y:123, clients pinned to core 0; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
printf '| %-34s | %8s | %8s | %7s | %7s | %12s | %14s |\n' client queries good wall_s cpu_s "queries/s" "queries/cpu-s"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' ------------------------------------ ---------- ---------- --------- --------- -------------- ----------------
printf '| %-34s | %8d | %8d | %7.3f | %7.3f | %12.0f | %14.0f |\n' "ntpmon-agent check ($((N * REPEAT)) probes)" "$a_n" "$a_ok" "$a_wall" "$a_cpu" \
    "$(awk -v n="$a_n" -v t="$a_wall" 'BEGIN{print n/t}')" "$(awk -v n="$a_n" -v t="$a_cpu" 'BEGIN{print (t>0)?n/t:0}')"
printf '| %-34s | %8d | %8s | %7.3f | %7.3f | %12.0f | %14.0f |\n' "ntpdig -p $SAMPLES ($N hosts)" "$d_n" "-" "$d_wall" "$d_cpu" \
    "$(awk -v n="$d_n" -v t="$d_wall" 'BEGIN{print n/t}')" "$(awk -v n="$d_n" -v t="$d_cpu" 'BEGIN{print (t>0)?n/t:0}')"
echo
echo "queries = requests the responders received; good = samples without error (ntpmon-agent: $a_n in its results,"
echo "the responders saw $a_served). ntpdig prints only its best sample ($d_ok line), so its good column is empty."
