#!/bin/sh
# Hand-over of a client: a python3 client under sockshift streams numbered lines to a plain
# python3 server; sockshift migrate starts a new client instance, whose connect() to the same
# server returns the restored connection at once. The server sees one single connection, no
# reset, no torn line, the old instance's lines followed by the new one's, then a clean EOF.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need

cat >"$TMP/talker.py" <<'PY'
import os, socket, sys, time
tag, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port)); n = 0
if os.environ.get("TALKER_READY"): open(os.environ["TALKER_READY"], "w").close()
while True:
    s.sendall(("%s %d\n" % (tag, n)).encode()); n += 1; time.sleep(0.005)
PY
bg "$PYTHON" "$ROOT/tests/helpers/line_sink.py" "$TMP/sinkport" >"$TMP/sink.out"
SINK=${PIDS##* }
i=0; while [ ! -s "$TMP/sinkport" ]; do i=$((i + 1)); [ $i -gt 100 ] && fail "sink did not start"; sleep 0.05; done
SPORT=$(cat "$TMP/sinkport")
bg env SOCKSHIFT_IMAGES="$TMP/img" TALKER_READY="$TMP/a.ready" "$SOCKSHIFT" run --log info --log-file "$TMP/a.log" -- "$PYTHON" "$TMP/talker.py" a "$SPORT"
A=${PIDS##* }
ckpt_wait_file "$TMP/a.ready" "the first client instance did not connect"
bg "$SOCKSHIFT" migrate "$A" --images "$TMP/mig" --log-file "$TMP/b.log" -- "$PYTHON" "$TMP/talker.py" b "$SPORT" >"$TMP/migrate.out" 2>&1
MIG=${PIDS##* }
sleep 1.5
cat "$TMP/migrate.out"
grep -q "migrated 1 connections" "$TMP/migrate.out" || fail "the client connection was not handed over"
kill "$MIG"
wait "$SINK"
cat "$TMP/sink.out"
grep -q "^ok conns=1 " "$TMP/sink.out" || { tail "$TMP/b.log" >&2; fail "the server saw a broken or second connection"; }
echo "ok: client handed over: $(cat "$TMP/sink.out")"
