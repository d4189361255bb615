#!/bin/sh
# SPDX-License-Identifier: MIT
# The runtime suites that fail allocations one by one (oom) and the call
# paths (calls), again with every debug line on (PARLEY_DEBUG=all): rendering
# the values and writing the lines leaks nothing and breaks nothing when
# memory runs out, and the lines come out.
# Run from the build directory (make check does).
set -u
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-debug.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
fail=0
for s in oom calls; do
    if PARLEY_DEBUG=all CK_RUN_SUITE=$s test/check_all >"$tmp/out" 2>"$tmp/err"; then
        echo "PASS: suite $s with PARLEY_DEBUG=all"
    else
        echo "FAIL: suite $s with PARLEY_DEBUG=all"
        grep -v '^parley: ' "$tmp/out" "$tmp/err" | tail -n 20
        fail=1
    fi
    if grep -q 'skipped' "$tmp/err" && ! grep -q '^parley: ' "$tmp/err"; then
        # (oom under the sanitizers: malloc is theirs, the suite runs nothing)
        echo "SKIP: suite $s ran no calls here: $(grep skipped "$tmp/err" | head -n 1)"
    elif grep -qE '^parley: pid=[0-9]+ session=[0-9]+ dir=(in|out) kind=call ' "$tmp/err"; then
        echo "PASS: suite $s wrote call lines"
    else
        echo "FAIL: suite $s wrote no call line"
        fail=1
    fi
done
exit $fail
