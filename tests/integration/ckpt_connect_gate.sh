#!/bin/sh
# connect() passes the checkpoint gate: a python3 client under sockshift opens, uses and
# closes connections to a plain python3 echo server in a tight loop (two threads) while
# 15 resume-mode checkpoints run. A connect that comes while the sockets are frozen waits at
# the gate; this proves that the wait never turns into an error or a hang: every connect
# succeeds, every echo is exact, every checkpoint succeeds.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need

cat >"$TMP/echo_plain.py" <<'PY'
import os, socket, sys, threading
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0)); ls.listen(512)
open(sys.argv[1] + ".tmp", "w").write(str(ls.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def serve(c):
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
cat >"$TMP/connector.py" <<'PY'
import os, socket, sys, threading
port, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
counts, errors = [0, 0], []
def loop(k):
    n = 0
    while not os.path.exists(stop):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            msg = os.urandom(4096)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = s.recv(65536)
                if not b:
                    raise EOFError("EOF after %d bytes" % len(got))
                got += b
            if got != msg:
                raise ValueError("echo differs")
            s.close()
            n += 1
        except Exception as e:
            errors.append(repr(e))
            if len(errors) > 20:
                break
    counts[k] = n
ts = [threading.Thread(target=loop, args=(k,)) for k in (0, 1)]
open(out + ".ready", "w").close()
for t in ts: t.start()
for t in ts: t.join()
open(out, "w").write("connections=%d errors=%d %s\n" % (sum(counts), len(errors), errors[:3]))
PY
bg "$PYTHON" "$TMP/echo_plain.py" "$TMP/eport"
ckpt_wait_file "$TMP/eport" "the echo server did not start"
bg env SOCKSHIFT_IMAGES="$TMP/img" "$SOCKSHIFT" run --log info --log-file "$TMP/c.log" -- \
	"$PYTHON" "$TMP/connector.py" "$(cat "$TMP/eport")" "$TMP/stop" "$TMP/result"
CPID=${PIDS##* }
ckpt_wait_file "$TMP/result.ready" "the connector did not start"
sleep 0.3
i=1
while [ $i -le 15 ]; do
	"$SOCKSHIFT" dump "$CPID" --timeout 10 >"$TMP/dump.out" 2>&1 || {
		cat "$TMP/dump.out" >&2; tail -20 "$TMP/c.log" >&2; fail "checkpoint $i failed"; }
	sleep 0.1
	i=$((i + 1))
done
tail -2 "$TMP/dump.out"
touch "$TMP/stop"
ckpt_wait_file "$TMP/result" "the connector did not finish"
cat "$TMP/result"
grep -q "errors=0 " "$TMP/result" || fail "connections failed around the checkpoints: $(cat "$TMP/result")"
n=$(sed -n 's/^connections=\([0-9]*\) .*/\1/p' "$TMP/result")
[ "${n:-0}" -gt 100 ] || fail "too few connections were made ($n): the loop did not run"
echo "ok: $n connections made and checked across 15 checkpoints, no error"
