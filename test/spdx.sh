#!/bin/sh
# Every source, header, script and build file carries an
# SPDX-License-Identifier: MIT line near its top (the README's licence
# section).  Data the tests compare byte for byte (expected diagnostics, fuzz
# corpora) and packaging metadata are exempt.  Needs a git checkout: from a
# tarball it skips.
set -eu
top=${srcdir:-.}
if ! command -v git >/dev/null 2>&1 || ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    echo "SKIP: not a git checkout"
    exit 77
fi
missing=$(git -C "$top" ls-files |
    grep -Ev '^(test/idl/bad/|test/idl/xdr/bad/|test/fuzz/corpus/|abi/|debian/(changelog|control|copyright|compat|source/|.*\.symbols$)|m4/\.keep$)' |
    grep -E '\.(c|h|y|l|cc|idl|x|sym|am|ac|in|sh|mk|m4|supp|1|7|8|py)$|(^|/)(quickstart|run|rules|Makefile)$' |
    while read -r f; do
        head -n 5 "$top/$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"
    done)
if [ -n "$missing" ]; then
    echo "files without an 'SPDX-License-Identifier: MIT' line in their first 5 lines:"
    echo "$missing" | sed 's/^/    /'
    exit 1
fi
echo "every source file names its licence"
