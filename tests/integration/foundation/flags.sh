#!/usr/bin/env bash
# Every flag of every binary (their tables are in each part's main.c; common/opts parses them, see
# tests/unit/common/test_opts.c): --help and --version exit 0; each flag's own default, given back on the command
# line, is accepted (so no default is out of its own bounds or of the wrong type); every boolean flag is accepted;
# an unknown flag and a flag without its value exit 2 naming it. Needs no server: "--help" after the flag makes
# the program exit once everything before it is parsed.
. "$(dirname "$0")/../../lib/harness.sh"
for bin in ntpmon-agent ntpmon-ingest ntpmon-scorer ntpmon-selector ntpmon-tokend ntpmon-web ntpmonctl; do
    b=$H_BIN/$bin
    help=$("$b" --help 2>&1); rc=$?
    h_is "$rc" 0 "$bin --help exits 0"
    h_like "$help" "^Usage: $bin " "$bin --help starts with its usage"
    h_like "$("$b" --version 2>&1)" "^$bin [0-9]+\.[0-9]+\.[0-9]+" "$bin --version"
    n=0 bad=""
    # "  -e, --env ENV   text (default devel) [env …]": the flag, its value name and its default
    while IFS=$'\t' read -r flag metavar def; do
        n=$((n + 1))
        if [ -z "$metavar" ]; then
            out=$("$b" "--$flag" --help 2>&1) || bad+=" --$flag: $(echo "$out" | head -1);"
        elif [ -n "$def" ]; then
            out=$("$b" "--$flag" "$def" --help 2>&1) || bad+=" --$flag $def: $(echo "$out" | head -1);"
        fi
    done < <(echo "$help" | /usr/bin/python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"\s+(?:-\w, )?--([a-z0-9-]+)(?: (\S+))?\s", line)
    if not m or m.group(1) in ("help", "version"):
        continue
    d = re.findall(r"\(default ([^:)][^)]*)\)", line)
    print("%s\t%s\t%s" % (m.group(1), m.group(2) or "", d[-1] if d else ""))')
    h_num_between "$n" 5 1000 "$bin lists its flags ($n)"
    h_is "$bad" "" "$bin accepts every default back and every boolean flag"
    cmd=(); [ "$bin" = ntpmonctl ] && cmd=(db status) # without a command ntpmonctl says so first
    out=$("$b" "${cmd[@]}" --no-such-flag 2>&1); rc=$?
    h_is "$rc" 2 "$bin: an unknown flag exits 2"
    h_like "$out" "unknown option '--no-such-flag'" "$bin: …naming it"
    out=$("$b" "${cmd[@]}" --log-level 2>&1); rc=$?
    h_is "$rc" 2 "$bin: a flag without its value exits 2"
    h_like "$out" "needs a value" "$bin: …saying so"
done
h_done
