#!/bin/sh
# SPDX-License-Identifier: MIT
# Installation test: `make install DESTDIR=$tmp/root` from this build tree,
# check what was installed, then build the consumer project
# (test/install/consumer/) out of tree with nothing but the installed files:
# `pkg-config --cflags --libs parley`, the installed parley-idl and its make
# rules (parley.pc's parley_idl and parley_idl_mk), and run it: it round-trips
# a generated type and makes calls from a client peer to a server peer over
# a unix socket in a temporary directory.
# Bounded: every step runs under timeout(1).
set -u

. ./test/install/config.sh || exit 99

tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-install.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
fail=0

bad() {
    echo "FAIL: $*" >&2
    fail=1
}

# step NAME SECONDS CMD...: run CMD with output in $tmp/NAME.log; show it on failure.
step() {
    name=$1 secs=$2
    shift 2
    if ! timeout "$secs" "$@" >"$tmp/$name.log" 2>&1; then
        bad "$name: '$*' failed"
        tail -n 40 "$tmp/$name.log" | sed 's/^/  | /' >&2
        return 1
    fi
    return 0
}

# A clean make environment: the outer make's jobserver is not ours.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

step install 300 $MAKE -C "$abs_top_builddir" install DESTDIR="$root" || exit 1

# What a user needs is there.
for f in \
    "$bindir/parley-idl" \
    "$bindir/parley-bench" \
    "$bindir/parley-call" \
    "$libdir/pkgconfig/parley.pc" \
    "$includedir/parley.h" \
    "$includedir/parley/status.h" \
    "$includedir/parley/type.h" \
    "$includedir/parley/data.h" \
    "$includedir/parley/protocol.h" \
    "$includedir/parley/peer.h" \
    "$includedir/parley/session.h" \
    "$includedir/parley/call.h" \
    "$includedir/parley/introspect.h" \
    "$includedir/parley/context.h" \
    "$datadir/aclocal/parley.m4" \
    "$datadir/parley/parley-idl.mk" \
    "$mandir/man1/parley-idl.1" \
    "$mandir/man1/parley-bench.1" \
    "$mandir/man1/parley-call.1" \
    "$mandir/man7/parley.7"
do
    [ -e "$root$f" ] || bad "not installed: $f"
done
ls "$root$libdir"/libparley.so* >/dev/null 2>&1 || bad "not installed: $libdir/libparley.so"
[ -x "$root$bindir/parley-idl" ] || bad "parley-idl is not executable"
# No installed text file mentions the staging directory.
if grep -rlI -- "$root" "$root" >"$tmp/staged" 2>/dev/null; then
    bad "installed files name the DESTDIR: $(cat "$tmp/staged")"
fi
# Only the public API is exported.
if command -v nm >/dev/null 2>&1; then
    nm -D --defined-only "$root$libdir/libparley.so" | awk '{print $3}' |
        grep -v -E '^(parley_[a-z]|_init$|_fini$|LIBPARLEY|PARLEY_)' >"$tmp/symbols"
    [ -s "$tmp/symbols" ] && bad "libparley.so exports non-public symbols: $(head -5 "$tmp/symbols")"
fi

# Build the consumer out of tree, against the staged install only.
PKG_CONFIG_PATH=$root$libdir/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$root
LD_LIBRARY_PATH=$root$libdir
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH
idl=$(pkg-config --variable=parley_idl parley)
[ "$idl" = "$root$bindir/parley-idl" ] ||
    bad "pkg-config --variable=parley_idl parley gives '$idl', expected '$root$bindir/parley-idl'"
cflags=$(pkg-config --cflags parley)
case " $cflags " in
    *" -I$root$includedir "*) ;;
    *) bad "pkg-config --cflags parley gives '$cflags', without -I$root$includedir" ;;
esac

mkdir -p "$tmp/build"
consumer=$abs_top_srcdir/test/install/consumer
step consumer-build 120 $MAKE -C "$tmp/build" -f "$consumer/Makefile" CC="$CC" \
    CFLAGS="-O1 -g $SANITIZER_CFLAGS" LDFLAGS="$SANITIZER_LDFLAGS" || exit 1
for f in greet.c greet.h greet-app; do
    [ -e "$tmp/build/$f" ] || bad "consumer build did not make $f"
    [ -e "$consumer/$f" ] && bad "consumer build wrote $f into its source directory"
done
grep -q "parley-idl.*greet.idl" "$tmp/consumer-build.log" ||
    bad "the consumer build did not run parley-idl"
# The program runs against the staged library, not some other copy.
if command -v ldd >/dev/null 2>&1; then
    ldd "$tmp/build/greet-app" | grep libparley >"$tmp/ldd"
    grep -q -- "$root$libdir/libparley.so" "$tmp/ldd" ||
        bad "greet-app does not load the staged libparley: $(cat "$tmp/ldd")"
fi
step consumer-run 60 "$tmp/build/greet-app" || exit 1
sed 's/^/  | /' "$tmp/consumer-run.log"
grep -q '^greet-app: ok$' "$tmp/consumer-run.log" || bad "greet-app did not report ok"
grep -q '^call: hello, consumer (3)$' "$tmp/consumer-run.log" ||
    bad "greet-app made no call over its unix socket"

# The same program as an autoconf/automake project using the installed
# parley.m4 (PARLEY_PROG_IDL, @PARLEY_IDL_RULES@), built out of tree.
if command -v autoreconf >/dev/null 2>&1 && command -v automake >/dev/null 2>&1; then
    am=$tmp/am-src
    mkdir -p "$am" "$tmp/am-build"
    cp "$abs_top_srcdir/test/install/consumer-am/configure.ac" \
       "$abs_top_srcdir/test/install/consumer-am/Makefile.am" \
       "$consumer/main.c" "$consumer/greet.idl" "$am/"
    chmod u+w "$am"/*
    if step am-autoreconf 120 env ACLOCAL_PATH="$root$datadir/aclocal" autoreconf -fi "$am" &&
       step am-configure 120 sh -c 'cd "$1" && "$2/configure" CC="$3" CFLAGS="-O1 -g $4" LDFLAGS="$5" PARLEY_IDLFLAGS=-Werror' \
           sh "$tmp/am-build" "$am" "$CC" "$SANITIZER_CFLAGS" "$SANITIZER_LDFLAGS" &&
       step am-build 120 $MAKE -C "$tmp/am-build" V=1 &&
       step am-run 60 "$tmp/am-build/greet-app"; then
        grep -q "checking for parley-idl in parley.pc... $root$bindir/parley-idl" "$tmp/am-configure.log" ||
            bad "PARLEY_PROG_IDL did not take parley-idl from parley.pc"
        grep -q "parley-idl.*-o \. .*greet.idl" "$tmp/am-build.log" ||
            bad "the automake build did not run parley-idl into its build directory"
        [ -e "$tmp/am-build/greet.h" ] && [ ! -e "$am/greet.h" ] ||
            bad "the automake build did not generate greet.h in its build directory"
        grep -q '^greet-app: ok$' "$tmp/am-run.log" || bad "the automake greet-app did not report ok"
        echo "automake consumer: ok"
    fi
else
    echo "autoreconf/automake not found: the parley.m4 consumer is not built"
fi

# Uninstall leaves no file behind.
step uninstall 120 $MAKE -C "$abs_top_builddir" uninstall DESTDIR="$root" || exit 1
left=$(find "$root" -type f | head -5)
[ -z "$left" ] || bad "make uninstall left files: $left"

[ $fail -eq 0 ] && echo "install test passed"
exit $fail
