# curl against `python3 -m http.server`, both unmodified and both under the shim.
# Proves: a real server and a real client work byte-exact through the shim (a 200 KiB
# binary file, IPv4 and IPv6), and each process's own log shows the calls it made:
# the server socket/bind/listen/accept/recv/send, the client socket/connect/send/recv,
# all routed to the kernel stack.
. tests/integration/lib.sh
need curl
need "$PYTHON"
need_built

mkdir -p "$TMP/www"
head -c 204800 /dev/urandom >"$TMP/www/blob.bin"
echo "hello from sockshift" >"$TMP/www/index.txt"

port=$(free_port)
bg shim_exec "$TMP/server.log" "$PYTHON" -m http.server --bind 127.0.0.1 --directory "$TMP/www" "$port" \
	>"$TMP/server.out" 2>&1
wait_port "$port"

shim_run "$TMP/client.log" curl -sS --max-time 20 -o "$TMP/got.bin" "http://127.0.0.1:$port/blob.bin" ||
	fail "curl under the shim failed"
cmp -s "$TMP/www/blob.bin" "$TMP/got.bin" || fail "the file curl fetched differs from the served one"
body=$(shim_run "$TMP/client.log" curl -sS --max-time 20 "http://127.0.0.1:$port/index.txt") ||
	fail "curl under the shim failed"
expect_eq "body of index.txt" "$body" "hello from sockshift"

S=$TMP/server.log C=$TMP/client.log
# server side
expect_log "$S" 'debug: socket inet/stream/[0-9]+ stack=kernel -> [0-9]+' "the server's socket()"
expect_log "$S" "debug: bind fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=kernel -> 0" "the server's bind()"
expect_log "$S" 'debug: listen fd=[0-9]+ backlog=[0-9]+ stack=kernel -> 0' "the server's listen()"
expect_log "$S" 'debug: accept4? fd=[0-9]+ peer 127\.0\.0\.1:[0-9]+ stack=kernel -> [0-9]+' "the server's accept()"
expect_log "$S" 'debug: recv(from)? fd=[0-9]+ .*stack=kernel -> [1-9]' "the server reading the request"
expect_log "$S" 'debug: send(to|msg)? fd=[0-9]+ .*stack=kernel -> [1-9]' "the server sending the reply"
[ "$(count_log "$S" 'debug: accept4? fd=[0-9]+ peer')" -ge 2 ] || fail "the server log should show 2 accepted connections"
# client side
expect_log "$C" 'debug: socket inet/stream/[0-9]+ stack=kernel -> [0-9]+' "curl's socket()"
expect_log "$C" "debug: connect fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=kernel -> (0|-1 EINPROGRESS)" "curl's connect()"
expect_log "$C" 'debug: send fd=[0-9]+ stack=kernel -> [1-9]' "curl sending the request"
expect_log "$C" 'debug: recv fd=[0-9]+ stack=kernel -> [1-9]' "curl reading the reply"
# the bytes the client received add up to at least the file
got=$(grep -E 'debug: recv fd=[0-9]+ stack=kernel -> [0-9]+$' "$C" | awk '{s += $NF} END {print s + 0}')
[ "$got" -ge 204800 ] || fail "curl's logged recv() calls add up to $got bytes, less than the file"
expect_no_log "$S" 'untracked' "a server socket the shim did not know"
expect_no_log "$C" 'untracked' "a client socket the shim did not know"

# IPv6 on ::1, when this machine has it
if "$PYTHON" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
	port6=$(free_port)
	bg shim_exec "$TMP/server6.log" "$PYTHON" -m http.server --bind ::1 --directory "$TMP/www" "$port6" \
		>"$TMP/server6.out" 2>&1
	i=0
	until curl -s -o /dev/null "http://[::1]:$port6/" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 50 ] && fail "the IPv6 server did not come up"
		sleep 0.1
	done
	body=$(shim_run "$TMP/client6.log" curl -sS -g --max-time 20 "http://[::1]:$port6/index.txt") ||
		fail "curl over IPv6 under the shim failed"
	expect_eq "body over IPv6" "$body" "hello from sockshift"
	expect_log "$TMP/server6.log" "debug: bind fd=[0-9]+ \\[::1\\]:$port6 stack=kernel -> 0" "the IPv6 bind()"
	expect_log "$TMP/client6.log" "debug: connect fd=[0-9]+ \\[::1\\]:$port6 stack=kernel" "the IPv6 connect()"
	expect_log "$TMP/client6.log" 'debug: socket inet6/stream' "curl's IPv6 socket()"
fi
echo "ok: curl and http.server under the shim, logs show both sides"
