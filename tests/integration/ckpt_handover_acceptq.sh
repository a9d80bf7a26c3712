#!/bin/sh
# Hand-over of connections the program never accepted: an unmodified python3 server listens
# and does not accept (it sleeps), so NCONN clients (plain python3) complete their handshake
# and stream into the listener's accept queue. `sockshift dump --exit` drains the queue into
# the images (connections with no program fd, their queued bytes included); the new instance
# (the epoll echo server) gets them from accept() and echoes everything: the clients see no
# reset and every byte comes back (SHA-256 per connection). Without the drain the exit resets
# every one of them.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need
NCONN=${NCONN:-20}

PORT=$(free_port)
# 1. a hand-over that fails (full tmpfs) after the drain: the program, which starts accepting
#    afterwards, gets the drained connections from accept() as if nothing happened
mkdir "$TMP/small"
if mount -t tmpfs -o size=16k tmpfs "$TMP/small" 2>/dev/null; then
	dd if=/dev/zero of="$TMP/small/fill" bs=4k count=8 2>/dev/null
	ckpt_server noaccept SOCKSHIFT_IMAGES="$TMP/img" ${CKPT_ENV:-}
	bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" 10 "$TMP/stopA" 60 >"$TMP/clientA.out"
	CLI_PID=${PIDS##* }
	sleep 1
	# the server starts accepting during the failed checkpoint (which waits for it to
	# accept what it gives back when its thread has a private fd table)
	(sleep 1; touch "$TMP/port.go") &
	"$SOCKSHIFT" dump "$SRV_PID" --exit --images "$TMP/small/img" --timeout 20 >"$TMP/dA.out" 2>&1
	rc=$?
	wait $!
	umount "$TMP/small"
	[ $rc != 0 ] || fail "a hand-over checkpoint into a full tmpfs succeeded"
	expect_log "$TMP/server.log" "10 connections taken from listeners' accept queues" "the drain (failed hand-over)"
	kill -0 "$SRV_PID" || fail "the server exited although its hand-over failed"
	sleep 1
	touch "$TMP/stopA"
	wait "$CLI_PID" || { cat "$TMP/clientA.out" >&2; tail "$TMP/server.log" >&2
		fail "drained connections were not given back intact after a failed hand-over"; }
	kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null
	rm -f "$TMP/port.go"; mv "$TMP/server.log" "$TMP/server-failed.log"
	echo "ok: failed hand-over gave 10 drained connections back: $(cat "$TMP/clientA.out")"
else
	echo "note: cannot mount a tmpfs here; the failed hand-over case was not run"
fi

# 2. the hand-over: never-accepted connections reach the new instance
ckpt_server noaccept SOCKSHIFT_IMAGES="$TMP/img" ${CKPT_ENV:-}
OLD=$SRV_PID
bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" "$NCONN" "$TMP/stop" 60 >"$TMP/client.out"
CLI_PID=${PIDS##* }
sleep 1
ckpt_handover "$OLD"
grep -q "$NCONN connections, 1 listeners" "$TMP/dump.out" || fail "the queued connections were not saved"
expect_log "$TMP/server.log" "$NCONN connections taken from listeners' accept queues" "the drain"
ckpt_restored epoll
sleep 2
touch "$TMP/stop"
wait "$CLI_PID"; rc=$?
cat "$TMP/client.out"
[ $rc = 0 ] || { tail -20 "$TMP/server.log" >&2; fail "queued clients saw errors or lost bytes across the hand-over"; }
expect_log "$TMP/server.log" "restore: $NCONN connections" "the restore"
expect_log "$TMP/server.log" "every restored connection was claimed" "accept() handed them out"
"$SOCKSHIFT" unlock --list | grep "sockshift_${OLD}_" && fail "the old process's network lock was not lifted"
echo "ok: $NCONN never-accepted connections handed over, $(cat "$TMP/client.out")"
