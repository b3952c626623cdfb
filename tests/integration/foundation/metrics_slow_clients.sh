#!/usr/bin/env bash
# /healthz and /metrics cannot be locked out by slow clients (issue 19, item 3): 32 clients, each from its own
# loopback address, open a request and send one header line every 2 s (and reconnect at once when the server
# drops them), while a health checker keeps asking /healthz. Every health request made during the attack must get a
# 200 within its timeout. The daemon is a real ntpmon-agent with --metrics-listen (common/metrics.c).
# asan: yes
. "$(dirname "$0")/../../lib/harness.sh"
. "$H_ROOT/tests/lib/agent.sh"
ag_broker
ag_setup sl-mon1 >/dev/null
MPORT=$(h_free_port tcp)
ag_start sl-mon1 --metrics-listen "127.0.0.1:$MPORT"
h_wait_ok "the agent serves /healthz" 20 curl -sf -m 2 "http://127.0.0.1:$MPORT/healthz"

# The attack and the checker in one process; it prints one line per health request and a summary.
/usr/bin/python3 - "$MPORT" >"$H_TMP/attack.out" 2>&1 <<'PY' &
import socket, sys, threading, time
port = int(sys.argv[1]); stop = time.monotonic() + 14
lines_sent = [0]; reconnects = [0]; lock = threading.Lock()

def slow(i):
    src = "127.0.0.%d" % (2 + i)
    while time.monotonic() < stop:
        s = None
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=(src, 0))
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            while time.monotonic() < stop:
                time.sleep(2)
                s.sendall(b"X-Slow-%d: y\r\n" % i)
                with lock: lines_sent[0] += 1
        except OSError:
            with lock: reconnects[0] += 1
            time.sleep(0.05)
        finally:
            if s: s.close()

threads = [threading.Thread(target=slow, args=(i,), daemon=True) for i in range(32)]
for t in threads: t.start()
time.sleep(1)  # let the slow clients take their connections first
ok = bad = 0
while time.monotonic() < stop - 1:
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.settimeout(3)
        s.sendall(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk: break
            data += chunk
        s.close()
        status = data.split(b"\r\n", 1)[0].decode(errors="replace")
    except OSError as e:
        status = "error " + str(e)
    line = "health %s %.2fs" % (status, time.monotonic() - t0)
    print(line, flush=True)
    if " 200 " in status + " ": ok += 1
    else: bad += 1
    time.sleep(0.2)
print("summary ok=%d bad=%d slow_lines=%d slow_reconnects=%d" % (ok, bad, lines_sent[0], reconnects[0]), flush=True)
PY
attack=$!
h_wait 40 grep -q '^summary' "$H_TMP/attack.out"
wait "$attack"
summary=$(grep '^summary' "$H_TMP/attack.out")
h_diag "$summary"
h_like "$summary" "^summary ok=[1-9][0-9]* bad=0 " "every /healthz request during the attack got a 200"
h_like "$summary" "slow_lines=[1-9]" "the slow clients were sending (the attack ran)"
h_unlike "$(grep '^health' "$H_TMP/attack.out")" "error|timed out" "no health request failed or timed out"
h_ok "the agent still runs" h_alive agent-sl-mon1
h_ok "…and answers /metrics" curl -sf -m 3 "http://127.0.0.1:$MPORT/metrics"
h_done
