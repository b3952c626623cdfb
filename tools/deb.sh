#!/bin/sh
# tools/deb.sh — `make deb`: builds the Debian packages (debian/, dpkg-buildpackage -b -us -uc) and checks them with
# lintian. It builds from a copy of the source under OUT/src, because dpkg-buildpackage writes its results into the
# parent of the source tree and cleans the tree first: so nothing lands outside OUT and the work tree's build/ stays.
# The .deb, .ddeb (debug symbols), .buildinfo and .changes files end up in OUT (default build/deb).
#   tools/deb.sh [--out DIR] [--no-lintian]
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=build/deb
LINTIAN=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift ;;
        --no-lintian) LINTIAN=0 ;;
        *) echo "usage: $0 [--out DIR] [--no-lintian]" >&2; exit 2 ;;
    esac
    shift
done
case "$OUT" in /*) ;; *) OUT=$ROOT/$OUT ;; esac
# OUT/src is deleted and rebuilt: never let that be the tree itself or a system directory.
case "$OUT" in "$ROOT" | / | /usr | /etc | /var | /tmp) echo "deb: refusing --out $OUT" >&2; exit 2 ;; esac
for tool in dpkg-buildpackage dh lintian; do
    command -v "$tool" >/dev/null || { echo "deb: $tool is missing: run 'make deps'" >&2; exit 1; }
done

version=$(sed -n 's/^VERSION *:= *//p' config.mk)
src=$OUT/src/ntpmon-$version
rm -rf "$OUT/src"
mkdir -p "$src"
rm -f "$OUT"/*.deb "$OUT"/*.ddeb "$OUT"/*.buildinfo "$OUT"/*.changes
# The tree as it is now (tracked and new files, uncommitted changes included), never build output.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
        | tar --null -T - -cf - | tar -C "$src" -xf -
else
    tar --exclude=./build --exclude=./build-asan --exclude=./build-fuzz --exclude=./.git -cf - . | tar -C "$src" -xf -
fi

echo "deb: building in $src (log: $OUT/build.log)"
start=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -jauto) >"$OUT/build.log" 2>&1; then
    tail -n 40 "$OUT/build.log" >&2
    echo "deb: dpkg-buildpackage failed (full log: $OUT/build.log)" >&2
    exit 1
fi
mv "$OUT"/src/*.deb "$OUT"/src/*.buildinfo "$OUT"/src/*.changes "$OUT"/
for f in "$OUT"/src/*.ddeb; do [ -e "$f" ] && mv "$f" "$OUT"/; done
echo "deb: built in $(( $(date +%s) - start ))s:"
(cd "$OUT" && ls -1 ./*.deb | sed 's|^\./|  |')

if [ "$LINTIAN" = 1 ]; then
    # No error and no warning; the few warnings that are intended are overridden in debian/*.lintian-overrides, each
    # with its reason. Info tags are shown, not fatal.
    if ! lintian --fail-on error,warning --info "$OUT"/*.changes >"$OUT/lintian.log" 2>&1; then
        cat "$OUT/lintian.log" >&2
        echo "deb: lintian found errors or warnings (above)" >&2
        exit 1
    fi
    echo "deb: lintian: no errors, no warnings ($(grep -c '^I:' "$OUT/lintian.log" || true) info tags; $OUT/lintian.log)"
fi
