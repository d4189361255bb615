#!/bin/sh
# SPDX-License-Identifier: MIT
# parley-call against real servers: the demo's kvd and test/introspect_server
# (the every protocol of test/idl/ok).  Every command and option, the exit
# statuses, every address form, `introspect` output compiled again by
# parley-idl with the server's fingerprints, introspection turned off, exec:,
# `monitor` (text and JSON), PARLEY_DEBUG lines, the bash completion.
# `call` is tested only when parley-call was built with JSON support.
# Run from the build directory (make check does).
set -u

src=${srcdir:-.}
pc=tools/parley-call
idl=idl/parley-idl
srv=test/introspect_server
kvd=doc/examples/kv/kvd
parleyd=daemon/parleyd
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-call.XXXXXX") || exit 99
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

fail=0
n=0
ok() { n=$((n + 1)); }
bad() { echo "FAIL: $*"; fail=1; }

# run EXPECTED-STATUS ARGS...: output in $tmp/out, $tmp/err
run() {
    want=$1
    shift
    timeout 60 "$pc" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    got=$?
    if [ "$got" != "$want" ]; then
        bad "parley-call $*: exit $got, expected $want"
        sed 's/^/    stderr: /' "$tmp/err"
        return 1
    fi
    ok
    return 0
}
has() {   # has FILE REGEX
    if grep -qE -- "$2" "$tmp/$1"; then ok; else bad "$1 has no line matching '$2'"; sed 's/^/    /' "$tmp/$1"; fi
}
hasnt() {
    if grep -qE -- "$2" "$tmp/$1"; then bad "$1 has a line matching '$2'"; else ok; fi
}
# wait_ready FILE: until the server printed its first line
wait_ready() {
    i=0
    while [ ! -s "$1" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$1" ] || { echo "FAIL: server did not start: $1"; cat "$1"; exit 1; }
}

# ---- usage ------------------------------------------------------------------
run 2
has err 'usage: parley-call'
run 2 bogus unix:/x
has err "unknown command 'bogus'"
run 2 info
run 2 info unix:/x extra
run 2 --timeout=-5 info unix:/x
run 2 --timeout=abc info unix:/x
run 2 --json=loud call unix:/x m
run 2 --nope info unix:/x
run 2 info "nonsense:address"
run 2 info "exec:"
run 0 --help
has out 'exec:PROGRAM'
run 0 --version
has out '^parley-call '

# ---- connection failures and timeouts ---------------------------------------
run 3 info "unix:$tmp/nobody.sock"
has err 'nobody.sock'
run 3 info "exec:$tmp/no-such-program"
"$srv" --mute "$tmp/mute.sock" >"$tmp/mute.out" 2>&1 &
pids="$pids $!"
wait_ready "$tmp/mute.out"
run 5 --timeout 300 info "unix:$tmp/mute.sock"
has err 'TIMEOUT'

# ---- the demo server: unix, abstract, tcp and by name ------------------------
# a private name service for name: addresses
PARLEY_NAMES=unix:$tmp/names.sock
PARLEY_NAMES_CONF=/dev/null
export PARLEY_NAMES PARLEY_NAMES_CONF
"$parleyd" -c /dev/null >"$tmp/parleyd.out" 2>"$tmp/parleyd.err" &
pids="$pids $!"
wait_ready "$tmp/parleyd.out"
"$kvd" -l "unix:$tmp/kvd.sock" -l "unix:@parley-call-test-$$" -l tcp:127.0.0.1:0 \
    -n "parley-call-test" >"$tmp/kvd.out" 2>"$tmp/kvd.err" &
pids="$pids $!"
i=0
while ! grep -q '^registered as' "$tmp/kvd.out" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
grep -q '^registered as' "$tmp/kvd.out" || { echo "FAIL: kvd did not register"; cat "$tmp/kvd.out" "$tmp/kvd.err"; exit 1; }
tcp=$(sed -n 's/^listening on \(tcp:.*\)$/\1/p' "$tmp/kvd.out")
[ -n "$tcp" ] || { echo "FAIL: kvd printed no tcp endpoint"; cat "$tmp/kvd.out"; exit 1; }
for a in "unix:$tmp/kvd.sock" "unix:@parley-call-test-$$" "$tcp" name:parley-call-test; do
    run 0 info "$a" || continue
    has out '^protocol: kv$'
    has out '^version: 1$'
    has out '^methods: 11 \(1 oneway\)$'
    has out '^interfaces: kv kv_watch$'
    has out '^max message size: [0-9]+ bytes$'
    has out '^max fds per message: [0-9]+$'
    has out '^max outstanding calls per session: [0-9]+$'
    has out '^max handles per session: [0-9]+$'
done
run 3 info name:parley-call-nobody
has err 'parley-call-nobody'
kv="unix:$tmp/kvd.sock"
# fd:N, an inherited connected socket (bash opens one to the tcp port)
if command -v bash >/dev/null 2>&1; then
    port=${tcp##*:}
    if bash -c "exec 5<>/dev/tcp/127.0.0.1/$port && exec timeout 60 \"$pc\" info fd:5" \
        >"$tmp/out" 2>"$tmp/err"; then
        ok
        has out '^protocol: kv$'
    else
        bad "parley-call info fd:5"; sed 's/^/    /' "$tmp/err"
    fi
else
    echo "SKIP: fd:N (no bash to open a socket)"
fi
run 2 info fd:x
run 3 info fd:77
run 0 list "$kv"
has out '^ +1  kv\.put\(string<256> key, bytes<65536> value\) -> \(uint64 version\)$'
has out '^ +5  kv\.next\(cursor c, uint32 max\) -> \(entry items<100>\)$'
has out '^ +9  kv\.snapshot\(fd out\) -> \(uint32 count\)$'
has out '^ +10  kv\.oneway log\(string<1024> line\)$'
has out '^ +100  kv_watch\.changed\(string<256> key, uint64 version, bool deleted\) -> \(\)$'

# introspect: the IDL compiles again, with the server's fingerprints
check_round_trip() {   # FILE.idl ORIGINAL.describe
    if ! "$idl" --describe "$1" >"$1.describe" 2>"$tmp/idl.err"; then
        bad "parley-idl refuses the output of introspect ($1)"
        sed 's/^/    /' "$tmp/idl.err" "$1"
        return
    fi
    ok
    # the fingerprint the server announced, per method, against parley-idl's
    sed -n 's/^ .*) = \([0-9]*\);.*fingerprint \(0x[0-9a-f]*\)$/\1 \2/p' "$1" |
        sort >"$1.server"
    sed -n 's/^method \([0-9]*\) [^ ]* \(0x[0-9a-f]*\) .*/\1 \2/p' "$1.describe" | sort >"$1.idl"
    if [ -s "$1.server" ] && cmp -s "$1.server" "$1.idl"; then ok; else
        bad "$1: fingerprints differ (server vs parley-idl)"; diff "$1.server" "$1.idl"; fi
    # and the whole method lines (names, fingerprints, shapes) against the original
    grep '^method ' "$2" >"$1.want"
    grep '^method ' "$1.describe" >"$1.got"
    if cmp -s "$1.want" "$1.got"; then ok; else
        bad "$1: method lines differ from the original"; diff "$1.want" "$1.got"; fi
}
run 0 introspect "$kv" && cp "$tmp/out" "$tmp/kv.idl"
"$idl" --describe "$src/doc/examples/kv/kv.idl" >"$tmp/kv-orig.describe"
check_round_trip "$tmp/kv.idl" "$tmp/kv-orig.describe"
has kv.idl '^protocol kv 1;$'
has kv.idl '^handle cursor;$'

# introspect with names: only those, with what they use
run 0 introspect "$kv" get close
has out '^struct entry \{$'
has out '^handle cursor;$'
has out '^    get\(string<256> key\) -> \(entry e\) = 2;'
hasnt out 'put\('
run 0 introspect "$kv" kv_entry
has out '^struct entry \{$'
hasnt out '^interface'
run 1 introspect "$kv" nosuchthing
has err "no method or type 'nosuchthing'"

# ---- call -------------------------------------------------------------------
timeout 60 "$pc" call "$kv" get '{"key":"a"}' >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc = 6 ]; then
    has err 'JSON support is not built'
    echo "SKIP: call (parley-call built without JSON support)"
else
    run 0 call "$kv" put '{"key": "a", "value": "aGk="}'
    has out '"version"'
    run 0 --json=short call "$kv" get '{"key": "a"}'
    has out '^\{.*"key": ?"a".*\}$'
    [ "$(wc -l <"$tmp/out")" = 1 ] && ok || bad "--json=short printed more than one line"
    run 0 --json=pretty call "$kv" get '{"key": "a"}'
    [ "$(wc -l <"$tmp/out")" -gt 1 ] && ok || bad "--json=pretty printed one line"
    echo '{"key": "a"}' >"$tmp/req.json"
    timeout 60 "$pc" call "$kv" get - <"$tmp/req.json" >"$tmp/out" 2>"$tmp/err" && ok ||
        bad "call with the request on stdin"
    has out '"key"'
    run 4 call "$kv" get '{"key": "missing"}'
    has err 'remote error 1: '
    run 1 call "$kv" nosuchmethod '{}'
    has err "no method 'nosuchmethod'"
    run 1 call "$kv" get '{"key": '
    run 2 --oneway call "$kv" get '{"key": "a"}'
    run 2 call fd:0 get '{"key": "a"}'
    has err 'connects twice'
    run 0 --oneway call "$kv" log '{"line": "from parley-call"}'
    run 0 call "$kv" log '{"line": "from parley-call"}'
    run 0 call "$kv" snapshot "{\"out\": \"@$tmp/snap.txt\"}"
    has snap.txt 'a'
    run 5 --timeout 300 call "$kv" wait '{"key": "a", "after": 1000000}'
    run 0 call "exec:$srv --spawned" multi '{"a": 2, "b": ["x"], "c": null}'
    has out '"n": ?3'
    run 4 call "exec:$srv --spawned" multi '{"a": -7, "b": [], "c": null}'
    has err 'remote error -7: a is negative'
fi

# ---- the every protocol: round trip, exec:, introspection off ----------------
"$srv" "unix:$tmp/every.sock" >"$tmp/every.out" 2>&1 &
pids="$pids $!"
wait_ready "$tmp/every.out"
run 0 info "unix:$tmp/every.sock"
has out '^protocol: every$'
has out '^version: 7$'
has out '^methods: 12 \(3 oneway\)$'
run 0 introspect "unix:$tmp/every.sock" && cp "$tmp/out" "$tmp/every.idl"
check_round_trip "$tmp/every.idl" test/idl/ok/every.describe
has every.idl '^\[flags\] enum perm \{ READ = 1, WRITE = 2, EXEC = 4 \};$'
has every.idl '\[sensitive\] bytes<32> key;'
has every.idl '^union by_enum switch \(signed_e kind\) \{$'
has every.idl '^typedef int32 row\[3\];$'
has every.idl '^    oneway ping\(\) = 101;'

run 0 list "exec:$srv --spawned"
has out '^ +101  main\.oneway ping\(\)$'
run 0 introspect "exec:$srv --spawned" && cp "$tmp/out" "$tmp/every-exec.idl"
check_round_trip "$tmp/every-exec.idl" test/idl/ok/every.describe

# hand-written descriptors: shapes one declarator cannot write get typedefs
"$srv" --zoo "unix:$tmp/zoo.sock" >"$tmp/zoo.out" 2>&1 &
pids="$pids $!"
wait_ready "$tmp/zoo.out"
run 0 introspect "unix:$tmp/zoo.sock" && cp "$tmp/out" "$tmp/zoo.idl"
if "$idl" --describe "$tmp/zoo.idl" >"$tmp/zoo.describe" 2>"$tmp/idl.err"; then
    ok
    sed -n 's/^ .*) = \([0-9]*\);.*fingerprint \(0x[0-9a-f]*\)$/\1 \2/p' "$tmp/zoo.idl" | sort >"$tmp/zoo.server"
    sed -n 's/^method \([0-9]*\) [^ ]* \(0x[0-9a-f]*\) .*/\1 \2/p' "$tmp/zoo.describe" | sort >"$tmp/zoo.idlfp"
    if [ "$(wc -l <"$tmp/zoo.server")" = 2 ] && cmp -s "$tmp/zoo.server" "$tmp/zoo.idlfp"; then ok; else
        bad "zoo: fingerprints differ"; diff "$tmp/zoo.server" "$tmp/zoo.idlfp"; fi
else
    bad "parley-idl refuses the zoo IDL"; sed 's/^/    /' "$tmp/idl.err" "$tmp/zoo.idl"
fi
has zoo.idl '^typedef int32 anon[0-9]+\[2\];$'
has zoo.idl '^typedef optional int32 anon[0-9]+;$'

"$srv" --no-introspection "unix:$tmp/closed.sock" >"$tmp/closed.out" 2>&1 &
pids="$pids $!"
wait_ready "$tmp/closed.out"
run 4 info "unix:$tmp/closed.sock"
has err 'NOT_FOUND'
run 4 list "exec:$srv --no-introspection --spawned"
has err 'not served'

# ---- monitor: another client's calls, one line each or JSON -------------------
# start_monitor OUT ARGS...: in the background, until it says it is subscribed
start_monitor() {
    out=$1
    shift
    timeout 60 "$pc" "$@" >"$tmp/$out" 2>"$tmp/$out.err" &
    mpid=$!
    i=0
    while ! grep -q 'monitoring' "$tmp/$out.err" 2>/dev/null && [ $i -lt 200 ]; do
        kill -0 $mpid 2>/dev/null || break
        sleep 0.05; i=$((i + 1))
    done
    grep -q 'monitoring' "$tmp/$out.err" && ok || { bad "monitor did not subscribe"; cat "$tmp/$out.err"; }
}
run 2 monitor "$kv" extra
run 2 --count 0 monitor "$kv"
start_monitor mon.out --count 2 monitor "$kv"
m1=$mpid
start_monitor monj.out --json --count 2 monitor "$kv"
m2=$mpid
if [ $rc = 6 ]; then
    # no JSON in parley-call: a client that needs none (introspection is
    # not a call monitors see), so only the subscription is tested
    kill $m1 $m2 2>/dev/null
    wait $m1 $m2 2>/dev/null
    echo "SKIP: monitor events (parley-call built without JSON support)"
else
    timeout 60 "$pc" call "$kv" put '{"key": "m", "value": "bW9u"}' >/dev/null 2>&1
    timeout 60 "$pc" call "$kv" get '{"key": "nosuchkey"}' >/dev/null 2>&1
    wait $m1 && ok || bad "monitor --count 2 did not end by itself"
    wait $m2 && ok || bad "monitor --json --count 2 did not end by itself"
    has mon.out '^[0-9T:.-]+Z session=[0-9]+ in put id=[0-9]+ OK [0-9]+us request=\{"key": ?"m", ?"value": ?"bW9u"\} reply=\{"version": ?[0-9]+\}$'
    has mon.out ' in get id=[0-9]+ ERR_REMOTE [0-9]+us request=\{"key": ?"nosuchkey"\}$'
    [ "$(wc -l <"$tmp/mon.out")" = 2 ] && ok || bad "monitor --count 2 printed other than 2 lines"
    has monj.out '^\{"time":"[0-9T:.-]+Z","session":[0-9]+,"direction":"in","method":"put","method_id":1,.*"status":"OK",.*"request":\{"key": ?"m".*"reply":\{"version"'
    has monj.out '"method":"get".*"status":"ERR_REMOTE".*"reply":null,"dropped":0\}$'
fi

# another uid is refused (as root, through the abstract socket, which has
# no file permissions to stop it earlier)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
    setpriv --reuid=65534 --regid=65534 --clear-groups "$pc" --version >/dev/null 2>&1; then
    setpriv --reuid=65534 --regid=65534 --clear-groups timeout 60 "$pc" monitor \
        "unix:@parley-call-test-$$" >"$tmp/out" 2>"$tmp/err" </dev/null
    got=$?
    [ $got = 4 ] && ok || { bad "monitor as uid 65534: exit $got, expected 4"; cat "$tmp/err"; }
    has err 'ACCESS_DENIED'
    has err 'monitoring is allowed only to uid 0 \(the peer.s\); this client is uid 65534'
else
    echo "SKIP: monitor refused to another uid (needs root and setpriv)"
fi

# ---- PARLEY_DEBUG: the client's own lines on stderr -----------------------------
export PARLEY_DEBUG=1   # (not VAR=x run: a function keeps it in some shells)
run 0 info "$kv"
has err '^parley: pid=[0-9]+ session=1 dir=out kind=call id=[0-9]+ method=introspect status=OK time_us=[0-9]+$'
PARLEY_DEBUG=frames
run 0 info "$kv"
has err 'kind=frame frame=HELLO'
has err 'dir=in kind=frame frame=REPLY id=[0-9]+ code=0 size=[0-9]+ fds=0$'
has err 'dir=out kind=frame frame=CALL id=[0-9]+ code=0 size=[0-9]+ fds=0$'
unset PARLEY_DEBUG
run 0 info "$kv"
hasnt err '^parley: '
export PARLEY_DEBUG=bogus
run 0 info "$kv"
unset PARLEY_DEBUG
has err 'PARLEY_DEBUG: unknown setting "bogus" ignored'

# ---- bash completion: commands, and the methods of a live address -------------
if command -v bash >/dev/null 2>&1; then
    complete_words() {   # complete_words WORD...: what the last word completes to
        PATH="$PWD/tools:$PATH" bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
            _parley_call; echo "${COMPREPLY[*]}"' "$src/data/parley-call.bash-completion" \
            "$@" >"$tmp/out" 2>"$tmp/err"
    }
    complete_words parley-call mo
    has out '^monitor$'
    complete_words parley-call --timeout 5 i
    has out '^info introspect$'
    complete_words parley-call call "$kv" g
    has out '^get$'
    complete_words parley-call --json=short call "$kv" ""
    has out '(^| )put( |$)'
    has out '(^| )snapshot( |$)'
    complete_words parley-call call "unix:$tmp/nobody.sock" g
    has out '^$'
    complete_words parley-call --js
    has out '^--json --json=pretty --json=short$'
else
    echo "SKIP: bash completion (no bash)"
fi

echo "$n checks"
exit $fail
