#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the clock service moved from rpcgen (doc/examples/rpc) answers.
set -eu
bin=${CLOCK_BIN:-doc/examples/rpc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-clock.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin/clock-server" "unix:$tmp/clock.sock" &
pid=$!
# the client may run before the socket exists: try for at most 10 s
out=
for _ in $(seq 1 100); do
    if out=$("$bin/clock-client" "unix:$tmp/clock.sock" UTC 2>"$tmp/err"); then break; fi
    sleep 0.1
done
echo "client: $out"
echo "$out" | grep -Eq '^UTC [0-9]+\.[0-9]{9}$' || { cat "$tmp/err" >&2; exit 1; }
out=$("$bin/clock-client" "unix:$tmp/clock.sock" Mars)
echo "client: $out"
test "$out" = "Mars: unknown zone"
