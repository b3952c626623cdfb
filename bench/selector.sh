#!/usr/bin/env bash
# bench/selector.sh — the selector's figures: a synthetic pool of 10 000 servers × 100 monitors with 24 h of
# statistics in memory; ingestion into the statistics (decoded, and through the whole stream path beside json-c
# alone, its ceiling); a review of every server; peak RSS. Targets: review ≤ 5 s on one core, ≤ 300 MB RSS,
# ingestion ≥ 200 000 results/s. Pinned to one core when taskset is there.
set -eu
cd "$(dirname "$0")/.."
BIN=${NTPMON_BUILD:-build}/bench/selector-bench
[ -x "$BIN" ] || make --no-print-directory -s "$BIN" >&2
pin=()
command -v taskset >/dev/null && pin=(taskset -c "$(( $(nproc) - 1 ))")
echo "## selector (ntpmon-selector)"
echo
echo "Targets: review of every server ≤ 5 s on one core, ≤ 300 MB RSS; ingestion ≥ 200 000 results/s."
echo "Load at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared)."
echo
echo "| measure | figure |"
echo "|---|---|"
"${pin[@]}" "$BIN" "${SELECTOR_BENCH_SERVERS:-10000}" "${SELECTOR_BENCH_MONITORS:-100}" "${SELECTOR_BENCH_MESSAGES:-200000}"
