#!/usr/bin/env bash
# The harness stops what a test started, by PID, even when it was spawned from a subshell (inside h_ok's $(…),
# where H_PID is not updated): a test script that spawns that way and exits leaves nothing running.
. "$(dirname "$0")/../../lib/harness.sh"
cat >"$H_TMP/inner.sh" <<'INNER'
. "$H_ROOT/tests/lib/harness.sh"
h_spawn direct sleep 300
h_ok "spawn in a subshell" h_spawn hidden sleep 301
echo "direct=${H_PID[direct]} tmp=$H_TMP"
pgrep -f "^sleep 301$" | sed 's/^/hidden=/'
INNER
out=$(H_ROOT=$H_ROOT bash "$H_TMP/inner.sh" 2>&1)
direct=$(echo "$out" | sed -n 's/^direct=\([0-9]*\).*/\1/p')
hidden=$(echo "$out" | sed -n 's/^hidden=\([0-9]*\)$/\1/p' | head -1)
inner_tmp=$(echo "$out" | sed -n 's/.* tmp=\(.*\)$/\1/p')
h_like "$direct" "^[0-9]+$" "the inner test spawned a process directly"
h_like "$hidden" "^[0-9]+$" "…and one from a subshell"
gone() { ! kill -0 "$1" 2>/dev/null; }
h_wait_ok "the directly spawned process is stopped" 10 gone "$direct"
h_wait_ok "the process spawned from a subshell is stopped too" 10 gone "$hidden"
h_is "$(ls -d "$inner_tmp" 2>/dev/null | wc -l)" 0 "the inner test's scratch dir is removed"
h_done
