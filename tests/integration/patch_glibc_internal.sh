# Syscall-site patching sees the socket calls glibc makes internally, and SOCKSHIFT_PATCH=off
# turns the whole layer off.
# Proves, inside a private network + mount namespace this test creates (lo up, a fake DNS
# responder on 127.0.0.1, /etc/resolv.conf bind-mounted to point at it; nothing leaves it):
#  - getaddrinfo (C helper, normal and _FORTIFY_SOURCE=2 builds), `getent hosts`, python's
#    socket.getaddrinfo resolve, and the shim's debug log shows the resolver's
#    socket/connect 127.0.0.1:53/sendmmsg|sendto/recvfrom and the nscd probe;
#  - if_nametoindex, getifaddrs and syslog show their internal socket calls and still work;
#  - syscall(SYS_socket/SYS_connect/SYS_sendto/SYS_close) is routed through core;
#  - a multi-threaded program and a program that forks and execs resolve correctly;
#  - with SOCKSHIFT_PATCH=off the same programs still work and those lines are gone,
#    except syscall(), which is a symbol hook and stays.
. tests/integration/lib.sh
need unshare
need getent
need ip
need "$PYTHON"
need_built patch_calls patch_calls_fortify

if [ "$1" != inner ]; then
	unshare -n -m true 2>/dev/null || skip "cannot create network and mount namespaces (unshare -n -m)"
	exec unshare -n -m sh "$0" inner "$TMP"
fi
rm -rf "$TMP"; TMP=$2   # the outer run's directory (lib.sh just made another one)
trap 'cleanup' EXIT INT TERM

ip link set lo up || fail "cannot bring lo up in the private namespace"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"$TMP/resolv.conf"
mount --bind "$TMP/resolv.conf" /etc/resolv.conf || skip "cannot bind-mount /etc/resolv.conf"
bg "$PYTHON" "$ROOT/tests/helpers/patch_fakedns.py" 127.0.0.1 10.7.7.7 "$TMP/dns.q"
i=0
until [ -f "$TMP/dns.q.ready" ]; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the fake DNS responder did not start"
	sleep 0.1
done
NAME=patched.sockshift.test

run() { _l=$1; shift; env LD_PRELOAD="$LIB" SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE="$_l" "$@"; }

# 1. Resolver calls: getaddrinfo from C (plain and fortified), getent, python.
for h in patch_calls patch_calls_fortify; do
	got=$(run "$TMP/$h.log" "$HELPERS/$h" gai "$NAME") || fail "$h: getaddrinfo failed under the shim"
	expect_eq "$h getaddrinfo answer" "$got" 10.7.7.7
	expect_log "$TMP/$h.log" "socket inet/dgram.* -> [0-9]+" "$h: the resolver's UDP socket"
	expect_log "$TMP/$h.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:53 stack=kernel -> 0" "$h: the resolver's connect"
	expect_log "$TMP/$h.log" "(sendmmsg|sendto) fd=[0-9]+.* -> [0-9]+" "$h: the query being sent"
	expect_log "$TMP/$h.log" "recvfrom fd=[0-9]+ 127\\.0\\.0\\.1:53 .*-> [0-9]+" "$h: the answer being received"
	expect_log "$TMP/$h.log" "connect fd=[0-9]+ unix:/var/run/nscd/socket" "$h: the nscd probe"
done
got=$(run "$TMP/getent.log" getent hosts "$NAME" | awk '{print $1}') || fail "getent failed under the shim"
expect_eq "getent answer" "$got" 10.7.7.7
expect_log "$TMP/getent.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:53 stack=kernel -> 0" "getent's resolver connect"
got=$(run "$TMP/py.log" "$PYTHON" -c "import socket; print(socket.getaddrinfo('$NAME', 80, socket.AF_INET)[0][4][0])") ||
	fail "python getaddrinfo failed under the shim"
expect_eq "python answer" "$got" 10.7.7.7
expect_log "$TMP/py.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:53 stack=kernel -> 0" "python's resolver connect"

# 2. if_nametoindex, getifaddrs, syslog.
expect_eq "if_nametoindex(lo)" "$(run "$TMP/ifindex.log" "$HELPERS/patch_calls" ifindex)" 1
expect_log "$TMP/ifindex.log" "socket (unix|inet|inet6)/dgram" "if_nametoindex's socket"
n=$(run "$TMP/ifaddrs.log" "$HELPERS/patch_calls" ifaddrs) || fail "getifaddrs failed under the shim"
[ "$n" -ge 1 ] || fail "getifaddrs returned no interface"
expect_log "$TMP/ifaddrs.log" "socket netlink/raw" "getifaddrs' netlink socket"
expect_log "$TMP/ifaddrs.log" "bind fd=[0-9]+" "getifaddrs' bind"
run "$TMP/syslog.log" "$HELPERS/patch_calls" syslog || fail "syslog failed under the shim"
expect_log "$TMP/syslog.log" "socket unix/dgram" "syslog's socket"
expect_log "$TMP/syslog.log" "connect fd=[0-9]+ unix:/dev/log" "syslog's connect to /dev/log"

# 3. syscall() with socket numbers, against a loopback listener.
port=$(free_port)
bg "$PYTHON" -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $port)); s.listen(4)
while True:
    c, _ = s.accept(); c.recv(16); c.close()"
wait_port "$port"
run "$TMP/raw.log" "$HELPERS/patch_calls" raw "$port" || fail "syscall(SYS_socket/connect) failed under the shim"
expect_log "$TMP/raw.log" "socket inet/stream/0 stack=kernel -> [0-9]+" "syscall(SYS_socket)"
expect_log "$TMP/raw.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=kernel -> 0" "syscall(SYS_connect)"
expect_log "$TMP/raw.log" "sendto fd=[0-9]+ stack=kernel -> 3" "syscall(SYS_sendto)"

# 4. Threads and fork+exec.
got=$(run "$TMP/threads.log" "$HELPERS/patch_calls" threads "$NAME") || fail "threaded lookups failed: $got"
expect_eq "8 threads x 50 lookups" "$got" "threads ok"
got=$(run "$TMP/fork.log" "$HELPERS/patch_calls" forkexec "$NAME") || fail "fork+exec lookup failed"
expect_eq "lookup in the exec'd child" "$got" 10.7.7.7
[ "$(count_log "$TMP/fork.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:53")" -ge 1 ] || fail "the exec'd child's lookup was not seen"

# 5. SOCKSHIFT_PATCH=off: everything still works, the libc-internal lines are gone.
for t in gai ifindex ifaddrs syslog; do
	arg=; [ $t = gai ] && arg=$NAME
	SOCKSHIFT_PATCH=off run "$TMP/off-$t.log" "$HELPERS/patch_calls" $t $arg >"$TMP/off-$t.out" ||
		fail "$t fails with SOCKSHIFT_PATCH=off"
done
expect_eq "answer with patching off" "$(cat "$TMP/off-gai.out")" 10.7.7.7
expect_no_log "$TMP/off-gai.log" "127\\.0\\.0\\.1:53|nscd|sendmmsg|recvfrom" "resolver calls with patching off"
expect_no_log "$TMP/off-ifindex.log" "socket (unix|inet)" "if_nametoindex with patching off"
expect_no_log "$TMP/off-ifaddrs.log" "netlink" "getifaddrs with patching off"
expect_no_log "$TMP/off-syslog.log" "/dev/log" "syslog with patching off"
SOCKSHIFT_PATCH=off run "$TMP/off-raw.log" "$HELPERS/patch_calls" raw "$port" || fail "raw fails with patching off"
expect_log "$TMP/off-raw.log" "connect fd=[0-9]+ 127\\.0\\.0\\.1:$port" "syscall() is a symbol hook, on either way"
echo "ok: resolver, nscd, if_nametoindex, getifaddrs, syslog, syscall(), threads, fork+exec seen; PATCH=off removes them"
