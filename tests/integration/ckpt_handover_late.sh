#!/bin/sh
# Hand-over of connections the program accepts while the checkpoint begins (between the
# fd-table snapshot and the freeze): an unmodified python3 server that never sleeps (so the
# hand-over's idle wait runs its full 2 s) accepts nothing until PORTFILE.go exists, and NCONN
# clients (plain python3) stream into its accept queue. `sockshift dump --exit` starts; once
# its network lock exists (it follows the first snapshot) the test lets the server accept them
# all (it reads nothing). The second snapshot after the freeze finds them: locked and saved
# with their fds; the new instance (the epoll echo server) gets them from accept() and echoes
# everything: the clients see no reset and every byte comes back (SHA-256 per connection).
# Without the second snapshot the exit closes them (RST: unread data).
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need
NCONN=${NCONN:-10}

cat >"$TMP/busy.py" <<'PY'
import os, socket, sys
port, portfile = int(sys.argv[2]), sys.argv[3]   # argv[1]: the kind (unused)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port)); ls.listen(1024); ls.setblocking(False)
tmp = portfile + ".tmp"; open(tmp, "w").write(str(ls.getsockname()[1])); os.rename(tmp, portfile)
keep = []
while True:     # never asleep in a system call for long: the idle wait lasts its 2 s
    if os.path.exists(portfile + ".go"):
        try:
            while True: keep.append(ls.accept()[0])
        except BlockingIOError: pass
PY

PORT=$(free_port)
CKPT_PY=$TMP/busy.py ckpt_server busy SOCKSHIFT_IMAGES="$TMP/img"
OLD=$SRV_PID
bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" "$NCONN" "$TMP/stop" 60 >"$TMP/client.out"
CLI_PID=${PIDS##* }
sleep 1
# the go file appears once the lock exists: after the first snapshot, before the freeze
(i=0; while [ $i -lt 400 ]; do
	"$SOCKSHIFT" unlock --list 2>/dev/null | grep -q "sockshift_${OLD}_" && break
	i=$((i + 1)); sleep 0.005
done; touch "$TMP/port.go") &
GO_PID=$!
ckpt_handover "$OLD"
wait "$GO_PID"
grep -q "$NCONN connections, 1 listeners" "$TMP/dump.out" || fail "the accepted connections were not saved"
grep -q "0 taken from listeners' accept queues, $NCONN found by the second snapshot" "$TMP/dump.out" ||
	fail "the connections were not found by the second snapshot (accepted too early or too late?)"
CKPT_PY= ckpt_restored epoll
ckpt_clients_verified "$OLD"
echo "ok: $NCONN connections accepted during the checkpoint's start handed over, $(cat "$TMP/client.out")"
