#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the README example (doc/examples/hello) answers over a unix socket.
set -eu
bin=${HELLO_BIN:-doc/examples/hello}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-hello.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
"$bin/hello-server" "unix:$tmp/hello.sock" &
pid=$!
# the client may run before the socket exists: try for at most 10 s
out=
for _ in $(seq 1 100); do
    if out=$("$bin/hello-client" "unix:$tmp/hello.sock" world 2>"$tmp/err"); then break; fi
    sleep 0.1
done
echo "client: $out"
test "$out" = "hello, world" || { cat "$tmp/err" >&2; exit 1; }
# an error is a sentence naming what failed
if "$bin/hello-client" "unix:$tmp/nobody.sock" world 2>"$tmp/err"; then exit 1; fi
cat "$tmp/err"
grep -q '^client: PARLEY_ERR_CONNECTION_REFUSED: .*nobody.sock' "$tmp/err"
