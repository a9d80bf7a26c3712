# Libraries loaded later with dlopen: a library named in SOCKSHIFT_PATCH_LIBS is patched
# when it is loaded, while the program already runs threads; one not named there is not,
# and its own raw syscall instructions bypass sockshift (the documented gap).
# The library is built here: raw_socket() issues socket(AF_INET, SOCK_DGRAM) with an
# inline `syscall` instruction, never through libc. python3 loads it with ctypes after
# starting 4 busy threads that make socket calls through libc the whole time.
. tests/integration/lib.sh
need cc
need "$PYTHON"
need_built

cat >"$TMP/rawsock.c" <<'C'
long raw_socket(void)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(41L), "D"(2L), "S"(2L), "d"(0L) : "rcx", "r11", "memory");
	return r;
}
long raw_getppid(void)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(110L) : "rcx", "r11", "memory");
	return r;
}
C
cc -O2 -shared -fPIC -o "$TMP/libssrawsock.so" "$TMP/rawsock.c" || fail "cannot build the test library"

cat >"$TMP/load.py" <<PY
import ctypes, os, socket, sys, threading
stop = False
def busy():
    while not stop:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
ts = [threading.Thread(target=busy) for _ in range(4)]
[t.start() for t in ts]
lib = ctypes.CDLL("$TMP/libssrawsock.so")
fd = lib.raw_socket()
ok = fd >= 0 and lib.raw_getppid() == os.getppid()
stop = True
[t.join() for t in ts]
print("fd", fd, "ok" if ok else "bad")
sys.exit(0 if ok else 1)
PY

run() { _l=$1; shift; env LD_PRELOAD="$LIB" SOCKSHIFT_LOG=debug SOCKSHIFT_LOG_FILE="$_l" "$@"; }

# 1. Named: patched at dlopen time, with threads running; the raw socket goes through core.
out=$(SOCKSHIFT_PATCH_LIBS=libssrawsock run "$TMP/named.log" "$PYTHON" "$TMP/load.py") ||
	fail "the dlopen'ed, patched library misbehaved: $out"
fd=$(echo "$out" | awk '{print $2}')
# raw_getppid's site loads a constant non-socket number: left as it is (nothing to route).
expect_log "$TMP/named.log" "patch: dlopen .*libssrawsock.so: 2 syscall sites: 1 patched, 1 with a constant" "patching at dlopen"
expect_log "$TMP/named.log" "socket inet/dgram/0 stack=kernel -> $fd\$" "the raw socket() of the dlopen'ed library"

# 2. Not named: the library is not patched, its raw socket() is not seen (the gap).
out=$(run "$TMP/unnamed.log" "$PYTHON" "$TMP/load.py") || fail "unpatched library misbehaved: $out"
fd=$(echo "$out" | awk '{print $2}')
expect_no_log "$TMP/unnamed.log" "socket inet/dgram/0 stack=kernel -> $fd\$" "a raw socket() in a library not named"
expect_log "$TMP/unnamed.log" "socket inet/stream/0 stack=kernel -> [0-9]+" "the threads' libc socket calls"
echo "ok: a named dlopen'ed library is patched while threads run; an unnamed one is the documented gap"
