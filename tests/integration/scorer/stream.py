#!/usr/bin/python3
"""stream.py — result streams for the scorer's integration tests (no agent needed) and their checks.

  stream.py gen OUT_DIR --servers ID,ID… --monitors NAME=ID,… --statuses NAME=STATUS,… --rounds R --start-ts S
      writes OUT_DIR/stream.jsonl (valid results in ts order), OUT_DIR/results.tsv (the rows ingest would store,
      for LOAD DATA) and OUT_DIR/profiles.txt (server id → profile)
  stream.py replay-input STREAM ORDER_TSV   results in the daemon's order with the status it recorded (stdout)
  stream.py compare REPLAY_JSON DB_TSV      every log row of the database equals replay's (exit 1 otherwise)
  stream.py last-pairs|last-servers REPLAY_JSON, stream.py epochs STREAM SERVER_ID, stream.py one …,
  stream.py tsv STREAM NAME=ID,…   (see below)
"""
import json
import random
import sys
import os

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ms, rnd):
    v = (ms << 80) | rnd.getrandbits(80)
    return "".join(CROCKFORD[(v >> (5 * (25 - i))) & 31] for i in range(26))


PROFILES = ["good", "good", "good", "slow", "bad", "flaky", "leaver", "kod", "good", "far"]


def probe(profile, rnd, round_no, rounds):
    """offset, rtt, stratum, leap, error for one probe of a server with this behaviour."""
    rtt = round(rnd.uniform(0.005, 0.080), 6)
    if profile == "good":
        return round(rnd.uniform(-0.004, 0.004), 6), rtt, 2, 0, ""
    if profile == "slow":  # 40–300 ms off: small or negative steps
        return round(rnd.choice([1, -1]) * rnd.uniform(0.04, 0.3), 6), rtt, 2, 0, ""
    if profile == "far":  # over 3 s: capped at −20
        return round(rnd.uniform(3.5, 6), 6), rtt, 2, 0, ""
    if profile == "bad":  # no answer
        return None, None, 0, 0, "timeout"
    if profile == "flaky":
        if rnd.random() < 0.3:
            return None, None, 0, 0, "timeout"
        return round(rnd.uniform(-0.01, 0.01), 6), rtt, 3, 0, ""
    if profile == "leaver":  # good, then gone for the last third
        if round_no >= rounds * 2 // 3:
            return None, None, 0, 0, "network: connection refused"
        return round(rnd.uniform(-0.003, 0.003), 6), rtt, 1, 0, ""
    if profile == "kod":
        if rnd.random() < 0.25:
            return None, rtt, 0, 0, rnd.choice(["RATE", "RATE", "DENY"])
        return round(rnd.uniform(-0.002, 0.002), 6), rtt, 2, 1 if rnd.random() < 0.1 else 0, ""
    raise ValueError(profile)


def fmt_ts(us):
    import datetime
    d = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (us % 1000000)


def fmt_sql_ts(us):
    import datetime
    d = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M:%S") + ".%06d" % (us % 1000000)


def gen(args):
    out = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    servers = [int(x) for x in opts["--servers"].split(",")]
    monitors = dict((k, int(v)) for k, v in (x.split("=") for x in opts["--monitors"].split(",")))
    statuses = dict(x.split("=") for x in opts["--statuses"].split(","))
    rounds = int(opts["--rounds"])
    start = int(opts["--start-ts"]) * 1000000
    interval = int(opts.get("--interval", "300")) * 1000000
    rnd = random.Random(int(opts.get("--seed", "1")))
    rows = []
    names = sorted(monitors)
    for r in range(rounds):
        for mi, name in enumerate(names):
            for si, sid in enumerate(servers):
                ts = start + r * interval + mi * 37 * 1000000 + si * 1000000 + rnd.randrange(0, 900000)
                profile = PROFILES[si % len(PROFILES)]
                offset, rtt, stratum, leap, error = probe(profile, rnd, r, rounds)
                res = {"v": 1, "id": ulid(ts // 1000, rnd), "monitor": name, "server_id": sid,
                       "ip": "192.0.2.%d" % (si + 1), "ts": fmt_ts(ts), "status": statuses[name]}
                if offset is not None:
                    res["offset"] = offset
                if rtt is not None:
                    res["rtt"] = rtt
                res.update({"stratum": stratum, "leap": leap, "refid": "GPS" if stratum == 1 else "",
                            "error": error, "samples": [], "agent": "stream.py"})
                rows.append((ts, res))
    rows.sort(key=lambda x: (x[0], x[1]["id"]))
    with open(os.path.join(out, "stream.jsonl"), "w") as f:
        for _, res in rows:
            f.write(json.dumps(res, separators=(",", ":")) + "\n")
    with open(os.path.join(out, "results.tsv"), "w") as f:
        for ts, res in rows:
            nul = "\\N"
            f.write("\t".join([res["id"], str(monitors[res["monitor"]]), str(res["server_id"]), fmt_sql_ts(ts),
                               res["ip"], res["status"], str(res.get("offset", nul)), str(res.get("rtt", nul)),
                               str(res["stratum"]), str(res["leap"]), res["refid"], res["error"], "[]",
                               res["agent"]]) + "\n")
    with open(os.path.join(out, "profiles.txt"), "w") as f:
        for si, sid in enumerate(servers):
            f.write("%d %s\n" % (sid, PROFILES[si % len(PROFILES)]))


def replay_input(args):
    stream = {}
    with open(args[0]) as f:
        for line in f:
            res = json.loads(line)
            stream[res["id"]] = res
    with open(args[1]) as f:
        for line in f:
            rid, status = line.rstrip("\n").split("\t")
            res = dict(stream[rid])
            res["status"] = status
            sys.stdout.write(json.dumps(res, separators=(",", ":")) + "\n")


def compare(args):
    """REPLAY_JSON: replay's JSON lines; DB_TSV: kind, result_id, server_id, ts, step, score, status (monitor
    rows) in log order. Every row must match, in the same order per server, and nothing may be missing."""
    want = []
    with open(args[0]) as f:
        for line in f:
            o = json.loads(line)
            if o["type"] == "monitor":
                want.append(("monitor", o["result_id"], o["step"], o["score"], o["status"]))
            else:
                want.append(("overall", o["result_id"], o["step"], o["score"], ""))
    got = []
    with open(args[1]) as f:
        for line in f:
            kind, rid, step, score, status = line.rstrip("\n").split("\t")
            got.append((kind, rid, float(step), float(score), status if kind == "monitor" else ""))
    if len(args) > 2 and args[2] == "--unordered":  # several writers (shards): compare as sets
        want = sorted((k, r, round(a, 8), round(b, 8), st) for k, r, a, b, st in want)
        got = sorted((k, r, round(a, 8), round(b, 8), st) for k, r, a, b, st in got)
    bad = 0
    if len(want) != len(got):
        print("row count: database %d, replay %d" % (len(got), len(want)))
        bad += 1
    for i, (w, g) in enumerate(zip(want, got)):
        if w[0] != g[0] or w[1] != g[1] or w[4] != g[4] or abs(w[2] - g[2]) > 1e-8 or abs(w[3] - g[3]) > 1e-8:
            print("row %d: database %r, replay %r" % (i + 1, g, w))
            bad += 1
            if bad > 10:
                break
    print("compared %d rows, %d differ" % (len(got), bad))
    sys.exit(1 if bad else 0)


def one(args):
    """one result: SERVER_ID MONITOR AGE_SECONDS OFFSET|timeout STATUS (a fresh ULID at the result's time)"""
    import time
    sid, monitor, age, offset, status = args[0], args[1], float(args[2]), args[3], args[4]
    ts = int((time.time() - age) * 1000000)
    res = {"v": 1, "id": ulid(ts // 1000, random.SystemRandom()), "monitor": monitor, "server_id": int(sid),
           "ip": "192.0.2.1", "ts": fmt_ts(ts), "status": status}
    if offset == "timeout":
        res.update({"stratum": 0, "leap": 0, "refid": "", "error": "timeout"})
    else:
        res.update({"offset": float(offset), "rtt": 0.02, "stratum": 2, "leap": 0, "refid": "", "error": ""})
    res["samples"] = []
    print(json.dumps(res, separators=(",", ":")))


def tsv(args):
    """results rows (for LOAD DATA) of a JSONL stream: STREAM NAME=ID,…"""
    import calendar
    monitors = dict((k, int(v)) for k, v in (x.split("=") for x in args[1].split(",")))
    with open(args[0]) as f:
        for line in f:
            res = json.loads(line)
            t = res["ts"]
            us = calendar.timegm(__import__("time").strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000000 + int(t[20:26])
            nul = "\\N"
            print("\t".join([res["id"], str(monitors[res["monitor"]]), str(res["server_id"]), fmt_sql_ts(us),
                             res["ip"], res.get("status", nul), str(res.get("offset", nul)), str(res.get("rtt", nul)),
                             str(res["stratum"]), str(res["leap"]), res["refid"], res["error"], "[]", "test"]))


def last_pairs(args):
    """the last per-monitor score of each pair in replay's JSON lines: SERVER MONITOR SCORE"""
    last = {}
    with open(args[0]) as f:
        for line in f:
            o = json.loads(line)
            if o["type"] == "monitor":
                last[(o["server_id"], o["monitor"])] = o["score"]
    for (sid, mon), score in sorted(last.items()):
        print("%d %s %.9f" % (sid, mon, score))


def last_servers(args):
    """the last recorded overall score of each server: SERVER SCORE IN_POOL"""
    last = {}
    with open(args[0]) as f:
        for line in f:
            o = json.loads(line)
            if o["type"] == "overall":
                last[o["server_id"]] = (o["score"], 1 if o["in_pool"] else 0)
    for sid, (score, in_pool) in sorted(last.items()):
        print("%d %.9f %d" % (sid, score, in_pool))


def epochs(args):
    """the Unix seconds of a server's results (each identifies one result in these streams)"""
    import calendar
    import time
    with open(args[0]) as f:
        for line in f:
            o = json.loads(line)
            if o["server_id"] == int(args[1]):
                print(calendar.timegm(time.strptime(o["ts"][:19], "%Y-%m-%dT%H:%M:%S")))


if __name__ == "__main__":
    cmd = sys.argv[1]
    {"gen": gen, "replay-input": replay_input, "compare": compare, "last-pairs": last_pairs,
     "last-servers": last_servers, "epochs": epochs, "one": one, "tsv": tsv}[cmd](sys.argv[2:])
