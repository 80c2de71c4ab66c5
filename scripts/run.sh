#!/bin/sh
# Runs chat-analytics on one machine with one command: builds what is missing, then starts
# chat-relay, chat-restapi (FastCGI on a unix socket) and a user-local Apache on
# http://localhost:$PORT with the embedded SQLite store. Everything (config, logs, pid files,
# sockets, database) lives under the build tree's run/ directory; no system service is touched
# and no root is needed once the dependencies are installed. Ctrl-C stops all three.
#
# Environment: PORT (8080), RELAY_PORT (8081), STORAGE (sqlite), BUILD_DIR (_build/run, or the
# tree `make run` was called from), LISTEN_ADDR (127.0.0.1), and any chat-analytics variable
# (AUTH_SECRET, ALLOWED_ORIGINS, ...), which both daemons inherit.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/_build/run}
PORT=${PORT:-8080}
RELAY_PORT=${RELAY_PORT:-8081}
LISTEN_ADDR=${LISTEN_ADDR:-127.0.0.1}
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2

say() { printf 'run: %s\n' "$*"; }
die() { printf 'run: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- build what is missing
need_deps=no
for tool in autoreconf pkg-config cc; do
    command -v "$tool" >/dev/null 2>&1 || need_deps=yes
done
[ -e /usr/include/fcgiapp.h ] || need_deps=yes
command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ] || need_deps=yes
if [ "$need_deps" = yes ]; then
    say "installing dependencies (scripts/setup-deps.sh)"
    "$top/scripts/setup-deps.sh"
fi
if [ ! -x "$top/configure" ]; then
    (cd "$top" && ./autogen.sh >/dev/null)
fi
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
    say "configuring in $build"
    (cd "$build" && "$top/configure" -q)
fi
say "building (make -j$jobs)"
make -C "$build" -j"$jobs" -s relay/chat-relay restapi/chat-restapi >/dev/null

apache_bin=$(sed -n 's/^APACHE_BIN = //p' "$build/Makefile")
apache_mods=$(sed -n 's/^APACHE_MODULES = //p' "$build/Makefile")
[ -n "$apache_bin" ] || apache_bin=/usr/sbin/apache2
[ -n "$apache_mods" ] || apache_mods=/usr/lib/apache2/modules
[ -x "$apache_bin" ] || die "Apache httpd not found (Debian: apt-get install apache2)"

docroot="$top/frontend/dist"
if [ ! -f "$docroot/index.html" ] && [ -f "$top/frontend/package.json" ]; then
    say "building the frontend (npm)"
    (cd "$top/frontend" && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build) \
        || say "frontend build failed: serving a placeholder page"
fi

# ---------------------------------------------------------------- the run directory
rundir="$build/run"
mkdir -p "$rundir/var" "$rundir/data" "$rundir/logs" "$rundir/conf.d"
chmod 755 "$rundir" "$rundir/var"
if [ ! -f "$docroot/index.html" ]; then
    docroot="$rundir/www"
    mkdir -p "$docroot"
    cat >"$docroot/index.html" <<'HTML'
<!doctype html><html><head><meta charset="utf-8"><title>chat-analytics</title></head>
<body><h1>chat-analytics</h1><p>The frontend is not built (frontend/dist is missing).
The API answers at <a href="/api/analytics">/api/analytics</a> and
<a href="/health">/health</a>; WebSockets at <code>/ws</code>.</p></body></html>
HTML
fi

socket="$rundir/var/restapi.sock"
export RUN_DIR="$rundir/var" DATA_DIR="$rundir/data"
export STORAGE="${STORAGE:-sqlite}"
export RELAY_LISTEN="127.0.0.1:$RELAY_PORT" RESTAPI_LISTEN="$socket"
export ALLOWED_ORIGINS="${ALLOWED_ORIGINS:-http://localhost:$PORT,http://127.0.0.1:$PORT}"

run_user=www-data
run_group=www-data
id -u "$run_user" >/dev/null 2>&1 || { run_user=$(id -un); run_group=$(id -gn); }

subst() {   # template -> stdout
    sed -e "s|@DOCROOT@|$docroot|g" -e "s|@RELAY_ADDR@|127.0.0.1:$RELAY_PORT|g" \
        -e "s|@RESTAPI_SOCKET@|$socket|g" -e "s|@WS_PER_CHILD@|${WS_PER_CHILD:-960}|g" \
        -e "s|@SERVER_ROOT@|$rundir|g" -e "s|@LISTEN_ADDR@|$LISTEN_ADDR|g" \
        -e "s|@PORT@|$PORT|g" -e "s|@LOG_DIR@|$rundir/logs|g" \
        -e "s|@RUN_USER@|$run_user|g" -e "s|@RUN_GROUP@|$run_group|g" \
        -e "s|@APACHE_MODULES@|$apache_mods|g" -e "s|@CHILDREN@|1|g" -e "s|@SERVER_LIMIT@|2|g" \
        -e "s|@THREADS_PER_CHILD@|1024|g" -e "s|@MAX_WORKERS@|1024|g" \
        -e "s|@API_RESERVE@|64|g" -e "s|@SITE_CONF@|$rundir/chat-analytics.conf|g" "$1"
}
subst "$top/httpd-conf/chat-analytics.conf.in" >"$rundir/chat-analytics.conf"
subst "$top/httpd-conf/httpd.conf.in" >"$rundir/httpd.conf"

# ---------------------------------------------------------------- start, wait, stop
relay_pid=""
restapi_pid=""
apache_pid=""
stop_all() {
    trap - INT TERM EXIT
    say "stopping"
    for pid in $apache_pid $restapi_pid $relay_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $apache_pid $restapi_pid $relay_pid; do
        wait "$pid" 2>/dev/null || true
    done
    say "stopped"
}
trap 'stop_all; exit 130' INT TERM
trap 'stop_all' EXIT

"$build/relay/chat-relay" 2>>"$rundir/logs/relay.log" &
relay_pid=$!
"$build/restapi/chat-restapi" 2>>"$rundir/logs/restapi.log" &
restapi_pid=$!
i=0
while [ ! -S "$socket" ]; do
    i=$((i + 1))
    [ $i -le 100 ] || die "chat-restapi did not start: see $rundir/logs/restapi.log"
    kill -0 "$restapi_pid" 2>/dev/null || die "chat-restapi exited: see $rundir/logs/restapi.log"
    sleep 0.1
done
if [ "$(id -u)" -eq 0 ] && [ "$run_group" != root ]; then
    chgrp "$run_group" "$socket"    # Apache's workers run as $run_user: let them connect
fi
"$apache_bin" -f "$rundir/httpd.conf" -DFOREGROUND &
apache_pid=$!

i=0
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null; do
    i=$((i + 1))
    [ $i -le 100 ] || die "Apache did not answer: see $rundir/logs/error.log"
    kill -0 "$apache_pid" 2>/dev/null || die "Apache exited: see $rundir/logs/error.log"
    sleep 0.1
done
say "chat-analytics is running on http://localhost:$PORT  (Ctrl-C stops it)"
say "logs in $rundir/logs"
# `wait` returns as soon as a trapped signal arrives, so Ctrl-C is handled at once.
while kill -0 "$relay_pid" 2>/dev/null && kill -0 "$restapi_pid" 2>/dev/null \
      && kill -0 "$apache_pid" 2>/dev/null; do
    sleep 1 &
    wait $! || true
done
# Here after Ctrl-C (the terminal signals every process of the group, so a daemon may exit
# before our trap runs) or when a daemon died: only a failure status is worth a warning.
status=0
for pid in $relay_pid $restapi_pid $apache_pid; do
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" || status=$?
    fi
done
if [ "$status" -ne 0 ]; then
    say "a process exited with status $status: see $rundir/logs"
    exit 1
fi
exit 0
