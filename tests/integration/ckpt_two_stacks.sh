#!/bin/sh
# Images record each connection's stack by name, and a restore rebuilds it in the stack of
# that name: a python3 client under sockshift streams numbered lines to two plain python3
# servers, one on the host and one in a network namespace it reaches through a named stack
# (stacks = b=netns:NS, routes = to PREFIX b); sockshift migrate hands both connections to a
# new instance configured with the same names. Each server sees one connection, no reset,
# the old instance's lines then the new one's. (Before format 2 the namespace connection
# was rebuilt on the default stack: its local address matches no `from` rule.)
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need
need ip
NS=ss2st_$$ ADDR=10.219.7.1

netns_cleanup() {
	ckpt_cleanup
	ip netns del "$NS" 2>/dev/null
	return 0
}
trap netns_cleanup EXIT INT TERM
ip netns add "$NS" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
ip -n "$NS" link set lo up && ip -n "$NS" addr add "$ADDR/32" dev lo || fail "setting up $NS"

cat >"$TMP/talker.py" <<'PY'
import os, socket, sys, time
tag = sys.argv[1]
ss = [socket.create_connection(("127.0.0.1", int(sys.argv[2]))), socket.create_connection((sys.argv[3], int(sys.argv[4])))]
if os.environ.get("TALKER_READY"): open(os.environ["TALKER_READY"], "w").close()
n = 0
while True:
    for s in ss: s.sendall(("%s %d\n" % (tag, n)).encode())
    n += 1; time.sleep(0.005)
PY
sink() { # sink NAME ADDR [ip netns exec NS]
	_n=$1 _a=$2; shift 2
	bg "$@" "$PYTHON" "$ROOT/tests/helpers/line_sink.py" "$TMP/$_n.port" "$_a" >"$TMP/$_n.out"
	eval "${_n}_PID=\${PIDS##* }"
	i=0; while [ ! -s "$TMP/$_n.port" ]; do i=$((i + 1)); [ $i -gt 100 ] && fail "sink $_n did not start"; sleep 0.05; done
}
sink host 127.0.0.1
sink ns "$ADDR" ip netns exec "$NS"
HPORT=$(cat "$TMP/host.port") NPORT=$(cat "$TMP/ns.port")
export SOCKSHIFT_STACKS="b=netns:$NS" SOCKSHIFT_ROUTES="to $ADDR/32 b"
bg env SOCKSHIFT_IMAGES="$TMP/img" TALKER_READY="$TMP/a.ready" "$SOCKSHIFT" run --log info --log-file "$TMP/a.log" -- \
	"$PYTHON" "$TMP/talker.py" a "$HPORT" "$ADDR" "$NPORT"
A=${PIDS##* }
ckpt_wait_file "$TMP/a.ready" "the first client instance did not connect"
bg "$SOCKSHIFT" migrate "$A" --images "$TMP/mig" --log-file "$TMP/b.log" -- \
	"$PYTHON" "$TMP/talker.py" b "$HPORT" "$ADDR" "$NPORT" >"$TMP/migrate.out" 2>&1
MIG=${PIDS##* }
sleep 1.5
cat "$TMP/migrate.out"
grep -q "migrated 2 connections" "$TMP/migrate.out" || { tail "$TMP/b.log" >&2; fail "the two connections were not handed over"; }
m=$(find "$TMP/mig" -name sockshift-manifest.img | head -1)
[ -n "$m" ] || fail "no checkpoint under $TMP/mig"
"$SOCKSHIFT" show "${m%/*}" >"$TMP/show.out" 2>&1
grep -q "stack b " "$TMP/show.out" && grep -q "stack kernel " "$TMP/show.out" ||
	{ cat "$TMP/show.out" >&2; fail "the images do not name each connection's stack"; }
kill "$MIG"
wait "$host_PID"; wait "$ns_PID"
cat "$TMP/host.out" "$TMP/ns.out"
grep -q "^ok conns=1 " "$TMP/host.out" || { tail "$TMP/b.log" >&2; fail "the host server saw a broken or second connection"; }
grep -q "^ok conns=1 " "$TMP/ns.out" || { tail "$TMP/b.log" >&2; fail "the server in $NS saw a broken or second connection"; }
echo "ok: connections on two stacks handed over, each rebuilt on its own: host $(cat "$TMP/host.out"); $NS $(cat "$TMP/ns.out")"
