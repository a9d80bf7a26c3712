#!/bin/sh
# Hand-over of a client: a python3 client under sockshift streams numbered lines to a plain
# python3 server; sockshift migrate starts a new client instance, whose connect() to the same
# server returns the restored connection at once. The server sees one single connection, no
# reset, no torn line, the old instance's lines followed by the new one's, then a clean EOF.
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need_built
ckpt_need

cat >"$TMP/sink.py" <<'PY'
import re, socket, sys
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(ls.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = ls.accept(); ls.settimeout(0.1); data = b""; err = ""
try:
    while True:
        d = c.recv(65536)
        if not d: break
        data += d
except OSError as e: err = str(e)
extra = 0
try:
    while True: ls.accept(); extra += 1
except OSError: pass
lines = data.decode().split("\n"); tail = lines.pop()
tags = [l.split()[0] for l in lines]
ok = (not err and not tail and all(re.fullmatch(r"[ab] \d+", l) for l in lines)
      and "a" in tags and "b" in tags and tags == sorted(tags) and extra == 0)
print("%s conns=%d lines=%d a=%d b=%d err=%s torn=%r" % ("ok" if ok else "FAIL", 1 + extra,
      len(lines), tags.count("a"), tags.count("b"), err, tail))
PY
cat >"$TMP/talker.py" <<'PY'
import socket, sys, time
tag, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port)); n = 0
while True:
    s.sendall(("%s %d\n" % (tag, n)).encode()); n += 1; time.sleep(0.005)
PY
bg "$PYTHON" "$TMP/sink.py" "$TMP/sinkport" >"$TMP/sink.out"
SINK=${PIDS##* }
i=0; while [ ! -s "$TMP/sinkport" ]; do i=$((i + 1)); [ $i -gt 100 ] && fail "sink did not start"; sleep 0.05; done
SPORT=$(cat "$TMP/sinkport")
bg env SOCKSHIFT_IMAGES="$TMP/img" "$SOCKSHIFT" run --log info --log-file "$TMP/a.log" -- "$PYTHON" "$TMP/talker.py" a "$SPORT"
A=${PIDS##* }
sleep 0.5
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
