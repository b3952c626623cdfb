#!/usr/bin/env bash
# `make demo DEMO_SECONDS=60` as a user runs it: the whole pipeline comes up, results are stored, the good server is
# in the pool with 3 active monitors, the 120 ms and RATE servers are out, and everything it started is stopped.
. "$(dirname "$0")/../../lib/harness.sh"
out=$(make -C "$H_ROOT" --no-print-directory demo DEMO_SECONDS=60 BUILD="$H_BUILD" 2>&1); rc=$?
h_is "$rc" 0 "make demo exits 0"
summary=$(echo "$out" | grep '^summary:')
h_diag "$summary"
stored=$(echo "$summary" | sed -n 's/.*results_stored=\([0-9]*\).*/\1/p')
h_num_between "${stored:-0}" 100 100000 "results were stored (${stored:-none})"
h_like "$summary" "results_rejected=0" "no result was rejected"
good=$(echo "$summary" | grep 'server=127.0.0.2 ')
h_like "$good" "in_pool=1 active=3 " "the chronyd server is in the pool with 3 active monitors"
h_num_between "$(echo "$good" | sed -n 's/.*score=\([-0-9.]*\).*/\1/p')" 10 20 "…with a score between 10 and 20"
off=$(echo "$summary" | grep 'server=127.0.0.3 ')
h_like "$off" "in_pool=0" "the 120 ms server is not in the pool"
h_num_between "$(echo "$off" | sed -n 's/.*score=\([-0-9.]*\).*/\1/p')" 0 9.09 "…its score stays below the step table's steady 9.08"
rate=$(echo "$summary" | grep 'server=127.0.0.4 ')
h_like "$rate" "in_pool=0 active=0" "the RATE server is out of the pool with no active monitor"
h_num_between "$(echo "$rate" | sed -n 's/.*score=\([-0-9.]*\).*/\1/p')" -70 -20 "…and its score sinks toward -70"
h_is "$(echo "$out" | grep "^in the pool:")" "in the pool: 127.0.0.2" "the summary names the server in the pool"
h_like "$(echo "$out" | grep -m1 '^page: ')" '^page: +http://127\.0\.0\.1:[0-9]+/ ' "the demo printed the page's URL"
h_like "$(echo "$out" | grep -m1 '^stream: ')" "^stream: mosquitto_sub .*-u watch-devel -P .*watcher.token.* -t 'ntpmon/devel/results/\+/\+'" \
    "…and a ready mosquitto_sub command line with a watcher token"
h_like "$summary" "web_page=200 web_servers=3 stream_results=1" "the page answered, listed the servers, and that command line received a result"
dir=$(echo "$out" | sed -n 's/.*starting the stack in \(\/[^ ]*\).*/\1/p')
h_like "$dir" "^/tmp/ntpmon-test\." "the demo said where it ran"
h_is "$(pgrep -f "$dir" | wc -l)" 0 "nothing the demo started is still running"
h_is "$(ls -d "$dir" 2>/dev/null | wc -l)" 0 "its scratch dir is gone"
h_done
