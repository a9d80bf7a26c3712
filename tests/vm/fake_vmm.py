# fake_vmm.py — a stand-in for the host side of a Firecracker / Cloud Hypervisor vsock
# device, for tests/integration/vsock_hybrid.sh. Pure AF_UNIX + loopback TCP.
#
#   fake_vmm.py serve UDS PORT=HOST:TCPPORT ... [greet=PORT] [slow=PORT]
#       Listens on UDS like the VMM. A host client sends "CONNECT <port>\n"; for a mapped
#       port (the "guest service", here a loopback TCP server) it answers "OK <n>\n" and
#       relays bytes both ways with half-close; for greet=PORT it answers "OK <n>\nWELCOME\n"
#       in ONE write (data following the OK line) and then echoes; slow=PORT does the same
#       after waiting 0.3 s (a guest slow to accept); any other port: it closes
#       without a word, as the VMMs do when no guest listener exists.
#   fake_vmm.py guest-connect UDS PORT REQUEST
#       What the VMM does for a guest connect to CID 2 port PORT: connects to UDS_PORT,
#       sends REQUEST, half-closes, prints the whole answer.
import os, socket, sys, threading, time

def relay(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def handle(c, n, maps, greet, slow):
    line = b""
    while not line.endswith(b"\n") and len(line) < 64:
        d = c.recv(1)
        if not d:
            c.close()
            return
        line += d
    parts = line.decode(errors="replace").split()
    if len(parts) != 2 or parts[0].upper() != "CONNECT" or not parts[1].isdigit():
        c.close()
        return
    port = int(parts[1])
    hp = (1 << 30) + n
    if port == greet or port == slow:
        if port == slow:
            time.sleep(0.3)
        c.sendall(b"OK %d\nWELCOME\n" % hp)
        relay(c, c)
        c.close()
        return
    if port not in maps:
        c.close()
        return
    try:
        g = socket.create_connection(maps[port])
    except OSError:
        c.close()
        return
    c.sendall(b"OK %d\n" % hp)
    t = threading.Thread(target=relay, args=(g, c))
    t.start()
    relay(c, g)
    t.join()
    c.close()
    g.close()

def serve(uds, args):
    maps, greet, slow = {}, -1, -1
    for a in args:
        k, v = a.split("=", 1)
        if k == "greet":
            greet = int(v)
        elif k == "slow":
            slow = int(v)
        else:
            h, p = v.rsplit(":", 1)
            maps[int(k)] = (h, int(p))
    try:
        os.unlink(uds)
    except FileNotFoundError:
        pass
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    l.bind(uds)
    l.listen(16)
    print("ready", flush=True)
    n = 0
    while True:
        c, _ = l.accept()
        n += 1
        threading.Thread(target=handle, args=(c, n, maps, greet, slow), daemon=True).start()

def guest_connect(uds, port, request):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect("%s_%s" % (uds, port))
    s.sendall(request.encode().decode("unicode_escape").encode())
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    sys.stdout.buffer.write(out)

if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3:])
    else:
        guest_connect(sys.argv[2], sys.argv[3], sys.argv[4])
