#!/usr/bin/python3
"""tests/tools/guard-scenario.py — result streams for the mass-outage guard's replay scenarios (and its benchmark).
Zone `au`: servers 1..AU; zone `de`: servers AU+1..AU+DE. Monitors lax1, lax2 (one region) and zrh1 (another), all
active, each probing every server every 540 s. Everything answers for the first 10 h (the scores settle near 20,
as servers in the pool have them); from 10 h to 10 h 45 the servers hit fail as the scenario says; from then on all
answer again; the stream ends at 15 h. One JSON result per line,
in time order, deterministic (seeded).
  guard-scenario.py SCENARIO [AU] [DE] [--zones FILE] [--hours H] [--start UNIX]
SCENARIO:
  cut       40 % of au (servers 1..AU*0.4) time out from lax1 and lax2 but answer zrh1 (a cut trans-Pacific link)
  dead      the same servers time out from every monitor (really down)
  single    server AU+1 (in de, a calm zone) times out from lax1 and lax2 but answers zrh1
  calm      nothing fails
--zones FILE writes the zones file (lines "server_id zone") for replay --zones; --start: the first result's time
(default 2026-11-23 19:00:00Z); --hours: how much of the 15 h to write."""
import json
import random
import sys
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MONITORS = ["lax1", "lax2", "zrh1"]
START = 1795460400  # 2026-11-23 19:00:00Z
INTERVAL = 540
CUT_FROM, CUT_TO = 10 * 3600, 10 * 3600 + 45 * 60


def ulid(ms, rnd):
    v = (ms << 80) | rnd.getrandbits(80)
    return "".join(CROCKFORD[(v >> (5 * (25 - i))) & 31] for i in range(26))


def ts_text(us):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1000000)) + ".%06dZ" % (us % 1000000)


def fails(scenario, server, monitor, au, t):
    if t < CUT_FROM or t >= CUT_TO:
        return False
    if scenario in ("cut", "dead"):
        hit = server <= int(au * 0.4)
        return hit and (scenario == "dead" or monitor != "zrh1")
    if scenario == "single":
        return server == au + 1 and monitor != "zrh1"
    return False


def main():
    args = sys.argv[1:]
    zones_file, hours = None, 15.0
    if "--zones" in args:
        i = args.index("--zones")
        zones_file = args[i + 1]
        del args[i:i + 2]
    start = START
    if "--start" in args:
        i = args.index("--start")
        start = int(args[i + 1])
        del args[i:i + 2]
    if "--hours" in args:
        i = args.index("--hours")
        hours = float(args[i + 1])
        del args[i:i + 2]
    if not args or args[0] not in ("cut", "dead", "single", "calm"):
        sys.exit(__doc__)
    scenario = args[0]
    au = int(args[1]) if len(args) > 1 else 20
    de = int(args[2]) if len(args) > 2 else 10
    servers = au + de
    if zones_file:
        with open(zones_file, "w") as f:
            for s in range(1, servers + 1):
                f.write("%d %s\n" % (s, "au" if s <= au else "de"))
    rnd = random.Random(14)
    out = sys.stdout
    n = len(MONITORS) * servers
    for r in range(int(hours * 3600 / INTERVAL)):
        for k in range(n):
            s, m = k // len(MONITORS) + 1, MONITORS[k % len(MONITORS)]
            t = r * INTERVAL + k * INTERVAL // n
            us = (start + t) * 1000000 + rnd.randrange(1000000)
            res = {"v": 1, "id": ulid(us // 1000, rnd), "monitor": m, "server_id": s,
                   "ip": "192.0.%d.%d" % (s // 250, s % 250 + 1), "ts": ts_text(us), "status": "active"}
            if fails(scenario, s, m, au, t):
                res.update({"stratum": 0, "leap": 0, "refid": "", "error": "timeout"})
            else:
                res.update({"offset": round(rnd.gauss(0, 0.001), 9), "rtt": round(rnd.uniform(0.01, 0.2), 9),
                            "stratum": 2, "leap": 0, "refid": "GPS", "error": ""})
            res.update({"samples": [], "agent": "ntpmon-agent/0.1.0"})
            out.write(json.dumps(res, separators=(",", ":")) + "\n")


main()
