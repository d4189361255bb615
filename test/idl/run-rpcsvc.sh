#!/bin/sh
# Every ONC RPC protocol the build machine ships (/usr/include/rpcsvc/*.x,
# from libc6-dev or libtirpc-dev) compiles with parley-idl --xdr, and the
# generated C builds with -Wall -Wextra -Werror as C11 (the .c) and as C++
# (a file including the .h).  Skipped (exit 77) where there are no such files.
# test/idl/rpcsvc.env, written by make, gives CC, CXX and the include flags.
set -u
: "${srcdir:=.}"
idl=${PARLEY_IDL:-$PWD/idl/parley-idl}
dir=${PARLEY_RPCSVC_DIR:-/usr/include/rpcsvc}
# shellcheck disable=SC1091
. ./test/idl/rpcsvc.env || exit 99
set -- "$dir"/*.x
if [ ! -f "$1" ]; then
    echo "SKIP: no ONC RPC .x files in $dir (install libc6-dev or libtirpc-dev)"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-rpcsvc.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
fail=0
for f in "$@"; do
    base=$(basename "$f" .x)
    if ! "$idl" --xdr -o "$work" "$f" > "$work/$base.diag" 2>&1; then
        echo "FAIL $base.x: parley-idl --xdr:"
        cat "$work/$base.diag"
        fail=1
        continue
    fi
    # shellcheck disable=SC2086
    if ! $CC -std=c11 -Wall -Wextra -Werror $IDL_CPPFLAGS -I"$work" -c "$work/$base.c" \
            -o "$work/$base.o" > "$work/$base.cc.log" 2>&1; then
        echo "FAIL $base.x: the generated C does not build as C11:"
        cat "$work/$base.cc.log"
        fail=1
        continue
    fi
    printf '#include "%s.h"\nint main() { return 0; }\n' "$base" > "$work/$base-cxx.cc"
    # shellcheck disable=SC2086
    if ! $CXX -Wall -Wextra -Werror $IDL_CPPFLAGS -I"$work" -c "$work/$base-cxx.cc" \
            -o "$work/$base-cxx.o" > "$work/$base.cxx.log" 2>&1; then
        echo "FAIL $base.x: the generated header does not build as C++:"
        cat "$work/$base.cxx.log"
        fail=1
        continue
    fi
    echo "ok   $base.x ($(grep -c ': warning: ' "$work/$base.diag") warnings; C11 and C++ build)"
done
exit $fail
