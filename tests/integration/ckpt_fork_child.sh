#!/bin/sh
# A pre-fork server: the children created by fork() (no exec) keep the listener and the
# connections, so each child gets its own checkpoint control thread, started at its first hooked
# call (not in the fork handler). A child has no control socket: `sockshift dump` signals it.
# Proves: an unmodified python3 pre-fork echo server under the shim; a client's connection lives
# in a child; `sockshift dump CHILD` saves it (1 connection, 1 listener) and it keeps echoing,
# with SOCKSHIFT_CONTROL=off and with the parent's control socket on (the child has none).
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need

cat >"$TMP/prefork.py" <<'PY'
import os, socket, sys
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(16)
pid = os.fork()
if pid == 0:
    while True:
        c, _ = ls.accept()
        while True:
            d = c.recv(4096)
            if not d: break
            c.sendall(d)
        c.close()
tmp = sys.argv[1] + ".tmp"
open(tmp, "w").write("%d %d\n" % (ls.getsockname()[1], pid)); os.rename(tmp, sys.argv[1])
os.waitpid(pid, 0)
PY

for how in signal socket; do
	rm -f "$TMP/info"
	if [ $how = signal ]; then set -- SOCKSHIFT_CONTROL=off; else set -- SOCKSHIFT_LOG=info; fi
	bg env "$@" SOCKSHIFT_IMAGES="$TMP/img-$how" "$SOCKSHIFT" run --log info \
		--log-file "$TMP/log-$how" -- "$PYTHON" "$TMP/prefork.py" "$TMP/info"
	P=${PIDS##* }
	i=0; while [ ! -s "$TMP/info" ]; do i=$((i + 1)); [ $i -gt 200 ] && fail "the server did not start"; sleep 0.05; done
	read -r port child <"$TMP/info"
	"$PYTHON" - "$port" "$SOCKSHIFT" "$child" >"$TMP/out-$how" 2>&1 <<'PY' || { cat "$TMP/out-$how" "$TMP/log-$how" >&2; fail "checkpoint of a fork child ($how)"; }
import socket, subprocess, sys
port, tool, child = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = socket.create_connection(("127.0.0.1", port), 5)
c.sendall(b"before"); assert c.recv(100) == b"before"
r = subprocess.run([tool, "dump", child, "--timeout", "20"], capture_output=True, text=True)
print(r.stdout, r.stderr)
assert r.returncode == 0, "dump failed"
assert "1 connections, 1 listeners" in r.stdout, "not 1 connection + 1 listener"
c.sendall(b"after"); assert c.recv(100) == b"after"
PY
	cat "$TMP/out-$how"
	kill "$child" "$P" 2>/dev/null
	wait "$P" 2>/dev/null
done
echo "ok: a fork child's connection is checkpointed by its signal"
