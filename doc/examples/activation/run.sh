#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the socket-activated example serves a socket that
# systemd-socket-activate made and passed in LISTEN_FDS, then the same
# program started by hand on an endpoint of its own.
set -eu
bin=${ACTIVATION_BIN:-doc/examples/activation}
hello=${HELLO_BIN:-doc/examples/hello}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-activation.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

client() {   # client ENDPOINT: retried for at most 10 s while the server starts
    out=
    for _ in $(seq 1 100); do
        if out=$("$hello/hello-client" "$1" world 2>"$tmp/err"); then break; fi
        sleep 0.1
    done
    echo "client: $out"
    test "$out" = "hello, world" || { cat "$tmp/err" >&2; exit 1; }
}

# Started by hand.
"$bin/activated-server" --count 1 "unix:$tmp/hand.sock" 2>"$tmp/hand.log" &
pid=$!
client "unix:$tmp/hand.sock"
wait "$pid"
pid=
cat "$tmp/hand.log"
grep -q '^session ended: bye (PARLEY_ERR_CONNECTION_CLOSED)' "$tmp/hand.log"

# Socket-activated (skipped where systemd-socket-activate is missing).
if ! command -v systemd-socket-activate >/dev/null 2>&1; then
    echo "systemd-socket-activate not found: the activated run is skipped"
    exit 0
fi
systemd-socket-activate -l "$tmp/act.sock" "$bin/activated-server" --count 1 \
    2>"$tmp/act.log" &
pid=$!
client "unix:$tmp/act.sock"
wait "$pid"
pid=
cat "$tmp/act.log"
grep -q '^session ended: bye' "$tmp/act.log"
