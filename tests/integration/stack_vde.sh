# The seed scenario: a VDE switch (vde_plug null:// switch:///...), python3 http.server
# under one vdestack stack and curl under another, each with its own address set through
# netlink; then socat both ways (a socat server on each side, a socat client on the
# other), and a socket made on a second thread. Also: plugin:vdestack with an option
# (iface=) is the same plug-in loaded through the libioth ABI by name, and a switch that
# is not there stops the program (exit 125).
. tests/integration/lib.sh
. tests/integration/vde_common.inc
need curl
need socat
need vde_plug
need "$PYTHON"
need_built
PLUGIN=$ROOT/$B/lib/ioth/ioth_vdestack-r.so
[ -f "$PLUGIN" ] || fail "$PLUGIN is not built"

SW=$TMP/sw
vde_switch "$SW"

sx() { _l=$1; shift; LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l "$@"; }
# sxe: the same replacing the shell, for `bg` (the pid recorded is the program's own).
sxe() { _l=$1; shift; LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l exec "$@"; }
# on ADDR LOG CMD...: CMD on its own vdestack stack with address ADDR/24.
on() {
	_a=$1; shift
	SOCKSHIFT_STACK=vdestack:vde://$SW SOCKSHIFT_NET="default vde0 up; default vde0 addr $_a/24" sx "$@"
}
onx() {
	_a=$1; shift
	SOCKSHIFT_STACK=vdestack:vde://$SW SOCKSHIFT_NET="default vde0 up; default vde0 addr $_a/24" sxe "$@"
}
trap 'stop_all; cleanup' EXIT INT TERM

mkdir -p "$TMP/www"
head -c 100000 /dev/urandom >"$TMP/www/blob.bin"
bg onx 10.66.0.1 "$TMP/server.log" "$PYTHON" -m http.server --bind 10.66.0.1 --directory "$TMP/www" 8080 \
	>"$TMP/server.out" 2>&1
until_ok on 10.66.0.9 "$TMP/probe.log" curl -s --max-time 2 -o /dev/null http://10.66.0.1:8080/ ||
	fail "the server on the VDE network did not answer: $(cat "$TMP/server.out")"
on 10.66.0.2 "$TMP/client.log" curl -sS --max-time 20 -o "$TMP/got.bin" http://10.66.0.1:8080/blob.bin ||
	fail "curl on its own vdestack stack could not fetch from the server's stack"
cmp -s "$TMP/www/blob.bin" "$TMP/got.bin" || fail "the file differs after crossing the VDE switch"
expect_log "$TMP/server.log" "stack vdestack:vde://$SW: default vde0 addr 10.66.0.1/24" "the server's address set through netlink"
expect_log "$TMP/server.log" "accept4? fd=[0-9]+ peer 10\\.66\\.0\\.2:[0-9]+ stack=vdestack:" "the server accepting curl from 10.66.0.2"
expect_log "$TMP/client.log" "connect fd=[0-9]+ 10\\.66\\.0\\.1:8080 stack=vdestack:" "curl connecting on its vdestack stack"

# A socket made by a thread other than the one that opened the stack (libvdestack's helper
# shares the main thread's TLS, not this one's).
out=$(on 10.66.0.6 "$TMP/thread.log" timeout 20 "$PYTHON" -c '
import socket, threading
res = []
def get():
    c = socket.create_connection(("10.66.0.1", 8080), 10)
    c.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
    res.append(c.recv(12).decode())
t = threading.Thread(target=get)
t.start()
t.join(15)
print(res[0] if res else "hung")
') || fail "python3 with a thread on a vdestack stack failed: $out"
expect_eq "reply to a thread's socket" "$out" "HTTP/1.0 200"

# A forked child cannot use its parent's plug-in stack: refused, not a wrong fd.
out=$(on 10.66.0.7 "$TMP/fork.log" "$PYTHON" -c '
import os, socket
pid = os.fork()
if pid == 0:
    try:
        socket.socket()
        print("child got a socket")
    except OSError as e:
        print(e.errno == 100 and "refused" or e)
    os._exit(0)
os.waitpid(pid, 0)
') || fail "the fork test failed: $out"
expect_eq "socket() in a forked child" "$out" "refused"

# socat, both directions: a server on each stack, the client on a third stack with its own
# address (two stacks sharing an address on one switch would answer each other's ARP).
# Each connection's EXEC:cat is preloaded with the same configuration: it must join its
# server's stack, not plug a second 10.66.0.3 into the switch (whose ARP replies, from a
# helper that outlives cat, made the next client's SYN meet a reset).
bg onx 10.66.0.3 "$TMP/s3.log" socat TCP-LISTEN:7003,bind=10.66.0.3,reuseaddr,fork EXEC:cat
bg onx 10.66.0.4 "$TMP/s4.log" socat TCP-LISTEN:7004,bind=10.66.0.4,reuseaddr,fork EXEC:cat
until_ok on 10.66.0.10 "$TMP/p3.log" socat -u /dev/null TCP:10.66.0.3:7003 || fail "socat on 10.66.0.3 did not come up"
until_ok on 10.66.0.11 "$TMP/p4.log" socat -u /dev/null TCP:10.66.0.4:7004 || fail "socat on 10.66.0.4 did not come up"
got=$(echo "four to three" | on 10.66.0.14 "$TMP/c43.log" socat -t 2 - TCP:10.66.0.3:7003) || fail "socat 4 -> 3 failed"
expect_eq "socat 10.66.0.4 -> 10.66.0.3" "$got" "four to three"
got=$(echo "three to four" | on 10.66.0.13 "$TMP/c34.log" socat -t 2 - TCP:10.66.0.4:7004) || fail "socat 3 -> 4 failed"
expect_eq "socat 10.66.0.3 -> 10.66.0.4" "$got" "three to four"
expect_log "$TMP/s3.log" "joined the namespace of the same stack made by an earlier image" \
	"cat exec'd by socat joining the server's stack instead of a second host 10.66.0.3"

# The same plug-in by name, with an option: the interface is called v1 now.
body=$(SOCKSHIFT_STACK="plugin:vdestack,iface=v1 vde://$SW" SOCKSHIFT_NET="default v1 up; default v1 addr 10.66.0.5/24" \
	sx "$TMP/plugin.log" curl -sS --max-time 20 -o /dev/null -w '%{http_code}' http://10.66.0.1:8080/blob.bin) ||
	fail "curl on plugin:vdestack failed"
expect_eq "HTTP status through plugin:vdestack" "$body" 200
expect_log "$TMP/plugin.log" "plug-in vdestack loaded from .*/ioth/ioth_vdestack-r\\.so" "the plug-in loaded by name"

# Fail closed: no switch there.
SOCKSHIFT_STACK=vdestack:vde://$TMP/nosw LD_PRELOAD=$LIB curl -s http://10.66.0.1:8080/ >/dev/null 2>"$TMP/nosw.err"
rc=$?
expect_eq "exit status without a switch" "$rc" 125
grep -q "could not make a stack on vde://$TMP/nosw" "$TMP/nosw.err" || fail "message: $(cat "$TMP/nosw.err")"
echo "ok: http.server and curl on two vdestack stacks over one VDE switch, socat both ways, plugin:vdestack"
