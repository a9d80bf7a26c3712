#!/bin/sh
# Checkpoints of a server that sends with sendfile(2): an unmodified python3 server (under the
# shim) streams a 1 MiB random file REPS times through each of NCONN connections with
# os.sendfile, one thread per connection, while the test checkpoints it (resume mode) over and
# over. sendfile on a socket passes the checkpoint gate like send(): the plain python3 client
# receives every connection's stream intact (length and SHA-256 against the file repeated),
# and every checkpoint succeeds.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need
NCONN=4 REPS=${REPS:-64} NDUMPS=${NDUMPS:-20}

head -c 1048576 /dev/urandom >"$TMP/blob"
cat >"$TMP/sf_server.py" <<'PY'
import os, socket, sys, threading
port, portfile, blob, reps = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
size = os.path.getsize(blob)
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen(16)
tmp = portfile + ".tmp"; open(tmp, "w").write(str(ls.getsockname()[1])); os.rename(tmp, portfile)
def serve(c):
    fd = os.open(blob, os.O_RDONLY)
    for _ in range(reps):
        off = 0
        while off < size:
            off += os.sendfile(c.fileno(), fd, off, min(65536, size - off))
    os.close(fd); c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
cat >"$TMP/sf_client.py" <<'PY'
# sf_client.py PORT NCONN BLOB REPS: reads every stream to EOF (throttled, so the transfer
# spans the checkpoints), checks length and SHA-256. Prints "ok BYTES" or "FAIL ..."
import hashlib, socket, sys, threading, time
port, n, blob, reps = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
data = open(blob, "rb").read(); h = hashlib.sha256()
for _ in range(reps): h.update(data)
want = h.hexdigest(); errors = []; total = [0]
def run(i):
    c = socket.create_connection(("127.0.0.1", port)); hh = hashlib.sha256(); got = 0
    try:
        while True:
            d = c.recv(65536)
            if not d: break
            hh.update(d); got += len(d); time.sleep(0.004)
    except OSError as e:
        errors.append("conn %d: %r after %d bytes" % (i, e, got)); return
    total[0] += got
    if got != len(data) * reps or hh.hexdigest() != want:
        errors.append("conn %d: %d bytes of %d, hash %s" % (i, got, len(data) * reps,
                      "ok" if hh.hexdigest() == want else "differs"))
ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
if errors: print("FAIL", errors); sys.exit(1)
print("ok %d" % total[0])
PY

PORT=$(free_port)
rm -f "$TMP/port"
bg "$SOCKSHIFT" run --log info --log-file "$TMP/server.log" -- \
	"$PYTHON" "$TMP/sf_server.py" "$PORT" "$TMP/port" "$TMP/blob" "$REPS"
SRV_PID=${PIDS##* }
i=0
while [ ! -s "$TMP/port" ]; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$TMP/server.log" >&2; fail "the server did not start"; }
	sleep 0.05
done
bg "$PYTHON" "$TMP/sf_client.py" "$PORT" "$NCONN" "$TMP/blob" "$REPS" >"$TMP/client.out"
CLI=${PIDS##* }
sleep 0.3
ok=0 n=0
while [ $n -lt "$NDUMPS" ] && kill -0 "$CLI" 2>/dev/null; do
	n=$((n + 1))
	"$SOCKSHIFT" dump "$SRV_PID" --images "$TMP/img" --timeout 10 >"$TMP/dump.out" 2>&1 &&
		ok=$((ok + 1)) || cat "$TMP/dump.out" >&2
	sleep 0.05
done
wait "$CLI" || { cat "$TMP/client.out" >&2; tail "$TMP/server.log" >&2; fail "a sendfile stream was damaged by the checkpoints"; }
[ $n -ge 10 ] || fail "only $n checkpoints ran during the transfer (make it longer: REPS)"
[ $ok = $n ] || fail "$ok of $n checkpoints succeeded"
grep -q "conn\|connections" "$TMP/dump.out" || true
"$SOCKSHIFT" unlock --list | grep "sockshift_${SRV_PID}_" && fail "a network lock was left behind"
echo "ok: $n checkpoints during sendfile streams, all succeeded; client: $(cat "$TMP/client.out")"
