# A user-space stack: LWIPv6 loaded as the libioth plug-in lwipv6 (ioth_lwipv6.so, its own
# link-map namespace), whose sockets are vpoll fds that sockshift maps to the plug-in.
# On one VDE switch, with unmodified programs:
#  - python3 http.server on a vdestack (kernel) stack, curl (poll) on plugin:lwipv6 fetching
#    a 200 kB file byte for byte;
#  - python3 selectors (epoll) on plugin:lwipv6, non-blocking connect and reads;
#  - socat (select) both ways: client on lwipv6 to a server on vdestack, and a socat
#    listener on lwipv6 (accept through the plug-in) answering a client on vdestack;
#  - python3: a dup works after the original fd is closed, a forked child is refused;
#  - the calls went to the plug-in (the vpoll layer's log), and a switch that is not there
#    (or a program that states no license, LWIPv6 being GPL) stops the program (exit 125).
. tests/integration/lib.sh
. tests/integration/vde_common.inc
need curl
need socat
need vde_plug
need "$PYTHON"
need_built
PLUGIN=$ROOT/$B/lib/ioth/ioth_lwipv6.so
[ -f "$PLUGIN" ] || fail "$PLUGIN is not built"

SW=$TMP/sw
trap 'stop_all; cleanup' EXIT INT TERM
vde_switch "$SW"

LW="plugin:lwipv6,addr=10.68.0.2/24 vde://$SW"
sx() { _l=$1; shift; LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l "$@"; }
# on ADDR LOG CMD...: CMD on its own vdestack stack with address ADDR/24 (onx: exec'd, for bg).
on() {
	_a=$1; shift
	SOCKSHIFT_STACK=vdestack:vde://$SW SOCKSHIFT_NET="default vde0 up; default vde0 addr $_a/24" sx "$@"
}
onx() {
	_a=$1; _l=$2; shift 2
	SOCKSHIFT_STACK=vdestack:vde://$SW SOCKSHIFT_NET="default vde0 up; default vde0 addr $_a/24" \
		LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l exec "$@"
}
# lw LOG CMD...: CMD on the LWIPv6 stack, 10.68.0.2/24 (lwx: exec'd). LWIPv6 is GPL: the
# plug-in's license tag needs the program's license stated (the test's own declaration).
export SOCKSHIFT_LICENSE=GPL-2.0-or-later
lw() { _l=$1; shift; SOCKSHIFT_STACK=$LW sx "$_l" "$@"; }
lwx() { _l=$1; shift; SOCKSHIFT_STACK=$LW LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l exec "$@"; }

mkdir -p "$TMP/www"
head -c 200000 /dev/urandom >"$TMP/www/blob.bin"
bg onx 10.68.0.1 "$TMP/server.log" "$PYTHON" -m http.server --bind 10.68.0.1 --directory "$TMP/www" 8080 \
	>"$TMP/server.out" 2>&1
until_ok on 10.68.0.9 "$TMP/probe.log" curl -s --max-time 2 -o /dev/null http://10.68.0.1:8080/ ||
	fail "the server on the VDE network did not answer: $(cat "$TMP/server.out")"

# curl (poll) on the user-space stack.
lw "$TMP/curl.log" timeout 30 curl -sS --max-time 20 -o "$TMP/got.bin" http://10.68.0.1:8080/blob.bin ||
	fail "curl on plugin:lwipv6 could not fetch from the vdestack server"
cmp -s "$TMP/www/blob.bin" "$TMP/got.bin" || fail "the file differs after LWIPv6"
expect_log "$TMP/curl.log" "plug-in lwipv6 loaded from .*/ioth/ioth_lwipv6\\.so" "the private (non -r) plug-in"
expect_log "$TMP/curl.log" "vpoll: connect fd=[0-9]+ -> plug-in -> 0" "connect forwarded to the plug-in"
expect_log "$TMP/curl.log" "vpoll: recv fd=[0-9]+ -> plug-in -> [1-9]" "curl's reads answered by the plug-in"
expect_log "$TMP/server.out" "\"GET /blob.bin HTTP/1.1\" 200" "the server saw curl's request"
grep -q '10\.68\.0\.2 - - .*GET /blob.bin' "$TMP/server.out" || fail "the request did not come from 10.68.0.2"

# python3 selectors (epoll): non-blocking connect, wait for writable, then readable.
lw "$TMP/epoll.log" timeout 30 "$PYTHON" -c '
import selectors, socket, sys
sel = selectors.DefaultSelector()
assert type(sel).__name__ == "EpollSelector", type(sel).__name__
s = socket.socket()
s.setblocking(False)
s.connect_ex(("10.68.0.1", 8080))
sel.register(s, selectors.EVENT_WRITE)
assert sel.select(10), "never writable"
s.send(b"GET /blob.bin HTTP/1.0\r\n\r\n")
sel.modify(s, selectors.EVENT_READ)
data = b""
while True:
    if not sel.select(10):
        sys.exit("no data for 10 s")
    try:
        chunk = s.recv(65536)
    except BlockingIOError:
        continue
    if not chunk:
        break
    data += chunk
sys.stdout.buffer.write(data.split(b"\r\n\r\n", 1)[1])
' >"$TMP/epoll.bin" || fail "python3 selectors (epoll) on plugin:lwipv6 failed"
cmp -s "$TMP/www/blob.bin" "$TMP/epoll.bin" || fail "the file read through epoll differs"
expect_log "$TMP/epoll.log" "vpoll: fcntl fd=[0-9]+ -> plug-in -> 0" "setblocking(False) (ioctl FIONBIO) reaching the plug-in"

# dup, close of the original, fork: a dup reaches the same plug-in socket after the
# original fd is closed; a forked child is refused (ENETDOWN), not handed a wrong fd.
out=$(lw "$TMP/dup.log" timeout 30 "$PYTHON" -c '
import os, socket, sys
s = socket.create_connection(("10.68.0.1", 8080))   # blocking: no timeout
d = socket.socket(fileno=os.dup(s.fileno()))
s.close()
d.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
print(d.recv(12).decode())
pid = os.fork()
if pid == 0:
    try:
        d.send(b"x")
        print("child sent")
    except OSError as e:
        print("child", e.errno == 100 and "refused" or e)
    sys.exit(0)   # a normal exit: the plug-in must not wait for stacks that are not here
os.waitpid(pid, 0)
') || fail "python3 with dup and fork on plugin:lwipv6 failed: $out"
expect_eq "dup and fork" "$out" "HTTP/1.0 200
child refused"

# socat (select), lwipv6 -> vdestack: a line server that answers each line.
bg onx 10.68.0.4 "$TMP/s1.log" socat TCP-LISTEN:7001,bind=10.68.0.4,reuseaddr,fork \
	SYSTEM:'while read l; do echo "got $l"; done'
until_ok on 10.68.0.10 "$TMP/p1.log" socat -u /dev/null TCP:10.68.0.4:7001 || fail "socat on 10.68.0.4 did not come up"
got=$(echo "from lwip" | lw "$TMP/c1.log" timeout 20 socat -t 3 - TCP:10.68.0.4:7001) ||
	fail "socat on plugin:lwipv6 -> vdestack failed"
expect_eq "socat lwipv6 -> vdestack" "$got" "got from lwip"

# socat (select) listening on lwipv6 (accept through the plug-in), client on vdestack.
bg lwx "$TMP/s2.log" socat TCP-LISTEN:7002,bind=10.68.0.2 PIPE
i=0
until grep -q "vpoll: listen fd=[0-9]* -> plug-in -> 0" "$TMP/s2.log" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "socat on plugin:lwipv6 did not listen"
	sleep 0.1
done
got=$(echo "to lwip" | on 10.68.0.3 "$TMP/c2.log" timeout 20 socat -t 3 - TCP:10.68.0.2:7002) ||
	fail "socat vdestack -> plugin:lwipv6 failed"
expect_eq "socat vdestack -> lwipv6 (echoed)" "$got" "to lwip"
expect_log "$TMP/s2.log" "accept4? fd=[0-9]+ peer 10\\.68\\.0\\.3:[0-9]+ stack=plugin:lwipv6" "the listener accepting 10.68.0.3"

# Fail closed: no switch there; a program that states no license may not load GPL LWIPv6.
SOCKSHIFT_LICENSE= SOCKSHIFT_STACK="$LW" LD_PRELOAD=$LIB curl -s http://10.68.0.1:8080/ >/dev/null 2>"$TMP/lic.err"
expect_eq "exit status without a license" "$?" 125
grep -q "plug-in lwipv6 is licensed GPL-2.0-or-later" "$TMP/lic.err" || fail "message: $(cat "$TMP/lic.err")"
SOCKSHIFT_STACK="plugin:lwipv6,addr=10.68.0.5/24 vde://$TMP/nosw" LD_PRELOAD=$LIB curl -s http://10.68.0.1:8080/ \
	>/dev/null 2>"$TMP/nosw.err"
rc=$?
expect_eq "exit status without a switch" "$rc" 125
grep -q "could not make a stack on vde://$TMP/nosw" "$TMP/nosw.err" || fail "message: $(cat "$TMP/nosw.err")"
echo "ok: curl (poll), python3 selectors (epoll), socat (select) both ways on a user-space LWIPv6 stack"
