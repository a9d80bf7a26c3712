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
. tests/integration/ckpt_netns.inc
need_built
ckpt_need
need ip
need ss
NSA=ssmig_a_$$ NSB=ssmig_b_$$ NSC=ssmig_c_$$
SVC=10.213.0.10 NCONN=20 PORT=7311

ckpt_netns_add
{ ckpt_bridge 10.213.0 && ip -n "$NSA" addr add "$SVC/24" dev etha; } || fail "setting up the namespaces"

ckpt_svc_scripts
ckpt_svc_server
ckpt_svc_clients
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
# A's MAC until migrate's gratuitous ARP from ethb replaces it: from then on the clients'
# packets reach B (and would meet an RST if the network lock had not moved to B with it).
# Without the announcement they would go on to A's MAC until C's entry expires.
bg "$SOCKSHIFT" migrate "$OLD" --netns "$NSB" --move-addr "$SVC/24,dev=ethb" --images "$TMP/mig" \
	--log-file "$TMP/new.log" -- "$PYTHON" "$TMP/echo_svc.py" poll "$PORT" "$TMP/port" >"$TMP/migrate.out" 2>&1
MIG=${PIDS##* }
ckpt_migrate_wait "$TMP/migrate.out" "$TMP/new.log"
grep -q "migrated $NCONN connections" "$TMP/migrate.out" || fail "migrate did not move the $NCONN connections"
grep -q "moved $SVC/24,dev=ethb from etha in namespace $NSA to ethb in namespace $NSB.*; 3 gratuitous ARPs sent" "$TMP/migrate.out" ||
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
ckpt_no_lock_left
echo "ok: $(head -1 "$TMP/migrate.out"); $(grep '^moved' "$TMP/migrate.out"); $(grep '^downtime' "$TMP/migrate.out"); clients: $(cat "$TMP/client.out")"
