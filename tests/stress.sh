#!/usr/bin/env bash
# tests/stress.sh — `make test-stress`: the whole suite (what `make test` runs, both builds) with CPU-bound
# processes beside it, several times, one summary line per run and a total. Two busy loops on a 2-core machine
# leave the suite a fraction of what CI gives it: a test that only passes when it gets the CPU in time (a fixed
# sleep, an assumed order across processes, a bound too tight to ever be met under load) fails here.
#   tests/stress.sh [--runs N] [--hogs N] [--build DIR] [--asan-build DIR] [--filter REGEX]
# The busy loops are started by this script and stopped by PID when it ends (never by name).
set -u
cd "$(dirname "$0")/.."
RUNS=${STRESS_RUNS:-5}
HOGS=${STRESS_HOGS:-2}
BUILD=build
ASAN_BUILD=build-asan
FILTER=
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift ;;
        --hogs) HOGS=$2; shift ;;
        --build) BUILD=$2; shift ;;
        --asan-build) ASAN_BUILD=$2; shift ;;
        --filter) FILTER=$2; shift ;;
        *) echo "usage: $0 [--runs N] [--hogs N] [--build DIR] [--asan-build DIR] [--filter REGEX]" >&2; exit 2 ;;
    esac
    shift
done

HOG_PIDS=()
stop_hogs() {
    local p
    for p in "${HOG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${HOG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    HOG_PIDS=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

LOGS=$BUILD/stress-logs
mkdir -p "$LOGS"
green=0
for run in $(seq 1 "$RUNS"); do
    for _ in $(seq 1 "$HOGS"); do
        sh -c 'while :; do :; done' &
        HOG_PIDS+=($!)
    done
    t0=$(date +%s)
    load0=$(cut -d' ' -f1 /proc/loadavg)
    tests/run.sh --build "$BUILD" ${ASAN_BUILD:+--asan-build "$ASAN_BUILD"} ${FILTER:+--filter "$FILTER"} \
        >"$LOGS/run-$run.log" 2>&1
    rc=$?
    stop_hogs
    summary=$(tail -n 1 "$LOGS/run-$run.log")
    echo "run $run/$RUNS: $summary  ($(( $(date +%s) - t0 )) s, $HOGS busy loops, load at start $load0)"
    grep -E '^FAIL ' "$LOGS/run-$run.log" | sed 's/^/    /'
    [ "$rc" -eq 0 ] && green=$((green + 1))
done
echo "stress: $green of $RUNS runs green (logs in $LOGS)"
[ "$green" -eq "$RUNS" ]
