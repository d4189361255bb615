#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: MESSIP's and Vczh Messenger's jobs on Parley (doc/examples/names,
# README.md there).  Starts a private parleyd with a TCP port and a broker
# port, runs both examples against it, stops everything.  Waits are bounded.
set -eu
bin=${NAMES_BIN:-doc/examples/names}
parleyd=${PARLEYD:-daemon/parleyd}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-names-ex.XXXXXX")
pids=
server=
trap 'for p in $pids $server; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

wait_for() {   # file pattern: at most 10 s
    for _ in $(seq 1 100); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "FAIL: no '$2' in $1:"; cat "$1"; return 1
}

"$parleyd" -c /dev/null -l "unix:$tmp/names.sock" -l tcp:127.0.0.1:0 -b tcp:127.0.0.1:0 \
    >"$tmp/parleyd.out" 2>"$tmp/parleyd.log" &
pids="$pids $!"
wait_for "$tmp/parleyd.out" '^brokering on'
port=$(sed -n 's/^listening on tcp:127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/parleyd.out")
export PARLEY_NAMES="unix:$tmp/names.sock"

"$bin/channel-server" echo >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
wait_for "$tmp/server.out" '^channel echo created'

printf "%s\n" "== Vczh Messenger: attach to the host, ip\\port\\name, REQUEST_LIST"
"$bin/messenger" attach alice >"$tmp/alice.out" 2>&1 &
pids="$pids $!"
wait_for "$tmp/alice.out" '^attached as alice'
"$bin/messenger" send "127.0.0.1\\$port\\alice" bob "hi alice"
wait_for "$tmp/alice.out" '^from bob: hi alice$'
"$bin/messenger" list "127.0.0.1\\$port" | tee "$tmp/list.out"
grep -q '^127\.0\.0\.1\\[0-9]*\\alice (messenger, pid [0-9]*)$' "$tmp/list.out"
grep -q '^127\.0\.0\.1\\[0-9]*\\echo (channel, pid [0-9]*)$' "$tmp/list.out"

echo "== MESSIP: a named channel found by name; sync and async messages, receive with a timeout"
"$bin/channel-client" echo | tee "$tmp/client.out"
printf 'reply 1: HELLO\nreply 2: CHANNEL\nreply 0: QUIT\n' | cmp -s - "$tmp/client.out" ||
    { echo "FAIL: unexpected client output"; exit 1; }
# the server ends on the message of type 0 (at most 10 s)
for _ in $(seq 1 100); do
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
wait "$server" || { echo "FAIL: channel-server failed"; cat "$tmp/server.out" "$tmp/server.err"; exit 1; }
server=
cat "$tmp/server.out"
printf 'channel echo created\nsend 1: hello\nsend 2: channel\npost 1: event 1\npost 2: event 2\npost 3: event 3\nsend 0: quit\ndone\n' |
    cmp -s - "$tmp/server.out" || { echo "FAIL: unexpected server output"; exit 1; }
# the channel vanished with its server
if "$bin/channel-client" echo 2>"$tmp/err"; then exit 1; fi
cat "$tmp/err"
grep -q "PARLEY_ERR_NOT_FOUND: .*echo" "$tmp/err"
echo "both examples ran"
