# socat as a real client/server pair under the shim, checked byte-exact.
# Proves: an unmodified TCP server (socat TCP-LISTEN,fork with EXEC:cat, so it also forks
# and execs cat for each connection) and client (socat - TCP:) pass 3 x 64 KiB of random
# bytes back unchanged; a UDP exchange works too; the logs show listen/accept, each
# forked child, the exec'd cat still under the shim, and the client's connect.
. tests/integration/lib.sh
need socat
need_built

port=$(free_port)
bg shim_exec "$TMP/server.log" socat TCP-LISTEN:"$port",bind=127.0.0.1,reuseaddr,fork EXEC:cat \
	>"$TMP/server.out" 2>&1
wait_port "$port"

for i in 1 2 3; do
	head -c 65536 /dev/urandom >"$TMP/in.$i"
	shim_run "$TMP/client.log" socat -t 5 -T 20 - TCP:127.0.0.1:"$port" <"$TMP/in.$i" >"$TMP/out.$i" ||
		fail "socat client $i failed"
	cmp -s "$TMP/in.$i" "$TMP/out.$i" ||
		fail "round $i: echoed bytes differ ($(wc -c <"$TMP/out.$i") of 65536 came back)"
done

S=$TMP/server.log C=$TMP/client.log
expect_log "$S" "debug: bind fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=kernel -> 0" "socat's bind()"
expect_log "$S" 'debug: listen fd=[0-9]+ backlog=[0-9]+ stack=kernel -> 0' "socat's listen()"
n=$(count_log "$S" 'debug: accept4? fd=[0-9]+ peer 127\.0\.0\.1:[0-9]+ stack=kernel -> [0-9]+')
[ "$n" -ge 3 ] || fail "the server log shows $n accepted connections, expected 3"
# socat forks a child per connection, and the child execs cat: cat starts under the shim
[ "$(count_log "$S" 'debug: fork -> child [0-9]+')" -ge 3 ] || fail "the server log should show 3 forks"
expect_log "$S" 'debug: exec[a-z]* (.*/)?cat$' "the exec of cat"
cat_pids=$(grep -E 'debug: exec[a-z]* (.*/)?cat$' "$S" | sed 's/^sockshift\[\([0-9]*\)\].*/\1/' | sort -u)
for p in $cat_pids; do
	expect_log "$S" "^sockshift\\[$p\\] info: started" "the shim starting again in cat (pid $p)"
done
n=$(count_log "$C" "debug: connect fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=kernel -> (0|-1 EINPROGRESS)")
expect_eq "client connect() lines" "$n" 3
expect_log "$C" 'debug: socket inet/stream/[0-9]+ stack=kernel' "the client's socket()"
expect_log "$C" 'debug: shutdown fd=[0-9]+ how=1 stack=kernel -> 0' "the client's half-close at end of input"

# UDP: socat UDP-LISTEN echoes one client's datagrams through cat
uport=$(free_port)
bg shim_exec "$TMP/userver.log" socat -T 10 UDP-LISTEN:"$uport",bind=127.0.0.1 EXEC:cat >"$TMP/userver.out" 2>&1
i=0
until grep -Eq "debug: bind fd=[0-9]+ 127\\.0\\.0\\.1:$uport" "$TMP/userver.log" 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 50 ] && fail "the UDP server did not bind"
	sleep 0.1
done
head -c 1000 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 1200 >"$TMP/uin"
shim_run "$TMP/uclient.log" socat -t 2 - UDP:127.0.0.1:"$uport" <"$TMP/uin" >"$TMP/uout" ||
	fail "the UDP socat client failed"
cmp -s "$TMP/uin" "$TMP/uout" || fail "UDP: echoed bytes differ"
expect_log "$TMP/uclient.log" 'debug: socket inet/dgram/[0-9]+ stack=kernel' "the UDP client's socket()"
expect_log "$TMP/userver.log" 'debug: recv(from|msg)? fd=[0-9]+ .*stack=kernel -> [1-9]' "the UDP server's receive"
echo "ok: socat TCP and UDP pairs under the shim"
