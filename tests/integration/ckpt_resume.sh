#!/bin/sh
# 50 checkpoints in resume mode of an unmodified python3 echo server (epoll) while 16
# connections stream random data both ways: every checkpoint succeeds, the client sees no
# error and gets back exactly the bytes it sent (SHA-256 per connection), the manifest lists
# the UDP socket as skipped, and no network lock is left behind.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need
N=${CKPT_N:-50}

ckpt_server epoll SOCKSHIFT_IMAGES="$TMP/img"
bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" 16 "$TMP/stop" 120 >"$TMP/client.out"
CLI_PID=${PIDS##* }
sleep 0.5
i=1
while [ $i -le "$N" ]; do
	"$SOCKSHIFT" dump "$SRV_PID" --timeout 10 >"$TMP/dump.out" 2>&1 || {
		cat "$TMP/dump.out" >&2; tail -20 "$TMP/server.log" >&2; fail "checkpoint $i failed"; }
	grep -q "16 connections, 1 listeners, 1 skipped" "$TMP/dump.out" || {
		cat "$TMP/dump.out" >&2; fail "checkpoint $i did not save 16 connections + 1 listener"; }
	i=$((i + 1))
	sleep 0.05
done
tail -3 "$TMP/dump.out"
touch "$TMP/stop"
wait "$CLI_PID"; rc=$?
cat "$TMP/client.out"
[ $rc = 0 ] || { tail -20 "$TMP/server.log" >&2; fail "the client saw errors or lost bytes"; }
kill -0 "$SRV_PID" || fail "the server died"
n=$(ls -d "$TMP"/img/ckpt-* | wc -l)
expect_eq "checkpoint directories" "$n" "$N"
"$SOCKSHIFT" show "$(ls -d "$TMP"/img/ckpt-* | tail -1)" >"$TMP/show.out" || fail "sockshift show cannot read the images"
"$SOCKSHIFT" unlock --list | grep "sockshift_${SRV_PID}_" && fail "a network lock was left behind"
echo "ok: $N checkpoints, $(cut -d' ' -f2 "$TMP/client.out") bytes streamed and verified"
