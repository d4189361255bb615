#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the Bitcoin-style spawn example (doc/examples/spawn): the
# parent starts the node, sees its pid in the session's credentials, calls
# it, drops it and gets its exit status.
set -eu
bin=${SPAWN_BIN:-doc/examples/spawn}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-spawn.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=$("$bin/node-parent" "$bin/node-child")
echo "$out"
pid=$(echo "$out" | sed -n 's/^spawned node \([0-9]*\) (credentials: pid \([0-9]*\),.*/\1 \2/p')
set -- $pid
test "$#" = 2 && test "$1" = "$2"
echo "$out" | grep -q "^node $1 is at height 840000\$"
echo "$out" | grep -q "^node $1 exited with 3\$"
# a program that does not exist fails the spawn, with a sentence naming it
if "$bin/node-parent" "$bin/no-such-node" 2>"$tmp/err"; then exit 1; fi
cat "$tmp/err"
grep -q '^parent: PARLEY_ERR_NOT_FOUND: .*no-such-node' "$tmp/err"
