#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The scripted session of the demo key-value service (./quickstart demo; make
# check runs it without the benchmark and checks its output).
#
#   demo.sh BINDIR [PARLEY-BENCH]
#
# BINDIR holds kvd and kv (build/doc/examples/kv).  With PARLEY-BENCH, a short
# `parley-bench call` run follows.  Starts kvd on a unix socket in a temporary
# directory and on a TCP loopback port, talks to it with kv, stops it.  Every
# wait is bounded; exits 0 only if every step did what it shows.
set -euo pipefail

bindir=$1
bench=${2:-}
kv=$bindir/kv
kvd=$bindir/kvd
parleyd=${PARLEYD:-$bindir/../../../daemon/parleyd}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parley-demo.XXXXXX")
kvd_pid=
watch_pid=
parleyd_pid=

cleanup() {
    [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
    [ -n "$kvd_pid" ] && kill "$kvd_pid" 2>/dev/null || true
    [ -n "$parleyd_pid" ] && kill "$parleyd_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; [ -f "$tmp/kvd.log" ] && sed 's/^/  | /' "$tmp/kvd.log" >&2; exit 1; }

# Wait (at most 10 s) until file $1 has a line matching $2.
wait_for() {
    for _ in $(seq 1 100); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Wait (at most 10 s) for process $1 to exit; its exit status is in $reaped.
reap() {
    reaped=0
    for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && { kill -KILL "$1"; die "process $1 did not exit"; }
    wait "$1" || reaped=$?
}

# Show and run one kv command: `kvx [want-exit] ARGS...` (want-exit defaults to 0).
kvx() {
    local want=0 rc=0 shown
    case $1 in [0-9]) want=$1; shift ;; esac
    shown=$*
    shown=${shown//$tmp/\$TMP}
    printf '$ kv %s\n' "$shown"
    "$kv" "$@" >"$tmp/out" 2>&1 || rc=$?
    sed -e "s|$tmp|\$TMP|g" -e 's/^/  /' "$tmp/out"
    [ "$rc" = "$want" ] || die "kv $shown: exit status $rc, expected $want"
}

step "start a private name service (parleyd) and kvd, registered as 'kv'"
export PARLEY_NAMES=unix:$tmp/names.sock
PARLEY_NAMES_CONF=/dev/null "$parleyd" -c /dev/null >"$tmp/parleyd.out" 2>"$tmp/parleyd.log" &
parleyd_pid=$!
wait_for "$tmp/parleyd.out" '^listening on' || die "parleyd did not start"
"$kvd" -l "unix:$tmp/kv.sock" -l tcp:127.0.0.1:0 -n kv >"$tmp/kvd.out" 2>"$tmp/kvd.log" &
kvd_pid=$!
wait_for "$tmp/kvd.out" '^registered as kv' || die "kvd did not start"
unix_ep=unix:$tmp/kv.sock
tcp_ep=$(sed -n 's/^listening on \(tcp:.*\)/\1/p' "$tmp/kvd.out")
echo "parleyd (pid $parleyd_pid) on \$PARLEY_NAMES = unix:\$TMP/names.sock"
echo "kvd (pid $kvd_pid) listening on unix:\$TMP/kv.sock and $tcp_ep"

step "find kvd by its name (name:kv: resolved through parleyd at connect time)"
kvx -e name:kv put cherry dark-red
kvx -e name:kv del cherry

step "put and get (unix socket)"
kvx -e "$unix_ep" put apple red
kvx -e "$unix_ep" put apricot orange
kvx -e "$unix_ep" put banana yellow
kvx -e "$unix_ep" get apple

step "the same store over TCP"
kvx -e "$tcp_ep" put avocado green
kvx -e "$tcp_ep" get banana

step "scan with a cursor (a handle held by the server, read 2 entries at a time)"
kvx -e "$unix_ep" scan a

step "watch: the server calls the client back (kv_watch.changed)"
"$kv" -e "$unix_ep" watch -n 2 a >"$tmp/watch.out" 2>&1 &
watch_pid=$!
wait_for "$tmp/watch.out" '^watching' || die "the watcher did not start"
echo "(a watcher runs in the background: kv watch -n 2 a)"
kvx -e "$tcp_ep" put apple green
kvx -e "$unix_ep" del apricot
reap "$watch_pid"
watch_pid=
watch_rc=$reaped
echo "the watcher printed:"
sed 's/^/  /' "$tmp/watch.out"
[ "$watch_rc" = 0 ] || die "the watcher exited with $watch_rc"

step "snapshot: the client passes a file descriptor, the server writes into it"
kvx -e "$unix_ep" snapshot "$tmp/snapshot.txt"
echo "\$TMP/snapshot.txt:"
sed 's/^/  /' "$tmp/snapshot.txt"

step "errors come back readable"
kvx 1 -e "$unix_ep" get cherry
kvx 1 -e "$unix_ep" -t 300 wait cherry
kvx 1 -e "unix:$tmp/nobody.sock" get apple

step "a oneway call, and what kvd logged"
kvx -e "$unix_ep" log "hello from the demo"
wait_for "$tmp/kvd.log" 'says: hello from the demo' || die "the log line did not arrive"
wait_for "$tmp/kvd.log" "wait for 'cherry' cancelled" || die "the cancel did not reach kvd"
echo "kvd's log (its first unix and TCP sessions, the watcher, the cancelled wait, the log line):"
awk '/session 1: connected/ || (/connected \(no credentials/ && !tcp++) || /watching|called back|cancelled|says/' \
    "$tmp/kvd.log" | sed -e "s|$tmp|\$TMP|g" -e 's/^/  /' | head -n 12

if [ -n "$bench" ]; then
    step "parley-bench call: Parley calls beside a raw socket echo (about 5 s)"
    "$bench" call --transport=unix --idle=0 --runs=1 --time=0.2 --max-size=1024 \
        --rows=raw,parley-stub,parley-call >"$tmp/bench.out" 2>&1 \
        || die "parley-bench failed: $(cat "$tmp/bench.out")"
    grep -E '^ping-pong:|^ +bytes|^unix +(16|1024) ' "$tmp/bench.out" | sed 's/^/  /'
    echo "  (more: build/tools/parley-bench call --help; doc/performance.md)"
fi

step "stop kvd"
kill -TERM "$kvd_pid"
reap "$kvd_pid"
kvd_pid=
kvd_rc=$reaped
[ "$kvd_rc" = 0 ] || die "kvd exited with $kvd_rc"
echo "kvd stopped (exit status 0)"

step "kvd is gone, and so is its name"
kvx 1 -e name:kv get apple
kill -TERM "$parleyd_pid"
reap "$parleyd_pid"
parleyd_pid=
