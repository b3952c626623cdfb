#!/usr/bin/env bash
# bench/run.sh — `make bench`: runs every benchmark script bench/*.sh (each prints a markdown section with its
# figures beside the peer or ceiling it measured in the same run) and writes bench/RESULTS.md with the machine
# and date. A benchmark that fails is reported as such; it never stops the others.
set -u
cd "$(dirname "$0")/.."
BUILD=build
ONLY=
while [ $# -gt 0 ]; do
    case "$1" in
        --build) BUILD=$2; shift ;;
        --only) ONLY=$2; shift ;;
        *) echo "usage: $0 [--build DIR] [--only REGEX]" >&2; exit 2 ;;
    esac
    shift
done
export NTPMON_BUILD=$BUILD
OUT=bench/RESULTS.md
TMP=$(mktemp)
{
    echo "# ntpmon benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "- kernel: $(uname -r); $(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "- load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- versions: mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p'), $(mariadbd --version | sed 's/.*Ver \([^ ]*\).*/MariaDB \1/'), chrony $(chronyd -v | awk '{print $4}')"
    echo
    echo "Every figure below was measured in this run, beside its peer or ceiling measured in the same run."
    echo
} >"$TMP"
status=0
for b in bench/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    [ -n "$ONLY" ] && ! [[ "$b" =~ $ONLY ]] && continue
    echo "== $b" >&2
    start=$(date +%s)
    limit=$(sed -n 's/^# bench-timeout: \([0-9]*\)$/\1/p' "$b" | head -1) # a long one says so (soak.sh)
    if out=$(timeout "${limit:-900}" bash "$b" 2>"$b.err.log"); then
        printf '%s\n\n_(%s, %ss)_\n\n' "$out" "$b" "$(( $(date +%s) - start ))" >>"$TMP"
        rm -f "$b.err.log"
    else
        printf '## %s\n\nFAILED (exit %s); see %s.err.log\n\n%s\n\n' "$b" "$?" "$b" "$out" >>"$TMP"
        status=1
    fi
done
mv "$TMP" "$OUT"
cat "$OUT"
exit $status
