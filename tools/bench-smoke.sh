#!/bin/sh
# SPDX-License-Identifier: MIT
# Smoke test of parley-bench (run by make check from the build directory):
# it runs, prints every codec case with every row, and rejects bad usage with
# exit status 2.  The numbers are never checked: a benchmark is not a test.
set -u

bench=${PARLEY_BENCH:-./tools/parley-bench}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench-smoke.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

bad() {
    echo "FAIL: $*" >&2
    fail=1
}

# expect STATUS ARGS...: run parley-bench, output in $tmp/out, status must match.
expect() {
    want=$1
    shift
    "$bench" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "parley-bench $* exited $got, expected $want"
        sed 's/^/  | /' "$tmp/out" "$tmp/err" >&2
    fi
}

# has PATTERN: the last output contains a line matching PATTERN.
has() {
    grep -q -- "$1" "$tmp/out" || bad "output of the last run lacks '$1'"
}

expect 0 codec --time 0.01 --runs 3
for pat in '^(a) bytes' '^(b) points' '^(c) dirent' '^cpu: pinned to CPU [0-9]' \
           '^  encode  parley ' '^  decode  parley ' '^  decode  parley-compact ' \
           '^  copy    memcpy ' '^targets' '^  (c) decode: parley-compact >= '; do
    has "$pat"
done
# XDR rows exactly when built with XDR; otherwise the output says they are omitted.
if grep -q '^XDR rows omitted' "$tmp/out"; then
    grep -q '^  [a-z]*  *xdr ' "$tmp/out" && bad "XDR said omitted but xdr rows printed"
else
    has '^  encode  xdr '
    has '^  decode  xdr '
fi
[ "$(grep -c '^  copy    memcpy ' "$tmp/out")" -eq 3 ] || bad "expected 3 memcpy rows"
cp "$tmp/out" "$tmp/full"

expect 0 codec --case c --time 0.01 --runs 1
has '^(c) dirent'
grep -q '^(a)\|^(b)' "$tmp/out" && bad "--case c ran other cases"

expect 0 --help
has '^Usage: parley-bench COMMAND'
has '^  codec '
expect 0 codec --help
has "^Usage: parley-bench codec \\[OPTION\\]"
expect 0 --version
has '^parley-bench '

expect 0 idl --help
has '^Usage: parley-bench idl \[OPTION\]'
expect 2 idl --lines 5
# The idl run needs parley-idl, which the IDL compiler's part of the tree builds.
if [ -x ./idl/parley-idl ]; then
    expect 0 idl --lines 300 --time 0.01 --runs 1
    has '^input: [0-9]* lines'
    has '^compiler: .*parley-idl'
    has 'ms/compile'
else
    echo "note: ./idl/parley-idl is not built here; 'parley-bench idl' not run"
fi

# call: a short unix-only run prints every row of every payload (a row this
# build lacks says why), the per-call counts and the targets (numbers unchecked).
expect 0 call --time 0.01 --runs 1 --idle 0 --transport unix
for pat in '^cpu: pinned to CPU [0-9]' '^--cpus same: servers on CPU [0-9]' \
           '^per 16-byte ping-pong call' '^  unix  parley-stub ' '^targets, --cpus same' \
           'server allocations per parley-stub call'; do
    has "$pat"
done
for size in 16 1024 65536 1048576; do
    for row in raw raw-framed parley-stub parley-call onc-rpc sd-bus; do
        has "^unix  *$size  $row "
    done
done
expect 0 call --help
has '^Usage: parley-bench call \[OPTION\]'
expect 2 call --cpus sideways
expect 2 call --inflight 0
expect 2 call --rows raw,nonesuch

expect 2
expect 2 no-such-command
expect 2 codec --no-such-option
expect 2 codec --time
expect 2 codec --time abc
expect 2 codec --runs 0
expect 2 codec --case z
expect 2 codec --case ,
expect 2 codec extra-argument

if [ "$fail" -ne 0 ]; then
    echo "--- output of 'parley-bench codec --time 0.01 --runs 3':" >&2
    cat "$tmp/full" >&2
fi
# names: starts the build tree's parleyd
expect 0 names --time 0.01 --runs 1
has '^register + unregister '
has '^connect+close name:bench '
has '^name: connect costs '

exit "$fail"
