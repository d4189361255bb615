#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the poll-loop example (doc/examples/poll) serves and calls on
# one thread, with no thread of Parley's.
set -eu
bin=${POLL_BIN:-doc/examples/poll}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-poll.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
out=$("$bin/poll-demo" "unix:$tmp/adder.sock")
echo "$out"
test "$(echo "$out" | grep -c '^async: ')" = 3
for n in 100 101 102; do echo "$out" | grep -q "^async: $n\$"; done
echo "$out" | grep -q '^sync: 42$'
echo "$out" | grep -q '^handlers on other threads: 0$'
