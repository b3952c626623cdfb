#!/usr/bin/python3
"""web-check.py URL TARGET RUNS ALL — times ntpmon-web checks streamed as Server-Sent Events. For each run: the POST →
the first monitor's answer and → the end (done event); and, from the first answer's own result, when that agent sent
its NTP query (the result's ts) and how long the exchange took (rtt) — so the time splits into request → probe
start, the probe, and answer → client. Prints "key value" pairs (p50/p99 in ms)."""
import datetime, http.client, json, sys, time, urllib.parse

url, target, runs, all_ = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
u = urllib.parse.urlparse(url)
first, full, to_probe, probe = [], [], [], []
for _ in range(runs):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    w0, t0 = time.time(), time.monotonic()
    c.request("POST", "/api/check/ntp/%s%s" % (target, "?all=1" if all_ else ""), headers={"Accept": "text/event-stream"})
    r = c.getresponse()
    if r.status != 200:
        print("# status %d: %s" % (r.status, r.read()[:200]))
        sys.exit(1)
    event, got_first = None, False
    while True:
        line = r.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "answer" and not got_first:
            got_first = True
            first.append((time.monotonic() - t0) * 1000)
            res = json.loads(line[6:]).get("result")
            if res is None:
                print("# an error answer: %s" % line[6:200])
                sys.exit(1)
            ts = datetime.datetime.strptime(res["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
            to_probe.append((ts.timestamp() - w0) * 1000)
            probe.append(res["rtt"] * 1000)
        elif event == "done" and line.startswith("data: "):
            full.append((time.monotonic() - t0) * 1000)
            break
    c.close()
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]
for name, v in (("first", first), ("full", full), ("to_probe", to_probe), ("probe", probe)):
    print("%s_p50 %.3f" % (name, pct(v, .5)))
    print("%s_p99 %.3f" % (name, pct(v, .99)))
