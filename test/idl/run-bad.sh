#!/bin/sh
# SPDX-License-Identifier: MIT
# Run parley-idl on every test/idl/bad/*.idl and *.x and compare its diagnostics with
# the file's own expectations:
#   // expect: bad/x.idl:4:8: error: ...   one line per diagnostic, in order
#   // flags: -Werror                      extra command-line options
# The diagnostic lines (the "file:line:col: kind: message" lines and
# "parley-idl: ..." lines, without the source and caret lines) must equal the
# expect lines exactly.  A file bad/x.stderr, when present, must equal the
# whole standard error.  The exit status must be 1 when an error is expected
# and 0 otherwise; no output file may be written on error.
set -u
: "${srcdir:=.}"
idl=${PARLEY_IDL:-$PWD/idl/parley-idl}
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-idl-bad.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
cd "$srcdir/test/idl" || exit 99

fail=0
count=0
for f in bad/*.idl bad/*.x; do
    [ -f "$f" ] || continue
    count=$((count + 1))
    name=$(basename "$f")
    name=${name%.*}
    flags=$(sed -n 's|^// flags: ||p' "$f")
    sed -n 's|^// expect: ||p' "$f" > "$work/$name.expect"
    if [ ! -s "$work/$name.expect" ]; then
        echo "FAIL $f: no '// expect:' lines"
        fail=1
        continue
    fi
    mkdir -p "$work/$name.out"
    # shellcheck disable=SC2086
    "$idl" $flags -o "$work/$name.out" "$f" > "$work/$name.stdout" 2> "$work/$name.stderr"
    rc=$?
    grep -v -e '^ *[0-9]* | ' -e '^ * | ' "$work/$name.stderr" > "$work/$name.got"
    if grep -q -e ': error: ' -e '^parley-idl: error' "$work/$name.expect"; then
        want=1
    else
        want=0
    fi
    if ! cmp -s "$work/$name.expect" "$work/$name.got"; then
        echo "FAIL $f: diagnostics differ (- expected, + got):"
        diff -u "$work/$name.expect" "$work/$name.got" | sed -n '3,$p'
        fail=1
    elif [ "$rc" != "$want" ]; then
        echo "FAIL $f: exit status $rc, expected $want"
        fail=1
    elif [ "$want" = 1 ] && [ -n "$(ls "$work/$name.out")" ]; then
        echo "FAIL $f: files were written despite errors"
        fail=1
    elif [ -f "bad/$name.stderr" ] && ! cmp -s "bad/$name.stderr" "$work/$name.stderr"; then
        echo "FAIL $f: standard error differs from bad/$name.stderr:"
        diff -u "bad/$name.stderr" "$work/$name.stderr" | sed -n '3,$p'
        fail=1
    else
        echo "ok   $f"
    fi
done
if [ "$count" = 0 ]; then
    echo "no test files found in $srcdir/test/idl/bad"
    exit 99
fi
exit $fail
