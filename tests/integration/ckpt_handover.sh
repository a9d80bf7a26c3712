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
ckpt_handover "$OLD"
grep -q "$NCONN connections, 1 listeners" "$TMP/dump.out" || fail "not every connection was saved"
wait "$OLD"; rc=$?
expect_eq "old server's exit status" "$rc" 0
ckpt_restored "$KIND"
sleep 2
touch "$TMP/stop"
wait "$CLI_PID"; rc=$?
cat "$TMP/client.out"
[ $rc = 0 ] || { tail -20 "$TMP/server.log" >&2; fail "the clients saw errors or lost bytes across the hand-over"; }
expect_log "$TMP/server.log" "restore: $NCONN connections" "the restore"
"$SOCKSHIFT" unlock --list | grep "sockshift_${OLD}_" && fail "the old process's network lock was not lifted"
echo "ok: $NCONN connections handed over ($KIND), $(cat "$TMP/client.out")"
