#!/bin/sh
# sockshift migrate --netns B --move-addr: a python3 echo server bound to a service address in
# network namespace A, with 20 clients streaming from namespace C (a bridge joins A's and B's
# veths to C), is handed to a new instance in namespace B; the service address moves from A to
# B inside the downtime. The clients see no reset and no lost byte (their own SHA-256 check);
# afterwards the address is in B and not in A. First, a move that cannot work (a target
# interface that does not exist) fails before anything changes: the old server keeps running
# with its connections and the address stays in A.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need
need ip
need ss
NSA=ssmig_a_$$ NSB=ssmig_b_$$ NSC=ssmig_c_$$
SVC=10.213.0.10 NCONN=20 PORT=7311

netns_cleanup() {
	ckpt_cleanup
	for n in $NSA $NSB $NSC; do ip netns del "$n" 2>/dev/null; done
	return 0
}
trap netns_cleanup EXIT INT TERM

ip netns add "$NSA" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
ip netns add "$NSB" && ip netns add "$NSC" || fail "ip netns add"
{
	ip -n "$NSC" link add br0 type bridge &&
	ip -n "$NSC" link set br0 up &&
	ip -n "$NSC" addr add 10.213.0.1/24 dev br0 &&
	ip -n "$NSC" link set lo up &&
	for x in a b; do
		ns=$NSA; [ $x = b ] && ns=$NSB
		ip -n "$NSC" link add "v$x" type veth peer name "eth$x" netns "$ns" &&
		ip -n "$NSC" link set "v$x" master br0 up &&
		ip -n "$ns" link set "eth$x" up &&
		ip -n "$ns" link set lo up || fail "setting up the veth pair of $ns"
	done &&
	ip -n "$NSA" addr add "$SVC/24" dev etha
} || fail "setting up the namespaces"

# The common echo server and client, on the service address instead of loopback.
sed "s/(\"127.0.0.1\", port)/(\"$SVC\", port)/" "$TMP/echo.py" >"$TMP/echo_svc.py"
sed "s/((\"127.0.0.1\", port))/((\"$SVC\", port))/" "$TMP/client.py" >"$TMP/client_svc.py"
grep -q "$SVC" "$TMP/echo_svc.py" && grep -q "$SVC" "$TMP/client_svc.py" || fail "could not point echo.py/client.py at $SVC"

bg ip netns exec "$NSA" env SOCKSHIFT_IMAGES="$TMP/img" "$SOCKSHIFT" run --log info --log-file "$TMP/server.log" -- \
	"$PYTHON" "$TMP/echo_svc.py" poll "$PORT" "$TMP/port"
OLD=${PIDS##* }
i=0
while [ ! -s "$TMP/port" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$TMP/server.log" >&2; fail "the server did not start in $NSA"; }
	sleep 0.05
done
bg ip netns exec "$NSC" "$PYTHON" "$TMP/client_svc.py" "$PORT" "$NCONN" "$TMP/stop" 90 >"$TMP/client.out"
CLI=${PIDS##* }
established() { ss -N "$1" -Htn state established "( sport = :$PORT )" 2>/dev/null | wc -l; }
i=0
while [ "$(established "$NSA")" -lt "$NCONN" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "the clients did not connect ($(established "$NSA") of $NCONN)"
	sleep 0.05
done
sleep 0.5

# 1. A move that cannot work: nothing changes, the old server goes on.
rm -f "$TMP/port"
"$SOCKSHIFT" migrate "$OLD" --netns "$NSB" --move-addr "$SVC/24,dev=nosuch0" --images "$TMP/bad" -- \
	"$PYTHON" "$TMP/echo_svc.py" poll "$PORT" "$TMP/port" >"$TMP/bad.out" 2>&1
rc=$?
cat "$TMP/bad.out"
[ $rc = 1 ] || fail "migrate with a missing target interface exited $rc, not 1"
grep -q "namespace $NSB, interface nosuch0: looking up the interface to receive $SVC/24,dev=nosuch0 failed (netlink: " "$TMP/bad.out" ||
	fail "the error does not name the namespace, the interface and the netlink error"
grep -q "nothing was changed" "$TMP/bad.out" || fail "the error does not say nothing changed"
kill -0 "$OLD" 2>/dev/null || fail "the old server died on a failed move"
[ "$(established "$NSA")" -ge "$NCONN" ] || fail "the old server lost connections on a failed move"
ip -n "$NSA" -o addr show dev etha | grep -q "inet $SVC/24" || fail "the address left $NSA on a failed move"
ip -n "$NSB" -o addr show | grep -q "inet $SVC/" && fail "the address showed up in $NSB on a failed move"
[ -e "$TMP/port" ] && fail "a new server was started on a failed move"
sleep 0.5

# 2. The hand-over to namespace B with the address. C's neighbour cache maps the address to
# A's MAC and migrate announces nothing (no gratuitous ARP): C forgets it every 20 ms while the
# hand-over runs, so the clients' packets reach B as soon as the address is there (and would
# meet an RST if the network lock had not moved to B with it).
bg sh -c "while [ ! -e '$TMP/noflush' ]; do ip -n '$NSC' neigh flush dev br0; sleep 0.02; done"
bg "$SOCKSHIFT" migrate "$OLD" --netns "$NSB" --move-addr "$SVC/24,dev=ethb" --images "$TMP/mig" \
	--log-file "$TMP/new.log" -- "$PYTHON" "$TMP/echo_svc.py" poll "$PORT" "$TMP/port" >"$TMP/migrate.out" 2>&1
MIG=${PIDS##* }
i=0
while ! grep -q "downtime" "$TMP/migrate.out"; do
	i=$((i + 1))
	if [ $i -gt 150 ] || ! kill -0 "$MIG" 2>/dev/null; then
		cat "$TMP/migrate.out" >&2; tail "$TMP/new.log" >&2; fail "migrate did not report"
	fi
	sleep 0.1
done
sleep 0.5
touch "$TMP/noflush"
cat "$TMP/migrate.out"
grep -q "migrated $NCONN connections" "$TMP/migrate.out" || fail "migrate did not move the $NCONN connections"
grep -q "moved $SVC/24,dev=ethb from etha in namespace $NSA to ethb in namespace $NSB" "$TMP/migrate.out" ||
	fail "migrate did not report the address move"
grep -q "downtime (signal to lock lifted" "$TMP/migrate.out" || fail "no downtime measured (the lock was not lifted in $NSB)"
ip -n "$NSB" -o addr show dev ethb | grep -q "inet $SVC/24" || fail "the address is not in $NSB"
ip -n "$NSA" -o addr show | grep -q "inet $SVC/" && fail "the address is still in $NSA"
sleep 2
[ "$(established "$NSB")" -ge "$NCONN" ] || fail "$NSB holds $(established "$NSB") connections, not $NCONN"
[ "$(established "$NSA")" = 0 ] || fail "$NSA still holds connections"
touch "$TMP/stop"
wait "$CLI" || { cat "$TMP/client.out" >&2; tail "$TMP/new.log" >&2; fail "the clients saw errors or lost bytes"; }
kill -0 "$MIG" 2>/dev/null || fail "the new server is gone"
for n in $NSA $NSB; do
	ip netns exec "$n" "$SOCKSHIFT" unlock --list 2>/dev/null | grep -q sockshift_ && fail "a network lock was left in $n"
done
echo "ok: $(head -1 "$TMP/migrate.out"); $(grep '^moved' "$TMP/migrate.out"); $(grep '^downtime' "$TMP/migrate.out"); clients: $(cat "$TMP/client.out")"
