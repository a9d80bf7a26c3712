# netns stacks with unmodified programs: python3 http.server, curl and socat.
# Proves: netns:NAME and netns:/PATH put a server and a client into that namespace (the
# client reaches the server there, the host cannot); `net` brings lo up through netlink;
# netns:new isolates: curl inside cannot reach a listener in the host namespace, while
# the same curl without the stack can; a missing namespace stops the program (exit 125).
. tests/integration/lib.sh
need curl
need socat
need ip
need "$PYTHON"
need_built

NS=sockshift-t$$
ip netns add "$NS" 2>/dev/null || skip "cannot create network namespaces (ip netns add)"
trap 'ip netns del "$NS" 2>/dev/null; stop_all; cleanup' EXIT INT TERM

# sx LOG CMD...: CMD under the shim, its own log in LOG, stack settings from the caller.
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

# 1. A listener on the host: reachable natively, not from a netns:new stack.
echo host >"$TMP/host.txt"
hport=$(free_port)
bg "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP" "$hport" >/dev/null 2>&1
wait_port "$hport"
curl -sS --max-time 5 -o /dev/null "http://127.0.0.1:$hport/host.txt" || fail "the host listener is not reachable natively"
if SOCKSHIFT_STACK=netns:new sx "$TMP/iso.log" curl -sS --max-time 5 -o /dev/null \
	"http://127.0.0.1:$hport/host.txt" 2>"$TMP/iso.err"; then
	fail "curl in netns:new reached a listener in the host namespace"
fi
expect_log "$TMP/iso.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:$hport stack=netns:new -> (-1 ECONNREFUSED|-1 EINPROGRESS)" \
	"curl connecting inside netns:new"
grep -Eq "Connection refused|Couldn.t connect" "$TMP/iso.err" || fail "curl in netns:new: $(cat "$TMP/iso.err")"

# 2. Server and client in a named namespace, lo brought up by the shim through netlink.
mkdir -p "$TMP/www"
echo "inside $NS" >"$TMP/www/index.txt"
port=$(free_port)
SOCKSHIFT_STACK=netns:$NS SOCKSHIFT_NET="default lo up" \
	bg sxe "$TMP/server.log" "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$port" \
	>"$TMP/server.out" 2>&1
i=0
until ip netns exec "$NS" curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the server in $NS did not come up: $(cat "$TMP/server.out")"
	sleep 0.1
done
body=$(SOCKSHIFT_STACK=netns:$NS sx "$TMP/client.log" curl -sS --max-time 10 "http://127.0.0.1:$port/index.txt") ||
	fail "curl in netns:$NS could not reach the server there"
expect_eq "body from $NS" "$body" "inside $NS"
body=$(SOCKSHIFT_STACK=netns:/run/netns/$NS sx "$TMP/client2.log" curl -sS --max-time 10 \
	"http://127.0.0.1:$port/index.txt") || fail "curl in netns:/run/netns/$NS failed"
expect_eq "body through the path form" "$body" "inside $NS"
if curl -s --max-time 3 -o /dev/null "http://127.0.0.1:$port/index.txt"; then
	fail "the host reached a server that should only listen in $NS"
fi
expect_log "$TMP/server.log" "stack netns:$NS: default lo up" "lo brought up through netlink"
expect_log "$TMP/server.log" "bind fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=netns:$NS -> 0" "the server's bind in $NS"
expect_log "$TMP/client.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=netns:$NS -> (0|-1 EINPROGRESS)" "curl's connect in $NS"

# 3. socat both ways inside the namespace: an echo server, a client sending a line.
sport=$(free_port)
SOCKSHIFT_STACK=netns:$NS bg sxe "$TMP/socat-srv.log" socat TCP-LISTEN:"$sport",bind=127.0.0.1,reuseaddr,fork EXEC:cat
i=0
until ip netns exec "$NS" socat -u /dev/null TCP:127.0.0.1:"$sport" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "socat did not come up in $NS"
	sleep 0.1
done
got=$(echo "ping through $NS" | SOCKSHIFT_STACK=netns:$NS sx "$TMP/socat-cli.log" socat -t 2 - TCP:127.0.0.1:"$sport") ||
	fail "socat client in $NS failed"
expect_eq "socat echo" "$got" "ping through $NS"

# 4. Fail closed: a namespace that does not exist stops the program before main().
SOCKSHIFT_STACK=netns:sockshift-missing-$$ LD_PRELOAD=$LIB curl -s http://127.0.0.1:$hport/ >/dev/null 2>"$TMP/missing.err"
rc=$?
expect_eq "exit status with a missing namespace" "$rc" 125
grep -q "cannot open namespace /run/netns/sockshift-missing-$$" "$TMP/missing.err" ||
	fail "the message does not name the missing namespace: $(cat "$TMP/missing.err")"
echo "ok: netns:NAME, netns:/PATH, netns:new isolation, netlink lo up, fail closed"
