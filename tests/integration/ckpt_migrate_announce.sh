#!/bin/sh
# sockshift migrate --move-addr announces the address from its new interface: namespace C is a
# silent peer on the bridge that joins A's and B's veths, with REACHABLE neighbour entries for
# the service addresses pointing at the old interface's MAC. A python3 server (wildcard
# listener, so either namespace can run it) is migrated from A to B moving the IPv4 address
# (gratuitous ARP), then back from B to A moving the IPv6 address (unsolicited neighbour
# advertisement, override flag). Right after each migrate, C's entry holds the new MAC
# although C sent nothing.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
. tests/integration/ckpt_netns.inc
need_built
ckpt_need
need ip
NSA=ssann_a_$$ NSB=ssann_b_$$ NSC=ssann_c_$$
SVC=10.215.0.10 SVC6=fd00:215::10 PORT=7313

ckpt_netns_add
{
	ckpt_bridge 10.215.0 &&
	ip -n "$NSC" addr add fd00:215::1/64 dev br0 nodad &&
	ip -n "$NSA" addr add "$SVC/24" dev etha &&
	ip -n "$NSB" addr add "$SVC6/64" dev ethb nodad
} || fail "setting up the namespaces"
mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }
MACA=$(mac "$NSA" etha) MACB=$(mac "$NSB" ethb)
[ -n "$MACA" ] && [ -n "$MACB" ] || fail "no MAC on etha/ethb"
# C's entries: the IPv4 address at A (where it is), the IPv6 one at B; REACHABLE, no traffic
ip -n "$NSC" neigh replace "$SVC" lladdr "$MACA" dev br0 nud reachable &&
ip -n "$NSC" neigh replace "$SVC6" lladdr "$MACB" dev br0 nud reachable || fail "ip neigh replace"
neigh() { ip -n "$NSC" neigh show "$1" dev br0; }

ckpt_svc_scripts 0.0.0.0
ckpt_svc_server

# migrate_to NS PID ADDR DEV LOG: migrate PID into NS moving ADDR to DEV; waits for the report.
migrate_to() {
	rm -f "$TMP/port"
	bg "$SOCKSHIFT" migrate "$2" --netns "$1" --move-addr "$3,dev=$4" --images "$TMP/mig" \
		--log-file "$TMP/$5.log" -- "$PYTHON" "$TMP/echo_svc.py" poll "$PORT" "$TMP/port" >"$TMP/$5.out" 2>&1
	MIG=${PIDS##* }
	ckpt_migrate_wait "$TMP/$5.out" "$TMP/$5.log"
}

migrate_to "$NSB" "$OLD" "$SVC/24" ethb first
grep -q "; 3 gratuitous ARPs sent" "$TMP/first.out" || fail "migrate did not report its gratuitous ARPs"
neigh "$SVC" | grep -q "lladdr $MACB" ||
	fail "C still maps $SVC to $(neigh "$SVC") after the move to B ($MACB)"
NEW=$(sed -n 's/^migrated .* from [0-9]* to \([0-9]*\)$/\1/p' "$TMP/first.out")
[ -n "$NEW" ] && kill -0 "$NEW" || fail "no new server pid in migrate's report"

migrate_to "$NSA" "$NEW" "$SVC6/64" etha second
grep -q "; 3 unsolicited neighbour advertisements sent" "$TMP/second.out" ||
	fail "migrate did not report its neighbour advertisements"
neigh "$SVC6" | grep -q "lladdr $MACA" ||
	fail "C still maps $SVC6 to $(neigh "$SVC6") after the move to A ($MACA)"
ckpt_no_lock_left
echo "ok: C learnt $SVC at $MACB and $SVC6 at $MACA from migrate's announcements alone"
