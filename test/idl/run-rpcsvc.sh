#!/bin/sh
# SPDX-License-Identifier: MIT
# Every ONC RPC protocol the build machine ships (/usr/include/rpcsvc/*.x,
# from libc6-dev or libtirpc-dev) compiles with parley-idl --xdr, the
# generated C builds with -Wall -Wextra -Werror as C11 (the .c) and as C++
# (a file including the .h), and the runtime accepts the protocol
# (parley_protocol_check: method ids, fingerprints, descriptors).  Skipped
# (exit 77) where there are no such files.  test/idl/rpcsvc.env, written by
# make, gives the compilers, the include flags and how to link.
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
    # the runtime's check, linked with the protocols it imports
    objs="$work/$base.o"
    for h in $(sed -n 's/^#include "\(.*\)\.h"$/\1/p' "$work/$base.h"); do
        objs="$objs $work/$h.o"
    done
    cat > "$work/$base-check.c" <<CHECK
#include <stdio.h>
#include "$base.h"
int main(void)
{
    if (parley_protocol_check(&${base}_protocol) == PARLEY_OK)
        return 0;
    fprintf(stderr, "%s\\n", parley_error_message());
    return 1;
}
CHECK
    # shellcheck disable=SC2086
    if ! $CC -std=c11 $IDL_CPPFLAGS -I"$work" -c "$work/$base-check.c" -o "$work/$base-check.o" \
            > "$work/$base.link.log" 2>&1 ||
       ! $LINK -o "$work/$base-check" "$work/$base-check.o" $objs $LIBS \
            >> "$work/$base.link.log" 2>&1 ||
       ! "$work/$base-check" >> "$work/$base.link.log" 2>&1; then
        echo "FAIL $base.x: the runtime does not accept the protocol:"
        cat "$work/$base.link.log"
        fail=1
        continue
    fi
    echo "ok   $base.x ($(grep -c ': warning: ' "$work/$base.diag") warnings; C11 and C++ build;" \
         "protocol check)"
done
exit $fail
