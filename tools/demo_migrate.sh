#!/bin/sh
# make demo, part 2: checkpoints and a live hand-over of an unmodified server while its
# clients keep streaming, and the clients' own proof that not one byte was lost.
#
#   sh tools/demo_migrate.sh      (run by tools/demo.sh after part 1)
#
# The server is a small python3 echo server (the one the checkpoint tests use) under
# `sockshift run`; the client is a plain python3 program, unaware of sockshift, streaming
# random bytes through 20 connections and checking count and SHA-256 of what comes back.
# Needs root (TCP_REPAIR and the nftables lock). Stops everything it started, by pid.
cd "$(dirname "$0")/.." || exit 1
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc

step() { printf '\n== %s\n' "$*"; }
if [ "$(id -u)" != 0 ] || ! "$SOCKSHIFT" unlock --list >/dev/null 2>&1; then
	echo "(part 2, checkpoint and hand-over, needs root with TCP_REPAIR and nftables: skipped)"
	exit 0
fi

step "6. an unmodified echo server under sockshift, and 20 clients streaming through it"
PORT=$(free_port)
ckpt_server epoll
bg "$PYTHON" "$TMP/client.py" "$SRV_PORT" 20 "$TMP/stop" 60 >"$TMP/client.out"
CLI_PID=${PIDS##* }
sleep 1
echo "   server pid $SRV_PID on 127.0.0.1:$SRV_PORT; the clients send and verify continuously"

step "7. three checkpoints while the traffic flows:  sockshift dump $SRV_PID"
for i in 1 2 3; do
	"$SOCKSHIFT" dump "$SRV_PID" --images "$TMP/ckpt" 2>&1 | sed 's/^/    /' || fail "dump failed"
	sleep 0.3
done
last=$(ls -d "$TMP"/ckpt/* 2>/dev/null | tail -1)
if [ -n "$last" ]; then
	echo "   what the last checkpoint holds (sockshift show):"
	"$SOCKSHIFT" show "$last" 2>&1 | head -12 | sed 's/^/    /'
fi

step "8. hand the live connections to a new server process:  sockshift migrate $SRV_PID -- python3 echo.py"
rm -f "$TMP/port2"
bg "$SOCKSHIFT" migrate "$SRV_PID" --images "$TMP/mig" --log-file "$TMP/new.log" -- \
	"$PYTHON" "$TMP/echo.py" epoll "$PORT" "$TMP/port2" >"$TMP/migrate.out" 2>&1
i=0
while ! grep -q "downtime" "$TMP/migrate.out"; do
	i=$((i + 1)); [ $i -gt 150 ] && { cat "$TMP/migrate.out" >&2; fail "migrate did not report"; }
	sleep 0.1
done
sed 's/^/    /' "$TMP/migrate.out"
kill -0 "$SRV_PID" 2>/dev/null && fail "the old server is still running"
echo "   the old server process has exited; the new one serves the same connections"

step "9. the clients' verdict after more traffic through the new server"
sleep 1.5
touch "$TMP/stop"
if wait "$CLI_PID"; then
	echo "   clients: $(cat "$TMP/client.out") bytes echoed, every connection's SHA-256 matched, no error or reset"
else
	cat "$TMP/client.out" >&2
	fail "the clients saw an error or lost bytes"
fi
echo "   network locks left behind: $("$SOCKSHIFT" unlock --list | grep -c . || true)"
