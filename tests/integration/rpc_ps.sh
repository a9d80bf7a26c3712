# sockshift ps: an unmodified `python3 -m http.server` under the shim, with its control socket at
# the default place (named by its pid), holding one accepted connection. Proves: `sockshift ps`
# finds it through the control socket and lists its listener and its connection with
# addresses (text and --json); a named socket can be asked directly; after the process is
# killed with SIGKILL (no exit handlers), ps removes the stale socket and lists it no more.
. tests/integration/lib.sh
need_built
port=$(free_port)
bg shim_exec "$TMP/server.log" "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP" "$port" \
	>"$TMP/server.out" 2>&1
server=$!
wait_port "$port"
bg "$PYTHON" -c 'import socket, sys, time; s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); time.sleep(30)' "$port"
sleep 0.5
path=$(sed -n 's/.*info: control socket: \(.*\)$/\1/p' "$TMP/server.log" | tail -1)
[ -S "$path" ] || fail "no control socket in the server's log (got '$path')"
case $path in */$server.sock) ;; *) fail "the default control socket is not named by pid: $path" ;; esac

"$SOCKSHIFT" ps >"$TMP/ps.out" || fail "sockshift ps failed"
grep -q "^$server  *python3 .*$path\$" "$TMP/ps.out" || { cat "$TMP/ps.out" >&2; fail "ps does not list the server"; }
grep -q "LISTEN  *127\.0\.0\.1:$port\$" "$TMP/ps.out" || fail "ps does not show the listener"
grep -q "CONNECTED  *127\.0\.0\.1:$port -> 127\.0\.0\.1:" "$TMP/ps.out" || fail "ps does not show the connection"
"$SOCKSHIFT" ps --json "$path" >"$TMP/ps.json" || fail "sockshift ps --json SOCKET failed"
"$PYTHON" - "$TMP/ps.json" "$server" "$port" <<'PY' || fail "ps --json"
import json, sys
procs = json.load(open(sys.argv[1]))
assert len(procs) == 1 and procs[0]["pid"] == int(sys.argv[2]), procs
st = sorted(s["state"] for s in procs[0]["sockets"] if s["family"] == "inet")
assert st == ["CONNECTED", "LISTEN"], st
assert any(s["local"] == "127.0.0.1:" + sys.argv[3] for s in procs[0]["sockets"])
PY
echo "ok: sockshift ps lists the process and its sockets"

kill -9 "$server"
wait "$server" 2>/dev/null
[ -S "$path" ] || fail "the socket vanished without exit handlers? (test assumption)"
"$SOCKSHIFT" ps >"$TMP/ps2.out" 2>&1 || fail "sockshift ps failed"
grep -q "^$server " "$TMP/ps2.out" && fail "ps still lists a killed process"
[ ! -e "$path" ] || fail "ps did not remove the stale control socket $path"
"$SOCKSHIFT" ps "$TMP/nothing.sock" >/dev/null 2>&1 && fail "ps of a missing socket did not fail"
echo "ok: stale socket removed; a named missing socket is an error"
