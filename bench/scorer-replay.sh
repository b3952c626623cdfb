#!/usr/bin/env bash
# bench/scorer-replay.sh — `ntpmon-scorer replay` throughput on one core (user CPU time), beside the JSON ceiling
# measured on the same input in the same run: json-c parsing alone and the shared decoder/validator. Two inputs:
# realistic results (three samples each, as the agent sends, ~640 bytes) and the same without samples (~260 bytes).
set -eu
cd "$(dirname "$0")/.."
B=${NTPMON_BUILD:-build}
N_SERVERS=${BENCH_SERVERS:-1000}; N_MONITORS=${BENCH_MONITORS:-10}; N_ROUNDS=${BENCH_ROUNDS:-20}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 bench/scorer-gen.py "$N_SERVERS" "$N_MONITORS" "$N_ROUNDS" - 3 >"$tmp/full.jsonl"
/usr/bin/python3 bench/scorer-gen.py "$N_SERVERS" "$N_MONITORS" "$N_ROUNDS" - 0 >"$tmp/bare.jsonl"
n=$(wc -l <"$tmp/full.jsonl")
. bench/lib.bash
cpu() { bench_cpu "$f" "$@"; }
rate() { bench_rate "$@"; }
echo "## scorer: replay throughput (one core)"
echo
echo "$n results ($N_SERVERS servers × $N_MONITORS monitors × $N_ROUNDS rounds); load average at start: $(cut -d' ' -f1 /proc/loadavg) on $(nproc) cores (shared machine)."
echo
echo "| input | bytes/result | json-c parse only | msg_result_decode | replay --csv | replay (JSON lines) | replay --messages |"
echo "|---|---|---|---|---|---|---|"
for input in full bare; do
    f=$tmp/$input.jsonl
    bytes=$(( $(wc -c <"$f") / n ))
    parse=$("$B/bench/scorer-parse" "$f")
    p1=$(sed 's/json-c parse \([0-9]*\).*/\1/' <<<"$parse")
    p2=$(sed 's/.*msg_result_decode \([0-9]*\).*/\1/' <<<"$parse")
    csv=$(cpu "$B/bin/ntpmon-scorer" replay --csv)
    json=$(cpu "$B/bin/ntpmon-scorer" replay)
    msgs=$(cpu "$B/bin/ntpmon-scorer" replay --messages)
    label=$([ "$input" = full ] && echo "3 samples (realistic)" || echo "no samples")
    echo "| $label | $bytes | $p1/s | $p2/s | $(rate "$n" "$csv")/s | $(rate "$n" "$json")/s | $(rate "$n" "$msgs")/s |"
done
echo
echo "Rates are results per CPU-second (user+sys) of one process, best of three runs. Target: replay ≥ 250 000/s."
