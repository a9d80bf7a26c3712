# Routing rules with unmodified programs: one process reaches two stacks by destination.
# Two namespaces A and B each get an address on lo through netlink (`net`); a python3
# http.server in each is put there by a `from` rule at bind() (re-homed under the same fd,
# SO_REUSEADDR carried over); then ONE curl process fetches from both, each connect
# routed by a `to` rule; with `default none` a destination no rule covers fails with
# "Network is unreachable" and never leaves through the kernel stack; with `default kernel`
# the same curl also reaches a host listener. Finally the nginx pattern: a non-blocking
# socket with options, registered with epoll before connect(), is re-homed at connect and
# keeps its flags, options and epoll registration (tests/helpers/stack_epoll_connect.c).
. tests/integration/lib.sh
need curl
need ip
need "$PYTHON"
need_built stack_epoll_connect

A=sockshift-ta$$ Bn=sockshift-tb$$
ip netns add "$A" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
ip netns add "$Bn" || { ip netns del "$A"; fail "ip netns add $Bn"; }
trap 'ip netns del "$A" 2>/dev/null; ip netns del "$Bn" 2>/dev/null; stop_all; cleanup' EXIT INT TERM

sx() { _l=$1; shift; LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l "$@"; }
# sxe: the same replacing the shell, for `bg` (the pid recorded is the program's own).
sxe() { _l=$1; shift; LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l exec "$@"; }
# Stops what bg started and the helper tasks those programs made (libvdestack's helper
# outlives a program stopped by a signal), by pid.
stop_all() {
	for p in $PIDS; do
		kids=$(cat /proc/"$p"/task/*/children 2>/dev/null)
		kill "$p" $kids 2>/dev/null
	done
}
STACKS="a=netns:$A; b=netns:$Bn"

for x in a b; do
	mkdir -p "$TMP/$x"
	echo "served from $x" >"$TMP/$x/id.txt"
done
SOCKSHIFT_STACKS=$STACKS SOCKSHIFT_NET="a lo up; a lo addr 10.71.0.1/32" SOCKSHIFT_ROUTES="from 10.71.0.0/16 a" \
	bg sxe "$TMP/srv-a.log" "$PYTHON" -m http.server --bind 10.71.0.1 --directory "$TMP/a" 8080 >"$TMP/a.out" 2>&1
SOCKSHIFT_STACKS=$STACKS SOCKSHIFT_NET="b lo up; b lo addr 10.72.0.1/32" SOCKSHIFT_ROUTES="from 10.72.0.0/16 b" \
	bg sxe "$TMP/srv-b.log" "$PYTHON" -m http.server --bind 10.72.0.1 --directory "$TMP/b" 8080 >"$TMP/b.out" 2>&1
for x in "$A 10.71.0.1" "$Bn 10.72.0.1"; do
	set -- $x
	i=0
	until ip netns exec "$1" curl -s -o /dev/null "http://$2:8080/" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 50 ] && fail "the server on $2 in $1 did not come up: $(cat "$TMP"/*.out)"
		sleep 0.1
	done
done
expect_log "$TMP/srv-a.log" "rehome fd=[0-9]+ -> stack=a \\([1-9][0-9]* option" "the server's socket moved to stack a at bind() with its options"
expect_log "$TMP/srv-a.log" "bind fd=[0-9]+ 10\\.71\\.0\\.1:8080 stack=a -> 0" "the server bound in stack a"

# One curl, two stacks.
hport=$(free_port)
echo "host" >"$TMP/host.txt"
bg "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP" "$hport" >/dev/null 2>&1
wait_port "$hport"
out=$(SOCKSHIFT_STACKS=$STACKS SOCKSHIFT_ROUTES="to 10.71.0.0/16 a; to 10.72.0.0/16 b; default none" \
	sx "$TMP/cli.log" curl -sS --max-time 10 http://10.71.0.1:8080/id.txt http://10.72.0.1:8080/id.txt) ||
	fail "curl through two stacks failed"
expect_eq "bodies from both stacks" "$(echo $out)" "served from a served from b"
expect_log "$TMP/cli.log" "connect fd=[0-9]+ 10\\.71\\.0\\.1:8080 stack=a" "curl's connect on stack a"
expect_log "$TMP/cli.log" "connect fd=[0-9]+ 10\\.72\\.0\\.1:8080 stack=b" "curl's connect on stack b"

# default none: no leak to the kernel stack, a clear errno.
if SOCKSHIFT_STACKS=$STACKS SOCKSHIFT_ROUTES="to 10.71.0.0/16 a; default none" \
	sx "$TMP/none.log" curl -sS --max-time 5 "http://127.0.0.1:$hport/host.txt" 2>"$TMP/none.err"; then
	fail "a destination routed to 'none' was reached"
fi
expect_log "$TMP/none.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:$hport stack=kernel -> -1 ENETUNREACH" "ENETUNREACH for an unrouted destination"
grep -Eq "unreachable|Couldn.t connect" "$TMP/none.err" || fail "curl did not fail to connect: $(cat "$TMP/none.err")"

# default kernel: the same process reaches stack a and the host.
out=$(SOCKSHIFT_STACKS=$STACKS SOCKSHIFT_ROUTES="to 10.71.0.0/16 a; default kernel" \
	sx "$TMP/mixed.log" curl -sS --max-time 10 http://10.71.0.1:8080/id.txt "http://127.0.0.1:$hport/host.txt") ||
	fail "curl through stack a and the kernel stack failed"
expect_eq "bodies from stack a and the host" "$(echo $out)" "served from a host"

# The nginx pattern: epoll registration before connect, re-homed at connect.
line=$(SOCKSHIFT_STACKS=$STACKS SOCKSHIFT_ROUTES="to 10.72.0.0/16 b" \
	sx "$TMP/epoll.log" "$HELPERS/stack_epoll_connect" 10.72.0.1 8080 /id.txt) ||
	fail "the epoll-registered socket did not survive being re-homed at connect"
case "$line" in "HTTP/1."*" 200 "*) ;; *) fail "unexpected reply: $line" ;; esac
expect_log "$TMP/epoll.log" "rehome fd=[0-9]+ -> stack=b \\(2 option\\(s\\), flags 0x[0-9a-f]+, 1 epoll registration\\(s\\)\\)" \
	"the re-home carrying 2 options and 1 epoll registration"
echo "ok: bind/connect routing to two stacks in one process, default none, epoll re-home"
