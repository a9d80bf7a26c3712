# guest_check.py — runs inside the emulated guest under the sockshift shim with
# SOCKSHIFT_STACK=vsock, as an ordinary AF_INET TCP program. Prints one line per check:
#   CHECK <name> ok | CHECK <name> FAIL <detail>
# Expects (started by tests/vm/init): a native `socat VSOCK-LISTEN:7001,fork EXEC:cat` echo
# and rules  SOCKSHIFT_VSOCK_CONNECT=127.0.0.1=host  SOCKSHIFT_VSOCK_LISTEN="*:9100, *:9101".
import errno, hashlib, os, select, socket, subprocess, sys, threading, time

def check(name, cond, detail=""):
    print("CHECK %s %s%s" % (name, "ok" if cond else "FAIL", "" if cond else " " + str(detail)), flush=True)

def native_env():
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("SOCKSHIFT_")}

def run(name, fn):
    try:
        fn()
    except Exception as e:
        check(name, False, repr(e))

def t_identity():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    check("so_domain", s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET)
    check("so_protocol", s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL) == socket.IPPROTO_TCP)
    check("so_type", s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 30)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    check("tcp_nodelay_readback", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1)
    check("tcp_keepidle_readback", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30)
    check("ip_tos_readback", s.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) == 0x10)
    check("so_keepalive_native", s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1)
    s.close()

def t_echo():
    blob = os.urandom(1 << 20)
    s = socket.create_connection(("127.0.0.1", 7001), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    check("peername", s.getpeername() == ("127.0.0.1", 7001), s.getpeername())
    check("sockname_loopback", s.getsockname()[0] == "127.0.0.1", s.getsockname())
    got = bytearray()
    def reader():
        while True:
            d = s.recv(65536)
            if not d:
                break
            got.extend(d)
    t = threading.Thread(target=reader)
    t.start()
    s.sendall(blob)
    s.shutdown(socket.SHUT_WR)            # half-close: the echo still comes back
    t.join(30)
    check("echo_1MiB_byte_for_byte", bytes(got) == blob, "got %d bytes" % len(got))
    s.close()

def t_refused():
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", 7999))
        check("refused_blocking", False, "connected")
    except ConnectionRefusedError:
        check("refused_blocking", True)
    except OSError as e:
        check("refused_blocking", False, e)
    s.close()
    s = socket.socket()
    s.setblocking(False)
    r = s.connect_ex(("127.0.0.1", 7999))
    if r == errno.EINPROGRESS:
        select.select([], [s], [], 5)
        r = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    check("refused_nonblocking_so_error", r == errno.ECONNREFUSED, errno.errorcode.get(r, r))
    s.close()

def t_nonblocking_ok():
    s = socket.socket()
    s.setblocking(False)
    r = s.connect_ex(("127.0.0.1", 7001))
    check("nonblocking_einprogress", r in (errno.EINPROGRESS, 0), errno.errorcode.get(r, r))
    _, w, _ = select.select([], [s], [], 5)
    check("nonblocking_writable", bool(w))
    check("nonblocking_so_error_0", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
    check("nonblocking_peername", s.getpeername() == ("127.0.0.1", 7001), s.getpeername())
    r = s.connect_ex(("127.0.0.1", 7001))
    check("nonblocking_eisconn", r == errno.EISCONN, errno.errorcode.get(r, r))
    s.close()

def t_unmapped():
    s = socket.socket()
    try:
        s.connect(("10.9.9.9", 80))
        check("unmapped_unreachable", False, "connected")
    except OSError as e:
        check("unmapped_unreachable", e.errno == errno.ENETUNREACH, e)
    s.close()
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", 12345))
        check("unmapped_bind", False, "bound")
    except OSError as e:
        check("unmapped_bind", e.errno == errno.EADDRNOTAVAIL, e)
    s.close()
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        check("udp_refused", False, "created")
    except OSError as e:
        check("udp_refused", e.errno == errno.EPROTONOSUPPORT, e)

def t_server():
    # AF_INET listener (vsock port 9100) fed by a native AF_VSOCK socat; then one that
    # sends to a native reader (9101). Both checked byte for byte.
    blob = os.urandom(1 << 20)
    with open("/tmp/blob", "wb") as f:
        f.write(blob)
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", 9100))
    l.listen(4)
    check("listener_sockname", l.getsockname() == ("0.0.0.0", 9100), l.getsockname())
    p = subprocess.Popen(["socat", "-u", "FILE:/tmp/blob", "VSOCK-CONNECT:1:9100"], env=native_env())
    c, peer = l.accept()
    check("accept_peer_is_af_inet", peer[0] == "127.0.0.1" and 0 < peer[1] < 65536, peer)
    check("accepted_sockname", c.getsockname() == ("127.0.0.1", 9100), c.getsockname())
    check("accepted_so_domain", c.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET)
    got = bytearray()
    while True:
        d = c.recv(65536)
        if not d:
            break
        got.extend(d)
    p.wait(20)
    check("server_receive_1MiB_byte_for_byte", bytes(got) == blob, "got %d" % len(got))
    c.close()
    l.close()
    l = socket.socket()
    l.bind(("0.0.0.0", 9101))
    l.listen(1)
    p = subprocess.Popen(["socat", "-u", "VSOCK-CONNECT:1:9101", "CREATE:/tmp/got"], env=native_env())
    c, _ = l.accept()
    c.sendall(blob)
    c.shutdown(socket.SHUT_WR)
    p.wait(20)
    c.close()
    with open("/tmp/got", "rb") as f:
        check("server_send_1MiB_byte_for_byte", f.read() == blob)
    l.close()

for name, fn in (("identity", t_identity), ("echo", t_echo), ("refused", t_refused),
                 ("nonblocking", t_nonblocking_ok), ("unmapped", t_unmapped),
                 ("server", t_server)):
    if len(sys.argv) > 1 and name not in sys.argv[1:]:
        continue
    run(name, fn)
print("GUEST-CHECK-DONE", flush=True)
