#!/bin/sh
# SPDX-License-Identifier: MIT
# The exported symbols of the built libparley equal the PARLEY_PUBLIC
# declarations in include/, and lib/libparley.sym lists exactly those.
# A public function missing from libparley.sym, a symbol exported by
# accident, or a stale line in libparley.sym fails here (doc/abi.md).
set -eu
srcdir=${srcdir:-.}
lib=lib/.libs/libparley.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$lib" ]; then
    echo "SKIP: $lib not built (static-only build?)"
    exit 77
fi
command -v nm >/dev/null || { echo "SKIP: no nm"; exit 77; }

# What the headers declare: the name before '(' or ';' on a PARLEY_PUBLIC line.
perl -ne 'print "$1\n" if /^\s*PARLEY_PUBLIC\b.*?\b(parley_\w+)\s*[(;\[]/' \
    "$srcdir"/include/parley.h "$srcdir"/include/parley/*.h | sort -u > "$tmp/declared"
# What the library exports (version node names are not symbols).
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' |
    sort -u > "$tmp/exported"
# What the version script lists: "name;" lines inside a global: section.
perl -ne 'if (/^\s*global:/) { $g = 1; next } if (/^\s*local:/) { $g = 0; next }
          print "$1\n" if $g && /^\s*([A-Za-z_]\w*)\s*;/' "$srcdir/lib/libparley.sym" |
    sort > "$tmp/listed"

fail=0
if [ "$(uniq -d "$tmp/listed")" != "" ]; then
    echo "lib/libparley.sym lists a symbol twice:"; uniq -d "$tmp/listed"; fail=1
fi
sort -u -o "$tmp/listed" "$tmp/listed"
missing=$(comm -23 "$tmp/declared" "$tmp/listed")
if [ -n "$missing" ]; then
    echo "declared PARLEY_PUBLIC in include/ but not in lib/libparley.sym (add them, doc/abi.md):"
    echo "$missing" | sed 's/^/    /'
    fail=1
fi
stale=$(comm -13 "$tmp/declared" "$tmp/listed")
if [ -n "$stale" ]; then
    echo "listed in lib/libparley.sym but not declared PARLEY_PUBLIC in include/:"
    echo "$stale" | sed 's/^/    /'
    fail=1
fi
unexported=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$unexported" ]; then
    echo "declared PARLEY_PUBLIC but not exported by $lib (not defined, or not PARLEY_PUBLIC in its .c?):"
    echo "$unexported" | sed 's/^/    /'
    fail=1
fi
extra=$(comm -13 "$tmp/declared" "$tmp/exported")
if [ -n "$extra" ]; then
    echo "exported by $lib but not declared PARLEY_PUBLIC in include/:"
    echo "$extra" | sed 's/^/    /'
    fail=1
fi
# The Debian symbols file lists the same names (not in release tarballs).
debsyms="$srcdir/debian/libparley0.symbols"
if [ -f "$debsyms" ]; then
    perl -ne 'print "$1\n" if /^ (\w+)\@/ && $1 !~ /^PARLEY_/' "$debsyms" | sort -u > "$tmp/debian"
    if ! cmp -s "$tmp/listed" "$tmp/debian"; then
        echo "debian/libparley0.symbols and lib/libparley.sym differ (< libparley.sym, > debian):"
        diff "$tmp/listed" "$tmp/debian" | grep '^[<>]' | sed 's/^/    /'
        fail=1
    fi
fi
[ $fail = 0 ] && echo "PASS: $(wc -l < "$tmp/declared") public symbols declared, listed and exported"
exit $fail
