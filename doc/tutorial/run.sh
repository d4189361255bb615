#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the tutorial's server and client (doc/tutorial.md) do what the
# tutorial shows.  Every wait is bounded.
set -eu
bin=${TUTORIAL_BIN:-doc/tutorial}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-tutorial.XXXXXX")
pid=
wpid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$wpid" ] && kill "$wpid" 2>/dev/null; rm -rf "$tmp"' EXIT
ep=unix:$tmp/notes.sock
fail=0

"$bin/notes-server" "$ep" >"$tmp/server.out" &
pid=$!
for _ in $(seq 1 100); do grep -q serving "$tmp/server.out" && break; sleep 0.1; done

# expect WANT-EXIT EXPECTED-OUTPUT ARGS...: run the client, compare stdout+stderr
expect() {
    want=$1 exp=$2 rc=0
    shift 2
    out=$(timeout 30 "$bin/notes-client" "$@" 2>&1) || rc=$?
    printf '$ notes-client %s\n%s\n' "$*" "$out"
    if [ "$rc" != "$want" ] || ! printf '%s\n' "$out" | grep -qxE -- "$exp"; then
        echo "FAIL: exit $rc (wanted $want), output not matching: $exp"
        fail=1
    fi
}

expect 0 'added note 1' "$ep" add shopping "milk, bread"
expect 0 'shopping: milk, bread' "$ep" get 1
expect 1 'notes-client: PARLEY_ERR_REMOTE: no note 7' "$ep" get 7
expect 1 'notes-client: PARLEY_ERR_CONNECTION_REFUSED: .*nobody.sock.*' "unix:$tmp/nobody.sock" get 1
expect 1 'notes-client: PARLEY_ERR_TIMEOUT: .+' -t 200 "$ep" wait 2

# a waiter in the background gets note 2 once it is added
timeout 30 "$bin/notes-client" "$ep" wait 2 >"$tmp/wait.out" 2>&1 &
wpid=$!
sleep 0.2   # not needed for correctness: wait replies at once if note 2 exists
expect 0 'added note 2' "$ep" add later "it came"
wrc=0
wait "$wpid" || wrc=$?
wpid=
echo "the waiter printed: $(cat "$tmp/wait.out")"
[ "$wrc" = 0 ] && grep -qx 'later: it came' "$tmp/wait.out" || { echo "FAIL: waiter"; fail=1; }

# add_all calls progress back on the client, once per note, before it replies
out=$(timeout 30 "$bin/notes-client" "$ep" add-all one two three 2>&1) || fail=1
printf '$ notes-client add-all one two three\n%s\n' "$out"
[ "$out" = "progress: 1 of 3
progress: 2 of 3
progress: 3 of 3
added notes 3 to 5" ] || { echo "FAIL: add-all"; fail=1; }
expect 0 'three: ' "$ep" get 5
exit $fail
