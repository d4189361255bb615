#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the WSIPC-style identity exchange (doc/examples/wsipc): a
# known site connects and both ends see each other's identity; an unknown
# site is refused with a sentence naming it.
set -eu
bin=${WSIPC_BIN:-doc/examples/wsipc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-wsipc.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin/wsipc-server" "unix:$tmp/ws.sock" 1 2 2>"$tmp/server.err" &
pid=$!
# the client may run before the socket exists: try for at most 10 s
out=
for _ in $(seq 1 100); do
    if out=$("$bin/wsipc-client" "unix:$tmp/ws.sock" 2 2>"$tmp/err"); then break; fi
    sleep 0.1
done
echo "$out"
echo "$out" | grep -q '^connected to site 1 on server-host, vector time 3 1$'
echo "$out" | grep -q '^applied 3 bytes$'
grep -q 'site 2 on client-host joined at a vector time of 2 entries' "$tmp/server.err"
# an unknown site: refused, with the server's sentence
if "$bin/wsipc-client" "unix:$tmp/ws.sock" 9 2>"$tmp/err"; then exit 1; fi
cat "$tmp/err"
grep -q '^client: PARLEY_ERR_ACCESS_DENIED: .*site 9 is not a site of this working set' "$tmp/err"
