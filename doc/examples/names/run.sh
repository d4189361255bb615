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
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT

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

echo "== MESSIP: a named channel, found by name, send with reply and post"
"$bin/channel-server" echo >"$tmp/server.out" 2>&1 &
pids="$pids $!"
wait_for "$tmp/server.out" '^channel echo created'
"$bin/channel-client" echo "hello" | tee "$tmp/client.out"
grep -q '^reply: olleh$' "$tmp/client.out"
wait_for "$tmp/server.out" '^posted: hello$'
if "$bin/channel-client" nobody "hello" 2>"$tmp/err"; then exit 1; fi
cat "$tmp/err"
grep -q "PARLEY_ERR_NOT_FOUND: .*nobody" "$tmp/err"

printf "%s\n" "== Vczh Messenger: attach to the host, ip\\port\\name, REQUEST_LIST"
"$bin/messenger" attach alice >"$tmp/alice.out" 2>&1 &
pids="$pids $!"
wait_for "$tmp/alice.out" '^attached as alice'
"$bin/messenger" send "127.0.0.1\\$port\\alice" bob "hi alice"
wait_for "$tmp/alice.out" '^from bob: hi alice$'
"$bin/messenger" list "127.0.0.1\\$port" | tee "$tmp/list.out"
grep -q '^127\.0\.0\.1\\[0-9]*\\alice (messenger, pid [0-9]*)$' "$tmp/list.out"
grep -q '^127\.0\.0\.1\\[0-9]*\\echo (channel, pid [0-9]*)$' "$tmp/list.out"
echo "both examples ran"
