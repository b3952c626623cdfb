#!/usr/bin/python3
"""score_latency.py URL SERVER_ID MQTT_PORT USER TOKEN ENV SECONDS MIN_SCORES

Reads one server's score stream from ntpmon-web (SSE) and the same scores straight from the broker (mosquitto_sub,
live messages only) side by side, matches them by their ts, and prints one line per matched score and a summary:
"matched N max_delay_s D p50_delay_s P". The delay is SSE arrival minus broker arrival. Exits 1 when fewer than
MIN_SCORES matched within SECONDS."""
import http.client, json, subprocess, sys, threading, time, urllib.parse

url, server_id, port, user, token, env, seconds, min_scores = sys.argv[1:9]
seconds, min_scores = float(seconds), int(min_scores)
u = urllib.parse.urlparse(url)
mqtt_at, sse_at = {}, {}
lock = threading.Lock()
done = threading.Event()

def read_sse():
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=seconds + 5)
    conn.request("GET", "/api/server/scores/%s/stream" % server_id, headers={"Accept": "text/event-stream"})
    resp = conn.getresponse()
    if resp.status != 200:
        print("# stream answered %d" % resp.status)
        done.set()
        return
    event, first = None, True
    while not done.is_set():
        line = resp.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "score":
            d = json.loads(line[6:])
            if first:  # the retained score every stream starts with
                first = False
                continue
            with lock:
                sse_at.setdefault(d["ts"], time.monotonic())

def read_mqtt():
    p = subprocess.Popen(["mosquitto_sub", "-V", "mqttv5", "-p", port, "-u", user, "-P", token, "-R",
                          "-t", "ntpmon/%s/scores/%s" % (env, server_id)], stdout=subprocess.PIPE, text=True)
    while not done.is_set():
        line = p.stdout.readline()
        if not line:
            break
        d = json.loads(line)
        with lock:
            mqtt_at.setdefault(d["ts"], time.monotonic())
    p.kill()

threads = [threading.Thread(target=read_sse, daemon=True), threading.Thread(target=read_mqtt, daemon=True)]
for t in threads:
    t.start()
deadline = time.monotonic() + seconds
delays = []
while time.monotonic() < deadline:
    time.sleep(0.2)
    with lock:
        both = [ts for ts in mqtt_at if ts in sse_at]
    if len(both) >= min_scores:
        break
with lock:
    for ts in sorted(t for t in mqtt_at if t in sse_at):
        d = sse_at[ts] - mqtt_at[ts]
        delays.append(d)
        print("score ts %s delay_s %.4f" % (ts, d))
done.set()
delays.sort()
p50 = delays[len(delays) // 2] if delays else -1
print("matched %d max_delay_s %.4f p50_delay_s %.4f" % (len(delays), max(delays) if delays else -1, p50))
sys.exit(0 if len(delays) >= min_scores else 1)
