# libvdestack's helper process (one per vdestack/plug-in stack, a child of the program)
# must not outlive the program: after SIGKILL, after a normal exit, and across an exec
# (the exec'ing image ends its stacks first; the new image makes its own and can use it).
# An exec that passes a socket on the stack keeps the stack: the new image joins it and
# uses the inherited connection, and the helper still ends with the process. Helpers are
# found as the children of the program's pid, which this test started.
. tests/integration/lib.sh
need socat
need vde_plug
need "$PYTHON"
need_built

SW=$TMP/sw
vde_switch "$SW"
HELPERS_SEEN=""
stop_all() {
	for p in $PIDS $HELPERS_SEEN; do kill "$p" 2>/dev/null; done
}
trap 'stop_all; cleanup' EXIT INT TERM

# on ADDR LOG CMD...: CMD on its own vdestack stack with address ADDR/24.
on() {
	_a=$1 _l=$2; shift 2
	SOCKSHIFT_CONTROL=off SOCKSHIFT_STACK=vdestack:vde://$SW \
	SOCKSHIFT_NET="default vde0 up; default vde0 addr $_a/24" \
	LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l "$@"
}
# onx: the same in the background; $! is the program's own pid (exec, no subshell left).
onx() {
	_a=$1 _l=$2; shift 2
	(exec env SOCKSHIFT_CONTROL=off SOCKSHIFT_STACK=vdestack:vde://$SW \
		SOCKSHIFT_NET="default vde0 up; default vde0 addr $_a/24" \
		LD_PRELOAD=$LIB SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE=$_l "$@") &
	PIDS="$PIDS $!"
}
# gone PID...: every PID has ended (a zombie waiting for init counts) within 3 s.
gone() {
	for _p in "$@"; do
		i=0
		while [ -e "/proc/$_p" ] && ! grep -q '^State:.*Z' "/proc/$_p/status" 2>/dev/null; do
			i=$((i + 1)); [ $i -gt 30 ] && return 1
			sleep 0.1
		done
	done
}
kids() { cat /proc/"$1"/task/*/children 2>/dev/null; }

# An echo server on its own stack, for the programs below to reach.
onx 10.67.0.1 "$TMP/echo.log" socat TCP-LISTEN:7100,bind=10.67.0.1,reuseaddr,fork EXEC:cat
ECHO=$!
i=0
until on 10.67.0.9 "$TMP/probe.log" socat -u /dev/null TCP:10.67.0.1:7100 >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the echo server on the VDE network did not come up"
	sleep 0.2
done

# 1. SIGKILL: the helper dies with the program (it used to stay up to 10 s, holding the
#    program's fd table and so every socket of it).
onx 10.67.0.2 "$TMP/kill.log" "$PYTHON" -c 'import time; time.sleep(60)'
P=$!
i=0
while [ -z "$(kids $P)" ]; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the program under vdestack made no helper process"
	sleep 0.1
done
H=$(kids $P)
HELPERS_SEEN="$HELPERS_SEEN $H"
kill -9 $P
gone $H || fail "helper(s) $H of the SIGKILLed program $P are still running"
expect_log "$TMP/kill.log" "plug-in helper [0-9]+ started; it gets SIGKILL when this process dies" \
	"the helper started through the clone hook"

# 2. A normal exit.
H=$(on 10.67.0.3 "$TMP/exit.log" "$PYTHON" -c '
import os
print(open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read())') ||
	fail "the program under vdestack failed"
[ -n "$H" ] || fail "the program saw no helper of its own"
HELPERS_SEEN="$HELPERS_SEEN $H"
gone $H || fail "helper(s) $H are still running after their program exited"

# 3. exec, no socket passed on: the old image's helper is gone before the new image runs,
#    the new image makes its own stack and reaches the echo server through it.
CHECK='
import os, socket, sys
old = sys.argv[1].split()
alive = [p for p in old if os.path.exists(f"/proc/{p}")
         and "Z" not in open(f"/proc/{p}/status").read().split("State:")[1].split()[0]]
s = socket.create_connection(("10.67.0.1", 7100), 10)
s.sendall(b"after exec\n")
print("alive:" + ",".join(alive), s.recv(100).decode().strip())'
out=$(on 10.67.0.4 "$TMP/exec.log" "$PYTHON" -c '
import os, sys
me = os.getpid()
kids = open(f"/proc/{me}/task/{me}/children").read()
os.execv(sys.executable, [sys.executable, "-c", sys.argv[1], kids])' "$CHECK") ||
	fail "the exec'd program failed: $out"
expect_eq "exec'd image: old helpers alive, echo" "$out" "alive: after exec"
expect_log "$TMP/exec.log" "exec: stack vdestack:vde://$SW ended before exec" "the stack ended before exec"
expect_no_log "$TMP/exec.log" "joined the namespace" "the new image joining a stack that was ended"

# 4. exec passing a connection on the stack: the stack stays, the new image joins it and
#    uses the connection; when that image exits, the helper goes too.
USE='
import os, socket, sys
s = socket.socket(fileno=int(sys.argv[1]))
s.settimeout(10)   # the old image used a timeout: the fd is O_NONBLOCK
s.sendall(b"inherited\n")
print(s.recv(100).decode().strip())
print(open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().strip())'
out=$(on 10.67.0.5 "$TMP/keep.log" "$PYTHON" -c '
import os, socket, sys
s = socket.create_connection(("10.67.0.1", 7100), 10)
s.set_inheritable(True)
os.execv(sys.executable, [sys.executable, "-c", sys.argv[1], str(s.fileno())])' "$USE") ||
	fail "the exec'd program with an inherited connection failed: $out"
expect_eq "reply on the inherited connection" "$(echo "$out" | head -1)" "inherited"
H=$(echo "$out" | tail -1)
[ -n "$H" ] || fail "the exec'd image has no helper (the kept stack's)"
HELPERS_SEEN="$HELPERS_SEEN $H"
expect_log "$TMP/keep.log" "exec: stack vdestack:vde://$SW stays for 1 socket" "the stack kept for the socket"
expect_log "$TMP/keep.log" "joined the namespace of the same stack made by an earlier image" \
	"the new image joining the kept stack"
gone $H || fail "helper(s) $H are still running after the exec'd image exited"

kill $ECHO 2>/dev/null
echo "ok: plug-in helpers end on SIGKILL, exit and exec; a stack an exec'd image inherits a socket on is kept and joined"
