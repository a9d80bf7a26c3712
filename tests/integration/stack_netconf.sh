# Stack configuration through netlink, from the environment and from a config file.
# Proves: a config file with stacks/net/routes gives one python3 process a private
# namespace (netns:new) with an address set through netlink, where it listens, connects and
# sends a datagram (a fresh UDP socket re-homed at sendto),
# while its other connections stay on the kernel stack; and every configuration error
# stops the program at start (exit 125) with a message naming the stack, the interface
# and the netlink error (missing interface, duplicate address, unknown stack, the host's
# own kernel stack refused).
. tests/integration/lib.sh
need "$PYTHON"
need_built

hport=$(free_port)
bg "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP" "$hport" >/dev/null 2>&1
wait_port "$hport"

cat >"$TMP/s.conf" <<EOT
# a private stack for 10.73.0.0/16, everything else on the host's stack
stacks = iso=netns:new
net    = iso lo addr 10.73.0.1/32
routes = from 10.73.0.0/16 iso; to 10.73.0.0/16 iso; default kernel
EOT
out=$(SOCKSHIFT_CONF=$TMP/s.conf LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$TMP/conf.log \
	"$PYTHON" -c '
import socket, sys
srv = socket.create_server(("10.73.0.1", 0))
c = socket.create_connection(srv.getsockname(), 5)
a, _ = srv.accept()
c.sendall(b"private")
print(a.recv(16).decode())
h = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
print("host ok")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("10.73.0.1", 0))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.sendto(b"datagram", u.getsockname())
print(u.recv(16).decode())
' "$hport") || fail "python3 under the config file failed: $out"
expect_eq "output" "$(echo $out)" "private host ok datagram"
expect_log "$TMP/conf.log" "rehome fd=[0-9]+ -> stack=iso" "a socket moved to iso"
expect_log "$TMP/conf.log" "sendto fd=[0-9]+ 10\\.73\\.0\\.1:[0-9]+ stack=iso -> 8" "the datagram routed to iso at sendto()"
expect_log "$TMP/conf.log" "stack iso: iso lo addr 10\\.73\\.0\\.1/32" "the address set through netlink"
expect_log "$TMP/conf.log" "bind fd=[0-9]+ 10\\.73\\.0\\.1:0 stack=iso -> 0" "the bind routed to iso"
expect_log "$TMP/conf.log" "connect fd=[0-9]+ 10\\.73\\.0\\.1:[0-9]+ stack=iso" "the connect routed to iso"
expect_log "$TMP/conf.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:$hport stack=kernel -> (0|-1 EINPROGRESS)" "the host connect on the kernel stack"

# bad SETTINGS... WANT: the program must not start, and stderr must contain WANT.
refused() {
	_want=$1; shift
	env "$@" LD_PRELOAD="$LIB" "$PYTHON" -c 'print("started")' >"$TMP/out" 2>"$TMP/err"
	_rc=$?
	[ "$_rc" = 125 ] || fail "$* started (exit $_rc): $(cat "$TMP/out" "$TMP/err")"
	grep -qF -- "$_want" "$TMP/err" || fail "$*: message '$(cat "$TMP/err")' lacks '$_want'"
	[ -s "$TMP/out" ] && fail "$*: the program ran"
	return 0
}
refused "stack netns:new, interface eth9: looking up the interface failed: default eth9 up (netlink: " \
	SOCKSHIFT_STACK=netns:new SOCKSHIFT_NET="default eth9 up"
refused "stack iso, interface lo: adding the address failed: iso lo addr 10.1.0.1/8 (netlink: " \
	SOCKSHIFT_STACKS="iso=netns:new" SOCKSHIFT_NET="iso lo addr 10.1.0.1/8; iso lo addr 10.1.0.1/8"
refused "stack iso, interface -: adding the route failed: iso route default via 192.0.2.1 (netlink: " \
	SOCKSHIFT_STACKS="iso=netns:new" SOCKSHIFT_NET="iso route default via 192.0.2.1"
refused "no stack named 'nope'" SOCKSHIFT_NET="nope lo up"
refused "the kernel stack is the host's own" SOCKSHIFT_NET="kernel lo up"
refused "names stack 'ghost', which is not configured" SOCKSHIFT_ROUTES="to 10.0.0.0/8 ghost"
refused "SOCKSHIFT_NET: expected netlink commands" SOCKSHIFT_NET="iso lo sideways"
refused "stack bad is not available: cannot open namespace /run/netns/sockshift-none-$$" \
	SOCKSHIFT_STACKS="bad=netns:sockshift-none-$$"
echo "ok: config file stacks/net/routes in one process; netlink errors name stack, interface and error"
