# pycriu (Debian's CRIU client library, /usr/bin/python3) against the control socket of an
# unmodified `python3 -m http.server` under the shim, in a private network namespace (so the
# exit-mode network lock goes away with it). Proves:
#  - VERSION (3.17.1), FEATURE_CHECK, CHECK, and keep_open chains on one connection;
#  - DUMP through use_sk with images_dir_fd resolved via /proc/<client>/fd: success,
#    dump{restored=false}, images crit decodes (the idle connection ESTABLISHED, the listener),
#    and the process goes on serving, its idle connection intact;
#  - refusals, each an error reply with cr_errno while the process keeps running: no
#    tcp_established with a live connection, an fd the client does not have, PRE_DUMP,
#    garbage, a truncated protobuf, a message over the 64 KiB cap, another user
#    (SO_PEERCRED), a directory the client cannot write (server and client as uid 65534);
#  - notify_scripts, answered by hand with pycriu's messages: pre-dump, network-lock,
#    post-dump, network-unlock in that order; while post-dump is unanswered the images are in
#    place and a request on a connection of the server gets no answer and no acknowledgement
#    (its Send-Q stays full), the answer comes after the acknowledgement (resume mode);
#    in exit mode a refused post-dump gets network-unlock, then an error reply (ECANCELED),
#    and the server keeps running and answers that connection;
#  - exit mode (leave_running=false): success reply, then the process ends with status 0.
if [ -z "$RPC_NETNS" ]; then
	unshare -n true 2>/dev/null || { echo "SKIP: cannot create a network namespace" >&2; exit 77; }
	RPC_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. tests/integration/lib.sh
[ -n "$RPC_KEEP" ] && trap - EXIT
need_built
/usr/bin/python3 -c 'import pycriu' 2>/dev/null || skip "pycriu is not installed (Debian package criu)"
need setpriv
ip link set lo up || fail "cannot bring lo up in the test's network namespace"
chmod 755 "$TMP"
PY=/usr/bin/python3
SOCK=$TMP/ctl.sock
mkdir -p "$TMP/www" "$TMP/img" "$TMP/img2" "$TMP/exitimg" "$TMP/nimg" "$TMP/nimg2"
echo hello >"$TMP/www/index.txt"

cat >"$TMP/drive.py" <<'PY'
import errno, fcntl, os, socket, struct, sys, termios, time
import pycriu
rpc = pycriu.rpc
CRIUExt = sys.modules["pycriu.criu"].CRIUExceptionExternal

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def raw(path, payloads):
    """Sends each payload as one message on one connection; returns the parsed replies."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    out = []
    for p in payloads:
        s.send(p)
        s.settimeout(10)
        try:
            n = len(s.recv(1, socket.MSG_TRUNC | socket.MSG_PEEK))
            if n == 0:
                out.append(None)
                break
            r = rpc.criu_resp()
            r.ParseFromString(s.recv(n))
            out.append(r)
        except socket.timeout:
            fail("no reply within 10 s")
    s.close()
    return out

def expect_err(what, resp, err, typ=None):
    if resp is None:
        fail(what + ": no reply")
    if not resp.HasField("success") or resp.success:
        fail(what + ": success=%s" % resp.success)
    if resp.cr_errno != err:
        fail(what + ": cr_errno %d (%s), expected %d" % (resp.cr_errno, resp.cr_errmsg, err))
    if typ is not None and resp.type != typ:
        fail(what + ": type %d, expected %d" % (resp.type, typ))
    if not resp.cr_errmsg:
        fail(what + ": no cr_errmsg")
    print("ok: %s -> %s" % (what, resp.cr_errmsg))

def client(path):
    c = pycriu.criu()
    c.use_sk(path)
    return c

def dump_err(what, path, err, **opts):
    c = client(path)
    for k, v in opts.items():
        setattr(c.opts, k, v)
    try:
        c.dump()
    except CRIUExt as e:
        if e.errno != err:
            fail("%s: errno %d, expected %d" % (what, e.errno, err))
        print("ok: %s refused (errno %d)" % (what, e.errno))
        return
    fail(what + ": the dump succeeded")

def outq(s):
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]

def read_all(s, what):
    s.settimeout(10)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    if not got.startswith(b"HTTP/1.0 200") or not got.endswith(b"hello\n"):
        fail("%s: the connection's answer: %r" % (what, got[:80]))

def notify_dump(path, port, img, leave_running, refuse):
    """DUMP with notify_scripts; checks the freeze at post-dump; returns (order, reply)."""
    probe = socket.create_connection(("127.0.0.1", port))
    time.sleep(0.3)
    d = rpc.criu_req(type=rpc.DUMP)
    d.opts.images_dir_fd = os.open(img, os.O_DIRECTORY)
    d.opts.leave_running = leave_running
    d.opts.tcp_established = True
    d.opts.notify_scripts = True
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.send(d.SerializeToString())
    order = []
    while True:
        s.settimeout(30)
        r = rpc.criu_resp()
        r.ParseFromString(s.recv(65536))
        if r.type != rpc.NOTIFY:
            break
        order.append(r.notify.script)
        if r.notify.script == "post-dump":
            if not os.path.exists(os.path.join(img, "files.img")):
                fail("post-dump: the images are not in place yet")
            probe.sendall(b"GET /index.txt HTTP/1.0\r\n\r\n")
            time.sleep(1)
            probe.setblocking(False)
            try:
                got = probe.recv(100)
                fail("post-dump: the server answered while frozen: %r" % got)
            except BlockingIOError:
                pass
            probe.setblocking(True)
            if outq(probe) == 0:
                fail("post-dump: the request was acknowledged while frozen")
            print("ok: post-dump: images in place, the connection frozen (Send-Q %d)" % outq(probe))
        ack = rpc.criu_req(type=rpc.NOTIFY, notify_success=not (refuse and r.notify.script == "post-dump"))
        s.send(ack.SerializeToString())
    read_all(probe, "after the dump")
    print("ok: the connection is answered after the acknowledgement")
    return order, r

def main(mode, path, *args):
    if mode == "main":
        port, img, img2 = int(args[0]), args[1], args[2]
        idle = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.3)
        c = client(path)
        v = c._send_req_and_recv_resp(rpc.criu_req(type=rpc.VERSION))
        if not (v.success and v.type == rpc.VERSION and v.version.major_number == 3 and
                v.version.minor_number == 17 and not v.version.HasField("gitid")):
            fail("VERSION: %s" % v)
        print("ok: VERSION %d.%d.%d" % (v.version.major_number, v.version.minor_number, v.version.sublevel))
        d = rpc.criu_req(type=rpc.DUMP)
        d.opts.images_dir_fd = os.open(img2, os.O_DIRECTORY)
        d.opts.leave_running = True
        d.opts.tcp_established = True
        r = raw(path, [rpc.criu_req(type=rpc.VERSION, keep_open=True).SerializeToString(),
                       rpc.criu_req(type=rpc.FEATURE_CHECK, keep_open=True,
                                    features=rpc.criu_features(mem_track=True)).SerializeToString(),
                       d.SerializeToString()])
        if [x.type for x in r] != [rpc.VERSION, rpc.FEATURE_CHECK, rpc.DUMP] or not all(x.success for x in r):
            fail("keep_open chain: %s" % r)
        if r[1].features.mem_track or not r[1].features.HasField("mem_track"):
            fail("FEATURE_CHECK: mem_track must be present and false")
        print("ok: VERSION{keep_open} + FEATURE_CHECK{keep_open} + DUMP on one connection")
        c.check()
        print("ok: CHECK")
        c = client(path)
        c.opts.images_dir_fd = os.open(img, os.O_DIRECTORY)
        c.opts.leave_running = True
        c.opts.tcp_established = True
        c.opts.log_file = "dump.log"
        res = c.dump()
        if res.restored:
            fail("DUMP: restored=true")
        print("ok: DUMP (resume mode) through images_dir_fd")
        dump_err("DUMP without tcp_established", path, errno.EBUSY,
                 images_dir_fd=os.open(img2, os.O_DIRECTORY), leave_running=True)
        dump_err("DUMP with an fd the client does not have", path, errno.ENOENT,
                 images_dir_fd=987, leave_running=True, tcp_established=True)
        dump_err("DUMP of another pid", path, errno.ESRCH, images_dir_fd=os.open(img2, os.O_DIRECTORY),
                 pid=1, leave_running=True, tcp_established=True)
        try:
            c = client(path)
            c.opts.images_dir_fd = os.open(img2, os.O_DIRECTORY)
            c.pre_dump()
            fail("PRE_DUMP succeeded")
        except CRIUExt as e:
            if e.errno != errno.EOPNOTSUPP:
                fail("PRE_DUMP: errno %d" % e.errno)
            print("ok: PRE_DUMP refused cleanly")
        expect_err("garbage bytes", raw(path, [b"\xff\xfe\xfd not a protobuf"])[0], errno.EBADMSG, rpc.EMPTY)
        expect_err("a truncated protobuf", raw(path, [d.SerializeToString()[:7]])[0], errno.EBADMSG)
        expect_err("a 70000-byte message", raw(path, [b"\x08" * 70000])[0], errno.EMSGSIZE, rpc.EMPTY)
        expect_err("an unknown request type", raw(path, [b"\x08\x4d"])[0], 56, rpc.EMPTY)
        expect_err("keep_open on DUMP", raw(path, [rpc.criu_req(type=rpc.DUMP, keep_open=True).SerializeToString()])[0], 56, rpc.DUMP)
        if raw(path, [b""])[0] is not None:
            fail("an empty message got a reply")
        print("ok: an empty message closes the connection quietly")
        idle.sendall(b"GET /index.txt HTTP/1.0\r\n\r\n")
        idle.settimeout(10)
        got = b""
        while True:
            b = idle.recv(65536)
            if not b:
                break
            got += b
        if not got.startswith(b"HTTP/1.0 200") or not got.endswith(b"hello\n"):
            fail("the idle connection no longer works after the dumps: %r" % got[:80])
        print("ok: the connection open across the dumps still serves")
    elif mode == "otheruser":
        r = raw(path, [rpc.criu_req(type=rpc.VERSION).SerializeToString()])[0]
        expect_err("a request from uid %d" % os.getuid(), r, errno.EPERM, rpc.VERSION)
    elif mode == "unwritable":
        dump_err("DUMP into a directory the client cannot write", path, errno.EACCES,
                 images_dir_fd=os.open(args[0], os.O_DIRECTORY), leave_running=True,
                 tcp_established=True)
    elif mode == "notify":
        order, r = notify_dump(path, int(args[0]), args[1], True, False)
        if order != ["pre-dump", "network-lock", "post-dump", "network-unlock"]:
            fail("notifications: %s" % order)
        if r.type != rpc.DUMP or not r.success:
            fail("DUMP with notify_scripts: %s" % r)
        print("ok: resume mode: %s, then success" % " ".join(order))
    elif mode == "exitrefuse":
        order, r = notify_dump(path, int(args[0]), args[1], False, True)
        if order != ["pre-dump", "network-lock", "post-dump", "network-unlock"]:
            fail("notifications: %s" % order)
        if r.type != rpc.DUMP or r.success or r.cr_errno != errno.ECANCELED or "post-dump" not in r.cr_errmsg:
            fail("exit-mode DUMP refused at post-dump: %s" % r)
        print("ok: exit mode refused at post-dump: %s, then %s" % (" ".join(order), r.cr_errmsg))
    elif mode == "exit":
        port, img = int(args[0]), args[1]
        idle = socket.create_connection(("127.0.0.1", port))
        time.sleep(0.3)
        c = client(path)
        c.opts.images_dir_fd = os.open(img, os.O_DIRECTORY)
        c.opts.tcp_established = True
        c.dump()
        print("ok: DUMP (exit mode) succeeded")

main(*sys.argv[1:])
PY
chmod 644 "$TMP/drive.py"

port=$(free_port)
export SOCKSHIFT_CONTROL="$SOCK"
bg shim_exec "$TMP/server.log" "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$port" \
	>"$TMP/server.out" 2>&1
server=$!
unset SOCKSHIFT_CONTROL
wait_port "$port"
[ -S "$SOCK" ] || fail "no control socket at $SOCK"
expect_eq "control socket mode" "$(stat -c %a "$SOCK")" 600

$PY "$TMP/drive.py" main "$SOCK" "$port" "$TMP/img" "$TMP/img2" || fail "pycriu checks failed"
kill -0 "$server" || fail "the server died"
crit decode --pretty -i "$TMP/img/files.img" >"$TMP/files.json" || fail "crit cannot decode files.img"
grep -q '"state": "ESTABLISHED"' "$TMP/files.json" || fail "files.img has no ESTABLISHED socket"
grep -q '"state": "LISTEN"' "$TMP/files.json" || fail "files.img has no listener"
for f in "$TMP"/img/tcp-stream-*.img; do
	crit decode -i "$f" >/dev/null || fail "crit cannot decode $(basename "$f")"
done
[ -s "$TMP/img/dump.log" ] || fail "log_file dump.log was not written in the images directory"
echo "ok: crit decodes the images; log_file written"

# another user reaches the socket (mode opened up for the test) and is refused by SO_PEERCRED
chmod 666 "$SOCK"
setpriv --reuid=65534 --regid=65534 --clear-groups $PY "$TMP/drive.py" otheruser "$SOCK" ||
	fail "another user's request"
chmod 600 "$SOCK"

# a server and a client of uid 65534; the images directory belongs to root
mkdir -p "$TMP/nobody" "$TMP/rootonly"
chown 65534:65534 "$TMP/nobody"
chmod 755 "$TMP/rootonly"
port2=$(free_port)
export SOCKSHIFT_CONTROL="$TMP/nobody/ctl.sock"
bg setpriv --reuid=65534 --regid=65534 --clear-groups "$SOCKSHIFT" run --log-file "$TMP/nobody/server.log" -- \
	"$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$port2" >"$TMP/server2.out" 2>&1
server2=$!
unset SOCKSHIFT_CONTROL
wait_port "$port2"
setpriv --reuid=65534 --regid=65534 --clear-groups $PY "$TMP/drive.py" unwritable "$TMP/nobody/ctl.sock" \
	"$TMP/rootonly" || fail "an unwritable images directory"
kill "$server2"
wait "$server2" 2>/dev/null
# killed by a signal, it left its socket link at the default place: ps removes stale ones
setpriv --reuid=65534 --regid=65534 --clear-groups "$SOCKSHIFT" ps >/dev/null 2>&1

# notifications at their moments, the freeze held at post-dump
$PY "$TMP/drive.py" notify "$SOCK" "$port" "$TMP/nimg" || fail "DUMP with notify_scripts"
$PY "$TMP/drive.py" exitrefuse "$SOCK" "$port" "$TMP/nimg2" || fail "exit-mode DUMP refused at post-dump"
kill -0 "$server" || fail "the server ended after an exit-mode dump refused at post-dump"

# exit mode last: the server hands over and ends
$PY "$TMP/drive.py" exit "$SOCK" "$port" "$TMP/exitimg" || fail "exit-mode dump"
i=0
while kill -0 "$server" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the server still runs 5 s after an exit-mode dump"
	sleep 0.1
done
wait "$server"
expect_eq "exit status after the hand-over" "$?" 0
crit decode --pretty -i "$TMP/exitimg/files.img" >"$TMP/exit.json" || fail "crit cannot decode the exit-mode files.img"
grep -q '"state": "ESTABLISHED"' "$TMP/exit.json" ||
	fail "the exit-mode images have no ESTABLISHED socket"
[ ! -e "$SOCK" ] || fail "the control socket was not removed when the process ended"
echo "ok: exit mode: success reply, status 0, images complete"
