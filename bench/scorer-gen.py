#!/usr/bin/python3
"""bench/scorer-gen.py — a realistic result stream for the scorer benchmarks: SERVERS × MONITORS × ROUNDS results
(one JSON per line, ts order), each with three samples like the agent sends. Deterministic (seeded).
  scorer-gen.py SERVERS MONITORS ROUNDS [START_UNIX] [SAMPLES]   (SAMPLES 0: an empty samples array)"""
import json
import random
import sys
import time

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms, rnd):
    v = (ms << 80) | rnd.getrandbits(80)
    return "".join(CROCKFORD[(v >> (5 * (25 - i))) & 31] for i in range(26))


def ts_text(us):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1000000)) + ".%06dZ" % (us % 1000000)


def main():
    servers, monitors, rounds = (int(x) for x in sys.argv[1:4])
    start = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "-" else 1795460400
    with_samples = not (len(sys.argv) > 5 and sys.argv[5] == "0")
    rnd = random.Random(42)
    statuses = ["active"] * 7 + ["testing"] * 5 + ["candidate"] * 100
    interval = 540 * 1000000
    out = sys.stdout
    for r in range(rounds):
        base = start * 1000000 + r * interval
        for s in range(servers):
            for m in range(monitors):
                ts = base + (s * monitors + m) * interval // (servers * monitors)
                timeout = rnd.random() < 0.03
                samples = []
                for k in range(3):
                    st = ts - (2 - k) * 2000000
                    if timeout:
                        samples.append({"ts": ts_text(st), "stratum": 0, "leap": 0, "refid": "", "error": "timeout"})
                    else:
                        samples.append({"ts": ts_text(st), "offset": round(rnd.gauss(0, 0.002), 9),
                                        "rtt": round(rnd.uniform(0.005, 0.2), 9), "stratum": 2, "leap": 0,
                                        "refid": "GPS", "error": ""})
                res = {"v": 1, "id": ulid(ts // 1000, rnd), "monitor": "mon-%03d" % m, "server_id": s + 1,
                       "ip": "192.0.%d.%d" % (s // 250, s % 250 + 1), "ts": ts_text(ts),
                       "status": statuses[m % len(statuses)]}
                best = samples[-1]
                for key in ("offset", "rtt"):
                    if key in best:
                        res[key] = best[key]
                res.update({"stratum": best["stratum"], "leap": 0, "refid": best["refid"], "error": best["error"],
                            "samples": samples if with_samples else [], "agent": "ntpmon-agent/0.1.0"})
                out.write(json.dumps(res, separators=(",", ":")) + "\n")


main()
