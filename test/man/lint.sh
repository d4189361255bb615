#!/bin/sh
# SPDX-License-Identifier: MIT
# Every installed man page renders without a warning: groff in its strictest
# warning mode, and man-db's --warnings (which also runs the preprocessors).
# The list of pages is test/man/pages.list, written by make from the *_MANS
# variables, so a page added to the install is linted without editing this.
set -u

list=${1:-test/man/pages.list}
src=${srcdir:-.}
fail=0
n=0

if [ ! -r "$list" ]; then
    echo "lint.sh: no page list '$list'" >&2
    exit 99
fi
if ! command -v groff >/dev/null 2>&1; then
    echo "lint.sh: groff not found (Debian package 'groff-base')" >&2
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-man.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

for page in $(cat "$list"); do
    f=$page
    [ -r "$f" ] || f=$src/$page
    if [ ! -r "$f" ]; then
        echo "FAIL: $page: not found" >&2
        fail=1
        continue
    fi
    n=$((n + 1))
    # NAME section present and the .TH title matches the file name.
    base=$(basename "$page")
    name=${base%.*}
    sect=${base##*.}
    th=$(sed -n 's/^\.TH[ 	]*\([^ 	]*\)[ 	]*\([^ 	]*\).*/\1 \2/p' "$f" | head -n 1 | sed 's/\\-/-/g')
    want=$(printf '%s %s' "$name" "$sect" | tr '[:lower:]' '[:upper:]')
    if [ "$(printf '%s' "$th" | tr '[:lower:]' '[:upper:]')" != "$want" ]; then
        echo "FAIL: $page: .TH says '$th', expected '$want'" >&2
        fail=1
    fi
    if ! grep -q '^\.SH NAME' "$f"; then
        echo "FAIL: $page: no NAME section" >&2
        fail=1
    fi
    LC_ALL=C.UTF-8 groff -ww -z -man -Tutf8 "$f" >"$tmp/groff" 2>&1
    if [ -s "$tmp/groff" ]; then
        echo "FAIL: $page: groff -ww warns:" >&2
        sed 's/^/  | /' "$tmp/groff" >&2
        fail=1
    fi
    if command -v man >/dev/null 2>&1; then
        LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$f" >"$tmp/out" 2>"$tmp/man"
        if [ -s "$tmp/man" ]; then
            echo "FAIL: $page: man --warnings warns:" >&2
            sed 's/^/  | /' "$tmp/man" >&2
            fail=1
        fi
        if [ ! -s "$tmp/out" ]; then
            echo "FAIL: $page: renders empty" >&2
            fail=1
        fi
    fi
    echo "checked $page"
done

if [ "$n" -eq 0 ]; then
    echo "FAIL: no man page listed in $list" >&2
    exit 1
fi
echo "$n pages checked"
exit $fail
