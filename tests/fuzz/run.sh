#!/usr/bin/env bash
# tests/fuzz/run.sh — builds every tests/fuzz/fuzz_<name>.c with clang's libFuzzer (+ASan/UBSan) and runs each for
# a bounded time, starting from tests/fuzz/corpus/<name>/ when present. A target's extra sources (besides
# common/*.c) are listed on a line "// fuzz-sources: a.c b.c" in the target file. Prints one line per target with
# the executions done and whether it found a crash (crash inputs are kept in build-fuzz/<name>/).
set -u
cd "$(dirname "$0")/../.."
SECONDS_EACH=20
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_EACH=$2; shift ;;
        *) echo "usage: $0 [--seconds N]" >&2; exit 2 ;;
    esac
    shift
done
OUT=build-fuzz
mkdir -p "$OUT/bin"
PKGS="libmosquitto json-c libmariadb libjwt openssl yaml-0.1 libmicrohttpd"
# clang's UBSan only prints and goes on unless told otherwise: a report must be a finding
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Icommon $(pkg-config --cflags $PKGS) -fsanitize=fuzzer,address,undefined"
CFLAGS="$CFLAGS -fno-sanitize-recover=undefined"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
LIBS="$(pkg-config --libs $PKGS) -lm -lpthread"
status=0
for target in tests/fuzz/fuzz_*.c; do
    name=$(basename "$target" .c)
    extra=$(sed -n 's|^// fuzz-sources: ||p' "$target")
    incs=""
    for e in $extra; do incs="$incs -iquote $(dirname "$e")"; done  # -iquote: agent/sched.h must not hide <sched.h>
    if ! clang $CFLAGS $incs -o "$OUT/bin/$name" "$target" common/*.c $extra $LIBS 2>"$OUT/$name.build.log"; then
        echo "$name: BUILD FAILED"; cat "$OUT/$name.build.log"; status=1; continue
    fi
    mkdir -p "$OUT/$name/corpus" "$OUT/$name/crashes"
    [ -d "tests/fuzz/corpus/$name" ] && cp -n tests/fuzz/corpus/$name/* "$OUT/$name/corpus/" 2>/dev/null
    ( cd "$OUT/$name" && "../bin/$name" -max_total_time="$SECONDS_EACH" -timeout=5 -rss_limit_mb=2048 \
        -artifact_prefix=crashes/ -print_final_stats=1 corpus >"run.log" 2>&1 )
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/$name/run.log" | grep -o '[0-9]*$')
    crashes=$(ls "$OUT/$name/crashes" | wc -l)
    if [ "$rc" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        echo "$name: FOUND A PROBLEM after ${execs:-?} executions (exit $rc); see $OUT/$name/run.log and $OUT/$name/crashes/"
        grep -E 'ERROR|SUMMARY|runtime error' "$OUT/$name/run.log" | head -5
        status=1
    else
        echo "$name: ${execs:-?} executions in ${SECONDS_EACH}s, corpus $(ls "$OUT/$name/corpus" | wc -l) inputs, no crash"
    fi
done
exit $status
