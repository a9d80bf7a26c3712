#!/bin/sh
# Hand-over with new clients arriving throughout: an unmodified python3 echo server (epoll)
# is checkpointed in exit mode (`sockshift dump --exit`) and a new instance restores its
# connections, while 8 client threads (plain python3) keep opening a fresh connection, sending
# a line and reading it back, closing, and starting over, before, during and after the
# hand-over. SYNs that arrive while no listener exists are held by the network lock (the
# client retransmits them) instead of being refused, so every attempt succeeds: no
# ECONNREFUSED, no ECONNRESET, every line echoed. Some attempts wait about a second (a SYN
# retransmission): the report gives the slowest. Then a hand-over to a program that never
# listens: the listener's lock goes when the restore grace period ends.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need

cat >"$TMP/churn.py" <<'PY'
# churn.py PORT THREADS STOPFILE: each thread loops connect/send/recv/close until STOPFILE
# exists. Prints "ok ATTEMPTS SLOWEST_S" or "FAIL ..."; exit 0 / 1.
import os, socket, sys, threading, time
port, nth, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock(); errors = []; count = [0]; slowest = [0.0]
def worker(k):
    i = 0
    while not os.path.exists(stop):
        i += 1; msg = ("t%d-%d\n" % (k, i)).encode(); t0 = time.time()
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=15)
            t1 = time.time(); c.sendall(msg); got = b""
            while len(got) < len(msg):
                d = c.recv(4096)
                if not d: raise OSError("EOF after %r" % got)
                got += d
            c.close()
            if got != msg: raise OSError("echo mismatch %r != %r" % (got, msg))
            if time.time() - t0 > 2: sys.stderr.write("slow %d-%d: connect %.2f s, echo %.2f s\n" % (k, i, t1 - t0, time.time() - t1))
        except OSError as e:
            with lock: errors.append("thread %d attempt %d: %r" % (k, i, e))
            time.sleep(0.05); continue
        with lock:
            count[0] += 1; slowest[0] = max(slowest[0], time.time() - t0)
        time.sleep(0.005)
ts = [threading.Thread(target=worker, args=(k,)) for k in range(nth)]
for t in ts: t.start()
for t in ts: t.join()
if errors:
    print("FAIL %d errors of %d: %s" % (len(errors), count[0] + len(errors), errors[:5])); sys.exit(1)
print("ok %d %.2f" % (count[0], slowest[0]))
PY

PORT=$(free_port)
ckpt_server epoll SOCKSHIFT_IMAGES="$TMP/img"
OLD=$SRV_PID
bg "$PYTHON" "$TMP/churn.py" "$SRV_PORT" 8 "$TMP/stop" >"$TMP/churn.out"
CLI=${PIDS##* }
sleep 1
ckpt_handover "$OLD"
# no listener now for a while: new clients' SYNs must be held, not refused
sleep 0.3
ckpt_restored epoll
sleep 2.5
touch "$TMP/stop"
wait "$CLI"; rc=$?
cat "$TMP/churn.out"
[ $rc = 0 ] || { tail -20 "$TMP/server.log" >&2; fail "new clients were refused or reset across the hand-over"; }
slow=$(awk '{print $3}' "$TMP/churn.out")
awk -v s="$slow" 'BEGIN { exit !(s >= 0.9) }' ||
	fail "no client waited for a SYN retransmission (slowest ${slow}s): the hand-over window was not exercised"
expect_log "$TMP/server.log" "network lock removed" "the listener's lock lifted by the new process"
"$SOCKSHIFT" unlock --list | grep "sockshift_${OLD}_" && fail "the old process's network lock was not lifted"
# A new process that never listens again: the listener's part of the lock goes with the grace
# period (nothing left behind).
NEW=$SRV_PID
ckpt_handover "$NEW" dump2.out
DIR2=$DIR
"$SOCKSHIFT" unlock --list | grep -q "sockshift_${NEW}_" || fail "no lock held the listener after the second hand-over"
bg env SOCKSHIFT_RESTORE="$DIR2" SOCKSHIFT_RESTORE_GRACE=1s "$SOCKSHIFT" run --log info \
	--log-file "$TMP/nolisten.log" -- "$PYTHON" -c "import time; time.sleep(4)"
sleep 2.5
"$SOCKSHIFT" unlock --list | grep "sockshift_${NEW}_" && fail "the listener's lock outlived the grace period"
expect_log "$TMP/nolisten.log" "grace period over: the program never listened again on 1 of" \
	"the listener's lock removed at the end of the grace period"
echo "ok: new connections throughout the hand-over: $(cat "$TMP/churn.out") (attempts, slowest seconds); a listener never reopened is let go after the grace period"
