# Children started by fork+exec, vfork+exec, posix_spawn, posix_spawnp, through /bin/sh,
# and with an empty environment (execve/posix_spawn with envp = {NULL}, like env -i).
# Proves: the child still runs under the shim (log lines under its own pid), it received
# the record of the listening socket its parent created without FD_CLOEXEC ("took over 1
# socket(s) inherited through exec"), and it really uses that socket: it accepts the
# parent's connection and the parent gets its reply.
. tests/integration/lib.sh
need_built fork_exec

for mode in fork-exec fork-exec-emptyenv vfork posix_spawn posix_spawnp spawn-emptyenv sh; do
	L=$TMP/$mode.log
	shim_run "$L" "$HELPERS/fork_exec" $mode >"$TMP/$mode.out" 2>"$TMP/$mode.err" ||
		{ cat "$TMP/$mode.out" "$TMP/$mode.err" >&2; fail "$mode: fork_exec exited with status $?"; }
	out=$TMP/$mode.out
	parent=$(sed -n 's/^parent pid=\([0-9]*\) .*/\1/p' "$out")
	child=$(sed -n 's/^child pid=\([0-9]*\) accepted on inherited fd \([0-9]*\)$/\1/p' "$out")
	lfd=$(sed -n 's/^child pid=[0-9]* accepted on inherited fd \([0-9]*\)$/\1/p' "$out")
	[ -n "$parent" ] && [ -n "$child" ] || { cat "$out" >&2; fail "$mode: missing parent or child line"; }
	expect_log "$out" "^parent pid=$parent mode=$mode child=$child reply=\"pong from child to 'ping from parent $parent'\" child-status=0\$" \
		"($mode, program output) the child's reply"
	[ "$parent" != "$child" ] || fail "$mode: child and parent have the same pid"
	expect_log "$L" "^sockshift\\[$child\\] info: started: stack=kernel" "($mode) the shim starting in the child"
	expect_log "$L" "^sockshift\\[$child\\] debug: took over 1 socket\\(s\\) inherited through exec\$" \
		"($mode) the child taking over the inherited socket"
	expect_log "$L" "^sockshift\\[$child\\] debug: accept fd=$lfd peer 127\\.0\\.0\\.1:[0-9]+ stack=kernel -> [0-9]+\$" \
		"($mode) the child's accept() on the inherited fd (a known socket, on the kernel stack)"
	expect_log "$L" "^sockshift\\[$child\\] debug: send fd=[0-9]+ stack=kernel -> [1-9]" "($mode) the child's send()"
	expect_log "$L" "^sockshift\\[$parent\\] debug: listen fd=$lfd " "($mode) the parent's listen()"
	expect_log "$L" "^sockshift\\[$parent\\] debug: close fd=$lfd -> 0\$" "($mode) the parent closing its copy"
	case $mode in
	posix_spawn*|spawn-*) expect_log "$L" "^sockshift\\[$parent\\] debug: posix_spawnp? .* -> $child\$" "($mode) the spawn" ;;
	*) expect_log "$L" "^sockshift\\[$parent\\] debug: fork -> child $child\$" "($mode) the fork" ;;
	esac
	case $mode in
	sh) # /bin/sh ran under the shim too, and handed the socket on with its own exec
		expect_log "$L" "^sockshift\\[$child\\] debug: execve /bin/sh\$" "(sh) the exec of /bin/sh"
		n=$(count_log "$L" "^sockshift\\[$child\\] debug: took over 1 socket")
		expect_eq "(sh) take-overs in the shell and then the helper" "$n" 2 ;;
	esac
	expect_no_log "$L" 'untracked' "($mode) a socket the shim did not know"
	# With an empty environment the shim added only its own entries (LD_PRELOAD and
	# SOCKSHIFT_*), which is how the child kept the shim and its settings (debug, log file).
	case $mode in
	*emptyenv) expect_log "$out" '^child env: other=0 preload=yes$' "($mode) an environment with only the shim's entries" ;;
	*) expect_log "$out" '^child env: other=[1-9][0-9]* preload=yes$' "($mode) the program's environment plus the shim" ;;
	esac
done

echo "ok: children keep the shim and their inherited sockets in every way of starting them"
