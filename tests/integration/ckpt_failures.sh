#!/bin/sh
# Failure injection: checkpoints into an unusable directory (a regular file), into a full
# tmpfs in exit mode (ENOSPC while the sockets are frozen), and while peers reset their
# connections. Each failed checkpoint reports the error, the program keeps running with its
# sockets intact, and the streaming client sees no error and no lost byte.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need

ckpt_server epoll SOCKSHIFT_IMAGES="$TMP/img"
bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" 8 "$TMP/stop" 60 >"$TMP/client.out"
CLI_PID=${PIDS##* }
sleep 0.3

# 1. the images "directory" is a regular file
: >"$TMP/notadir"
"$SOCKSHIFT" dump "$SRV_PID" --images "$TMP/notadir" >"$TMP/d1.out" 2>&1 && fail "a checkpoint into a file succeeded"
grep -q "failed" "$TMP/d1.out" || { cat "$TMP/d1.out" >&2; fail "no clear error for an unusable directory"; }
kill -0 "$SRV_PID" || fail "the server died after a failed checkpoint"

# 2. a full disk in exit mode: the process must not exit, its sockets come back
mkdir "$TMP/small"
if mount -t tmpfs -o size=16k tmpfs "$TMP/small" 2>/dev/null; then
	dd if=/dev/zero of="$TMP/small/fill" bs=4k count=8 2>/dev/null
	"$SOCKSHIFT" dump "$SRV_PID" --exit --images "$TMP/small/img" >"$TMP/d2.out" 2>&1
	rc=$?
	umount "$TMP/small"
	[ $rc != 0 ] || fail "a hand-over checkpoint into a full tmpfs succeeded"
	grep -qi "space\|ENOSPC" "$TMP/d2.out" || { cat "$TMP/d2.out" >&2; fail "the error does not say the disk is full"; }
	sleep 0.2
	kill -0 "$SRV_PID" || fail "the server exited although its hand-over checkpoint failed"
else
	echo "note: cannot mount a tmpfs here; disk-full case not run"
fi

# 3. peers resetting (SO_LINGER 0) their connections while checkpoints run
cat >"$TMP/resetter.py" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1]); t0 = time.time()
while time.time() - t0 < 2.5:
    c = socket.create_connection(("127.0.0.1", port)); c.sendall(b"z" * 20000)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()
PY
bg "$PYTHON" "$TMP/resetter.py" "$SRV_PORT"
RST_PID=${PIDS##* }
ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	"$SOCKSHIFT" dump "$SRV_PID" --timeout 10 >"$TMP/d3.out" 2>&1 && ok=$((ok + 1))
	sleep 0.1
done
wait "$RST_PID"
[ $ok -ge 8 ] || { cat "$TMP/d3.out" >&2; fail "only $ok of 10 checkpoints succeeded while peers reset"; }
touch "$TMP/stop"
wait "$CLI_PID" || { cat "$TMP/client.out" >&2; fail "the client saw errors or lost bytes"; }
kill -0 "$SRV_PID" || fail "the server died"
"$SOCKSHIFT" unlock --list | grep "sockshift_${SRV_PID}_" && fail "a network lock was left behind"
echo "ok: failures reported, server alive, $ok/10 checkpoints during resets, $(cat "$TMP/client.out")"
