#!/bin/sh
# sockshift migrate --netns B without --move-addr: the service address 10.214.9.10 is on the
# loopback of both namespace A and namespace B, and namespace C (the clients) reaches it through
# a route, via A at first. A python3 echo server in A with 20 clients streaming from C is handed
# to a new instance in B; while the hand-over runs, the test points C's route at B (as soon as
# migrate says the lock is held in B too), so the clients' packets reach B during the downtime
# (B has the address but no socket yet: without the lock there, an RST). The clients see no
# reset and no lost byte (their own SHA-256 check); the lock was copied into B, lifted there by
# the new process (downtime measured), removed from A by migrate, and nothing is left in either.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
. tests/integration/ckpt_netns.inc
need_built
ckpt_need
need ip
need ss
NSA=sspl_a_$$ NSB=sspl_b_$$ NSC=sspl_c_$$
SVC=10.214.9.10 NCONN=20 PORT=7312

ckpt_netns_add
# C --vca/etha-- A (10.214.1.0/24), C --vcb/ethb-- B (10.214.2.0/24); SVC/32 on lo of A and B.
{
	ip -n "$NSC" link set lo up &&
	for x in a b; do
		ns=$NSA; n=1; [ $x = b ] && { ns=$NSB; n=2; }
		ip -n "$NSC" link add "vc$x" type veth peer name "eth$x" netns "$ns" &&
		ip -n "$NSC" addr add "10.214.$n.1/24" dev "vc$x" &&
		ip -n "$NSC" link set "vc$x" up &&
		ip -n "$ns" addr add "10.214.$n.2/24" dev "eth$x" &&
		ip -n "$ns" link set "eth$x" up &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" addr add "$SVC/32" dev lo &&
		ip -n "$ns" route add 10.214.0.0/16 via "10.214.$n.1" || fail "setting up $ns"
	done &&
	ip -n "$NSC" route add "$SVC/32" via 10.214.1.2
} || fail "setting up the namespaces"

ckpt_svc_scripts
ckpt_svc_server
ckpt_svc_clients
sleep 0.5

bg "$SOCKSHIFT" migrate "$OLD" --netns "$NSB" --images "$TMP/mig" --log-file "$TMP/new.log" -- \
	"$PYTHON" "$TMP/echo_svc.py" poll "$PORT" "$TMP/port" >"$TMP/migrate.out" 2>&1
MIG=${PIDS##* }
i=0
while ! grep -q "copied from namespace" "$TMP/migrate.out"; do
	i=$((i + 1))
	if [ $i -gt 3000 ] || ! kill -0 "$MIG" 2>/dev/null; then
		cat "$TMP/migrate.out" >&2; fail "migrate did not copy the lock into $NSB"
	fi
	sleep 0.005
done
ip -n "$NSC" route replace "$SVC/32" via 10.214.2.2 || fail "switching the route to $NSB"
ckpt_migrate_wait "$TMP/migrate.out" "$TMP/new.log"
grep -q "migrated $NCONN connections" "$TMP/migrate.out" || fail "migrate did not move the $NCONN connections"
grep -q "network lock sockshift_${OLD}_[0-9]* copied from namespace $NSA to $NSB" "$TMP/migrate.out" ||
	fail "the lock was not copied into $NSB"
grep -q "downtime (signal to lock lifted" "$TMP/migrate.out" || fail "no downtime measured (the lock was not lifted in $NSB)"
grep -q "network lock sockshift_${OLD}_[0-9]* removed from namespace $NSA" "$TMP/migrate.out" ||
	fail "the lock was not removed from $NSA"
sleep 2
[ "$(established "$NSB")" -ge "$NCONN" ] || { tail "$TMP/new.log" >&2; fail "$NSB holds $(established "$NSB") connections, not $NCONN"; }
[ "$(established "$NSA")" = 0 ] || fail "$NSA still holds connections"
touch "$TMP/stop"
wait "$CLI" || { cat "$TMP/client.out" >&2; tail "$TMP/new.log" >&2; fail "the clients saw errors or lost bytes"; }
kill -0 "$MIG" 2>/dev/null || fail "the new server is gone"
ckpt_no_lock_left
echo "ok: $(grep '^migrated' "$TMP/migrate.out"); $(grep '^downtime' "$TMP/migrate.out"); clients: $(cat "$TMP/client.out")"
