#!/bin/sh
# Hand-over: an unmodified python3 echo server (epoll; KIND=poll for poll) with NCONN clients
# streaming mid-stream is checkpointed in exit mode; a new instance started with
# SOCKSHIFT_RESTORE picks the connections up through accept() on its listener; the clients,
# plain python3 unaware of any of this, see no error and get back every byte (SHA-256).
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need
KIND=${KIND:-epoll}
NCONN=${NCONN:-100}

PORT=$(free_port)
ckpt_server "$KIND" SOCKSHIFT_IMAGES="$TMP/img"
OLD=$SRV_PID
bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" "$NCONN" "$TMP/stop" 60 >"$TMP/client.out"
CLI_PID=${PIDS##* }
sleep 1
"$SOCKSHIFT" dump "$OLD" --exit --timeout 20 >"$TMP/dump.out" 2>&1 || {
	cat "$TMP/dump.out" >&2; tail "$TMP/server.log" >&2; fail "the hand-over checkpoint failed"; }
cat "$TMP/dump.out"
grep -q "$NCONN connections, 1 listeners" "$TMP/dump.out" || fail "not every connection was saved"
DIR=$(sed -n 's/^images: //p' "$TMP/dump.out")
i=0
while kill -0 "$OLD" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the old server did not exit after the hand-over"
	sleep 0.1
done
wait "$OLD"; rc=$?
expect_eq "old server's exit status" "$rc" 0
mv "$TMP/server.log" "$TMP/server-old.log"
ckpt_server "$KIND" SOCKSHIFT_RESTORE="$DIR" SOCKSHIFT_IMAGES="$TMP/img2"
sleep 2
touch "$TMP/stop"
wait "$CLI_PID"; rc=$?
cat "$TMP/client.out"
[ $rc = 0 ] || { tail -20 "$TMP/server.log" >&2; fail "the clients saw errors or lost bytes across the hand-over"; }
expect_log "$TMP/server.log" "restore: $NCONN connections" "the restore"
"$SOCKSHIFT" unlock --list | grep "sockshift_${OLD}_" && fail "the old process's network lock was not lifted"
echo "ok: $NCONN connections handed over ($KIND), $(cat "$TMP/client.out")"
