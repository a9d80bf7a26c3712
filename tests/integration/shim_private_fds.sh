#!/bin/sh
# sockshift's own threads (the checkpoint control thread, the control-socket server) run on
# private fd tables (core/progfd.h): the program's table is unshared again, which keeps the
# kernel's fast fd lookups (docs/benchmarks.md), and they hold none of the program's files.
# Proves:
#  1. in a running program, the threads sockshift-ctl and sockshift-rpc hold only /dev/null,
#     pidfds and (rpc) the control socket, and the control socket is not in the program's table;
#  2. a program that closes its stdout gives the reader EOF at once, not when it exits;
#  3. those threads still log (to SOCKSHIFT_LOG_FILE, and to stderr): a checkpoint by signal;
#  4. (root + nftables) a program whose main thread has exited (pthread_exit) is checkpointed
#     over its control socket: its connection is saved and keeps echoing.
. tests/integration/lib.sh
need_built leader_exit

# 1. what each thread holds
bg "$SOCKSHIFT" run --log info --log-file "$TMP/log1" -- "$PYTHON" -c '
import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
open("'"$TMP/ready1"'", "w").close(); time.sleep(30)'
P=${PIDS##* }
i=0; while [ ! -e "$TMP/ready1" ]; do i=$((i + 1)); [ $i -gt 200 ] && fail "python3 did not start"; sleep 0.05; done
ctl="" rpc=""
for t in /proc/$P/task/*; do
	case "$(cat "$t/comm")" in
	sockshift-ctl) ctl=$t ;;
	sockshift-rpc) rpc=$t ;;
	esac
done
[ -n "$ctl" ] && [ -n "$rpc" ] || fail "the threads sockshift-ctl and sockshift-rpc were not found"
for t in "$ctl" "$rpc"; do
	for f in "$t"/fd/*; do
		l=$(readlink "$f") || continue
		case "$l" in
		/dev/null|anon_inode:\[pidfd\]) ;;
		socket:*) [ "$t" = "$rpc" ] || fail "$(cat "$t/comm") holds a socket: $l" ;;
		*) fail "$(cat "$t/comm") holds a file of the program: $f -> $l" ;;
		esac
	done
done
csock=$(for f in "$rpc"/fd/*; do readlink "$f"; done | grep '^socket:' | head -1)
[ -n "$csock" ] || fail "the control thread has no listening socket"
for f in /proc/$P/fd/*; do
	[ "$(readlink "$f")" = "$csock" ] && fail "the control socket $csock is in the program's fd table ($f)"
done
kill "$P"

# 2. EOF on the program's stdout as soon as it closes it (3 s before it exits)
t0=$(date +%s%N)
out=$("$SOCKSHIFT" run -- "$PYTHON" -c '
import os, sys, time
sys.stdout.write("hello\n"); sys.stdout.flush(); os.close(1); time.sleep(3)' | {
	read -r line; cat >/dev/null; echo "$line $(date +%s%N)"; })
expect_eq "program output" "${out% *}" "hello"
ms=$(( (${out##* } - t0) / 1000000 ))
[ "$ms" -lt 2000 ] || fail "the reader saw EOF only after $ms ms: a sockshift thread kept the pipe open"

# 3. logging from the control thread, to the log file and to stderr (SIGPWR: a checkpoint
# of a program with no sockets writes its images and logs from the control thread)
for sink in file stderr; do
	rm -f "$TMP/ready3" "$TMP/log3" "$TMP/err3"
	if [ $sink = file ]; then set -- --log-file "$TMP/log3"; else set --; fi
	bg env SOCKSHIFT_IMAGES="$TMP/img3" "$SOCKSHIFT" run --log info "$@" -- "$PYTHON" -c '
import time; open("'"$TMP/ready3"'", "w").close(); time.sleep(30)' 2>"$TMP/err3"
	P=${PIDS##* }
	i=0; while [ ! -e "$TMP/ready3" ]; do i=$((i + 1)); [ $i -gt 200 ] && fail "python3 did not start"; sleep 0.05; done
	kill -PWR "$P"
	L=$TMP/log3; [ $sink = stderr ] && L=$TMP/err3
	i=0; while ! grep -q "checkpoint 1: 0 connections" "$L" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { cat "$L" >&2; fail "no log line from the control thread ($sink)"; }
		sleep 0.05
	done
	kill "$P"
done

# 4. a checkpoint after the main thread has exited
if [ "$(id -u)" != 0 ] || ! "$SOCKSHIFT" unlock --list >/dev/null 2>&1; then
	echo "ok: private fd tables, EOF, logging (checkpoint after pthread_exit in main skipped: needs root and nftables)"
	exit 0
fi
bg "$SOCKSHIFT" run --log info --log-file "$TMP/log4" -- "$HELPERS/leader_exit" "$TMP/port4"
P=${PIDS##* }
i=0; while [ ! -s "$TMP/port4" ]; do i=$((i + 1)); [ $i -gt 200 ] && fail "leader_exit did not start"; sleep 0.05; done
# the port file comes just before pthread_exit: give the main thread a moment to end
i=0; while ! grep -q '^State:.*Z' /proc/$P/status; do
	i=$((i + 1)); [ $i -gt 100 ] && fail "the main thread of leader_exit did not exit"; sleep 0.05; done
"$PYTHON" - "$(cat "$TMP/port4")" "$SOCKSHIFT" "$P" "$TMP/img4" >"$TMP/out4" 2>&1 <<'PY' || { cat "$TMP/out4" "$TMP/log4" >&2; fail "checkpoint after pthread_exit in main"; }
import socket, subprocess, sys
port, tool, pid, img = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = socket.create_connection(("127.0.0.1", port), 5)
c.sendall(b"before"); assert c.recv(100) == b"before"
r = subprocess.run([tool, "dump", pid, "--images", img, "--timeout", "20"], capture_output=True, text=True)
print(r.stdout, r.stderr)
assert r.returncode == 0, "dump failed"
assert "1 connections, 1 listeners" in r.stdout, "not 1 connection + 1 listener"
c.sendall(b"after"); assert c.recv(100) == b"after"
print("echo ok after the checkpoint")
PY
echo "ok: private fd tables, EOF, logging, checkpoint after pthread_exit in main"
