#!/bin/sh
# tools/deps.sh — installs the Debian packages ntpmon needs to build, test and run, and the browser test's node
# packages (tests/browser: playwright-core, pinned in package-lock.json; it drives Debian's chromium).
# Idempotent and quick when everything is present: apt is only touched when a package is missing, npm only when
# tests/browser/node_modules does not match the lock file — after one run nothing here needs the network.
set -eu
PACKAGES="gcc make pkg-config clang libclang-rt-14-dev
libmosquitto-dev mosquitto-dev libjwt-dev libjson-c-dev libmariadb-dev libmariadb-dev-compat libssl-dev libyaml-dev libmicrohttpd-dev curl socat jq
mosquitto mosquitto-clients mariadb-server mariadb-client chrony ntpsec-ntpdate iproute2 procps openssl python3
nftables iputils-ping chromium"
# node with npm: this machine's node may be a repackaged one that conflicts with Debian's npm package, so nodejs is
# only asked for when there is no node at all
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing packages:$missing — run 'make deps' as root" >&2
        exit 1
    fi
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
    # Debian starts daemons on install where it can; ntpmon's tests and demo start their own on private ports.
fi

# The browser test's node packages, exactly as locked (no browser download: the test uses /usr/bin/chromium).
browser=tests/browser
if [ ! -d "$browser/node_modules/playwright-core" ] || ! cmp -s "$browser/package-lock.json" "$browser/node_modules/.ntpmon-lock"; then
    echo "deps: npm ci in $browser"
    (cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    cp "$browser/package-lock.json" "$browser/node_modules/.ntpmon-lock"
fi
