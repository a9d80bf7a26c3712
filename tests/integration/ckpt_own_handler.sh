#!/bin/sh
# A program with its own handler for the checkpoint signal (python3's signal.signal(SIGPWR)):
# every checkpoint still happens, the program's handler still runs once per signal, and the
# streaming client sees neither an error nor a lost byte. The server uses poll(), not epoll.
# Its control socket is off (SOCKSHIFT_CONTROL=off), the one case where `sockshift dump`
# falls back to the signal (it says so) instead of a DUMP over the control socket.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need

OWN_HANDLER=$TMP/hits ckpt_server poll SOCKSHIFT_IMAGES="$TMP/img" SOCKSHIFT_CONTROL=off
bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" 8 "$TMP/stop" 60 >"$TMP/client.out"
CLI_PID=${PIDS##* }
sleep 0.3
for i in 1 2 3 4 5; do
	"$SOCKSHIFT" dump "$SRV_PID" --timeout 10 >"$TMP/dump.out" 2>&1 || {
		cat "$TMP/dump.out" >&2; fail "checkpoint $i failed"; }
	grep -q "8 connections, 1 listeners" "$TMP/dump.out" || { cat "$TMP/dump.out" >&2; fail "checkpoint $i incomplete"; }
	grep -q "control socket disabled (SOCKSHIFT_CONTROL=off): using the checkpoint signal" "$TMP/dump.out" ||
		{ cat "$TMP/dump.out" >&2; fail "dump did not say it fell back to the signal"; }
	sleep 0.1
done
touch "$TMP/stop"
wait "$CLI_PID" || { cat "$TMP/client.out" >&2; fail "the client saw errors or lost bytes"; }
i=0
while [ "$(cat "$TMP/hits" 2>/dev/null)" != 5 ]; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the program's own SIGPWR handler ran $(cat "$TMP/hits" 2>/dev/null || echo 0) times, expected 5"
	sleep 0.1
done
kill -0 "$SRV_PID" || fail "the server died"
echo "ok: 5 checkpoints, the program's handler ran 5 times, $(cat "$TMP/client.out")"
