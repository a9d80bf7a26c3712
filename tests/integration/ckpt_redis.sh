#!/bin/sh
# Debian's redis-server under sockshift is handed over to a new redis-server (sockshift
# migrate) while redis-benchmark drives 50 connections and redis-cli pings once every 10 ms
# on its own connection: both finish without a single error, every PING answered, i.e. the
# clients' connections survived the restart of the server. (The data set is not migrated:
# that is the server's state, not its connections.)
. tests/integration/lib.sh
. tests/integration/ckpt_common.inc
need redis-server
need redis-benchmark
need redis-cli
need_built
ckpt_need

PORT=$(free_port)
bg env SOCKSHIFT_IMAGES="$TMP/img" "$SOCKSHIFT" run --log info --log-file "$TMP/redis-old.log" -- \
	redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning \
	--logfile "$TMP/redis-old.out"
OLD=${PIDS##* }
wait_port "$PORT"
bg redis-cli -p "$PORT" -r 400 -i 0.01 PING >"$TMP/cli.out" 2>&1
CLI=${PIDS##* }
bg redis-benchmark -p "$PORT" -c 50 -n 400000 -t ping,set,get -q >"$TMP/bench.out" 2>&1
BENCH=${PIDS##* }
sleep 1
bg "$SOCKSHIFT" migrate "$OLD" --images "$TMP/mig" --log-file "$TMP/redis-new.log" -- \
	redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --loglevel warning \
	--logfile "$TMP/redis-new.out" >"$TMP/migrate.out" 2>&1
MIG=${PIDS##* }
wait "$CLI"; rc_cli=$?
wait "$BENCH"; rc_bench=$?
cat "$TMP/migrate.out"
tr '\r' '\n' <"$TMP/bench.out" | grep "requests per second" 
grep -q "migrated [0-9]* connections" "$TMP/migrate.out" || fail "the hand-over did not happen"
grep -Eiq "error|reset|closed|refused" "$TMP/bench.out" && fail "redis-benchmark saw errors"
[ "$rc_bench" = 0 ] || fail "redis-benchmark exited with $rc_bench"
n=$(grep -c '^PONG$' "$TMP/cli.out")
[ "$rc_cli" = 0 ] && [ "$n" = 400 ] || { grep -v '^PONG$' "$TMP/cli.out" | head >&2; fail "redis-cli: $n of 400 PINGs answered (exit $rc_cli)"; }
kill -0 "$MIG" || fail "the new redis-server is gone"
redis-cli -p "$PORT" PING | grep -q PONG || fail "the new redis-server does not answer new clients"
echo "ok: redis-server handed over under load; 400/400 PINGs, redis-benchmark clean"
