#!/usr/bin/env bash
# tests/run.sh — runs every test and prints one summary line "N passed, N failed".
#   unit:         build/tests/unit/<part>/test_*          (and the same binaries from the ASan build)
#   integration:  tests/integration/<part>/*.sh            (real servers; see tests/lib/harness.sh)
#   asan subset:  integration scripts with a "# asan: yes" line, run against the ASan+UBSan build
# Each test prints TAP lines; every "ok" counts as passed and every "not ok" as failed. A test file that exits
# non-zero without a "not ok", or prints no "ok" at all, counts as one failure, so a run that tested nothing shows.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=build
ASAN_BUILD=
ONLY=
JOBS=${NTPMON_TEST_JOBS:-2}
FILTER=${NTPMON_TEST_FILTER:-}
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=$2; shift ;;
        --asan-build) ASAN_BUILD=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --jobs) JOBS=$2; shift ;;
        --filter) FILTER=$2; shift ;;
        *) echo "usage: $0 [--build DIR] [--asan-build DIR] [--only unit|integration] [--jobs N] [--filter REGEX]" >&2; exit 2 ;;
    esac
    shift
done

# Sanitizer reports are fatal: the ASan/UBSan tree is built with -fno-sanitize-recover=undefined, and every UBSan
# runtime we start (unit tests here; daemons and the broker's plugin through tests/lib/harness.sh) also gets
# halt_on_error=1 — appended last, so it wins over anything set in the caller's UBSAN_OPTIONS.
UBSAN_FATAL="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
OUT=$BUILD/test-logs
rm -rf "$OUT"; mkdir -p "$OUT"
TIMEOUT_UNIT=${NTPMON_TEST_TIMEOUT_UNIT:-300}
TIMEOUT_INTEGRATION=${NTPMON_TEST_TIMEOUT:-600}
START=$(date +%s)

# Each job: LABEL|KIND|TIMEOUT|COMMAND…  (run through env so variables can be set per job)
JOBLIST=()
add_job() { JOBLIST+=("$1"); }

if [ "$ONLY" != integration ]; then
    for b in $(find "$BUILD/tests/unit" -type f -perm -u+x 2>/dev/null | sort); do
        add_job "unit/${b#$BUILD/tests/unit/}|$TIMEOUT_UNIT|env $b"
    done
    if [ -n "$ASAN_BUILD" ]; then
        for b in $(find "$ASAN_BUILD/tests/unit" -type f -perm -u+x 2>/dev/null | sort); do
            add_job "asan/unit/${b#$ASAN_BUILD/tests/unit/}|$TIMEOUT_UNIT|env ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=$UBSAN_FATAL $b"
        done
    fi
fi
if [ "$ONLY" != unit ]; then
    for t in $(find tests/integration -name '*.sh' -type f 2>/dev/null | sort); do
        add_job "${t#tests/}|$TIMEOUT_INTEGRATION|env NTPMON_BUILD=$BUILD bash $t"
        if [ -n "$ASAN_BUILD" ] && grep -q '^# asan: yes' "$t"; then
            add_job "asan/${t#tests/}|$TIMEOUT_INTEGRATION|env NTPMON_BUILD=$ASAN_BUILD NTPMON_ASAN=1 bash $t"
        fi
    done
fi

if [ -n "$FILTER" ]; then
    filtered=()
    for j in "${JOBLIST[@]}"; do [[ "${j%%|*}" =~ $FILTER ]] && filtered+=("$j"); done
    JOBLIST=("${filtered[@]}")
fi

run_job() {
    local label=${1%%|*} rest=${1#*|}
    local timeout=${rest%%|*} cmd=${rest#*|}
    local log=$OUT/$(echo "$label" | tr '/' '_').log
    local t0=$(date +%s)
    timeout --kill-after=10 "$timeout" $cmd >"$log" 2>&1
    local rc=$?
    local secs=$(( $(date +%s) - t0 ))
    local pass fail
    pass=$(grep -cE '^ok( |$)' "$log")
    fail=$(grep -cE '^not ok( |$)' "$log")
    local extra=""
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then fail=$((fail + 1)); extra=" (timed out after ${timeout}s)"
    elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; extra=" (exit status $rc)"
    elif [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then fail=1; extra=" (ran no tests)"
    fi
    echo "$label|$pass|$fail|$secs|$extra|$log" >"$log.result"
}

# A small job pool: integration tests mostly wait on servers, so two at a time halves the wall time.
running=0
for j in "${JOBLIST[@]}"; do
    run_job "$j" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

total_pass=0; total_fail=0
for j in "${JOBLIST[@]}"; do
    label=${j%%|*}
    res=$OUT/$(echo "$label" | tr '/' '_').log.result
    if [ ! -f "$res" ]; then echo "FAIL $label (no result)"; total_fail=$((total_fail + 1)); continue; fi
    IFS='|' read -r _ pass fail secs extra log <"$res"
    total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
    if [ "$fail" -gt 0 ]; then
        printf 'FAIL %-60s %4d ok %3d failed %4ss%s\n' "$label" "$pass" "$fail" "$secs" "$extra"
        grep -E '^(not ok|#)' "$log" | head -n 80 | sed 's/^/     /'
        tail -n 15 "$log" | grep -vE '^(ok|not ok|#)' | sed 's/^/     | /'
    else
        printf 'pass %-60s %4d ok %4ss\n' "$label" "$pass" "$secs"
    fi
done
echo "# logs in $OUT; total time $(( $(date +%s) - START ))s"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
