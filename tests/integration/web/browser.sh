#!/usr/bin/env bash
# The page end to end in a real browser: Debian's chromium driven by playwright-core (tests/browser, installed by
# make deps) against a demo-like stack — the server list, a score changing live without a reload, the graph's
# points, a check showing the monitors' answers as they stream in, a phone-sized screen, no script errors.
# Screenshots land in the test logs (build/test-logs/web-*.png).
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/pipeline.sh"
. "$H_ROOT/tests/lib/web.sh"
[ -x /usr/bin/chromium ] || { h_fail "chromium is installed (make deps)"; h_done; }
[ -d "$H_ROOT/tests/browser/node_modules/playwright-core" ] || { h_fail "playwright-core is installed (make deps)"; h_done; }
P_WEB_FLAGS="--check-rate 600 --check-burst 100"
P_SCORER_FLAGS="--record-same-interval 0 --record-close-interval 0" # every score recorded: the page sees changes
p_stack
w_init
in_pool() { w_req GET /api/servers >/dev/null; [ "$(w_json '.[] | select(.ip == "127.0.0.2") | .active | length')" = 3 ]; }
h_wait_ok "the stack is running (127.0.0.2 has its three active monitors)" 90 in_pool
OUT=$H_BUILD/test-logs
mkdir -p "$OUT"
node "$H_ROOT/tests/browser/page.test.mjs" "$W_URL" "$OUT" >"$H_TMP/browser.out" 2>&1
rc=$?
while IFS= read -r line; do
    case "$line" in
        PASS\ *) h_pass "${line#PASS }" ;;
        FAIL\ *) desc=${line#FAIL }; h_fail "${desc%% :: *}" "${desc#* :: }" ;;
        *) h_diag "$line" ;;
    esac
done <"$H_TMP/browser.out"
h_is "$rc" 0 "the browser run exits 0"
h_ok "screenshots saved in the test logs" test -s "$OUT/web-server.png" -a -s "$OUT/web-check.png"
h_done
