#!/usr/bin/env bash
# Installs what chat-analytics needs on Debian 12 (apt + npm), only what is missing.
# Idempotent; uses sudo when not root. Usage: scripts/setup-deps.sh [--with-browser]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

APT_PACKAGES="build-essential autoconf automake libtool pkg-config
  libapr1-dev libaprutil1-dev libaprutil1-dbd-sqlite3 libwebsockets-dev libwebsockets-evlib-ev libev-dev
  libjson-c-dev
  libcurl4-openssl-dev libfcgi-dev libssl-dev check libsqlite3-dev sqlite3
  apache2 apache2-dev apache2-utils nodejs npm curl ca-certificates valgrind
  clang libclang-rt-14-dev
  man-db logrotate systemd"
with_browser=no
for arg in "$@"; do
    case "$arg" in
        --with-browser) with_browser=yes ;;
        *) echo "usage: $0 [--with-browser]" >&2; exit 2 ;;
    esac
done
[ "$with_browser" = yes ] && APT_PACKAGES="$APT_PACKAGES chromium"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

missing=""
for p in $APT_PACKAGES; do
    # nodejs/npm may come from elsewhere (nodesource, nvm): accept any node >= 18 on PATH.
    case "$p" in
        nodejs|npm) command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# Debian's apache2 package starts a system Apache on port 80; we never use or touch it.

npm_install() {   # dir
    if [ -f "$1/package-lock.json" ]; then
        if [ ! -d "$1/node_modules" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
            echo "setup: npm ci in ${1#"$top"/}"
            (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
        fi
    fi
}
npm_install "$top/tests"
npm_install "$top/frontend"
echo "setup: dependencies ready"
