#!/bin/sh
# sockshift migrate: a poll()-based python3 echo server with 30 streaming clients is handed
# to a new instance by one command, which reports the downtime; the clients see no error
# and no lost byte. Also: migrate and dump refuse a process that is not under sockshift.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need

"$SOCKSHIFT" dump $$ >"$TMP/notshim.out" 2>&1 && fail "dump of a process without the shim succeeded"
grep -q "not running under sockshift" "$TMP/notshim.out" || { cat "$TMP/notshim.out" >&2; fail "unclear error for a process without the shim"; }

PORT=$(free_port)
ckpt_server poll SOCKSHIFT_IMAGES="$TMP/img"
OLD=$SRV_PID
bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" 30 "$TMP/stop" 60 >"$TMP/client.out"
CLI_PID=${PIDS##* }
sleep 1
rm -f "$TMP/port"
bg "$SOCKSHIFT" migrate "$OLD" --images "$TMP/mig" --log-file "$TMP/new.log" -- "$PYTHON" "$TMP/echo.py" poll "$PORT" "$TMP/port" >"$TMP/migrate.out" 2>&1
MIG=${PIDS##* }
i=0
while ! grep -q "downtime" "$TMP/migrate.out"; do
	i=$((i + 1)); [ $i -gt 100 ] && { cat "$TMP/migrate.out" >&2; fail "migrate did not report"; }
	sleep 0.1
done
cat "$TMP/migrate.out"
grep -q "migrated 30 connections" "$TMP/migrate.out" || fail "migrate did not move the 30 connections"
grep -q "downtime (signal to lock lifted" "$TMP/migrate.out" || fail "no downtime measured"
sleep 1.5
touch "$TMP/stop"
wait "$CLI_PID" || { cat "$TMP/client.out" >&2; tail "$TMP/new.log" >&2; fail "the clients saw errors or lost bytes"; }
kill -0 "$MIG" || fail "the new server is gone"
echo "ok: $(head -1 "$TMP/migrate.out"); $(cat "$TMP/client.out")"
