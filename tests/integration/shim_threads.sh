# A multi-threaded program under the shim: 8 client threads x 40 connections each against
# an in-process echo server (a thread per connection), rotating send/recv, sendto/recvfrom
# and sendmsg/recvmsg, while the main thread forks 6 children that make connections too.
# Proves: every echo matches, nothing crashes or deadlocks (fork while other threads use
# the fd table), and the log holds every call: one connect and one accept per connection,
# the forked children's calls under their own pids, and never a socket the table lost.
. tests/integration/lib.sh
need_built threads
T=8 N=40 F=6
total=$((T * N))

shim_run "$TMP/log" "$HELPERS/threads" $T $N $F >"$TMP/out" 2>"$TMP/err" ||
	{ cat "$TMP/out" "$TMP/err" >&2; fail "threads exited with status $?"; }
expect_log "$TMP/out" "^total $total/$total echoes matched, forks $F/$F\$" "(program output) all echoes"
[ "$(grep -c 'echoes matched$' "$TMP/out")" = $T ] || fail "not every thread reported"

L=$TMP/log
port=$(sed -n 's/^port //p' "$TMP/out")
main_pid=$(sed -n 's/^sockshift\[\([0-9]*\)\] info: started.*/\1/p' "$L" | head -1)
n=$(count_log "$L" "^sockshift\\[$main_pid\\] debug: connect fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=kernel -> 0\$")
expect_eq "connect() lines of the threads" "$n" $total
n=$(count_log "$L" "^sockshift\\[$main_pid\\] debug: accept4 fd=[0-9]+ peer 127\\.0\\.0\\.1:[0-9]+ stack=kernel -> [0-9]+\$")
expect_eq "accept4() lines" "$n" $((total + F))
n=$(count_log "$L" "^sockshift\\[$main_pid\\] debug: socket inet/stream/0 stack=kernel -> [0-9]+\$")
expect_eq "socket() lines of the main process" "$n" $((total + 1))
# each thread's flavour of send: (id + round) % 3 picks send / sendto / sendmsg
for call in send sendto sendmsg recv recvfrom recvmsg; do
	[ "$(count_log "$L" "debug: $call fd=[0-9]+ stack=kernel -> [0-9]+\$")" -gt 0 ] ||
		fail "no successful $call in the log"
done
n=$(count_log "$L" "^sockshift\\[$main_pid\\] debug: close fd=[0-9]+ -> 0\$")
[ "$n" -ge $((2 * total)) ] || fail "only $n close() lines for $total connections (client and server side)"
n=$(count_log "$L" "^sockshift\\[$main_pid\\] debug: fork -> child [0-9]+\$")
expect_eq "fork lines" "$n" $F
for child in $(sed -n "s/^sockshift\\[$main_pid\\] debug: fork -> child \\([0-9]*\\)\$/\\1/p" "$L"); do
	expect_log "$L" "^sockshift\\[$child\\] debug: connect fd=[0-9]+ 127\\.0\\.0\\.1:$port stack=kernel -> 0\$" \
		"forked child $child's connect() under its own pid"
	expect_log "$L" "^sockshift\\[$child\\] debug: (recv|recvfrom|recvmsg) fd=[0-9]+ stack=kernel -> [1-9]" \
		"forked child $child's receive"
done
expect_no_log "$L" 'untracked' "a socket the fd table lost track of"
expect_no_log "$L" ' (error|warn):' "an error or warning"
echo "ok: $T threads x $N connections and $F forks under the shim"
