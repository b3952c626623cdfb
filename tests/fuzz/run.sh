#!/usr/bin/env bash
# tests/fuzz/run.sh — builds and runs every libFuzzer target tests/fuzz/fuzz_<name>.c for a bounded time and prints
# what each found. A target names the sources it needs on a line "fuzz-sources: a/x.c b/*.c" in its opening
# comment (globs allowed; their directories become include paths). Seeds: tests/fuzz/corpus/<name>/ (optional).
# Work files go to build-fuzz/ (corpus grown by the run, crash artifacts). Exit status 1 when a target crashed.
#   tests/fuzz/run.sh [--seconds N] [--only NAME]
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SECONDS_PER_TARGET=60
ONLY=
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_PER_TARGET=$2; shift ;;
        --only) ONLY=$2; shift ;;
        *) echo "usage: $0 [--seconds N] [--only NAME]" >&2; exit 2 ;;
    esac
    shift
done
OUT=build-fuzz
PKGS="libmosquitto json-c libmariadb libjwt openssl yaml-0.1"
CC=${FUZZ_CC:-clang}
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 -Icommon $(pkg-config --cflags $PKGS) -DNTPMON_VERSION=\"fuzz\""
LIBS="$(pkg-config --libs $PKGS) -lm -lpthread"
mkdir -p "$OUT"
failed=0 ran=0
printf '%-24s %10s %8s %s\n' target runs seconds result
for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c); name=${name#fuzz_}
    [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && continue
    srcs=$(sed -n 's/.*fuzz-sources:\(.*\)$/\1/p' "$src" | head -1 | sed 's/\*\/$//')
    files=() incs=()
    for pat in $srcs; do
        for f in $pat; do
            [ -f "$f" ] && files+=("$f") && incs+=("-I$(dirname "$f")")
        done
    done
    bin=$OUT/bin/fuzz_$name
    mkdir -p "$OUT/bin" "$OUT/corpus/$name" "$OUT/artifacts/$name"
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS $(printf '%s\n' "${incs[@]}" | sort -u) -o "$bin" "$src" "${files[@]}" $LIBS \
        >"$OUT/build-$name.log" 2>&1; then
        printf '%-24s %10s %8s %s\n' "$name" - - "BUILD FAILED (see $OUT/build-$name.log)"
        failed=1
        continue
    fi
    seeds=()
    [ -d "tests/fuzz/corpus/$name" ] && seeds=("tests/fuzz/corpus/$name")
    log=$OUT/run-$name.log
    t0=$(date +%s)
    ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/artifacts/$name/" "$OUT/corpus/$name" "${seeds[@]}" >"$log" 2>&1
    rc=$?
    runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' | tail -1)
    ran=$((ran + 1))
    if [ "$rc" -eq 0 ]; then
        result="no crash ($(ls "$OUT/corpus/$name" | wc -l) corpus inputs)"
    else
        result="CRASH: $(grep -m1 -E 'ERROR|SUMMARY|runtime error' "$log") — artifacts in $OUT/artifacts/$name/"
        failed=1
    fi
    printf '%-24s %10s %8s %s\n' "$name" "${runs:-?}" "$(( $(date +%s) - t0 ))" "$result"
done
[ "$ran" -gt 0 ] || [ "$failed" -ne 0 ] || echo "no fuzz targets ran"
exit $failed
