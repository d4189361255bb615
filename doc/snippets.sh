#!/bin/sh
# SPDX-License-Identifier: MIT
# Code quoted in Markdown stays equal to the files it is taken from.
#
#   doc/snippets.sh [check] [FILE.md]...   show a diff and exit 1 where a quote differs
#   doc/snippets.sh update [FILE.md]...    rewrite the quotes from the files
#
# Without files: README.md, doc/tutorial.md and doc/runtime.md (make check
# runs it so).  A
# quote is the fenced block right after a line
#   <!-- snippet: PATH -->         the whole file
#   <!-- snippet: PATH NAME -->    the lines between the line holding
#                                  "[snippet NAME]" and the next "[/snippet]",
#                                  their common indentation removed
# with PATH relative to the top source directory.  Lines holding a marker,
# and licence lines (SPDX-License-Identifier), are never quoted.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mode=check
case ${1:-} in check|update) mode=$1; shift ;; esac
[ $# -gt 0 ] || set -- "$top/README.md" "$top/doc/tutorial.md" "$top/doc/runtime.md"

quote() {   # quote FILE.md: the file with every quote taken from its source
    awk -v top="$top" -v md="$1" '
    function fail(msg) { printf "%s:%d: %s\n", md, NR, msg > "/dev/stderr"; bad = 1 }
    function region(path, name,    line, on, found, n, i, lines, pad, min, out) {
        on = (name == ""); found = on; n = 0
        while ((getline line < path) > 0) {
            if (name != "" && index(line, "[snippet " name "]")) { on = 1; found = 1; continue }
            if (on && name != "" && index(line, "[/snippet]")) { on = 0; continue }
            if (line ~ /\[\/?snippet[] ]/ || index(line, "SPDX-License-Identifier")) continue
            if (on) lines[++n] = line
        }
        close(path)
        if (!found) { fail("no [snippet " name "] in " path); return "" }
        min = -1
        for (i = 1; i <= n; i++) {
            if (lines[i] ~ /^[ ]*$/) continue
            match(lines[i], /^ */); pad = RLENGTH
            if (min < 0 || pad < min) min = pad
        }
        out = ""
        for (i = 1; i <= n; i++)
            out = out (lines[i] ~ /^[ ]*$/ ? "" : substr(lines[i], min + 1)) "\n"
        return out
    }
    state == 0 && /^<!-- snippet: / {
        split($0, f, " "); path = f[3]; name = (f[4] == "-->") ? "" : f[4]
        print; state = 1; next
    }
    state == 1 {
        if ($0 !~ /^```/) { fail("a snippet line must be followed by a fenced block"); state = 0; print; next }
        if ((getline probe < (top "/" path)) <= 0) fail("cannot read " path)
        close(top "/" path)
        print; printf "%s", region(top "/" path, name); state = 2; next
    }
    state == 2 { if ($0 ~ /^```$/) { print; state = 0 }; next }
    { print }
    END { if (state != 0) fail("unterminated fenced block"); exit bad }
    ' "$1"
}

status=0
tmp=$(mktemp "${TMPDIR:-/tmp}/parley-snippets.XXXXXX")
trap 'rm -f "$tmp"' EXIT
for md in "$@"; do
    quote "$md" >"$tmp" || { status=1; continue; }
    if [ "$mode" = update ]; then
        cmp -s "$tmp" "$md" || { cat "$tmp" >"$md"; echo "updated $md"; }
    elif ! diff -u "$md" "$tmp"; then
        echo "$md: quoted code differs from its source (doc/snippets.sh update $md)" >&2
        status=1
    else
        echo "$md: $(grep -c '^<!-- snippet: ' "$md") quotes match their sources"
    fi
done
exit $status
