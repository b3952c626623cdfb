#!/bin/sh
# tools/deps.sh — installs the Debian packages ntpmon needs to build, test, run and package, caches the Debian
# root the package test installs into (tests/integration/packages/), and installs the browser test's node packages
# (tests/browser: playwright-core, pinned in package-lock.json; it drives Debian's chromium), so `make test` needs
# no network afterwards.
# Idempotent and quick when everything is present: apt is only touched when a package is missing, debootstrap only
# when the cached root is missing or its package list changed, npm only when tests/browser/node_modules does not
# match its lock file.
#   tools/deps.sh                 install what is missing
#   tools/deps.sh --root-tarball  print the cached root's path (exit 1 when it is not there)
set -eu
PACKAGES="gcc make pkg-config clang libclang-rt-14-dev
libmosquitto-dev mosquitto-dev libjwt-dev libjson-c-dev libmariadb-dev libmariadb-dev-compat libssl-dev libyaml-dev libmicrohttpd-dev curl socat jq
mosquitto mosquitto-clients mariadb-server mariadb-client chrony ntpsec-ntpdate iproute2 procps openssl python3
nftables iputils-ping strace chromium
build-essential dpkg-dev debhelper fakeroot lintian help2man debootstrap zstd"
# node with npm: this machine's node may be a repackaged one that conflicts with Debian's npm package, so nodejs is
# only asked for when there is no node at all
command -v node >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs"

# The browser test's node packages, exactly as locked (no browser download: the test uses /usr/bin/chromium).
browser_deps() {
    b=tests/browser
    if [ ! -d "$b/node_modules/playwright-core" ] || ! cmp -s "$b/package-lock.json" "$b/node_modules/.ntpmon-lock"; then
        echo "deps: npm ci in $b"
        (cd "$b" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
        cp "$b/package-lock.json" "$b/node_modules/.ntpmon-lock"
    fi
}

# The package test's root: a minimal Debian of this host's release with what the packages depend on (the runtime
# libraries, mosquitto for the plugin, adduser and procps) and systemd (its targets let `systemd-analyze verify
# --root` check the installed units). A package that gains a dependency needs it added here.
ROOT_PACKAGES="adduser procps systemd mosquitto libjson-c5 libmosquitto1 libssl3 libjwt0 libmariadb3 libyaml-0-2
libmicrohttpd12"
ROOT_CACHE=${NTPMON_ROOT_CACHE:-/var/cache/ntpmon}
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
arch=$(dpkg --print-architecture)
root_key=$(printf '%s\n' "$codename" "$arch" $ROOT_PACKAGES | md5sum | cut -c1-12)
ROOT_TARBALL=$ROOT_CACHE/debian-$codename-$arch-$root_key.tar.zst

if [ "${1:-}" = --root-tarball ]; then
    echo "$ROOT_TARBALL"
    [ -f "$ROOT_TARBALL" ]
    exit
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
if [ -z "$missing" ] && [ -f "$ROOT_TARBALL" ]; then
    browser_deps
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    [ -n "$missing" ] && echo "deps: missing packages:$missing — run 'make deps' as root" >&2
    [ -f "$ROOT_TARBALL" ] || echo "deps: the package test's Debian root is not cached — run 'make deps' as root" >&2
    exit 1
fi
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends $missing
    # Debian starts daemons on install where it can; ntpmon's tests and demo start their own on private ports.
fi

# The mirror apt uses here (deb822 or one-line sources), unless NTPMON_DEBIAN_MIRROR says otherwise.
debian_mirror() {
    if [ -n "${NTPMON_DEBIAN_MIRROR:-}" ]; then echo "$NTPMON_DEBIAN_MIRROR"; return; fi
    m=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | grep -m1 '/debian/*$' || true)
    [ -n "$m" ] || m=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\/*\)[[:space:]].*/\2/p' \
        /etc/apt/sources.list 2>/dev/null | head -n 1)
    echo "${m:-http://deb.debian.org/debian}"
}

if [ ! -f "$ROOT_TARBALL" ]; then
    mkdir -p "$ROOT_CACHE"
    (
        flock 9
        [ -f "$ROOT_TARBALL" ] && exit 0
        work=$(mktemp -d "$ROOT_CACHE/root.XXXXXX")
        trap 'rm -rf "$work"' EXIT
        mirror=$(debian_mirror)
        echo "deps: debootstrap $codename ($arch) from $mirror for the package test (about a minute, once)"
        if ! debootstrap --variant=minbase --arch="$arch" --include="$(echo $ROOT_PACKAGES | tr ' ' ',')" \
                "$codename" "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1; then
            tail -n 20 "$work/debootstrap.log" >&2
            echo "deps: debootstrap failed (is $mirror reachable? NTPMON_DEBIAN_MIRROR=URL picks another)" >&2
            exit 1
        fi
        chroot "$work/root" apt-get clean
        rm -rf "$work/root/var/lib/apt/lists/"*
        tar -C "$work/root" --zstd -cf "$work/root.tar.zst" .
        rm -f "$ROOT_CACHE"/debian-"$codename"-"$arch"-*.tar.zst   # roots of older package lists
        mv "$work/root.tar.zst" "$ROOT_TARBALL"
        echo "deps: cached $ROOT_TARBALL ($(du -h "$ROOT_TARBALL" | cut -f1))"
    ) 9>"$ROOT_CACHE/.lock"
fi
browser_deps
