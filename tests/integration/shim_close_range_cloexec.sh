#!/bin/sh
# close_range(first, last, CLOSE_RANGE_CLOEXEC) marks the shim's records of those sockets
# close-on-exec, as the kernel marks the fds: an exec'd child is not told (SOCKSHIFT_FDS)
# about sockets it does not have.
# Proves: python3 makes two inheritable UDP sockets, marks the first one close-on-exec with
# close_range (through the interposed symbol, as C programs call it) and execs a python3 child
# under the shim: the child's SOCKSHIFT_FDS lists the second socket and not the first.
# And ioctl(FIOCLEX/FIONCLEX) (os.set_inheritable) is seen the same way.
. tests/integration/lib.sh
need_built

# check HOW MARK: runs python3 code MARK under the shim; MARK makes sockets a and b inheritable,
# then marks a close-on-exec by HOW; an exec'd child must be told about b only.
check() {
	"$SOCKSHIFT" run -- "$PYTHON" -c '
import ctypes, fcntl, os, socket, sys
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
'"$2"'
print(a.fileno(), b.fileno(), flush=True)
os.execv(sys.executable, [sys.executable, "-c",
         "import os; print(os.environ.get(\"SOCKSHIFT_FDS\", \"\"))"])
' >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err" >&2; fail "$1: the program failed under the shim"; }
	set -- "$1" $(head -1 "$TMP/out")
	fds=$(sed -n 2p "$TMP/out")
	echo "sockets $2 ($1) and $3; child's SOCKSHIFT_FDS: $fds"
	case "$fds" in *";$3,"*) ;; *) fail "$1: the child was not told about the inheritable socket $3" ;; esac
	case "$fds" in *";$2,"*) fail "$1: the child was told about socket $2, marked close-on-exec" ;; esac
	echo "ok: $1 keeps the fd table in step"
}

check "close_range(CLOSE_RANGE_CLOEXEC)" '
for s in (a, b):
    fcntl.fcntl(s.fileno(), fcntl.F_SETFD, 0)
libc = ctypes.CDLL(None, use_errno=True)   # the global scope: the shim interposes here
if libc.close_range(a.fileno(), a.fileno(), 4) != 0:   # 4: CLOSE_RANGE_CLOEXEC
    sys.exit("close_range: errno %d" % ctypes.get_errno())'

# os.set_inheritable() uses ioctl FIONCLEX/FIOCLEX on Linux
check "ioctl(FIOCLEX/FIONCLEX)" '
os.set_inheritable(a.fileno(), True)
os.set_inheritable(b.fileno(), True)
os.set_inheritable(a.fileno(), False)'
