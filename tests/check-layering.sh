#!/bin/sh
# Holds the layering line: common/ uses only APR, APR-util, json-c, libcurl and libcrypto, never
# libwebsockets, fcgiapp or a relay_/rest_ header; the daemons never include each other.
srcdir=${srcdir:-.}
status=0
check() {   # dir, forbidden include pattern, reason
    hits=$(grep -nE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($2)" "$srcdir/$1"/*.[ch] 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "layering violation in $1/ ($3):"
        echo "$hits"
        status=1
    fi
}
check common 'libwebsockets|lws_|fcgi|relay_|rest_' "common/ must not depend on the daemons or their libraries"
check relay 'fcgi|rest_' "the relay must not include the REST app"
check restapi 'libwebsockets|lws_|relay_' "the REST app must not include the relay"
[ $status -eq 0 ] && echo "layering: ok"
exit $status
