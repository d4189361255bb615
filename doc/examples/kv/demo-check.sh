#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the demo's scripted session (doc/examples/kv/demo.sh, without the
# benchmark) runs to the end and shows what each step should show.
set -eu
srcdir=$(cd "$(dirname "$0")" && pwd)
bin=${KV_BIN:-doc/examples/kv}
out=$(mktemp "${TMPDIR:-/tmp}/parley-demo-check.XXXXXX")
trap 'rm -f "$out"' EXIT

rc=0
timeout 120 "$srcdir/demo.sh" "$bin" >"$out" 2>&1 || rc=$?
cat "$out"
[ "$rc" = 0 ] || { echo "FAIL: demo.sh exited with $rc"; exit 1; }

fail=0
expect() {
    if ! grep -qE -- "$1" "$out"; then echo "FAIL: no line matching: $1"; fail=1; fi
}
expect '^kvd \(pid [0-9]+\) listening on unix:\$TMP/kv.sock and tcp:127\.0\.0\.1:[0-9]+$'
expect '^  put cherry: version 1$'
expect '^  del cherry: deleted$'
expect "^  kv: .*PARLEY_ERR_NOT_FOUND: .*no service is registered as 'kv'"
expect '^  put apple: version 3$'
expect '^  put banana: version 5$'
expect '^  apple = red \(version 3\)$'
expect '^  banana = yellow \(version 5\)$'
expect '^  put avocado: version 6$'
# scan: apple, apricot, avocado in key order, in two batches
expect '^  3 entries with prefix .a. \(2 batches through a cursor\)$'
[ "$(grep -A4 '^\$ kv .* scan a$' "$out" | sed -n 's/^  \([a-z]*\) = .*/\1/p' | tr '\n' ' ')" = \
  "apple apricot avocado " ] || { echo "FAIL: scan order"; fail=1; }
expect '^  watching keys with prefix .a.$'
expect '^  changed: apple set \(version 7\)$'
expect '^  changed: apricot deleted \(version 8\)$'
expect '^  snapshot: 3 entries written to \$TMP/snapshot.txt$'
[ "$(sed -n '/^\$TMP\/snapshot.txt:$/,/^$/p' "$out" | grep -c '^  [a-z]*=')" = 3 ] ||
    { echo "FAIL: snapshot contents"; fail=1; }
expect '^  apple=green$'
expect "^  kv: get: PARLEY_ERR_REMOTE: no key 'cherry' \(code 1\)$"
expect '^  kv: wait: PARLEY_ERR_TIMEOUT: .+'
expect '^  kv: get: PARLEY_ERR_CONNECTION_REFUSED: .*nobody.sock'
expect '^  kvd: session 1: connected, uid [0-9]+ gid [0-9]+ pid [0-9]+$'
expect '^  kvd: session [0-9]+: connected \(no credentials'
expect 'kvd: session [0-9]+: called back kv_watch.changed: PARLEY_OK'
expect "kvd: wait for 'cherry' cancelled by the caller"
expect 'kvd: session [0-9]+ says: hello from the demo'
expect '^kvd stopped \(exit status 0\)$'
exit $fail
