#!/usr/bin/python3
"""forge.py — builds the tokens the broker-auth tests need that ntpmonctl would never issue.

usage: forge.py KIND SUB [PEM_FILE]
The HMAC secret comes from $JWT_KEY, the env from $DEPLOYMENT_MODE. Plain hashlib/hmac on purpose: the tests
must be able to build what a JWT library would refuse to (alg none, a PEM used as an HMAC secret, bad JSON).
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(header, payload, key, digest=hashlib.sha256):
    h = b64(json.dumps(header).encode())
    p = b64(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    sig = hmac.new(key, f"{h}.{p}".encode(), digest).digest()
    return f"{h}.{p}.{b64(sig)}"


def main():
    kind, sub = sys.argv[1], sys.argv[2]
    now = int(time.time())
    env = os.environ.get("DEPLOYMENT_MODE", "test")
    key = os.environ["JWT_KEY"].encode()
    e = f"ntpmon/{env}"
    c = {"sub": sub, "aud": env, "iat": now, "nbf": now, "exp": now + 3600, "jti": f"forged-{kind}",
         "role": "monitor", "subs": [f"{e}/monitors/{sub}/#"], "publ": [f"{e}/monitors/{sub}/status"]}
    hs256 = {"alg": "HS256", "typ": "JWT"}
    if kind == "good":
        print(token(hs256, c, key))
    elif kind == "hs512":
        print(token({"alg": "HS512", "typ": "JWT"}, c, key, hashlib.sha512))
    elif kind == "none":
        print(b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + b64(json.dumps(c).encode()) + ".")
    elif kind == "none-signed":
        print(token({"alg": "none", "typ": "JWT"}, c, key))
    elif kind == "other-key":
        print(token(hs256, c, b"a-completely-different-secret-of-32-bytes"))
    elif kind == "confusion":
        print(token(hs256, c, open(sys.argv[3], "rb").read()))
    elif kind == "confusion-stripped":
        print(token(hs256, c, open(sys.argv[3], "rb").read().rstrip(b"\n")))
    else:
        mutate = {
            "expired": lambda: c.update(iat=now - 3720, nbf=now - 3720, exp=now - 120),
            "nbf-future": lambda: c.update(nbf=now + 120),
            "iat-future": lambda: c.update(iat=now + 120),
            "no-exp": lambda: c.pop("exp"),
            "exp-string": lambda: c.update(exp=str(now + 3600)),
            "exp-float": lambda: c.update(exp=now + 3600.5),
            "sub-other": lambda: c.update(sub=sub + "x"),
            "no-sub": lambda: c.pop("sub"),
            "aud-other": lambda: c.update(aud="prod" if env != "prod" else "test"),
            "no-aud": lambda: c.pop("aud"),
            "big": lambda: c.update(pad="x" * 3500),
            "subs-outside": lambda: c.update(subs=["#"]),
            "subs-other-env": lambda: c.update(subs=["ntpmon/other/#"]),
            "subs-invalid": lambda: c.update(subs=[f"{e}/#/x"]),
            "subs-not-array": lambda: c.update(subs=f"{e}/#"),
            "publ-not-strings": lambda: c.update(publ=[1, 2]),
        }
        if kind in mutate:
            mutate[kind]()
            print(token(hs256, c, key))
        elif kind == "bad-json":
            print(token(hs256, b'{"sub": "' + sub.encode() + b'", "exp": 1, oops', key))
        elif kind == "payload-array":
            print(token(hs256, b"[1, 2, 3]", key))
        elif kind == "bad-base64":
            t = token(hs256, c, key)
            h, p, s = t.split(".")
            print(f"{h}.{p[:10]}*{p[10:]}.{s}")
        elif kind == "two-dots":
            print(token(hs256, c, key) + ".x")
        else:
            sys.exit(f"forge.py: unknown kind {kind}")


main()
