#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the MESSIP-style channel (doc/examples/messip): a server that
# receives on its own thread with a timeout, a client that sends synchronous
# and asynchronous messages; the server exits on the last one.
set -eu
bin=${MESSIP_BIN:-doc/examples/messip}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-messip.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin/channel-server" "unix:$tmp/channel.sock" > "$tmp/server.out" &
pid=$!
# the client may run before the socket exists: try for at most 10 s
for _ in $(seq 1 100); do
    if "$bin/channel-client" "unix:$tmp/channel.sock" > "$tmp/client.out" 2> "$tmp/err"; then
        break
    fi
    sleep 0.1
done
cat "$tmp/client.out"
printf 'reply 1: HELLO\nreply 2: CHANNEL\nreply 0: QUIT\n' | cmp -s - "$tmp/client.out" ||
    { echo "unexpected client output"; cat "$tmp/err" >&2; exit 1; }
# the server ends on the post of type 0 (at most 10 s)
for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then echo "channel-server did not end"; exit 1; fi
wait "$pid" || { echo "channel-server failed"; cat "$tmp/server.out"; exit 1; }
pid=
cat "$tmp/server.out"
printf 'listening\nsend 1: hello\nsend 2: channel\npost 1: event 1\npost 2: event 2\npost 3: event 3\nsend 0: quit\ndone\n' |
    cmp -s - "$tmp/server.out" || { echo "unexpected server output"; exit 1; }
