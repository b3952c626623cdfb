#!/usr/bin/env bash
# The harness's chronyd and the NTP codec against it: a real loopback NTP server answers our request with a valid
# reply, stratum 1, an offset near zero (same clock) and a small delay; a closed port times out.
. "$(dirname "$0")/../../lib/harness.sh"
h_start_chronyd
h_wait_ok "chronyd answers" 15 "$H_BIN/ntp-query" 127.0.0.1 "$H_NTP_PORT"
out=$("$H_BIN/ntp-query" 127.0.0.1 "$H_NTP_PORT")
h_like "$out" "stratum=1 " "stratum 1 (local reference)"
h_like "$out" "error=$" "no error"
off=$(echo "$out" | sed -n 's/.*offset=\([^ ]*\).*/\1/p')
delay=$(echo "$out" | sed -n 's/.*delay=\([^ ]*\).*/\1/p')
# Same clock on both ends, so the offset is only scheduling noise; a loaded CI machine can add a few ms.
h_num_between "${off#-}" 0 0.01 "offset under 10 ms on the same clock"
h_num_between "$delay" 0 0.05 "delay under 50 ms on loopback"
closed=$(h_free_port udp)
out=$("$H_BIN/ntp-query" -t 300 127.0.0.1 "$closed"); rc=$?
h_is "$rc" 2 "closed port: no reply"
h_like "$out" "error=(timeout|network: Connection refused)" "reported as timeout or refused"
h_done
